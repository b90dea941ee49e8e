//! `bind_auth`: the `auth_api_t` auth_db, auth_aaa, auth_aka, osp and
//! msrp_relay find with `find_export("bind_auth")`. The table is bindgen's
//! from the tree's modules/auth/api.h, so its layout is 3.6.8's by
//! construction; each function parses its C arguments and calls the
//! auth-server flow.
//!
//! Beyond stock, pre_auth only looks at the nonce index: the use is
//! recorded by check_response once the response matched (or by post_auth
//! for modules that verify elsewhere, as auth_aaa over RADIUS). A
//! per-process record of what pre_auth checked carries that from one call
//! to the next: workers are single-threaded and the modules call pre_auth,
//! calc_HA1, check_response and post_auth in a row for one request.

use super::{code, server, AUTH_ERROR};
use crate::digest::aes_nonce::{NonceKey, NonceParams, NONCE_LEN};
use crate::digest::challenge::Algorithm;
use crate::digest::response::hex_len;
use crate::err;
use crate::flows::auth_server::opensips_nonces::AesChecked;
use crate::flows::auth_server::{
    authentication_info, calc_ha1, challenge_line, AuthResult, Checked, QopOffer, Skip,
};
use crate::log::guarded;
use crate::opensips::host::auth::{cred_kind, creds_of, CredHdr};
use crate::opensips::host::ffi::{
    self, auth_api_t, dig_cred_t, digest_auth_credential, hdr_field, nonce_context, nonce_params,
    sip_msg, str_, str_const, HASHHEX,
};
use crate::opensips::host::msg::SipMsg;
use crate::opensips::host::{pkg_dup, str_bytes};
use crate::ports::credentials::AuthRequest;
use crate::ports::reply::{Reply, Sending};
use std::cell::{Cell, UnsafeCell};
use std::os::raw::{c_char, c_int, c_uint};
use std::ptr::null_mut;

type Msg = *mut sip_msg;
type Str = *mut str_;

/// What pre_auth checked for the credentials of the request being handled.
/// Found again by the nonce's address and text: a later call about other
/// credentials (msrp_relay's own) never takes it.
#[derive(Clone, Copy)]
struct Pending {
    nonce_ptr: usize,
    nonce: [u8; NONCE_LEN],
    hdr: CredHdr,
    msg: *mut sip_msg,
    checked: Checked<Option<AesChecked>>,
}

impl Pending {
    /// What pre_auth found and checked (None: nothing to commit later).
    fn of(
        m: &SipMsg,
        msg: Msg,
        hdr: Option<CredHdr>,
        checked: Option<Checked<Option<AesChecked>>>,
    ) -> Option<Pending> {
        let (hdr, checked) = (hdr?, checked?);
        let n = m.creds(hdr).nonce;
        Some(Pending {
            nonce_ptr: n.as_ptr() as usize,
            // a checked nonce decoded: it has the format's length
            nonce: n.try_into().ok()?,
            hdr,
            msg,
            checked,
        })
    }
}

thread_local! {
    static PENDING: Cell<Option<Pending>> = const { Cell::new(None) };
}

/// The record for credentials with this nonce (at this address), taken (a
/// commit happens once).
fn take_pending(nonce: &[u8]) -> Option<Pending> {
    let p = PENDING
        .get()
        .filter(|p| p.nonce_ptr == nonce.as_ptr() as usize && p.nonce[..] == *nonce)?;
    PENDING.set(None);
    Some(p)
}

/// A str the caller passes (NULL: empty).
///
/// # Safety
/// `s` is NULL or a str valid for the call.
unsafe fn sv<'a>(s: *const str_) -> &'a [u8] {
    // SAFETY: caller contract.
    unsafe { s.as_ref().map(|s| str_bytes(s)).unwrap_or_default() }
}

/// # Safety
/// As [`sv`], for a str_const.
unsafe fn cv<'a>(s: *const str_const) -> Option<&'a [u8]> {
    // SAFETY: caller contract.
    unsafe {
        let s = s.as_ref()?;
        Some(if s.s.is_null() || s.len <= 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(s.s as *const u8, s.len as usize)
        })
    }
}

/// The algorithm of an `alg_t` (ALG_UNSPEC: MD5); None for the others.
fn algorithm(a: ffi::alg_t) -> Option<Algorithm> {
    Some(match a {
        0 | 1 => Algorithm::Md5,
        2 => Algorithm::Md5Sess,
        3 => Algorithm::Sha256,
        4 => Algorithm::Sha256Sess,
        5 => Algorithm::Sha512_256,
        6 => Algorithm::Sha512_256Sess,
        _ => return None,
    })
}

fn qop_offer(q: ffi::qop_type_t) -> QopOffer {
    match q {
        1 => QopOffer::Auth,
        2 => QopOffer::AuthInt,
        3 => QopOffer::AuthIntAuth,
        4 => QopOffer::AuthAuthInt,
        _ => QopOffer::None,
    }
}

/// pre_auth's out parameter: the credentials header found.
type HdrOut = *mut *mut hdr_field;

unsafe extern "C" fn api_pre_auth(m: Msg, r: Str, hf: c_int, h: HdrOut, skip: c_uint) -> c_int {
    let (msg, realm, hdr) = (m, r, h);
    guarded("pre_auth", AUTH_ERROR, || {
        PENDING.set(None);
        // SAFETY: the calling module's message (or NULL).
        let Some(m) = (unsafe { SipMsg::from_raw(msg) }) else {
            return AUTH_ERROR;
        };
        if realm.is_null() || hdr.is_null() {
            return AUTH_ERROR;
        }
        let skip = Skip {
            cred_check: skip & ffi::AUTH_SKIP_CRED_CHECK != 0,
            nonce_check: skip & ffi::AUTH_SKIP_NONCE_CHECK != 0,
        };
        // SAFETY: the caller's realm str, valid for the call.
        let given = unsafe { sv(realm) };
        let (pre, used) = server().pre_auth_skip(&m, given, cred_kind(hf), skip);
        // SAFETY: the caller's out pointers; the realm used points into the
        // caller's str or the message (its parsed URI), both alive while
        // the caller handles the request (stock hands out the same).
        unsafe {
            *hdr = pre.hdr.map_or(null_mut(), CredHdr::raw);
            if used.as_ptr() != given.as_ptr() {
                (*realm).s = used.as_ptr() as *mut c_char;
                (*realm).len = used.len() as c_int;
            }
        }
        PENDING.set(Pending::of(&m, msg, pre.hdr, pre.checked));
        code(pre.result)
    })
}

unsafe extern "C" fn api_post_auth(msg: *mut sip_msg, hdr: *mut hdr_field) -> ffi::auth_result_t {
    guarded("post_auth", AUTH_ERROR, || {
        // SAFETY: the calling module's message and the header pre_auth gave it.
        let (Some(m), h) = (unsafe { (SipMsg::from_raw(msg), CredHdr::from_raw(hdr)) }) else {
            return AUTH_ERROR;
        };
        let srv = server();
        // verified elsewhere (auth_aaa): the use pre_auth checked is recorded now
        if let Some(h) = h {
            if let Some(p) = take_pending(m.creds(h).nonce).filter(|p| p.msg == msg) {
                let r = srv.commit(Some((&m, h)), Some(&p.checked));
                if r != AuthResult::Authenticated {
                    return code(r);
                }
            }
        }
        code(srv.post_auth(&m, h, None))
    })
}

/// Writes hex and a NUL into the caller's HASHHEX.
///
/// # Safety
/// `out` points to a HASHHEX (room for 64 hex characters and the NUL).
unsafe fn put_hex(out: *mut HASHHEX, hex: &str) {
    let n = hex.len().min(64);
    // SAFETY: caller contract; at most 65 bytes written.
    unsafe {
        let p = out as *mut u8;
        std::ptr::copy_nonoverlapping(hex.as_ptr(), p, n);
        *p.add(n) = 0;
    }
}

unsafe extern "C" fn api_calc_ha1(params: *const ffi::calc_HA1_arg, out: *mut HASHHEX) -> c_int {
    guarded("calc_HA1", -1, || {
        // SAFETY: the caller's argument block.
        let Some(p) = (unsafe { params.as_ref() }) else {
            return -1;
        };
        let Some(alg) = algorithm(p.alg) else {
            err!("digest algorithm ({}) unsupported", p.alg);
            return -1;
        };
        // SAFETY: the strs and the credential of the argument block.
        let (nonce, cnonce) = unsafe { (sv(p.nonce), sv(p.cnonce)) };
        let hex = if p.use_hashed != 0 {
            // SAFETY: with use_hashed the union holds the HA1 str.
            let h = unsafe { sv(p.creds.ha1) };
            if h.len() != hex_len(alg) {
                err!(
                    "Incorrect length of pre-hashed credentials for the algorithm \"{}\": {} expected, {} provided",
                    alg.name(),
                    hex_len(alg),
                    h.len()
                );
                return -1;
            }
            if alg.is_sess() {
                crate::digest::verify::sess_ha1(alg, h, nonce, cnonce)
            } else {
                String::from_utf8_lossy(h).into_owned()
            }
        } else {
            // SAFETY: without use_hashed the union holds the open credential.
            let Some(c) = (unsafe { p.creds.open.as_ref() }) else {
                return -1;
            };
            // SAFETY: its strs, valid for the call.
            let (user, realm, pw) = unsafe {
                (
                    str_bytes(&c.user),
                    str_bytes(&c.realm),
                    str_bytes(&c.passwd),
                )
            };
            calc_ha1(alg, alg.is_sess(), user, realm, pw, nonce, cnonce)
        };
        // SAFETY: the caller's HASHHEX.
        unsafe { put_hex(out, &hex) };
        0
    })
}

unsafe extern "C" fn api_check_response(
    cred: *const dig_cred_t,
    method: *const str_,
    body: *const str_,
    ha1: *const HASHHEX,
) -> c_int {
    guarded("check_response", -1, || {
        if cred.is_null() || ha1.is_null() {
            return -1;
        }
        // the key has the length of the credentials' algorithm, NUL or not
        // (msrp_relay fills it with the digest library's HA1, unterminated)
        // SAFETY: the credentials the caller parsed (pre_auth's, or its own).
        let Some(alg) = algorithm(unsafe { (*cred).alg.alg_parsed }) else {
            err!("digest algorithm unsupported");
            return -1;
        };
        // SAFETY: the caller's credentials and method; its HASHHEX holds at
        // least the algorithm's hex length.
        let (c, meth, key, int) = unsafe {
            (
                creds_of(cred),
                sv(method),
                std::slice::from_raw_parts(ha1 as *const u8, hex_len(alg)),
                (*cred).qop.qop_parsed == ffi::qop_type_QOP_AUTHINT_D,
            )
        };
        let pending = take_pending(c.nonce);
        // SAFETY: the message pre_auth checked these credentials of, in this
        // same request's handling (the nonce's address matched).
        let m = pending.and_then(|p| unsafe { SipMsg::from_raw(p.msg) });
        let found = m.as_ref().zip(pending.map(|p| p.hdr));
        // the caller's body only for auth-int as the core parsed it (auth_db
        // leaves it unset otherwise)
        // SAFETY: for auth-int the caller filled the body str.
        let body = || if int { unsafe { sv(body) } } else { &[][..] };
        let r = server().check_response(
            found,
            &c,
            meth,
            key,
            body,
            pending.as_ref().map(|p| &p.checked),
        );
        match r {
            AuthResult::Authenticated => 0,
            AuthResult::BadCredentials => 1,
            AuthResult::Error => -1,
            _ => 2,
        }
    })
}

unsafe extern "C" fn api_build_auth_hf(
    ncp: *mut nonce_context,
    np: *mut nonce_params,
    stale: c_int,
    realm: *const str_const,
    len: *mut c_int,
    alg_val: *const str_const,
    hf_name: *const str_const,
    opaque: *const str_const,
) -> *mut c_char {
    guarded("build_auth_hf", null_mut(), || {
        // SAFETY: the caller's nonce context, parameters and strs.
        let (Some(ncp), Some(np), Some(realm), Some(name), alg, opaque) = (unsafe {
            (
                ncp.as_ref(),
                np.as_ref(),
                cv(realm),
                cv(hf_name),
                cv(alg_val),
                cv(opaque),
            )
        }) else {
            return null_mut();
        };
        // SAFETY: the context's secret (the caller's module made it).
        let secret = unsafe { cv(&ncp.secret) }.unwrap_or_default();
        let Some(key) = NonceKey::new(secret) else {
            err!("calc_nonce failed: the nonce context's secret is not 32 bytes");
            return null_mut();
        };
        let p = NonceParams {
            expires_sec: np.expires.tv_sec as u64,
            expires_usec: (np.expires.tv_nsec / 1000) as u32,
            index: np.index,
            qop: np.qop as u8,
            alg: np.alg as u8,
        };
        let nonce = key.issue(&p);
        let mut hf = Vec::with_capacity(200);
        challenge_line(
            &mut hf,
            name,
            realm,
            nonce.as_bytes(),
            qop_offer(np.qop),
            stale != 0,
            alg,
            opaque,
        );
        hf.extend_from_slice(b"\r\n");
        let out = pkg_dup(&hf);
        if !len.is_null() {
            // SAFETY: the caller's length slot.
            unsafe { *len = if out.is_null() { 0 } else { hf.len() as c_int } };
        }
        out
    })
}

/// The header build_auth_info_hf returns (stock: a static str whose buffer
/// the caller frees).
struct InfoHdr(UnsafeCell<str_>);
// SAFETY: OpenSIPS workers are single-threaded processes; only this API
// function, in that one thread, writes it.
unsafe impl Sync for InfoHdr {}
static INFO_HDR: InfoHdr = InfoHdr(UnsafeCell::new(str_ {
    s: null_mut(),
    len: 0,
}));

unsafe extern "C" fn api_build_auth_info_hf(
    body: *mut str_,
    method: *mut str_,
    cred: *mut dig_cred_t,
    auth: *mut digest_auth_credential,
) -> *mut str_ {
    guarded("build_auth_info_hf", null_mut(), || {
        if cred.is_null() || auth.is_null() {
            return null_mut();
        }
        // SAFETY: the caller's credentials, password and strs.
        let (c, user, realm, pw, meth, body) = unsafe {
            let a = &*auth;
            (
                creds_of(cred),
                str_bytes(&a.user),
                str_bytes(&a.realm),
                str_bytes(&a.passwd),
                sv(method),
                sv(body),
            )
        };
        let hdr = match authentication_info(&c, user, realm, pw, meth, body) {
            Ok(h) => h,
            Err(e) => {
                err!("Failed to calculate response: {e}");
                return null_mut();
            }
        };
        let p = pkg_dup(&hdr);
        if p.is_null() {
            err!("no more pkg memory");
            return null_mut();
        }
        let out = INFO_HDR.0.get();
        // SAFETY: our per-process str (see InfoHdr).
        unsafe {
            (*out).s = p;
            (*out).len = hdr.len() as c_int;
        }
        out
    })
}

unsafe extern "C" fn api_send_resp(
    msg: *mut sip_msg,
    code: c_int,
    reason: *const str_,
    hdrs: *const str_,
    nhdrs: c_int,
) -> c_int {
    guarded("send_resp", -1, || {
        // SAFETY: the caller's message.
        let Some(m) = (unsafe { SipMsg::from_raw(msg) }) else {
            return -1;
        };
        for i in 0..nhdrs.max(0) as usize {
            // SAFETY: the caller's array of nhdrs strs.
            let h = unsafe { sv(hdrs.add(i)) };
            if m.add_reply_header(h).is_err() {
                err!("unable to append hdr");
                return -1;
            }
        }
        // SAFETY: NULL or the caller's reason.
        let reason = unsafe { reason.as_ref() }.map(|r| {
            // SAFETY: a valid str.
            String::from_utf8_lossy(unsafe { str_bytes(r) }).into_owned()
        });
        let r = match reason {
            Some(r) => m.send_reply(code as u16, &r, Sending::Auto),
            None => crate::opensips::host::auth::reply_default(&m, code),
        };
        if r.is_ok() {
            0
        } else {
            -1
        }
    })
}

/// Fills the caller's `auth_api_t`; 0, or -1 for a NULL table.
///
/// # Safety
/// `api` is NULL or points to an auth_api_t the caller owns.
pub unsafe extern "C" fn bind_auth(api: *mut auth_api_t) -> c_int {
    guarded("bind_auth", -1, || {
        // SAFETY: caller contract.
        let Some(a) = (unsafe { api.as_mut() }) else {
            err!("invalid parameter value");
            return -1;
        };
        let (id, ty) = super::rpid_avp_ids();
        *a = auth_api_t {
            rpid_avp: id,
            rpid_avp_type: ty,
            pre_auth: Some(api_pre_auth),
            post_auth: Some(api_post_auth),
            calc_HA1: Some(api_calc_ha1),
            check_response: Some(api_check_response),
            build_auth_hf: Some(api_build_auth_hf),
            build_auth_info_hf: Some(api_build_auth_info_hf),
            send_resp: Some(api_send_resp),
        };
        0
    })
}
