//! Kamailio's own lock (`gen_lock_t`: a futex or whatever the core was built
//! with) as the shared-memory port's [`RawLock`], so that
//! [`ShmMutex`](crate::ports::shm::ShmMutex) serialises every Kamailio
//! process.

use super::ffi;
use super::shm::ShmAlloc;
use crate::ports::shm::{self, RawLock};
use std::ptr::NonNull;

/// A `gen_lock_t` in shared memory.
#[derive(Debug, Clone, Copy)]
pub struct KamLock(NonNull<std::ffi::c_void>);

// SAFETY: the lock lives in shared memory and is made for use from every
// process and thread.
unsafe impl Send for KamLock {}
// SAFETY: as above.
unsafe impl Sync for KamLock {}

impl RawLock for KamLock {
    type Alloc = ShmAlloc;

    fn create() -> Option<KamLock> {
        // SAFETY: allocates and initialises a gen_lock_t in shm (or NULL).
        NonNull::new(unsafe { ffi::uacg_lock_new() }).map(KamLock)
    }

    fn acquire(&self) {
        // SAFETY: a lock made by create(), alive until destroy().
        unsafe { ffi::uacg_lock_get(self.0.as_ptr()) }
    }

    fn release(&self) {
        // SAFETY: as above; the caller holds it.
        unsafe { ffi::uacg_lock_release(self.0.as_ptr()) }
    }

    unsafe fn destroy(self) {
        // SAFETY: the caller's contract: once, unused by every process.
        unsafe { ffi::uacg_lock_free(self.0.as_ptr()) }
    }
}

/// A value in Kamailio shared memory behind a Kamailio lock.
pub type ShmMutex<T> = shm::ShmMutex<T, KamLock>;
/// Access to a [`ShmMutex`]'s value; unlocks on drop.
pub type ShmGuard<'a, T> = shm::ShmGuard<'a, T, KamLock>;
