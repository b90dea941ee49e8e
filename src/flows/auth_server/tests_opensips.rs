//! The auth-server flow with OpenSIPS 3.6's rules and nonces
//! (`HostRules::OPENSIPS`, `OpensipsNonces`) on `ports::mock`: challenges,
//! pre_auth's order and replies, the one-time index, authorize_with,
//! Authentication-Info.

use super::opensips_nonces::{OpensipsNonceConfig, OpensipsNonces};
use super::tests::{answer, nonce_of, register, request, NOW, REALM};
use super::*;
use crate::digest::aes_nonce::{self as aes, NonceKey};
use crate::ports::message::SipMessage;
use crate::ports::mock::{MockLock, MockMsg, MockProcess};
use crate::ports::replicate::NoReplication;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

type Osips = AuthServer<OpensipsNonces<MockProcess, MockLock, NoReplication>>;

fn policy() -> Policy {
    Policy {
        qop: None,
        rules: HostRules::OPENSIPS,
        ..Policy::default()
    }
}

fn server_at(index: bool, process: MockProcess) -> Osips {
    let cfg = OpensipsNonceConfig {
        secret: SECRET.to_vec(),
        expire: 30,
        index,
    };
    AuthServer::new(
        policy(),
        OpensipsNonces::new(&cfg, process, NoReplication).unwrap(),
    )
}

fn server(index: bool) -> Osips {
    server_at(index, MockProcess::at(NOW))
}

/// www_challenge(REALM, qop, algorithms) for a REGISTER: the reply's header
/// lines.
fn challenge(srv: &Osips, qop: QopOffer, algs: Option<&[Algorithm]>) -> String {
    let m = register("");
    srv.challenge_offer(&m, REALM.as_bytes(), qop, algs, CredKind::Authorization)
        .unwrap();
    let r = m.replies.borrow();
    assert_eq!((r.len(), r[0].code), (1, 401));
    r[0].headers.clone()
}

fn decoded(line: &str) -> aes::NonceParams {
    let n = nonce_of(line.as_bytes());
    NonceKey::new(SECRET)
        .unwrap()
        .decode(n.as_bytes())
        .unwrap()
        .params
}

/// pre_auth then check_response with alice's password, as auth_db calls
/// them (the -sess key from calc_ha1 where the algorithm needs one).
fn verify(srv: &Osips, m: &MockMsg, pw: &str) -> AuthResult {
    let pre = srv.pre_auth(m, REALM.as_bytes(), CredKind::Authorization);
    if pre.result != AuthResult::DoAuthentication {
        return pre.result;
    }
    let h = pre.hdr.unwrap();
    let c = m.creds(h);
    let alg = verify::algorithm_of(&c, Algorithm::Md5).unwrap();
    let key = calc_ha1(
        alg,
        alg.is_sess(),
        c.username,
        c.realm,
        pw.as_bytes(),
        c.nonce,
        c.cnonce,
    );
    srv.check_response(
        Some((m, h)),
        &c,
        m.method(),
        key.as_bytes(),
        || m.body().unwrap_or_default(),
        pre.checked.as_ref(),
    )
}

#[test]
fn challenges_as_stock_prints_them() {
    let srv = server(true);
    // no list: one line, no algorithm directive, an MD5 nonce without qop
    let h = challenge(&srv, QopOffer::None, None);
    assert!(
        h.starts_with("WWW-Authenticate: Digest realm=\"sip.test\", nonce=\"")
            && h.ends_with("\"\r\n"),
        "{h}"
    );
    let p = decoded(&h);
    assert_eq!((p.alg, p.qop), (1, aes::QOP_UNSPEC));
    assert!(p.expires_us() == (NOW as u64 + 30) * 1_000_000);
    // a list, strongest first as the module orders it: qop="auth" added
    // (SHA needs it), one nonce per line binding its algorithm
    let algs = [Algorithm::Sha512_256, Algorithm::Sha256, Algorithm::Md5];
    let h = challenge(&srv, QopOffer::None, Some(&algs));
    let lines: Vec<&str> = h.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    for (l, a) in lines.iter().zip(algs) {
        assert!(
            l.ends_with(&format!(", qop=\"auth\", algorithm={}", a.name())),
            "{l}"
        );
        assert_eq!(Some(decoded(l).alg), aes::alg_number(a));
        assert_eq!(decoded(l).qop, aes::QOP_AUTH);
    }
    // MD5 alone does not force qop (stock adds it for any list)
    let h = challenge(&srv, QopOffer::None, Some(&[Algorithm::Md5]));
    assert!(!h.contains("qop"), "{h}");
    // both qops, numbered in the nonce as stock numbers what it prints
    let h = challenge(&srv, QopOffer::AuthAuthInt, None);
    assert!(h.contains(", qop=\"auth,auth-int\"\r\n"), "{h}");
    assert_eq!(decoded(&h).qop, aes::QOP_AUTHINT_AUTH);
    let h = challenge(&srv, QopOffer::AuthIntAuth, None);
    assert!(h.contains(", qop=\"auth-int,auth\"\r\n"), "{h}");
    assert_eq!(decoded(&h).qop, aes::QOP_AUTH_AUTHINT);
}

#[test]
fn realm_from_the_uri_and_stale_from_the_authorized_credentials() {
    let srv = Osips {
        policy: Policy {
            realm_prefix: b"sip.".to_vec(),
            ..policy()
        },
        ..server(true)
    };
    // empty realm: the To host of a REGISTER, realm_prefix stripped
    let m = register("");
    srv.challenge_offer(&m, b"", QopOffer::Auth, None, CredKind::Authorization)
        .unwrap();
    assert!(m.replies.borrow()[0].headers.contains("realm=\"test\""));
    // a given realm keeps its prefix (stock strips only the URI's)
    let h = challenge(&srv, QopOffer::Auth, None);
    assert!(h.contains("realm=\"sip.test\""), "{h}");
    // stale credentials, marked by pre_auth: the next challenge says so
    let srv = server(true);
    let first = challenge(&srv, QopOffer::Auth, None);
    let a = answer(first.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&a);
    assert_eq!(verify(&srv, &m, "secret"), AuthResult::Authenticated);
    let again = register(&a);
    assert_eq!(verify(&srv, &again, "secret"), AuthResult::StaleNonce);
    srv.challenge_offer(
        &again,
        REALM.as_bytes(),
        QopOffer::Auth,
        None,
        CredKind::Authorization,
    )
    .unwrap();
    assert!(again.replies.borrow()[0].headers.contains(", stale=true"));
    // not for the other kind of header
    srv.challenge_offer(
        &again,
        REALM.as_bytes(),
        QopOffer::Auth,
        None,
        CredKind::ProxyAuthorization,
    )
    .unwrap();
    assert!(!again.replies.borrow()[1].headers.contains("stale"));
}

#[test]
fn one_use_per_nonce_and_a_wrong_password_burns_nothing() {
    let srv = server(true);
    let h = challenge(&srv, QopOffer::Auth, None);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    let bad = answer(h.as_bytes(), "alice", "nope", "REGISTER", "");
    // wrong first: refused, the nonce stays good
    assert_eq!(
        verify(&srv, &register(&bad), "secret"),
        AuthResult::NotAuthenticated
    );
    assert_eq!(
        verify(&srv, &register(&a), "secret"),
        AuthResult::Authenticated
    );
    // the replay: stale (OpenSIPS has no NONCE_REUSED), from the first second
    let replay = register(&a);
    assert_eq!(verify(&srv, &replay, "secret"), AuthResult::StaleNonce);
    assert_eq!(srv.nonces.index().unwrap().len(), 1);
    // many challenges cost nothing: only uses are kept
    for _ in 0..1000 {
        challenge(&srv, QopOffer::Auth, None);
    }
    assert_eq!(srv.nonces.index().unwrap().len(), 1);
}

#[test]
fn every_algorithm_and_qop_and_the_nonce_binding() {
    let srv = server(true);
    let algs = [
        Algorithm::Sha512_256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha256Sess,
        Algorithm::Sha256,
        Algorithm::Md5Sess,
        Algorithm::Md5,
    ];
    let body = "v=0\r\n";
    for qop in [QopOffer::Auth, QopOffer::AuthInt, QopOffer::AuthAuthInt] {
        let h = challenge(&srv, qop, Some(&algs));
        for line in h.split("\r\n").filter(|l| !l.is_empty()) {
            let a = answer(
                format!("{line}\r\n").as_bytes(),
                "alice",
                "secret",
                "REGISTER",
                body,
            );
            let m = request("REGISTER", "alice", &a, body);
            assert_eq!(
                verify(&srv, &m, "secret"),
                AuthResult::Authenticated,
                "{line}"
            );
        }
    }
    // a nonce answered in another algorithm than its line's: stale
    let h = challenge(&srv, QopOffer::Auth, Some(&[Algorithm::Sha256]));
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    let md5 = a.replace("algorithm=SHA-256", "algorithm=MD5");
    assert_eq!(
        verify(&srv, &register(&md5), "secret"),
        AuthResult::StaleNonce
    );
    // qop=auth nonce answered with auth-int: stale; without qop: taken as auth
    let h = challenge(&srv, QopOffer::Auth, None);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    let int = a.replace("qop=auth", "qop=auth-int");
    assert_eq!(
        verify(&srv, &register(&int), "secret"),
        AuthResult::StaleNonce
    );
}

#[test]
fn pre_auth_order_and_replies() {
    let srv = server(true);
    // ACK passes; PRACK does not (OpenSIPS)
    assert_eq!(
        srv.pre_auth(
            &request("ACK", "alice", "", ""),
            REALM.as_bytes(),
            CredKind::Authorization
        )
        .result,
        AuthResult::Authenticated
    );
    assert_eq!(
        srv.pre_auth(
            &request("PRACK", "alice", "", ""),
            REALM.as_bytes(),
            CredKind::Authorization
        )
        .result,
        AuthResult::NoCredentials
    );
    // a missing response: 400 and Error, not marked authorized
    let m = register("Authorization: Digest username=\"alice\", realm=\"sip.test\", nonce=\"x\", uri=\"sip:sip.test\"\r\n");
    assert_eq!(
        srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization)
            .result,
        AuthResult::Error
    );
    assert_eq!(m.replies.borrow()[0].code, 400);
    assert_eq!(m.authorized(), None);
    // a foreign or truncated nonce: marked, then stale
    let m = register("Authorization: Digest username=\"alice\", realm=\"sip.test\", nonce=\"abc\", uri=\"sip:sip.test\", response=\"00000000000000000000000000000000\"\r\n");
    assert_eq!(
        srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization)
            .result,
        AuthResult::StaleNonce
    );
    let h = m.authorized().unwrap();
    assert!(m.is_stale(h));
    assert!(m.replies.borrow().is_empty());
    // skip flags: found only; fields checked but no nonce
    let (p, _) = srv.pre_auth_skip(
        &m,
        REALM.as_bytes(),
        CredKind::Authorization,
        Skip {
            cred_check: true,
            nonce_check: false,
        },
    );
    assert_eq!(p.result, AuthResult::DoAuthentication);
    let (p, _) = srv.pre_auth_skip(
        &m,
        REALM.as_bytes(),
        CredKind::Authorization,
        Skip {
            cred_check: false,
            nonce_check: true,
        },
    );
    assert_eq!(
        (p.result, p.checked.is_none()),
        (AuthResult::DoAuthentication, true)
    );
    // an empty realm: the To host
    let h = challenge(&srv, QopOffer::Auth, None);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&a);
    let (p, realm) = srv.pre_auth_skip(&m, b"", CredKind::Authorization, Skip::default());
    assert_eq!(
        (p.result, realm),
        (AuthResult::DoAuthentication, REALM.as_bytes())
    );
}

#[test]
fn without_the_index_and_across_a_restart() {
    // disable_nonce_check: index 0, usable again as stock
    let srv = server(false);
    let h = challenge(&srv, QopOffer::Auth, None);
    assert_eq!(decoded(&h).index, 0);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    for _ in 0..2 {
        assert_eq!(
            verify(&srv, &register(&a), "secret"),
            AuthResult::Authenticated
        );
    }
    // a nonce with an index (from a node with the index on): stale here
    let on = server(true);
    challenge(&on, QopOffer::Auth, None);
    let h = challenge(&on, QopOffer::Auth, None);
    assert_eq!(decoded(&h).index, 1);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    assert_eq!(
        verify(&srv, &register(&a), "secret"),
        AuthResult::StaleNonce
    );
    // a node started after the nonce was issued refuses it (its use is unknown)
    let mut p = MockProcess::at(NOW + 5);
    p.up_since = NOW + 1;
    let later = server_at(true, p);
    assert_eq!(
        verify(&later, &register(&a), "secret"),
        AuthResult::StaleNonce
    );
    // but a node up before it takes it, once
    assert_eq!(
        verify(&on, &register(&a), "secret"),
        AuthResult::Authenticated
    );
    // expired: stale after nonce_expire
    let a = answer(
        challenge(&on, QopOffer::Auth, None).as_bytes(),
        "alice",
        "secret",
        "REGISTER",
        "",
    );
    on.nonces.process().now.set(NOW + 30);
    assert_eq!(verify(&on, &register(&a), "secret"), AuthResult::StaleNonce);
}

/// A node that restarts refuses the nonces issued before its start until a
/// snapshot from another node of its cluster told it the uses since the
/// other's start: then the unused one passes (once) and the used one stays
/// refused.
#[test]
fn a_restarted_node_takes_older_nonces_after_a_snapshot() {
    let donor = server(true);
    let used = answer(
        challenge(&donor, QopOffer::Auth, None).as_bytes(),
        "alice",
        "secret",
        "REGISTER",
        "",
    );
    let unused = answer(
        challenge(&donor, QopOffer::Auth, None).as_bytes(),
        "alice",
        "secret",
        "REGISTER",
        "",
    );
    assert_eq!(
        verify(&donor, &register(&used), "secret"),
        AuthResult::Authenticated
    );
    let mut p = MockProcess::at(NOW + 5);
    p.up_since = NOW + 1;
    let joined = server_at(true, p);
    assert_eq!(
        verify(&joined, &register(&unused), "secret"),
        AuthResult::StaleNonce
    );
    donor
        .nonces
        .snapshot(&mut |r| joined.nonces.apply_record(r).is_ok());
    assert_eq!(
        verify(&joined, &register(&used), "secret"),
        AuthResult::StaleNonce
    );
    assert_eq!(
        verify(&joined, &register(&unused), "secret"),
        AuthResult::Authenticated
    );
    assert_eq!(
        verify(&joined, &register(&unused), "secret"),
        AuthResult::StaleNonce
    );
}

#[test]
fn authorize_with_a_password_an_ha1_or_no_user() {
    let srv = server(true);
    for (alg, secret) in [
        (Algorithm::Md5, Secret::Password(b"secret".to_vec())),
        (Algorithm::Sha256Sess, Secret::Password(b"secret".to_vec())),
        (
            Algorithm::Md5Sess,
            Secret::Ha1(verify::ha1(Algorithm::Md5, b"alice", b"sip.test", b"secret").into_bytes()),
        ),
    ] {
        let h = challenge(&srv, QopOffer::Auth, Some(&[alg]));
        let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
        let m = register(&a);
        let r = srv.authorize_with(&m, b"", CredKind::Authorization, |c, realm| {
            assert_eq!((c.username, realm), (&b"alice"[..], REALM.as_bytes()));
            Lookup::Found(secret.clone())
        });
        assert_eq!(r, Authorized::Result(AuthResult::Authenticated), "{alg:?}");
    }
    let h = challenge(&srv, QopOffer::Auth, None);
    let a = answer(h.as_bytes(), "alice", "secret", "REGISTER", "");
    let m = register(&a);
    assert_eq!(
        srv.authorize_with(&m, b"", CredKind::Authorization, |_, _| Lookup::UserUnknown),
        Authorized::UserUnknown
    );
    let r = srv.authorize_with(&m, b"", CredKind::Authorization, |_, _| {
        Lookup::Found(Secret::Password(b"wrong".to_vec()))
    });
    assert_eq!(r, Authorized::Result(AuthResult::NotAuthenticated));
    let r = srv.authorize_with(&m, b"", CredKind::Authorization, |_, _| Lookup::Error);
    assert_eq!(r, Authorized::Result(AuthResult::Error));
    assert_eq!(m.replies.borrow().last().unwrap().code, 500);
    // check_response without pre_auth only compares (msrp_relay's use)
    let c = m.creds(m.authorized().unwrap());
    let ha1 = verify::ha1(Algorithm::Md5, b"alice", b"sip.test", b"secret");
    let r = srv.check_response::<MockMsg>(None, &c, b"REGISTER", ha1.as_bytes(), || b"", None);
    assert_eq!(r, AuthResult::Authenticated);
}

#[test]
fn authentication_info_from_the_password() {
    let srv = server(true);
    let h = challenge(&srv, QopOffer::Auth, None);
    let a = answer(h.as_bytes(), "alice", "secret", "AUTH", "");
    let m = register(&a);
    let pre = srv.pre_auth(&m, REALM.as_bytes(), CredKind::Authorization);
    let c = m.creds(pre.hdr.unwrap());
    let info = authentication_info(&c, b"alice", b"sip.test", b"secret", b"", b"").unwrap();
    let ha1 = verify::ha1(Algorithm::Md5, b"alice", b"sip.test", b"secret");
    let rsp = verify::rspauth(Algorithm::Md5, Some(Qop::Auth), &c, ha1.as_bytes(), b"");
    let want = format!(
        "Authentication-Info: qop=auth, cnonce=\"{}\", nc={}, rspauth=\"{rsp}\"",
        String::from_utf8_lossy(c.cnonce),
        String::from_utf8_lossy(c.nc)
    );
    assert_eq!(String::from_utf8(info).unwrap(), want);
    // the same from "0x" and the HA1
    let given =
        authentication_info(&c, b"x", b"y", format!("0x{ha1}").as_bytes(), b"", b"").unwrap();
    assert_eq!(String::from_utf8(given).unwrap(), want);
}
