//! The `uac` module as Kamailio sees it: the `exports` table, the config-file
//! functions, the KEMI exports, and mod_init. Every entry point is guarded
//! against panics. The table is exported under the C name `exports` only in the
//! build of the `kamailio-uac` feature alone (see `src/kamailio/mod.rs`).

pub mod api;
pub mod auth;
pub mod from_to;
pub mod params;
pub mod reg_cmds;
pub mod reg_rpc;
pub mod registration;
pub mod send;

use crate::err;
use crate::exports::{cstr, param, table, Param, Table};
use crate::flows::from_to::{self as flow, Loaded, Routed};
use crate::kamailio::exports::{
    self, api, cmd, kemi, kstr, Cmd, PARAM_INT, PARAM_STR, PARAM_STRING, PARAM_USE_FUNC,
};
use crate::kamailio::host::ffi::{
    self, cmd_export_t, fixup_free_igp_null, fixup_free_spve_igp, fixup_free_spve_null,
    fixup_free_spve_pvar, fixup_free_spve_spve, fixup_igp_null, fixup_spve_igp, fixup_spve_null,
    fixup_spve_pvar, fixup_spve_spve, module_exports, param_export_t, pv_export_t, sip_msg,
    sr_kemi_t, str_, ANY_ROUTE, BRANCH_FAILURE_ROUTE, BRANCH_ROUTE, EVENT_ROUTE, FAILURE_ROUTE,
    REQUEST_ROUTE,
};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::Kamailio;
use crate::kamailio::host::{dlg, rr, str_bytes, tm};
use crate::ports::dialog::Dialogs;
use crate::ports::message::{SipMessage, Which};
use crate::ports::rr::RecordRoute;
use from_to::Uac;
use params::RestoreMode;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

/// Script functions return 1 for true and -1 for false.
fn ret(r: Result<(), String>, what: &str) -> c_int {
    match r {
        Ok(()) => 1,
        Err(e) => {
            err!("{what}: {e}");
            -1
        }
    }
}

/// Reads a fixed-up string parameter (spve: may hold pseudo-variables).
///
/// # Safety
/// `p` must be the gparam the fixup made for this parameter.
unsafe fn spve(msg: *mut sip_msg, p: *mut c_char) -> Option<Vec<u8>> {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: get_str_fparam (what the fixup_get_svalue macro calls) evaluates
    // the gparam for this message.
    unsafe {
        if ffi::get_str_fparam(&mut s, msg, p as *mut ffi::fparam_t) < 0 {
            return None;
        }
        Some(str_bytes(&s).to_vec())
    }
}

/// uac_replace_from/to(display, uri) and (uri): with one parameter p2 is NULL.
unsafe fn replace_script(which: Which, m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    let what = format!("uac_replace_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: the core hands us the current message and our fixed-up params.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let (pd, pu) = if p2.is_null() {
            (null_mut(), p1)
        } else {
            (p1, p2)
        };
        let display = if pd.is_null() {
            None
        } else {
            // SAFETY: pd is one of our fixed-up parameters (fixup_spve_spve).
            match unsafe { spve(m, pd) } {
                Some(d) => Some(d),
                None => return ret(Err("cannot get the display name value".into()), &what),
            }
        };
        // SAFETY: as above, pu is a fixed-up parameter.
        let Some(uri) = (unsafe { spve(m, pu) }) else {
            return ret(Err("cannot get the uri value".into()), &what);
        };
        ret(
            flow::replace::<Uac>(&Kamailio, &msg, which, display.as_deref(), Some(&uri)),
            &what,
        )
    })
}

unsafe extern "C" fn w_replace_from(m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    // SAFETY: the core calls us with the message and our fixed-up parameters.
    unsafe { replace_script(Which::From, m, p1, p2) }
}

unsafe extern "C" fn w_replace_to(m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    // SAFETY: the core calls us with the message and our fixed-up parameters.
    unsafe { replace_script(Which::To, m, p1, p2) }
}

fn restore_entry(which: Which, m: *mut sip_msg) -> c_int {
    let what = format!("uac_restore_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: the core hands us the current message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        if !msg.is_request() {
            return ret(Err("called for something not request".into()), &what);
        }
        match flow::restore::<Uac>(&Kamailio, &msg, which) {
            Ok(true) => 1,
            Ok(false) => -1,
            Err(e) => ret(Err(e), &what),
        }
    })
}

unsafe extern "C" fn w_restore_from(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    restore_entry(Which::From, m)
}

unsafe extern "C" fn w_restore_to(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    restore_entry(Which::To, m)
}

/// uac_auth() / uac_auth(mode) / uac_auth_mode(mode).
fn auth_entry(m: *mut sip_msg, mode: c_int) -> c_int {
    guarded("uac_auth", -1, || {
        // SAFETY: the core hands us the current (faked) request.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        ret(auth::uac_auth(&msg, mode), "uac_auth")
    })
}

unsafe extern "C" fn w_uac_auth(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    auth_entry(m, 0)
}

unsafe extern "C" fn w_uac_auth_mode(m: *mut sip_msg, p1: *mut c_char, _: *mut c_char) -> c_int {
    let mut mode: c_int = 0;
    // SAFETY: p1 is the igp the fixup made; get_int_fparam evaluates it.
    if unsafe { ffi::get_int_fparam(&mut mode, m, p1 as *mut ffi::fparam_t) } < 0 {
        err!("uac_auth: failed to get the mode parameter");
        return -1;
    }
    auth_entry(m, mode)
}

/// Test aid (not in the stock module): panics inside the guard when
/// `modparam("uac", "panic_probe", 1)`, to show a panic never reaches C.
unsafe extern "C" fn w_panic_probe(_m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    guarded("uac_panic_probe", -1, || {
        if params::config().panic_probe {
            panic!("panic probe triggered from the script");
        }
        err!("uac_panic_probe: disabled (modparam panic_probe is 0)");
        -1
    })
}

// ---- KEMI: KSR.uac.* ----

/// # Safety
/// `s` is NULL or a str valid for this call.
unsafe fn kemi_str(s: *mut str_) -> Option<Vec<u8>> {
    // SAFETY: caller contract.
    (!s.is_null()).then(|| unsafe { str_bytes(&*s) }.to_vec())
}

fn kemi_replace(which: Which, m: *mut sip_msg, dsp: *mut str_, uri: *mut str_) -> c_int {
    let what = format!("uac_replace_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: KEMI hands us the current message and str arguments.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        // SAFETY: KEMI passes NULL or strs valid for this call.
        let (d, u) = unsafe { (kemi_str(dsp), kemi_str(uri)) };
        ret(
            flow::replace::<Uac>(&Kamailio, &msg, which, d.as_deref(), u.as_deref()),
            &what,
        )
    })
}

unsafe extern "C" fn ki_replace_from(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    kemi_replace(Which::From, m, d, u)
}
unsafe extern "C" fn ki_replace_from_uri(m: *mut sip_msg, u: *mut str_) -> c_int {
    kemi_replace(Which::From, m, null_mut(), u)
}
unsafe extern "C" fn ki_replace_to(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    kemi_replace(Which::To, m, d, u)
}
unsafe extern "C" fn ki_replace_to_uri(m: *mut sip_msg, u: *mut str_) -> c_int {
    kemi_replace(Which::To, m, null_mut(), u)
}
unsafe extern "C" fn ki_restore_from(m: *mut sip_msg) -> c_int {
    restore_entry(Which::From, m)
}
unsafe extern "C" fn ki_restore_to(m: *mut sip_msg) -> c_int {
    restore_entry(Which::To, m)
}
unsafe extern "C" fn ki_uac_auth(m: *mut sip_msg) -> c_int {
    auth_entry(m, 0)
}
unsafe extern "C" fn ki_uac_auth_mode(m: *mut sip_msg, mode: c_int) -> c_int {
    auth_entry(m, mode)
}

// ---- start-up ----

unsafe extern "C" fn mod_init() -> c_int {
    exports::init_module(init)
}

fn init() -> Result<(), String> {
    let cfg = params::init()?;
    tm::load()?;
    registration::init()?;
    if registration::enabled() {
        reg_rpc::init()?;
    }
    if cfg.from_to.mode == RestoreMode::None {
        return Ok(());
    }
    rr::load()?;
    if cfg.from_to.mode == RestoreMode::Auto {
        if !cfg.restore_dlg {
            if !Kamailio.append_fromtag() {
                return Err(
                    "'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                        .into(),
                );
            }
        } else {
            dlg::load().map_err(|e| {
                format!("failed to find dialog API - is dialog module loaded? ({e})")
            })?;
            Kamailio
                .on_loaded::<Loaded<Uac>>()
                .map_err(|e| format!("can't register on load callback: {e}"))?;
        }
    }
    if cfg.from_to.mode == RestoreMode::Auto {
        // Every request loose_route() routes by our Record-Route is restored.
        Kamailio.on_routed::<Routed<Uac>>()?;
    }
    Ok(())
}

unsafe extern "C" fn child_init(rank: c_int) -> c_int {
    guarded("child_init", -1, || match registration::child_init(rank) {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

unsafe extern "C" fn mod_destroy() {}

// ---- export tables ----

/// EVENT_ROUTE lets the config parser accept uac_auth in
/// event_route[tm:branch-failure]; at run time that route is BRANCH_FAILURE_ROUTE,
/// and in any other event route uac_auth finds no failed branch and says so.
const AUTH_ROUTES: u32 = FAILURE_ROUTE | BRANCH_FAILURE_ROUTE | EVENT_ROUTE;

table! {
    static CMDS: [Cmd] = [
        cmd!("uac_replace_from", w_replace_from, 2, fixup_spve_spve, fixup_free_spve_spve,
            REQUEST_ROUTE | BRANCH_ROUTE),
        cmd!("uac_replace_from", w_replace_from, 1, fixup_spve_spve, fixup_free_spve_spve,
            REQUEST_ROUTE | BRANCH_ROUTE),
        cmd!("uac_restore_from", w_restore_from, 0, 0, 0, REQUEST_ROUTE),
        cmd!("uac_replace_to", w_replace_to, 2, fixup_spve_spve, fixup_free_spve_spve,
            REQUEST_ROUTE | BRANCH_ROUTE),
        cmd!("uac_replace_to", w_replace_to, 1, fixup_spve_spve, fixup_free_spve_spve,
            REQUEST_ROUTE | BRANCH_ROUTE),
        cmd!("uac_restore_to", w_restore_to, 0, 0, 0, REQUEST_ROUTE),
        cmd!("uac_auth", w_uac_auth, 0, 0, 0, AUTH_ROUTES),
        cmd!("uac_req_send", send::w_uac_req_send, 0, 0, 0, ANY_ROUTE),
        cmd!("uac_auth", w_uac_auth_mode, 1, fixup_igp_null, fixup_free_igp_null, AUTH_ROUTES),
        cmd!("uac_auth_mode", w_uac_auth_mode, 1, fixup_igp_null, fixup_free_igp_null,
            AUTH_ROUTES),
        cmd!("uac_panic_probe", w_panic_probe, 0, 0, 0, ANY_ROUTE),
        cmd!("uac_reg_lookup", reg_cmds::w_lookup, 2, fixup_spve_pvar, fixup_free_spve_pvar,
            ANY_ROUTE),
        cmd!("uac_reg_lookup_uri", reg_cmds::w_lookup_uri, 2, fixup_spve_pvar,
            fixup_free_spve_pvar, ANY_ROUTE),
        cmd!("uac_reg_status", reg_cmds::w_status, 1, fixup_spve_null, 0, ANY_ROUTE),
        cmd!("uac_reg_request_to", reg_cmds::w_request_to, 2, fixup_spve_igp,
            fixup_free_spve_igp, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE),
        cmd!("uac_reg_enable", reg_cmds::w_enable, 2, fixup_spve_spve, fixup_free_spve_spve,
            ANY_ROUTE),
        cmd!("uac_reg_disable", reg_cmds::w_disable, 2, fixup_spve_spve, fixup_free_spve_spve,
            ANY_ROUTE),
        cmd!("uac_reg_refresh", reg_cmds::w_refresh, 1, fixup_spve_null, fixup_free_spve_null,
            ANY_ROUTE),
        cmd!("uac_reg_send_register", reg_cmds::w_send_register, 2, fixup_spve_spve,
            fixup_free_spve_spve, ANY_ROUTE),
        cmd!("uac_reg_send_unregister", reg_cmds::w_send_unregister, 2, fixup_spve_spve,
            fixup_free_spve_spve, ANY_ROUTE),
        // Not a script function: other modules find it with find_export("bind_uac").
        api!("bind_uac", api::bind_uac, 1),
    ];
}

table! {
    static PARAMS: [Param] = [
        param!("rr_from_store_param", PARAM_STR, params::RR_FROM_PARAM),
        param!("rr_to_store_param", PARAM_STR, params::RR_TO_PARAM),
        param!("restore_mode", PARAM_STRING, params::RESTORE_MODE),
        param!("restore_dlg", PARAM_INT, params::RESTORE_DLG),
        param!("restore_passwd", PARAM_STR, params::RESTORE_PASSWD),
        param!("restore_from_avp", PARAM_STR, params::RESTORE_FROM_AVP),
        param!("restore_to_avp", PARAM_STR, params::RESTORE_TO_AVP),
        param!("panic_probe", PARAM_INT, params::PANIC_PROBE),
        param!("event_callback", PARAM_STR, params::EVENT_CALLBACK),
        param!("default_socket", PARAM_STR, params::DEFAULT_SOCKET),
        param!("credential", PARAM_STRING | PARAM_USE_FUNC, auth::credential_param),
        param!("auth_realm_avp", PARAM_STR, params::AUTH_REALM_AVP),
        param!("auth_username_avp", PARAM_STR, params::AUTH_USERNAME_AVP),
        param!("auth_password_avp", PARAM_STR, params::AUTH_PASSWORD_AVP),
        param!("reg_db_url", PARAM_STR, registration::REG_DB_URL),
        param!("reg_db_table", PARAM_STR, registration::REG_DB_TABLE),
        param!("reg_contact_addr", PARAM_STR, registration::REG_CONTACT_ADDR),
        param!("reg_timer_interval", PARAM_INT, registration::REG_TIMER_INTERVAL),
        param!("reg_retry_interval", PARAM_INT, registration::REG_RETRY_INTERVAL),
        param!("reg_keep_callid", PARAM_INT, registration::REG_KEEP_CALLID),
        param!("reg_random_delay", PARAM_INT, registration::REG_RANDOM_DELAY),
        param!("reg_active", PARAM_INT, registration::REG_ACTIVE),
        param!("reg_gc_interval", PARAM_INT, registration::REG_GC_INTERVAL),
        param!("reg_hash_size", PARAM_INT, registration::REG_HASH_SIZE),
        param!("reg_use_domain", PARAM_INT, registration::REG_USE_DOMAIN),
        param!("reg_refresh_percent", PARAM_INT, registration::REG_REFRESH_PERCENT),
        param!("reload_delta", PARAM_INT, registration::RELOAD_DELTA),
    ];
}

table! {
    /// $uac_req(key).
    static PVS: [pv_export_t] = [
        pv_export_t {
            name: kstr(b"uac_req\0"),
            type_: ffi::_pv_type_PVT_OTHER,
            getf: Some(send::pv_get),
            setf: Some(send::pv_set),
            parse_name: Some(send::pv_parse_name),
            parse_index: None,
            init_param: None,
            iparam: 0,
        },
    ];
}

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "kamailio-uac", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(module_exports {
    name: cstr(b"uac\0").cast_mut(),
    dlflags: 0, // DEFAULT_DLFLAGS
    cmds: CMDS.as_ptr() as *mut cmd_export_t,
    params: PARAMS.as_ptr() as *mut param_export_t,
    rpc_methods: null_mut(),
    pv_items: PVS.as_ptr() as *mut pv_export_t,
    response_f: None,
    init_mod_f: Some(mod_init),
    init_child_f: Some(child_init),
    destroy_mod_f: Some(mod_destroy),
});

table! {
    static KEMI: [sr_kemi_t] = [
        kemi!("uac", "uac_replace_from_uri", ki_replace_from_uri, [STR]),
        kemi!("uac", "uac_replace_from", ki_replace_from, [STR, STR]),
        kemi!("uac", "uac_restore_from", ki_restore_from, []),
        kemi!("uac", "uac_replace_to_uri", ki_replace_to_uri, [STR]),
        kemi!("uac", "uac_replace_to", ki_replace_to, [STR, STR]),
        kemi!("uac", "uac_restore_to", ki_restore_to, []),
        kemi!("uac", "uac_auth", ki_uac_auth, []),
        kemi!("uac", "uac_req_send", send::ki_uac_req_send, []),
        kemi!("uac", "uac_auth_mode", ki_uac_auth_mode, [INT]),
        kemi!("uac", "uac_reg_lookup", reg_cmds::ki_lookup, [STR, STR]),
        kemi!("uac", "uac_reg_lookup_uri", reg_cmds::ki_lookup_uri, [STR, STR]),
        kemi!("uac", "uac_reg_status", reg_cmds::ki_status, [STR]),
        kemi!("uac", "uac_reg_request_to", reg_cmds::ki_request_to, [STR, INT]),
        kemi!("uac", "uac_reg_enable", reg_cmds::ki_enable, [STR, STR]),
        kemi!("uac", "uac_reg_disable", reg_cmds::ki_disable, [STR, STR]),
        kemi!("uac", "uac_reg_refresh", reg_cmds::ki_refresh, [STR]),
    ];
}

/// Called by the core right after dlopen(), before anything else of the
/// module: installs the logger and registers the KEMI functions.
///
/// # Safety
/// Called by the core only, once, with its own arguments (unused here).
#[cfg_attr(uac_export = "kamailio-uac", export_name = "mod_register")]
pub unsafe extern "C" fn mod_register(
    _path: *mut c_char,
    _dlflags: *mut c_int,
    _p1: *mut c_void,
    _p2: *mut c_void,
) -> c_int {
    // SAFETY: KEMI is a static table ended by its END entry.
    unsafe { exports::register(KEMI.as_ptr().cast()) }
}
