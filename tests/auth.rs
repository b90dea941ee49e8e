//! uac_auth through the real kamailio with our module, against challengers we
//! did not write: sipp's own digest check, and Kamailio's stock auth module.

mod common;
use common::dialog::Call;
use common::opensips::PyChallenger;
use common::*;

const ALICE: &str = "\"Alice\" <sip:alice@a.example.com>";
const BOB: &str = "<sip:bob@b.example.com>";

fn auth_proxy(next_hop: u16, defines: &[&str]) -> Kamailio {
    auth_proxy_with(&our_module(), next_hop, defines)
}

fn auth_proxy_with(module: &str, next_hop: u16, defines: &[&str]) -> Kamailio {
    start_example("uac-auth.cfg", module, "auto", "", next_hop, defines)
}

/// A second kamailio with the stock auth module, challenging with `algorithm`.
fn challenger(next_hop: u16, algorithm: &str, qop_flags: &str, www: bool) -> Kamailio {
    let port = free_port();
    let mut cfg = challenger_cfg(port, next_hop, algorithm, qop_flags);
    if www {
        cfg = cfg.replacen("\n", "\n#!define WITH_WWW\n", 1);
    }
    Kamailio::start_with(&cfg, port)
}

fn creds(user: &str, pass: &str, realm: &str) -> Vec<String> {
    vec![
        format!("X-Auth-User: {user}"),
        format!("X-Auth-Pass: {pass}"),
        format!("X-Auth-Realm: {realm}"),
    ]
}

/// The parameters of the credentials header the challenger received.
fn got_auth(m: &Msg) -> String {
    m.hdr("X-Got-Auth").to_string()
}

#[test]
fn sipp_uas_verifies_md5_401() {
    let a = Peer::new();
    let sipp_port = free_port();
    let k = auth_proxy(sipp_port, &[]);
    let sipp = SippUas::start("tests/fixtures/uas-401-verifyauth.xml", sipp_port);
    let call_id = format!("sipp-auth-{}", rand_tag());
    let from = format!("{ALICE};tag=a{}", rand_tag());
    let mut extra = creds("alice", "secret", "");
    extra.push("Content-Type: application/sdp".into());
    let req = request(
        "INVITE",
        &format!("sip:bob@127.0.0.1:{sipp_port}"),
        a.port,
        &from,
        BOB,
        &call_id,
        1,
        &extra,
    );
    a.send(k.port, &req);
    let ok = a.recv();
    assert_eq!(ok.status(), Some(200), "{}", ok.raw);
    assert_eq!(ok.hdr("X-Auth-Result"), "valid");
    // ACK so sipp finishes its scenario.
    let ack = request(
        "ACK",
        angle_uri(ok.hdr("Contact")),
        a.port,
        &from,
        ok.hdr("To"),
        &call_id,
        1,
        &ok.all("Record-Route")
            .iter()
            .map(|r| format!("Route: {r}"))
            .collect::<Vec<_>>(),
    );
    a.send(k.port, &ack);
    assert!(sipp.succeeded(), "sipp reported a failed call");
}

#[test]
fn stock_auth_module_md5_and_sha256_407() {
    // Not ("SHA-256", "2"): the stock auth module (5.6.3) verifies auth-int
    // against an H(entity-body) it never computes, so no client can pass it;
    // auth-int is verified by the Python challenger below.
    for (alg, qop) in [
        ("MD5", "0"),
        ("MD5", "1"),
        ("SHA-256", "1"),
        ("SHA-256", "0"),
    ] {
        let (a, b) = (Peer::new(), Peer::new());
        eprintln!("case algorithm={alg} qop flags={qop}");
        let c = challenger(b.port, alg, qop, false);
        let k = auth_proxy(c.port, &[]);
        let call = Call::invite(k.port, &a, &b, ALICE, BOB, &creds("alice", "secret", ""));
        let got = got_auth(&call.invite_at_b);
        assert!(
            got.contains(&format!("algorithm={alg}")),
            "{alg}/{qop}: {got}"
        );
        assert!(got.contains("realm=\"carrier.test\""), "{got}");
        match qop {
            "1" => assert!(
                got.contains("qop=auth,") && got.contains("nc=00000001"),
                "{got}"
            ),
            "2" => assert!(got.contains("qop=auth-int,"), "{got}"),
            _ => assert!(!got.contains("qop="), "{got}"),
        }
        assert!(c.log().contains("authenticated alice"), "{alg}/{qop}");
        assert_eq!(call.ok_at_a.status(), Some(200));
        drop(k);
        drop(c);
    }
}

#[test]
fn www_authenticate_401_from_stock_auth() {
    let (a, b) = (Peer::new(), Peer::new());
    let c = challenger(b.port, "SHA-256", "1", true);
    let k = auth_proxy(c.port, &[]);
    let call = Call::invite(
        k.port,
        &a,
        &b,
        ALICE,
        BOB,
        &creds("alice", "secret", "carrier.test"),
    );
    let got = got_auth(&call.invite_at_b);
    assert!(got.contains("algorithm=SHA-256"), "{got}");
    assert_eq!(call.ok_at_a.status(), Some(200));
    drop(k);
}

#[test]
fn static_credential_parameter() {
    // No AVP credentials: the `credential` modparam for realm static.test is not
    // the carrier's realm, so uac_auth fails and the 407 goes back upstream.
    let (a, b) = (Peer::new(), Peer::new());
    let c = challenger(b.port, "MD5", "1", false);
    let k = auth_proxy(c.port, &[]);
    let from = format!("{ALICE};tag=a{}", rand_tag());
    let req = request(
        "INVITE",
        &format!("sip:bob@127.0.0.1:{}", b.port),
        a.port,
        &from,
        BOB,
        "static-1",
        1,
        &[],
    );
    a.send(k.port, &req);
    let r = a.recv();
    assert_eq!(r.status(), Some(407), "{}", r.raw);
    assert_eq!(k.wait_log("no credential for realm \"carrier.test\"", 1), 1);
}

/// A server that refuses the answer with the very nonce it answered: uac_auth
/// does not answer it again (no loop on refused credentials); the second 407
/// goes back to the caller.
#[test]
fn wrong_password_is_not_retried_forever() {
    let py = PyChallenger::start(
        407,
        &[
            "SAME",
            "Digest realm=\"py.test\", nonce=\"n1\", algorithm=MD5",
        ],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &[]);
    let req = invite_with_body(&a, py.port, "wrongpw-1")
        .replace("X-Auth-Pass: secret", "X-Auth-Pass: wrong");
    a.send(k.port, &req);
    let r = a.recv();
    let printed = py.finish();
    assert_eq!(r.status(), Some(407), "{}", r.raw);
    assert_eq!(
        printed.matches("verified=False").count(),
        1,
        "answered once: {printed}"
    );
    assert_eq!(
        k.wait_log("challenged again with the nonce already answered", 1),
        1
    );
}

/// Issue 11 item 7: a second challenge with a new nonce and no stale=true is
/// answered, as the stock module does (some servers re-challenge that way).
fn fresh_nonce_is_answered(module: &str) {
    let py = PyChallenger::start(
        407,
        &[
            "FRESH",
            "Digest realm=\"py.test\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"",
        ],
    );
    let a = Peer::new();
    let k = auth_proxy_with(module, py.port, &[]);
    let r = invite_through(&a, &k, py.port, "py-fresh");
    let printed = py.finish();
    assert_eq!(r.status(), Some(200), "{module}: {}\n{printed}", r.raw);
    assert!(printed.contains("fresh: re-challenging"), "{printed}");
    assert!(
        printed.contains("verified=True") && printed.contains("nonce=freshn1"),
        "{module}: {printed}"
    );
    drop(k);
}

#[test]
fn fresh_nonce_without_stale_is_answered() {
    fresh_nonce_is_answered(&our_module());
}

#[test]
fn fresh_nonce_without_stale_is_answered_stock() {
    fresh_nonce_is_answered(&stock_module());
}

/// With the dialog module tracking CSeq, the authenticated INVITE goes out with
/// CSeq + 1 and the dialog stays consistent on both sides.
#[test]
fn cseq_raised_and_kept_through_dialog() {
    let (a, b) = (Peer::new(), Peer::new());
    let c = challenger(b.port, "SHA-256", "1", false);
    let k = auth_proxy(c.port, &["#!define WITH_CSEQ"]);
    let mut call = Call::invite(k.port, &a, &b, ALICE, BOB, &creds("alice", "secret", ""));
    let cseq = |m: &Msg| {
        m.hdr("CSeq")
            .split(' ')
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(cseq(&call.invite_at_b), 2, "callee sees the raised CSeq");
    assert_eq!(cseq(&call.ok_at_a), 1, "caller sees its own CSeq");
    let ack = call.ack();
    assert_eq!(cseq(&ack), 2);
    let (reinv, ok) = call.send_from_a("INVITE");
    assert_eq!(cseq(&reinv), 3);
    assert_eq!(cseq(&ok), 2);
    let (bye, ok) = call.send_from_a("BYE");
    assert_eq!(cseq(&bye), 4);
    assert_eq!(cseq(&ok), 3);
    drop(k);
}

/// An INVITE with an SDP body (auth-int hashes the body).
fn invite_with_body(a: &Peer, to_port: u16, call_id: &str) -> String {
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let from = format!("{ALICE};tag=a{}", rand_tag());
    let mut extra = creds("alice", "secret", "");
    extra.push("Content-Type: application/sdp".into());
    let req = request(
        "INVITE",
        &format!("sip:bob@127.0.0.1:{to_port}"),
        a.port,
        &from,
        BOB,
        call_id,
        1,
        &extra,
    );
    req.replace(
        "Content-Length: 0\r\n\r\n",
        &format!("Content-Length: {}\r\n\r\n{body}", body.len()),
    )
}

/// Sends `invite_with_body` from `a` through the proxy `k`; the final reply.
fn invite_through(a: &Peer, k: &Kamailio, to_port: u16, call_id: &str) -> Msg {
    a.send(k.port, &invite_with_body(a, to_port, call_id));
    a.recv()
}

#[test]
fn every_algorithm_and_qop_verified_independently() {
    let cases = [
        ("MD5", "auth", 407),
        ("MD5-sess", "auth-int", 401),
        ("SHA-256", "auth-int", 407),
        ("SHA-256-sess", "auth", 401),
        ("SHA-512-256", "", 407),
        ("SHA-512-256", "auth", 401),
        ("SHA-512-256-sess", "auth-int", 407),
        // not RFC 8760's, but Kamailio 6.1's auth offers it
        ("SHA-512", "auth", 401),
        ("SHA-512-sess", "auth-int", 407),
    ];
    for (alg, qop, code) in cases {
        let qop_param = if qop.is_empty() {
            String::new()
        } else {
            format!(", qop=\"{qop}\"")
        };
        let ch = format!("Digest realm=\"py.test\", nonce=\"n-{alg}\", opaque=\"op-{alg}\", algorithm={alg}{qop_param}");
        let py = PyChallenger::start(code, &[&ch]);
        let a = Peer::new();
        let k = auth_proxy(py.port, &[]);
        let r = invite_through(&a, &k, py.port, &format!("py-{alg}-{qop}"));
        let printed = py.finish();
        assert_eq!(r.status(), Some(200), "{alg}/{qop}: {}\n{printed}", r.raw);
        let want_qop = if qop.is_empty() { "none" } else { qop };
        assert_eq!(r.hdr("X-Verified"), format!("{alg} {want_qop}"));
        assert!(
            printed.contains(&format!("opaque=op-{alg}")),
            "opaque not echoed: {printed}"
        );
        drop(k);
    }
}

#[test]
fn qop_list_prefers_auth() {
    let py = PyChallenger::start(
        407,
        &["Digest realm=\"py.test\", nonce=\"n1\", qop=\"auth-int,auth\", algorithm=SHA-256"],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &[]);
    let r = invite_through(&a, &k, py.port, "py-qoplist");
    assert_eq!(r.status(), Some(200), "{}", r.raw);
    assert_eq!(r.hdr("X-Verified"), "SHA-256 auth");
    drop(k);
    py.finish();
}

/// RFC 8760 §2.4: the topmost challenge with a supported algorithm is answered.
#[test]
fn several_challenges_topmost_supported() {
    let py = PyChallenger::start(
        401,
        &[
            "Digest realm=\"py.test\", nonce=\"n-sha1\", algorithm=SHA-1",
            "Digest realm=\"py.test\", nonce=\"n-sha512\", algorithm=SHA-512-256, qop=\"auth\"",
            "Digest realm=\"py.test\", nonce=\"n-md5\", algorithm=MD5, qop=\"auth\"",
        ],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &[]);
    let r = invite_through(&a, &k, py.port, "py-several");
    let printed = py.finish();
    assert_eq!(r.status(), Some(200), "{}", r.raw);
    assert!(printed.contains("nonce=n-sha512"), "{printed}");
    drop(k);
}

/// The 407 users reported on Kamailio 6.1.1 (SHA-256 then MD5, one header
/// each): ours answers the topmost it supports, SHA-256, on both versions;
/// the host's stock module: 5.6.3 gives up (the 407 goes back), 6.1.4 (since
/// 6.1.3) answers the first one it can parse, MD5.
#[test]
fn sha256_then_md5_407() {
    let challenges = [
        "Digest realm=\"py.test\", nonce=\"n-sha\", algorithm=SHA-256, qop=\"auth\"",
        "Digest realm=\"py.test\", nonce=\"n-md5\", algorithm=MD5, qop=\"auth\"",
    ];
    for (module, stock) in [(our_module(), false), (stock_module(), true)] {
        let py = PyChallenger::start(407, &challenges);
        let a = Peer::new();
        let k = auth_proxy_with(&module, py.port, &[]);
        let r = invite_through(&a, &k, py.port, "py-sha-md5");
        let printed = py.finish();
        match (stock, host().is_61()) {
            (false, _) => {
                assert_eq!(r.status(), Some(200), "{}", r.raw);
                assert_eq!(r.hdr("X-Verified"), "SHA-256 auth");
            }
            (true, true) => {
                assert_eq!(r.status(), Some(200), "{}", r.raw);
                assert_eq!(r.hdr("X-Verified"), "MD5 auth");
            }
            (true, false) => {
                assert_eq!(r.status(), Some(407), "{}\n{printed}", r.raw);
            }
        }
        drop(k);
    }
}

#[test]
fn stale_challenge_is_answered_again() {
    let py = PyChallenger::start(
        407,
        &[
            "STALE",
            "Digest realm=\"py.test\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\"",
        ],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &[]);
    let r = invite_through(&a, &k, py.port, "py-stale");
    let printed = py.finish();
    assert_eq!(r.status(), Some(200), "{}\n{printed}", r.raw);
    assert!(printed.contains("stale: re-challenging"), "{printed}");
    assert!(
        printed.contains("verified=True") && printed.contains("nonce=freshn1"),
        "{printed}"
    );
    assert_eq!(k.wait_log("stale nonce for realm \"py.test\"", 1), 1);
}

#[test]
fn bad_challenges_fail_with_a_reason() {
    for (challenge, reason) in [
        (
            "Digest realm=\"py.test\", algorithm=MD5",
            "challenge has no nonce",
        ),
        ("Digest nonce=\"n\"", "challenge has no realm"),
        (
            "Digest realm=\"py.test\", nonce=\"n\", algorithm=SHA-1",
            "no supported challenge (algorithm SHA-1)",
        ),
        (
            "Digest realm=\"py.test\", nonce=\"n\", qop=\"foo\"",
            "no supported challenge (qop foo)",
        ),
        ("Digest realm=\"py.test, nonce=n", "unbalanced quotes"),
        (
            "Digest realm=\"a\", realm=\"b\", nonce=\"n\"",
            "parameter 'realm' repeated",
        ),
        (
            "Basic realm=\"py.test\"",
            "no supported challenge (scheme Basic)",
        ),
    ] {
        let py = PyChallenger::start(407, &[challenge]);
        let a = Peer::new();
        let mut k = auth_proxy(py.port, &[]);
        let r = invite_through(&a, &k, py.port, "py-bad");
        py.finish();
        // The challenge goes back upstream as the script decides (here: untouched).
        assert_eq!(r.status(), Some(407), "{challenge}: {}", r.raw);
        assert_eq!(
            k.wait_log(reason, 1),
            1,
            "no log line '{reason}' for {challenge}"
        );
        assert!(k.alive());
    }
}

/// uac_auth(1): the password AVP holds HA1, for SHA-256 64 hex digits; HA1 of
/// the wrong length for the algorithm is refused with a reason.
#[test]
fn ha1_mode() {
    // HA1 = SHA-256("alice:py.test:secret"), computed with Python's hashlib.
    let ha1 = "8e58ec60068bd6a9369924b2d19a53655b3294c19773304fa35ce6de16e8ecbc";
    for (secret, want) in [(ha1, Some(200)), ("5f4dcc3b5aa765d61d8327deb882cf99", None)] {
        let py = PyChallenger::start(
            407,
            &["Digest realm=\"py.test\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\""],
        );
        let a = Peer::new();
        let k = auth_proxy(py.port, &[]);
        let inv = invite_with_body(&a, py.port, "py-ha1")
            .replace("X-Auth-Pass: secret", &format!("X-Auth-Pass: {secret}"))
            .replace("Content-Type:", "X-Auth-Mode: 1\r\nContent-Type:");
        a.send(k.port, &inv);
        let r = a.recv();
        py.finish();
        match want {
            Some(code) => assert_eq!(r.status(), Some(code), "{}", r.raw),
            None => {
                assert_eq!(r.status(), Some(407));
                assert_eq!(
                    k.wait_log(
                        "HA1 in the password must be 64 hex digits for this algorithm, got 32",
                        1
                    ),
                    1
                );
            }
        }
    }
}

/// Any method relayed statefully: a MESSAGE with a body, qop=auth-int.
#[test]
fn message_request_authenticated() {
    let py = PyChallenger::start(
        407,
        &["Digest realm=\"py.test\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth-int\""],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &[]);
    let msg = invite_with_body(&a, py.port, "py-message").replace("INVITE", "MESSAGE");
    a.send(k.port, &msg);
    let r = a.recv();
    py.finish();
    assert_eq!(r.status(), Some(200), "{}", r.raw);
    assert_eq!(r.hdr("X-Verified"), "SHA-256 auth-int");
    assert!(r.hdr("CSeq").ends_with("MESSAGE"));
}

/// uac_auth in event_route[tm:branch-failure].
#[test]
fn branch_failure_event_route() {
    let py = PyChallenger::start(
        401,
        &["Digest realm=\"py.test\", nonce=\"n1\", algorithm=SHA-512-256, qop=\"auth\""],
    );
    let a = Peer::new();
    let k = auth_proxy(py.port, &["#!define WITH_BRANCH_FAILURE"]);
    let r = invite_through(&a, &k, py.port, "py-branch-failure");
    let printed = py.finish();
    assert_eq!(r.status(), Some(200), "{}\n{printed}\n{}", r.raw, k.log());
    assert_eq!(r.hdr("X-Verified"), "SHA-512-256 auth");
}
