//! The `auth` module as Kamailio 5.6.3 sees it: the `exports` table (same
//! functions, arities, routes, parameters), the KEMI exports, the
//! `bind_auth_s` C API and mod_init. Every entry point is guarded against
//! panics. The tables are exported under the C names only in the build of
//! the `kamailio-auth` feature alone (see `src/kamailio/mod.rs`).

pub mod api;
pub mod params;
pub mod server;
pub mod state;

use crate::err;
use crate::exports::{cstr, param, table, Param, Table};
use crate::kamailio::exports::{self, api, cmd, kemi, Cmd, PARAM_INT, PARAM_STR, PARAM_STRING};
use crate::kamailio::host::digest::{self as hd, AvpIdent};
use crate::kamailio::host::ffi::{
    self, cmd_export_t, fixup_spve_null, module_exports, param_export_t, sip_msg, sr_kemi_t, str_,
    FAILURE_ROUTE, ONREPLY_ROUTE, REQUEST_ROUTE,
};
use crate::kamailio::host::guard::{guarded, install_panic_hook};
use crate::kamailio::host::str_bytes;
use once_cell::sync::OnceCell;
use server::AUTH_ERROR;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

static CHALLENGE_AVP: OnceCell<AvpIdent> = OnceCell::new();

/// The AVP challenge_attr names (parsed in mod_init).
pub fn challenge_avp() -> &'static AvpIdent {
    CHALLENGE_AVP
        .get()
        .expect("auth challenge_attr read before mod_init")
}

/// A string parameter fixed up by fixup_var_*_12 (may hold variables).
///
/// # Safety
/// `p` must be the fparam the fixup made for this parameter.
unsafe fn sparam(msg: *mut sip_msg, p: *mut c_char) -> Option<Vec<u8>> {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: get_str_fparam evaluates the fparam for this message.
    unsafe {
        if p.is_null() || ffi::get_str_fparam(&mut s, msg, p as *mut ffi::fparam_t) < 0 {
            return None;
        }
        Some(str_bytes(&s).to_vec())
    }
}

/// # Safety
/// As [`sparam`], for an int parameter.
unsafe fn iparam(msg: *mut sip_msg, p: *mut c_char) -> Option<c_int> {
    let mut v: c_int = 0;
    // SAFETY: get_int_fparam evaluates the fparam for this message.
    unsafe {
        (!p.is_null() && ffi::get_int_fparam(&mut v, msg, p as *mut ffi::fparam_t) >= 0)
            .then_some(v)
    }
}

// ---- script functions ----

unsafe extern "C" fn w_consume_credentials(
    m: *mut sip_msg,
    _: *mut c_char,
    _: *mut c_char,
) -> c_int {
    guarded("consume_credentials", -1, || server::consume_credentials(m))
}

unsafe extern "C" fn w_has_credentials(m: *mut sip_msg, r: *mut c_char, _: *mut c_char) -> c_int {
    guarded("has_credentials", -1, || {
        // SAFETY: r is our fixed-up parameter.
        let Some(realm) = (unsafe { sparam(m, r) }) else {
            err!("failed to get realm value");
            return -1;
        };
        server::has_credentials(m, &realm)
    })
}

/// www_challenge / proxy_challenge / auth_challenge (hftype 0: by method).
fn challenge_entry(
    what: &str,
    m: *mut sip_msg,
    r: *mut c_char,
    f: *mut c_char,
    hftype: i32,
) -> c_int {
    guarded(what, -1, || {
        if hftype == 0 && server_skip_ack_cancel(m) {
            return 1;
        }
        // SAFETY: r and f are our fixed-up parameters.
        let (realm, flags) = unsafe { (sparam(m, r), iparam(m, f)) };
        let Some(realm) = realm.filter(|r| !r.is_empty()) else {
            err!("invalid realm value - empty content");
            return server::challenge_param_error(m, flags.unwrap_or(0));
        };
        let Some(flags) = flags else {
            err!("invalid flags value");
            return server::challenge_param_error(m, 0);
        };
        let t = if hftype != 0 {
            hftype
        } else if hd::method(m) == hd::METHOD_REGISTER {
            hd::HDR_AUTHORIZATION
        } else {
            hd::HDR_PROXYAUTH
        };
        server::challenge(m, &realm, flags, t, None)
    })
}

fn server_skip_ack_cancel(m: *mut sip_msg) -> bool {
    let me = hd::method(m);
    me == hd::METHOD_ACK || me == hd::METHOD_CANCEL
}

unsafe extern "C" fn w_www_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry("www_challenge", m, r, f, hd::HDR_AUTHORIZATION)
}
unsafe extern "C" fn w_proxy_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry("proxy_challenge", m, r, f, hd::HDR_PROXYAUTH)
}
unsafe extern "C" fn w_auth_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry("auth_challenge", m, r, f, 0)
}

/// pv_{www,proxy}_authenticate with 3 params, and with a method (4).
fn pv_auth_entry(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    method: *mut c_char,
    hftype: i32,
) -> c_int {
    guarded("pv_authenticate", AUTH_ERROR, || {
        // SAFETY: our fixed-up parameters.
        let (realm, pw, flags) = unsafe { (sparam(m, r), sparam(m, p), iparam(m, f)) };
        let Some(realm) = realm.filter(|v| !v.is_empty()) else {
            err!("invalid realm value - empty content");
            return AUTH_ERROR;
        };
        let Some(pw) = pw.filter(|v| !v.is_empty()) else {
            err!("invalid password value - empty content");
            return AUTH_ERROR;
        };
        let Some(flags) = flags else {
            err!("invalid flags value");
            return AUTH_ERROR;
        };
        let meth = if method.is_null() {
            hd::method_str(m)
        } else {
            // SAFETY: as above.
            match unsafe { sparam(m, method) }.filter(|v| !v.is_empty()) {
                Some(v) => v,
                None => {
                    err!("invalid method value - empty content");
                    return AUTH_ERROR;
                }
            }
        };
        server::pv_authenticate(m, &realm, &pw, flags, hftype, &meth)
    })
}

unsafe extern "C" fn w_pv_www(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, null_mut(), hd::HDR_AUTHORIZATION)
}
unsafe extern "C" fn w_pv_www4(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    me: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, me, hd::HDR_AUTHORIZATION)
}
unsafe extern "C" fn w_pv_proxy(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, null_mut(), hd::HDR_PROXYAUTH)
}

unsafe extern "C" fn w_pv_auth_check(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    c: *mut c_char,
) -> c_int {
    guarded("pv_auth_check", AUTH_ERROR, || {
        if m.is_null() {
            return AUTH_ERROR;
        }
        if server_skip_ack_cancel(m) {
            return 1;
        }
        // SAFETY: our fixed-up parameters.
        let (realm, pw, flags, checks) =
            unsafe { (sparam(m, r), sparam(m, p), iparam(m, f), iparam(m, c)) };
        let (Some(realm), Some(pw), Some(flags), Some(checks)) = (
            realm.filter(|v| !v.is_empty()),
            pw.filter(|v| !v.is_empty()),
            flags,
            checks,
        ) else {
            err!("invalid parameters (empty realm or password, or bad flags/checks)");
            return AUTH_ERROR;
        };
        server::pv_auth_check(m, &realm, &pw, flags, checks)
    })
}

unsafe extern "C" fn w_auth_get_www_authenticate(
    m: *mut sip_msg,
    r: *mut c_char,
    f: *mut c_char,
    dst: *mut c_char,
) -> c_int {
    guarded("auth_get_www_authenticate", -1, || {
        // SAFETY: our fixed-up parameters.
        let (realm, flags) = unsafe { (sparam(m, r), iparam(m, f)) };
        let Some(realm) = realm.filter(|v| !v.is_empty()) else {
            err!("invalid realm value - empty content");
            return -1;
        };
        let Some(flags) = flags else {
            err!("invalid flags value");
            return -1;
        };
        let mut hf = Vec::new();
        // as the stock module the nonce is made without the message (no
        // auth_checks); beyond it, stale credentials in the request give
        // stale=true without flag 16
        let flags = if !m.is_null() && server::sent_stale(m, &realm, hd::HDR_AUTHORIZATION) {
            flags | 16
        } else {
            flags
        };
        let ret = server::challenge(
            null_mut(),
            &realm,
            flags,
            hd::HDR_AUTHORIZATION,
            Some(&mut hf),
        );
        if ret < 0 {
            return ret;
        }
        // SAFETY: dst is the writable pv_spec_t our fixup checked.
        if !unsafe { hd::pv_set(dst as *mut ffi::pv_spec_t, m, &hf) } {
            err!("failed to set the result variable");
        }
        ret
    })
}

/// Test aid (not in the stock module): panics inside the guard when
/// `modparam("auth", "panic_probe", 1)`, to show a panic never reaches C.
unsafe extern "C" fn w_panic_probe(_m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    guarded("auth_panic_probe", -1, || {
        if params::config().panic_probe {
            panic!("panic probe triggered from the script");
        }
        err!("auth_panic_probe: disabled (modparam panic_probe is 0)");
        -1
    })
}

// ---- fixups: refuse empty parameters, then the core's fixups ----

/// # Safety
/// `param` points at the parameter's C string (before fixup).
unsafe fn empty_param(param: *mut *mut c_void, n: c_int) -> bool {
    // SAFETY: caller contract.
    let empty = unsafe { (*param).is_null() || *(*param as *const c_char) == 0 };
    if empty {
        err!("empty parameter {n} not allowed");
    }
    empty
}

unsafe extern "C" fn fixup_auth_challenge(param: *mut *mut c_void, n: c_int) -> c_int {
    // SAFETY: the core passes the address of parameter n's value (its C
    // string before fixup); the core's fixups replace it in place.
    guarded("fixup", -1, || unsafe {
        if empty_param(param, n) {
            return -1;
        }
        match n {
            1 => ffi::fixup_var_str_12(param, 1),
            2 => ffi::fixup_var_int_12(param, 1),
            _ => 0,
        }
    })
}

unsafe extern "C" fn fixup_pv_auth(param: *mut *mut c_void, n: c_int) -> c_int {
    // SAFETY: the core passes the address of parameter n's value (its C
    // string before fixup); the core's fixups replace it in place.
    guarded("fixup", -1, || unsafe {
        if empty_param(param, n) {
            return -1;
        }
        match n {
            1 | 2 | 4 => ffi::fixup_var_pve_str_12(param, 1),
            3 => ffi::fixup_var_int_12(param, 1),
            _ => 0,
        }
    })
}

unsafe extern "C" fn fixup_pv_auth_check(param: *mut *mut c_void, n: c_int) -> c_int {
    // SAFETY: the core passes the address of parameter n's value (its C
    // string before fixup); the core's fixups replace it in place.
    guarded("fixup", -1, || unsafe {
        if empty_param(param, n) {
            return -1;
        }
        match n {
            1 | 2 => ffi::fixup_var_pve_str_12(param, 1),
            3 | 4 => ffi::fixup_var_int_12(param, 1),
            _ => 0,
        }
    })
}

unsafe extern "C" fn fixup_get_www_authenticate(param: *mut *mut c_void, n: c_int) -> c_int {
    // SAFETY: the core passes the address of parameter n's value (its C
    // string before fixup); the core's fixups replace it in place.
    guarded("fixup", -1, || unsafe {
        if empty_param(param, n) {
            return -1;
        }
        match n {
            1 => ffi::fixup_var_str_12(param, 1),
            2 => ffi::fixup_var_int_12(param, 1),
            3 => {
                if ffi::fixup_pvar_null(param, 1) != 0 {
                    err!("failed to fixup result pvar");
                    return -1;
                }
                if ffi::uacg_pv_writable(*param as *mut ffi::pv_spec_t) == 0 {
                    err!("result pvar is not writeble");
                    return -1;
                }
                0
            }
            _ => 0,
        }
    })
}

// ---- KEMI: KSR.auth.* ----

/// # Safety
/// `s` is NULL or a str valid for this call.
unsafe fn kstr_val(s: *mut str_) -> Vec<u8> {
    if s.is_null() {
        Vec::new()
    } else {
        // SAFETY: caller contract: a valid str.
        unsafe { str_bytes(&*s) }.to_vec()
    }
}

unsafe extern "C" fn ki_consume_credentials(m: *mut sip_msg) -> c_int {
    guarded("consume_credentials", -1, || {
        if m.is_null() {
            return -1;
        }
        server::consume_credentials(m)
    })
}
unsafe extern "C" fn ki_auth_challenge(m: *mut sip_msg, r: *mut str_, flags: c_int) -> c_int {
    guarded("auth_challenge", -1, || {
        if m.is_null() {
            return -1;
        }
        // SAFETY: KEMI passes valid strs.
        let realm = unsafe { kstr_val(r) };
        let t = if hd::method(m) == hd::METHOD_REGISTER {
            hd::HDR_AUTHORIZATION
        } else {
            hd::HDR_PROXYAUTH
        };
        server::challenge(m, &realm, flags, t, None)
    })
}
unsafe extern "C" fn ki_pv_auth_check(
    m: *mut sip_msg,
    r: *mut str_,
    p: *mut str_,
    flags: c_int,
    checks: c_int,
) -> c_int {
    guarded("pv_auth_check", AUTH_ERROR, || {
        if m.is_null() {
            return AUTH_ERROR;
        }
        // SAFETY: KEMI passes valid strs.
        let (realm, pw) = unsafe { (kstr_val(r), kstr_val(p)) };
        server::pv_auth_check(m, &realm, &pw, flags, checks)
    })
}
unsafe extern "C" fn ki_has_credentials(m: *mut sip_msg, r: *mut str_) -> c_int {
    guarded("has_credentials", -1, || {
        if m.is_null() {
            return -1;
        }
        // SAFETY: KEMI passes valid strs.
        let realm = unsafe { kstr_val(r) };
        server::has_credentials(m, &realm)
    })
}

// ---- start-up ----

unsafe extern "C" fn mod_init() -> c_int {
    install_panic_hook();
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

fn init() -> Result<(), String> {
    // SAFETY: binds the sl module's API through the glue.
    if unsafe { ffi::uacg_sl_load() } != 0 {
        return Err("cannot bind to SL API".into());
    }
    let cfg = params::init()?;
    let id = AvpIdent::parse(&cfg.challenge_attr[1..]).map_err(|e| {
        format!("Error while parsing value of challenge_attr module parameter: {e}")
    })?;
    let _ = CHALLENGE_AVP.set(id);
    api::set_api_qop();
    state::init(cfg)
}

unsafe extern "C" fn mod_destroy() {}

// ---- export tables ----

const RFO: u32 = REQUEST_ROUTE | FAILURE_ROUTE | ONREPLY_ROUTE;

table! {
    static CMDS: [Cmd] = [
        cmd!("consume_credentials", w_consume_credentials, 0, 0, 0, REQUEST_ROUTE),
        cmd!("www_challenge", w_www_challenge, 2, fixup_auth_challenge, 0, RFO),
        cmd!("proxy_challenge", w_proxy_challenge, 2, fixup_auth_challenge, 0, RFO),
        cmd!("auth_challenge", w_auth_challenge, 2, fixup_auth_challenge, 0, RFO),
        cmd!("pv_www_authorize", w_pv_www, 3, fixup_pv_auth, 0, REQUEST_ROUTE),
        cmd!("pv_www_authenticate", w_pv_www, 3, fixup_pv_auth, 0, REQUEST_ROUTE),
        cmd!("pv_www_authenticate", w_pv_www4, 4, fixup_pv_auth, 0, REQUEST_ROUTE),
        cmd!("pv_proxy_authorize", w_pv_proxy, 3, fixup_pv_auth, 0, REQUEST_ROUTE),
        cmd!("pv_proxy_authenticate", w_pv_proxy, 3, fixup_pv_auth, 0, REQUEST_ROUTE),
        cmd!("auth_get_www_authenticate", w_auth_get_www_authenticate, 3,
            fixup_get_www_authenticate, 0, REQUEST_ROUTE),
        cmd!("has_credentials", w_has_credentials, 1, fixup_spve_null, 0, REQUEST_ROUTE),
        cmd!("pv_auth_check", w_pv_auth_check, 4, fixup_pv_auth_check, 0, REQUEST_ROUTE),
        cmd!("auth_panic_probe", w_panic_probe, 0, 0, 0, REQUEST_ROUTE),
        // Not a script function: auth_db & co. find it with find_export("bind_auth_s").
        api!("bind_auth_s", api::bind_auth_s, 0),
    ];
}

table! {
    static PARAMS: [Param] = [
        param!("secret", PARAM_STRING, params::SECRET),
        param!("nonce_expire", PARAM_INT, params::NONCE_EXPIRE),
        param!("nonce_auth_max_drift", PARAM_INT, params::NONCE_AUTH_MAX_DRIFT),
        param!("protect_contacts", PARAM_INT, params::PROTECT_CONTACTS),
        param!("challenge_attr", PARAM_STR, params::CHALLENGE_ATTR),
        param!("proxy_challenge_header", PARAM_STR, params::PROXY_CHALLENGE_HEADER),
        param!("www_challenge_header", PARAM_STR, params::WWW_CHALLENGE_HEADER),
        param!("qop", PARAM_STR, params::QOP),
        param!("auth_checks_register", PARAM_INT, params::AUTH_CHECKS_REGISTER),
        param!("auth_checks_no_dlg", PARAM_INT, params::AUTH_CHECKS_NO_DLG),
        param!("auth_checks_in_dlg", PARAM_INT, params::AUTH_CHECKS_IN_DLG),
        param!("nonce_count", PARAM_INT, params::NONCE_COUNT),
        param!("nc_array_size", PARAM_INT, params::NC_ARRAY_SIZE),
        param!("nc_array_order", PARAM_INT, params::NC_ARRAY_ORDER),
        param!("one_time_nonce", PARAM_INT, params::ONE_TIME_NONCE),
        param!("otn_in_flight_no", PARAM_INT, params::OTN_IN_FLIGHT_NO),
        param!("otn_in_flight_order", PARAM_INT, params::OTN_IN_FLIGHT_ORDER),
        param!("nid_pool_no", PARAM_INT, params::NID_POOL_NO),
        param!("force_stateless_reply", PARAM_INT, params::FORCE_STATELESS_REPLY),
        param!("realm_prefix", PARAM_STRING, params::REALM_PREFIX),
        param!("use_domain", PARAM_INT, params::USE_DOMAIN),
        param!("algorithm", PARAM_STR, params::ALGORITHM),
        param!("add_authinfo_hdr", PARAM_INT, params::ADD_AUTHINFO_HDR),
        param!("algorithms", PARAM_STR, params::ALGORITHMS),
        param!("panic_probe", PARAM_INT, params::PANIC_PROBE),
    ];
}

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "kamailio-auth", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(module_exports {
    name: cstr(b"auth\0").cast_mut(),
    dlflags: 0, // DEFAULT_DLFLAGS
    cmds: CMDS.as_ptr() as *mut cmd_export_t,
    params: PARAMS.as_ptr() as *mut param_export_t,
    rpc_methods: null_mut(),
    pv_items: null_mut(),
    response_f: None,
    init_mod_f: Some(mod_init),
    init_child_f: None,
    destroy_mod_f: Some(mod_destroy),
});

table! {
    static KEMI: [sr_kemi_t] = [
        kemi!("auth", "consume_credentials", ki_consume_credentials, []),
        kemi!("auth", "auth_challenge", ki_auth_challenge, [STR, INT]),
        kemi!("auth", "pv_auth_check", ki_pv_auth_check, [STR, STR, INT, INT]),
        kemi!("auth", "has_credentials", ki_has_credentials, [STR]),
    ];
}

/// Called by the core right after dlopen(), before anything else of the
/// module: installs the logger and registers the KEMI functions.
///
/// # Safety
/// Called by the core only, once, with its own arguments (unused here).
#[cfg_attr(uac_export = "kamailio-auth", export_name = "mod_register")]
pub unsafe extern "C" fn mod_register(
    _path: *mut c_char,
    _dlflags: *mut c_int,
    _p1: *mut c_void,
    _p2: *mut c_void,
) -> c_int {
    // SAFETY: KEMI is a static table ended by its END entry.
    unsafe { exports::register(KEMI.as_ptr().cast()) }
}
