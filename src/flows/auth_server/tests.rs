//! The auth-server flow on `ports::mock`: requests as text, answers made by
//! the digest client (`flows::digest_client`), Kamailio 5.6.3's nonces over
//! state on the global heap, a clock the tests set.

use super::nonce::{KamailioNonceConfig, KamailioNonces, NonceClass, NonceScheme};
use super::*;
use crate::digest::nonce::Secrets;
use crate::digest::response::RequestInfo;
use crate::flows::digest_client::{self, Creds as ClientCreds, Stored};
use crate::ports::message::SipMessage;
use crate::ports::mock::{MockMsg, MockProcess, SentReply};
use allocator_api2::alloc::Global;

pub(super) const NOW: u32 = 1_700_000_000;
pub(super) const REALM: &str = "sip.test";

type TestServer = AuthServer<KamailioNonces<MockProcess>>;

fn nonce_cfg(nc: bool, otn: bool) -> KamailioNonceConfig {
    KamailioNonceConfig {
        secrets: Secrets::from_param(b"test-secret", false),
        expire: 300,
        max_drift: 3,
        checks_reg: 0,
        checks_ood: 0,
        checks_ind: 0,
        nc,
        otn,
        pools: 1,
        nc_size: if nc { 1024 } else { 0 },
        otn_size: if otn { 1024 } else { 0 },
    }
}

fn server_with(policy: Policy, cfg: KamailioNonceConfig) -> TestServer {
    let nonces = KamailioNonces::new::<Global>(cfg, MockProcess::at(NOW)).unwrap();
    AuthServer::new(policy, nonces)
}

fn server(nc: bool, otn: bool) -> TestServer {
    server_with(Policy::default(), nonce_cfg(nc, otn))
}

/// A request from alice (From and To), `extra` header lines (CRLF
/// included) before Content-Length, then `body`.
pub(super) fn request(method: &str, from_user: &str, extra: &str, body: &str) -> MockMsg {
    let mut m = MockMsg::new(&format!(
        "{method} sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
         From: <sip:{from_user}@{REALM}>;tag=f1\r\nTo: <sip:alice@{REALM}>\r\n\
         Call-ID: call-1\r\nCSeq: 1 {method}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    m.src_ip = b"10.0.0.1".to_vec();
    m
}

pub(super) fn register(extra: &str) -> MockMsg {
    request("REGISTER", "alice", extra, "")
}

/// The challenge values of header lines (`Name: value\r\n`...).
fn values(lines: &[u8]) -> Vec<Vec<u8>> {
    String::from_utf8_lossy(lines)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(": ").unwrap().1.as_bytes().to_vec())
        .collect()
}

/// The digest client's answer to the first challenge of `lines`, for
/// `user` with `password`, as a header line.
pub(super) fn answer(lines: &[u8], user: &str, password: &str, method: &str, body: &str) -> String {
    let vals = values(lines);
    let refs: Vec<&[u8]> = vals.iter().map(Vec::as_slice).collect();
    let proxy = lines.starts_with(b"Proxy-");
    let uri = format!("sip:{REALM}");
    let creds = ClientCreds {
        user: user.as_bytes().to_vec(),
        secret: Stored::Password(password.as_bytes().to_vec()),
    };
    let req = RequestInfo {
        method: method.as_bytes(),
        uri: uri.as_bytes(),
        body: body.as_bytes(),
    };
    let a = digest_client::answer_values(
        &refs,
        proxy,
        &digest_client::Policy::AS_OFFERED,
        |_| Some(creds.clone()),
        &req,
    )
    .unwrap();
    String::from_utf8(a.header).unwrap()
}

/// A nonce directive's value.
pub(super) fn nonce_of(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    let at = s.find("nonce=\"").unwrap() + 7;
    s[at..at + s[at..].find('"').unwrap()].to_string()
}

/// alice's right answer to a fresh 401 with qop=auth, as a header line.
fn alice_answers<S: NonceScheme>(srv: &AuthServer<S>) -> String {
    let hf = challenged(srv, 1);
    answer(hf.as_bytes(), "alice", "secret", "REGISTER", "")
}

/// A 401 challenge for a REGISTER, as www_challenge(realm, flags) sends it.
fn challenged<S: NonceScheme>(srv: &AuthServer<S>, flags: i32) -> String {
    let m = register("");
    assert!(srv.challenge(&m, REALM.as_bytes(), flags, CredKind::Authorization, None));
    let r = m.replies.borrow();
    assert_eq!(r.len(), 1);
    r[0].headers.clone()
}

fn pv<S: NonceScheme>(srv: &AuthServer<S>, m: &MockMsg, pw: &str) -> Verdict {
    srv.pv_authenticate(
        m,
        REALM.as_bytes(),
        pw.as_bytes(),
        0,
        CredKind::Authorization,
        m.method(),
    )
    .verdict
}

/// An answer with a chosen nc, computed with the verifier's own formula.
fn answer_nc(nonce: &str, nc: &str, password: &str) -> String {
    let c = verify::Creds {
        username: b"alice",
        realm: REALM.as_bytes(),
        nonce: nonce.as_bytes(),
        uri: b"sip:sip.test",
        response: b"",
        algorithm: b"",
        qop: b"auth",
        cnonce: b"cn1",
        nc: nc.as_bytes(),
    };
    let ha1 = verify::ha1(
        Algorithm::Md5,
        b"alice",
        REALM.as_bytes(),
        password.as_bytes(),
    );
    let r = verify::expected_response(
        Algorithm::Md5,
        Some(Qop::Auth),
        &c,
        ha1.as_bytes(),
        b"REGISTER",
        b"",
    );
    format!(
        "Authorization: Digest username=\"alice\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:sip.test\", response=\"{r}\", qop=auth, nc={nc}, cnonce=\"cn1\"\r\n"
    )
}

#[test]
fn challenge_headers_qop_stale_and_several_algorithms() {
    let srv = server(false, false);
    // flag 1: qop=auth; a 401 with WWW-Authenticate, through tm when there is one
    let m = register("");
    assert!(srv.challenge(&m, REALM.as_bytes(), 1, CredKind::Authorization, None));
    let sent = m.replies.borrow()[0].clone();
    assert_eq!(
        (sent.code, sent.reason.as_str(), sent.how),
        (401, "Unauthorized", Sending::Auto)
    );
    let n = nonce_of(sent.headers.as_bytes());
    assert_eq!(
        sent.headers,
        format!("WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"{n}\", qop=\"auth\"\r\n")
    );
    // the 5.6.3 format without nonce count: 24 bytes, 32 base64 characters
    assert_eq!(n.len(), 32);
    let c = verify::Creds {
        nonce: n.as_bytes(),
        ..Default::default()
    };
    assert!(srv.nonces.check(Some(&m), &c).is_ok());

    // flags 2|16 on a proxy challenge: 407, qop=auth-int, stale=true
    let m = request("INVITE", "alice", "", "");
    assert!(srv.challenge(
        &m,
        REALM.as_bytes(),
        2 | 16,
        CredKind::ProxyAuthorization,
        None
    ));
    let sent = m.replies.borrow()[0].clone();
    assert_eq!(
        (sent.code, sent.reason.as_str()),
        (407, "Proxy Authentication Required")
    );
    assert!(sent
        .headers
        .starts_with("Proxy-Authenticate: Digest realm="));
    assert!(
        sent.headers
            .ends_with("\", qop=\"auth-int\", stale=true\r\n"),
        "{}",
        sent.headers
    );

    // algorithms: one line per algorithm in the configured order, one nonce;
    // the realm prefix stripped; stateless replies
    let policy = Policy {
        algorithms: vec![Algorithm::Sha512_256, Algorithm::Sha256, Algorithm::Md5],
        realm_prefix: b"pfx.".to_vec(),
        sending: Sending::Stateless,
        ..Policy::default()
    };
    let srv = server_with(policy, nonce_cfg(false, false));
    let m = register("");
    assert!(srv.challenge(&m, b"pfx.sip.test", 0, CredKind::Authorization, None));
    let sent = m.replies.borrow()[0].clone();
    assert_eq!(sent.how, Sending::Stateless);
    let lines: Vec<&str> = sent.headers.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 3, "{}", sent.headers);
    let n = nonce_of(lines[0].as_bytes());
    for (l, alg) in lines.iter().zip(["SHA-512-256", "SHA-256", "MD5"]) {
        assert_eq!(
            *l,
            format!("WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"{n}\", algorithm={alg}")
        );
    }

    // the algorithms of the call (a per-call list): one line, one nonce each
    // in the call's order
    let m = register("");
    let call = [Algorithm::Sha256Sess, Algorithm::Md5];
    assert!(srv.challenge(
        &m,
        REALM.as_bytes(),
        1,
        CredKind::Authorization,
        Some(&call)
    ));
    let h = m.replies.borrow()[0].headers.clone();
    let lines: Vec<&str> = h.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2, "{h}");
    assert!(
        lines[0].ends_with("qop=\"auth\", algorithm=SHA-256-sess"),
        "{h}"
    );
    assert!(lines[1].ends_with("qop=\"auth\", algorithm=MD5"), "{h}");

    // one algorithm configured: printed as written
    let policy = Policy {
        algorithm: Some(Algorithm::Sha256),
        algorithm_str: b"SHA-256".to_vec(),
        ..Policy::default()
    };
    let srv = server_with(policy, nonce_cfg(false, false));
    let h = challenged(&srv, 1);
    assert!(h.ends_with(", qop=\"auth\", algorithm=SHA-256\r\n"), "{h}");
    assert_eq!(h.matches("\r\n").count(), 1);
}

/// A stale nonce in the request makes the next challenge say stale=true
/// without flag 16, except where the credentials cannot be read.
#[test]
fn stale_credentials_make_a_stale_challenge() {
    let srv = server(false, false);
    let auth = alice_answers(&srv);
    srv.nonces.process().now.set(NOW + 301);
    let m = register(&auth);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::StaleNonce);
    assert!(srv.challenge(&m, REALM.as_bytes(), 1, CredKind::Authorization, None));
    assert!(m.replies.borrow()[0].headers.contains(", stale=true"));
    // the same credentials, unreadable here (a failure route): no stale
    let mut m2 = register(&auth);
    m2.stale.borrow_mut().push(
        m2.find_credentials(REALM.as_bytes(), CredKind::Authorization)
            .unwrap()
            .unwrap(),
    );
    m2.in_failure_route = true;
    assert!(srv.challenge(&m2, REALM.as_bytes(), 1, CredKind::Authorization, None));
    assert!(!m2.replies.borrow()[0].headers.contains("stale"));
    // post_auth refuses stale credentials, but not on ACK
    let h = m.authorized().unwrap();
    assert_eq!(
        srv.post_auth(&m, Some(h), None),
        AuthResult::NotAuthenticated
    );
    let ack = request("ACK", "alice", &auth, "");
    let h = ack
        .find_credentials(REALM.as_bytes(), CredKind::Authorization)
        .unwrap()
        .unwrap();
    ack.set_stale(h);
    assert_eq!(
        srv.post_auth(&ack, Some(h), None),
        AuthResult::Authenticated
    );
}

/// one_time_nonce: the right answer authenticates and uses the slot; the
/// same credentials again are a reuse (-6); a wrong password before it
/// burns nothing.
#[test]
fn one_time_nonce_used_once_wrong_password_burns_nothing() {
    let srv = server(false, true);
    let hf = challenged(&srv, 1);
    // nid and pf in the nonce: 29 bytes, 40 characters
    assert_eq!(nonce_of(hf.as_bytes()).len(), 40);
    let wrong = answer(hf.as_bytes(), "alice", "guess", "REGISTER", "");
    let m = register(&wrong);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::InvalidPassword);
    assert!(m.replies.borrow().is_empty());
    // the wrong answer burnt nothing: the right one to the same challenge
    let right = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&right);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::Ok);
    assert!(m.authorized().is_some());
    // replayed: a reuse
    let m = register(&right);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::NonceReused);
    // through the API steps: pre_auth sees the used slot
    let m = register(&right);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    assert_eq!(pre.result, AuthResult::NonceReused);
    assert!(pre.checked.is_none());
}

/// nonce_count: each nc once, increasing; a wrong password does not use
/// the nc up.
#[test]
fn nonce_count_each_nc_once() {
    let srv = server(true, false);
    let n = nonce_of(challenged(&srv, 1).as_bytes());
    for (nc, pw, want) in [
        ("00000001", "guess", Verdict::InvalidPassword),
        ("00000001", "secret", Verdict::Ok),
        ("00000001", "secret", Verdict::StaleNonce),
        ("00000002", "secret", Verdict::Ok),
    ] {
        let m = register(&answer_nc(&n, nc, pw));
        assert_eq!(pv(&srv, &m, "secret"), want, "nc {nc} password {pw}");
    }
}

/// The API's order: pre_auth (nothing used), check_response (commit),
/// post_auth; a second check_response of the same checked nonce loses.
#[test]
fn api_steps_commit_once() {
    let srv = server(false, true);
    let auth = alice_answers(&srv);
    let m = register(&auth);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    assert_eq!(pre.result, AuthResult::DoAuthentication);
    let (h, checked) = (pre.hdr.unwrap(), pre.checked.unwrap());
    assert_eq!(checked.alg, Algorithm::Md5);
    assert_eq!(m.authorized(), Some(h));
    let c = m.creds(h);
    let ha1 = calc_ha1(
        checked.alg,
        false,
        b"alice",
        REALM.as_bytes(),
        b"secret",
        b"",
        b"",
    );
    // pre_auth used nothing up: a second pre_auth passes too
    assert_eq!(
        srv.pre_auth(&register(&auth), REALM.as_bytes(), CredKind::Authorization)
            .result,
        AuthResult::DoAuthentication
    );
    let ok = srv.check_response(
        Some((&m, h)),
        &c,
        b"REGISTER",
        ha1.as_bytes(),
        || b"",
        Some(&checked),
    );
    assert_eq!(ok, AuthResult::Authenticated);
    let again = srv.check_response(
        Some((&m, h)),
        &c,
        b"REGISTER",
        ha1.as_bytes(),
        || b"",
        Some(&checked),
    );
    assert_eq!(again, AuthResult::NonceReused);
    assert!(m.is_stale(h));
    // without pre_auth while replay protection is on: refused
    let none = srv.check_response::<MockMsg>(None, &c, b"REGISTER", ha1.as_bytes(), || b"", None);
    assert_eq!(none, AuthResult::NotAuthenticated);
    // without replay protection it is a plain response check
    let plain = server(false, false);
    let none = plain.check_response::<MockMsg>(None, &c, b"REGISTER", ha1.as_bytes(), || b"", None);
    assert_eq!(none, AuthResult::Authenticated);
}

/// An answer in an algorithm the server does not offer is refused in the
/// -1 class (BAD_CREDENTIALS), even with the right password.
#[test]
fn algorithm_not_offered_is_refused() {
    let policy = Policy {
        algorithm: Some(Algorithm::Sha256),
        algorithm_str: b"SHA-256".to_vec(),
        algorithms: vec![Algorithm::Sha256],
        ..Policy::default()
    };
    let srv = server_with(policy, nonce_cfg(false, false));
    let hf = challenged(&srv, 1);
    assert!(hf.contains("algorithm=SHA-256"));
    // the client downgraded to MD5 with the server's nonce
    let md5_line = hf.replace("algorithm=SHA-256", "algorithm=MD5");
    let auth = answer(md5_line.as_bytes(), "alice", "secret", "REGISTER", "");
    assert!(auth.contains("algorithm=MD5"));
    let m = register(&auth);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    assert_eq!(pre.result, AuthResult::DoAuthentication);
    // calc_HA1 hashes with the default (the offered one), not the answer's
    assert_eq!(pre.checked.unwrap().alg, Algorithm::Sha256);
    let c = m.creds(pre.hdr.unwrap());
    let ha1 = verify::ha1(Algorithm::Md5, b"alice", REALM.as_bytes(), b"secret");
    let r = srv.check_response(
        Some((&m, pre.hdr.unwrap())),
        &c,
        b"REGISTER",
        ha1.as_bytes(),
        || b"",
        pre.checked.as_ref(),
    );
    assert_eq!(r, AuthResult::BadCredentials);
    assert_eq!(pv(&srv, &register(&auth), "secret"), Verdict::Error);
    // the offered algorithm verifies
    let auth = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    assert_eq!(pv(&srv, &register(&auth), "secret"), Verdict::Ok);
}

/// auth-int hashes the request's real body: the same credentials on
/// another body are refused.
#[test]
fn auth_int_over_the_body() {
    let srv = server(false, false);
    let hf = challenged(&srv, 2);
    assert!(hf.contains("qop=\"auth-int\""));
    let auth = answer(hf.as_bytes(), "alice", "secret", "MESSAGE", "hello");
    assert!(auth.contains("qop=auth-int"));
    for (body, want) in [("hello", Verdict::Ok), ("hellO", Verdict::InvalidPassword)] {
        let m = request("MESSAGE", "alice", &auth, body);
        assert_eq!(pv(&srv, &m, "secret"), want, "{body}");
    }
}

/// consume_credentials removes the authorized header from what is
/// forwarded; without authorized credentials it fails.
#[test]
fn consume_credentials_removes_the_header() {
    let srv = server(false, false);
    let auth = alice_answers(&srv);
    let m = register(&auth);
    assert!(!srv.consume_credentials(&m));
    assert!(srv.has_credentials(&m, REALM.as_bytes()));
    assert!(!srv.has_credentials(&m, b"other.test"));
    assert_eq!(pv(&srv, &m, "secret"), Verdict::Ok);
    assert!(m.sent().contains("Authorization: Digest"));
    assert!(srv.consume_credentials(&m));
    let sent = m.sent();
    assert!(!sent.contains("Authorization"), "{sent}");
    assert!(
        sent.contains("CSeq: 1 REGISTER\r\nContent-Length: 0\r\n"),
        "{sent}"
    );
    // ACK: nothing to consume
    assert!(!srv.consume_credentials(&request("ACK", "alice", &auth, "")));
}

/// pv_auth_check: with checks & 1 the credentials' user must be the To
/// user of a REGISTER (and From = To).
#[test]
fn pv_auth_check_user_mismatch() {
    let srv = server(false, false);
    let check = |m: &MockMsg, pw: &str, checks: i32| {
        srv.pv_auth_check(m, REALM.as_bytes(), pw.as_bytes(), 0, checks)
            .verdict
    };
    let hf = challenged(&srv, 1);
    // bob answers a REGISTER for alice with his own password: refused with
    // the user check, accepted without it (the password is all that counts)
    let bob = answer(hf.as_bytes(), "bob", "bobpw", "REGISTER", "");
    let alice = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    // an INVITE answers a 407 with Proxy-Authorization; its From user counts
    let m = request("INVITE", "alice", "", "");
    assert!(srv.challenge(&m, REALM.as_bytes(), 1, CredKind::ProxyAuthorization, None));
    let hf407 = m.replies.borrow()[0].headers.clone();
    let invite = answer(hf407.as_bytes(), "alice", "secret", "INVITE", "");
    assert!(invite.starts_with("Proxy-Authorization: "));
    for (m, pw, checks, want) in [
        (register(&bob), "bobpw", 1, Verdict::UserMismatch),
        (register(&bob), "bobpw", 0, Verdict::Ok),
        (register(&alice), "secret", 1, Verdict::Ok),
        // a REGISTER whose From is not its To
        (
            request("REGISTER", "carol", &alice, ""),
            "secret",
            1,
            Verdict::UserMismatch,
        ),
        (
            request("INVITE", "alice", &invite, ""),
            "secret",
            1,
            Verdict::Ok,
        ),
        (
            request("INVITE", "bob", &invite, ""),
            "secret",
            1,
            Verdict::UserMismatch,
        ),
    ] {
        assert_eq!(check(&m, pw, checks), want, "{}", m.sent());
    }
}

/// pv_authenticate with challenge flags builds the challenge to send: no
/// credentials, a wrong password; HA1 given instead of a password (flag 1).
#[test]
fn pv_authenticate_results_and_challenges() {
    let srv = server(false, false);
    let m = register("");
    let r = srv.pv_authenticate(
        &m,
        REALM.as_bytes(),
        b"secret",
        4,
        CredKind::Authorization,
        b"REGISTER",
    );
    assert_eq!(r.verdict, Verdict::NoCredentials);
    let hf = String::from_utf8(r.challenge.unwrap()).unwrap();
    assert!(hf.starts_with("WWW-Authenticate: Digest realm=\"sip.test\""));
    assert!(hf.ends_with(", qop=\"auth\"\r\n"), "{hf}");
    // no challenge without flags 2/4/8
    let r = srv.pv_authenticate(
        &m,
        REALM.as_bytes(),
        b"secret",
        0,
        CredKind::Authorization,
        b"REGISTER",
    );
    assert_eq!((r.verdict, r.challenge), (Verdict::NoCredentials, None));

    let auth = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&auth);
    let r = srv.pv_authenticate(
        &m,
        REALM.as_bytes(),
        b"wrong",
        8,
        CredKind::Authorization,
        b"REGISTER",
    );
    assert_eq!(r.verdict, Verdict::InvalidPassword);
    assert!(String::from_utf8(r.challenge.unwrap())
        .unwrap()
        .contains("qop=\"auth-int\""));
    let ha1 = verify::ha1(Algorithm::Md5, b"alice", REALM.as_bytes(), b"secret");
    let m = register(&auth);
    let r = srv.pv_authenticate(
        &m,
        REALM.as_bytes(),
        ha1.as_bytes(),
        PV_HA1,
        CredKind::Authorization,
        b"REGISTER",
    );
    assert_eq!((r.verdict, r.challenge), (Verdict::Ok, None));
    // ACK, CANCEL and PRACK pass without credentials
    for meth in ["ACK", "CANCEL", "PRACK"] {
        let m = request(meth, "alice", "", "");
        assert_eq!(pv(&srv, &m, "secret"), Verdict::Ok, "{meth}");
    }
}

/// Nonces not of this server: another secret, a truncated one.
#[test]
fn foreign_and_damaged_nonces() {
    let srv = server(false, false);
    let other = server_with(
        Policy::default(),
        KamailioNonceConfig {
            secrets: Secrets::from_param(b"another-secret", false),
            ..nonce_cfg(false, false)
        },
    );
    let hf = challenged(&other, 1);
    let auth = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&auth);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    assert_eq!(pre.result, AuthResult::NotAuthenticated);
    assert!(!m.is_stale(pre.hdr.unwrap()));
    let n = nonce_of(hf.as_bytes());
    let c = verify::Creds {
        nonce: &n.as_bytes()[..20],
        ..Default::default()
    };
    assert_eq!(
        srv.nonces.check(Some(&m), &c).unwrap_err().class,
        NonceClass::Invalid
    );
    // a header without its response: the core's check refuses it first
    let broken = auth
        .split(", ")
        .filter(|p| !p.starts_with("response="))
        .collect::<Vec<_>>()
        .join(", ");
    let m = register(&broken);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    assert_eq!(pre.result, AuthResult::BadCredentials);
}

/// auth_checks: a nonce bound to the Call-ID is stale on another call.
#[test]
fn nonce_bound_to_the_call_id() {
    let cfg = KamailioNonceConfig {
        secrets: Secrets::from_param(b"0123456789abcdef0123456789abcdef", true),
        checks_reg: crate::digest::nonce::AUTH_CHECK_CALLID,
        ..nonce_cfg(false, false)
    };
    let srv = server_with(Policy::default(), cfg);
    let hf = challenged(&srv, 1);
    // the second MD5: 40 bytes, 56 characters
    assert_eq!(nonce_of(hf.as_bytes()).len(), 56);
    let auth = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
    assert_eq!(pv(&srv, &register(&auth), "secret"), Verdict::Ok);
    let text = String::from_utf8(register(&auth).text)
        .unwrap()
        .replace("call-1", "call-2");
    let m = MockMsg::new(&text);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::StaleNonce);
}

/// Authentication-Info: rspauth over the answer; with one-time nonces a
/// fresh nextnonce, else the same nonce.
#[test]
fn post_auth_adds_authentication_info() {
    for otn in [false, true] {
        let policy = Policy {
            authinfo: true,
            ..Policy::default()
        };
        let srv = server_with(policy, nonce_cfg(false, otn));
        let hf = challenged(&srv, 1);
        let n = nonce_of(hf.as_bytes());
        let auth = answer(hf.as_bytes(), "alice", "secret", "REGISTER", "");
        let m = register(&auth);
        assert_eq!(pv(&srv, &m, "secret"), Verdict::Ok);
        let added = m.reply_headers.borrow();
        assert_eq!(added.len(), 1);
        let info = String::from_utf8_lossy(&added[0]).into_owned();
        assert!(
            info.starts_with("Authentication-Info: nextnonce=\""),
            "{info}"
        );
        assert_eq!(
            nonce_of(info.replace("nextnonce", "nonce").as_bytes()) == n,
            !otn
        );
        let c = m.creds(m.authorized().unwrap());
        let ha1 = verify::ha1(Algorithm::Md5, b"alice", REALM.as_bytes(), b"secret");
        let rsp = verify::rspauth(Algorithm::Md5, Some(Qop::Auth), &c, ha1.as_bytes(), b"");
        assert!(
            info.contains(&format!(", qop=auth, rspauth=\"{rsp}\", cnonce=\"")),
            "{info}"
        );
        assert!(info.ends_with("\", nc=00000001\r\n"), "{info}");
    }
}

/// The API's build_challenge: the caller's nonce and algorithm, the
/// configured qop, no request needed.
#[test]
fn build_challenge_with_the_callers_nonce() {
    let srv = server(false, false);
    let hf = srv
        .build_challenge::<MockMsg>(
            None,
            true,
            REALM.as_bytes(),
            Some(b"abc"),
            Some(b"SHA-256"),
            CredKind::ProxyAuthorization,
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(hf).unwrap(),
        "Proxy-Authenticate: Digest realm=\"sip.test\", nonce=\"abc\", qop=\"auth\", stale=true, algorithm=SHA-256\r\n"
    );
    // a param error: a 500 unless flag 4
    let m = register("");
    assert!(srv.param_error_reply(&m, 0));
    assert!(srv.param_error_reply(&m, 4));
    let r: Vec<SentReply> = m.replies.borrow().clone();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].code, r[0].reason.as_str()),
        (500, "Internal Server Error")
    );
}

/// A second nonce format behind the same trait, as OpenSIPS's is: one nonce
/// per offered algorithm, bound to it (a nonce answered in another
/// algorithm is stale), one use each.
struct AlgBound {
    used: std::cell::RefCell<Vec<usize>>,
}

impl NonceScheme for AlgBound {
    type Checked = usize;

    fn issue<M: AuthRequest>(
        &self,
        _req: Option<&M>,
        algs: &[Option<Algorithm>],
        _qop: QopOffer,
    ) -> Result<Vec<Vec<u8>>, String> {
        Ok(algs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}-{}", a.unwrap_or(Algorithm::Md5).name()).into_bytes())
            .collect())
    }

    fn check<M: AuthRequest>(
        &self,
        _req: Option<&M>,
        creds: &Creds,
    ) -> Result<usize, nonce::NonceRefused> {
        let n = String::from_utf8_lossy(creds.nonce).into_owned();
        let alg = if creds.algorithm.is_empty() {
            "MD5".to_string()
        } else {
            String::from_utf8_lossy(creds.algorithm).to_ascii_uppercase()
        };
        let Some((i, bound)) = n.split_once('-') else {
            return Err(nonce::NonceRefused {
                class: NonceClass::Invalid,
                code: 1,
            });
        };
        if bound.to_ascii_uppercase() != alg {
            return Err(nonce::NonceRefused {
                class: NonceClass::Stale,
                code: 2,
            });
        }
        let i: usize = i.parse().map_err(|_| nonce::NonceRefused {
            class: NonceClass::Invalid,
            code: 1,
        })?;
        if self.used.borrow().contains(&i) {
            return Err(nonce::NonceRefused {
                class: NonceClass::Reused,
                code: 3,
            });
        }
        Ok(i)
    }

    fn commit(&self, checked: &usize) -> Result<(), nonce::NonceRefused> {
        self.used.borrow_mut().push(*checked);
        Ok(())
    }

    fn one_time(&self) -> bool {
        true
    }

    fn replay_protected(&self) -> bool {
        true
    }
}

#[test]
fn a_format_that_binds_the_algorithm() {
    let policy = Policy {
        algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        ..Policy::default()
    };
    let srv = AuthServer::new(
        policy,
        AlgBound {
            used: Default::default(),
        },
    );
    let m = register("");
    assert!(srv.challenge(&m, REALM.as_bytes(), 1, CredKind::Authorization, None));
    let h = m.replies.borrow()[0].headers.clone();
    let lines: Vec<&str> = h.split_terminator("\r\n").collect();
    assert_eq!(
        (nonce_of(lines[0].as_bytes()), nonce_of(lines[1].as_bytes())),
        ("0-SHA-256".to_string(), "1-MD5".to_string())
    );
    // the SHA-256 line answered: verifies, once
    let auth = answer(lines[0].as_bytes(), "alice", "secret", "REGISTER", "");
    assert_eq!(pv(&srv, &register(&auth), "secret"), Verdict::Ok);
    assert_eq!(pv(&srv, &register(&auth), "secret"), Verdict::NonceReused);
    // the MD5 line's nonce answered in SHA-256: stale
    let sha = lines[1].replace("algorithm=MD5", "algorithm=SHA-256");
    let auth = answer(sha.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&auth);
    assert_eq!(pv(&srv, &m, "secret"), Verdict::StaleNonce);
    assert!(m.is_stale(m.authorized().unwrap()));
}
