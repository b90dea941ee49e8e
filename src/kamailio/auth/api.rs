//! `bind_auth_s`: the C API auth_db, auth_ephemeral, auth_radius and msrp
//! load with `auth_load_api()`. The table is bindgen's `auth_api_s` from the
//! installed modules/auth/api.h, so its layout is 5.6.3's by construction.
//! Each function parses its C arguments and calls the auth-server flow.

use super::params::try_config;
use super::{api_code, challenge_code, pv_result, server, store_challenge, try_server};
use super::{API_ERROR, AUTH_ERROR};
use crate::digest::challenge::{Algorithm, Qop};
use crate::digest::nonce::Verified;
use crate::err;
use crate::exports::ParamCell;
use crate::flows::auth_server::{self as flow, AuthResult, Checked};
use crate::kamailio::host::digest::{cred_kind, creds_of, CredHdr};
use crate::kamailio::host::ffi::{
    self, auth_api_s, check_auth_hdr_t, dig_cred_t, hdr_field, sip_msg, str_,
};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::str_bytes;
use crate::ports::credentials::{AuthRequest, Method};
use crate::ports::message::SipMessage;
use std::cell::Cell;
use std::os::raw::{c_char, c_int};
use std::ptr::null_mut;

/// The `qop` parameter as the API exposes it (`struct qp*`), filled in
/// bind_auth_s from the checked configuration. Not a modparam, but the same
/// contract as one: written only while the process starts, then read by the
/// bound modules through the pointer.
static API_QOP: ParamCell<ffi::qp> = ParamCell::new(ffi::qp {
    qop_str: str_ {
        s: null_mut(),
        len: 0,
    },
    qop_parsed: 0,
});

/// What pre_auth checked for the credentials being checked now. Workers are
/// single-threaded and auth_db / auth_ephemeral call pre_auth, calc_HA1,
/// check_response and post_auth in a row for one request, so a per-process
/// record (keyed by the nonce's address) carries the algorithm to calc_HA1
/// and the message, header and checked nonce to check_response.
#[derive(Clone, Copy)]
struct Pending {
    nonce_ptr: usize,
    hdr: CredHdr,
    msg: *mut sip_msg,
    checked: Checked<Verified>,
}

thread_local! {
    static PENDING: Cell<Option<Pending>> = const { Cell::new(None) };
}

fn pending_for(nonce_ptr: usize) -> Option<Pending> {
    PENDING.get().filter(|p| p.nonce_ptr == nonce_ptr)
}

/// The algorithm of the credentials pre_auth checked, else the default.
fn pending_alg() -> Algorithm {
    PENDING
        .get()
        .map(|p| p.checked.alg)
        .or_else(|| try_server().map(|s| s.default_alg()))
        .unwrap_or(Algorithm::Md5)
}

/// # Safety
/// `s` is NULL or a valid str.
unsafe fn sv<'a>(s: *const str_) -> &'a [u8] {
    if s.is_null() {
        &[]
    } else {
        // SAFETY: caller contract: a valid str.
        unsafe { str_bytes(&*s) }
    }
}

/// Writes hex and a NUL into a caller's HASHHEX-like buffer.
///
/// # Safety
/// `out` must hold hex.len() + 1 bytes (auth_db and auth_ephemeral pass 256
/// and 512 bytes; MD5 needs 33, SHA-256 and SHA-512-256 65).
unsafe fn put_hex(out: *mut c_char, hex: &str) {
    if out.is_null() {
        return;
    }
    // SAFETY: caller contract.
    unsafe {
        std::ptr::copy_nonoverlapping(hex.as_ptr(), out as *mut u8, hex.len());
        *out.add(hex.len()) = 0;
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated hex string.
unsafe fn cstr_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: caller contract.
    (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
}

unsafe extern "C" fn api_pre_auth(
    msg: *mut sip_msg,
    realm: *mut str_,
    hftype: ffi::hdr_types_t,
    hdr: *mut *mut hdr_field,
    check: check_auth_hdr_t,
) -> ffi::auth_result_t {
    guarded("pre_auth", API_ERROR, || {
        PENDING.set(None);
        if realm.is_null() || hdr.is_null() {
            return API_ERROR;
        }
        // SAFETY: the calling module passes its message (or NULL).
        let Some(m) = (unsafe { SipMsg::from_raw(msg) }) else {
            return API_ERROR;
        };
        let srv = server();
        let kind = cred_kind(hftype);
        // SAFETY: the calling module's realm and out pointer.
        unsafe {
            let r = str_bytes(&*realm);
            if super::params::config().panic_probe && r == super::params::PANIC_PROBE_REALM {
                panic!("panic probe triggered in pre_auth (called from C)");
            }
            let stripped = srv.strip_realm(r);
            // strip_realm changes the caller's realm, as the stock module does
            let cut = (r.len() - stripped.len()) as i32;
            (*realm).s = (*realm).s.add(cut as usize);
            (*realm).len -= cut;
            if let Some(f) = check {
                // an external header check (IMS modules): find and mark, then theirs
                let (res, h) = srv.pre_auth_find(&m, stripped, kind);
                *hdr = h.map_or(null_mut(), CredHdr::raw);
                let Some(h) = h.filter(|_| res == AuthResult::DoAuthentication) else {
                    return api_code(res);
                };
                let mut rv: ffi::auth_result_t = 0;
                if f(msg, (*h.raw()).parsed as *mut ffi::auth_body_t, &mut rv) == 0 {
                    return rv;
                }
                return api_code(AuthResult::DoAuthentication);
            }
            let pre = srv.pre_auth(&m, stripped, kind);
            *hdr = pre.hdr.map_or(null_mut(), CredHdr::raw);
            if let (Some(h), Some(checked)) = (pre.hdr, pre.checked) {
                PENDING.set(Some(Pending {
                    nonce_ptr: m.creds(h).nonce.as_ptr() as usize,
                    hdr: h,
                    msg,
                    checked,
                }));
            }
            api_code(pre.result)
        }
    })
}

unsafe extern "C" fn api_post_auth(
    msg: *mut sip_msg,
    hdr: *mut hdr_field,
    ha1: *mut c_char,
) -> ffi::auth_result_t {
    guarded("post_auth", API_ERROR, || {
        // SAFETY: the calling module's message, the header pre_auth gave it
        // (or NULL), and NULL or the NUL-terminated HA1 it computed.
        let (m, h, h1) = unsafe {
            (
                SipMsg::from_raw(msg),
                CredHdr::from_raw(hdr),
                cstr_bytes(ha1),
            )
        };
        let Some(m) = m else {
            return API_ERROR;
        };
        api_code(server().post_auth(&m, h, h1))
    })
}

unsafe extern "C" fn api_build_challenge(
    msg: *mut sip_msg,
    stale: c_int,
    realm: *mut str_,
    nonce: *mut str_,
    algorithm: *mut str_,
    hftype: c_int,
) -> c_int {
    guarded("build_challenge", -1, || {
        // msg may be NULL (as stock): then no auth_checks go into the nonce
        // SAFETY: the calling module's message (or NULL) and strs (NULL or
        // valid).
        let (m, r, n, a) = unsafe {
            (
                SipMsg::from_raw(msg),
                sv(realm),
                (!nonce.is_null()).then(|| sv(nonce)),
                (!algorithm.is_null()).then(|| sv(algorithm)),
            )
        };
        store_challenge(server().build_challenge(
            m.as_ref(),
            stale != 0,
            r,
            n,
            a,
            cred_kind(hftype),
        ))
    })
}

unsafe extern "C" fn api_calc_ha1(
    alg: ffi::ha_alg_t,
    user: *mut str_,
    realm: *mut str_,
    pw: *mut str_,
    nonce: *mut str_,
    cnonce: *mut str_,
    out: *mut c_char,
) {
    guarded("calc_HA1", (), || {
        // SAFETY: strs from the calling module; out is its HA1 buffer.
        unsafe {
            let h = flow::calc_ha1(
                pending_alg(),
                alg == ffi::ha_alg_t_HA_MD5_SESS,
                sv(user),
                sv(realm),
                sv(pw),
                sv(nonce),
                sv(cnonce),
            );
            put_hex(out, &h);
        }
    })
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn api_calc_response(
    ha1: *mut c_char,
    nonce: *mut str_,
    nc: *mut str_,
    cnonce: *mut str_,
    qop: *mut str_,
    auth_int: c_int,
    method: *mut str_,
    uri: *mut str_,
    hentity: *mut c_char,
    response: *mut c_char,
) {
    guarded("calc_response", (), || {
        // SAFETY: the caller's NUL-terminated hex buffers and strs.
        unsafe {
            let h = cstr_bytes(ha1).unwrap_or(b"");
            let ent = if auth_int != 0 {
                cstr_bytes(hentity).unwrap_or(b"")
            } else {
                b""
            };
            let r = flow::calc_response(
                pending_alg(),
                h,
                sv(nonce),
                sv(nc),
                sv(cnonce),
                sv(qop),
                auth_int != 0,
                sv(method),
                sv(uri),
                ent,
            );
            put_hex(response, &r);
        }
    })
}

unsafe extern "C" fn api_check_response(
    cred: *mut dig_cred_t,
    method: *mut str_,
    ha1: *mut c_char,
) -> c_int {
    guarded("check_response", API_ERROR, || {
        if cred.is_null() {
            return API_ERROR;
        }
        // SAFETY: the credentials pre_auth returned; method str; NUL-terminated HA1.
        let (c, meth, h) = unsafe { (creds_of(cred), sv(method), cstr_bytes(ha1).unwrap_or(b"")) };
        let pending = pending_for(c.nonce.as_ptr() as usize);
        // SAFETY: the message pre_auth checked these credentials of, in this
        // same request's processing (the nonce's address matched).
        let m = pending.and_then(|p| unsafe { SipMsg::from_raw(p.msg) });
        let found = m.as_ref().zip(pending.map(|p| p.hdr));
        // auth-int hashes the body of the message pre_auth checked
        let body = || m.as_ref().map_or(&[][..], |m| m.body().unwrap_or_default());
        let r = server().check_response(
            found,
            &c,
            meth,
            h,
            body,
            pending.as_ref().map(|p| &p.checked),
        );
        if r == AuthResult::Authenticated && pending.is_some() {
            // used up: a second check_response on it must not commit again
            PENDING.set(None);
        }
        api_code(r)
    })
}

unsafe extern "C" fn api_auth_challenge_hftype(
    msg: *mut sip_msg,
    realm: *mut str_,
    flags: c_int,
    hftype: c_int,
) -> c_int {
    guarded("auth_challenge_hftype", -1, || {
        // SAFETY: the caller's message and realm.
        let (Some(m), r) = (unsafe { (SipMsg::from_raw(msg), sv(realm)) }) else {
            return -1;
        };
        challenge_code(server().challenge(&m, r, flags, cred_kind(hftype), None))
    })
}

/// The API's pv_authenticate: 6.1's prototype hands back the credentials
/// header it checked (`*hdr`, NULL when none), as the stock module does.
#[cfg(kam_auth_hdr_arg)]
unsafe extern "C" fn api_pv_authenticate(
    msg: *mut sip_msg,
    realm: *mut str_,
    passwd: *mut str_,
    flags: c_int,
    hftype: c_int,
    hdr: *mut *mut hdr_field,
    method: *mut str_,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    unsafe { pv_authenticate(msg, realm, passwd, flags, hftype, hdr, method) }
}

/// The API's pv_authenticate (5.6's prototype: no header handed back).
#[cfg(not(kam_auth_hdr_arg))]
unsafe extern "C" fn api_pv_authenticate(
    msg: *mut sip_msg,
    realm: *mut str_,
    passwd: *mut str_,
    flags: c_int,
    hftype: c_int,
    method: *mut str_,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    unsafe { pv_authenticate(msg, realm, passwd, flags, hftype, null_mut(), method) }
}

/// # Safety
/// The calling module's message and strs (or NULL); `hdr` NULL or writable.
unsafe fn pv_authenticate(
    msg: *mut sip_msg,
    realm: *mut str_,
    passwd: *mut str_,
    flags: c_int,
    hftype: c_int,
    hdr: *mut *mut hdr_field,
    method: *mut str_,
) -> c_int {
    guarded("pv_authenticate", AUTH_ERROR, || {
        if !hdr.is_null() {
            // SAFETY: the caller's out pointer.
            unsafe { *hdr = null_mut() };
        }
        // SAFETY: the caller's message and strs.
        let (Some(m), r, p, me) =
            (unsafe { (SipMsg::from_raw(msg), sv(realm), sv(passwd), sv(method)) })
        else {
            return AUTH_ERROR;
        };
        let srv = server();
        let kind = cred_kind(hftype);
        let rc = pv_result(super::pv_authenticate(&m, r, p, flags, kind, me));
        // the header pre_auth found (and checked) for this realm; none for
        // the methods it lets pass without (ACK, CANCEL, PRACK)
        let passes = matches!(
            m.method_kind(),
            Method::Ack | Method::Cancel | Method::Prack
        );
        if !hdr.is_null() && !passes {
            if let Ok(Some(h)) = m.find_credentials(srv.strip_realm(r), kind) {
                // SAFETY: the caller's out pointer; the header lives with msg.
                unsafe { *hdr = h.raw() };
            }
        }
        rc
    })
}

unsafe extern "C" fn api_consume_credentials(msg: *mut sip_msg) -> c_int {
    guarded("consume_credentials", -1, || {
        // SAFETY: the caller's message.
        let Some(m) = (unsafe { SipMsg::from_raw(msg) }) else {
            return -1;
        };
        super::consume(&m)
    })
}

/// Fills the `qop` the API points at from the checked configuration (from
/// our mod_init and from bind_auth_s, whichever runs later wins).
pub fn set_api_qop() {
    let Some(cfg) = try_config() else {
        // before our mod_init: the parameter as written, parsed later
        return;
    };
    // SAFETY: written from our mod_init and from bind_auth_s, which the bound
    // modules call from their mod_init: at start-up, from the process's one
    // thread, so no read of the bound modules overlaps the write.
    unsafe {
        let q = API_QOP.as_ptr();
        (*q).qop_str = str_ {
            s: cfg.qop_str.as_ptr() as *mut c_char,
            len: cfg.qop_str.len() as i32,
        };
        (*q).qop_parsed = match cfg.policy.qop {
            None => ffi::qop_type_QOP_UNSPEC,
            Some(Qop::Auth) => ffi::qop_type_QOP_AUTH,
            Some(Qop::AuthInt) => ffi::qop_type_QOP_AUTHINT,
        };
    }
}

/// Fills the API table; 0, or -1 for a NULL table (as the stock module).
///
/// # Safety
/// `api` is NULL or points to an `auth_api_s_t` the caller owns.
pub unsafe extern "C" fn bind_auth_s(api: *mut auth_api_s) -> c_int {
    guarded("bind_auth_s", -1, || {
        if api.is_null() {
            err!("Invalid parameter value");
            return -1;
        }
        set_api_qop();
        // SAFETY: caller contract for api.
        unsafe {
            *api = auth_api_s {
                pre_auth: Some(api_pre_auth),
                post_auth: Some(api_post_auth),
                build_challenge: Some(api_build_challenge),
                qop: API_QOP.as_ptr(),
                calc_HA1: Some(api_calc_ha1),
                calc_response: Some(api_calc_response),
                check_response: Some(api_check_response),
                auth_challenge_hftype: Some(api_auth_challenge_hftype),
                pv_authenticate: Some(api_pv_authenticate),
                consume_credentials: Some(api_consume_credentials),
            };
        }
        0
    })
}
