//! The `auth` module as Kamailio 5.6.3 sees it: the `exports` table (same
//! functions, arities, routes, parameters), the KEMI exports, the
//! `bind_auth_s` C API and mod_init. Every entry point is guarded against
//! panics. The tables are exported under the C names only in the
//! `kamailio-auth` build (see `src/kamailio/mod.rs`).

pub mod api;
pub mod params;
pub mod server;
pub mod state;

use crate::err;
use crate::kamailio::exports::{cstr, kstr, param_entry as param, CmdFn, Fixup, KI, KN, KS};
use crate::kamailio::host::digest::{self as hd, AvpIdent};
use crate::kamailio::host::ffi::{
    self, cmd_export_t, module_exports, param_export_t, sip_msg, sr_kemi_t, str_,
};
use crate::kamailio::host::guard::{guarded, install_panic_hook};
use crate::kamailio::host::str_bytes;
use once_cell::sync::OnceCell;
use server::AUTH_ERROR;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

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
    // SAFETY: caller contract.
    if s.is_null() {
        Vec::new()
    } else {
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

type Cmd3 = unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char, *mut c_char) -> c_int;
type Cmd4 =
    unsafe extern "C" fn(*mut sip_msg, *mut c_char, *mut c_char, *mut c_char, *mut c_char) -> c_int;

const fn cmd(
    name: &'static [u8],
    f: CmdFn,
    n: c_int,
    fix: Option<Fixup>,
    flags: u32,
) -> cmd_export_t {
    cmd_export_t {
        name: cstr(name),
        function: Some(f),
        param_no: n,
        fixup: fix,
        free_fixup: None,
        flags,
    }
}

/// The core keeps every script function as cmd_function and calls it with
/// as many parameters as the entry's param_no says.
const fn c3(f: Cmd3) -> CmdFn {
    // SAFETY: same ABI for the leading arguments; the core passes param_no args.
    unsafe { std::mem::transmute::<Cmd3, CmdFn>(f) }
}
const fn c4(f: Cmd4) -> CmdFn {
    // SAFETY: as above.
    unsafe { std::mem::transmute::<Cmd4, CmdFn>(f) }
}

const RFO: u32 = ffi::REQUEST_ROUTE | ffi::FAILURE_ROUTE | ffi::ONREPLY_ROUTE;
const RQ: u32 = ffi::REQUEST_ROUTE;
const CH: Option<Fixup> = Some(fixup_auth_challenge);
const PVA: Option<Fixup> = Some(fixup_pv_auth);

static mut CMDS: [cmd_export_t; 15] = [
    cmd(b"consume_credentials\0", w_consume_credentials, 0, None, RQ),
    cmd(b"www_challenge\0", w_www_challenge, 2, CH, RFO),
    cmd(b"proxy_challenge\0", w_proxy_challenge, 2, CH, RFO),
    cmd(b"auth_challenge\0", w_auth_challenge, 2, CH, RFO),
    cmd(b"pv_www_authorize\0", c3(w_pv_www), 3, PVA, RQ),
    cmd(b"pv_www_authenticate\0", c3(w_pv_www), 3, PVA, RQ),
    cmd(b"pv_www_authenticate\0", c4(w_pv_www4), 4, PVA, RQ),
    cmd(b"pv_proxy_authorize\0", c3(w_pv_proxy), 3, PVA, RQ),
    cmd(b"pv_proxy_authenticate\0", c3(w_pv_proxy), 3, PVA, RQ),
    cmd(
        b"auth_get_www_authenticate\0",
        c3(w_auth_get_www_authenticate),
        3,
        Some(fixup_get_www_authenticate),
        RQ,
    ),
    cmd(
        b"has_credentials\0",
        w_has_credentials,
        1,
        Some(ffi::fixup_spve_null),
        RQ,
    ),
    cmd(
        b"pv_auth_check\0",
        c4(w_pv_auth_check),
        4,
        Some(fixup_pv_auth_check),
        RQ,
    ),
    cmd(b"auth_panic_probe\0", w_panic_probe, 0, None, RQ),
    // Not a script function: auth_db & co. find it with find_export("bind_auth_s").
    cmd(
        b"bind_auth_s\0",
        // SAFETY: the core stores it untyped; callers cast it back to bind_auth_s_t.
        unsafe {
            std::mem::transmute::<unsafe extern "C" fn(*mut ffi::auth_api_s) -> c_int, CmdFn>(
                api::bind_auth_s,
            )
        },
        0,
        None,
        0,
    ),
    cmd_export_t {
        name: null_mut(),
        function: None,
        param_no: 0,
        fixup: None,
        free_fixup: None,
        flags: 0,
    },
];

static mut PARAMS: [param_export_t; 26] = {
    use params::*;
    const S: u32 = ffi::PARAM_STRING;
    const T: u32 = ffi::PARAM_STR;
    const I: u32 = ffi::PARAM_INT;
    [
        param(b"secret\0", S, SECRET.as_ptr() as *mut c_void),
        param(b"nonce_expire\0", I, NONCE_EXPIRE.as_ptr() as *mut c_void),
        param(
            b"nonce_auth_max_drift\0",
            I,
            NONCE_AUTH_MAX_DRIFT.as_ptr() as *mut c_void,
        ),
        param(
            b"protect_contacts\0",
            I,
            PROTECT_CONTACTS.as_ptr() as *mut c_void,
        ),
        param(
            b"challenge_attr\0",
            T,
            CHALLENGE_ATTR.as_ptr() as *mut c_void,
        ),
        param(
            b"proxy_challenge_header\0",
            T,
            PROXY_CHALLENGE_HEADER.as_ptr() as *mut c_void,
        ),
        param(
            b"www_challenge_header\0",
            T,
            WWW_CHALLENGE_HEADER.as_ptr() as *mut c_void,
        ),
        param(b"qop\0", T, QOP.as_ptr() as *mut c_void),
        param(
            b"auth_checks_register\0",
            I,
            AUTH_CHECKS_REGISTER.as_ptr() as *mut c_void,
        ),
        param(
            b"auth_checks_no_dlg\0",
            I,
            AUTH_CHECKS_NO_DLG.as_ptr() as *mut c_void,
        ),
        param(
            b"auth_checks_in_dlg\0",
            I,
            AUTH_CHECKS_IN_DLG.as_ptr() as *mut c_void,
        ),
        param(b"nonce_count\0", I, NONCE_COUNT.as_ptr() as *mut c_void),
        param(b"nc_array_size\0", I, NC_ARRAY_SIZE.as_ptr() as *mut c_void),
        param(
            b"nc_array_order\0",
            I,
            NC_ARRAY_ORDER.as_ptr() as *mut c_void,
        ),
        param(
            b"one_time_nonce\0",
            I,
            ONE_TIME_NONCE.as_ptr() as *mut c_void,
        ),
        param(
            b"otn_in_flight_no\0",
            I,
            OTN_IN_FLIGHT_NO.as_ptr() as *mut c_void,
        ),
        param(
            b"otn_in_flight_order\0",
            I,
            OTN_IN_FLIGHT_ORDER.as_ptr() as *mut c_void,
        ),
        param(b"nid_pool_no\0", I, NID_POOL_NO.as_ptr() as *mut c_void),
        param(
            b"force_stateless_reply\0",
            I,
            FORCE_STATELESS_REPLY.as_ptr() as *mut c_void,
        ),
        param(b"realm_prefix\0", S, REALM_PREFIX.as_ptr() as *mut c_void),
        param(b"use_domain\0", I, USE_DOMAIN.as_ptr() as *mut c_void),
        param(b"algorithm\0", T, ALGORITHM.as_ptr() as *mut c_void),
        param(
            b"add_authinfo_hdr\0",
            I,
            ADD_AUTHINFO_HDR.as_ptr() as *mut c_void,
        ),
        param(b"algorithms\0", T, ALGORITHMS.as_ptr() as *mut c_void),
        param(b"panic_probe\0", I, PANIC_PROBE.as_ptr() as *mut c_void),
        param_export_t {
            name: null_mut(),
            type_: 0,
            param_pointer: null_mut(),
        },
    ]
};

/// The table the core looks up by name after dlopen().
#[cfg_attr(feature = "kamailio-auth", export_name = "exports")]
pub static mut EXPORTS: module_exports = module_exports {
    name: cstr(b"auth\0"),
    dlflags: 0,
    cmds: addr_of_mut!(CMDS) as *mut cmd_export_t,
    params: addr_of_mut!(PARAMS) as *mut param_export_t,
    rpc_methods: null_mut(),
    pv_items: null_mut(),
    response_f: None,
    init_mod_f: Some(mod_init),
    init_child_f: None,
    destroy_mod_f: Some(mod_destroy),
};

const fn kemi(name: &'static [u8], f: *mut c_void, p: [i32; 4]) -> sr_kemi_t {
    sr_kemi_t {
        mname: kstr(b"auth\0"),
        fname: kstr(name),
        rtype: ffi::SR_KEMIP_INT as i32,
        func: f,
        ptypes: [p[0], p[1], p[2], p[3], KN, KN],
    }
}

static mut KEMI: [sr_kemi_t; 5] = [
    kemi(
        b"consume_credentials\0",
        ki_consume_credentials as *mut c_void,
        [KN, KN, KN, KN],
    ),
    kemi(
        b"auth_challenge\0",
        ki_auth_challenge as *mut c_void,
        [KS, KI, KN, KN],
    ),
    kemi(
        b"pv_auth_check\0",
        ki_pv_auth_check as *mut c_void,
        [KS, KS, KI, KI],
    ),
    kemi(
        b"has_credentials\0",
        ki_has_credentials as *mut c_void,
        [KS, KN, KN, KN],
    ),
    sr_kemi_t {
        mname: str_ {
            s: null_mut(),
            len: 0,
        },
        fname: str_ {
            s: null_mut(),
            len: 0,
        },
        rtype: 0,
        func: null_mut(),
        ptypes: [0; 6],
    },
];

/// Called by the core right after dlopen(), before anything else of the
/// module: installs the logger and registers the KEMI functions.
///
/// # Safety
/// Called by the core only, once, with its own arguments (unused here).
#[cfg_attr(feature = "kamailio-auth", export_name = "mod_register")]
pub unsafe extern "C" fn mod_register(
    _path: *mut c_char,
    _dlflags: *mut c_int,
    _p1: *mut c_void,
    _p2: *mut c_void,
) -> c_int {
    // First of all: the err!/info!... lines print through Kamailio's logger.
    crate::kamailio::host::log::install();
    guarded("mod_register", -1, || {
        // SAFETY: the table is static and terminated; the core keeps the pointer.
        unsafe { ffi::sr_kemi_modules_add(addr_of_mut!(KEMI) as *mut sr_kemi_t) }
    })
}
