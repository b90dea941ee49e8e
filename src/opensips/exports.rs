//! Building blocks of the export tables every OpenSIPS module here has, so
//! that a module's tables read like the stock module's C tables:
//!
//! ```ignore
//! table! {
//!     static CMDS: [Cmd] = [
//!         cmd!("uac_replace_from", w_replace_from,
//!             [{CMD_PARAM_STR | CMD_PARAM_OPT, 0, 0}, {CMD_PARAM_STR, 0, 0}], ROUTES),
//!         api!("load_uac_auth", load_uac_auth),
//!     ];
//! }
//! table! { static PARAMS: [param_export_t] = [param!("force_dialog", INT_PARAM, FORCE_DIALOG)]; }
//! pub static EXPORTS: Table<module_exports> = Table::new(module(b"uac\0", ...));
//! ```
//!
//! The macros check at compile time that a script function takes the message
//! and one pointer per declared parameter, and that a parameter's storage has
//! the type its kind makes the core write. No `transmute`: a function is
//! stored by its address (an `as` cast, see [`Cmd`]).

use super::host::ffi::{self, cmd_export_t, cmd_param, module_exports, param_export_t, sip_msg};
use super::host::version;
use crate::exports::{End, ParamCell};
use std::mem::{align_of, offset_of, size_of};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};

pub(crate) use crate::exports::table;

/// A fixup (or free-fixup) function of a script function parameter.
pub type Fixup = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

/// One `cmd_export_t`, with the function kept as an address. The core calls
/// a script function with the message and one pointer per declared
/// parameter (`str*`, `int*`...), a C cast per shape as in every C module; an
/// API export (route flags 0) it never calls: the module that finds it with
/// `find_export` casts it back to its real type. Kept as an address, a
/// function of any of these shapes is stored by an `as` cast ([`Cmd::script0`]
/// and its siblings), with no `transmute`; the layout is `cmd_export_t`'s,
/// checked below at compile time.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Cmd {
    name: *const c_char,
    function: *const c_void,
    params: [cmd_param; ffi::MAX_CMD_PARAMS as usize + 1],
    flags: c_int,
}

const _: () = {
    assert!(size_of::<Cmd>() == size_of::<cmd_export_t>());
    assert!(align_of::<Cmd>() == align_of::<cmd_export_t>());
    assert!(offset_of!(Cmd, name) == offset_of!(cmd_export_t, name));
    assert!(offset_of!(Cmd, function) == offset_of!(cmd_export_t, function));
    assert!(size_of::<*const c_void>() == size_of::<ffi::cmd_function>());
    assert!(offset_of!(Cmd, params) == offset_of!(cmd_export_t, params));
    assert!(offset_of!(Cmd, flags) == offset_of!(cmd_export_t, flags));
};

/// The message, as every script function gets it first.
type Msg = *mut sip_msg;

impl Cmd {
    const fn new(name: &'static [u8], f: *const c_void, params: &[cmd_param], flags: u32) -> Cmd {
        let mut p = [NO_ARG; ffi::MAX_CMD_PARAMS as usize + 1];
        assert!(params.len() <= ffi::MAX_CMD_PARAMS as usize);
        let mut i = 0;
        while i < params.len() {
            p[i] = params[i];
            i += 1;
        }
        Cmd {
            name: cstr(name),
            function: f,
            params: p,
            flags: flags as c_int,
        }
    }

    /// A script function without parameters.
    pub const fn script0(
        name: &'static [u8],
        f: unsafe extern "C" fn(Msg) -> c_int,
        flags: u32,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, &[], flags)
    }

    /// A script function of one parameter (`A` is what its kind passes).
    pub const fn script1<A>(
        name: &'static [u8],
        f: unsafe extern "C" fn(Msg, *mut A) -> c_int,
        params: [cmd_param; 1],
        flags: u32,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, &params, flags)
    }

    /// A script function of two parameters.
    pub const fn script2<A, B>(
        name: &'static [u8],
        f: unsafe extern "C" fn(Msg, *mut A, *mut B) -> c_int,
        params: [cmd_param; 2],
        flags: u32,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, &params, flags)
    }

    /// An API export (`load_uac_auth`): route flags 0, so no script can call
    /// it; other modules find it with `find_export` and call it with their
    /// API struct.
    pub const fn api<T>(name: &'static [u8], f: unsafe extern "C" fn(*mut T) -> c_int) -> Cmd {
        Cmd::new(name, f as *const c_void, &[], 0)
    }
}

impl End for Cmd {
    const END: Cmd = Cmd {
        name: null(),
        function: null(),
        params: [NO_ARG; ffi::MAX_CMD_PARAMS as usize + 1],
        flags: 0,
    };
}

/// A NUL-terminated literal as the `char*` the tables hold.
pub const fn cstr(s: &'static [u8]) -> *const c_char {
    assert!(!s.is_empty() && s[s.len() - 1] == 0);
    s.as_ptr() as *const c_char
}

/// A script function parameter: its CMD_PARAM_* flags and fixups.
pub const fn arg(flags: u32, fixup: Option<Fixup>, free_fixup: Option<Fixup>) -> cmd_param {
    cmd_param {
        flags: flags as c_int,
        fixup,
        free_fixup,
    }
}

/// An unused parameter slot.
const NO_ARG: cmd_param = arg(0, None, None);

/// The fixup slot of a [`cmd!`] parameter: `0` as in C, or a fixup function.
pub const fn fixup(f: Fixup) -> Option<Fixup> {
    Some(f)
}

/// One script function, as in the C table
/// `{"uac_replace_from", (cmd_function)w_replace_from, {{CMD_PARAM_STR|CMD_PARAM_OPT, fixup, 0}, {CMD_PARAM_STR, 0, 0}, {0,0,0}}, ROUTES}`:
/// `cmd!(name, function, [{flags, fixup, free_fixup}...], route flags)`,
/// with `0` for no fixup. The function must take the message and one
/// pointer per parameter.
macro_rules! cmd {
    (@arg {$flags:expr, $fix:tt, $free:tt}) => {
        $crate::opensips::exports::arg(
            $flags,
            $crate::opensips::exports::cmd!(@fixup $fix),
            $crate::opensips::exports::cmd!(@fixup $free),
        )
    };
    (@fixup 0) => { None };
    (@fixup $f:expr) => { $crate::opensips::exports::fixup($f) };
    ($name:literal, $f:expr, [], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script0(concat!($name, "\0").as_bytes(), $f, $flags)
    };
    ($name:literal, $f:expr, [$a:tt], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script1(
            concat!($name, "\0").as_bytes(),
            $f,
            [$crate::opensips::exports::cmd!(@arg $a)],
            $flags,
        )
    };
    ($name:literal, $f:expr, [$a:tt, $b:tt], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script2(
            concat!($name, "\0").as_bytes(),
            $f,
            [
                $crate::opensips::exports::cmd!(@arg $a),
                $crate::opensips::exports::cmd!(@arg $b),
            ],
            $flags,
        )
    };
}
pub(crate) use cmd;

/// An API export, as in the C table `{"load_uac_auth", (cmd_function)uac_auth_bind, {{0,0,0}}, 0}`:
/// `api!(name, function)`; the function takes the caller's API struct.
macro_rules! api {
    ($name:literal, $f:expr $(,)?) => {
        $crate::opensips::exports::Cmd::api(concat!($name, "\0").as_bytes(), $f)
    };
}
pub(crate) use api;

/// USE_FUNC_PARAM (`1U << (8*sizeof(int)-1)`; bindgen cannot evaluate sizeof).
pub const USE_FUNC_PARAM: u32 = 1 << 31;

/// A function the core calls with each value of a USE_FUNC_PARAM parameter.
pub type ParamFn = unsafe extern "C" fn(ffi::modparam_t, *mut c_void) -> c_int;

/// A STR_PARAM parameter: the core stores a `char*`.
pub const fn str_param(
    name: &'static [u8],
    cell: &'static ParamCell<*mut c_char>,
) -> param_export_t {
    param_entry(name, ffi::STR_PARAM, cell.as_ptr() as *mut c_void)
}
/// An INT_PARAM parameter: the core stores an `int`.
pub const fn int_param(name: &'static [u8], cell: &'static ParamCell<c_int>) -> param_export_t {
    param_entry(name, ffi::INT_PARAM, cell.as_ptr() as *mut c_void)
}
/// A STR_PARAM|USE_FUNC_PARAM parameter: the core calls `f` per value.
pub const fn str_func_param(name: &'static [u8], f: ParamFn) -> param_export_t {
    param_entry(
        name,
        ffi::STR_PARAM | USE_FUNC_PARAM,
        f as *const c_void as *mut c_void,
    )
}

const fn param_entry(name: &'static [u8], kind: u32, p: *mut c_void) -> param_export_t {
    param_export_t {
        name: cstr(name),
        type_: kind,
        param_pointer: p,
    }
}

/// One `modparam`, as in the C table `{"force_dialog", INT_PARAM, &force_dialog}`:
/// `param!(name, STR_PARAM | INT_PARAM, cell)`, or
/// `param!(name, STR_PARAM | USE_FUNC_PARAM, function)`.
macro_rules! param {
    ($name:literal, STR_PARAM, $cell:expr $(,)?) => {
        $crate::opensips::exports::str_param(concat!($name, "\0").as_bytes(), &$cell)
    };
    ($name:literal, INT_PARAM, $cell:expr $(,)?) => {
        $crate::opensips::exports::int_param(concat!($name, "\0").as_bytes(), &$cell)
    };
    ($name:literal, STR_PARAM | USE_FUNC_PARAM, $f:expr $(,)?) => {
        $crate::opensips::exports::str_func_param(concat!($name, "\0").as_bytes(), $f)
    };
}
pub(crate) use param;

impl End for param_export_t {
    const END: param_export_t = param_export_t {
        name: null(),
        type_: 0,
        param_pointer: null_mut(),
    };
}

/// A module's `exports`: its name, dependencies, script functions and
/// parameters, load and init functions; the version information the core
/// checks comes from the tree the module was built against.
pub const fn module(
    name: &'static [u8],
    deps: *const ffi::dep_export_t,
    cmds: *const Cmd,
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
        cmds: cmds as *const cmd_export_t,
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
