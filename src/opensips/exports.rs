//! Building blocks of the export tables every OpenSIPS module here has
//! (script functions, parameters, the `exports` struct): one definition for
//! uac and uac_auth alike.

use super::host::ffi::{self, cmd_export_t, module_exports, param_export_t};
use super::host::version;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};

/// A script function as the core calls it (OpenSIPS passes up to eight
/// fixed-up parameters; a function declaring fewer is cast to this type).
pub type CmdFn = unsafe extern "C" fn(
    *mut ffi::sip_msg,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
) -> c_int;

/// A NUL-terminated literal as the `char*` the tables hold.
pub const fn cstr(s: &'static [u8]) -> *const c_char {
    s.as_ptr() as *const c_char
}

/// A script function parameter of the given CMD_PARAM_* flags, no fixup.
pub const fn arg(flags: u32) -> ffi::cmd_param {
    ffi::cmd_param {
        flags: flags as c_int,
        fixup: None,
        free_fixup: None,
    }
}

/// An unused parameter slot (also: a function without parameters).
pub const NO_ARG: ffi::cmd_param = arg(0);

/// The end of a cmd_export_t table.
pub const CMD_END: cmd_export_t = cmd_export_t {
    name: null(),
    function: None,
    params: [NO_ARG; 9],
    flags: 0,
};

/// One `modparam` entry: `p` is the storage (or the function) of its kind.
pub const fn param(name: &'static [u8], kind: u32, p: *mut c_void) -> param_export_t {
    param_export_t {
        name: cstr(name),
        type_: kind,
        param_pointer: p,
    }
}

/// The end of a param_export_t table.
pub const PARAM_END: param_export_t = param_export_t {
    name: null(),
    type_: 0,
    param_pointer: null_mut(),
};

/// A module's `exports`: its name, dependencies, script functions and
/// parameters, load and init functions; the version information the core
/// checks comes from the tree the module was built against.
pub const fn module(
    name: &'static [u8],
    deps: *const ffi::dep_export_t,
    cmds: *const cmd_export_t,
    params: *const param_export_t,
    load: unsafe extern "C" fn() -> c_int,
    init: unsafe extern "C" fn() -> c_int,
) -> module_exports {
    module_exports {
        name: cstr(name),
        type_: ffi::module_type::MOD_TYPE_DEFAULT,
        ver_info: ffi::module_exports__bindgen_ty_1 {
            version: version::VERSION,
            compile_flags: version::COMPILE_FLAGS,
            scm: ffi::scm_version {
                type_: version::SCM_TYPE,
                rev: version::SCM_REV,
            },
        },
        dlflags: 0, // DEFAULT_DLFLAGS
        load_f: Some(load),
        deps,
        cmds,
        acmds: null(),
        params,
        stats: null(),
        mi_cmds: null(),
        items: null(),
        trans: null(),
        procs: null(),
        preinit_f: None,
        init_f: Some(init),
        response_f: None,
        destroy_f: None,
        init_child_f: None,
        reload_ack_f: None,
    }
}
