//! The shared-memory port: what lives in memory every process of the host
//! sees (the proxy forks its workers after module init), and the lock that
//! serialises them.
//!
//! - [`ShmAllocator`]: an allocator over the host's shared memory (Kamailio's
//!   and OpenSIPS's `shm_malloc`), for `allocator_api2`/`hashbrown`
//!   collections;
//! - [`ShmSafe`]: the marker for values that may be put there: plain data
//!   and collections that allocate with a `ShmAllocator`. A `String`, `Box`
//!   or `std::vec::Vec` points into one process's heap and does not
//!   implement it, so `ShmMutex::new(String::new())` does not compile;
//! - [`RawLock`]: a host lock that lives in shared memory (the core's
//!   `gen_lock_t`); std and parking_lot locks cannot serve: their futexes are
//!   private to one process;
//! - [`ShmMutex`]: a value in shared memory behind a `RawLock`, written once
//!   here for every host.
//!
//! This file and the hosts' `host/` folders are the only places with
//! `unsafe`: the shared-memory primitives are written once, for all hosts.

use allocator_api2::alloc::Allocator;
use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// An allocator whose blocks every process of the host reaches at the same
/// address.
///
/// # Safety
/// Implement it only for an allocator over memory mapped before the host
/// forks (so pointers stay valid in every process), or, for tests, for one
/// that serves a single process.
pub unsafe trait ShmAllocator: Allocator + Copy + Default + Send + Sync + 'static {}

/// How full the host's shared-memory pool is: bulk senders hold back when
/// little is left (the host's transactions need it too).
pub trait ShmPool {
    /// True when less than `1/fraction` of the pool plus `extra` bytes is
    /// free.
    fn low(fraction: u64, extra: u64) -> bool;
}

/// A value that may live in shared memory: it owns nothing outside it.
///
/// # Safety
/// Implement it only for plain data (no pointers) and for types whose every
/// allocation goes through a [`ShmAllocator`] and whose fields are all
/// `ShmSafe`. Never for a type that holds a pointer into a process's own
/// heap, stack or statics, a file descriptor or any other per-process handle.
pub unsafe trait ShmSafe {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: plain data: no pointers, the same meaning in every process.
        unsafe impl ShmSafe for $t {}
    )* };
}
plain!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::sync::atomic::AtomicUsize,
    foldhash::fast::FixedState
);

// SAFETY: an array of shm-safe values is laid out inline.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}
// SAFETY: inline.
unsafe impl<T: ShmSafe> ShmSafe for Option<T> {}
// SAFETY: inline.
unsafe impl<A: ShmSafe, B: ShmSafe> ShmSafe for (A, B) {}
// SAFETY: inline.
unsafe impl<A: ShmSafe, B: ShmSafe, C: ShmSafe> ShmSafe for (A, B, C) {}
// SAFETY: the buffer comes from the shared allocator; the elements are shm-safe.
unsafe impl<T: ShmSafe, A: ShmAllocator> ShmSafe for allocator_api2::vec::Vec<T, A> {}
// SAFETY: as above.
unsafe impl<T: ShmSafe + ?Sized, A: ShmAllocator> ShmSafe for allocator_api2::boxed::Box<T, A> {}
// SAFETY: the table's memory comes from the shared allocator.
unsafe impl<T: ShmSafe, A: ShmAllocator> ShmSafe for hashbrown::HashTable<T, A> {}
// SAFETY: as above; the hasher state is stored in the map (it must hash the
// same in every process: FixedState with a fixed seed, never RandomState).
unsafe impl<K: ShmSafe, V: ShmSafe, S: ShmSafe, A: ShmAllocator> ShmSafe
    for hashbrown::HashMap<K, V, S, A>
{
}
// SAFETY: a slice of shm-safe values (behind a shared-allocator box).
unsafe impl<T: ShmSafe> ShmSafe for [T] {}
// SAFETY: a ShmAllocator is a handle on shared memory itself.
unsafe impl<A: ShmAllocator> ShmSafe for A {}

/// A lock in shared memory that serialises every thread of every process.
/// Handles are copied into each process (at fork); the lock itself stays
/// where the host allocated it.
pub trait RawLock: Copy + Send + Sync + 'static {
    /// The allocator for what the lock guards.
    type Alloc: ShmAllocator;

    /// A new lock in shared memory; None when it is exhausted.
    fn create() -> Option<Self>;

    /// Waits for the lock. Not reentrant.
    fn acquire(&self);

    /// Releases a lock this process holds.
    fn release(&self);

    /// Frees the lock.
    ///
    /// # Safety
    /// Once, when no process holds or will take it.
    unsafe fn destroy(self);
}

#[repr(C)]
struct Inner<T, L> {
    lock: L,
    value: UnsafeCell<T>,
}

/// A handle on a locked value in shared memory. Create it in mod_init
/// (before fork) and keep the handle in a per-process static (a OnceCell):
/// after fork every process holds a copy of the same pointer. Dropping a
/// handle frees nothing (other processes still use the value);
/// [`ShmMutex::destroy`] frees it at shutdown.
pub struct ShmMutex<T: ShmSafe, L: RawLock> {
    inner: NonNull<Inner<T, L>>,
}

// SAFETY: the value is only reached through the lock, which serialises every
// thread of every process; T itself lives in shared memory (ShmSafe).
unsafe impl<T: ShmSafe + Send, L: RawLock> Send for ShmMutex<T, L> {}
// SAFETY: as above.
unsafe impl<T: ShmSafe + Send, L: RawLock> Sync for ShmMutex<T, L> {}

impl<T: ShmSafe, L: RawLock> ShmMutex<T, L> {
    /// Moves `value` into shared memory with a new lock. Fails when shared
    /// memory is exhausted.
    pub fn new(value: T) -> Result<ShmMutex<T, L>, String> {
        let layout = Layout::new::<Inner<T, L>>();
        let alloc = L::Alloc::default();
        let mem = alloc
            .allocate(layout)
            .map_err(|_| "out of shared memory for a locked value".to_string())?;
        let Some(lock) = L::create() else {
            // SAFETY: mem was allocated just above with this layout.
            unsafe { alloc.deallocate(mem.cast(), layout) };
            return Err("cannot create a shared-memory lock".into());
        };
        let inner = mem.cast::<Inner<T, L>>();
        // SAFETY: mem is a fresh block sized and aligned for Inner<T, L>.
        unsafe {
            inner.as_ptr().write(Inner {
                lock,
                value: UnsafeCell::new(value),
            })
        };
        Ok(ShmMutex { inner })
    }

    /// Waits for the lock; the guard releases it when dropped. Not
    /// reentrant: taking it twice in one process deadlocks, so keep guards
    /// short and never call back into the host (which may call us) while
    /// holding one.
    pub fn lock(&self) -> ShmGuard<'_, T, L> {
        // SAFETY: inner lives in shared memory until destroy().
        unsafe { self.inner.as_ref().lock.acquire() };
        ShmGuard { m: self }
    }

    /// Frees the value and its lock.
    ///
    /// # Safety
    /// Only at shutdown, once, when no other process uses the value any more.
    pub unsafe fn destroy(self) {
        let layout = Layout::new::<Inner<T, L>>();
        // SAFETY: the caller's contract: nobody else holds or will take the
        // lock; the block was allocated by L::Alloc with this layout.
        unsafe {
            let p = self.inner.as_ptr();
            let lock = (*p).lock;
            std::ptr::drop_in_place(p);
            L::Alloc::default().deallocate(self.inner.cast(), layout);
            lock.destroy();
        }
    }
}

/// Access to the locked value; unlocks on drop (also when a panic unwinds).
pub struct ShmGuard<'a, T: ShmSafe, L: RawLock> {
    m: &'a ShmMutex<T, L>,
}

impl<T: ShmSafe, L: RawLock> Deref for ShmGuard<'_, T, L> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other process or thread
        // touches the value.
        unsafe { &*self.m.inner.as_ref().value.get() }
    }
}

impl<T: ShmSafe, L: RawLock> DerefMut for ShmGuard<'_, T, L> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.m.inner.as_ref().value.get() }
    }
}

impl<T: ShmSafe, L: RawLock> Drop for ShmGuard<'_, T, L> {
    fn drop(&mut self) {
        // SAFETY: this guard took the lock in ShmMutex::lock.
        unsafe { self.m.inner.as_ref().lock.release() };
    }
}

/// Declares that a struct may live in shared memory, checking at compile
/// time that every field listed is [`ShmSafe`] and that the list names
/// every field (the check destructures the struct without `..`). Invoke it
/// in the struct's own module:
///
/// ```ignore
/// shm_safe!(Account { id, flags });
/// shm_safe!(impl<A: ShmAllocator> Registry<A> { alloc, slots });
/// ```
#[macro_export]
macro_rules! shm_safe {
    (impl<$($g:ident : $b:path),+> $name:ident<$($p:ident),+> { $($f:ident),* $(,)? }) => {
        // SAFETY: every field is ShmSafe (checked below, all of them named).
        unsafe impl<$($g: $b),+> $crate::ports::shm::ShmSafe for $name<$($p),+> {}
        const _: () = {
            #[allow(dead_code)]
            fn every_field_is_shm_safe<$($g: $b),+>(v: &$name<$($p),+>) {
                fn check<T: $crate::ports::shm::ShmSafe + ?Sized>(_: &T) {}
                let $name { $($f),* } = v;
                $(check($f);)*
            }
        };
    };
    ($name:ident { $($f:ident),* $(,)? }) => {
        // SAFETY: every field is ShmSafe (checked below, all of them named).
        unsafe impl $crate::ports::shm::ShmSafe for $name {}
        const _: () = {
            #[allow(dead_code)]
            fn every_field_is_shm_safe(v: &$name) {
                fn check<T: $crate::ports::shm::ShmSafe + ?Sized>(_: &T) {}
                let $name { $($f),* } = v;
                $(check($f);)*
            }
        };
    };
}

// SAFETY: the registry allocates only through its allocator A (the rule of
// src/registration/registry.rs: slots, indexes, heap, the text chunks, the
// sharing tags and the kept Call-IDs are A-allocated collections; every other
// field is plain data).
unsafe impl<A: ShmAllocator> ShmSafe for crate::registration::registry::Registry<A> {}

/// A `String` (or `Box`, or `std::vec::Vec`) points into one process's heap:
/// it cannot be put in shared memory. With a test allocator and lock:
///
/// ```compile_fail
/// # use uac::ports::shm::{RawLock, ShmAllocator, ShmMutex};
/// # use allocator_api2::alloc::{AllocError, Allocator, Global};
/// # use std::{alloc::Layout, ptr::NonNull};
/// # #[derive(Clone, Copy, Default)]
/// # struct A;
/// # unsafe impl Allocator for A {
/// #     fn allocate(&self, l: Layout) -> Result<NonNull<[u8]>, AllocError> { Global.allocate(l) }
/// #     unsafe fn deallocate(&self, p: NonNull<u8>, l: Layout) { unsafe { Global.deallocate(p, l) } }
/// # }
/// # unsafe impl ShmAllocator for A {}
/// # #[derive(Clone, Copy)]
/// # struct L;
/// # impl RawLock for L {
/// #     type Alloc = A;
/// #     fn create() -> Option<L> { Some(L) }
/// #     fn acquire(&self) {}
/// #     fn release(&self) {}
/// #     unsafe fn destroy(self) {}
/// # }
/// let m = ShmMutex::<String, L>::new(String::from("per-process heap"));
/// ```
///
/// while a shared-memory vector compiles:
///
/// ```
/// # use uac::ports::shm::{RawLock, ShmAllocator, ShmMutex};
/// # use allocator_api2::alloc::{AllocError, Allocator, Global};
/// # use std::{alloc::Layout, ptr::NonNull};
/// # #[derive(Clone, Copy, Default)]
/// # struct A;
/// # unsafe impl Allocator for A {
/// #     fn allocate(&self, l: Layout) -> Result<NonNull<[u8]>, AllocError> { Global.allocate(l) }
/// #     unsafe fn deallocate(&self, p: NonNull<u8>, l: Layout) { unsafe { Global.deallocate(p, l) } }
/// # }
/// # unsafe impl ShmAllocator for A {}
/// # #[derive(Clone, Copy)]
/// # struct L;
/// # impl RawLock for L {
/// #     type Alloc = A;
/// #     fn create() -> Option<L> { Some(L) }
/// #     fn acquire(&self) {}
/// #     fn release(&self) {}
/// #     unsafe fn destroy(self) {}
/// # }
/// let m = ShmMutex::<allocator_api2::vec::Vec<u8, A>, L>::new(allocator_api2::vec::Vec::new_in(A));
/// assert!(m.is_ok());
/// ```
pub const NO_STRING_IN_SHM: () = ();

/// The host's shared-memory functions (Kamailio's and OpenSIPS's
/// `shm_malloc`/`shm_free` and pool counters), from which [`HostShm`] makes
/// the allocator, the pool check and the byte blobs, once for every host.
///
/// # Safety
/// `malloc` returns NULL or a block of `size` bytes aligned to `MIN_ALIGN`
/// in memory every process of the host maps at the same address (mapped
/// before fork); `free` takes back what `malloc` gave.
pub unsafe trait RawShm: Copy + Default + Send + Sync + 'static {
    /// The alignment every block has (Kamailio's and OpenSIPS's allocators
    /// round to at least 8 bytes on 64-bit builds).
    const MIN_ALIGN: usize;

    fn malloc(size: usize) -> *mut u8;

    /// # Safety
    /// `p` came from `malloc` and is freed once.
    unsafe fn free(p: *mut u8);

    /// (free bytes, pool size).
    fn usage() -> (u64, u64);
}

/// The allocator over a host's shared memory, for collections every process
/// reads and changes (`hashbrown::HashTable<T, HostShm<R>>`,
/// `allocator_api2::vec::Vec<T, HostShm<R>>`...). Blocks aligned beyond
/// `R::MIN_ALIGN` are over-allocated and keep their real start in the word
/// before them.
///
/// Rules for what lives in shared memory (../shared/DESIGN.md): everything
/// reachable from a shared structure is allocated with it ([`ShmSafe`]
/// checks that); shared structures are made in mod_init, before fork, and
/// reached afterwards through a per-process handle; every access goes
/// through a [`ShmMutex`] guard; a hash map hashes the same in every process
/// (`foldhash::fast::FixedState::with_seed`, never a per-process seed).
#[derive(Debug, Default)]
pub struct HostShm<R: RawShm>(std::marker::PhantomData<R>);

impl<R: RawShm> Clone for HostShm<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R: RawShm> Copy for HostShm<R> {}

impl<R: RawShm> HostShm<R> {
    pub const fn new() -> Self {
        HostShm(std::marker::PhantomData)
    }

    /// A block aligned beyond what the host gives: over-allocate, align
    /// inside, and store the real start in the word before the aligned
    /// address.
    fn over_aligned(layout: Layout) -> *mut u8 {
        let word = std::mem::size_of::<*mut u8>();
        let Some(total) = layout.size().checked_add(layout.align() + word) else {
            return std::ptr::null_mut();
        };
        let start = R::malloc(total);
        if start.is_null() {
            return start;
        }
        let first = start as usize + word;
        let aligned = (first + layout.align() - 1) & !(layout.align() - 1);
        let p = aligned as *mut u8;
        // SAFETY: the aligned address leaves at least one word before it
        // and `size` bytes after it inside the block of `total` bytes.
        unsafe { std::ptr::write_unaligned((p as *mut *mut u8).sub(1), start) };
        p
    }
}

// SAFETY: blocks come from the host's shared pool (RawShm's contract) and
// stay valid, at the same address, until `deallocate`; no value owns blocks
// (every value is the same pool, so any may free what another returned);
// `allocate` returns NULL-checked blocks of `layout.size()` bytes aligned to
// `layout.align()`, and `deallocate` frees a block the way `allocate` made it
// for that layout.
unsafe impl<R: RawShm> Allocator for HostShm<R> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        let size = layout.size();
        if size == 0 {
            // A dangling pointer with the right alignment, as std does.
            let p =
                NonNull::new(layout.align() as *mut u8).ok_or(allocator_api2::alloc::AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(p, 0));
        }
        let p = if layout.align() <= R::MIN_ALIGN {
            R::malloc(size)
        } else {
            Self::over_aligned(layout)
        };
        NonNull::new(p)
            .map(|p| NonNull::slice_from_raw_parts(p, size))
            .ok_or(allocator_api2::alloc::AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        // SAFETY: the caller passes a block this allocator returned for this
        // layout; over-aligned blocks keep the real start just before them.
        unsafe {
            if layout.align() <= R::MIN_ALIGN {
                R::free(ptr.as_ptr());
            } else {
                let start = std::ptr::read_unaligned((ptr.as_ptr() as *const *mut u8).sub(1));
                R::free(start);
            }
        }
    }
}

// SAFETY: the pool is mapped before the host forks (RawShm's contract).
unsafe impl<R: RawShm> ShmAllocator for HostShm<R> {}

impl<R: RawShm> ShmPool for HostShm<R> {
    fn low(fraction: u64, extra: u64) -> bool {
        let (free, size) = R::usage();
        size > 0 && free < (size / fraction.max(1)).saturating_add(extra)
    }
}

/// A length-prefixed copy of some bytes in shared memory: state that must
/// reach whichever process gets a reply (the host's transaction callbacks
/// run there), handed to the host as an opaque pointer.
#[derive(Debug)]
pub struct ShmBlob<R: RawShm>(NonNull<u8>, std::marker::PhantomData<R>);

impl<R: RawShm> ShmBlob<R> {
    const HEAD: usize = std::mem::size_of::<u64>();

    /// A copy of `bytes`; None when shared memory is exhausted.
    pub fn put(bytes: &[u8]) -> Option<ShmBlob<R>> {
        let p = NonNull::new(R::malloc(bytes.len().checked_add(Self::HEAD)?))?;
        // SAFETY: a fresh block of len + HEAD bytes: the length, then the
        // bytes.
        unsafe {
            std::ptr::write_unaligned(p.as_ptr() as *mut u64, bytes.len() as u64);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.as_ptr().add(Self::HEAD), bytes.len());
        }
        Some(ShmBlob(p, std::marker::PhantomData))
    }

    /// The pointer to hand to the host (it comes back in [`ShmBlob::from_raw`]).
    pub fn into_raw(self) -> *mut std::ffi::c_void {
        let p = self.0.as_ptr() as *mut _;
        std::mem::forget(self);
        p
    }

    /// Takes back a blob given to the host with [`ShmBlob::into_raw`].
    ///
    /// # Safety
    /// `p` came from `into_raw` of a blob of the same host and is taken back
    /// once.
    pub unsafe fn from_raw(p: *mut std::ffi::c_void) -> Option<ShmBlob<R>> {
        NonNull::new(p as *mut u8).map(|p| ShmBlob(p, std::marker::PhantomData))
    }

    /// Hands a copy of `bytes` to the host for `call`, which passes the
    /// pointer to a host API (a transaction's callback parameter) and says
    /// whether the host kept it: when it did, the host owns the blob (it
    /// comes back through [`ShmBlob::from_raw`] in the callback); when the
    /// call fails or the host did not keep it, the blob is taken back and
    /// freed here.
    ///
    /// # Safety
    /// A failed `call`, or one that says the host did not keep the pointer,
    /// must leave the pointer with nobody.
    pub unsafe fn lend<T>(
        bytes: &[u8],
        call: impl FnOnce(*mut std::ffi::c_void) -> Result<(T, bool), String>,
    ) -> Result<T, String> {
        let p = Self::put(bytes)
            .ok_or("out of shared memory for the reply continuation")?
            .into_raw();
        let r = call(p);
        if !matches!(r, Ok((_, true))) {
            // SAFETY: the caller's contract: nobody kept p; taken back once.
            drop(unsafe { Self::from_raw(p) });
        }
        r.map(|(t, _)| t)
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the block holds the length, then that many bytes, until
        // the blob is dropped.
        unsafe {
            let len = std::ptr::read_unaligned(self.0.as_ptr() as *const u64) as usize;
            std::slice::from_raw_parts(self.0.as_ptr().add(Self::HEAD), len)
        }
    }
}

impl<R: RawShm> Drop for ShmBlob<R> {
    fn drop(&mut self) {
        // SAFETY: the blob owns its block, freed once here.
        unsafe { R::free(self.0.as_ptr()) }
    }
}

/// A host's shared memory and lock for the port, from its glue functions
/// (both hosts' glue has the same shapes: `malloc(size)`, `free(p)`, free
/// bytes, pool size, and a `gen_lock_t` made, taken, released, freed):
///
/// ```ignore
/// crate::host_shm!(KamShm, KamLock, super::ffi =>
///     uacg_shm_malloc uacg_shm_free uacg_shm_available uacg_shm_size
///     uacg_lock_new uacg_lock_get uacg_lock_release uacg_lock_free);
/// ```
///
/// (the glue's malloc, free, free bytes, pool size; lock new, get, release,
/// free)
///
/// declares the `RawShm` type `KamShm`, the `RawLock` type `KamLock`, and the
/// aliases `ShmAlloc` (the allocator), `Blob` (bytes in shared memory),
/// `ShmMutex<T>` and `ShmGuard<'a, T>`. The host promises what `RawShm` asks:
/// its pool is mapped before it forks, at the same address in every process,
/// and its allocators round blocks to at least 8 bytes on 64-bit builds.
#[macro_export]
macro_rules! host_shm {
    ($shm:ident, $lock:ident, $ffi:path =>
        $malloc:ident $free:ident $avail:ident $size:ident
        $lnew:ident $lget:ident $lrel:ident $lfree:ident) => {
        /// The core's shm_malloc / shm_free and pool counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $shm;

        // SAFETY: the host maps its shm pool before it forks its workers, at
        // the same address in every process; its allocators round blocks to
        // at least 8 bytes on 64-bit builds (the host module's promise).
        unsafe impl $crate::ports::shm::RawShm for $shm {
            const MIN_ALIGN: usize = 8;

            fn malloc(size: usize) -> *mut u8 {
                use $ffi as ffi;
                // SAFETY: shm_malloc returns NULL or a block of `size` bytes.
                unsafe { ffi::$malloc(size) as *mut u8 }
            }

            unsafe fn free(p: *mut u8) {
                use $ffi as ffi;
                // SAFETY: the caller's contract: a block of malloc, freed once.
                unsafe { ffi::$free(p as *mut _) }
            }

            fn usage() -> (u64, u64) {
                use $ffi as ffi;
                // SAFETY: plain reads of the allocator's counters.
                unsafe { (ffi::$avail() as u64, ffi::$size() as u64) }
            }
        }

        /// A `gen_lock_t` of the core in shared memory.
        #[derive(Debug, Clone, Copy)]
        pub struct $lock(::std::ptr::NonNull<::std::ffi::c_void>);

        // SAFETY: the lock lives in shared memory and is made for use from
        // every process and thread.
        unsafe impl Send for $lock {}
        // SAFETY: as above.
        unsafe impl Sync for $lock {}

        impl $crate::ports::shm::RawLock for $lock {
            type Alloc = ShmAlloc;

            fn create() -> Option<$lock> {
                use $ffi as ffi;
                // SAFETY: allocates and initialises a gen_lock_t in shm (or NULL).
                ::std::ptr::NonNull::new(unsafe { ffi::$lnew() }).map($lock)
            }

            fn acquire(&self) {
                use $ffi as ffi;
                // SAFETY: a lock made by create(), alive until destroy().
                unsafe { ffi::$lget(self.0.as_ptr()) }
            }

            fn release(&self) {
                use $ffi as ffi;
                // SAFETY: as above; the caller holds it.
                unsafe { ffi::$lrel(self.0.as_ptr()) }
            }

            unsafe fn destroy(self) {
                use $ffi as ffi;
                // SAFETY: the caller's contract: once, unused by every process.
                unsafe { ffi::$lfree(self.0.as_ptr()) }
            }
        }

        /// The allocator over the core's shared memory.
        pub type ShmAlloc = $crate::ports::shm::HostShm<$shm>;
        /// Bytes in the core's shared memory (a callback's state).
        pub type Blob = $crate::ports::shm::ShmBlob<$shm>;
        /// A value in shared memory behind one of the core's locks.
        pub type ShmMutex<T> = $crate::ports::shm::ShmMutex<T, $lock>;
        /// Access to a [`ShmMutex`]'s value; unlocks on drop.
        pub type ShmGuard<'a, T> = $crate::ports::shm::ShmGuard<'a, T, $lock>;
    };
}
