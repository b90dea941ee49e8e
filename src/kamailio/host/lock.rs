//! A value in Kamailio shared memory behind one of Kamailio's own locks
//! (`gen_lock_t`: a futex or whatever the core was built with), so every
//! process sees and changes the same value one at a time. std and parking_lot
//! locks cannot do this: their futexes are private to one process.

use super::ffi;
use super::shm::ShmAlloc;
use allocator_api2::alloc::Allocator;
use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

#[repr(C)]
struct Inner<T> {
    lock: *mut std::ffi::c_void,
    value: UnsafeCell<T>,
}

/// A handle on a locked value in shm. Create it in mod_init (before fork) and
/// keep the handle in a per-process static: after fork every process holds a
/// copy of the same pointer. Dropping a handle frees nothing (other processes
/// still use the value); [`ShmMutex::destroy`] frees it at shutdown.
///
/// `T` must keep everything it owns in shm (allocated with [`ShmAlloc`]).
pub struct ShmMutex<T> {
    inner: NonNull<Inner<T>>,
}

// SAFETY: the value is only reached through the lock, which serialises every
// thread of every process.
unsafe impl<T: Send> Send for ShmMutex<T> {}
unsafe impl<T: Send> Sync for ShmMutex<T> {}

impl<T> ShmMutex<T> {
    /// Moves `value` into shm with a new lock. Fails when shm is exhausted.
    pub fn new(value: T) -> Result<ShmMutex<T>, String> {
        let layout = Layout::new::<Inner<T>>();
        let mem = ShmAlloc
            .allocate(layout)
            .map_err(|_| "out of shared memory for a locked value".to_string())?;
        // SAFETY: allocates and initialises a gen_lock_t in shm (or NULL).
        let lock = unsafe { ffi::uacg_lock_new() };
        if lock.is_null() {
            // SAFETY: mem was allocated just above with this layout.
            unsafe { ShmAlloc.deallocate(mem.cast(), layout) };
            return Err("cannot create a shared-memory lock".into());
        }
        let inner = mem.cast::<Inner<T>>();
        // SAFETY: mem is a fresh block sized and aligned for Inner<T>.
        unsafe {
            inner.as_ptr().write(Inner {
                lock,
                value: UnsafeCell::new(value),
            })
        };
        Ok(ShmMutex { inner })
    }

    /// Waits for the lock; the guard releases it when dropped. Not reentrant:
    /// taking it twice in one process deadlocks, so keep guards short and never
    /// call back into the host (which may call us) while holding one.
    pub fn lock(&self) -> ShmGuard<'_, T> {
        // SAFETY: inner and its lock live in shm until destroy().
        unsafe { ffi::uacg_lock_get(self.inner.as_ref().lock) };
        ShmGuard { m: self }
    }

    /// Frees the value and its lock.
    ///
    /// # Safety
    /// Only at shutdown, once, when no other process uses the value any more.
    pub unsafe fn destroy(self) {
        let layout = Layout::new::<Inner<T>>();
        // SAFETY: caller contract: nobody else holds or will take the lock.
        unsafe {
            let p = self.inner.as_ptr();
            ffi::uacg_lock_free((*p).lock);
            std::ptr::drop_in_place(p);
            ShmAlloc.deallocate(self.inner.cast(), layout);
        }
    }
}

/// Access to the locked value; unlocks on drop (also when a panic unwinds).
pub struct ShmGuard<'a, T> {
    m: &'a ShmMutex<T>,
}

impl<T> Deref for ShmGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock, so no other process or thread touches it.
        unsafe { &*self.m.inner.as_ref().value.get() }
    }
}

impl<T> DerefMut for ShmGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.m.inner.as_ref().value.get() }
    }
}

impl<T> Drop for ShmGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard took the lock in ShmMutex::lock.
        unsafe { ffi::uacg_lock_release(self.m.inner.as_ref().lock) };
    }
}
