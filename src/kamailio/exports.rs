//! Building blocks of the export tables every Kamailio module here has (script
//! functions, parameters, KEMI): one definition for uac and auth alike.

use super::host::ffi::{self, param_export_t, sip_msg, str_};
use crate::exports::ParamCell;
use std::os::raw::{c_char, c_int, c_void};

/// A script function as the core calls it (extra parameters are cast).
pub type CmdFn = unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char) -> c_int;
/// A fixup (or free-fixup) function.
pub type Fixup = unsafe extern "C" fn(*mut *mut c_void, c_int) -> c_int;

/// A NUL-terminated literal as the `char*` the tables hold.
pub const fn cstr(s: &'static [u8]) -> *mut c_char {
    s.as_ptr() as *mut c_char
}

/// One `modparam` entry: `p` is the storage (or the function) of its kind.
pub const fn param(name: &'static [u8], kind: u32, p: *mut c_void) -> param_export_t {
    param_export_t {
        name: cstr(name),
        type_: kind,
        param_pointer: p,
    }
}

impl ParamCell<str_> {
    /// A PARAM_STR parameter's bytes (empty while unset).
    pub fn bytes(&self) -> &'static [u8] {
        let s = self.get();
        // SAFETY: the str is our static default or the config's value, which
        // the core copied into memory it never frees.
        unsafe { super::host::str_bytes(&s) }
    }

    /// A PARAM_STR parameter that may be unset (NULL): None then.
    pub fn opt(&self) -> Option<&'static [u8]> {
        (!self.get().s.is_null()).then(|| self.bytes())
    }
}

/// A KEMI name: interpreters read it both as str and as a C string, so the
/// literal carries a NUL that the length leaves out.
pub const fn kstr(s: &'static [u8]) -> str_ {
    str_ {
        s: s.as_ptr() as *mut c_char,
        len: s.len() as c_int - 1,
    }
}

/// KEMI parameter types.
pub const KS: i32 = ffi::SR_KEMIP_STR as i32;
pub const KN: i32 = ffi::SR_KEMIP_NONE as i32;
pub const KI: i32 = ffi::SR_KEMIP_INT as i32;
