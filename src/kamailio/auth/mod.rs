//! The `auth` module as Kamailio 5.6.3 sees it: the `exports` table (same
//! functions, arities, routes, parameters), the KEMI exports, the
//! `bind_auth_s` C API and mod_init. What the functions do is the
//! auth-server flow (`crate::flows::auth_server`) with Kamailio 5.6.3's
//! nonces; the entry points here parse arguments, call it and give its
//! results Kamailio's numbers. Every entry point is guarded against panics.
//! The tables are exported under the C names only in the build of the
//! `kamailio-auth` feature alone (see `src/kamailio/mod.rs`).

pub mod api;
pub mod params;

use crate::digest::challenge::Algorithm;
use crate::err;
use crate::exports::{cstr, param, table, Param, Table};
use crate::flows::auth_server::nonce::KamailioNonces;
use crate::flows::auth_server::{AuthResult, AuthServer, Policy, PvAuth, Verdict, PV_HA1};
use crate::kamailio::exports::{self, api, cmd, kemi, Cmd, PARAM_INT, PARAM_STR, PARAM_STRING};
use crate::kamailio::host::digest::{self as hd, AvpIdent};
use crate::kamailio::host::ffi::{
    self, cmd_export_t, fixup_spve_null, module_exports, param_export_t, sip_msg, sr_kemi_t, str_,
    FAILURE_ROUTE, ONREPLY_ROUTE, REQUEST_ROUTE,
};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::proc::KamProcess;
use crate::kamailio::host::shm::ShmAlloc;
use crate::kamailio::host::str_bytes;
use crate::ports::credentials::{AuthRequest, CredKind};
use crate::ports::message::SipMessage;
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

/// The auth server of this module: Kamailio 5.6.3's nonces, their state in
/// Kamailio's shared memory.
pub type Server = AuthServer<KamailioNonces<KamProcess>>;

/// The servers of this module, made in mod_init over one nonce state: [0]
/// as configured, then one per algorithm `auth_algorithm()` can choose.
static SERVERS: OnceCell<Vec<Server>> = OnceCell::new();
static CHALLENGE_AVP: OnceCell<AvpIdent> = OnceCell::new();

/// What `auth_algorithm()` takes (Kamailio 6.x: these names, exactly), in
/// the order of `SERVERS[1..]`.
const SWITCHABLE: [Algorithm; 4] = [
    Algorithm::Md5,
    Algorithm::Sha256,
    Algorithm::Sha512_256,
    Algorithm::Sha512,
];

thread_local! {
    /// This process's server (`auth_algorithm()` switches it, for every
    /// request the worker handles afterwards, as the stock module's globals).
    static CURRENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The server of this process (made in mod_init).
pub fn server() -> &'static Server {
    try_server().expect("auth server used before mod_init")
}

pub fn try_server() -> Option<&'static Server> {
    let all = SERVERS.get()?;
    all.get(CURRENT.get()).or(all.first())
}

/// auth_algorithm(alg): this process challenges and checks with `alg` from
/// now on; 1, or -1 for a name Kamailio 6.x does not take.
fn set_algorithm(alg: &[u8]) -> c_int {
    let Some(i) = SWITCHABLE.iter().position(|a| a.name().as_bytes() == alg) else {
        err!("Invalid algorithm provided. Possible values are 'MD5', 'SHA-256', 'SHA-512-256' or 'SHA-512'");
        return -1;
    };
    CURRENT.set(i + 1);
    1
}

/// The AVP challenge_attr names (parsed in mod_init).
fn challenge_avp() -> &'static AvpIdent {
    CHALLENGE_AVP
        .get()
        .expect("auth challenge_attr read before mod_init")
}

// ---- results in Kamailio's numbers ----

/// auth_result_t of the C API (modules/auth/api.h).
pub fn api_code(r: AuthResult) -> c_int {
    match r {
        AuthResult::NonceReused => ffi::auth_result_NONCE_REUSED,
        AuthResult::NoCredentials => ffi::auth_result_NO_CREDENTIALS,
        AuthResult::StaleNonce => ffi::auth_result_STALE_NONCE,
        AuthResult::Error => ffi::auth_result_ERROR,
        AuthResult::NotAuthenticated => ffi::auth_result_NOT_AUTHENTICATED,
        AuthResult::DoAuthentication => ffi::auth_result_DO_AUTHENTICATION,
        AuthResult::Authenticated => ffi::auth_result_AUTHENTICATED,
        AuthResult::BadCredentials => ffi::auth_result_BAD_CREDENTIALS,
    }
}

/// The API's ERROR, for entry points that fail before the flow runs.
pub const API_ERROR: c_int = ffi::auth_result_ERROR;

/// Script return codes (auth_cfg_result_t).
pub const AUTH_ERROR: c_int = -1;

fn script_code(v: Verdict) -> c_int {
    match v {
        Verdict::UserMismatch => -8,
        Verdict::NonceReused => -6,
        Verdict::NoCredentials => -5,
        Verdict::StaleNonce => -4,
        Verdict::InvalidPassword => -2,
        Verdict::Error => AUTH_ERROR,
        Verdict::Ok => 1,
    }
}

/// The challenge header (when built) into the challenge AVP, then the
/// verdict as the script sees it.
pub fn pv_result(r: PvAuth) -> c_int {
    if let Some(hf) = r.challenge {
        if !challenge_avp().add_str(&hf) {
            err!("Error while creating attribute with challenge");
            return AUTH_ERROR;
        }
    }
    script_code(r.verdict)
}

/// A challenge header for the API's build_challenge into the challenge AVP.
pub fn store_challenge(hf: Result<Vec<u8>, String>) -> c_int {
    let ok = match hf {
        Ok(hf) => challenge_avp().add_str(&hf),
        Err(e) => {
            err!("{e}");
            false
        }
    };
    if !ok {
        err!("Error while creating attribute with challenge");
        return -1;
    }
    0
}

/// challenge(): 1 sent, -3 not.
pub fn challenge_code(sent: bool) -> c_int {
    if sent {
        1
    } else {
        -3
    }
}

/// The message of the current call.
///
/// # Safety
/// `m` is NULL or the message the core handed the current call.
unsafe fn msg(m: *mut sip_msg) -> Option<SipMsg> {
    // SAFETY: caller contract.
    unsafe { SipMsg::from_raw(m) }
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

/// consume_credentials(): 1 removed, -1 not.
fn consume(m: &SipMsg) -> c_int {
    if server().consume_credentials(m) {
        1
    } else {
        -1
    }
}

/// has_credentials(realm): 1 or -1.
fn has_credentials(m: &SipMsg, realm: &[u8]) -> c_int {
    if server().has_credentials(m, realm) {
        1
    } else {
        -1
    }
}

// ---- script functions ----

unsafe extern "C" fn w_consume_credentials(
    m: *mut sip_msg,
    _: *mut c_char,
    _: *mut c_char,
) -> c_int {
    guarded("consume_credentials", -1, || {
        // SAFETY: the core's message for this call.
        let Some(msg) = (unsafe { msg(m) }) else {
            return -1;
        };
        consume(&msg)
    })
}

unsafe extern "C" fn w_has_credentials(m: *mut sip_msg, r: *mut c_char, _: *mut c_char) -> c_int {
    guarded("has_credentials", -1, || {
        // SAFETY: r is our fixed-up parameter; m the core's message.
        let (Some(realm), Some(msg)) = (unsafe { (sparam(m, r), msg(m)) }) else {
            err!("failed to get realm value");
            return -1;
        };
        has_credentials(&msg, &realm)
    })
}

/// www_challenge / proxy_challenge / auth_challenge (kind None: by method).
fn challenge_entry(
    what: &str,
    m: *mut sip_msg,
    r: *mut c_char,
    f: *mut c_char,
    kind: Option<CredKind>,
) -> c_int {
    guarded(what, -1, || {
        // SAFETY: the core's message for this call.
        let Some(msg) = (unsafe { msg(m) }) else {
            return -1;
        };
        if kind.is_none() && msg.method_kind().is_ack_or_cancel() {
            return 1;
        }
        // SAFETY: r and f are our fixed-up parameters.
        let (realm, flags) = unsafe { (sparam(m, r), iparam(m, f)) };
        let srv = server();
        let Some(realm) = realm.filter(|r| !r.is_empty()) else {
            err!("invalid realm value - empty content");
            return param_error(srv, &msg, flags.unwrap_or(0));
        };
        let Some(flags) = flags else {
            err!("invalid flags value");
            return param_error(srv, &msg, 0);
        };
        let kind = kind.unwrap_or_else(|| CredKind::for_method(msg.method_kind()));
        challenge_code(srv.challenge(&msg, &realm, flags, kind, None))
    })
}

/// -1 after the 500 (or none with flag 4); -4 when it could not be sent.
fn param_error(srv: &Server, msg: &SipMsg, flags: c_int) -> c_int {
    if srv.param_error_reply(msg, flags) {
        -1
    } else {
        -4
    }
}

unsafe extern "C" fn w_www_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry("www_challenge", m, r, f, Some(CredKind::Authorization))
}
unsafe extern "C" fn w_proxy_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry(
        "proxy_challenge",
        m,
        r,
        f,
        Some(CredKind::ProxyAuthorization),
    )
}
unsafe extern "C" fn w_auth_challenge(m: *mut sip_msg, r: *mut c_char, f: *mut c_char) -> c_int {
    challenge_entry("auth_challenge", m, r, f, None)
}

/// pv_{www,proxy}_authenticate with 3 params, and with a method (4).
fn pv_auth_entry(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    method: *mut c_char,
    kind: CredKind,
) -> c_int {
    guarded("pv_authenticate", AUTH_ERROR, || {
        // SAFETY: the core's message for this call.
        let Some(msg) = (unsafe { msg(m) }) else {
            return AUTH_ERROR;
        };
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
            msg.method().to_vec()
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
        pv_result(pv_authenticate(&msg, &realm, &pw, flags, kind, &meth))
    })
}

/// pv_authenticate with Kamailio 6.1's check of an HA1 password (flag 1):
/// one of 256 bytes or more is an error (-1, logged) where the response
/// would be checked, not an invalid password.
pub fn pv_authenticate(
    msg: &SipMsg,
    realm: &[u8],
    pw: &[u8],
    flags: c_int,
    kind: CredKind,
    method: &[u8],
) -> PvAuth {
    ha1_checked(
        server().pv_authenticate(msg, realm, pw, flags, kind, method),
        pw,
        flags,
    )
}

fn ha1_checked(mut r: PvAuth, pw: &[u8], flags: c_int) -> PvAuth {
    if HA1_MAX.is_some_and(|max| flags & PV_HA1 != 0 && pw.len() > max)
        && r.verdict == Verdict::InvalidPassword
    {
        err!("HA1 value too long: {} (max 255)", pw.len());
        r.verdict = Verdict::Error;
    }
    r
}

/// The longest HA1 Kamailio 6.1's pv_authenticate takes (its 256-byte buffer).
const HA1_MAX: Option<usize> = if cfg!(kamailio_ge = "6.1") {
    Some(255)
} else {
    None
};

unsafe extern "C" fn w_pv_www(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, null_mut(), CredKind::Authorization)
}
unsafe extern "C" fn w_pv_www4(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    me: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, me, CredKind::Authorization)
}
unsafe extern "C" fn w_pv_proxy(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
) -> c_int {
    pv_auth_entry(m, r, p, f, null_mut(), CredKind::ProxyAuthorization)
}

unsafe extern "C" fn w_pv_auth_check(
    m: *mut sip_msg,
    r: *mut c_char,
    p: *mut c_char,
    f: *mut c_char,
    c: *mut c_char,
) -> c_int {
    guarded("pv_auth_check", AUTH_ERROR, || {
        // SAFETY: the core's message for this call.
        let Some(msg) = (unsafe { msg(m) }) else {
            return AUTH_ERROR;
        };
        if msg.method_kind().is_ack_or_cancel() {
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
        pv_result(ha1_checked(
            server().pv_auth_check(&msg, &realm, &pw, flags, checks),
            &pw,
            flags,
        ))
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
        // SAFETY: the core's message for this call (or NULL).
        let msg = unsafe { msg(m) };
        www_authenticate_into(msg.as_ref(), m, &realm, flags, dst as *mut ffi::pv_spec_t)
    })
}

/// The challenge header of auth_get_www_authenticate into the PV `dst`: 1,
/// or -3 when it cannot be built. As the stock module the nonce is made
/// without the message (no auth_checks); beyond it, stale credentials in the
/// request give stale=true without flag 16.
fn www_authenticate_into(
    msg: Option<&SipMsg>,
    m: *mut sip_msg,
    realm: &[u8],
    flags: c_int,
    dst: *mut ffi::pv_spec_t,
) -> c_int {
    let hf =
        match server().challenge_header(msg, false, realm, flags, CredKind::Authorization, None) {
            Ok(hf) => hf,
            Err(e) => {
                err!("failed to build the challenge: {e}");
                return -3;
            }
        };
    // SAFETY: dst is a writable pv_spec_t (our fixup checked it, or the
    // core's PV cache gave it); m the call's message.
    if !unsafe { hd::pv_set(dst, m, &hf) } {
        err!("failed to set the result variable");
    }
    1
}

/// auth_algorithm(alg) (Kamailio 6.x).
unsafe extern "C" fn w_auth_algorithm(m: *mut sip_msg, a: *mut c_char, _: *mut c_char) -> c_int {
    guarded("auth_algorithm", -1, || {
        // SAFETY: a is our fixed-up parameter (fixup_spve_null).
        let Some(alg) = (unsafe { sparam(m, a) }) else {
            err!("failed to get algorithm value");
            return -1;
        };
        set_algorithm(&alg)
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

/// The core's fixup a parameter gets.
#[derive(Clone, Copy)]
enum Fix {
    /// A string that may hold variables (fixup_var_str_12).
    Str,
    /// A string with pseudo-variables (fixup_var_pve_str_12).
    PveStr,
    /// An int that may be a variable (fixup_var_int_12).
    Int,
    /// The result pseudo-variable, which must be writable.
    WritablePv,
}

/// Refuses an empty parameter, then fixes it up as `fix` says (None:
/// nothing to do).
///
/// # Safety
/// `param` is the address of parameter n's value the core passes (its C
/// string before fixup).
unsafe fn fixup(param: *mut *mut c_void, n: c_int, fix: Option<Fix>) -> c_int {
    // SAFETY: caller contract; the core's fixups replace the value in place.
    guarded("fixup", -1, || unsafe {
        if (*param).is_null() || *(*param as *const c_char) == 0 {
            err!("empty parameter {n} not allowed");
            return -1;
        }
        match fix {
            None => 0,
            Some(Fix::Str) => ffi::fixup_var_str_12(param, 1),
            Some(Fix::PveStr) => ffi::fixup_var_pve_str_12(param, 1),
            Some(Fix::Int) => ffi::fixup_var_int_12(param, 1),
            Some(Fix::WritablePv) => {
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
        }
    })
}

unsafe extern "C" fn fixup_auth_challenge(param: *mut *mut c_void, n: c_int) -> c_int {
    let fix = match n {
        1 => Some(Fix::Str),
        2 => Some(Fix::Int),
        _ => None,
    };
    // SAFETY: called by the core with parameter n's address.
    unsafe { fixup(param, n, fix) }
}

unsafe extern "C" fn fixup_pv_auth(param: *mut *mut c_void, n: c_int) -> c_int {
    let fix = match n {
        1 | 2 | 4 => Some(Fix::PveStr),
        3 => Some(Fix::Int),
        _ => None,
    };
    // SAFETY: called by the core with parameter n's address.
    unsafe { fixup(param, n, fix) }
}

unsafe extern "C" fn fixup_pv_auth_check(param: *mut *mut c_void, n: c_int) -> c_int {
    let fix = match n {
        1 | 2 => Some(Fix::PveStr),
        3 | 4 => Some(Fix::Int),
        _ => None,
    };
    // SAFETY: called by the core with parameter n's address.
    unsafe { fixup(param, n, fix) }
}

unsafe extern "C" fn fixup_get_www_authenticate(param: *mut *mut c_void, n: c_int) -> c_int {
    let fix = match n {
        1 => Some(Fix::Str),
        2 => Some(Fix::Int),
        3 => Some(Fix::WritablePv),
        _ => None,
    };
    // SAFETY: called by the core with parameter n's address.
    unsafe { fixup(param, n, fix) }
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
        // SAFETY: KEMI passes the message of the call.
        let Some(msg) = (unsafe { msg(m) }) else {
            return -1;
        };
        consume(&msg)
    })
}
unsafe extern "C" fn ki_auth_challenge(m: *mut sip_msg, r: *mut str_, flags: c_int) -> c_int {
    guarded("auth_challenge", -1, || {
        // SAFETY: KEMI passes the message of the call and valid strs.
        let (Some(msg), realm) = (unsafe { (msg(m), kstr_val(r)) }) else {
            return -1;
        };
        let kind = CredKind::for_method(msg.method_kind());
        challenge_code(server().challenge(&msg, &realm, flags, kind, None))
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
        // SAFETY: KEMI passes the message of the call and valid strs.
        let (Some(msg), realm, pw) = (unsafe { (msg(m), kstr_val(r), kstr_val(p)) }) else {
            return AUTH_ERROR;
        };
        pv_result(ha1_checked(
            server().pv_auth_check(&msg, &realm, &pw, flags, checks),
            &pw,
            flags,
        ))
    })
}
unsafe extern "C" fn ki_auth_algorithm(_m: *mut sip_msg, a: *mut str_) -> c_int {
    // SAFETY: KEMI passes a valid str.
    let alg = unsafe { kstr_val(a) };
    guarded("auth_algorithm", -1, || set_algorithm(&alg))
}

/// KSR.auth.www_challenge / proxy_challenge (Kamailio 6.x): the API's
/// auth_challenge_hftype.
fn ki_challenge(m: *mut sip_msg, r: *mut str_, flags: c_int, kind: CredKind) -> c_int {
    guarded("auth_challenge", -1, || {
        // SAFETY: KEMI passes the message of the call and valid strs.
        let (Some(msg), realm) = (unsafe { (msg(m), kstr_val(r)) }) else {
            return -1;
        };
        challenge_code(server().challenge(&msg, &realm, flags, kind, None))
    })
}
unsafe extern "C" fn ki_www_challenge(m: *mut sip_msg, r: *mut str_, flags: c_int) -> c_int {
    ki_challenge(m, r, flags, CredKind::Authorization)
}
unsafe extern "C" fn ki_proxy_challenge(m: *mut sip_msg, r: *mut str_, flags: c_int) -> c_int {
    ki_challenge(m, r, flags, CredKind::ProxyAuthorization)
}

/// KSR.auth.pv_*_authenticate (Kamailio 6.x): the method is the request's
/// unless given.
fn ki_pv_auth(
    m: *mut sip_msg,
    r: *mut str_,
    p: *mut str_,
    flags: c_int,
    method: Option<*mut str_>,
    kind: CredKind,
) -> c_int {
    guarded("pv_authenticate", AUTH_ERROR, || {
        // SAFETY: KEMI passes the message of the call and valid strs.
        let (Some(msg), realm, pw) = (unsafe { (msg(m), kstr_val(r), kstr_val(p)) }) else {
            return AUTH_ERROR;
        };
        let meth = match method {
            // SAFETY: as above.
            Some(me) => unsafe { kstr_val(me) },
            None => msg.method().to_vec(),
        };
        pv_result(pv_authenticate(&msg, &realm, &pw, flags, kind, &meth))
    })
}
unsafe extern "C" fn ki_pv_www(m: *mut sip_msg, r: *mut str_, p: *mut str_, f: c_int) -> c_int {
    ki_pv_auth(m, r, p, f, None, CredKind::Authorization)
}
unsafe extern "C" fn ki_pv_proxy(m: *mut sip_msg, r: *mut str_, p: *mut str_, f: c_int) -> c_int {
    ki_pv_auth(m, r, p, f, None, CredKind::ProxyAuthorization)
}
unsafe extern "C" fn ki_pv_www_method(
    m: *mut sip_msg,
    r: *mut str_,
    p: *mut str_,
    f: c_int,
    me: *mut str_,
) -> c_int {
    ki_pv_auth(m, r, p, f, Some(me), CredKind::Authorization)
}

/// KSR.auth.auth_get_www_authenticate(realm, flags, pvname) (Kamailio 6.x):
/// the PV named by text; 1, or the challenge's negative result.
unsafe extern "C" fn ki_get_www_authenticate(
    m: *mut sip_msg,
    r: *mut str_,
    flags: c_int,
    dst: *mut str_,
) -> c_int {
    guarded("auth_get_www_authenticate", -1, || {
        // SAFETY: KEMI passes valid strs.
        let (realm, name) = unsafe { (kstr_val(r), kstr_val(dst)) };
        let Some(pv) = hd::pv_by_name(&name) else {
            err!(
                "cannot get pv spec for [{}]",
                String::from_utf8_lossy(&name)
            );
            return -1;
        };
        // SAFETY: the core's message for this call (or NULL).
        let msg = unsafe { msg(m) };
        www_authenticate_into(msg.as_ref(), m, &realm, flags, pv)
    })
}

unsafe extern "C" fn ki_has_credentials(m: *mut sip_msg, r: *mut str_) -> c_int {
    guarded("has_credentials", -1, || {
        // SAFETY: KEMI passes the message of the call and valid strs.
        let (Some(msg), realm) = (unsafe { (msg(m), kstr_val(r)) }) else {
            return -1;
        };
        has_credentials(&msg, &realm)
    })
}

// ---- start-up ----

unsafe extern "C" fn mod_init() -> c_int {
    exports::init_module(init)
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
    let nonces = KamailioNonces::new::<ShmAlloc>(cfg.nonces.clone(), KamProcess)?;
    let mut servers = vec![AuthServer::new(cfg.policy.clone(), nonces.clone())];
    for alg in SWITCHABLE {
        let policy = Policy {
            algorithm: Some(alg),
            algorithm_str: alg.name().as_bytes().to_vec(),
            algorithms: Vec::new(),
            ..cfg.policy.clone()
        };
        servers.push(AuthServer::new(policy, nonces.clone()));
    }
    SERVERS
        .set(servers)
        .map_err(|_| "auth mod_init ran twice".to_string())
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
        cmd!("auth_algorithm", w_auth_algorithm, 1, fixup_spve_null, 0, REQUEST_ROUTE),
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
        // Kamailio 6.x
        kemi!("auth", "www_challenge", ki_www_challenge, [STR, INT]),
        kemi!("auth", "proxy_challenge", ki_proxy_challenge, [STR, INT]),
        kemi!("auth", "pv_proxy_authenticate", ki_pv_proxy, [STR, STR, INT]),
        kemi!("auth", "pv_www_authenticate", ki_pv_www, [STR, STR, INT]),
        kemi!("auth", "pv_www_authenticate_method", ki_pv_www_method, [STR, STR, INT, STR]),
        kemi!("auth", "auth_get_www_authenticate", ki_get_www_authenticate, [STR, INT, STR]),
        kemi!("auth", "auth_algorithm", ki_auth_algorithm, [STR]),
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
