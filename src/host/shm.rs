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
