//! Building blocks of the export tables every OpenSIPS module here has, so
//! that a module's tables read like the stock module's C tables:
//!
//! ```text
//! table! {
//!     static CMDS: [Cmd] = [
//!         cmd!("uac_replace_from", w_replace_from,
//!             [{CMD_PARAM_STR | CMD_PARAM_OPT, 0, 0}, {CMD_PARAM_STR, 0, 0}], ROUTES),
//!         api!("load_uac_auth", load_uac_auth),
//!     ];
//! }
//! table! { static PARAMS: [Param] = [param!("force_dialog", INT_PARAM, FORCE_DIALOG)]; }
//! pub static EXPORTS: Table<module_exports> = Table::new(module(b"uac\0", ...));
//! ```
//!
//! The macros check at compile time that a script function takes the message
//! and one pointer per declared parameter, and that a parameter's storage has
//! the type its kind makes the core write (`param!` and `table!` are
//! host-neutral, in `src/exports.rs`; the kind markers are here). No
//! `transmute`: a function is stored by its address (an `as` cast, see
//! [`Cmd`]).

use super::host::ffi::{self, cmd_export_t, cmd_param, module_exports, param_export_t, sip_msg};
use super::host::version;
use crate::exports::{cstr, padded, param_kinds, same_layout, End, Param};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null;

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

same_layout!(
    Cmd = cmd_export_t {
        name,
        function,
        params,
        flags
    }
);

/// The message, as every script function gets it first.
type Msg = *mut sip_msg;

impl Cmd {
    const fn new(name: &'static [u8], f: *const c_void, params: &[cmd_param], flags: u32) -> Cmd {
        // at most MAX_CMD_PARAMS: the last slot ends the list
        assert!(params.len() <= ffi::MAX_CMD_PARAMS as usize);
        Cmd {
            name: cstr(name),
            function: f,
            params: padded(params, NO_ARG),
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

    /// A script function of three parameters.
    pub const fn script3<A, B, C>(
        name: &'static [u8],
        f: unsafe extern "C" fn(Msg, *mut A, *mut B, *mut C) -> c_int,
        params: [cmd_param; 3],
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
    (@fixup $f:expr) => { Some($f as $crate::opensips::exports::Fixup) };
    ($name:literal, $f:expr, [], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script0($crate::exports::cname!($name), $f, $flags)
    };
    ($name:literal, $f:expr, [$a:tt], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script1(
            $crate::exports::cname!($name),
            $f,
            [$crate::opensips::exports::cmd!(@arg $a)],
            $flags,
        )
    };
    ($name:literal, $f:expr, [$a:tt, $b:tt], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script2(
            $crate::exports::cname!($name),
            $f,
            [
                $crate::opensips::exports::cmd!(@arg $a),
                $crate::opensips::exports::cmd!(@arg $b),
            ],
            $flags,
        )
    };
    ($name:literal, $f:expr, [$a:tt, $b:tt, $c:tt], $flags:expr $(,)?) => {
        $crate::opensips::exports::Cmd::script3(
            $crate::exports::cname!($name),
            $f,
            [
                $crate::opensips::exports::cmd!(@arg $a),
                $crate::opensips::exports::cmd!(@arg $b),
                $crate::opensips::exports::cmd!(@arg $c),
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
        $crate::opensips::exports::Cmd::api($crate::exports::cname!($name), $f)
    };
}
pub(crate) use api;

// The kinds of parameter for `param!` (crate::exports), and the layout
// check of its entries against param_export_t: USE_FUNC_PARAM is
// `1U << (8*sizeof(int)-1)`, beyond bindgen's macro evaluation.
param_kinds! {
    param_export_t;
    STR_PARAM: *mut c_char = ffi::STR_PARAM,
    INT_PARAM: c_int = ffi::INT_PARAM;
    USE_FUNC_PARAM = 1 << 31,
}

/// A module's `exports`: its name, dependencies, script functions and
/// parameters, load and init functions; the version information the core
/// checks comes from the tree the module was built against.
pub const fn module(
    name: &'static [u8],
    deps: *const ffi::dep_export_t,
    cmds: *const Cmd,
    params: *const Param,
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
        params: params as *const param_export_t,
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

/// `dep_export_t`'s DEP_* flags (sr_module.h).
pub const DEP_SILENT: u32 = 1 << 0;
pub const DEP_ABORT: u32 = 1 << 2;

/// MAX_MOD_DEPS of sr_module.h.
const MAX_MOD_DEPS: usize = 10;

/// A module's `dep_export_t`: the modules it needs loaded (and initialised)
/// first, and its modparam dependencies, whose flexible array holds `N`
/// entries (the last one the end marker).
#[repr(C)]
pub struct Deps<const N: usize> {
    md: [ffi::module_dependency_t; MAX_MOD_DEPS],
    mpd: [ffi::modparam_dependency_t; N],
}

// SAFETY: immutable static data (pointers to static strings and functions).
unsafe impl<const N: usize> Sync for Deps<N> {}

/// The end of a modparam dependency list.
pub const END_PARAM_DEP: ffi::modparam_dependency_t = ffi::modparam_dependency_t {
    script_param: std::ptr::null_mut(),
    get_deps_f: None,
};

impl<const N: usize> Deps<N> {
    /// `modules`: (NUL-terminated name, DEP_* flags); `params` ends with
    /// [`END_PARAM_DEP`].
    pub const fn new(
        modules: &[(&'static [u8], u32)],
        params: [ffi::modparam_dependency_t; N],
    ) -> Deps<N> {
        assert!(modules.len() < MAX_MOD_DEPS);
        let none = ffi::module_dependency_t {
            mod_type: ffi::module_type::MOD_TYPE_NULL,
            mod_name: std::ptr::null_mut(),
            type_: 0,
        };
        let mut md = [none; MAX_MOD_DEPS];
        let mut i = 0;
        while i < modules.len() {
            md[i] = ffi::module_dependency_t {
                mod_type: ffi::module_type::MOD_TYPE_DEFAULT,
                mod_name: cstr(modules[i].0) as *mut c_char,
                type_: modules[i].1,
            };
            i += 1;
        }
        Deps { md, mpd: params }
    }

    pub const fn as_ptr(&'static self) -> *const ffi::dep_export_t {
        self as *const Deps<N> as *const ffi::dep_export_t
    }
}

/// A modparam dependency entry: `get_deps` decides from the parameter's
/// value which module must be initialised first.
pub const fn param_dep(
    name: &'static std::ffi::CStr,
    get_deps: unsafe extern "C" fn(*const param_export_t) -> *mut ffi::module_dependency_t,
) -> ffi::modparam_dependency_t {
    ffi::modparam_dependency_t {
        script_param: name.as_ptr() as *mut c_char,
        get_deps_f: Some(get_deps),
    }
}

/// What a modparam dependency function returns: `module` needed first
/// (DEP_ABORT) when `needed`, else nothing.
pub fn module_dep_if(
    needed: bool,
    module: &'static std::ffi::CStr,
) -> *mut ffi::module_dependency_t {
    if !needed {
        return std::ptr::null_mut();
    }
    // SAFETY: the core frees the pkg dependency it gets back; the name is static.
    unsafe {
        ffi::alloc_module_dep(
            ffi::module_type::MOD_TYPE_DEFAULT,
            module.as_ptr() as *mut c_char,
            DEP_ABORT,
        )
    }
}
