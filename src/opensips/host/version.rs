//! `exports.ver_info`: OpenSIPS compares the version string, the compile-flags
//! string and the source-control type/revision with its own before it accepts
//! a module. build_opensips.rs expands those macros from the tree the core was
//! built from and hands them over as environment variables.

use std::os::raw::c_char;

pub const VERSION: *const c_char = concat!(env!("OSIPS_VERSION"), "\0").as_ptr() as *const c_char;
pub const COMPILE_FLAGS: *const c_char =
    concat!(env!("OSIPS_COMPILE_FLAGS"), "\0").as_ptr() as *const c_char;
pub const SCM_TYPE: *const c_char = concat!(env!("OSIPS_SCM_TYPE"), "\0").as_ptr() as *const c_char;
pub const SCM_REV: *const c_char = concat!(env!("OSIPS_SCM_REV"), "\0").as_ptr() as *const c_char;
