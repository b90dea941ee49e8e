//! The OpenSIPS 3.6 `auth` module: www_challenge, proxy_challenge,
//! pv_www_authorize, pv_proxy_authorize, consume_credentials,
//! is_rpid_user_e164, append_rpid_hf, the stock parameters, and `bind_auth`
//! (api.rs) for auth_db, auth_aaa, auth_aka, msrp_relay. What they do is the
//! auth-server flow (`crate::flows::auth_server`) with OpenSIPS's rules and
//! nonces; the entry points parse arguments, call it and give its results
//! OpenSIPS's numbers. The table is exported under the C name `exports`
//! only in the build of the `opensips-auth` feature alone.

pub mod api;

use crate::digest::challenge::Algorithm;
use crate::exports::{param, table, Param, ParamCell, Table};
use crate::flows::auth_server::index::NonceIndex;
use crate::flows::auth_server::opensips_nonces::{OpensipsNonceConfig, OpensipsNonces};
use crate::flows::auth_server::{
    rpid, AuthResult, AuthServer, Authorized, HostRules, Lookup, Policy, QopOffer, Secret,
};
use crate::log::guarded;
use crate::opensips::exports::{
    api, cmd, module, module_dep_if, param_dep, Cmd, Deps, DEP_ABORT, END_PARAM_DEP, INT_PARAM,
    STR_PARAM,
};
use crate::opensips::host::auth::{load_signaling, OsProcess, PvSpec};
use crate::opensips::host::avp::AvpName;
use crate::opensips::host::cluster::{join_cluster, Clusterer};
use crate::opensips::host::ffi::{
    self, module_exports, sip_msg, str_, BRANCH_ROUTE, CMD_PARAM_OPT, CMD_PARAM_STR, FAILURE_ROUTE,
    REQUEST_ROUTE,
};
use crate::opensips::host::msg::SipMsg;
use crate::opensips::host::shm::OsLock;
use crate::opensips::host::{log, str_bytes, Opensips};
use crate::ports::credentials::CredKind;
use crate::ports::replicate::{OnReplicated, Replicate};
use crate::{err, info};
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

/// Uses recorded here go to the cluster when `cluster_id` is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cluster(bool);

impl Replicate for Cluster {
    fn send_all(&self, record: &[u8]) -> Result<(), String> {
        if self.0 {
            Clusterer.send_all(record)
        } else {
            Ok(())
        }
    }
}

/// The auth server of this module: OpenSIPS's nonces, their index in
/// OpenSIPS's shared memory.
pub type Nonces = OpensipsNonces<OsProcess, OsLock, Cluster>;
pub type Server = AuthServer<Nonces>;

/// What mod_init fixed, besides the server.
struct Config {
    rpid_prefix: Vec<u8>,
    rpid_suffix: Vec<u8>,
    rpid_avp: Option<AvpName>,
    user_spec: Option<PvSpec>,
    passwd_spec: Option<PvSpec>,
    calc_ha1: bool,
}

static SERVER: OnceCell<Server> = OnceCell::new();
static CONFIG: OnceCell<Config> = OnceCell::new();

pub fn server() -> &'static Server {
    SERVER.get().expect("auth server used before mod_init")
}

fn config() -> &'static Config {
    CONFIG.get().expect("auth config read before mod_init")
}

// ---- parameters (the core writes them while it reads the config) ----

static SECRET: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static NONCE_EXPIRE: ParamCell<c_int> = ParamCell::new(30);
static RPID_PREFIX: ParamCell<*mut c_char> = ParamCell::new(c"".as_ptr() as *mut c_char);
static RPID_SUFFIX: ParamCell<*mut c_char> =
    ParamCell::new(c";party=calling;id-type=subscriber;screen=yes".as_ptr() as *mut c_char);
static REALM_PREFIX: ParamCell<*mut c_char> = ParamCell::new(c"".as_ptr() as *mut c_char);
static RPID_AVP: ParamCell<*mut c_char> = ParamCell::new(c"$avp(rpid)".as_ptr() as *mut c_char);
static USERNAME_SPEC: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static PASSWORD_SPEC: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static CALCULATE_HA1: ParamCell<c_int> = ParamCell::new(0);
static DISABLE_NONCE_CHECK: ParamCell<c_int> = ParamCell::new(0);
/// Not in stock: the clusterer cluster whose nodes share the nonce index
/// (0: none).
static CLUSTER_ID: ParamCell<c_int> = ParamCell::new(0);

/// The capability the nodes share the nonce index under.
const CAPABILITY: &std::ffi::CStr = c"auth-nonce-index";

/// The cluster's records arrive here, in whichever process gets them.
struct IndexSync;

impl OnReplicated for IndexSync {
    fn received(record: &[u8]) {
        let Some(srv) = SERVER.get() else { return };
        if let Err(e) = srv.nonces.apply_record(record) {
            err!("nonce-index record from the cluster: {e}");
        }
    }

    fn snapshot(push: &mut dyn FnMut(&[u8]) -> bool) {
        if let Some(srv) = SERVER.get() {
            srv.nonces.snapshot(push);
        }
    }
}

unsafe extern "C" fn on_load() -> c_int {
    log::install();
    0
}

fn secret() -> Result<Vec<u8>, String> {
    match SECRET.c_str() {
        Some(s) => Ok(s.to_vec()),
        None => {
            use rand::RngCore;
            let mut s = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut s);
            Ok(s)
        }
    }
}

fn spec(name: &str, v: Option<&[u8]>) -> Result<Option<PvSpec>, String> {
    v.map(|s| PvSpec::parse(s).map_err(|e| format!("{e}: {name}")))
        .transpose()
}

fn init() -> Result<(), String> {
    load_signaling()?;
    let expire = NONCE_EXPIRE.get();
    if expire <= 0 {
        return Err(format!("invalid nonce_expire {expire}"));
    }
    let index = DISABLE_NONCE_CHECK.get() == 0;
    let cluster_id = CLUSTER_ID.get();
    if cluster_id > 0 && !index {
        return Err("cluster_id shares the nonce index: it needs disable_nonce_check 0".into());
    }
    let cfg = OpensipsNonceConfig {
        secret: secret()?,
        expire: expire as u32,
        index,
    };
    let rpid_avp = match RPID_AVP.c_str().filter(|s| !s.is_empty()) {
        Some(s) if !s.starts_with(b"$avp(") => {
            return Err(format!(
                "malformed or non AVP {} AVP definition",
                String::from_utf8_lossy(s)
            ))
        }
        Some(s) => Some(AvpName::parse(s).map_err(|e| {
            format!(
                "malformed or non AVP {} AVP definition ({e})",
                String::from_utf8_lossy(s)
            )
        })?),
        None => None,
    };
    let user_spec = spec("username spec", USERNAME_SPEC.c_str())?;
    let passwd_spec = spec("password spec", PASSWORD_SPEC.c_str())?;
    let nonces = Nonces::new(&cfg, OsProcess, Cluster(cluster_id > 0))?;
    let policy = Policy {
        realm_prefix: REALM_PREFIX.c_str().unwrap_or_default().to_vec(),
        qop: None,
        rules: HostRules::OPENSIPS,
        ..Policy::default()
    };
    SERVER
        .set(AuthServer::new(policy, nonces))
        .map_err(|_| "auth mod_init ran twice".to_string())?;
    let _ = CONFIG.set(Config {
        rpid_prefix: RPID_PREFIX.c_str().unwrap_or_default().to_vec(),
        rpid_suffix: RPID_SUFFIX.c_str().unwrap_or_default().to_vec(),
        rpid_avp,
        user_spec,
        passwd_spec,
        calc_ha1: CALCULATE_HA1.get() != 0,
    });
    if cluster_id > 0 {
        join_cluster::<IndexSync>(cluster_id, CAPABILITY)?;
        info!("nonce index shared with cluster {cluster_id}");
    }
    Ok(())
}

unsafe extern "C" fn mod_init() -> c_int {
    info!("initializing...");
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

// ---- results in OpenSIPS's numbers (modules/auth/api.h auth_result_t) ----

pub const AUTH_ERROR: c_int = -5;
const NO_CREDENTIALS: c_int = -4;
const STALE_NONCE: c_int = -3;
const INVALID_PASSWORD: c_int = -2;
const USER_UNKNOWN: c_int = -1;
/// An error after which a reply was sent: the script stops.
const ERROR: c_int = 0;
const AUTHORIZED: c_int = 1;
const DO_AUTHORIZATION: c_int = 2;

pub fn code(r: AuthResult) -> c_int {
    match r {
        AuthResult::Authenticated => AUTHORIZED,
        AuthResult::DoAuthentication => DO_AUTHORIZATION,
        AuthResult::NoCredentials => NO_CREDENTIALS,
        AuthResult::StaleNonce | AuthResult::NonceReused => STALE_NONCE,
        AuthResult::NotAuthenticated | AuthResult::BadCredentials => INVALID_PASSWORD,
        AuthResult::Error => ERROR,
    }
}

// ---- fixups: the qop list and the algorithm list, parsed at start-up ----

/// A qop parameter: `auth`, `auth-int`, or both. Both are printed the other
/// way round, as stock does: its fixup numbers `auth,auth-int` as
/// QOP_AUTH_AUTHINT_D, which it prints `qop="auth-int,auth"` (and puts in
/// the nonce as such); either answer is good.
fn parse_qop(v: &[u8]) -> Option<QopOffer> {
    let mut q = QopOffer::None;
    for t in v.split(|&c| c == b',').map(<[u8]>::trim_ascii) {
        q = match (t, q) {
            (b"auth", QopOffer::AuthInt) => QopOffer::AuthAuthInt,
            (b"auth", _) => QopOffer::Auth,
            (b"auth-int", QopOffer::Auth) => QopOffer::AuthIntAuth,
            (b"auth-int", _) => QopOffer::AuthInt,
            _ => return None,
        };
    }
    Some(q)
}

/// An algorithm list, strongest first as stock prints it (duplicates once);
/// a name OpenSIPS 3.6 does not know (SHA-512) is refused as stock does.
fn parse_algorithms(v: &[u8]) -> Option<Vec<Algorithm>> {
    use crate::digest::aes_nonce::alg_number;
    let mut l = Vec::new();
    for t in v.split(|&c| c == b',').map(<[u8]>::trim_ascii) {
        let a = std::str::from_utf8(t)
            .ok()
            .and_then(Algorithm::parse)
            .filter(|&a| alg_number(a).is_some())?;
        if !l.contains(&a) {
            l.push(a);
        }
    }
    l.sort_by_key(|&a| std::cmp::Reverse(alg_number(a)));
    Some(l)
}

/// Replaces a str parameter by a parsed value kept for the process.
///
/// # Safety
/// `param` is the core's slot of a CMD_PARAM_STR parameter (a `str*`).
unsafe fn fix_with<T: 'static>(
    param: *mut *mut c_void,
    what: &str,
    parse: fn(&[u8]) -> Option<T>,
) -> c_int {
    // SAFETY: caller contract: the slot holds the parameter's str.
    let s = unsafe { (*(param as *mut *mut str_)).as_ref().map(|s| str_bytes(s)) };
    match s.and_then(parse) {
        Some(v) => {
            // SAFETY: the slot now holds our value for the script's life.
            unsafe { *param = Box::into_raw(Box::new(v)) as *mut c_void };
            0
        }
        None => {
            err!(
                "Bad {what}: {}",
                String::from_utf8_lossy(s.unwrap_or_default())
            );
            -1
        }
    }
}

unsafe extern "C" fn fixup_qop(param: *mut *mut c_void) -> c_int {
    // SAFETY: the core calls it with the parameter's slot.
    guarded("fixup_qop", -1, || unsafe {
        fix_with(param, "qop type", parse_qop)
    })
}

unsafe extern "C" fn fixup_algorithms(param: *mut *mut c_void) -> c_int {
    guarded("fixup_algorithms", -1, || {
        // SAFETY: the core calls it with the parameter's slot.
        unsafe {
            fix_with(
                param,
                "list of algorithms (unsupported algorithm type)",
                parse_algorithms,
            )
        }
    })
}

// ---- script functions ----

/// www_challenge / proxy_challenge: 0 when a reply went out (the script
/// stops, as stock), -1 when none could.
fn challenge_entry(
    m: *mut sip_msg,
    realm: *mut str_,
    qop: *mut QopOffer,
    algs: *mut Vec<Algorithm>,
    kind: CredKind,
) -> c_int {
    guarded("challenge", -1, || {
        // SAFETY: the core's message; the realm str and our fixed-up values
        // (NULL when omitted).
        let (Some(msg), realm, qop, algs) = (unsafe {
            (
                SipMsg::from_raw(m),
                realm.as_ref().map(|r| str_bytes(r)).unwrap_or_default(),
                qop.as_ref().copied().unwrap_or(QopOffer::None),
                algs.as_ref(),
            )
        }) else {
            return -1;
        };
        match server().challenge_offer(&msg, realm, qop, algs.map(Vec::as_slice), kind) {
            Ok(()) => 0,
            Err(e) => {
                err!("failed to send the response: {e}");
                -1
            }
        }
    })
}

unsafe extern "C" fn w_www_challenge(
    m: *mut sip_msg,
    r: *mut str_,
    q: *mut QopOffer,
    a: *mut Vec<Algorithm>,
) -> c_int {
    challenge_entry(m, r, q, a, CredKind::Authorization)
}

unsafe extern "C" fn w_proxy_challenge(
    m: *mut sip_msg,
    r: *mut str_,
    q: *mut QopOffer,
    a: *mut Vec<Algorithm>,
) -> c_int {
    challenge_entry(m, r, q, a, CredKind::ProxyAuthorization)
}

/// pv_www_authorize / pv_proxy_authorize: the user and password (or HA1)
/// from username_spec / password_spec.
fn pv_authorize(m: *mut sip_msg, realm: *mut str_, kind: CredKind) -> c_int {
    guarded("pv_authorize", AUTH_ERROR, || {
        // SAFETY: the core's message and the realm str.
        let (Some(msg), realm) = (unsafe {
            (
                SipMsg::from_raw(m),
                realm.as_ref().map(|r| str_bytes(r)).unwrap_or_default(),
            )
        }) else {
            return AUTH_ERROR;
        };
        let cfg = config();
        let r = server().authorize_with(&msg, realm, kind, |c, _| {
            let (Some(us), Some(ps)) = (&cfg.user_spec, &cfg.passwd_spec) else {
                err!("before calling pv_xxx_authorize(), you MUST first define the 'username_spec' and 'password_spec' modparams");
                return Lookup::Error;
            };
            let Some(user) = us.get(&msg) else {
                return Lookup::Error;
            };
            if !user.eq_ignore_ascii_case(c.username) {
                crate::dbg!("username mismatch");
                return Lookup::UserUnknown;
            }
            match ps.get(&msg) {
                None => Lookup::Error,
                Some(pw) if cfg.calc_ha1 => Lookup::Found(Secret::Password(pw)),
                Some(ha1) => Lookup::Found(Secret::Ha1(ha1)),
            }
        });
        match r {
            Authorized::Result(r) => code(r),
            Authorized::UserUnknown => USER_UNKNOWN,
        }
    })
}

unsafe extern "C" fn w_pv_www_authorize(m: *mut sip_msg, r: *mut str_) -> c_int {
    pv_authorize(m, r, CredKind::Authorization)
}

unsafe extern "C" fn w_pv_proxy_authorize(m: *mut sip_msg, r: *mut str_) -> c_int {
    pv_authorize(m, r, CredKind::ProxyAuthorization)
}

unsafe extern "C" fn w_consume_credentials(m: *mut sip_msg) -> c_int {
    guarded("consume_credentials", -1, || {
        // SAFETY: the core's message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        if server().consume_credentials(&msg) {
            1
        } else {
            -1
        }
    })
}

unsafe extern "C" fn w_is_rpid_user_e164(_m: *mut sip_msg) -> c_int {
    guarded("is_rpid_user_e164", -1, || {
        if rpid::is_rpid_user_e164(&Opensips, config().rpid_avp.as_ref()) {
            1
        } else {
            -1
        }
    })
}

unsafe extern "C" fn w_append_rpid_hf(m: *mut sip_msg, p: *mut str_, s: *mut str_) -> c_int {
    guarded("append_rpid_hf", -1, || {
        // SAFETY: the core's message and the optional strs (NULL when omitted).
        let (Some(msg), p, s) = (unsafe {
            (
                SipMsg::from_raw(m),
                p.as_ref().map(|v| str_bytes(v)),
                s.as_ref().map(|v| str_bytes(v)),
            )
        }) else {
            return -1;
        };
        let cfg = config();
        let (prefix, suffix) = match (p, s) {
            (Some(p), Some(s)) => (p, s),
            (None, None) => (cfg.rpid_prefix.as_slice(), cfg.rpid_suffix.as_slice()),
            _ => {
                err!("Bad parameters");
                return -1;
            }
        };
        if rpid::append_rpid_hf(&Opensips, &msg, cfg.rpid_avp.as_ref(), prefix, suffix) {
            1
        } else {
            -1
        }
    })
}

// ---- tables ----

const OPT_STR: u32 = CMD_PARAM_STR | CMD_PARAM_OPT;

table! {
    static CMDS: [Cmd] = [
        cmd!("www_challenge", w_www_challenge,
            [{CMD_PARAM_STR, 0, 0}, {OPT_STR, fixup_qop, 0}, {OPT_STR, fixup_algorithms, 0}],
            REQUEST_ROUTE),
        cmd!("proxy_challenge", w_proxy_challenge,
            [{CMD_PARAM_STR, 0, 0}, {OPT_STR, fixup_qop, 0}, {OPT_STR, fixup_algorithms, 0}],
            REQUEST_ROUTE),
        cmd!("pv_www_authorize", w_pv_www_authorize, [{CMD_PARAM_STR, 0, 0}], REQUEST_ROUTE),
        cmd!("pv_proxy_authorize", w_pv_proxy_authorize, [{CMD_PARAM_STR, 0, 0}], REQUEST_ROUTE),
        cmd!("consume_credentials", w_consume_credentials, [], REQUEST_ROUTE),
        cmd!("is_rpid_user_e164", w_is_rpid_user_e164, [], REQUEST_ROUTE),
        cmd!("append_rpid_hf", w_append_rpid_hf, [{OPT_STR, 0, 0}, {OPT_STR, 0, 0}],
            REQUEST_ROUTE | BRANCH_ROUTE | FAILURE_ROUTE),
        // Not a script function: auth_db & co. find it with find_export("bind_auth").
        api!("bind_auth", api::bind_auth),
    ];
}

table! {
    static PARAMS: [Param] = [
        param!("secret", STR_PARAM, SECRET),
        param!("nonce_expire", INT_PARAM, NONCE_EXPIRE),
        param!("rpid_prefix", STR_PARAM, RPID_PREFIX),
        param!("rpid_suffix", STR_PARAM, RPID_SUFFIX),
        param!("realm_prefix", STR_PARAM, REALM_PREFIX),
        param!("rpid_avp", STR_PARAM, RPID_AVP),
        param!("username_spec", STR_PARAM, USERNAME_SPEC),
        param!("password_spec", STR_PARAM, PASSWORD_SPEC),
        param!("calculate_ha1", INT_PARAM, CALCULATE_HA1),
        param!("disable_nonce_check", INT_PARAM, DISABLE_NONCE_CHECK),
        param!("cluster_id", INT_PARAM, CLUSTER_ID),
    ];
}

/// clusterer is initialised first when cluster_id is set (stock modules'
/// get_deps_clusterer).
unsafe extern "C" fn deps_cluster_id(
    _p: *const ffi::param_export_t,
) -> *mut ffi::module_dependency_t {
    guarded("deps_cluster_id", null_mut(), || {
        module_dep_if(CLUSTER_ID.get() > 0, c"clusterer")
    })
}

static DEPS: Deps<2> = Deps::new(
    &[(b"signaling\0", DEP_ABORT)],
    [param_dep(c"cluster_id", deps_cluster_id), END_PARAM_DEP],
);

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "opensips-auth", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(module(
    b"auth\0",
    DEPS.as_ptr(),
    CMDS.as_ptr() as *const Cmd,
    PARAMS.as_ptr() as *const Param,
    on_load,
    mod_init,
));

/// The rpid AVP's (id, type) for the API ((-1, 0) when none, as stock).
fn rpid_avp_ids() -> (c_int, c_int) {
    CONFIG
        .get()
        .and_then(|c| c.rpid_avp.as_ref())
        .map_or((-1, 0), AvpName::ids)
}

/// The index, for the API and tests.
pub fn index() -> Option<&'static NonceIndex<OsLock, Cluster>> {
    SERVER.get().and_then(|s| s.nonces.index())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qop_and_algorithm_lists() {
        assert_eq!(parse_qop(b"auth"), Some(QopOffer::Auth));
        assert_eq!(parse_qop(b"auth-int"), Some(QopOffer::AuthInt));
        assert_eq!(parse_qop(b"auth,auth-int"), Some(QopOffer::AuthIntAuth));
        assert_eq!(parse_qop(b"auth-int, auth"), Some(QopOffer::AuthAuthInt));
        assert_eq!(parse_qop(b"auth-conf"), None);
        assert_eq!(
            parse_algorithms(b"MD5,SHA-256,sha-512-256-sess"),
            Some(vec![
                Algorithm::Sha512_256Sess,
                Algorithm::Sha256,
                Algorithm::Md5
            ])
        );
        assert_eq!(parse_algorithms(b"MD5,SHA-1"), None);
    }
}
