//! Building blocks of the export tables every Kamailio module here has, so
//! that a module's tables read like the stock module's C tables:
//!
//! ```text
//! table! {
//!     static CMDS: [Cmd] = [
//!         cmd!("uac_replace_from", w_replace_from, 2, fixup_spve_spve, fixup_free_spve_spve, REQUEST_ROUTE | BRANCH_ROUTE),
//!         api!("bind_uac", api::bind_uac, 1),
//!     ];
//! }
//! table! { static PARAMS: [Param] = [param!("restore_dlg", PARAM_INT, RESTORE_DLG)]; }
//! table! { static KEMI: [sr_kemi_t] = [kemi!("uac", "uac_auth_mode", ki_uac_auth_mode, [INT])]; }
//! ```
//!
//! Each macro checks at compile time what C leaves to the reader: that a
//! script function has the shape the core calls for its parameter count, that
//! a parameter's storage has the type its kind makes the core write (`param!`
//! and `table!` are host-neutral, in `src/exports.rs`; the kind markers are
//! here), that a KEMI function takes the parameters its type list declares.
//! No `transmute`: a function is stored by its address (an `as` cast, see
//! [`Cmd`]).

use super::host::ffi::{
    self, cmd_export_t, param_export_t, pv_export_t, rpc_export_t, sip_msg, sr_kemi_t, str_,
};
use super::host::guard::guarded;
use crate::exports::{cstr, padded, param_kinds, same_layout, End, ParamCell};
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::ptr::{null, null_mut};

/// A fixup (or free-fixup) function.
pub type Fixup = unsafe extern "C" fn(*mut *mut c_void, c_int) -> c_int;

/// A script function of up to two parameters: the core calls it with the
/// message and two parameters, NULL where the function declares fewer.
pub type Fn2 = unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char) -> c_int;
/// A script function of three parameters.
pub type Fn3 = unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char, *mut c_char) -> c_int;
/// A script function of four parameters.
pub type Fn4 =
    unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char, *mut c_char, *mut c_char) -> c_int;

/// One `cmd_export_t`, with the function kept as an address. The core keeps
/// every script function as `cmd_function` (message and two parameters) and
/// calls it with as many parameters as `param_no` says, a C cast per arity as
/// in every C module; an API export (route flags 0) the core never calls: a
/// module that finds it with `find_export` casts it back to its real type.
/// Kept as an address, a function of any of these shapes is stored by an `as`
/// cast ([`Cmd::script2`] and its siblings), with no `transmute`; the layout
/// is `cmd_export_t`'s, checked below at compile time.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Cmd {
    name: *const c_char,
    function: *const c_void,
    param_no: c_int,
    fixup: Option<Fixup>,
    free_fixup: Option<Fixup>,
    flags: c_uint,
}

same_layout!(
    Cmd = cmd_export_t {
        name,
        function,
        param_no,
        fixup,
        free_fixup,
        flags
    }
);

impl Cmd {
    const fn new(
        name: &'static [u8],
        function: *const c_void,
        param_no: c_int,
        fixup: Option<Fixup>,
        free_fixup: Option<Fixup>,
        flags: u32,
    ) -> Cmd {
        Cmd {
            name: cstr(name),
            function,
            param_no,
            fixup,
            free_fixup,
            flags,
        }
    }

    /// A script function of `param_no` 0 to 2 parameters.
    pub const fn script2(
        name: &'static [u8],
        f: Fn2,
        param_no: c_int,
        fixup: Option<Fixup>,
        free_fixup: Option<Fixup>,
        flags: u32,
    ) -> Cmd {
        assert!(param_no <= 2);
        Cmd::new(name, f as *const c_void, param_no, fixup, free_fixup, flags)
    }

    /// A script function of three parameters.
    pub const fn script3(
        name: &'static [u8],
        f: Fn3,
        fixup: Option<Fixup>,
        free_fixup: Option<Fixup>,
        flags: u32,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, 3, fixup, free_fixup, flags)
    }

    /// A script function of four parameters.
    pub const fn script4(
        name: &'static [u8],
        f: Fn4,
        fixup: Option<Fixup>,
        free_fixup: Option<Fixup>,
        flags: u32,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, 4, fixup, free_fixup, flags)
    }

    /// An API export (`bind_uac`, `bind_auth_s`): route flags 0, so no script
    /// can call it; other modules find it with `find_export(name, param_no, 0)`
    /// and call it with their API struct.
    pub const fn api<T>(
        name: &'static [u8],
        f: unsafe extern "C" fn(*mut T) -> c_int,
        param_no: c_int,
    ) -> Cmd {
        Cmd::new(name, f as *const c_void, param_no, None, None, 0)
    }
}

impl End for Cmd {
    const END: Cmd = Cmd {
        name: null(),
        function: null(),
        param_no: 0,
        fixup: None,
        free_fixup: None,
        flags: 0,
    };
}

/// One script function, as in the C table:
/// `cmd!(name, function, param_no, fixup, free_fixup, route flags)`, with
/// `0` for no fixup. The function must have the shape the core calls for
/// `param_no` ([`Fn2`], [`Fn3`], [`Fn4`]).
macro_rules! cmd {
    (@shape 0, $name:expr, $f:expr, $($a:expr),*) => {
        $crate::kamailio::exports::Cmd::script2($name, $f, 0, $($a),*)
    };
    (@shape 1, $name:expr, $f:expr, $($a:expr),*) => {
        $crate::kamailio::exports::Cmd::script2($name, $f, 1, $($a),*)
    };
    (@shape 2, $name:expr, $f:expr, $($a:expr),*) => {
        $crate::kamailio::exports::Cmd::script2($name, $f, 2, $($a),*)
    };
    (@shape 3, $name:expr, $f:expr, $($a:expr),*) => {
        $crate::kamailio::exports::Cmd::script3($name, $f, $($a),*)
    };
    (@shape 4, $name:expr, $f:expr, $($a:expr),*) => {
        $crate::kamailio::exports::Cmd::script4($name, $f, $($a),*)
    };
    (@fixup 0) => { None };
    (@fixup $f:expr) => { Some($f as $crate::kamailio::exports::Fixup) };
    ($name:literal, $f:expr, $n:tt, $fix:tt, $free:tt, $flags:expr $(,)?) => {
        $crate::kamailio::exports::cmd!(@shape $n, $crate::exports::cname!($name), $f,
            $crate::kamailio::exports::cmd!(@fixup $fix),
            $crate::kamailio::exports::cmd!(@fixup $free), $flags)
    };
}
pub(crate) use cmd;

/// An API export, as in the C table `{"bind_uac", (cmd_function)bind_uac, 1, 0, 0, 0}`:
/// `api!(name, function, param_no)`; the function takes the caller's API struct.
macro_rules! api {
    ($name:literal, $f:expr, $n:expr $(,)?) => {
        $crate::kamailio::exports::Cmd::api($crate::exports::cname!($name), $f, $n)
    };
}
pub(crate) use api;

// The kinds of parameter for `param!` (crate::exports), and the layout
// check of its entries against param_export_t: PARAM_USE_FUNC is
// `1U<<(8*sizeof(int)-1)` (sr_module.h), beyond bindgen's macro evaluation;
// int is 32 bits on every platform Kamailio builds for.
param_kinds! {
    param_export_t;
    PARAM_STR: str_ = ffi::PARAM_STR,
    PARAM_STRING: *mut c_char = ffi::PARAM_STRING,
    PARAM_INT: c_int = ffi::PARAM_INT;
    PARAM_USE_FUNC = 1 << 31,
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

/// A `str` for a table's default value or KEMI name, from a `"text\0"`
/// literal: `s` points at the text, NUL-terminated (KEMI interpreters read
/// names both as str and as C strings), `len` leaves the NUL out.
pub const fn kstr(s: &'static [u8]) -> str_ {
    str_ {
        s: cstr(s).cast_mut(),
        len: s.len() as c_int - 1,
    }
}

const NULL_STR: str_ = str_ {
    s: null_mut(),
    len: 0,
};

/// KEMI parameter and return types.
pub const KS: c_int = ffi::SR_KEMIP_STR as c_int;
pub const KN: c_int = ffi::SR_KEMIP_NONE as c_int;
pub const KI: c_int = ffi::SR_KEMIP_INT as c_int;

/// One KEMI function returning int; `ptypes` as declared, the rest NONE.
pub const fn kemi_int(
    module: &'static [u8],
    name: &'static [u8],
    func: *mut c_void,
    ptypes: &[c_int],
) -> sr_kemi_t {
    sr_kemi_t {
        mname: kstr(module),
        fname: kstr(name),
        rtype: KI,
        func,
        ptypes: padded(ptypes, KN),
    }
}

/// One KEMI function, as in the C table
/// `{ str_init("uac"), str_init("uac_auth_mode"), SR_KEMIP_INT, ki_uac_auth_mode, { SR_KEMIP_INT, ... } }`:
/// `kemi!(module, name, function, [INT, STR...])`. The function must take
/// the message and one `c_int` per INT, one `*mut str_` per STR, and return
/// `c_int`; KEMI keeps it as an address (`as` cast).
macro_rules! kemi {
    ($m:literal, $name:literal, $f:expr, [$($t:ident),* $(,)?] $(,)?) => {
        $crate::kamailio::exports::kemi_int(
            $crate::exports::cname!($m),
            $crate::exports::cname!($name),
            {
                let f: unsafe extern "C" fn(
                    *mut $crate::kamailio::host::ffi::sip_msg
                    $(, $crate::kamailio::exports::kemi!(@ty $t))*
                ) -> ::std::os::raw::c_int = $f;
                f as *mut ::std::os::raw::c_void
            },
            &[$($crate::kamailio::exports::kemi!(@code $t)),*],
        )
    };
    (@ty STR) => { *mut $crate::kamailio::host::ffi::str_ };
    (@ty INT) => { ::std::os::raw::c_int };
    (@code STR) => { $crate::kamailio::exports::KS };
    (@code INT) => { $crate::kamailio::exports::KI };
}
pub(crate) use kemi;

impl End for sr_kemi_t {
    const END: sr_kemi_t = sr_kemi_t {
        mname: NULL_STR,
        fname: NULL_STR,
        rtype: 0,
        func: null_mut(),
        ptypes: [0; 6],
    };
}

impl End for pv_export_t {
    const END: pv_export_t = pv_export_t {
        name: NULL_STR,
        type_: 0,
        getf: None,
        setf: None,
        parse_name: None,
        parse_index: None,
        init_param: None,
        iparam: 0,
    };
}

impl End for rpc_export_t {
    const END: rpc_export_t = rpc_export_t {
        name: null(),
        function: None,
        doc_str: null_mut(),
        flags: 0,
    };
}

/// What every module's `mod_register` does, the first code of the module the
/// core runs (right after dlopen): installs Kamailio's logger for the
/// host-neutral macros, then registers the module's KEMI table.
///
/// # Safety
/// `kemi` is a static table ended by [`End::END`]; the core keeps the pointer.
pub unsafe fn register(kemi: *mut sr_kemi_t) -> c_int {
    super::host::log::install();
    guarded("mod_register", -1, || {
        // SAFETY: caller contract: a static, terminated table.
        unsafe { ffi::sr_kemi_modules_add(kemi) }
    })
}

/// What every module's `mod_init` does: the panic hook, then the module's
/// `init` inside the guard; its error is logged and the core gets -1 (the
/// module refuses to start).
pub fn init_module(init: fn() -> Result<(), String>) -> c_int {
    crate::log::install_panic_hook();
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            crate::err!("{e}");
            -1
        }
    })
}
