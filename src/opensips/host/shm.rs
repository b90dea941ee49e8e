//! OpenSIPS's shared memory and locks as the shared-memory port: `OsShm`
//! (shm_malloc, shm_free, the pool counters), `OsLock` (a `gen_lock_t`), and
//! the allocator, blobs and `ShmMutex` written once in `ports::shm`.

crate::host_shm!(OsShm, OsLock, super::ffi =>
    osg_shm_malloc osg_shm_free osg_shm_free_bytes osg_shm_size
    osg_lock_new osg_lock_get osg_lock_release osg_lock_free);
