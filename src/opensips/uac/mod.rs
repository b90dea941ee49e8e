//! The OpenSIPS `uac` module: From/To replacement and restore
//! (uac_replace_from/to, uac_restore_from/to, restore_mode none/manual/auto
//! through the Record-Route parameter). The table is exported under the C
//! name `exports` only in the build of the `opensips-uac` feature alone.
//!
//! uac_auth([algorithms]) answers 401/407 with src/digest (strongest
//! supported challenge first), uac_inc_cseq(n) raises CSeq.
//!
//! With the dialog module, a request that has a dialog keeps the replaced
//! URIs and the CSeq shift in the dialog instead of Record-Route, as stock.
//! The work is done by the flows (src/flows/from_to, src/flows/cseq).

pub mod auth;
pub mod from_to;

use crate::exports::{param, table, Param, ParamCell, Table};
use crate::flows::from_to::{self as flow, Loaded, Routed, Settings};
use crate::log::guarded;
use crate::opensips::exports::{
    cmd, module, module_dep_if, param_dep, Cmd, Deps, DEP_ABORT, DEP_SILENT, END_PARAM_DEP,
    INT_PARAM, STR_PARAM,
};
use crate::opensips::host::avp::AvpName;
use crate::opensips::host::ffi::{
    self, module_exports, param_export_t, sip_msg, str_, BRANCH_ROUTE, CMD_PARAM_INT,
    CMD_PARAM_OPT, CMD_PARAM_STR, FAILURE_ROUTE, REQUEST_ROUTE,
};
use crate::opensips::host::msg::SipMsg;
use crate::opensips::host::{c_param, dlg, log, rr, str_bytes, tm, Opensips};
use crate::ports::dialog::Dialogs;
use crate::ports::message::{SipMessage, Which};
use crate::ports::rr::RecordRoute;
use crate::{dbg, err};
use from_to::Uac;
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

pub use crate::flows::from_to::RestoreMode;

/// The module's configuration, fixed in mod_init (before fork): what the
/// From/To flow reads (OpenSIPS's uac has no restore AVPs). `dialog`: the
/// dialog API is loaded, so a request with a dialog keeps its replaced URIs
/// (and uac_auth()'s CSeq shift) there.
static CONFIG: OnceCell<Settings<AvpName>> = OnceCell::new();

pub fn config() -> &'static Settings<AvpName> {
    CONFIG.get_or_init(|| Settings {
        mode: RestoreMode::Auto,
        from_param: b"vsf".to_vec(),
        to_param: b"vst".to_vec(),
        passwd: Vec::new(),
        from_avp: None,
        to_avp: None,
        dialog: false,
        force_dialog: false,
    })
}

// Parameters the core sets while it reads the config (strdup'ed strings).
static RR_FROM_PARAM: ParamCell<*mut c_char> = ParamCell::new(c"vsf".as_ptr() as *mut c_char);
static RR_TO_PARAM: ParamCell<*mut c_char> = ParamCell::new(c"vst".as_ptr() as *mut c_char);
static RESTORE_MODE: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static RESTORE_PASSWD: ParamCell<*mut c_char> = ParamCell::new(c"".as_ptr() as *mut c_char);
static FORCE_DIALOG: ParamCell<c_int> = ParamCell::new(0);
static PANIC_PROBE: ParamCell<c_int> = ParamCell::new(0);

unsafe extern "C" fn on_load() -> c_int {
    log::install();
    0
}

fn init() -> Result<(), String> {
    tm::load()?;
    // The core set these (or left the defaults) before mod_init.
    let (mode, from, to, passwd, force_dialog) = (
        RESTORE_MODE.c_str(),
        RR_FROM_PARAM.c_str().unwrap_or_default(),
        RR_TO_PARAM.c_str().unwrap_or_default(),
        RESTORE_PASSWD.c_str().unwrap_or_default(),
        FORCE_DIALOG.get(),
    );
    let restore = match mode.filter(|m| !m.is_empty()) {
        Some(m) => RestoreMode::parse(m)?,
        None => RestoreMode::Auto,
    };
    // SAFETY: is_script_func_used reads the parsed script (main process).
    let used = |f: &std::ffi::CStr| unsafe { ffi::osg_script_func_used(f.as_ptr()) != 0 };
    let mut dialog = false;
    if used(c"uac_replace_from") || used(c"uac_replace_to") {
        if (from.is_empty() || to.is_empty()) && restore != RestoreMode::None {
            return Err("rr_store_param cannot be empty if FROM is restoreable".into());
        }
        if restore != RestoreMode::None {
            rr::load()?;
            if restore == RestoreMode::Auto {
                if force_dialog == 0 && !Opensips.append_fromtag() {
                    return Err(
                        "'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                            .into(),
                    );
                }
                match dlg::load() {
                    Err(_) if force_dialog != 0 => {
                        return Err("cannot force dialog. dialog module not loaded".into())
                    }
                    Err(_) => dbg!("failed to find dialog API - is dialog module loaded?"),
                    Ok(()) => {
                        dialog = true;
                        // dialogs read back from the database get their
                        // callbacks again
                        Opensips.on_loaded::<Loaded<Uac>>()?;
                    }
                }
                Opensips.on_routed::<Routed<Uac>>()?;
            }
        }
    } else if restore != RestoreMode::None {
        // uac_restore_*() alone (manual restore of a dialog begun elsewhere)
        rr::load()?;
    }
    if used(c"uac_auth") {
        crate::opensips::host::uac_auth_api::load()?;
        rr::load()?;
        if !dialog {
            // stock logs an error when the dialog module is absent and goes
            // on; the dialog is optional here, so a debug line says it
            match dlg::load() {
                Ok(()) => dialog = true,
                Err(e) => dbg!("no dlg API ({e}): uac_auth() marks the dialog in Record-Route"),
            }
        }
        if !Opensips.append_fromtag() {
            return Err(
                "'append_fromtag' RR param is not enabled! - required by uac_auth() restore mode"
                    .into(),
            );
        }
        Opensips.on_routed::<crate::flows::cseq::AciChecker>()?;
    }
    if dialog {
        // Beyond stock (which parses them only in auto mode): the branch AVP
        // specs whenever the dialog keeps the URIs.
        dlg::bavp_init()?;
    }
    let _ = CONFIG.set(Settings {
        mode: restore,
        from_param: from.to_vec(),
        to_param: to.to_vec(),
        passwd: passwd.to_vec(),
        from_avp: None,
        to_avp: None,
        dialog,
        force_dialog: force_dialog != 0,
    });
    Ok(())
}

unsafe extern "C" fn mod_init() -> c_int {
    crate::info!("initializing...");
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

/// Script functions return 1 for true and -1 for false.
fn ret(r: Result<(), String>) -> c_int {
    match r {
        Ok(()) => 1,
        Err(e) => {
            err!("{e}");
            -1
        }
    }
}

fn replace_entry(which: Which, m: *mut sip_msg, dsp: *mut str_, uri: *mut str_) -> c_int {
    guarded("uac_replace", -1, || {
        // SAFETY: the core hands us the current message and its str params
        // (NULL for an omitted optional one).
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        // SAFETY: as above: NULL or strs valid for this call.
        let (d, u) = unsafe {
            (
                dsp.as_ref().map(|s| str_bytes(s)),
                uri.as_ref().map(|s| str_bytes(s)),
            )
        };
        ret(flow::replace::<Uac>(&Opensips, &msg, which, d, u))
    })
}

unsafe extern "C" fn w_replace_from(m: *mut sip_msg, dsp: *mut str_, uri: *mut str_) -> c_int {
    replace_entry(Which::From, m, dsp, uri)
}

unsafe extern "C" fn w_replace_to(m: *mut sip_msg, dsp: *mut str_, uri: *mut str_) -> c_int {
    replace_entry(Which::To, m, dsp, uri)
}

fn restore_entry(which: Which, m: *mut sip_msg) -> c_int {
    guarded("uac_restore", -1, || {
        // SAFETY: the core hands us the current message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        if !msg.is_request() {
            err!("called for something not request");
            return -1;
        }
        match flow::restore::<Uac>(&Opensips, &msg, which) {
            Ok(true) => 1,
            Ok(false) => -1,
            Err(e) => ret(Err(e)),
        }
    })
}

unsafe extern "C" fn w_restore_from(m: *mut sip_msg) -> c_int {
    restore_entry(Which::From, m)
}

unsafe extern "C" fn w_restore_to(m: *mut sip_msg) -> c_int {
    restore_entry(Which::To, m)
}

/// uac_panic_probe(): with `modparam("uac", "panic_probe", 1)` it panics, to
/// show that a panic never reaches OpenSIPS (the guard logs it, returns -1).
unsafe extern "C" fn w_panic_probe(_m: *mut sip_msg) -> c_int {
    guarded("uac_panic_probe", -1, || {
        if PANIC_PROBE.get() != 0 {
            panic!("panic probe");
        }
        err!("uac_panic_probe: disabled (modparam panic_probe is 0)");
        -1
    })
}

unsafe extern "C" fn w_uac_auth(m: *mut sip_msg, algs: *mut str_) -> c_int {
    guarded("uac_auth", -1, || {
        // SAFETY: the core hands us the current message and the optional
        // algorithm list (checked by fixup_algorithms at start-up).
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        // SAFETY: as above: NULL or a str valid for this call.
        let list = match unsafe { algs.as_ref() } {
            None => None,
            Some(s) => {
                // SAFETY: the str's bytes are valid for this call.
                let s = unsafe { str_bytes(s) };
                match auth::parse_algorithms(&String::from_utf8_lossy(s)) {
                    Ok(l) => Some(l),
                    Err(e) => return ret(Err(e)),
                }
            }
        };
        ret(auth::uac_auth(&msg, list.as_deref()))
    })
}

unsafe extern "C" fn w_uac_inc_cseq(m: *mut sip_msg, n: *mut c_int) -> c_int {
    guarded("uac_inc_cseq", -1, || {
        // SAFETY: the core hands us the current message and the int param.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        // SAFETY: as above: NULL or the int the core fixed up.
        let Some(n) = (unsafe { n.as_ref() }) else {
            err!("scripting bug: uac_inc_cseq() without value!");
            return -10; // E_SCRIPT
        };
        ret(auth::inc_cseq(&msg, *n))
    })
}

/// Start-up check of uac_auth()'s algorithm list (stock refuses an unknown
/// name when the script is loaded).
unsafe extern "C" fn fixup_algorithms(param: *mut *mut c_void) -> c_int {
    guarded("fixup_algorithms", -1, || {
        // SAFETY: for a CMD_PARAM_STR the core passes a str* in *param.
        let s = unsafe { (*param as *const str_).as_ref().map(|s| str_bytes(s)) };
        match s.map(|s| auth::parse_algorithms(&String::from_utf8_lossy(s))) {
            Some(Err(e)) => {
                err!("{e}");
                -1
            }
            _ => 0,
        }
    })
}

const ROUTES: u32 = REQUEST_ROUTE | BRANCH_ROUTE | FAILURE_ROUTE;

table! {
    static CMDS: [Cmd] = [
        cmd!("uac_panic_probe", w_panic_probe, [], ROUTES),
        cmd!("uac_auth", w_uac_auth, [{CMD_PARAM_STR | CMD_PARAM_OPT, fixup_algorithms, 0}],
            ROUTES),
        cmd!("uac_inc_cseq", w_uac_inc_cseq, [{CMD_PARAM_INT, 0, 0}], ROUTES),
        // uac_replace_*([display], uri): the display is optional, the URI required.
        cmd!("uac_replace_from", w_replace_from,
            [{CMD_PARAM_STR | CMD_PARAM_OPT, 0, 0}, {CMD_PARAM_STR, 0, 0}], ROUTES),
        cmd!("uac_restore_from", w_restore_from, [], ROUTES),
        cmd!("uac_replace_to", w_replace_to,
            [{CMD_PARAM_STR | CMD_PARAM_OPT, 0, 0}, {CMD_PARAM_STR, 0, 0}], ROUTES),
        cmd!("uac_restore_to", w_restore_to, [], ROUTES),
    ];
}

table! {
    static PARAMS: [Param] = [
        param!("panic_probe", INT_PARAM, PANIC_PROBE),
        param!("rr_from_store_param", STR_PARAM, RR_FROM_PARAM),
        param!("rr_to_store_param", STR_PARAM, RR_TO_PARAM),
        param!("restore_mode", STR_PARAM, RESTORE_MODE),
        param!("restore_passwd", STR_PARAM, RESTORE_PASSWD),
        param!("force_dialog", INT_PARAM, FORCE_DIALOG),
    ];
}

/// rr is needed unless restore_mode is none (stock get_deps_restore_mode).
unsafe extern "C" fn deps_restore_mode(p: *const param_export_t) -> *mut ffi::module_dependency_t {
    guarded("deps_restore_mode", null_mut(), || {
        // SAFETY: the core passes our restore_mode entry; its pointer holds
        // the C string the config set (or NULL).
        let mode = unsafe { c_param(*((*p).param_pointer as *const *const c_char)) };
        module_dep_if(mode.is_some_and(|m| !m.is_empty() && m != b"none"), c"rr")
    })
}

static DEPS: Deps<2> = Deps::new(
    &[
        (b"tm\0", DEP_ABORT),
        (b"dialog\0", DEP_SILENT),
        (b"uac_auth\0", DEP_SILENT),
    ],
    [param_dep(c"restore_mode", deps_restore_mode), END_PARAM_DEP],
);

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "opensips-uac", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(module(
    b"uac\0",
    DEPS.as_ptr(),
    CMDS.as_ptr() as *const Cmd,
    PARAMS.as_ptr() as *const Param,
    on_load,
    mod_init,
));
