//! The only place that touches raw OpenSIPS pointers. Each `unsafe` block says
//! why it is sound; the modules above work on safe wrappers. Nothing here is
//! shared with the Kamailio host layer: the two cores' structs differ.

pub mod auth;
pub mod avp;
pub mod dlg;
crate::bindings!("opensips_bindings.rs");
pub mod log;
pub mod msg;
pub mod rr;
pub mod shm;
pub mod tm;
pub mod uac_auth_api;
pub mod version;

use ffi::str_;

/// Views an OpenSIPS `str` as bytes (empty for NULL or a negative length).
///
/// # Safety
/// `s.s` must point to `s.len` readable bytes that outlive the returned slice.
pub unsafe fn str_bytes<'a>(s: &str_) -> &'a [u8] {
    if s.s.is_null() || s.len <= 0 {
        return &[];
    }
    // SAFETY: the caller guarantees s.s..s.s+len is readable for 'a.
    unsafe { std::slice::from_raw_parts(s.s as *const u8, s.len as usize) }
}

/// Copies `len` bytes at `p` out (None for NULL or a negative length).
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes.
pub unsafe fn copy_out(p: *const std::os::raw::c_char, len: i32) -> Option<Vec<u8>> {
    if p.is_null() || len < 0 {
        return None;
    }
    // SAFETY: per the contract.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }.to_vec())
}

/// Copies bytes into pkg memory, for data that OpenSIPS (or a module bound to
/// ours) frees with pkg_free. One spare NUL byte follows the data. NULL when
/// pkg memory is exhausted.
pub fn pkg_dup(b: &[u8]) -> *mut std::os::raw::c_char {
    // SAFETY: osg_pkg_malloc is pkg_malloc; we write b.len() + 1 bytes into
    // a block of that size.
    unsafe {
        let p = ffi::osg_pkg_malloc(b.len() + 1) as *mut u8;
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
            *p.add(b.len()) = 0;
        }
        p as *mut _
    }
}

/// Reads a string module parameter (a C string the core set, or NULL).
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string that lives for the process.
pub unsafe fn c_param(p: *const std::os::raw::c_char) -> Option<&'static [u8]> {
    // SAFETY: per the contract.
    (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
}

/// OpenSIPS as the flows see it (`crate::ports`): the rr, dialog, tm and AVP
/// APIs loaded in mod_init, on the core's messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opensips;

impl crate::ports::Proxy for Opensips {
    type Msg = msg::SipMsg;
}
