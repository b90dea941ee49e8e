//! uac_auth(): answers the 401/407 of the failed branch by adding an
//! (Proxy-)Authorization header to the request that the next t_relay() sends.

use crate::digest::challenge::Challenge;
use crate::digest::credentials::{parse_credential, Credential};
use crate::flows::digest_client::{self, BodyOf, Creds, Policy, Stored};
use crate::kamailio::host::ffi;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::pv::PvSpec;
use crate::kamailio::host::str_bytes;
use crate::kamailio::host::tm::Tm;
use crate::ports::message::Mark;
use crate::ports::transaction::Transactions;
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

/// Credentials for the challenge's realm: the AVPs first (an empty realm AVP
/// matches any realm), then the `credential` list. `mode` bit 0: the
/// password AVP holds HA1.
fn lookup(msg: &SipMsg, ch: &Challenge, mode: i32) -> Option<Creds> {
    if let Some(Some(avps)) = AUTH_AVPS.get() {
        let realm_ok = match avps.realm.get(msg) {
            None => true,
            Some(r) => r == ch.realm.as_bytes(),
        };
        if realm_ok {
            if let (Some(user), Some(secret)) = (avps.user.get(msg), avps.password.get(msg)) {
                let secret = if mode & MODE_HA1 != 0 {
                    Stored::Ha1(secret)
                } else {
                    Stored::Password(secret)
                };
                return Some(Creds { user, secret });
            }
        }
    }
    let list = CREDENTIALS.lock().ok()?;
    list.iter()
        .rev() // the stock module searches the most recently added first
        .find(|c| c.realm == ch.realm.as_bytes())
        .map(|c| Creds {
            user: c.user.clone(),
            secret: if mode & MODE_HA1 != 0 {
                Stored::Ha1(c.password.clone())
            } else {
                Stored::Password(c.password.clone())
            },
        })
}

/// uac_auth(mode) in failure_route / event_route[tm:branch-failure].
pub fn uac_auth(msg: &SipMsg, mode: i32) -> Result<(), String> {
    let a = digest_client::uac_auth(&Tm, msg, &Policy::AS_OFFERED, BodyOf::Sent, |c| {
        lookup(msg, c, mode)
    })
    .map_err(|e| e.to_string())?;
    if a.stale {
        info!(
            "stale nonce for realm \"{}\": answering the new challenge",
            a.realm
        );
    }
    // As the stock module: flag the transaction's request and let the dialog
    // module (track_cseq_updates) raise CSeq for the rest of the dialog.
    Tm.mark_request(Mark::UacAuth);
    cseq_update(msg)
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
