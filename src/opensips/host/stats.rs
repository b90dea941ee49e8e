//! The statistics port on OpenSIPS: a module's `stat_export_t` entries with
//! STAT_IS_FUNC, whose value the core reads through one generic trampoline
//! per counter type.

use super::ffi;
use crate::ports::stats::Computed;
use std::os::raw::{c_char, c_ulong, c_ushort, c_void};

/// The core's read of counter `C` (it passes the stat's context, unused).
unsafe extern "C" fn computed<C: Computed>(_ctx: *mut c_void) -> c_ulong {
    crate::log::guarded(C::NAME, 0, || C::value().max(0) as c_ulong)
}

/// A `stat_export_t` entry for `C` named `name` (NUL-terminated): the
/// function is stored where the core keeps a STAT_IS_FUNC stat's reader.
pub const fn stat<C: Computed>(name: &'static [u8]) -> ffi::stat_export_t {
    ffi::stat_export_t {
        name: crate::exports::cstr(name) as *mut c_char,
        flags: ffi::STAT_IS_FUNC as c_ushort,
        stat_pointer: computed::<C> as *mut *mut ffi::stat_var,
    }
}

impl crate::exports::End for ffi::stat_export_t {
    const END: ffi::stat_export_t = ffi::stat_export_t {
        name: std::ptr::null_mut(),
        flags: 0,
        stat_pointer: std::ptr::null_mut(),
    };
}
