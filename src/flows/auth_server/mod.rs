//! The digest auth server, written once over the ports: challenges, the
//! pre_auth / check_response / post_auth steps that modules like auth_db
//! call through the host's auth API, pv_authenticate and pv_auth_check
//! (password from the script), consume_credentials, has_credentials and the
//! API's build_challenge.
//!
//! What differs between hosts stays outside: the nonce format
//! ([`nonce::NonceScheme`]), the configuration ([`Policy`]), and how results
//! are numbered (the flow gives [`AuthResult`] and [`Verdict`]; each host
//! module maps them to its own return codes).
//!
//! The order of the checks is Kamailio 5.6.3's: find and mark the
//! credentials, the core's required fields, the nonce (checked, nothing used
//! up), then, once the caller has the user's HA1, the answer (offered
//! algorithm, qop, response in constant time, auth-int over the real body);
//! only a matching response uses up the nonce count or one-time slot.

pub mod index;
pub mod nonce;
pub mod opensips_nonces;
pub mod rpid;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_opensips;

use crate::digest::challenge::{Algorithm, Qop};
use crate::digest::response::{hash_hex, hex_len};
use crate::digest::verify::{self, check_offered, Creds, Offered, Refusal};
use crate::ports::credentials::{AuthRequest, CredKind, Method, UriOf};
use crate::ports::reply::{Reply, Sending};
use crate::{dbg, err};
use nonce::{NonceClass, NonceScheme};

/// The server's configuration, host-neutral (each host fills it from its
/// own parameters).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Stripped from the front of a realm before it is used.
    pub realm_prefix: Vec<u8>,
    /// The challenge header names (401, 407).
    pub www_header: Vec<u8>,
    pub proxy_header: Vec<u8>,
    /// The algorithm of credentials that name none, and the one challenges
    /// print (None: MD5, printed by no `algorithm` directive).
    pub algorithm: Option<Algorithm>,
    /// `algorithm` as configured, printed as is.
    pub algorithm_str: Vec<u8>,
    /// Several challenges, one line per algorithm in this order (RFC 8760);
    /// empty: one line.
    pub algorithms: Vec<Algorithm>,
    /// The qop of challenges built through the API (build_challenge).
    pub qop: Option<Qop>,
    /// How challenges are sent.
    pub sending: Sending,
    /// pv_auth_check compares domains as well as users.
    pub use_domain: bool,
    /// post_auth adds Authentication-Info.
    pub authinfo: bool,
    /// What the two hosts' auth modules do differently around the same
    /// steps.
    pub rules: HostRules,
}

/// The steps' differences between Kamailio 5.6.3's and OpenSIPS 3.6.8's
/// auth modules, as values ([`HostRules::KAMAILIO`], [`HostRules::OPENSIPS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRules {
    /// PRACK passes pre_auth as ACK and CANCEL do (Kamailio).
    pub prack_passes: bool,
    /// pre_auth checks the required fields before it marks the credentials
    /// authorized (OpenSIPS), not after (Kamailio).
    pub fields_first: bool,
    /// pre_auth answers its own errors (400 for credentials it cannot use,
    /// 500 for its own failures) before it returns Error (OpenSIPS).
    pub error_replies: bool,
    /// An empty realm is the host of the To URI (REGISTER answering a 401)
    /// or of the From URI, without realm_prefix (OpenSIPS).
    pub realm_from_uri: bool,
    /// pre_auth refuses fields over MAX_FIELD_LEN (Kamailio); without it
    /// check_response does (OpenSIPS: the user is looked up first, as the
    /// stock return codes expect).
    pub early_length_check: bool,
    /// A challenge says stale=true when the credentials marked authorized
    /// (of the challenge's kind) were stale (OpenSIPS), not when those of
    /// the realm were (Kamailio).
    pub stale_from_authorized: bool,
    /// check_response without pre_auth only compares (OpenSIPS's API:
    /// msrp_relay checks its own nonces); Kamailio refuses it when replays
    /// are protected.
    pub pure_check_response: bool,
    /// The HA1 check_response gets is already the -sess key (OpenSIPS's
    /// calc_HA1 applies it), not the plain H(A1) (Kamailio).
    pub sess_key_given: bool,
    /// A challenge offering a -sess or SHA algorithm says qop="auth" when
    /// the call gave none (OpenSIPS: RFC 8760 and -sess answers need qop).
    pub qop_for_strong: bool,
    /// realm_prefix is stripped from a realm the caller gives (Kamailio);
    /// OpenSIPS strips it only from a realm taken from a URI.
    pub strip_given_realm: bool,
}

impl HostRules {
    pub const KAMAILIO: HostRules = HostRules {
        prack_passes: true,
        fields_first: false,
        error_replies: false,
        realm_from_uri: false,
        early_length_check: true,
        stale_from_authorized: false,
        pure_check_response: false,
        sess_key_given: false,
        qop_for_strong: false,
        strip_given_realm: true,
    };
    pub const OPENSIPS: HostRules = HostRules {
        prack_passes: false,
        fields_first: true,
        error_replies: true,
        realm_from_uri: true,
        early_length_check: false,
        stale_from_authorized: true,
        pure_check_response: true,
        sess_key_given: true,
        qop_for_strong: true,
        strip_given_realm: false,
    };
}

/// The qop directive a challenge line offers (OpenSIPS can offer both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QopOffer {
    None,
    Auth,
    AuthInt,
    /// `qop="auth-int,auth"`.
    AuthIntAuth,
    /// `qop="auth,auth-int"`.
    AuthAuthInt,
}

impl From<Option<Qop>> for QopOffer {
    fn from(q: Option<Qop>) -> QopOffer {
        match q {
            None => QopOffer::None,
            Some(Qop::Auth) => QopOffer::Auth,
            Some(Qop::AuthInt) => QopOffer::AuthInt,
        }
    }
}

impl QopOffer {
    /// The directive's value as printed.
    pub fn text(self) -> Option<&'static str> {
        match self {
            QopOffer::None => None,
            QopOffer::Auth => Some("auth"),
            QopOffer::AuthInt => Some("auth-int"),
            QopOffer::AuthIntAuth => Some("auth-int,auth"),
            QopOffer::AuthAuthInt => Some("auth,auth-int"),
        }
    }
}

/// pre_auth steps a caller skips (OpenSIPS's AUTH_SKIP_CRED_CHECK: return
/// once found, unmarked; AUTH_SKIP_NONCE_CHECK: return before the nonce).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skip {
    pub cred_check: bool,
    pub nonce_check: bool,
}

impl Default for Policy {
    /// The stock defaults: nothing stripped, the standard header names, MD5
    /// printed by no directive, qop=auth, replies through tm.
    fn default() -> Policy {
        Policy {
            realm_prefix: Vec::new(),
            www_header: b"WWW-Authenticate".to_vec(),
            proxy_header: b"Proxy-Authenticate".to_vec(),
            algorithm: None,
            algorithm_str: Vec::new(),
            algorithms: Vec::new(),
            qop: Some(Qop::Auth),
            sending: Sending::Auto,
            use_domain: false,
            authinfo: false,
            rules: HostRules::KAMAILIO,
        }
    }
}

/// The algorithms a challenge offers, one header line each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer<'a> {
    /// With `Given(None)` and the policy's `algorithms` set: one line per
    /// listed algorithm; else one line that prints this `algorithm`
    /// directive as given, or none (Kamailio's rule, also for the API's
    /// build_challenge).
    Given(Option<&'a [u8]>),
    /// One line per algorithm, in this order (a list the caller passes).
    List(&'a [Algorithm]),
}

/// What the API steps give (Kamailio's auth_result_t names them; each host
/// maps them to its numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Authenticated (or nothing to authenticate: ACK, CANCEL, PRACK).
    Authenticated,
    /// pre_auth: credentials found and their nonce good; check the response.
    DoAuthentication,
    NoCredentials,
    /// The nonce is ours but no longer good: challenge with stale=true.
    StaleNonce,
    /// A one-time nonce came back.
    NonceReused,
    /// The answer is wrong (or the nonce is not ours).
    NotAuthenticated,
    /// The credentials cannot be checked as sent.
    BadCredentials,
    Error,
}

/// What the script functions give (pv_*_authenticate, pv_auth_check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    InvalidPassword,
    StaleNonce,
    NonceReused,
    NoCredentials,
    /// pv_auth_check: the credentials' user is not the From / To user.
    UserMismatch,
    Error,
}

/// What pre_auth checked, for check_response (and the API's calc_HA1).
#[derive(Debug, Clone, Copy)]
pub struct Checked<V> {
    /// The algorithm of the answer (the default where it names one not
    /// offered: check_response refuses it).
    pub alg: Algorithm,
    /// The nonce as checked, for the commit.
    pub nonce: V,
}

/// pre_auth's outcome.
#[derive(Debug, Clone, Copy)]
pub struct PreAuth<H, V> {
    pub result: AuthResult,
    /// The credentials header, when one was found.
    pub hdr: Option<H>,
    /// With [`AuthResult::DoAuthentication`] after the nonce check.
    pub checked: Option<Checked<V>>,
}

/// pv_authenticate / pv_auth_check's outcome: the verdict, and on a refusal
/// with the challenge flags the challenge header for the script to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvAuth {
    pub verdict: Verdict,
    pub challenge: Option<Vec<u8>>,
}

/// Challenge flags (the script's `flags`): qop=auth, qop=auth-int, no 500
/// on a parameter error, stale=true.
pub const CHALLENGE_QOP_AUTH: i32 = 1;
pub const CHALLENGE_QOP_AUTH_INT: i32 = 2;
pub const CHALLENGE_NO_500: i32 = 4;
pub const CHALLENGE_STALE: i32 = 16;

/// pv_authenticate flags: the password is an HA1; the qop of the challenge
/// built on a refusal (4: auth, 8: auth-int; 2: without qop).
pub const PV_HA1: i32 = 1;
const PV_CHALLENGE: i32 = 14;

fn qop_of_flags(flags: i32, int_bit: i32, auth_bit: i32) -> Option<Qop> {
    if flags & int_bit != 0 {
        Some(Qop::AuthInt)
    } else if flags & auth_bit != 0 {
        Some(Qop::Auth)
    } else {
        None
    }
}

/// H(A1) for the API's calc_HA1: the plain hash, or the -sess key.
pub fn calc_ha1(
    alg: Algorithm,
    sess: bool,
    user: &[u8],
    realm: &[u8],
    pw: &[u8],
    nonce: &[u8],
    cnonce: &[u8],
) -> String {
    let plain = verify::ha1(alg, user, realm, pw);
    if sess {
        verify::sess_ha1(alg, plain.as_bytes(), nonce, cnonce)
    } else {
        plain
    }
}

/// The API's calc_response (stock semantics: `ha1` as given, the A2 of
/// auth-int over the caller's entity hash).
#[allow(clippy::too_many_arguments)]
pub fn calc_response(
    alg: Algorithm,
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

/// A user's secret as a lookup found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Password(Vec<u8>),
    /// The plain H(A1), hex.
    Ha1(Vec<u8>),
}

/// What [`AuthServer::authorize_with`]'s lookup gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(Secret),
    /// No such user (or not the credentials' user).
    UserUnknown,
    /// The secret cannot be had: answered with 500.
    Error,
}

/// authorize_with's outcome: a step's result, or the lookup's "no such
/// user" (OpenSIPS's USER_UNKNOWN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorized {
    Result(AuthResult),
    UserUnknown,
}

/// OpenSIPS's Authentication-Info (the API's build_auth_info_hf, used by
/// msrp_relay): `Authentication-Info: qop=.., cnonce="..", nc=..,
/// rspauth=".."` without CRLF, rspauth computed from the password
/// (`0x<HA1 hex>`: the HA1 itself) with `user` and `realm`, over `method`
/// and the digest URI (and the body for auth-int). Beyond stock, rspauth
/// covers the client's cnonce and nc, which the header carries (stock
/// hashes a cnonce of its own).
pub fn authentication_info(
    creds: &Creds,
    user: &[u8],
    realm: &[u8],
    password: &[u8],
    method: &[u8],
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let alg = verify::algorithm_of(creds, Algorithm::Md5).map_err(|e| e.to_string())?;
    let qop = verify::qop_of(creds).unwrap_or(None);
    let hl = hex_len(alg);
    let given = password.len() == hl + 2
        && password.starts_with(b"0x")
        && password[2..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    let ha1 = if given {
        String::from_utf8_lossy(&password[2..]).into_owned()
    } else {
        verify::ha1(alg, user, realm, password)
    };
    let ent = if qop == Some(Qop::AuthInt) { body } else { b"" };
    let rsp = verify::expected_response(alg, qop, creds, ha1.as_bytes(), method, ent);
    let mut h = b"Authentication-Info: qop=".to_vec();
    h.extend_from_slice(creds.qop);
    h.extend_from_slice(b", cnonce=\"");
    h.extend_from_slice(creds.cnonce);
    h.extend_from_slice(b"\", nc=");
    h.extend_from_slice(creds.nc);
    h.extend_from_slice(b", rspauth=\"");
    h.extend_from_slice(rsp.as_bytes());
    h.push(b'"');
    Ok(h)
}

/// One challenge header line without its CRLF: `name: Digest realm="..",
/// nonce=".."[, qop=".."][, stale=true][, algorithm=..][, opaque=".."]`.
#[allow(clippy::too_many_arguments)]
pub fn challenge_line(
    out: &mut Vec<u8>,
    name: &[u8],
    realm: &[u8],
    nonce: &[u8],
    qop: QopOffer,
    stale: bool,
    algorithm: Option<&[u8]>,
    opaque: Option<&[u8]>,
) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": Digest realm=\"");
    out.extend_from_slice(realm);
    out.extend_from_slice(b"\", nonce=\"");
    out.extend_from_slice(nonce);
    out.push(b'"');
    if let Some(q) = qop.text() {
        out.extend_from_slice(b", qop=\"");
        out.extend_from_slice(q.as_bytes());
        out.push(b'"');
    }
    if stale {
        out.extend_from_slice(b", stale=true");
    }
    if let Some(a) = algorithm {
        out.extend_from_slice(b", algorithm=");
        out.extend_from_slice(a);
    }
    if let Some(o) = opaque {
        out.extend_from_slice(b", opaque=\"");
        out.extend_from_slice(o);
        out.push(b'"');
    }
}

/// The server: its policy and its nonces.
pub struct AuthServer<S: NonceScheme> {
    pub policy: Policy,
    pub nonces: S,
}

impl<S: NonceScheme> AuthServer<S> {
    pub fn new(policy: Policy, nonces: S) -> AuthServer<S> {
        AuthServer { policy, nonces }
    }

    /// The realm without `realm_prefix`.
    pub fn strip_realm<'a>(&self, realm: &'a [u8]) -> &'a [u8] {
        let p = &self.policy.realm_prefix;
        if !p.is_empty() && realm.starts_with(p) {
            &realm[p.len()..]
        } else {
            realm
        }
    }

    /// The algorithm of credentials that name none.
    pub fn default_alg(&self) -> Algorithm {
        self.policy.algorithm.unwrap_or(Algorithm::Md5)
    }

    /// What answers may use: the `algorithms` list, else the `algorithm`,
    /// else MD5 (a challenge that names no algorithm offers MD5): one rule,
    /// whatever is configured.
    pub fn offered(&self) -> Offered<'_> {
        let p = &self.policy;
        let only = if p.algorithms.is_empty() {
            std::slice::from_ref(p.algorithm.as_ref().unwrap_or(&Algorithm::Md5))
        } else {
            p.algorithms.as_slice()
        };
        Offered {
            default: self.default_alg(),
            only: Some(only),
        }
    }

    /// The algorithm directive challenges print: None with `algorithms` set
    /// (then one line per listed algorithm) or with `algorithm` empty.
    fn alg_param(&self) -> Option<&[u8]> {
        let p = &self.policy;
        (p.algorithms.is_empty() && !p.algorithm_str.is_empty())
            .then_some(p.algorithm_str.as_slice())
    }

    /// The challenge header line(s), CRLF included, one per offered
    /// algorithm ([`Offer`]). The nonce is `nonce` when given, else issued
    /// for `msg` (one per line where the format binds the algorithm).
    #[allow(clippy::too_many_arguments)]
    pub fn challenge_lines<M: AuthRequest>(
        &self,
        msg: Option<&M>,
        stale: bool,
        realm: &[u8],
        nonce: Option<&[u8]>,
        offer: Offer,
        qop: impl Into<QopOffer>,
        kind: CredKind,
    ) -> Result<Vec<u8>, String> {
        let qop = qop.into();
        let p = &self.policy;
        let realm = if p.rules.strip_given_realm {
            self.strip_realm(realm)
        } else {
            realm
        };
        let name = match kind {
            CredKind::ProxyAuthorization => &p.proxy_header,
            CredKind::Authorization => &p.www_header,
        };
        let each = |l: &[Algorithm]| -> (Vec<Option<&[u8]>>, Vec<Option<Algorithm>>) {
            l.iter()
                .map(|a| (Some(a.name().as_bytes()), Some(*a)))
                .unzip()
        };
        let (printed, algs) = match offer {
            Offer::List(l) => each(l),
            Offer::Given(None) if !p.algorithms.is_empty() => each(&p.algorithms),
            Offer::Given(algorithm) => {
                let alg = algorithm
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(Algorithm::parse);
                (vec![algorithm], vec![alg])
            }
        };
        let issued;
        let nonces: Vec<&[u8]> = match nonce {
            Some(n) => vec![n; algs.len()],
            None => {
                issued = self.nonces.issue(msg, &algs, qop)?;
                issued.iter().map(Vec::as_slice).collect()
            }
        };
        let mut out = Vec::with_capacity(160 * algs.len());
        for (alg, nonce) in printed.into_iter().zip(nonces) {
            challenge_line(&mut out, name, realm, nonce, qop, stale, alg, None);
            out.extend_from_slice(b"\r\n");
        }
        Ok(out)
    }

    /// Finds and marks the credentials for `realm` (the first half of
    /// pre_auth). ACK, CANCEL and PRACK pass without.
    pub fn pre_auth_find<M: AuthRequest>(
        &self,
        msg: &M,
        realm: &[u8],
        kind: CredKind,
    ) -> (AuthResult, Option<M::Cred>) {
        if matches!(
            msg.method_kind(),
            Method::Ack | Method::Cancel | Method::Prack
        ) {
            return (AuthResult::Authenticated, None);
        }
        let h = match msg.find_credentials(realm, kind) {
            Err(e) => {
                err!("Error while looking for credentials: {e}");
                return (AuthResult::Error, None);
            }
            Ok(None) => {
                dbg!(
                    "Credentials with realm '{}' not found",
                    String::from_utf8_lossy(realm)
                );
                return (AuthResult::NoCredentials, None);
            }
            Ok(Some(h)) => h,
        };
        if msg.mark_authorized(h).is_err() {
            err!("Error while marking parsed credentials");
            return (AuthResult::Error, Some(h));
        }
        (AuthResult::DoAuthentication, Some(h))
    }

    /// pre_auth: finds the credentials for `realm` (already without
    /// realm_prefix), checks them and their nonce without using anything up.
    pub fn pre_auth<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        kind: CredKind,
    ) -> PreAuth<M::Cred, S::Checked> {
        self.pre_auth_skip(msg, realm, kind, Skip::default()).0
    }

    /// The realm of a request whose caller gave none: the host of the To
    /// URI (a REGISTER answering a 401) or of the From URI, without
    /// realm_prefix.
    pub fn realm_of<'a, M: AuthRequest>(&self, msg: &'a M, kind: CredKind) -> Option<&'a [u8]> {
        let whose = if msg.method() == b"REGISTER" && kind == CredKind::Authorization {
            UriOf::To
        } else {
            UriOf::From
        };
        msg.uri_user_host(whose)
            .map(|(_, host)| self.strip_realm(host))
    }

    /// An error of pre_auth: answered first where the host's module does
    /// (400 for what the client sent, 500 for ours).
    fn pre_auth_error<M: Reply>(&self, msg: &M, code: u16) -> AuthResult {
        if self.policy.rules.error_replies {
            let reason = if code == 400 {
                "Bad Request"
            } else {
                "Server Internal Error"
            };
            if self.send(msg, code, reason, None).is_err() {
                err!("failed to send {code} reply");
            }
        }
        AuthResult::Error
    }

    /// pre_auth without the steps `skip` names; also gives the realm it
    /// used (the caller's, or the URI's where the rules take it from there).
    /// The order of the checks follows the policy's rules.
    pub fn pre_auth_skip<'a, M: AuthRequest + Reply>(
        &self,
        msg: &'a M,
        realm: &'a [u8],
        kind: CredKind,
        skip: Skip,
    ) -> (PreAuth<M::Cred, S::Checked>, &'a [u8]) {
        let rules = self.policy.rules;
        let out = |result, hdr, checked| PreAuth {
            result,
            hdr,
            checked,
        };
        match msg.method_kind() {
            Method::Ack | Method::Cancel => {
                return (out(AuthResult::Authenticated, None, None), realm)
            }
            Method::Prack if rules.prack_passes => {
                return (out(AuthResult::Authenticated, None, None), realm)
            }
            _ => {}
        }
        let realm = match realm {
            b"" if rules.realm_from_uri => match self.realm_of(msg, kind) {
                Some(r) => r,
                None => {
                    err!("failed to extract realm");
                    return (out(self.pre_auth_error(msg, 400), None, None), realm);
                }
            },
            r => r,
        };
        let h = match msg.find_credentials(realm, kind) {
            Err(e) => {
                err!("Error while looking for credentials: {e}");
                return (out(self.pre_auth_error(msg, 400), None, None), realm);
            }
            Ok(None) => {
                dbg!(
                    "Credentials with realm '{}' not found",
                    String::from_utf8_lossy(realm)
                );
                return (out(AuthResult::NoCredentials, None, None), realm);
            }
            Ok(Some(h)) => h,
        };
        let found = |result| (out(result, Some(h), None), realm);
        if skip.cred_check {
            return found(AuthResult::DoAuthentication);
        }
        if rules.fields_first && !msg.creds_complete(h) {
            err!("received credentials are not filled properly");
            return found(self.pre_auth_error(msg, 400));
        }
        if msg.mark_authorized(h).is_err() {
            err!("Error while marking parsed credentials");
            return found(self.pre_auth_error(msg, 500));
        }
        if skip.nonce_check {
            return found(AuthResult::DoAuthentication);
        }
        let (result, checked) = self.check_hdr(msg, h);
        (out(result, Some(h), checked), realm)
    }

    /// The checks of one credentials header, in stock's order: the
    /// directives the core requires (unless the rules checked them before
    /// the mark), then the nonce, then (Kamailio's rules) no field over
    /// MAX_FIELD_LEN. The checks of the answer itself (algorithm offered,
    /// qop, response format) wait for check_response, as stock's
    /// response-length check does: the user is looked up first, so every
    /// refusal carries stock's return code.
    fn check_hdr<M: AuthRequest>(
        &self,
        msg: &M,
        h: M::Cred,
    ) -> (AuthResult, Option<Checked<S::Checked>>) {
        let rules = self.policy.rules;
        if !rules.fields_first && !msg.creds_complete(h) {
            err!("Credentials are not filled properly");
            return (AuthResult::BadCredentials, None);
        }
        let c = msg.creds(h);
        match self.nonces.check(Some(msg), &c) {
            Ok(v) => {
                if rules.early_length_check {
                    if let Err(e) = verify::check_lengths(&c) {
                        err!("Credentials refused: {e}");
                        return (AuthResult::BadCredentials, None);
                    }
                }
                // calc_HA1 hashes with the answer's algorithm; one not offered
                // (check_response refuses it) gets the default, as stock's one hash
                let off = self.answerable();
                let alg = verify::algorithm_of(&c, off.default)
                    .ok()
                    .filter(|&a| off.allows(a))
                    .unwrap_or(off.default);
                (
                    AuthResult::DoAuthentication,
                    Some(Checked { alg, nonce: v }),
                )
            }
            Err(r) => match r.class {
                NonceClass::Stale => {
                    dbg!("stale nonce value received (check {})", r.code);
                    msg.set_stale(h);
                    (AuthResult::StaleNonce, None)
                }
                NonceClass::Reused => (AuthResult::NonceReused, None),
                NonceClass::Invalid => {
                    // one line: a nonce from another secret, tampered, truncated
                    err!("Invalid nonce value received (check {})", r.code);
                    (AuthResult::NotAuthenticated, None)
                }
            },
        }
    }

    /// The algorithms an answer may use: those offered, or any this crate
    /// implements where the nonce itself binds the algorithm (pre_auth
    /// refused another).
    fn answerable(&self) -> Offered<'_> {
        if self.nonces.binds_algorithm() {
            Offered {
                default: self.default_alg(),
                only: None,
            }
        } else {
            self.offered()
        }
    }

    /// check_response: the response of `creds` against `ha1` (plain H(A1),
    /// -sess applied here; or the -sess key itself with the rules'
    /// `sess_key_given`), in constant time, auth-int over `body` (asked for
    /// only then); then the nonce count / one-time slot pre_auth checked is
    /// used up. `found` is the request and credentials header pre_auth
    /// found (marked stale when another request used the nonce up
    /// meanwhile), `checked` what it checked (None: the caller skipped
    /// pre_auth).
    #[allow(clippy::too_many_arguments)]
    pub fn check_response<'b, M: AuthRequest>(
        &self,
        found: Option<(&M, M::Cred)>,
        creds: &Creds,
        method: &[u8],
        ha1: &[u8],
        body: impl FnOnce() -> &'b [u8],
        checked: Option<&Checked<S::Checked>>,
    ) -> AuthResult {
        let (alg, qop) = match check_offered(creds, &self.answerable()) {
            Ok(v) => v,
            Err(r) => {
                err!("Credentials refused: {}", r.error);
                return match r.code {
                    Refusal::Unverifiable => AuthResult::BadCredentials,
                    Refusal::Wrong => AuthResult::NotAuthenticated,
                };
            }
        };
        let body: &[u8] = if qop == Some(Qop::AuthInt) {
            body()
        } else {
            b""
        };
        let matches = if self.policy.rules.sess_key_given {
            verify::response_matches_key(alg, qop, creds, ha1, method, body)
        } else {
            verify::response_matches(alg, qop, creds, ha1, method, body)
        };
        if ha1.len() != hex_len(alg) || !matches {
            dbg!("Authorization failed");
            return AuthResult::NotAuthenticated;
        }
        self.commit(found, checked)
    }

    /// Uses up what pre_auth checked, once the answer is known to be right
    /// (check_response does it; OpenSIPS's post_auth too, for modules that
    /// verify elsewhere, as auth_aaa).
    pub fn commit<M: AuthRequest>(
        &self,
        found: Option<(&M, M::Cred)>,
        checked: Option<&Checked<S::Checked>>,
    ) -> AuthResult {
        match checked {
            Some(c) => match self.nonces.commit(&c.nonce) {
                Ok(()) => AuthResult::Authenticated,
                Err(e) => {
                    // another request with these credentials got the slot first
                    if let Some((m, h)) = found {
                        m.set_stale(h);
                    }
                    err!("nonce already used (check {})", e.code);
                    if e.class == NonceClass::Reused {
                        AuthResult::NonceReused
                    } else {
                        AuthResult::StaleNonce
                    }
                }
            },
            None if self.nonces.replay_protected() && !self.policy.rules.pure_check_response => {
                err!("check_response without pre_auth while nonce_count/one_time_nonce is on");
                AuthResult::NotAuthenticated
            }
            None => AuthResult::Authenticated,
        }
    }

    /// post_auth: refuses stale credentials (but ACK/CANCEL), and
    /// credentials check_response would refuse (for modules that verify
    /// without it, as auth_radius); adds Authentication-Info when configured.
    pub fn post_auth<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        hdr: Option<M::Cred>,
        ha1: Option<&[u8]>,
    ) -> AuthResult {
        let Some(h) = hdr else {
            return AuthResult::Authenticated;
        };
        if msg.is_stale(h) {
            return if msg.method_kind().is_ack_or_cancel() {
                AuthResult::Authenticated
            } else {
                AuthResult::NotAuthenticated
            };
        }
        let c = msg.creds(h);
        let (alg, qop) = match check_offered(&c, &self.answerable()) {
            Ok(v) => v,
            Err(r) => {
                err!("Credentials refused: {}", r.error);
                return AuthResult::NotAuthenticated;
            }
        };
        if self.policy.authinfo {
            let Some(ha1) = ha1 else {
                err!("add_authinfo_hdr is configured but the auth_* module you are using does not provide the ha1 value to post_auth");
                return AuthResult::Authenticated;
            };
            let ent = if qop == Some(Qop::AuthInt) {
                msg.body().unwrap_or_default()
            } else {
                b""
            };
            let rsp = verify::rspauth(alg, qop, &c, ha1, ent);
            let fresh;
            let next: &[u8] = if self.nonces.one_time() {
                fresh = self.nonces.issue(Some(msg), &[Some(alg)], qop.into());
                match fresh.as_ref().map(|v| v.first()) {
                    Ok(Some(n)) => n,
                    _ => {
                        err!("failed to make the next nonce");
                        return AuthResult::Authenticated;
                    }
                }
            } else {
                c.nonce
            };
            let mut hdr = b"Authentication-Info: nextnonce=\"".to_vec();
            hdr.extend_from_slice(next);
            hdr.extend_from_slice(b"\", qop=");
            hdr.extend_from_slice(c.qop);
            hdr.extend_from_slice(b", rspauth=\"");
            hdr.extend_from_slice(rsp.as_bytes());
            hdr.extend_from_slice(b"\", cnonce=\"");
            hdr.extend_from_slice(c.cnonce);
            hdr.extend_from_slice(b"\", nc=");
            hdr.extend_from_slice(c.nc);
            hdr.extend_from_slice(b"\r\n");
            if msg.add_reply_header(&hdr).is_err() {
                err!("failed to add the Authentication-Info header");
            }
        }
        AuthResult::Authenticated
    }

    /// Did the request send stale credentials for this realm (pre_auth
    /// marked them)? Then the challenge says stale=true without flag 16.
    /// Only where the host can read the credentials (Kamailio: request and
    /// event routes; MSRP).
    pub fn sent_stale<M: AuthRequest>(
        &self,
        msg: Option<&M>,
        realm: &[u8],
        kind: CredKind,
    ) -> bool {
        let Some(m) = msg.filter(|m| m.credentials_readable()) else {
            return false;
        };
        match m.find_credentials(self.strip_realm(realm), kind) {
            Ok(Some(h)) => m.is_stale(h),
            _ => false,
        }
    }

    /// The configured offer of the challenge functions.
    fn configured(&self) -> Offer<'_> {
        Offer::Given(self.alg_param())
    }

    /// The challenge header(s) of the challenge functions: flags 1
    /// qop=auth, 2 qop=auth-int, 16 stale=true (also when `msg` sent stale
    /// credentials for the realm); the algorithms of the call (None: the
    /// configured ones). The nonce is bound to `msg` only with `bind`.
    pub fn challenge_header<M: AuthRequest>(
        &self,
        msg: Option<&M>,
        bind: bool,
        realm: &[u8],
        flags: i32,
        kind: CredKind,
        algorithms: Option<&[Algorithm]>,
    ) -> Result<Vec<u8>, String> {
        let qop = qop_of_flags(flags, CHALLENGE_QOP_AUTH_INT, CHALLENGE_QOP_AUTH);
        let stale = flags & CHALLENGE_STALE != 0 || self.sent_stale(msg, realm, kind);
        let bound = if bind { msg } else { None };
        let offer = algorithms.map_or_else(|| self.configured(), Offer::List);
        self.challenge_lines(bound, stale, realm, None, offer, qop, kind)
    }

    /// Adds `hdr` to the reply and sends it.
    fn send<M: Reply>(
        &self,
        msg: &M,
        code: u16,
        reason: &str,
        hdr: Option<&[u8]>,
    ) -> Result<(), String> {
        if let Some(h) = hdr {
            if let Err(e) = msg.add_reply_header(h) {
                err!("failed to append hdr to reply");
                return Err(e);
            }
        }
        msg.send_reply(code, reason, self.policy.sending)
    }

    /// www_challenge / proxy_challenge / auth_challenge: a 401 or 407 with
    /// the challenge (see [`AuthServer::challenge_header`]). False when it
    /// could not be built or sent.
    pub fn challenge<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        flags: i32,
        kind: CredKind,
        algorithms: Option<&[Algorithm]>,
    ) -> bool {
        let hf = match self.challenge_header(Some(msg), true, realm, flags, kind, algorithms) {
            Ok(h) => h,
            Err(e) => {
                err!("failed to build the challenge: {e}");
                return false;
            }
        };
        match kind {
            CredKind::ProxyAuthorization => {
                self.send(msg, 407, "Proxy Authentication Required", Some(&hf))
            }
            CredKind::Authorization => self.send(msg, 401, "Unauthorized", Some(&hf)),
        }
        .is_ok()
    }

    /// OpenSIPS's www_challenge / proxy_challenge: a 401 or 407 with one
    /// line per algorithm of `algorithms` in the order given (None: one line
    /// naming none), the qop offered, stale=true when the credentials
    /// marked authorized were stale; an empty realm is the URI's (a 400 when
    /// it has none). Err when nothing could be sent.
    pub fn challenge_offer<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        qop: QopOffer,
        algorithms: Option<&[Algorithm]>,
        kind: CredKind,
    ) -> Result<(), String> {
        let rules = self.policy.rules;
        let stale = if rules.stale_from_authorized {
            msg.authorized_of(kind).is_some_and(|h| msg.is_stale(h))
        } else {
            self.sent_stale(Some(msg), realm, kind)
        };
        let realm = match realm {
            b"" if rules.realm_from_uri => match self.realm_of(msg, kind) {
                Some(r) => r,
                None => {
                    err!("failed to extract URI");
                    return self.send(msg, 400, "Bad Request", None);
                }
            },
            r => r,
        };
        let strong = algorithms.is_some_and(|l| l.iter().any(|&a| a != Algorithm::Md5));
        let qop = if rules.qop_for_strong && qop == QopOffer::None && strong {
            QopOffer::Auth
        } else {
            qop
        };
        let offer = algorithms.map_or(Offer::Given(None), Offer::List);
        let hf = self
            .challenge_lines(Some(msg), stale, realm, None, offer, qop, kind)
            .inspect_err(|e| err!("failed to generate nonce: {e}"))?;
        match kind {
            CredKind::ProxyAuthorization => {
                self.send(msg, 407, "Proxy Authentication Required", Some(&hf))
            }
            CredKind::Authorization => self.send(msg, 401, "Unauthorized", Some(&hf)),
        }
    }

    /// OpenSIPS's pv_www_authorize / pv_proxy_authorize (and any check
    /// with a password or HA1 from elsewhere): pre_auth, then `lookup`
    /// gives the secret for the credentials and the realm used, then
    /// check_response and post_auth. A lookup error is answered with 500.
    pub fn authorize_with<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        kind: CredKind,
        lookup: impl FnOnce(&Creds, &[u8]) -> Lookup,
    ) -> Authorized {
        let (pre, realm) = self.pre_auth_skip(msg, realm, kind, Skip::default());
        let (AuthResult::DoAuthentication, Some(h)) = (pre.result, pre.hdr) else {
            return Authorized::Result(pre.result);
        };
        let c = msg.creds(h);
        let secret = match lookup(&c, realm) {
            Lookup::Found(s) => s,
            Lookup::UserUnknown => return Authorized::UserUnknown,
            Lookup::Error => {
                return Authorized::Result(self.pre_auth_error(msg, 500));
            }
        };
        let Ok(alg) = verify::algorithm_of(&c, Algorithm::Md5) else {
            err!("digest algorithm unsupported");
            return Authorized::Result(self.pre_auth_error(msg, 500));
        };
        let key = match secret {
            Secret::Password(pw) => calc_ha1(
                alg,
                alg.is_sess(),
                c.username,
                realm,
                &pw,
                c.nonce,
                c.cnonce,
            ),
            Secret::Ha1(h1) if alg.is_sess() => verify::sess_ha1(alg, &h1, c.nonce, c.cnonce),
            Secret::Ha1(h1) => String::from_utf8_lossy(&h1).into_owned(),
        };
        let r = self.check_response(
            Some((msg, h)),
            &c,
            msg.method(),
            key.as_bytes(),
            || msg.body().unwrap_or_default(),
            pre.checked.as_ref(),
        );
        Authorized::Result(match r {
            AuthResult::Authenticated => self.post_auth(msg, Some(h), None),
            AuthResult::BadCredentials => AuthResult::NotAuthenticated,
            other => other,
        })
    }

    /// The 500 the challenge functions send when their parameters fail
    /// (unless flag 4); false when it could not be sent.
    pub fn param_error_reply<M: Reply>(&self, msg: &M, flags: i32) -> bool {
        flags & CHALLENGE_NO_500 != 0 || self.send(msg, 500, "Internal Server Error", None).is_ok()
    }

    /// build_challenge through the API: the challenge header(s) with the
    /// configured qop, the caller's nonce and algorithm when given.
    pub fn build_challenge<M: AuthRequest>(
        &self,
        msg: Option<&M>,
        stale: bool,
        realm: &[u8],
        nonce: Option<&[u8]>,
        algorithm: Option<&[u8]>,
        kind: CredKind,
    ) -> Result<Vec<u8>, String> {
        let offer = Offer::Given(algorithm);
        self.challenge_lines(msg, stale, realm, nonce, offer, self.policy.qop, kind)
    }

    /// pv_www_authenticate / pv_proxy_authenticate: the password from the
    /// script (flag 1: an HA1). On a refusal with flags 2/4/8 the challenge
    /// to send is built (4: qop=auth, 8: qop=auth-int).
    pub fn pv_authenticate<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        passwd: &[u8],
        flags: i32,
        kind: CredKind,
        method: &[u8],
    ) -> PvAuth {
        let realm_s = self.strip_realm(realm);
        let pre = self.pre_auth(msg, realm_s, kind);
        let verdict = match (pre.result, pre.hdr) {
            (AuthResult::NonceReused, _) => Verdict::NonceReused,
            (AuthResult::StaleNonce, _) => Verdict::StaleNonce,
            (AuthResult::NoCredentials, _) => Verdict::NoCredentials,
            (AuthResult::Authenticated, _) => Verdict::Ok,
            (AuthResult::DoAuthentication, Some(h)) => {
                let c = msg.creds(h);
                let alg = pre.checked.map_or_else(|| self.default_alg(), |ch| ch.alg);
                let ha1 = if flags & PV_HA1 == 0 {
                    calc_ha1(alg, false, c.username, realm_s, passwd, b"", b"")
                } else {
                    String::from_utf8_lossy(passwd).into_owned()
                };
                let r = self.check_response(
                    Some((msg, h)),
                    &c,
                    method,
                    ha1.as_bytes(),
                    || msg.body().unwrap_or_default(),
                    pre.checked.as_ref(),
                );
                match r {
                    AuthResult::Authenticated => {
                        match self.post_auth(msg, Some(h), Some(ha1.as_bytes())) {
                            AuthResult::Authenticated => Verdict::Ok,
                            _ => Verdict::Error,
                        }
                    }
                    AuthResult::NotAuthenticated => Verdict::InvalidPassword,
                    AuthResult::StaleNonce => Verdict::StaleNonce,
                    AuthResult::NonceReused => Verdict::NonceReused,
                    _ => Verdict::Error,
                }
            }
            _ => Verdict::Error,
        };
        let mut challenge = None;
        if verdict != Verdict::Ok && flags & PV_CHALLENGE != 0 {
            let qop = qop_of_flags(flags, 8, 4);
            let stale = pre.hdr.is_some_and(|h| msg.is_stale(h));
            match self.challenge_lines(Some(msg), stale, realm, None, self.configured(), qop, kind)
            {
                Ok(hf) => challenge = Some(hf),
                Err(e) => {
                    err!("failed to build the challenge: {e}");
                    return PvAuth {
                        verdict: Verdict::Error,
                        challenge: None,
                    };
                }
            }
        }
        PvAuth { verdict, challenge }
    }

    /// pv_auth_check: REGISTER answers with Authorization, others with
    /// Proxy-Authorization; with `checks` & 1 the credentials' user must be
    /// the From user (To for REGISTER and PUBLISH, which also need From =
    /// To, and PUBLISH From = R-URI; domains too with `use_domain`).
    pub fn pv_auth_check<M: AuthRequest + Reply>(
        &self,
        msg: &M,
        realm: &[u8],
        passwd: &[u8],
        flags: i32,
        checks: i32,
    ) -> PvAuth {
        let m = msg.method_kind();
        let method = msg.method().to_vec();
        let mut r =
            self.pv_authenticate(msg, realm, passwd, flags, CredKind::for_method(m), &method);
        if r.verdict != Verdict::Ok || checks & 1 == 0 {
            return r;
        }
        r.verdict = self.user_matches(msg, m);
        r
    }

    fn user_matches<M: AuthRequest>(&self, msg: &M, m: Method) -> Verdict {
        let Some(h) = msg.authorized() else {
            return if matches!(m, Method::Ack | Method::Cancel | Method::Prack) {
                Verdict::Ok
            } else {
                Verdict::Error
            };
        };
        let user = msg.cred_user(h);
        let Some(furi) = msg.uri_user_host(UriOf::From) else {
            return Verdict::Error;
        };
        let regpub = m == Method::Register || m == Method::Publish;
        let turi = if regpub {
            match msg.uri_user_host(UriOf::To) {
                Some(t) => Some(t),
                None => return Verdict::Error,
            }
        } else {
            None
        };
        let uri = turi.unwrap_or(furi);
        if user != uri.0 {
            return Verdict::UserMismatch;
        }
        let use_domain = self.policy.use_domain;
        if let Some(t) = turi {
            if furi.0 != t.0 || (use_domain && furi.1 != t.1) {
                return Verdict::UserMismatch;
            }
            if m == Method::Publish {
                let Some(r) = msg.uri_user_host(UriOf::Request) else {
                    return Verdict::Error;
                };
                if furi.0 != r.0 || (use_domain && furi.1 != r.1) {
                    return Verdict::UserMismatch;
                }
            }
        }
        Verdict::Ok
    }

    /// consume_credentials: removes the authorized credentials header from
    /// the request as it is forwarded. False for ACK/CANCEL/PRACK and when
    /// nothing was authorized.
    pub fn consume_credentials<M: AuthRequest>(&self, msg: &M) -> bool {
        if matches!(
            msg.method_kind(),
            Method::Ack | Method::Cancel | Method::Prack
        ) {
            return false;
        }
        let Some(h) = msg.authorized() else {
            err!("No authorized credentials found (error in scripts)");
            return false;
        };
        if msg.remove_credentials(h).is_err() {
            err!("Can't remove credentials");
            return false;
        }
        true
    }

    /// has_credentials(realm): Proxy-Authorization or Authorization with
    /// this realm.
    pub fn has_credentials<M: AuthRequest>(&self, msg: &M, realm: &[u8]) -> bool {
        [CredKind::ProxyAuthorization, CredKind::Authorization]
            .into_iter()
            .any(|k| matches!(msg.find_credentials(realm, k), Ok(Some(_))))
    }
}
