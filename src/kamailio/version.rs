//! `module_version` and `module_flags`: the core compares them with its own
//! SER_FULL_VERSION and SER_COMPILE_FLAGS before it accepts the module. build.rs
//! expands those macros with the installed core's flags and fails unless they equal
//! what the core reports, then hands the strings over here.

use std::os::raw::c_char;

#[repr(transparent)]
pub struct CStrPtr(*const c_char);
// SAFETY: points at an immutable static string.
unsafe impl Sync for CStrPtr {}

#[cfg_attr(
    any(uac_export = "kamailio-uac", uac_export = "kamailio-auth"),
    export_name = "module_version"
)]
#[used]
pub static MODULE_VERSION: CStrPtr =
    CStrPtr(concat!(env!("UAC_MODULE_VERSION"), "\0").as_ptr() as *const c_char);

#[cfg_attr(
    any(uac_export = "kamailio-uac", uac_export = "kamailio-auth"),
    export_name = "module_flags"
)]
#[used]
pub static MODULE_FLAGS: CStrPtr =
    CStrPtr(concat!(env!("UAC_MODULE_FLAGS"), "\0").as_ptr() as *const c_char);
