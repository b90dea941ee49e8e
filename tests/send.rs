//! uac_req_send, $uac_req and event_route[uac:reply] through the real kamailio.

mod common;
use common::*;

fn sender(module: &str, defines: &[&str], next_hop: u16) -> Kamailio {
    start_example("uac-send.cfg", module, "auto", "", next_hop, defines)
}

fn options_to(port: u16, param: &str) -> Vec<String> {
    vec![
        "X-Method: OPTIONS".into(),
        format!("X-Ruri: sip:peer@127.0.0.1:{port}"),
        format!("X-Param: {param}"),
    ]
}

/// An OPTIONS from the config reaches the peer; the event route sees the reply.
fn options_reach_peer_and_event_route(module: &str) {
    let (a, b) = (Peer::new(), Peer::new());
    let k = sender(module, &[], b.port);
    let r = send_trigger(&a, k.port, &options_to(b.port, "ping-1"));
    assert_eq!(r.status(), Some(200), "{}", r.raw);
    let opt = b.recv();
    assert_eq!(
        opt.first,
        format!("OPTIONS sip:peer@127.0.0.1:{} SIP/2.0", b.port)
    );
    assert!(
        opt.hdr("From").contains("sip:uac@example.net"),
        "{}",
        opt.raw
    );
    b.send(k.port, &b.reply(&opt, 200, "pong", false));
    assert_eq!(
        k.wait_log("uac:reply code=200 type=1 param=ping-1 method=OPTIONS", 1),
        1,
        "{}",
        k.log()
    );
}

#[test]
fn options_and_event_route() {
    options_reach_peer_and_event_route(&our_module());
}

#[test]
fn options_and_event_route_stock() {
    options_reach_peer_and_event_route(&stock_module());
}

/// No reply: tm's timer gives 408, and the event route runs with evtype 2.
fn timeout_reaches_event_route(module: &str) {
    let a = Peer::new();
    let dead = free_port();
    let k = sender(module, &[], dead);
    let r = send_trigger(&a, k.port, &options_to(dead, "dead-1"));
    assert_eq!(r.status(), Some(200));
    assert_eq!(
        k.wait_log("uac:reply code=408 type=2 param=dead-1", 1),
        1,
        "{}",
        k.log()
    );
}

#[test]
fn timeout_event() {
    timeout_reaches_event_route(&our_module());
}

#[test]
fn timeout_event_stock() {
    timeout_reaches_event_route(&stock_module());
}

/// The keep-alive example: an rtimer route sends OPTIONS every second; the
/// reply comes back to the event route in a SIP worker.
#[test]
fn keepalive_from_timer_route() {
    let b = Peer::new();
    let k = sender(&our_module(), &["#!define WITH_KEEPALIVE"], b.port);
    for _ in 0..2 {
        let opt = b.recv();
        assert_eq!(opt.method(), "OPTIONS");
        assert!(opt.hdr("From").contains("sip:keepalive@example.net"));
        b.send(k.port, &b.reply(&opt, 200, "ka", false));
    }
    let n = k.wait_log(
        "uac:reply code=200 type=1 param=keepalive method=OPTIONS",
        2,
    );
    assert!(n >= 2, "{}", k.log());
}

/// With auser/apasswd, a 407 from the stock auth module is answered and the
/// authenticated request goes through.
fn challenge_answered_with_credentials(module: &str, algorithm: &str) {
    let (a, c_peer) = (Peer::new(), Peer::new());
    let cport = free_port();
    let challenger = challenger_cfg(cport, c_peer.port, algorithm, "1");
    let _c = Kamailio::start_with(&challenger, cport);
    let k = sender(module, &[], cport);
    let mut h = vec![
        "X-Method: MESSAGE".to_string(),
        format!("X-Ruri: sip:peer@127.0.0.1:{cport}"),
        "X-Param: auth-1".into(),
        "X-Auser: alice".into(),
        "X-Apasswd: secret".into(),
        "X-Body: hello".into(),
    ];
    let r = send_trigger(&a, k.port, &h);
    assert_eq!(r.status(), Some(200));
    let got = c_peer.recv();
    assert_eq!(got.method(), "MESSAGE");
    assert!(
        got.hdr("X-Got-Auth")
            .contains(&format!("algorithm={algorithm}")),
        "{}",
        got.raw
    );
    // tm starts new requests at CSeq 10; the answer goes within the dialog: 11.
    assert_eq!(got.hdr("CSeq"), "11 MESSAGE");
    c_peer.send(cport, &c_peer.reply(&got, 200, "done", false));
    assert_eq!(
        k.wait_log("uac:reply code=407 type=1 param=auth-1", 1),
        1,
        "{}",
        k.log()
    );
    assert_eq!(
        k.wait_log("uac:reply code=200 type=1 param=auth-1", 1),
        1,
        "{}",
        k.log()
    );
    // Wrong password: the second challenge is not answered again.
    h[4] = "X-Apasswd: wrong".into();
    let r = send_trigger(&a, k.port, &h);
    assert_eq!(r.status(), Some(200));
    assert!(c_peer.quiet(1000));
}

#[test]
fn challenge_sha256() {
    challenge_answered_with_credentials(&our_module(), "SHA-256");
}

/// The stock module answers MD5 only.
#[test]
fn challenge_md5_stock() {
    challenge_answered_with_credentials(&stock_module(), "MD5");
}

#[test]
fn challenge_md5() {
    challenge_answered_with_credentials(&our_module(), "MD5");
}

#[test]
fn bad_requests_are_refused() {
    let (a, b) = (Peer::new(), Peer::new());
    let mut k = sender(&our_module(), &[], b.port);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![format!("X-Ruri: sip:peer@127.0.0.1:{}", b.port)],
            "$uac_req(method) is not set",
        ),
        (
            vec!["X-Method: OPTIONS".into()],
            "$uac_req(ruri) is not set",
        ),
        (
            vec!["X-Method: OPTIONS".into(), "X-Ruri: not a uri".into()],
            "$uac_req(ruri)",
        ),
        (
            {
                let mut h = options_to(b.port, "x");
                h.push("X-Callid: bad call id".into());
                h
            },
            "$uac_req(callid) has a line break, NUL or white space",
        ),
    ];
    for (h, why) in cases {
        let r = send_trigger(&a, k.port, &h);
        assert_eq!(r.status(), Some(500), "{why}: {}", r.raw);
        assert!(k.wait_log(why, 1) >= 1, "no log line '{why}'");
    }
    assert!(b.quiet(300), "nothing must be sent");
    // An oversized value is refused when set (the request then has no ruri).
    let big = format!("sip:{}@127.0.0.1", "a".repeat(1100));
    let r = send_trigger(
        &a,
        k.port,
        &["X-Method: OPTIONS".into(), format!("X-Ruri: {big}")],
    );
    assert_eq!(r.status(), Some(500));
    assert!(k.wait_log("value too big", 1) >= 1);
    assert!(k.alive());
}

/// The same against a sipp UAS (bench/uas-options.xml answers 200).
#[test]
fn options_to_sipp_uas() {
    let a = Peer::new();
    let sipp_port = free_port();
    let k = sender(&our_module(), &[], sipp_port);
    let sipp = SippUas::start("bench/uas-options.xml", sipp_port);
    let r = send_trigger(&a, k.port, &options_to(sipp_port, "sipp-1"));
    assert_eq!(r.status(), Some(200));
    assert_eq!(
        k.wait_log("uac:reply code=200 type=1 param=sipp-1", 1),
        1,
        "{}",
        k.log()
    );
    assert!(sipp.succeeded(), "sipp reported a failed call");
}

/// An unknown $uac_req key stops the config check, as in the stock module.
#[test]
fn unknown_key_refused_at_start() {
    let m = our_module();
    let opts = CfgOpts {
        module: &m,
        restore_mode: "",
        passwd: "",
        next_hop: 5999,
        defines: &[],
    };
    let cfg = render_example("uac-send.cfg", &opts, free_port()).replace(
        "$uac_req(evparam) = $hdr(X-Param);",
        "$uac_req(nosuchkey) = 1;",
    );
    let dir = std::env::temp_dir().join(format!("uac-badkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("k.cfg"), cfg).unwrap();
    let out = std::process::Command::new(&host().bin)
        .args(["-c", "-f"])
        .arg(dir.join("k.cfg"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(log.contains("unknown uac_req name nosuchkey"), "{log}");
}

// ---- Kamailio 6.1's $uac_req keys ----

/// $uac_req(cseqno) is the CSeq on the wire, ftag/ttag are kept (the event
/// route reads them) but the From tag stays tm's, fr_timeout (ticks of 1/16
/// s, passed to tm unconverted) ends an unanswered request sooner than tm's
/// 2 s: ours and the stock module of 6.1 alike.
fn uac_req_61_keys(module: &str) {
    let (a, b) = (Peer::new(), Peer::new());
    let k = sender(module, &["#!define WITH_UAC_REQ_61"], b.port);
    let mut h = options_to(b.port, "k61");
    h.push("X-Cseqno: 77".into());
    h.push("X-Ftag: mytag61".into());
    let r = send_trigger(&a, k.port, &h);
    assert_eq!(r.status(), Some(200), "{module}: {}", r.raw);
    let opt = b.recv();
    assert_eq!(opt.hdr("CSeq"), "77 OPTIONS", "{module}");
    assert_ne!(opt.tag("From"), "mytag61", "{module}: ftag is not sent");
    assert!(!opt.raw.contains("mytag61"), "{module}");
    b.send(k.port, &b.reply(&opt, 200, "ok", false));
    assert_eq!(
        k.wait_log(
            "uac:reply61 cseqno=77 fr_timeout=0 ftag=mytag61 ttag=mytag61",
            1
        ),
        1,
        "{module}: {}",
        k.log()
    );
    // 8 ticks = 0.5 s, where tm's fr_timer is 2 s
    let dead = free_port();
    let mut h = options_to(dead, "fr61");
    h.push("X-Fr-Timeout: 8".into());
    let sent = std::time::Instant::now();
    assert_eq!(send_trigger(&a, k.port, &h).status(), Some(200));
    assert_eq!(
        k.wait_log("uac:reply code=408 type=2 param=fr61", 1),
        1,
        "{module}: {}",
        k.log()
    );
    let took = sent.elapsed();
    assert!(
        took < std::time::Duration::from_millis(1700),
        "{module}: the local 408 came after {took:?}"
    );
    // dropped by event_route[tm:local-request]: uac_req_send() succeeds,
    // nothing leaves, no reply event ever comes, the next request goes
    let mut h = options_to(b.port, "drop61");
    h.push("X-Drop: 1".into());
    assert_eq!(send_trigger(&a, k.port, &h).status(), Some(200));
    assert_eq!(k.wait_log("local request dropped", 1), 1, "{module}");
    assert!(b.quiet(2500), "{module}: a dropped request left");
    assert!(!k.log().contains("param=drop61"), "{module}: {}", k.log());
    let r = send_trigger(&a, k.port, &options_to(b.port, "after-drop"));
    assert_eq!(r.status(), Some(200));
    let opt = b.recv();
    b.send(k.port, &b.reply(&opt, 200, "ok", false));
    assert_eq!(k.wait_log("param=after-drop", 1), 1, "{module}");
}

#[test]
fn uac_req_keys_of_61() {
    if !host().is_61() {
        // Debian's 5.6 tm has no uac_req_t.cseqno/fr_timeout: ours refuses
        // those keys when the config is read, with its reason
        let port = free_port();
        let opts = CfgOpts {
            module: &our_module(),
            restore_mode: "auto",
            passwd: "",
            next_hop: 9,
            defines: &["#!define WITH_UAC_REQ_61"],
        };
        let cfg = render_example("uac-send.cfg", &opts, port);
        let dir = std::env::temp_dir().join(format!("uac-61keys-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.cfg"), cfg).unwrap();
        let out = std::process::Command::new(&host().bin)
            .args(["-c", "-f"])
            .arg(dir.join("k.cfg"))
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{log}");
        assert!(
            log.contains("$uac_req(cseqno) needs the tm of Kamailio 6.1"),
            "{log}"
        );
        return;
    }
    uac_req_61_keys(&our_module());
    uac_req_61_keys(&stock_module());
}
