//! The stock OpenSIPS `b2b_entities` and `msrp_ua` modules, loaded unchanged,
//! working through our uac_auth.so (its `load_uac_auth` API), each run beside
//! the stock uac_auth.so with the same config and traffic:
//! - b2b_entities: a UA session started with the MI `ua_session_client_start`
//!   towards a peer (tests/fixtures/ua_peer.py) that challenges the INVITE with
//!   401 or 407 (and the re-INVITE from `ua_session_update`), verifies the
//!   digest with Python's hashlib and answers 200; the ACK must arrive;
//! - msrp_ua: a session started with the MI `msrp_ua_start_session` through an
//!   MSRP relay (tests/fixtures/msrp_relay.py) that challenges the AUTH, checks
//!   the answer and grants a Use-Path, which must show in the SDP of the INVITE
//!   msrp_ua then sends.

mod common;
use common::free_port;
use common::opensips::{module, Opensips};
use std::io::BufRead;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A python fixture script printing "ready" then one line per event; its
/// lines are collected by a thread; killed on drop.
struct Script {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn start(name: &str, args: &[String]) -> Script {
        let script = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut rd = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        rd.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "{name} did not start");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in rd.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        Script { child, lines }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tab-separated `key=value` field of a peer line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split('\t')
        .find_map(|f| f.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

const B2B_REALM: &str = "b2b.test";

/// One UA session from the MI `ua_session_client_start` through stock
/// b2b_entities with our (or, `stock`, the stock) uac_auth, towards ua_peer.py
/// challenging with `code` and `challenge`; with `reinvite`, a re-INVITE from
/// `ua_session_update` is challenged too. The peer's lines.
fn b2b_session(stock: bool, code: u16, challenge: &str, reinvite: bool) -> Vec<String> {
    b2b_session_body(stock, code, challenge, reinvite, None)
}

/// b2b_session, the INVITE carrying `body` (text/plain) when given.
fn b2b_session_body(
    stock: bool,
    code: u16,
    challenge: &str,
    reinvite: bool,
    body: Option<&str>,
) -> Vec<String> {
    let peer_port = free_port();
    let mut args = vec![
        peer_port.to_string(),
        code.to_string(),
        "alice".into(),
        "secret".into(),
        challenge.into(),
    ];
    if reinvite {
        args.push("REINVITE".into());
    }
    let peer = Script::start("ua_peer.py", &args);
    let port = free_port();
    let invite_body = body
        .map(|b| format!(r#","body":"{b}","content_type":"text/plain""#))
        .unwrap_or_default();
    let body = format!(
        r#"loadmodule "tm.so"
loadmodule "{uac_auth}"
loadmodule "b2b_entities.so"
modparam("uac_auth", "credential", "bob:other.test:nope")
modparam("uac_auth", "credential", "alice:{B2B_REALM}:secret")
modparam("b2b_entities", "advertised_contact", "sip:b2b@127.0.0.1:{port}")
route {{ exit; }}
"#,
        uac_auth = module("uac_auth", stock),
    );
    let o = Opensips::start(port, &body);
    // To = R-URI: stock b2b_entities re-sends the answered initial INVITE to
    // the To URI (its dialog has no remote target before a reply with a
    // Contact), with the digest uri of the first INVITE's R-URI.
    let key = start_ua_session(&o, peer_port, &invite_body);
    // the ACK of the challenge, then the ACK of the 200
    let acks = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let l = peer.lines.lock().unwrap().clone();
            if l.iter().filter(|x| x.starts_with("ACK")).count() >= n || Instant::now() > deadline {
                return l;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    if challenge.contains(&format!("realm=\"{B2B_REALM}\"")) {
        acks(2);
    } else {
        // no credential for the realm: the ACK of the challenge only, then
        // time for an answer that must not come
        acks(1);
        std::thread::sleep(Duration::from_secs(2));
    }
    if reinvite {
        let r = o.mi(
            "ua_session_update",
            &format!(r#"{{"key":"{key}","method":"INVITE"}}"#),
        );
        assert!(r.contains("\"result\""), "ua_session_update: {r}");
        acks(4);
    }
    // the peer's port differs between runs
    let lines = peer
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.replace(&format!("127.0.0.1:{peer_port}"), "127.0.0.1:PEER"))
        .collect();
    assert!(!o.log().contains("CRITICAL"), "{}", o.log());
    lines
}

/// MI `ua_session_client_start` from alice to the peer (To = R-URI, see
/// b2b_session_body), `more` appended to the JSON parameters; the new
/// session's b2b key.
fn start_ua_session(o: &Opensips, peer_port: u16, more: &str) -> String {
    let r = o.mi(
        "ua_session_client_start",
        &format!(
            r#"{{"ruri":"sip:bob@127.0.0.1:{peer_port}","to":"sip:bob@127.0.0.1:{peer_port}","from":"sip:alice@{B2B_REALM}"{more}}}"#
        ),
    );
    // the reply's result is the session's b2b key
    r.split("\"result\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("ua_session_client_start failed: {r}\n{}", o.log()))
        .to_string()
}

/// What a session must show on the wire: the challenged INVITE, the answer
/// (verified by the peer, digest uri = Request-URI) in the header `hdr`, the
/// ACK; with `reinvite`, the same for the re-INVITE. The answers' header
/// values (cnonce and response masked).
fn check_session(lines: &[String], hdr: &str, reinvite: bool) -> Vec<String> {
    let mut answers = Vec::new();
    for kind in if reinvite {
        &["INVITE", "REINVITE"][..]
    } else {
        &["INVITE"][..]
    } {
        let of_kind: Vec<&String> = lines
            .iter()
            .filter(|l| l.split('\t').next() == Some(*kind))
            .collect();
        assert_eq!(
            of_kind.len(),
            2,
            "{kind}: challenged, then answered: {lines:?}"
        );
        assert_eq!(field(of_kind[0], "auth"), "-", "{lines:?}");
        let a = of_kind[1];
        assert_eq!(field(a, "auth"), hdr, "{lines:?}");
        assert_eq!(field(a, "verified"), "True", "{lines:?}");
        assert_eq!(field(a, "uri_match"), "True", "{lines:?}");
        // the 200 (sent only to a verified answer) is acknowledged
        let n = field(a, "cseq").split(' ').next().unwrap();
        assert!(
            lines.contains(&format!("ACK\tcseq={n} ACK")),
            "no ACK for the 200: {lines:?}"
        );
        answers.push(field(a, "norm").to_string());
    }
    answers
}

/// b2b_entities answers 401 and 407 challenges on the initial INVITE of a UA
/// session through our uac_auth (MD5, SHA-256, SHA-512-256, qop auth or
/// none; -sess), the session is established; the stock uac_auth sends the
/// same header fields (cnonce and response aside, the peer's port masked).
#[test]
fn b2b_entities_ua_session_auth_ours_and_stock() {
    let cases = [
        (401, "MD5", "auth"),
        (407, "MD5", "auth"),
        (401, "SHA-256", "auth"),
        (407, "SHA-256", "auth"),
        (401, "MD5", ""),
        (407, "SHA-512-256", "auth"),
        (401, "MD5-sess", "auth"),
        (407, "SHA-256", "auth-int"),
    ];
    for (code, alg, qop) in cases {
        let qop_param = if qop.is_empty() {
            String::new()
        } else {
            format!(", qop=\"{qop}\"")
        };
        let ch = format!(
            "Digest realm=\"{B2B_REALM}\", nonce=\"b2bnonce{code}\", opaque=\"op1\", algorithm={alg}{qop_param}"
        );
        let hdr = if code == 401 {
            "authorization"
        } else {
            "proxy-authorization"
        };
        let ours = check_session(&b2b_session(false, code, &ch, false), hdr, false);
        let stock = check_session(&b2b_session(true, code, &ch, false), hdr, false);
        assert_eq!(ours, stock, "{code} {alg} {qop}: ours vs stock");
        let a = &ours[0];
        assert!(a.contains(&format!("algorithm={alg}")), "{a}");
        if !qop.is_empty() {
            assert!(a.contains("qop=auth") && a.contains("nc=00000001"), "{a}");
        }
    }
}

/// A re-INVITE of a confirmed UA session (MI `ua_session_update`) challenged
/// by the peer is answered through b2b_send_indlg_auth_req with our
/// uac_auth, digest uri = the peer's Contact; same fields as stock.
#[test]
fn b2b_entities_reinvite_auth_ours_and_stock() {
    let ch =
        format!("Digest realm=\"{B2B_REALM}\", nonce=\"b2bre\", algorithm=SHA-256, qop=\"auth\"");
    for code in [401, 407] {
        let hdr = if code == 401 {
            "authorization"
        } else {
            "proxy-authorization"
        };
        let ours = check_session(&b2b_session(false, code, &ch, true), hdr, true);
        let stock = check_session(&b2b_session(true, code, &ch, true), hdr, true);
        assert_eq!(ours, stock, "{code}: ours vs stock");
        assert!(ours[1].contains("nonce=\"reb2bre\""), "{ours:?}");
    }
}

/// A free TCP port on 127.0.0.1 (bound and released).
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const MSRP_REALM: &str = "msrp.test";

/// msrp_ua as shipped: its relay authentication cannot work (see
/// scripts/setup-opensips-msrp-fix), or the copy with that one flag fixed.
fn msrp_ua(fixed: bool) -> String {
    if !fixed {
        return module("msrp_ua", true);
    }
    let p = common::opensips::prefix().join("lib64/opensips/modules-msrp-fix/msrp_ua.so");
    assert!(
        p.exists(),
        "{} missing: run scripts/setup-opensips-msrp-fix",
        p.display()
    );
    p.display().to_string()
}

/// What one msrp_ua session start showed.
struct MsrpRun {
    /// The relay's lines (one per AUTH), its port masked.
    relay: Vec<String>,
    /// The INVITE msrp_ua sent to the callee after the relay's 200, if any.
    invite: Option<String>,
    log: String,
}

/// One session from the MI `msrp_ua_start_session` through msrp_ua
/// (`fixed`: the copy with the host defect fixed) with relay_uri set, with
/// our (or, `stock`, the stock) uac_auth; the callee is a UDP socket of the
/// test, waited on for `wait` seconds.
fn msrp_session(stock: bool, fixed: bool, challenge: &str, wait: u64) -> MsrpRun {
    let relay_port = free_tcp_port();
    let relay = Script::start(
        "msrp_relay.py",
        &[
            relay_port.to_string(),
            "alice".into(),
            "secret".into(),
            challenge.into(),
        ],
    );
    let callee = UdpSocket::bind("127.0.0.1:0").unwrap();
    callee
        .set_read_timeout(Some(Duration::from_secs(wait)))
        .unwrap();
    let callee_port = callee.local_addr().unwrap().port();
    let port = free_port();
    let msrp = free_tcp_port();
    let body = format!(
        r#"loadmodule "tm.so"
loadmodule "{uac_auth}"
loadmodule "b2b_entities.so"
loadmodule "proto_msrp.so"
loadmodule "{msrp_ua}"
socket=msrp:127.0.0.1:{msrp}
modparam("uac_auth", "credential", "bob:other.test:nope")
modparam("uac_auth", "credential", "alice:{MSRP_REALM}:secret")
modparam("msrp_ua", "my_uri", "msrp://127.0.0.1:{msrp};tcp")
modparam("msrp_ua", "relay_uri", "msrp://127.0.0.1:{relay_port};tcp")
modparam("msrp_ua", "advertised_contact", "sip:msrpua@127.0.0.1:{port}")
route {{ exit; }}
"#,
        uac_auth = module("uac_auth", stock),
        msrp_ua = msrp_ua(fixed),
    );
    let o = Opensips::start(port, &body);
    let r = o.mi(
        "msrp_ua_start_session",
        &format!(
            r#"{{"content_types":"text/plain","from_uri":"sip:alice@{MSRP_REALM}","to_uri":"sip:bob@127.0.0.1:{callee_port}","ruri":"sip:bob@127.0.0.1:{callee_port}"}}"#
        ),
    );
    assert!(
        r.contains("\"result\""),
        "msrp_ua_start_session: {r}\n{}",
        o.log()
    );
    let mut buf = vec![0u8; 65535];
    let invite = callee
        .recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
    // The relay prints a frame's line before it answers, but the line
    // reaches us through a reader thread: once the INVITE (sent after the
    // relay's 200) is here, give that thread a moment to catch up.
    if invite.is_some() {
        let t0 = std::time::Instant::now();
        while relay.lines.lock().unwrap().len() < 2 && t0.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let relay = relay
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.replace(&format!("127.0.0.1:{relay_port}"), "127.0.0.1:RELAY"))
        .collect();
    let log = o.log();
    assert!(!log.contains("CRITICAL"), "{log}");
    MsrpRun { relay, invite, log }
}

/// msrp_ua (with its host defect fixed) authenticates to its relay through
/// our uac_auth: AUTH, 401 with MD5 and qop auth, the answer verified by the
/// relay with Python's hashlib (method AUTH, digest uri = relay_uri), 200
/// with Use-Path, which shows in the SDP of the INVITE msrp_ua then sends;
/// the stock uac_auth sends the same Authorization fields (cnonce and
/// response aside). Also without qop.
#[test]
fn msrp_ua_relay_auth_ours_and_stock() {
    for qop in [", qop=\"auth\"", ""] {
        let ch = format!(
            "Digest realm=\"{MSRP_REALM}\", nonce=\"msrpnonce1\", opaque=\"o2\", algorithm=MD5{qop}"
        );
        let mut norms = Vec::new();
        for stock in [false, true] {
            let run = msrp_session(stock, true, &ch, 10);
            let (lines, who) = (&run.relay, if stock { "stock" } else { "ours" });
            assert_eq!(
                lines.len(),
                2,
                "{who}: challenged AUTH, answered AUTH: {lines:?}\n{}",
                run.log
            );
            assert_eq!(field(&lines[0], "auth"), "-", "{who}: {lines:?}");
            assert_eq!(field(&lines[1], "verified"), "True", "{who}: {lines:?}");
            assert_eq!(field(&lines[1], "uri_match"), "True", "{who}: {lines:?}");
            assert_eq!(field(&lines[1], "frame_ok"), "True", "{who}: {lines:?}");
            let invite = run
                .invite
                .unwrap_or_else(|| panic!("{who}: no INVITE after the relay's 200\n{}", run.log));
            assert!(invite.starts_with("INVITE "), "{invite}");
            // the SDP's path: the relay's Use-Path, then msrp_ua's own URI
            assert!(
                invite.contains("a=path:msrp://127.0.0.1:") && invite.contains("/relaysess;tcp "),
                "{who}: Use-Path not in the SDP: {invite}"
            );
            norms.push(field(&lines[1], "norm").to_string());
        }
        assert_eq!(norms[0], norms[1], "ours vs stock");
        assert!(
            norms[0].contains("uri=\"msrp://127.0.0.1:RELAY;tcp\""),
            "{}",
            norms[0]
        );
    }
}

/// The msrp_ua shipped in 3.6.8 never answers its relay's challenge (host
/// defect, before any uac_auth call): with ours as with stock, one AUTH
/// reaches the relay, msrp_ua logs that it cannot use the challenge, no
/// INVITE goes out, nothing crashes.
#[test]
fn msrp_ua_as_shipped_fails_alike_with_ours_and_stock() {
    let ch = format!("Digest realm=\"{MSRP_REALM}\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"");
    for stock in [false, true] {
        let run = msrp_session(stock, false, &ch, 3);
        assert_eq!(run.relay.len(), 1, "stock={stock}: {:?}", run.relay);
        assert!(run.invite.is_none(), "stock={stock}: {:?}", run.invite);
        assert!(
            run.log.contains("Unable to extract authentication info"),
            "stock={stock}: {}",
            run.log
        );
    }
}

/// A challenge for a realm without a credential: b2b_entities gets no
/// credential from our `_lookup_realm`, sends no answer and ends the
/// session, as with the stock uac_auth.
#[test]
fn b2b_entities_unknown_realm_ours_and_stock() {
    let ch = "Digest realm=\"nocred.test\", nonce=\"n1\", qop=\"auth\"";
    for stock in [false, true] {
        let lines = b2b_session(stock, 401, ch, false);
        let invites: Vec<&String> = lines.iter().filter(|l| l.starts_with("INVITE")).collect();
        assert_eq!(invites.len(), 1, "stock={stock}: {lines:?}");
        assert_eq!(field(invites[0], "auth"), "-", "stock={stock}: {lines:?}");
    }
}

/// qop auth-int on an INVITE with a body: stock b2b_entities hands the
/// challenge reply's body (empty) to `_do_uac_auth` instead of the INVITE's
/// (b2b_send_indlg_auth_req), so the peer rejects the answer, with our
/// uac_auth as with stock: the same outcome, the same header fields.
#[test]
fn b2b_entities_auth_int_with_body_ours_and_stock() {
    let ch =
        format!("Digest realm=\"{B2B_REALM}\", nonce=\"ai1\", algorithm=MD5, qop=\"auth-int\"");
    let mut norms = Vec::new();
    for stock in [false, true] {
        let lines = b2b_session_body(stock, 401, &ch, false, Some("hello"));
        let answered: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("INVITE") && field(l, "auth") != "-")
            .collect();
        assert_eq!(answered.len(), 1, "stock={stock}: {lines:?}");
        assert_eq!(
            field(answered[0], "verified"),
            "False",
            "stock={stock}: {lines:?}"
        );
        norms.push(field(answered[0], "norm").to_string());
    }
    assert_eq!(norms[0], norms[1], "ours vs stock");
}

/// Authenticated UA sessions through b2b_entities, each started, challenged
/// (407, SHA-256, qop auth), answered, acknowledged and ended with the MI
/// `ua_session_terminate` (BYE): OpenSIPS's pkg and shm use ends where it
/// started, ours beside stock.
#[test]
fn b2b_entities_memory_stable_ours_and_stock() {
    let ch =
        format!("Digest realm=\"{B2B_REALM}\", nonce=\"mem1\", algorithm=SHA-256, qop=\"auth\"");
    for stock in [false, true] {
        let peer_port = free_port();
        let peer = Script::start(
            "ua_peer.py",
            &[
                peer_port.to_string(),
                "407".into(),
                "alice".into(),
                "secret".into(),
                ch.clone(),
            ],
        );
        let port = free_port();
        let body = format!(
            r#"loadmodule "tm.so"
loadmodule "{uac_auth}"
loadmodule "b2b_entities.so"
modparam("tm", "wt_timer", 2)
modparam("uac_auth", "credential", "alice:{B2B_REALM}:secret")
modparam("b2b_entities", "advertised_contact", "sip:b2b@127.0.0.1:{port}")
route {{ exit; }}
"#,
            uac_auth = module("uac_auth", stock),
        );
        let o = Opensips::start(port, &body);
        let count = |prefix: &str| {
            peer.lines
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with(prefix))
                .count()
        };
        let wait_count = |prefix: &str, n: usize| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while count(prefix) < n {
                assert!(
                    Instant::now() < deadline,
                    "{prefix} {n}: {:?}\n{}",
                    peer.lines.lock().unwrap(),
                    o.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let session = || {
            let (acks, byes) = (count("ACK"), count("BYE"));
            let key = start_ua_session(&o, peer_port, "");
            // the challenge's ACK and the 200's
            wait_count("ACK", acks + 2);
            let r = o.mi("ua_session_terminate", &format!(r#"{{"key":"{key}"}}"#));
            assert!(r.contains("\"result\""), "ua_session_terminate: {r}");
            wait_count("BYE", byes + 1);
        };
        let (before, after) = common::opensips::memory_over_rounds(&o, &|| {
            for _ in 0..15 {
                session();
            }
        });
        let who = if stock { "stock" } else { "ours" };
        eprintln!(
            "{who} uac_auth: shm {} -> {}, pkg {} -> {} after 15 b2b sessions",
            before.0, after.0, before.1, after.1
        );
        let lines = peer.lines.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .filter(|l| l.starts_with("INVITE") && field(l, "auth") != "-")
                .all(|l| field(l, "verified") == "True"),
            "{lines:?}"
        );
        assert_eq!(before, after, "{who}: memory (shm, pkg) changed");
    }
}
