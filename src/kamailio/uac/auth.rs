//! uac_auth(): answers the 401/407 of the failed branch by adding an
//! (Proxy-)Authorization header to the request that the next t_relay() sends.

use crate::digest::challenge::{parse_header, Challenge};
use crate::digest::credentials::{parse_credential, select, Credential};
use crate::digest::response::{answer, authorization_header, new_cnonce, RequestInfo, Secret};
use crate::kamailio::host::ffi;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::pv::PvSpec;
use crate::kamailio::host::tm::FailedBranch;
use crate::kamailio::host::{route_type, str_bytes};
use crate::{err, info};
use once_cell::sync::OnceCell;
use std::sync::Mutex;

/// mode bit: the password AVP holds HA1, not the password.
pub const MODE_HA1: i32 = 1;

/// Credentials from `modparam("uac", "credential", ...)`: written while the core
/// reads the config (main process, before fork), read-only afterwards.
static CREDENTIALS: Mutex<Vec<Credential>> = Mutex::new(Vec::new());

/// The auth_realm_avp / auth_username_avp / auth_password_avp specs.
pub struct AuthAvps {
    realm: PvSpec,
    user: PvSpec,
    password: PvSpec,
}

static AUTH_AVPS: OnceCell<Option<AuthAvps>> = OnceCell::new();

/// Adds one `credential` value; called by the core for every modparam line.
pub fn add_credential(value: &str) -> Result<(), String> {
    let c = parse_credential(value)?;
    CREDENTIALS
        .lock()
        .map_err(|_| "credential list poisoned")?
        .push(c);
    Ok(())
}

/// Checks and parses the auth AVP parameters (all three or none), at mod_init.
pub fn init(
    realm: Option<Vec<u8>>,
    user: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
) -> Result<(), String> {
    let avps = match (realm, user, password) {
        (None, None, None) => None,
        (Some(r), Some(u), Some(p)) => Some(AuthAvps {
            realm: PvSpec::parse(&r).map_err(|e| format!("realm: {e}"))?,
            user: PvSpec::parse(&u).map_err(|e| format!("username: {e}"))?,
            password: PvSpec::parse(&p).map_err(|e| format!("password: {e}"))?,
        }),
        _ => return Err("partial definition of auth AVP!".into()),
    };
    let _ = AUTH_AVPS.set(avps);
    Ok(())
}

/// What the lookup found for a challenge.
struct Found {
    user: Vec<u8>,
    secret: Vec<u8>,
}

/// Credentials for the challenge's realm: the AVPs first (an empty realm AVP
/// matches any realm), then the `credential` list.
fn lookup(msg: &SipMsg, ch: &Challenge) -> Option<Found> {
    if let Some(Some(avps)) = AUTH_AVPS.get() {
        let realm_ok = match avps.realm.get(msg) {
            None => true,
            Some(r) => r == ch.realm.as_bytes(),
        };
        if realm_ok {
            if let (Some(user), Some(secret)) = (avps.user.get(msg), avps.password.get(msg)) {
                return Some(Found { user, secret });
            }
        }
    }
    let list = CREDENTIALS.lock().ok()?;
    list.iter()
        .rev() // the stock module searches the most recently added first
        .find(|c| c.realm == ch.realm.as_bytes())
        .map(|c| Found {
            user: c.user.clone(),
            secret: c.password.clone(),
        })
}

/// The (realm, nonce) pairs the branch's request already answered (its
/// Authorization and Proxy-Authorization headers).
fn answered_nonces(sent: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let head = sent
        .split(|&c| c == b'\n')
        .take_while(|l| !l.is_empty() && *l != b"\r");
    head.filter_map(|line| {
        let colon = line.iter().position(|&c| c == b':')?;
        let name = line[..colon].trim_ascii();
        if !name.eq_ignore_ascii_case(b"authorization")
            && !name.eq_ignore_ascii_case(b"proxy-authorization")
        {
            return None;
        }
        // An Authorization value has the shape of a challenge: scheme + params.
        let mut parsed = parse_header(&line[colon + 1..]).ok()?;
        parsed
            .pop()?
            .ok()
            .map(|c| (c.realm.into_bytes(), c.nonce.into_bytes()))
    })
    .collect()
}

/// uac_auth(mode) in failure_route / event_route[tm:branch-failure].
pub fn uac_auth(msg: &SipMsg, mode: i32) -> Result<(), String> {
    let branch_failure = route_type() == ffi::BRANCH_FAILURE_ROUTE;
    let br = FailedBranch::current(branch_failure)?;
    let (proxy, hdr_type, hdr_name) = match br.code {
        401 => (
            false,
            ffi::_hdr_types_t_HDR_WWW_AUTHENTICATE_T,
            "WWW-Authenticate",
        ),
        407 => (
            true,
            ffi::_hdr_types_t_HDR_PROXY_AUTHENTICATE_T,
            "Proxy-Authenticate",
        ),
        c => return Err(format!("reply is not an auth request (code {c})")),
    };
    let bodies = br.reply.header_bodies(hdr_type)?;
    if bodies.is_empty() {
        return Err(format!("reply has no auth hdr ({hdr_name})"));
    }
    let mut challenges = Vec::new();
    for b in bodies {
        match parse_header(b) {
            Ok(list) => challenges.extend(list),
            Err(e) => challenges.push(Err(e)),
        }
    }
    let (ch, found) = select(challenges, |c| lookup(msg, c)).map_err(|e| e.to_string())?;

    // Challenged again with the very nonce the branch answered: the server
    // refused these credentials, and answering again would loop on them. A new
    // nonce is answered, with or without stale=true, as the stock module does
    // (some servers re-challenge that way); tm's branch limit bounds a server
    // that hands out a new nonce on every refusal.
    let pair = (ch.realm.as_bytes().to_vec(), ch.nonce.as_bytes().to_vec());
    if answered_nonces(br.sent()).contains(&pair) {
        return Err(format!(
            "credentials for realm \"{}\" were rejected (challenged again with the nonce already answered)",
            ch.realm
        ));
    }
    if ch.stale {
        info!(
            "stale nonce for realm \"{}\": answering the new challenge",
            ch.realm
        );
    }

    let body = sent_body(br.sent());
    let req = RequestInfo {
        method: msg.method(),
        uri: &br.uri,
        body,
    };
    let secret = if mode & MODE_HA1 != 0 {
        Secret::Ha1(&found.secret)
    } else {
        Secret::Password(&found.secret)
    };
    let a = answer(&ch, &found.user, secret, &req, &new_cnonce()).map_err(|e| e.to_string())?;
    let header =
        authorization_header(proxy, &found.user, &ch, &br.uri, &a).map_err(|e| e.to_string())?;

    msg.rewrite_uri(&br.uri)?;
    msg.append_header(&header)?;
    // As the stock module: flag the transaction's request and let the dialog
    // module (track_cseq_updates) raise CSeq for the rest of the dialog.
    br.mark_uac_auth();
    cseq_update(msg)
}

/// The body of the request as the branch sent it (what auth-int hashes).
fn sent_body(sent: &[u8]) -> &[u8] {
    sent.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[], |p| &sent[p + 4..])
}

fn cseq_update(msg: &SipMsg) -> Result<(), String> {
    // SAFETY: sr_cfgenv_get returns the core's static config environment;
    // cb_cseq_update is set by the dialog module when it tracks CSeq updates.
    unsafe {
        let env = ffi::sr_cfgenv_get();
        if let Some(f) = env.as_ref().and_then(|e| e.cb_cseq_update) {
            if f(msg.raw()) < 0 {
                return Err("dialog CSeq update failed".into());
            }
        }
    }
    Ok(())
}

/// The core's callback for each `credential` modparam (USE_FUNC_PARAM).
///
/// # Safety
/// Called by the core with a NULL or NUL-terminated string.
pub unsafe extern "C" fn credential_param(_type: u32, val: *mut std::ffi::c_void) -> i32 {
    crate::kamailio::host::guard::guarded("credential", -1, || {
        if val.is_null() {
            err!("credential: empty value");
            return -1;
        }
        // SAFETY: for a PARAM_STRING parameter the core passes a C string.
        let s = unsafe { std::ffi::CStr::from_ptr(val as *const std::os::raw::c_char) };
        match add_credential(&s.to_string_lossy()) {
            Ok(()) => 0,
            Err(e) => {
                err!("credential: {e}");
                -1
            }
        }
    })
}

/// Reads a `str` module parameter that may be unset.
pub fn opt_str(s: &ffi::str_) -> Option<Vec<u8>> {
    // SAFETY: set by the core from the config (or NULL).
    (!s.s.is_null()).then(|| unsafe { str_bytes(s) }.to_vec())
}

/// uac_reg_request_to: sets the auth_realm/username/password AVPs (the
/// `auth_*_avp` parameters) for a following uac_auth().
pub fn set_auth_avps(
    msg: &SipMsg,
    realm: &[u8],
    user: &[u8],
    password: &[u8],
) -> Result<(), String> {
    let Some(Some(a)) = AUTH_AVPS.get() else {
        return Err("auth_*_avp parameters not set".into());
    };
    a.realm.set(msg, realm)?;
    a.user.set(msg, user)?;
    a.password.set(msg, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_answered_by_sent_request() {
        let sent = b"INVITE sip:b@x SIP/2.0\r\nVia: x\r\nProxy-Authorization: Digest username=\"a\", realm=\"carrier.net\", nonce=\"n\", uri=\"sip:b@x\", response=\"r\"\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            answered_nonces(sent),
            vec![(b"carrier.net".to_vec(), b"n".to_vec())]
        );
        assert_eq!(sent_body(sent), b"abc");
        assert!(answered_nonces(b"INVITE sip:b@x SIP/2.0\r\nVia: x\r\n\r\n").is_empty());
    }
}
