//! OpenSIPS's own lock (`gen_lock_t`, as the core was built) as the
//! shared-memory port's [`RawLock`], so that
//! [`ShmMutex`](crate::ports::shm::ShmMutex) serialises every OpenSIPS
//! process.

use super::ffi;
use super::shm::ShmAlloc;
use crate::ports::shm::{self, RawLock};
use std::ptr::NonNull;

/// A `gen_lock_t` in shared memory.
#[derive(Debug, Clone, Copy)]
pub struct OsLock(NonNull<std::ffi::c_void>);

// SAFETY: the lock lives in shared memory and is made for use from every
// process and thread.
unsafe impl Send for OsLock {}
// SAFETY: as above.
unsafe impl Sync for OsLock {}

impl RawLock for OsLock {
    type Alloc = ShmAlloc;

    fn create() -> Option<OsLock> {
        // SAFETY: allocates and initialises a gen_lock_t in shm (or NULL).
        NonNull::new(unsafe { ffi::osg_lock_new() }).map(OsLock)
    }

    fn acquire(&self) {
        // SAFETY: a lock made by create(), alive until destroy().
        unsafe { ffi::osg_lock_get(self.0.as_ptr()) }
    }

    fn release(&self) {
        // SAFETY: as above; the caller holds it.
        unsafe { ffi::osg_lock_release(self.0.as_ptr()) }
    }

    unsafe fn destroy(self) {
        // SAFETY: the caller's contract: once, unused by every process.
        unsafe { ffi::osg_lock_free(self.0.as_ptr()) }
    }
}

/// A value in OpenSIPS shared memory behind an OpenSIPS lock.
pub type ShmMutex<T> = shm::ShmMutex<T, OsLock>;
/// Access to a [`ShmMutex`]'s value; unlocks on drop.
pub type ShmGuard<'a, T> = shm::ShmGuard<'a, T, OsLock>;
