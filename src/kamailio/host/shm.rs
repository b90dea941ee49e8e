//! Kamailio's shared memory and locks as the shared-memory port: `KamShm`
//! (shm_malloc, shm_free, the pool counters), `KamLock` (a `gen_lock_t`), and
//! the allocator, blobs and `ShmMutex` written once in `ports::shm`.

crate::host_shm!(KamShm, KamLock, super::ffi =>
    uacg_shm_malloc uacg_shm_free uacg_shm_available uacg_shm_size
    uacg_lock_new uacg_lock_get uacg_lock_release uacg_lock_free);
