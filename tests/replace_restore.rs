//! uac_replace_from/to and the restore modes, through the real kamailio with our
//! module, asserting the exact headers each side sees on the wire.

mod common;
use common::dialog::Call;
use common::*;

const ALICE: &str = "\"Alice\" <sip:alice@a.example.com>";
const BOB: &str = "<sip:bob@b.example.com>";
const ANON: &str = "sip:anonymous@anonymous.invalid";

fn opts<'a>(module: &'a str, mode: &'a str, b: &Peer, defines: &'a [&'a str]) -> CfgOpts<'a> {
    CfgOpts {
        module,
        restore_mode: mode,
        passwd: "",
        next_hop: b.port,
        defines,
    }
}

fn hdr_uri(v: &str) -> &str {
    angle_uri(v)
}

/// A, B, and kamailio with our module in restore `mode` relaying to B.
fn start(mode: &str, defines: &[&str]) -> (Peer, Peer, Kamailio) {
    let (a, b) = (Peer::new(), Peer::new());
    let m = our_module();
    let k = Kamailio::start(&opts(&m, mode, &b, defines));
    (a, b, k)
}

/// Alice calls Bob through `k`, with `extra` headers in the INVITE.
fn call_bob<'a>(k: &Kamailio, a: &'a Peer, b: &'a Peer, extra: &[String]) -> Call<'a> {
    Call::invite(k.port, a, b, ALICE, BOB, extra)
}

/// `call_bob` with the script told to replace From with ANON.
fn anon_call<'a>(k: &Kamailio, a: &'a Peer, b: &'a Peer) -> Call<'a> {
    call_bob(k, a, b, &[format!("X-Replace-From: {ANON}")])
}

/// B hangs up: A sees its own URI in To again, and B's 200 has `b_sees`.
#[track_caller]
fn bye_from_b_restores(call: &mut Call, b_sees: &str) {
    let (bye, ok) = call.send_from_b("BYE");
    assert_eq!(hdr_uri(bye.hdr("To")), "sip:alice@a.example.com");
    assert_eq!(hdr_uri(ok.hdr("To")), b_sees);
}

#[test]
fn config_check_passes_with_our_module() {
    let b = Peer::new();
    let m = our_module();
    let dir = std::env::temp_dir().join(format!("uac-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("k.cfg");
    std::fs::write(&cfg, render_cfg(&opts(&m, "auto", &b, &[]), free_port())).unwrap();
    let out = std::process::Command::new(&host().bin)
        .args(["-c", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kamailio -c failed:\n{log}");
}

#[test]
fn bad_restore_mode_stops_startup() {
    let b = Peer::new();
    let m = our_module();
    let dir = std::env::temp_dir().join(format!("uac-badmode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("k.cfg");
    std::fs::write(
        &cfg,
        render_cfg(&opts(&m, "sometimes", &b, &[]), free_port()),
    )
    .unwrap();
    let out = std::process::Command::new(&host().bin)
        .args(["-DD", "-E", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        log.contains("unsupported value 'sometimes' for restore_mode"),
        "{log}"
    );
}

/// The core flow of auto mode through the Record-Route parameter.
#[test]
fn auto_mode_restores_whole_dialog() {
    let (a, b, k) = start("auto", &[]);
    let mut call = anon_call(&k, &a, &b);

    // B sees the new URI, display kept, tag kept; one From header.
    let inv = &call.invite_at_b;
    assert_eq!(inv.all("From").len(), 1);
    assert_eq!(
        inv.hdr("From"),
        format!(
            "\"Alice\" <{ANON}>;tag={}",
            call.a_from.split("tag=").nth(1).unwrap()
        )
    );
    let rr = inv.hdr("Record-Route");
    assert!(rr.contains(";vsf="), "no vsf param in {rr}");
    // A sees its own From in the reply.
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);

    // ACK and re-INVITE from A: B keeps seeing the new URI.
    let ack = call.ack();
    assert_eq!(hdr_uri(ack.hdr("From")), ANON);
    let (reinv, ok) = call.send_from_a("INVITE");
    assert_eq!(hdr_uri(reinv.hdr("From")), ANON);
    assert_eq!(ok.hdr("From"), call.a_from);

    // BYE from B: A sees its original URI in To; B sees the new one in the 200.
    bye_from_b_restores(&mut call, ANON);
}

#[test]
fn replace_to_is_restored_both_ways() {
    let (a, b, k) = start("auto", &[]);
    let new_to = "sip:carrier-bob@carrier.example.net";
    let mut call = call_bob(&k, &a, &b, &[format!("X-Replace-To: {new_to}")]);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("To")), new_to);
    assert!(call.invite_at_b.hdr("Record-Route").contains(";vst="));
    assert_eq!(hdr_uri(call.ok_at_a.hdr("To")), "sip:bob@b.example.com");
    call.ack();
    let (reinv, _) = call.send_from_a("INVITE");
    assert_eq!(hdr_uri(reinv.hdr("To")), new_to);
    let (bye, ok) = call.send_from_b("BYE");
    assert_eq!(hdr_uri(bye.hdr("From")), "sip:bob@b.example.com");
    assert_eq!(hdr_uri(ok.hdr("From")), new_to);
}

#[test]
fn display_replace_and_remove() {
    let (a, b, k) = start("auto", &[]);
    // New display over an existing one.
    let call = call_bob(
        &k,
        &a,
        &b,
        &[
            format!("X-Replace-From: {ANON}"),
            "X-Replace-From-Display: \"Anonymous\"".into(),
        ],
    );
    assert!(call
        .invite_at_b
        .hdr("From")
        .starts_with(&format!("\"Anonymous\" <{ANON}>;tag=")));
    assert!(call.ok_at_a.hdr("From").starts_with(ALICE));
    // Empty display removes it.
    let call = call_bob(
        &k,
        &a,
        &b,
        &[
            format!("X-Replace-From: {ANON}"),
            "X-Replace-From-Display: ".into(),
        ],
    );
    assert!(
        call.invite_at_b
            .hdr("From")
            .starts_with(&format!("<{ANON}>;tag=")),
        "{}",
        call.invite_at_b.hdr("From")
    );
    // Display added to a bare URI without brackets.
    let call = Call::invite(
        k.port,
        &a,
        &b,
        "sip:alice@a.example.com",
        BOB,
        &[
            format!("X-Replace-From: {ANON}"),
            "X-Replace-From-Display: Anon".into(),
        ],
    );
    assert!(
        call.invite_at_b
            .hdr("From")
            .starts_with(&format!("Anon <{ANON}>;tag=")),
        "{}",
        call.invite_at_b.hdr("From")
    );
    assert!(
        call.ok_at_a
            .hdr("From")
            .starts_with("sip:alice@a.example.com;tag="),
        "{}",
        call.ok_at_a.hdr("From")
    );
}

#[test]
fn second_replace_on_same_request_wins() {
    let (a, b, k) = start("auto", &[]);
    let second = "sip:second@two.example.org";
    let mut call = call_bob(
        &k,
        &a,
        &b,
        &[
            format!("X-Replace-From: {ANON}"),
            format!("X-Replace-From-Again: {second}"),
        ],
    );
    let inv = &call.invite_at_b;
    assert_eq!(inv.all("From").len(), 1);
    assert_eq!(hdr_uri(inv.hdr("From")), second, "{}", inv.raw);
    // One parameter: the second call's replaces the first's (restores read the
    // first parameter, as rr's get_route_param does).
    assert_eq!(
        inv.hdr("Record-Route").matches(";vsf=").count(),
        1,
        "{}",
        inv.hdr("Record-Route")
    );
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    let (reinv, _) = call.send_from_a("INVITE");
    assert_eq!(hdr_uri(reinv.hdr("From")), second);
    bye_from_b_restores(&mut call, second);
    assert!(!k.log().contains("multiple times"));
}

#[test]
fn manual_mode_restores_by_script() {
    let (a, b, k) = start("manual", &[]);
    let mut call = anon_call(&k, &a, &b);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("From")), ANON);
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    let (reinv, ok) = call.send_from_a("INVITE");
    assert_eq!(hdr_uri(reinv.hdr("From")), ANON);
    // As in the stock module: a request restored by uac_restore_*() gets no reply
    // restore, so the 200 carries what the callee sent.
    assert_eq!(hdr_uri(ok.hdr("From")), ANON);
    bye_from_b_restores(&mut call, "sip:alice@a.example.com");
}

#[test]
fn none_mode_replaces_without_restore() {
    let (a, b, k) = start("none", &[]);
    let call = anon_call(&k, &a, &b);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("From")), ANON);
    assert!(!call.invite_at_b.hdr("Record-Route").contains("vsf="));
    // Nothing restores the reply.
    assert_eq!(hdr_uri(call.ok_at_a.hdr("From")), ANON);
}

#[test]
fn dialog_variables_path() {
    let (a, b, k) = start("auto", &["#!define WITH_DIALOG"]);
    let mut call = anon_call(&k, &a, &b);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("From")), ANON);
    // Dialog path: no parameter in Record-Route.
    assert!(
        !call.invite_at_b.hdr("Record-Route").contains("vsf="),
        "{}",
        call.invite_at_b.hdr("Record-Route")
    );
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    let (reinv, ok) = call.send_from_a("INVITE");
    assert_eq!(hdr_uri(reinv.hdr("From")), ANON);
    assert_eq!(ok.hdr("From"), call.a_from);
    bye_from_b_restores(&mut call, ANON);
}

#[test]
fn bad_arguments_leave_message_unchanged() {
    let (a, b, mut k) = start("auto", &[]);
    for (bad, why) in [
        ("not-a-uri", "uri has no scheme"),
        ("sip:a b@x", "forbidden character"),
    ] {
        let call = call_bob(&k, &a, &b, &[format!("X-Replace-From: {bad}")]);
        assert_eq!(
            call.invite_at_b.hdr("From"),
            call.a_from,
            "From changed for bad uri {bad}"
        );
        assert!(!call.invite_at_b.hdr("Record-Route").contains("vsf="));
        assert!(k.log().contains(why), "no log line '{why}'");
    }
    let long = format!("sip:{}@x.example", "a".repeat(2000));
    let call = call_bob(&k, &a, &b, &[format!("X-Replace-From: {long}")]);
    assert_eq!(call.invite_at_b.hdr("From"), call.a_from);
    assert!(k.log().contains("uri too long"));
    let call = call_bob(
        &k,
        &a,
        &b,
        &[
            format!("X-Replace-From: {ANON}"),
            "X-Replace-From-Display: \"unbalanced".into(),
        ],
    );
    assert_eq!(call.invite_at_b.hdr("From"), call.a_from);
    assert!(k.log().contains("unbalanced quote"));
    assert!(k.alive());
}

#[test]
fn tampered_route_parameter_is_refused() {
    let (a, b, mut k) = start("auto", &[]);
    let mut call = anon_call(&k, &a, &b);
    call.ack();
    // B tampers with the parameter: truncated, then garbage characters.
    let good = call.route[0].clone();
    let start = good.find(";vsf=").unwrap() + 5;
    let end = good[start..]
        .find([';', '>'])
        .map_or(good.len(), |e| start + e);
    for bad in [
        &good[start..start + 4],
        "!!!!####",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        call.route = vec![format!("{}{}{}", &good[..start], bad, &good[end..])];
        let (bye, _) = call.send_from_b("OPTIONS");
        // The request goes on, To untouched.
        assert_eq!(hdr_uri(bye.hdr("To")), ANON);
    }
    assert!(
        k.log().contains("cannot restore"),
        "no log line for the tampered parameter"
    );
    assert!(k.alive());
    // The dialog still works with the real parameter.
    call.route = vec![good];
    let (bye, _) = call.send_from_b("BYE");
    assert_eq!(hdr_uri(bye.hdr("To")), "sip:alice@a.example.com");
}

#[test]
fn missing_or_malformed_from() {
    let (a, b, mut k) = start("auto", &[]);
    let req = format!(
        "MESSAGE sip:bob@127.0.0.1:{} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKnofrom\r\nTo: {BOB}\r\nCall-ID: nofrom\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nX-Replace-From: {ANON}\r\nContent-Length: 0\r\n\r\n",
        b.port, a.port
    );
    a.send(k.port, &req);
    // A malformed From (no closing '>') as well.
    let bad_from = req
        .replace("Call-ID: nofrom", "Call-ID: badfrom")
        .replace("z9hG4bKnofrom", "z9hG4bKbadfrom")
        .replace("To: ", "From: <sip:alice@a.example.com;tag=1\r\nTo: ");
    a.send(k.port, &bad_from);
    // Without From the core drops the request before the script runs; with a
    // malformed one, uac_replace_from refuses it (5.6). The 6.1 core parses
    // From before the script too ("parsing relevant headers failed"), so
    // there both are dropped before our module sees them.
    if common::host().is_61() {
        assert_eq!(k.wait_log("required headers not found in request", 2), 2);
        assert_eq!(k.log().matches("failed to find/parse FROM hdr").count(), 0);
        assert!(b.quiet(300), "the 6.1 core relayed a request without From");
    } else {
        assert_eq!(k.wait_log("required headers not found in request", 1), 1);
        assert_eq!(
            k.wait_log("uac_replace_from: failed to find/parse FROM hdr", 1),
            1
        );
        // The script goes on after the false return: the request is relayed as it was.
        let relayed = b.recv();
        assert_eq!(relayed.hdr("From"), "<sip:alice@a.example.com;tag=1");
    }
    assert!(k.alive());
    // The next normal call still works.
    let call = anon_call(&k, &a, &b);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("From")), ANON);
}

#[test]
fn panic_in_guarded_function_does_not_kill_the_worker() {
    let (a, b, mut k) = start("auto", &["#!define WITH_PANIC_PROBE"]);
    // Each of the two workers gets a few probes.
    for _ in 0..4 {
        let call = call_bob(&k, &a, &b, &["X-Panic: 1".to_string()]);
        assert_eq!(call.invite_at_b.hdr("X-Panic-Result"), "false");
    }
    assert!(k
        .log()
        .contains("internal error in uac_panic_probe: panic probe triggered"));
    assert!(k.alive());
    let call = anon_call(&k, &a, &b);
    assert_eq!(hdr_uri(call.invite_at_b.hdr("From")), ANON);
}

/// pv_headers calls replace_from through the C API that bind_uac hands out.
#[test]
fn bind_uac_api_serves_pv_headers() {
    let (a, b, k) = start("auto", &["#!define WITH_PV_HEADERS"]);
    let mut call = call_bob(&k, &a, &b, &[format!("X-PVH-From: {ANON}")]);
    assert_eq!(
        call.invite_at_b.all("From").len(),
        1,
        "{}",
        call.invite_at_b.raw
    );
    assert_eq!(
        hdr_uri(call.invite_at_b.hdr("From")),
        ANON,
        "{}",
        call.invite_at_b.raw
    );
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    let (bye, _) = call.send_from_b("BYE");
    assert_eq!(hdr_uri(bye.hdr("To")), "sip:alice@a.example.com");
}

/// uac_replace_from in request_route, then again in branch_route: the branch's
/// value goes out, once, and the dialog restores to the original.
#[test]
fn replace_again_in_branch_route() {
    let (a, b, k) = start("auto", &[]);
    let branch = "sip:branch@branch.example.org";
    let mut call = call_bob(
        &k,
        &a,
        &b,
        &[
            format!("X-Replace-From: {ANON}"),
            format!("X-Branch-From: {branch}"),
        ],
    );
    let inv = &call.invite_at_b;
    assert_eq!(inv.all("From").len(), 1);
    assert_eq!(
        inv.hdr("From"),
        format!(
            "\"Alice\" <{branch}>;tag={}",
            call.a_from.split("tag=").nth(1).unwrap()
        )
    );
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    bye_from_b_restores(&mut call, branch);
    assert!(!k.log().contains("failed"), "{}", k.log());
}
