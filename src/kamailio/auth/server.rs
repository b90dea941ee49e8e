//! What the auth module does for a request: pre_auth / check_response /
//! post_auth (the C API auth_db and auth_ephemeral call), challenges,
//! pv_authenticate, consume_credentials. Pure digest work is in
//! `crate::digest`; host access in `host::digest`.

// The message and header pointers are the host's, for the current call (see
// host/digest.rs).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::params::{config, Config};
use super::state;
use crate::digest::challenge::{Algorithm, Qop};
use crate::digest::nonce::{self, CheckCtx, CheckedParts, NonceError, Verified};
use crate::digest::response::{hash_hex, hex_len};
use crate::digest::verify::{self, check_offered, Offered, Refusal};
use crate::kamailio::host::digest as hd;
use crate::kamailio::host::ffi::{self, hdr_field, sip_msg};
use crate::{dbg, err};
use std::cell::RefCell;

// auth_result values of the C API (modules/auth/api.h)
pub const NONCE_REUSED: i32 = ffi::auth_result_NONCE_REUSED;
pub const NO_CREDENTIALS: i32 = ffi::auth_result_NO_CREDENTIALS;
pub const STALE_NONCE: i32 = ffi::auth_result_STALE_NONCE;
pub const ERROR: i32 = ffi::auth_result_ERROR;
pub const NOT_AUTHENTICATED: i32 = ffi::auth_result_NOT_AUTHENTICATED;
pub const DO_AUTHENTICATION: i32 = ffi::auth_result_DO_AUTHENTICATION;
pub const AUTHENTICATED: i32 = ffi::auth_result_AUTHENTICATED;
pub const BAD_CREDENTIALS: i32 = ffi::auth_result_BAD_CREDENTIALS;

// script return codes (auth_cfg_result_t)
pub const AUTH_USER_MISMATCH: i32 = -8;
pub const AUTH_NONCE_REUSED: i32 = -6;
pub const AUTH_NO_CREDENTIALS: i32 = -5;
pub const AUTH_STALE_NONCE: i32 = -4;
pub const AUTH_INVALID_PASSWORD: i32 = -2;
pub const AUTH_ERROR: i32 = -1;
pub const AUTH_OK: i32 = 1;

/// What pre_auth found for the credentials being checked now. Workers are
/// single-threaded and auth_db / auth_ephemeral call pre_auth, calc_HA1,
/// check_response and post_auth in a row for one request, so a per-process
/// record (keyed by the nonce's address) carries the algorithm to calc_HA1
/// and the body and nonce slot to check_response.
#[derive(Clone, Copy)]
struct Pending {
    nonce_ptr: usize,
    hdr: *mut hdr_field,
    msg: *mut sip_msg,
    alg: Algorithm,
    verified: Option<Verified>,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

fn pending_for(nonce_ptr: usize) -> Option<Pending> {
    PENDING.with(|p| p.borrow().filter(|p| p.nonce_ptr == nonce_ptr))
}

fn skip_method(msg: *mut sip_msg) -> bool {
    hd::method(msg) & (hd::METHOD_ACK | hd::METHOD_CANCEL | hd::METHOD_PRACK) != 0
}

/// The realm without `realm_prefix` (as strip_realm).
pub fn strip_realm<'a>(cfg: &Config, realm: &'a [u8]) -> &'a [u8] {
    if !cfg.realm_prefix.is_empty() && realm.starts_with(&cfg.realm_prefix) {
        &realm[cfg.realm_prefix.len()..]
    } else {
        realm
    }
}

/// The default algorithm: the `algorithm` parameter, or MD5.
pub fn default_alg(cfg: &Config) -> Algorithm {
    cfg.algorithm.unwrap_or(Algorithm::Md5)
}

/// What answers may use: the `algorithms` list, else the `algorithm`
/// parameter, else MD5 (a challenge that names no algorithm offers MD5):
/// one rule, whatever is configured.
pub fn offered(cfg: &Config) -> Offered<'_> {
    let only = if cfg.algorithms.is_empty() {
        std::slice::from_ref(cfg.algorithm.as_ref().unwrap_or(&Algorithm::Md5))
    } else {
        cfg.algorithms.as_slice()
    };
    let only = Some(only);
    Offered {
        default: default_alg(cfg),
        only,
    }
}

/// auth_checks_* for this request (REGISTER, in-dialog, out-of-dialog).
fn auth_checks(cfg: &Config, msg: *mut sip_msg) -> u32 {
    if msg.is_null() || cfg.checks_reg | cfg.checks_ood | cfg.checks_ind == 0 {
        return 0;
    }
    if hd::method(msg) == hd::METHOD_REGISTER {
        return cfg.checks_reg;
    }
    if !hd::to_tag(msg).is_empty() {
        cfg.checks_ind
    } else {
        cfg.checks_ood
    }
}

fn parts<'a>(msg: *mut sip_msg, checks: u32) -> CheckedParts<'a> {
    if checks == 0 || msg.is_null() {
        return CheckedParts::default();
    }
    CheckedParts {
        ruri: (checks & nonce::AUTH_CHECK_FULL_URI != 0).then(|| hd::ruri(msg)),
        callid: (checks & nonce::AUTH_CHECK_CALLID != 0)
            .then(|| hd::callid(msg))
            .flatten(),
        from_tag: (checks & nonce::AUTH_CHECK_FROMTAG != 0)
            .then(|| hd::from_tag(msg))
            .flatten(),
        src_ip: (checks & nonce::AUTH_CHECK_SRC_IP != 0)
            .then(|| hd::src_ip(msg))
            .flatten(),
    }
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// A fresh nonce for this request (calc_new_nonce).
pub fn new_nonce(cfg: &Config, msg: *mut sip_msg) -> String {
    let checks = auth_checks(cfg, msg);
    let t = now();
    let nid = state::get().map(|st| {
        let pool = hd::process_no() & (cfg.nid_pools - 1);
        let id = st.new_id(pool, cfg.nc, cfg.otn);
        let mut pf = pool as u8;
        if cfg.nc {
            pf |= nonce::NF_VALID_NC_ID;
        }
        if cfg.otn {
            pf |= nonce::NF_VALID_OT_ID;
        }
        (id, pf)
    });
    nonce::build(
        checks,
        t,
        t.wrapping_add(cfg.nonce_expire),
        nid,
        &cfg.secrets,
        &parts(msg, checks),
    )
}

/// The challenge header line(s), CRLF included: one per algorithm of the
/// `algorithms` parameter (RFC 8760, strongest first as configured), else
/// one, with `algorithm` printed when given (as get_challenge_hf).
pub fn challenge_hf(
    msg: *mut sip_msg,
    stale: bool,
    realm: &[u8],
    nonce_in: Option<&[u8]>,
    algorithm: Option<&[u8]>,
    qop: Option<Qop>,
    hftype: i32,
) -> Vec<u8> {
    let cfg = config();
    let realm = strip_realm(cfg, realm);
    let name = if hftype == hd::HDR_PROXYAUTH {
        &cfg.proxy_hdr
    } else {
        &cfg.www_hdr
    };
    let nonce = match nonce_in {
        Some(n) => n.to_vec(),
        None => new_nonce(cfg, msg).into_bytes(),
    };
    let algs: Vec<Option<Vec<u8>>> = if algorithm.is_none() && !cfg.algorithms.is_empty() {
        cfg.algorithms
            .iter()
            .map(|a| Some(a.name().as_bytes().to_vec()))
            .collect()
    } else {
        vec![algorithm.map(|a| a.to_vec())]
    };
    let mut out = Vec::with_capacity(160 * algs.len());
    for alg in algs {
        out.extend_from_slice(name);
        out.extend_from_slice(b": Digest realm=\"");
        out.extend_from_slice(realm);
        out.extend_from_slice(b"\", nonce=\"");
        out.extend_from_slice(&nonce);
        out.push(b'"');
        if let Some(q) = qop {
            out.extend_from_slice(b", qop=\"");
            out.extend_from_slice(q.name().as_bytes());
            out.push(b'"');
        }
        if stale {
            out.extend_from_slice(b", stale=true");
        }
        if let Some(a) = alg {
            out.extend_from_slice(b", algorithm=");
            out.extend_from_slice(&a);
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Finds and marks the credentials for `realm` (the first half of pre_auth).
pub fn pre_auth_find(msg: *mut sip_msg, realm: &[u8], hftype: i32) -> (i32, *mut hdr_field) {
    PENDING.with(|p| *p.borrow_mut() = None);
    if skip_method(msg) {
        return (AUTHENTICATED, std::ptr::null_mut());
    }
    let h = match hd::find(msg, realm, hftype) {
        Err(e) => {
            err!("Error while looking for credentials: {e}");
            return (ERROR, std::ptr::null_mut());
        }
        Ok(None) => {
            dbg!(
                "Credentials with realm '{}' not found",
                String::from_utf8_lossy(realm)
            );
            return (NO_CREDENTIALS, std::ptr::null_mut());
        }
        Ok(Some(h)) => h,
    };
    if !hd::mark_authorized(msg, h) {
        err!("Error while marking parsed credentials");
        return (ERROR, h);
    }
    (DO_AUTHENTICATION, h)
}

/// pre_auth: finds the credentials for `realm` (already without
/// realm_prefix), checks them and the nonce without using anything up.
/// Returns (auth_result, header).
pub fn pre_auth(msg: *mut sip_msg, realm: &[u8], hftype: i32) -> (i32, *mut hdr_field) {
    let (r, h) = pre_auth_find(msg, realm, hftype);
    if r != DO_AUTHENTICATION {
        return (r, h);
    }
    (check_hdr(msg, h, config()), h)
}

/// The checks of one credentials header (auth_check_hdr_md5, extended), in
/// stock's order: the directives the core requires, then the nonce, then
/// (ours) no field over MAX_FIELD_LEN. The checks of the answer itself
/// (algorithm offered, qop, response format) wait for check_response, as
/// stock's response-length check does: the user is looked up first, so every
/// refusal carries stock's return code.
fn check_hdr(msg: *mut sip_msg, h: *mut hdr_field, cfg: &Config) -> i32 {
    // SAFETY: h was found and parsed by find_credentials for this message.
    let body = unsafe { hd::body(h) };
    // SAFETY: as above.
    if unsafe { hd::check_dig_cred(&mut body.digest) } != 0 {
        err!("Credentials are not filled properly");
        return BAD_CREDENTIALS;
    }
    // SAFETY: as above.
    let c = unsafe { hd::creds(&body.digest) };
    let checks = auth_checks(cfg, msg);
    let st = state::get();
    let ctx = CheckCtx {
        cfg: checks,
        secrets: &cfg.secrets,
        parts: parts(msg, checks),
        now: now(),
        up_since: hd::up_since() as u32,
        max_drift: cfg.max_drift,
        nc_enabled: cfg.nc,
        otn_enabled: cfg.otn,
        nc: Some(c.nc),
    };
    match nonce::check(c.nonce, &ctx, st.as_ref()) {
        Ok(v) => {
            if let Err(e) = verify::check_lengths(&c) {
                err!("Credentials refused: {e}");
                return BAD_CREDENTIALS;
            }
            // calc_HA1 hashes with the answer's algorithm; one not offered
            // (check_response refuses it) gets the default, as stock's one hash
            let off = offered(cfg);
            let alg = verify::algorithm_of(&c, off.default)
                .ok()
                .filter(|&a| off.allows(a))
                .unwrap_or(off.default);
            PENDING.with(|p| {
                *p.borrow_mut() = Some(Pending {
                    nonce_ptr: c.nonce.as_ptr() as usize,
                    hdr: h,
                    msg,
                    alg,
                    verified: Some(v),
                })
            });
            DO_AUTHENTICATION
        }
        Err(NonceError::ExtraChecks | NonceError::Stale) => {
            body.stale = 1;
            STALE_NONCE
        }
        Err(NonceError::Reused) => NONCE_REUSED,
        Err(e) => {
            // one line: a nonce from another secret, tampered, truncated
            err!("Invalid nonce value received (check {})", e.code());
            NOT_AUTHENTICATED
        }
    }
}

/// calc_HA1 through the API: the hash of the credentials pre_auth checked
/// (MD5 when none); HA_MD5_SESS gives the -sess key.
pub fn calc_ha1(
    sess: bool,
    user: &[u8],
    realm: &[u8],
    pw: &[u8],
    nonce: &[u8],
    cnonce: &[u8],
) -> String {
    let alg = PENDING
        .with(|p| p.borrow().map(|p| p.alg))
        .unwrap_or_else(try_default_alg);
    let plain = verify::ha1(alg, user, realm, pw);
    if sess {
        verify::sess_ha1(alg, plain.as_bytes(), nonce, cnonce)
    } else {
        plain
    }
}

fn try_default_alg() -> Algorithm {
    super::params::try_config()
        .map(default_alg)
        .unwrap_or(Algorithm::Md5)
}

/// calc_response through the API (stock semantics, the pending algorithm).
#[allow(clippy::too_many_arguments)]
pub fn calc_response(
    ha1: &[u8],
    nonce: &[u8],
    nc: &[u8],
    cnonce: &[u8],
    qop: &[u8],
    auth_int: bool,
    method: &[u8],
    uri: &[u8],
    hentity: &[u8],
) -> String {
    let alg = PENDING
        .with(|p| p.borrow().map(|p| p.alg))
        .unwrap_or_else(try_default_alg);
    let mut a2 = Vec::with_capacity(64 + uri.len());
    a2.extend_from_slice(method);
    a2.push(b':');
    a2.extend_from_slice(uri);
    if auth_int {
        a2.push(b':');
        a2.extend_from_slice(hentity);
    }
    let ha2 = hash_hex(alg, &a2);
    let mut r = Vec::with_capacity(256);
    r.extend_from_slice(ha1);
    r.push(b':');
    r.extend_from_slice(nonce);
    r.push(b':');
    if !qop.is_empty() {
        for p in [nc, cnonce, qop] {
            r.extend_from_slice(p);
            r.push(b':');
        }
    }
    r.extend_from_slice(ha2.as_bytes());
    hash_hex(alg, &r)
}

/// check_response: the response against `ha1` (plain H(A1); -sess applied
/// here), in constant time; then the nonce's nc / one-time slot is used up.
///
/// # Safety
/// `cred` must be parsed credentials of the current message.
pub unsafe fn check_response(cred: *mut ffi::dig_cred_t, method: &[u8], ha1: &[u8]) -> i32 {
    let cfg = config();
    // SAFETY: caller contract.
    let c = unsafe { hd::creds(&*cred) };
    let (alg, qop) = match check_offered(&c, &offered(cfg)) {
        Ok(v) => v,
        Err(r) => {
            err!("Credentials refused: {}", r.error);
            return match r.code {
                Refusal::Unverifiable => BAD_CREDENTIALS,
                Refusal::Wrong => NOT_AUTHENTICATED,
            };
        }
    };
    let pending = pending_for(c.nonce.as_ptr() as usize);
    let body: &[u8] = match (qop, pending) {
        (Some(Qop::AuthInt), Some(p)) => hd::msg_body(p.msg),
        _ => b"",
    };
    if ha1.len() != hex_len(alg) || !verify::response_matches(alg, qop, &c, ha1, method, body) {
        dbg!("Authorization failed");
        return NOT_AUTHENTICATED;
    }
    match pending {
        Some(Pending {
            verified: Some(v),
            hdr,
            ..
        }) => match nonce::commit(&v, state::get().as_ref()) {
            Ok(()) => {
                // used up: a second check_response on it must not commit again
                PENDING.with(|p| *p.borrow_mut() = None);
                AUTHENTICATED
            }
            Err(e) => {
                // another request with these credentials got the slot first
                if !hdr.is_null() {
                    // SAFETY: hdr is the parsed credentials header pre_auth found.
                    unsafe { hd::body(hdr).stale = 1 };
                }
                err!("nonce already used (check {})", e.code());
                if e == NonceError::Reused {
                    NONCE_REUSED
                } else {
                    STALE_NONCE
                }
            }
        },
        _ if cfg.nc || cfg.otn => {
            err!("check_response without pre_auth while nonce_count/one_time_nonce is on");
            NOT_AUTHENTICATED
        }
        _ => AUTHENTICATED,
    }
}

/// post_auth: refuses stale credentials (but ACK/CANCEL), and credentials
/// check_response would refuse (for modules that verify without it, as
/// auth_radius); adds Authentication-Info when configured.
pub fn post_auth(msg: *mut sip_msg, h: *mut hdr_field, ha1: Option<&[u8]>) -> i32 {
    if h.is_null() {
        return AUTHENTICATED;
    }
    let cfg = config();
    // SAFETY: h is the parsed credentials header pre_auth returned.
    let body = unsafe { hd::body(h) };
    if body.stale != 0 {
        let m = hd::method(msg);
        if m == hd::METHOD_ACK || m == hd::METHOD_CANCEL {
            return AUTHENTICATED;
        }
        return NOT_AUTHENTICATED;
    }
    // SAFETY: as above.
    let c = unsafe { hd::creds(&body.digest) };
    let (alg, qop) = match check_offered(&c, &offered(cfg)) {
        Ok(v) => v,
        Err(r) => {
            err!("Credentials refused: {}", r.error);
            return NOT_AUTHENTICATED;
        }
    };
    if cfg.authinfo {
        let Some(ha1) = ha1 else {
            err!("add_authinfo_hdr is configured but the auth_* module you are using does not provide the ha1 value to post_auth");
            return AUTHENTICATED;
        };
        let ent = if qop == Some(Qop::AuthInt) {
            hd::msg_body(msg)
        } else {
            b""
        };
        let rsp = verify::rspauth(alg, qop, &c, ha1, ent);
        let next = if cfg.otn {
            new_nonce(cfg, msg).into_bytes()
        } else {
            c.nonce.to_vec()
        };
        let mut hdr = b"Authentication-Info: nextnonce=\"".to_vec();
        hdr.extend_from_slice(&next);
        hdr.extend_from_slice(b"\", qop=");
        hdr.extend_from_slice(c.qop);
        hdr.extend_from_slice(b", rspauth=\"");
        hdr.extend_from_slice(rsp.as_bytes());
        hdr.extend_from_slice(b"\", cnonce=\"");
        hdr.extend_from_slice(c.cnonce);
        hdr.extend_from_slice(b"\", nc=");
        hdr.extend_from_slice(c.nc);
        hdr.extend_from_slice(b"\r\n");
        if !hd::add_reply_header(msg, &hdr) {
            err!("failed to add the Authentication-Info header");
        }
    }
    AUTHENTICATED
}

/// Did the request send stale credentials for this realm (pre_auth marked
/// them)? Then the challenge says stale=true without flag 16.
/// Only in request and event routes (MSRP): in failure and reply routes the
/// message is tm's copy (or a reply) and its credentials are not parsed here.
pub fn sent_stale(msg: *mut sip_msg, realm: &[u8], hftype: i32) -> bool {
    let rt = crate::kamailio::host::route_type();
    if msg.is_null() || rt & (ffi::REQUEST_ROUTE | ffi::EVENT_ROUTE) == 0 {
        return false;
    }
    let cfg = config();
    match hd::find(msg, strip_realm(cfg, realm), hftype) {
        // SAFETY: found and parsed for this message.
        Ok(Some(h)) => unsafe { hd::body(h).stale != 0 },
        _ => false,
    }
}

fn qop_of_flags(flags: i32, int_bit: i32, auth_bit: i32) -> Option<Qop> {
    if flags & int_bit != 0 {
        Some(Qop::AuthInt)
    } else if flags & auth_bit != 0 {
        Some(Qop::Auth)
    } else {
        None
    }
}

/// The algorithm to print in challenges: None with `algorithms` set (then
/// one header per listed algorithm) or with `algorithm` empty.
fn alg_param(cfg: &Config) -> Option<&[u8]> {
    (cfg.algorithms.is_empty() && !cfg.algorithm_str.is_empty())
        .then_some(cfg.algorithm_str.as_slice())
}

fn send_reply(msg: *mut sip_msg, code: i32, reason: &str, hdr: Option<&[u8]>) -> bool {
    if let Some(h) = hdr {
        if !hd::add_reply_header(msg, h) {
            err!("failed to append hdr to reply");
            return false;
        }
    }
    hd::reply(msg, code, reason, config().stateless)
}

/// auth_challenge_helper: flags 1 qop=auth, 2 qop=auth-int, 4 no 500 on
/// error, 16 stale=true. With `res`, the header is returned, not sent.
pub fn challenge(
    msg: *mut sip_msg,
    realm: &[u8],
    flags: i32,
    hftype: i32,
    res: Option<&mut Vec<u8>>,
) -> i32 {
    let cfg = config();
    let qop = qop_of_flags(flags, 2, 1);
    let stale = flags & 16 != 0 || sent_stale(msg, realm, hftype);
    let hf = challenge_hf(msg, stale, realm, None, alg_param(cfg), qop, hftype);
    if let Some(r) = res {
        *r = hf;
        return 1;
    }
    let ok = if hftype == hd::HDR_PROXYAUTH {
        send_reply(msg, 407, "Proxy Authentication Required", Some(&hf))
    } else {
        send_reply(msg, 401, "Unauthorized", Some(&hf))
    };
    if ok {
        1
    } else {
        -3
    }
}

/// The 500 the challenge functions send when their parameters fail.
pub fn challenge_param_error(msg: *mut sip_msg, flags: i32) -> i32 {
    if flags & 4 == 0 && !send_reply(msg, 500, "Internal Server Error", None) {
        return -4;
    }
    -1
}

/// build_challenge through the API: the header(s) into the challenge AVP.
pub fn build_challenge(
    msg: *mut sip_msg,
    stale: bool,
    realm: &[u8],
    nonce: Option<&[u8]>,
    alg: Option<&[u8]>,
    hftype: i32,
) -> i32 {
    let cfg = config();
    let hf = challenge_hf(msg, stale, realm, nonce, alg, cfg.qop, hftype);
    if !super::challenge_avp().add_str(&hf) {
        err!("Error while creating attribute with challenge");
        return -1;
    }
    0
}

/// pv_authenticate: the password (flags&1: HA1) from the cfg.
pub fn pv_authenticate(
    msg: *mut sip_msg,
    realm: &[u8],
    passwd: &[u8],
    flags: i32,
    hftype: i32,
    method: &[u8],
) -> i32 {
    let cfg = config();
    let (r, h) = pre_auth(msg, strip_realm(cfg, realm), hftype);
    let ret = match r {
        NONCE_REUSED => AUTH_NONCE_REUSED,
        STALE_NONCE => AUTH_STALE_NONCE,
        NO_CREDENTIALS => AUTH_NO_CREDENTIALS,
        AUTHENTICATED => AUTH_OK,
        DO_AUTHENTICATION => {
            // SAFETY: pre_auth returned the parsed credentials header.
            let body = unsafe { hd::body(h) };
            // SAFETY: as above.
            let c = unsafe { hd::creds(&body.digest) };
            let realm_s = strip_realm(cfg, realm);
            let ha1 = if flags & 1 == 0 {
                calc_ha1(false, c.username, realm_s, passwd, b"", b"")
            } else {
                String::from_utf8_lossy(passwd).into_owned()
            };
            // SAFETY: as above.
            match unsafe { check_response(&mut body.digest, method, ha1.as_bytes()) } {
                AUTHENTICATED => match post_auth(msg, h, Some(ha1.as_bytes())) {
                    AUTHENTICATED => AUTH_OK,
                    _ => AUTH_ERROR,
                },
                NOT_AUTHENTICATED => AUTH_INVALID_PASSWORD,
                STALE_NONCE => AUTH_STALE_NONCE,
                NONCE_REUSED => AUTH_NONCE_REUSED,
                _ => AUTH_ERROR,
            }
        }
        _ => AUTH_ERROR,
    };
    if ret < 0 && flags & 14 != 0 {
        let qop = qop_of_flags(flags, 8, 4);
        let stale = !h.is_null() && {
            // SAFETY: a header pre_auth returned is parsed.
            unsafe { hd::body(h).stale != 0 }
        };
        let hf = challenge_hf(msg, stale, realm, None, alg_param(cfg), qop, hftype);
        if !super::challenge_avp().add_str(&hf) {
            err!("Error while creating attribute with challenge");
            return AUTH_ERROR;
        }
    }
    ret
}

/// consume_credentials: removes the authorized credentials header.
pub fn consume_credentials(msg: *mut sip_msg) -> i32 {
    if skip_method(msg) {
        return -1;
    }
    let Some(h) = hd::authorized(msg) else {
        err!("No authorized credentials found (error in scripts)");
        return -1;
    };
    if !hd::remove_header(msg, h) {
        err!("Can't remove credentials");
        return -1;
    }
    1
}

/// has_credentials(realm): Proxy-Authorization or Authorization for realm.
pub fn has_credentials(msg: *mut sip_msg, realm: &[u8]) -> i32 {
    for t in [hd::HDR_PROXYAUTH, hd::HDR_AUTHORIZATION] {
        if let Ok(Some(_)) = hd::find(msg, realm, t) {
            return 1;
        }
    }
    -1
}

/// pv_auth_check: REGISTER with Authorization, others Proxy-Authorization;
/// checks & 1: the user in the credentials must be the From (To for
/// REGISTER/PUBLISH) user.
pub fn pv_auth_check(
    msg: *mut sip_msg,
    realm: &[u8],
    passwd: &[u8],
    flags: i32,
    checks: i32,
) -> i32 {
    let m = hd::method(msg);
    let method = hd::method_str(msg);
    let hft = if m == hd::METHOD_REGISTER {
        hd::HDR_AUTHORIZATION
    } else {
        hd::HDR_PROXYAUTH
    };
    let ret = pv_authenticate(msg, realm, passwd, flags, hft, &method);
    if ret != AUTH_OK || checks & 1 == 0 {
        return ret;
    }
    let Some(h) = hd::authorized(msg) else {
        return if skip_method(msg) {
            AUTH_OK
        } else {
            AUTH_ERROR
        };
    };
    // SAFETY: the authorized header is parsed credentials.
    let user =
        unsafe { crate::kamailio::host::str_bytes(&hd::body(h).digest.username.user) }.to_vec();
    let Some(furi) = hd::uri_user_host(msg, hd::UriOf::From) else {
        return AUTH_ERROR;
    };
    let regpub = m == hd::METHOD_REGISTER || m == hd::METHOD_PUBLISH;
    let turi = if regpub {
        match hd::uri_user_host(msg, hd::UriOf::To) {
            Some(t) => Some(t),
            None => return AUTH_ERROR,
        }
    } else {
        None
    };
    let uri = turi.as_ref().unwrap_or(&furi);
    if user != uri.0 {
        return AUTH_USER_MISMATCH;
    }
    if let Some(t) = &turi {
        if furi.0 != t.0 || (config().use_domain && furi.1 != t.1) {
            return AUTH_USER_MISMATCH;
        }
        if m == hd::METHOD_PUBLISH {
            let Some(r) = hd::uri_user_host(msg, hd::UriOf::Request) else {
                return AUTH_ERROR;
            };
            if furi.0 != r.0 || (config().use_domain && furi.1 != r.1) {
                return AUTH_USER_MISMATCH;
            }
        }
    }
    AUTH_OK
}
