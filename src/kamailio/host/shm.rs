//! Byte blobs in Kamailio shared memory: state that must reach whichever
//! process receives a reply (tm callbacks run there, not in the sender).

use super::ffi;

/// A length-prefixed copy of `bytes` in shm; the pointer goes to tm as a
/// callback parameter. NULL when shm is exhausted.
pub fn put(bytes: &[u8]) -> *mut std::ffi::c_void {
    // SAFETY: shm_malloc returns memory for len + 8 bytes (or NULL); we write
    // the length then the bytes.
    unsafe {
        let p = ffi::uacg_shm_malloc(bytes.len() + 8) as *mut u8;
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::write_unaligned(p as *mut u64, bytes.len() as u64);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(8), bytes.len());
        p as *mut _
    }
}

/// Reads a blob made by [`put`].
///
/// # Safety
/// `p` must come from `put` and not be freed yet.
pub unsafe fn get<'a>(p: *const std::ffi::c_void) -> &'a [u8] {
    // SAFETY: caller contract: p points at (u64 length, bytes).
    unsafe {
        let len = std::ptr::read_unaligned(p as *const u64) as usize;
        std::slice::from_raw_parts((p as *const u8).add(8), len)
    }
}

/// Frees a blob made by [`put`].
///
/// # Safety
/// `p` must come from `put`, freed once.
pub unsafe fn free(p: *mut std::ffi::c_void) {
    // SAFETY: caller contract.
    unsafe { ffi::uacg_shm_free(p) }
}

/// The alignment Kamailio's shm allocators give every block (q_malloc and
/// f_malloc round to at least 8 bytes on 64-bit builds; tlsf to 8).
const SHM_MIN_ALIGN: usize = 8;

/// An allocator over Kamailio's shared memory, for collections that every
/// process reads and changes (`hashbrown::HashMap<K, V, S, ShmAlloc>`,
/// `allocator_api2::vec::Vec<T, ShmAlloc>`, `allocator_api2::boxed::Box<T, ShmAlloc>`).
///
/// Rules for what lives in shm (see ../shared/DESIGN.md):
/// - everything reachable from a shared structure is allocated with `ShmAlloc`
///   (no `std` `Box`/`Vec`/`String` inside it: those point into one process's heap);
/// - shared structures are created in mod_init, before fork, and reached
///   afterwards through a per-process handle (a pointer copied at fork);
/// - every access goes through a [`super::lock::ShmMutex`] guard (values must
///   be [`ShmSafe`](crate::ports::shm::ShmSafe));
/// - a hash map's `BuildHasher` must hash the same in every process: use one
///   whose state is all in the map (`foldhash::fast::FixedState::with_seed`),
///   never a hasher that reads a per-process global seed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShmAlloc;

// SAFETY: Kamailio's shm pool is mapped in mod_init's process before the
// workers fork, at the same address in every process.
unsafe impl crate::ports::shm::ShmAllocator for ShmAlloc {}

// SAFETY: a block comes from Kamailio's shared-memory pool and stays valid, at
// the same address, until `deallocate` frees it; no `ShmAlloc` value owns
// blocks (every value and every copy is the same pool, so any of them may free
// a block another returned); `allocate` returns NULL-checked blocks of exactly
// `layout.size()` bytes aligned to `layout.align()`, and `deallocate` frees a
// block the way `allocate` made it for that layout.
unsafe impl allocator_api2::alloc::Allocator for ShmAlloc {
    fn allocate(
        &self,
        layout: std::alloc::Layout,
    ) -> Result<std::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        use std::ptr::NonNull;
        let size = layout.size();
        if size == 0 {
            // A dangling pointer with the right alignment, as std does.
            let p =
                NonNull::new(layout.align() as *mut u8).ok_or(allocator_api2::alloc::AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(p, 0));
        }
        let p = if layout.align() <= SHM_MIN_ALIGN {
            // SAFETY: shm_malloc returns NULL or a block of `size` bytes
            // aligned to SHM_MIN_ALIGN.
            unsafe { ffi::uacg_shm_malloc(size) as *mut u8 }
        } else {
            over_aligned_alloc(layout)
        };
        NonNull::new(p)
            .map(|p| NonNull::slice_from_raw_parts(p, size))
            .ok_or(allocator_api2::alloc::AllocError)
    }

    unsafe fn deallocate(&self, ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        if layout.size() == 0 {
            return;
        }
        // SAFETY: the caller passes a block this allocator returned for this
        // layout; over-aligned blocks keep the real start just before them.
        unsafe {
            if layout.align() <= SHM_MIN_ALIGN {
                ffi::uacg_shm_free(ptr.as_ptr() as *mut _);
            } else {
                let start = std::ptr::read_unaligned((ptr.as_ptr() as *const *mut u8).sub(1));
                ffi::uacg_shm_free(start as *mut _);
            }
        }
    }
}

/// A block aligned beyond what shm_malloc gives: over-allocate, align inside,
/// and store the real start in the word before the aligned address.
fn over_aligned_alloc(layout: std::alloc::Layout) -> *mut u8 {
    let word = std::mem::size_of::<*mut u8>();
    let Some(total) = layout.size().checked_add(layout.align() + word) else {
        return std::ptr::null_mut();
    };
    // SAFETY: shm_malloc returns NULL or `total` bytes; the aligned address
    // leaves at least one word before it and `size` bytes after it inside the
    // block, and we write the start pointer into that word.
    unsafe {
        let start = ffi::uacg_shm_malloc(total) as *mut u8;
        if start.is_null() {
            return start;
        }
        let first = start as usize + word;
        let aligned = (first + layout.align() - 1) & !(layout.align() - 1);
        let p = aligned as *mut u8;
        std::ptr::write_unaligned((p as *mut *mut u8).sub(1), start);
        p
    }
}

/// True when less than `1/fraction` of the shared memory pool is free: bulk
/// senders hold back then (tm needs shm for every transaction).
pub fn low(fraction: u64) -> bool {
    // SAFETY: plain reads of the allocator's counters and the pool size.
    let (avail, size) = unsafe { (ffi::uacg_shm_available(), ffi::uacg_shm_size()) };
    size > 0 && avail < size / fraction.max(1)
}

impl crate::ports::shm::ShmPool for ShmAlloc {
    fn low(fraction: u64) -> bool {
        low(fraction)
    }
}
