//! The only place that touches raw host pointers. Each `unsafe` block says why it
//! is sound; everything above this layer works on safe wrappers.

pub mod avp;
pub mod db;
pub mod digest;
pub mod dlg;
pub mod event;
crate::bindings!("bindings.rs");
pub mod guard;
pub mod log;
pub mod lumps;
pub mod msg;
pub mod proc;
pub mod pv;
pub mod rpc;
pub mod rr;
pub mod shm;
pub mod timer;
pub mod tm;

use ffi::str_;

/// A host integer whose C type differs between Kamailio versions (5.6's
/// `int` became `long` in PV values and names, `uac_req_t.cb_flags` became
/// unsigned, `pv_get_uintval` takes an `unsigned long`), converted where the
/// widths allow it: no cast that is a no-op on one version and a lossy one on
/// the other.
pub fn widen<F, T: From<F>>(v: F) -> T {
    T::from(v)
}

/// As `widen`, for a host integer read into a narrower Rust one: None when
/// it does not fit.
pub fn narrow<F, T: TryFrom<F>>(v: F) -> Option<T> {
    T::try_from(v).ok()
}

/// Views a host `str` as bytes (empty for a NULL pointer).
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

/// A host `str` that borrows Rust bytes, for passing to host functions that copy
/// or only read it.
pub fn str_of(b: &[u8]) -> str_ {
    str_ {
        s: b.as_ptr() as *mut _,
        len: b.len() as i32,
    }
}

/// Keeps a copy of `b` for the life of the process: for host parsers that keep
/// pointers into their input (pv_parse_spec stores AVP names that way).
pub fn leak_bytes(b: &[u8]) -> &'static [u8] {
    Box::leak(b.to_vec().into_boxed_slice())
}

/// Copies bytes into pkg memory, for host data that Kamailio frees with pkg_free
/// (lump contents). Returns NULL when pkg memory is exhausted.
pub fn pkg_dup(b: &[u8]) -> *mut std::os::raw::c_char {
    // SAFETY: uacg_pkg_malloc is pkg_malloc; we write only b.len() bytes into it.
    unsafe {
        let p = ffi::uacg_pkg_malloc(b.len().max(1)) as *mut u8;
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
        }
        p as *mut _
    }
}

/// The route type the script is running now (REQUEST_ROUTE, FAILURE_ROUTE, ...).
pub fn route_type() -> u32 {
    // SAFETY: reads the core's global route_type.
    unsafe { ffi::uacg_route_type() as u32 }
}

/// Kamailio as the flows see it (`crate::ports`): the rr, dialog, tm and AVP
/// APIs loaded in mod_init, on the host's messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kamailio;

impl crate::ports::Proxy for Kamailio {
    type Msg = msg::SipMsg;
}
