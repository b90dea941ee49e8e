//! `bind_auth_s`: the C API auth_db, auth_ephemeral and auth_radius load with
//! `auth_load_api()`. The table is bindgen's `auth_api_s` from the installed
//! modules/auth/api.h, so its layout is 5.6.3's by construction.

use super::params::try_config;
use super::server::{self, AUTH_ERROR, ERROR};
use crate::digest::challenge::Qop;
use crate::err;
use crate::exports::ParamCell;
use crate::kamailio::host::ffi::{
    self, auth_api_s, check_auth_hdr_t, dig_cred_t, hdr_field, sip_msg, str_,
};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::str_bytes;
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
    guarded("pre_auth", ERROR, || {
        if msg.is_null() || realm.is_null() || hdr.is_null() {
            return ERROR;
        }
        // SAFETY: the calling module passes its message, realm and out pointer.
        unsafe {
            let cfg = super::params::config();
            let r = str_bytes(&*realm);
            if cfg.panic_probe && r == super::params::PANIC_PROBE_REALM {
                panic!("panic probe triggered in pre_auth (called from C)");
            }
            let stripped = server::strip_realm(cfg, r);
            // strip_realm changes the caller's realm, as the stock module does
            let cut = (r.len() - stripped.len()) as i32;
            (*realm).s = (*realm).s.add(cut as usize);
            (*realm).len -= cut;
            if let Some(f) = check {
                // an external header check (IMS modules): find and mark, then theirs
                let (res, h) = server::pre_auth_find(msg, stripped, hftype);
                *hdr = h;
                if res != server::DO_AUTHENTICATION {
                    return res;
                }
                let mut rv: ffi::auth_result_t = 0;
                if f(msg, (*h).parsed as *mut ffi::auth_body_t, &mut rv) == 0 {
                    return rv;
                }
                return server::DO_AUTHENTICATION;
            }
            let (res, h) = server::pre_auth(msg, stripped, hftype);
            *hdr = h;
            res
        }
    })
}

unsafe extern "C" fn api_post_auth(
    msg: *mut sip_msg,
    hdr: *mut hdr_field,
    ha1: *mut c_char,
) -> ffi::auth_result_t {
    guarded("post_auth", ERROR, || {
        if msg.is_null() {
            return ERROR;
        }
        // SAFETY: ha1 is NULL or the NUL-terminated HA1 the caller computed.
        let h1 = unsafe { cstr_bytes(ha1) };
        server::post_auth(msg, hdr, h1)
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
        // SAFETY: strs from the calling module, NULL or valid.
        let (r, n, a) = unsafe {
            (
                sv(realm),
                (!nonce.is_null()).then(|| sv(nonce)),
                (!algorithm.is_null()).then(|| sv(algorithm)),
            )
        };
        server::build_challenge(msg, stale != 0, r, n, a, hftype)
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
            let h = server::calc_ha1(
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
            let r = server::calc_response(
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
    guarded("check_response", ERROR, || {
        if cred.is_null() {
            return ERROR;
        }
        // SAFETY: the credentials pre_auth returned; method str; NUL-terminated HA1.
        unsafe {
            let h = cstr_bytes(ha1).unwrap_or(b"");
            server::check_response(cred, sv(method), h)
        }
    })
}

unsafe extern "C" fn api_auth_challenge_hftype(
    msg: *mut sip_msg,
    realm: *mut str_,
    flags: c_int,
    hftype: c_int,
) -> c_int {
    guarded("auth_challenge_hftype", -1, || {
        if msg.is_null() {
            return -1;
        }
        // SAFETY: the caller's realm.
        let r = unsafe { sv(realm) }.to_vec();
        server::challenge(msg, &r, flags, hftype, None)
    })
}

unsafe extern "C" fn api_pv_authenticate(
    msg: *mut sip_msg,
    realm: *mut str_,
    passwd: *mut str_,
    flags: c_int,
    hftype: c_int,
    method: *mut str_,
) -> c_int {
    guarded("pv_authenticate", AUTH_ERROR, || {
        if msg.is_null() {
            return AUTH_ERROR;
        }
        // SAFETY: the caller's strs.
        let (r, p, m) = unsafe { (sv(realm).to_vec(), sv(passwd).to_vec(), sv(method).to_vec()) };
        server::pv_authenticate(msg, &r, &p, flags, hftype, &m)
    })
}

unsafe extern "C" fn api_consume_credentials(msg: *mut sip_msg) -> c_int {
    guarded("consume_credentials", -1, || {
        server::consume_credentials(msg)
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
        (*q).qop_parsed = match cfg.qop {
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
