//! Kamailio's shared memory as the shared-memory port's [`RawShm`]: the
//! allocator ([`ShmAlloc`]) and the byte blobs ([`Blob`]) are written once
//! in `ports::shm` for every host.

use super::ffi;
use crate::ports::shm::{HostShm, RawShm, ShmBlob};

/// shm_malloc / shm_free and the pool counters of the Kamailio core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KamShm;

// SAFETY: Kamailio's shm pool is mapped in mod_init's process before the
// workers fork, at the same address in every process; its allocators (q_malloc,
// f_malloc, tlsf) round blocks to at least 8 bytes on 64-bit builds.
unsafe impl RawShm for KamShm {
    const MIN_ALIGN: usize = 8;

    fn malloc(size: usize) -> *mut u8 {
        // SAFETY: shm_malloc returns NULL or a block of `size` bytes.
        unsafe { ffi::uacg_shm_malloc(size) as *mut u8 }
    }

    unsafe fn free(p: *mut u8) {
        // SAFETY: the caller's contract: a block of malloc, freed once.
        unsafe { ffi::uacg_shm_free(p as *mut _) }
    }

    fn usage() -> (u64, u64) {
        // SAFETY: plain reads of the allocator's counters and the pool size.
        unsafe { (ffi::uacg_shm_available(), ffi::uacg_shm_size()) }
    }
}

/// The allocator over Kamailio's shared memory.
pub type ShmAlloc = HostShm<KamShm>;

/// Bytes in Kamailio's shared memory (a callback's state).
pub type Blob = ShmBlob<KamShm>;
