//! The `uac_auth_api_t` functions (3.6.8 layout and semantics), computed by the
//! pure digest client (src/digest):
//! - `_lookup_realm(realm)`: the credential for a realm, the auth AVPs first,
//!   then the `credential` list (last configured first, as stock);
//! - `_do_uac_auth(...)`: the response to one parsed challenge, with nc
//!   00000001 and a cnonce from the OS random source (stock derives it from
//!   the nonce); a password `0x<HA1>` is used as HA1;
//! - `_build_authorization_hdr(...)`: the (Proxy-)Authorization line, field
//!   for field what stock sends, in pkg memory behind a static `str` that the
//!   caller frees (and clears).
//!
//! The callers pass `struct digest_auth_response` through from `_do_uac_auth`
//! to `_build_authorization_hdr` untouched: we keep the binary hash in
//! `RespHash` as stock does; `digest_calc` is NULL (the core does not export
//! its calculators; no stock caller reads it).

use crate::digest::challenge::{Algorithm, Challenge, Qop};
use crate::digest::response::{
    answer, authorization_header, new_cnonce, to_hex, Answer, RequestInfo,
};
use crate::digest::stored_secret::{from_hex, parse_credential_strict, secret_of};
use crate::log::guarded;
use crate::opensips::host::avp::AvpName;
use crate::opensips::host::ffi::{
    self, authenticate_body, authenticate_nc_cnonce, digest_auth_response, str_, str_const,
    uac_credential,
};
use crate::opensips::host::{pkg_dup, str_bytes};
use crate::{dbg, err, warn};
use once_cell::sync::OnceCell;
use std::cell::UnsafeCell;
use std::os::raw::{c_char, c_int};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Head of the `credential` list: built while the core reads the config (main
/// process, before fork), read-only afterwards. Entries live for the process.
static CRD_LIST: AtomicPtr<uac_credential> = AtomicPtr::new(null_mut());

struct AuthAvps {
    realm: AvpName,
    user: AvpName,
    password: AvpName,
}

static AUTH_AVPS: OnceCell<Option<AuthAvps>> = OnceCell::new();

/// Per-process storage that C callers see through pointers we return, as the
/// stock module's function-local statics: each worker is one thread.
struct ProcessLocal<T>(UnsafeCell<T>);
// SAFETY: OpenSIPS workers are single-threaded processes; the value is only
// touched from the API functions running in that one thread.
unsafe impl<T> Sync for ProcessLocal<T> {}

/// The credential built from the AVPs (stock: a static in get_avp_credential).
static AVP_CRD: ProcessLocal<uac_credential> = ProcessLocal(UnsafeCell::new(uac_credential {
    auth_data: ffi::digest_auth_credential {
        realm: str_ {
            s: null_mut(),
            len: 0,
        },
        user: str_ {
            s: null_mut(),
            len: 0,
        },
        passwd: str_ {
            s: null_mut(),
            len: 0,
        },
    },
    next: null_mut(),
}));

/// The cnonce of the last `_do_uac_auth` (the caller's nc/cnonce point here).
static CNONCE: ProcessLocal<[u8; 32]> = ProcessLocal(UnsafeCell::new([0; 32]));
static NC: &[u8] = b"00000001";

/// The header `_build_authorization_hdr` returns (stock: a static `str`).
static AUTH_HDR: ProcessLocal<str_> = ProcessLocal(UnsafeCell::new(str_ {
    s: null_mut(),
    len: 0,
}));

fn leak_str(b: &[u8]) -> str_ {
    let b: &'static mut [u8] = Box::leak(b.to_vec().into_boxed_slice());
    str_ {
        s: b.as_mut_ptr() as *mut c_char,
        len: b.len() as c_int,
    }
}

/// One `credential` line: parsed as stock, prepended to the list.
pub fn add_credential(line: &[u8]) -> Result<(), String> {
    let c = parse_credential_strict(line).map_err(|at| {
        format!(
            "parse error in <{}> around {at}",
            String::from_utf8_lossy(line)
        )
    })?;
    let crd = Box::leak(Box::new(uac_credential {
        auth_data: ffi::digest_auth_credential {
            realm: leak_str(&c.realm),
            user: leak_str(&c.user),
            passwd: leak_str(&c.password),
        },
        next: CRD_LIST.load(Ordering::Relaxed),
    }));
    CRD_LIST.store(crd, Ordering::Relaxed);
    Ok(())
}

/// The three auth AVP parameters: all or none (stock errors).
pub fn init_avps(
    realm: Option<&[u8]>,
    user: Option<&[u8]>,
    password: Option<&[u8]>,
) -> Result<(), String> {
    let avps = match (realm, user, password) {
        (None, None, None) => None,
        (Some(r), Some(u), Some(p)) => {
            let parse = |spec: &[u8], what: &str| {
                AvpName::parse(spec)
                    .map_err(|e| format!("malformed or non AVP {what} AVP definition ({e})"))
            };
            Some(AuthAvps {
                realm: parse(r, "realm")?,
                user: parse(u, "username")?,
                password: parse(p, "password")?,
            })
        }
        _ => return Err("partial definition of auth AVP!".into()),
    };
    let _ = AUTH_AVPS.set(avps);
    Ok(())
}

/// The credential from the AVPs when the realm AVP names this realm and the
/// user and password AVPs are set (non-empty strings).
fn avp_credential(realm: &[u8]) -> Option<*mut uac_credential> {
    let avps = AUTH_AVPS.get()?.as_ref()?;
    let r = avps.realm.first_str()?;
    if r != realm {
        return None;
    }
    let u = avps.user.first_str()?;
    let p = avps.password.first_str()?;
    let crd = AVP_CRD.0.get();
    let as_str = |b: &[u8]| str_ {
        s: b.as_ptr() as *mut c_char,
        len: b.len() as c_int,
    };
    // SAFETY: per-process static, single-threaded worker (see ProcessLocal);
    // the strings point into the message's AVPs, valid while it is processed,
    // as in the stock module.
    unsafe {
        (*crd).auth_data.realm = as_str(r);
        (*crd).auth_data.user = as_str(u);
        (*crd).auth_data.passwd = as_str(p);
    }
    Some(crd)
}

fn lookup(realm: &[u8]) -> *mut uac_credential {
    if let Some(c) = avp_credential(realm) {
        return c;
    }
    let mut c = CRD_LIST.load(Ordering::Relaxed);
    // SAFETY: the list is built before fork and never freed; each node and its
    // strings live for the process.
    unsafe {
        while let Some(crd) = c.as_ref() {
            if str_bytes(&crd.auth_data.realm) == realm {
                return c;
            }
            c = crd.next;
        }
    }
    null_mut()
}

/// `_lookup_realm(realm)`: NULL when there is no credential for it.
///
/// # Safety
/// Called by OpenSIPS modules with a valid `str` (or NULL).
pub unsafe extern "C" fn lookup_realm(realm: *mut str_) -> *mut uac_credential {
    guarded("lookup_realm", null_mut(), || {
        // SAFETY: the caller passes the challenge's realm (or NULL).
        let Some(r) = (unsafe { realm.as_ref() }) else {
            return null_mut();
        };
        // SAFETY: as above: the str's bytes are valid for this call.
        lookup(unsafe { str_bytes(r) })
    })
}

/// The core's algorithm code -> ours. AKA variants hash as their base
/// algorithm, as the stock calculators do.
fn algorithm(a: ffi::alg_t) -> Option<Algorithm> {
    Some(match a {
        ffi::alg_ALG_UNSPEC
        | ffi::alg_ALG_MD5
        | ffi::alg_ALG_AKAv1_MD5
        | ffi::alg_ALG_AKAv2_MD5 => Algorithm::Md5,
        ffi::alg_ALG_MD5SESS | ffi::alg_ALG_AKAv1_MD5SESS | ffi::alg_ALG_AKAv2_MD5SESS => {
            Algorithm::Md5Sess
        }
        ffi::alg_ALG_SHA256 | ffi::alg_ALG_AKAv1_SHA256 | ffi::alg_ALG_AKAv2_SHA256 => {
            Algorithm::Sha256
        }
        ffi::alg_ALG_SHA256SESS | ffi::alg_ALG_AKAv1_SHA256SESS | ffi::alg_ALG_AKAv2_SHA256SESS => {
            Algorithm::Sha256Sess
        }
        ffi::alg_ALG_SHA512_256 | ffi::alg_ALG_AKAv1_SHA512_256 | ffi::alg_ALG_AKAv2_SHA512_256 => {
            Algorithm::Sha512_256
        }
        ffi::alg_ALG_SHA512_256SESS
        | ffi::alg_ALG_AKAv1_SHA512_256SESS
        | ffi::alg_ALG_AKAv2_SHA512_256SESS => Algorithm::Sha512_256Sess,
        _ => return None,
    })
}

/// The qop stock answers with: auth if offered, else auth-int.
fn qop(flags: c_int) -> Option<Qop> {
    let f = flags as u32;
    if f & ffi::QOP_AUTH != 0 {
        Some(Qop::Auth)
    } else if f & ffi::QOP_AUTH_INT != 0 {
        Some(Qop::AuthInt)
    } else {
        None
    }
}

fn text(what: &str, b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
}

/// The challenge as the pure client sees it. The realm is the credential's
/// (stock hashes and sends the credential's realm).
///
/// # Safety
/// `auth` and `crd` must be valid for the call.
unsafe fn challenge(auth: &authenticate_body, crd: &uac_credential) -> Result<Challenge, String> {
    let alg = algorithm(auth.algorithm)
        .ok_or_else(|| format!("digest algorithm ({}) unsupported", auth.algorithm))?;
    // SAFETY: the strings point into the reply the caller parsed, or are empty.
    let (realm, nonce, opaque) = unsafe {
        (
            str_bytes(&crd.auth_data.realm),
            str_bytes(&auth.nonce),
            str_bytes(&auth.opaque),
        )
    };
    Ok(Challenge {
        realm: text("realm", realm)?,
        nonce: text("nonce", nonce)?,
        opaque: (!opaque.is_empty())
            .then(|| text("opaque", opaque))
            .transpose()?,
        algorithm: Ok(alg),
        qop: Ok(qop(auth.flags)),
        stale: auth.flags as u32 & ffi::AUTHENTICATE_STALE != 0,
    })
}

/// `_do_uac_auth(...)`: 0 and the response filled, or -1 with one log line.
///
/// # Safety
/// Called by OpenSIPS modules with valid pointers (or NULL) as in the 3.6.8 API.
pub unsafe extern "C" fn do_uac_auth(
    msg_body: *mut str_,
    method: *mut str_,
    uri: *mut str_,
    crd: *mut uac_credential,
    auth: *mut authenticate_body,
    auth_nc_cnonce: *mut authenticate_nc_cnonce,
    response: *mut digest_auth_response,
) -> c_int {
    guarded("do_uac_auth", -1, || {
        // SAFETY: the callers (uac, uac_registrant, b2b_entities, msrp_ua) pass
        // their own valid structs; NULLs are refused.
        let r = unsafe { do_auth(msg_body, method, uri, crd, auth, auth_nc_cnonce, response) };
        match r {
            Ok(()) => 0,
            Err(e) => {
                err!("do_uac_auth: {e}");
                -1
            }
        }
    })
}

unsafe fn do_auth(
    msg_body: *mut str_,
    method: *mut str_,
    uri: *mut str_,
    crd: *mut uac_credential,
    auth: *mut authenticate_body,
    nc_cnonce: *mut authenticate_nc_cnonce,
    response: *mut digest_auth_response,
) -> Result<(), String> {
    // SAFETY: see do_uac_auth; each pointer is checked before use.
    unsafe {
        let (Some(crd), Some(auth), Some(method), Some(uri), Some(resp)) = (
            crd.as_ref(),
            auth.as_ref(),
            method.as_ref(),
            uri.as_ref(),
            response.as_mut(),
        ) else {
            return Err("missing argument".into());
        };
        let ch = challenge(auth, crd)?;
        let alg = ch.algorithm.clone().map_err(|a| a.to_string())?;
        let q = qop(auth.flags);
        if alg.is_sess() && q.is_none() {
            // RFC 7616: the -sess HA1 needs the cnonce, which only a qop
            // answer carries (stock dereferences a NULL cnonce here).
            return Err(format!("{} challenge without qop", alg.name()));
        }
        // The body is read only for auth-int: callers leave it unset otherwise.
        let body = match (q, msg_body.as_ref()) {
            (Some(Qop::AuthInt), Some(b)) => str_bytes(b),
            _ => &[],
        };
        let req = RequestInfo {
            method: str_bytes(method),
            uri: str_bytes(uri),
            body,
        };
        let user = str_bytes(&crd.auth_data.user);
        let secret = secret_of(str_bytes(&crd.auth_data.passwd), alg);
        let cnonce = new_cnonce();
        let a = answer(&ch, user, secret, &req, &cnonce).map_err(|e| e.to_string())?;
        let hash = from_hex(a.response.as_bytes()).ok_or("bad response hash")?;
        let dst = &mut resp.RespHash as *mut ffi::HASH as *mut u8;
        if hash.len() > std::mem::size_of::<ffi::HASH>() {
            return Err("response hash too long".into());
        }
        std::ptr::copy_nonoverlapping(hash.as_ptr(), dst, hash.len());
        resp.digest_calc = std::ptr::null();
        if q.is_some() {
            let Some(nc) = nc_cnonce.as_mut() else {
                return Err("missing nc/cnonce argument".into());
            };
            let buf = &mut *CNONCE.0.get();
            let n = cnonce.len().min(buf.len());
            buf[..n].copy_from_slice(&cnonce.as_bytes()[..n]);
            nc.nc = str_const {
                s: NC.as_ptr() as *const c_char,
                len: NC.len() as c_int,
            };
            nc.cnonce = str_const {
                s: buf.as_ptr() as *const c_char,
                len: n as c_int,
            };
        }
        Ok(())
    }
}

/// `_build_authorization_hdr(...)`: the header line in pkg memory behind a
/// static `str`, or NULL with one log line.
///
/// # Safety
/// Called by OpenSIPS modules with valid pointers (or NULL) as in the 3.6.8 API.
pub unsafe extern "C" fn build_authorization_hdr(
    code: c_int,
    uri: *mut str_,
    crd: *mut uac_credential,
    auth: *mut authenticate_body,
    auth_nc_cnonce: *mut authenticate_nc_cnonce,
    response: *const digest_auth_response,
) -> *mut str_ {
    guarded("build_authorization_hdr", null_mut(), || {
        // SAFETY: as for do_uac_auth.
        match unsafe { build_hdr(code, uri, crd, auth, auth_nc_cnonce, response) } {
            Ok(h) => h,
            Err(e) => {
                err!("build_authorization_hdr: {e}");
                null_mut()
            }
        }
    })
}

unsafe fn build_hdr(
    code: c_int,
    uri: *mut str_,
    crd: *mut uac_credential,
    auth: *mut authenticate_body,
    nc_cnonce: *mut authenticate_nc_cnonce,
    response: *const digest_auth_response,
) -> Result<*mut str_, String> {
    // SAFETY: see build_authorization_hdr; each pointer is checked.
    unsafe {
        let (Some(crd), Some(auth), Some(uri), Some(resp)) =
            (crd.as_ref(), auth.as_ref(), uri.as_ref(), response.as_ref())
        else {
            return Err("missing argument".into());
        };
        let ch = challenge(auth, crd)?;
        let alg = ch.algorithm.clone().map_err(|a| a.to_string())?;
        let q = qop(auth.flags);
        let (nc, cnonce) = match (q, nc_cnonce.as_ref()) {
            (None, _) => (String::new(), String::new()),
            (Some(_), Some(n)) => {
                let b = |s: &str_const| {
                    if s.s.is_null() || s.len <= 0 {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(s.s as *const u8, s.len as usize)
                    }
                };
                (text("nc", b(&n.nc))?, text("cnonce", b(&n.cnonce))?)
            }
            (Some(_), None) => return Err("missing nc/cnonce argument".into()),
        };
        let hash_len = crate::digest::response::hex_len(alg) / 2;
        let hash =
            std::slice::from_raw_parts(&resp.RespHash as *const ffi::HASH as *const u8, hash_len);
        let a = Answer {
            algorithm: alg,
            qop: q,
            nc,
            cnonce,
            response: to_hex(hash),
        };
        let line = authorization_header(
            code != 401,
            str_bytes(&crd.auth_data.user),
            &ch,
            str_bytes(uri),
            &a,
        )
        .map_err(|e| e.to_string())?;
        let hdr = &mut *AUTH_HDR.0.get();
        if !hdr.s.is_null() || hdr.len != 0 {
            warn!("potential memory leak at addr: {:p}", hdr.s);
        }
        let p = pkg_dup(&line);
        if p.is_null() {
            return Err("no more pkg mem".into());
        }
        hdr.s = p;
        hdr.len = line.len() as c_int;
        dbg!(
            "auth_hdr is <{}>",
            String::from_utf8_lossy(&line).trim_end()
        );
        Ok(hdr as *mut str_)
    }
}
