//! OpenSIPS's shared memory as the shared-memory port's [`RawShm`]: the
//! allocator ([`ShmAlloc`]) and the byte blobs ([`Blob`]) are written once
//! in `ports::shm` for every host.

use super::ffi;
use crate::ports::shm::{HostShm, RawShm, ShmBlob};

/// shm_malloc / shm_free and the pool counters of the OpenSIPS core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsShm;

// SAFETY: OpenSIPS maps its shm pool before it forks its workers, at the same
// address in every process; its allocators (f_malloc, q_malloc, hp_malloc)
// round blocks to at least 8 bytes on 64-bit builds.
unsafe impl RawShm for OsShm {
    const MIN_ALIGN: usize = 8;

    fn malloc(size: usize) -> *mut u8 {
        // SAFETY: shm_malloc returns NULL or a block of `size` bytes.
        unsafe { ffi::osg_shm_malloc(size) as *mut u8 }
    }

    unsafe fn free(p: *mut u8) {
        // SAFETY: the caller's contract: a block of malloc, freed once.
        unsafe { ffi::osg_shm_free(p as *mut _) }
    }

    fn usage() -> (u64, u64) {
        // SAFETY: plain reads of the allocator's counters.
        unsafe { (ffi::osg_shm_free_bytes(), ffi::osg_shm_size()) }
    }
}

/// The allocator over OpenSIPS's shared memory.
pub type ShmAlloc = HostShm<OsShm>;

/// Bytes in OpenSIPS's shared memory (a callback's state).
pub type Blob = ShmBlob<OsShm>;
