//! Drop-in fidelity (issue 11): odd-but-valid input that the stock uac module
//! handles, run through the real kamailio once with our module and once with the
//! stock one, asserting the same outcome on the wire. Where ours goes beyond
//! stock (hdrs injection, tampered restore), the test shows stock failing and
//! ours not.

mod common;
use common::*;

/// The reproducer's parameter: `sip:anonymous@anonymous.invalid` replaced
/// `sip:alice@example.com`, restore_passwd "secret" (issue 11, item 1).
const VSF: &str = "c2VjcmV2dWh/X295YUhycG80aWdhBxZaGgsVEwkdFw--";

fn proxy(module: &str, mode: &str, passwd: &str, next_hop: u16) -> Kamailio {
    start_example("fixtures/fidelity.cfg", module, mode, passwd, next_hop, &[])
}

/// An in-dialog BYE routed to the proxy by its Record-Route with `route_params`,
/// laid out as the reproducer: Route before From/To (the stock module
/// finds the Route header only when parsing To has passed it; ours parses up
/// to Route itself, whatever the order).
fn bye(a: &Peer, k: u16, b: u16, from: &str, route_params: &str, call_id: &str) -> String {
    format!(
        "BYE sip:bob@127.0.0.1:{b} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{}; branch=z9hG4bK-{call_id};rport\r\n\
         Route: <sip:127.0.0.1:{k};lr;{route_params}>\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: <sip:bob@example.net>;tag=b1\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        a.port
    )
}

/// Sends the BYE, answers it at the far end, and returns what reached it.
fn bye_through(a: &Peer, b: &Peer, k: &Kamailio, from: &str, params: &str, id: &str) -> Msg {
    a.send(k.port, &bye(a, k.port, b.port, from, params, id));
    let got = b.recv();
    b.send(k.port, &b.reply(&got, 200, "", false));
    let r = a.recv();
    assert_eq!(r.status(), Some(200), "{}", r.raw);
    got
}

/// alice's BYE (From tag a1) with the Route parameters `params` through the
/// proxy with `module` in manual mode and restore_passwd "secret": the proxy,
/// and the BYE as B got it.
fn alice_bye(module: &str, params: &str, call_id: &str) -> (Kamailio, Msg) {
    let (a, b) = (Peer::new(), Peer::new());
    let k = proxy(module, "manual", "secret", b.port);
    let got = bye_through(
        &a,
        &b,
        &k,
        "<sip:alice@example.com>;tag=a1",
        params,
        call_id,
    );
    (k, got)
}

/// The BYE that reached B carries the From that VSF restores
/// (sip:anonymous@anonymous.invalid, alice's tag kept).
#[track_caller]
fn assert_from_restored(got: &Msg, who: &str) {
    assert_eq!(
        got.hdr("From"),
        "<sip:anonymous@anonymous.invalid>;tag=a1",
        "{who}: {}",
        got.raw
    );
}

fn modules() -> [(String, &'static str); 2] {
    [(our_module(), "ours"), (stock_module(), "stock")]
}

/// Item 1: uac_restore_from() before loose_route() restores From, as stock does
/// (rr's get_route_param() reads the top Route header itself).
#[test]
fn restore_before_loose_route() {
    for (module, who) in modules() {
        let (k, got) = alice_bye(
            &module,
            &format!("ftag=a1;vsf={VSF}"),
            &format!("repro-1-{who}"),
        );
        assert_from_restored(&got, who);
        assert_eq!(k.wait_log("restore: restored", 1), 1, "{who}");
    }
}

/// Item 1, beyond stock: with the Route header after To (where parsing To does
/// not reach it), the stock module finds no parameter; ours parses up to Route.
#[test]
fn restore_before_loose_route_route_after_to() {
    let (a, b) = (Peer::new(), Peer::new());
    let k = proxy(&our_module(), "manual", "secret", b.port);
    let req = request(
        "BYE",
        &format!("sip:bob@127.0.0.1:{}", b.port),
        a.port,
        "<sip:alice@example.com>;tag=a1",
        "<sip:bob@example.net>;tag=b1",
        "route-after-to",
        2,
        &[format!(
            "Route: <sip:127.0.0.1:{};lr;ftag=a1;vsf={VSF}>",
            k.port
        )],
    );
    a.send(k.port, &req);
    let got = b.recv();
    assert_from_restored(&got, "ours");
}

/// Item 2: a vsf parameter given twice counts by its first value.
#[test]
fn first_of_two_parameters_is_used() {
    let second = uac::replace::rr_codec::encode(
        b"sip:alice@example.com",
        b"sip:second@second.invalid",
        b"secret",
    )
    .unwrap();
    for (module, who) in modules() {
        let (_k, got) = alice_bye(
            &module,
            &format!("ftag=a1;vsf={VSF};vsf={second}"),
            &format!("twice-{who}"),
        );
        assert_from_restored(&got, who);
    }
}

/// Asks the proxy to send an OPTIONS with uac_req_send(); the reply to the
/// trigger says whether it was sent.
fn send_options(a: &Peer, k: u16, b: u16, extra: &[String]) -> Msg {
    let mut h = vec![format!("X-Ruri: sip:peer@127.0.0.1:{b}")];
    h.extend_from_slice(extra);
    send_trigger(a, k, &h)
}

/// Item 3: $uac_req(furi)/(turi) take a name-addr, which tm writes as given.
#[test]
fn uac_req_from_to_as_name_addr() {
    for (module, who) in modules() {
        let (a, b) = (Peer::new(), Peer::new());
        let k = proxy(&module, "none", "", b.port);
        let r = send_options(
            &a,
            k.port,
            b.port,
            &[
                "X-Furi: \"Alice\" <sip:alice@example.com>".into(),
                "X-Turi: <sip:bob@example.net>".into(),
            ],
        );
        assert_eq!(r.status(), Some(200), "{who}: {}\n{}", r.raw, k.log());
        let got = b.recv();
        assert!(
            got.hdr("From")
                .starts_with("\"Alice\" <sip:alice@example.com>;tag="),
            "{who}: {}",
            got.raw
        );
        assert_eq!(got.hdr("To"), "<sip:bob@example.net>", "{who}");
    }
}

/// Item 4: hdrs without the final CRLF goes out as a complete header line.
#[test]
fn uac_req_hdrs_without_final_crlf() {
    for (module, who) in modules() {
        let (a, b) = (Peer::new(), Peer::new());
        let k = proxy(&module, "none", "", b.port);
        let r = send_options(&a, k.port, b.port, &["X-Hdrs-Case: no-crlf".into()]);
        assert_eq!(r.status(), Some(200), "{who}");
        let got = b.recv();
        assert_eq!(got.hdr("Subject"), "hi", "{who}: {}", got.raw);
        assert!(
            got.raw.contains("\r\nSubject: hi\r\n"),
            "{who}: {}",
            got.raw
        );
    }
}

/// Item 4, beyond stock: an empty line inside hdrs would end the header block
/// early (the rest becomes body: an injection). Stock sends it; ours refuses.
#[test]
fn uac_req_hdrs_with_empty_line_refused() {
    let (a, b) = (Peer::new(), Peer::new());
    let k = proxy(&stock_module(), "none", "", b.port);
    let r = send_options(&a, k.port, b.port, &["X-Hdrs-Case: empty-line".into()]);
    assert_eq!(r.status(), Some(200), "stock sends it");
    let got = b.recv();
    assert!(got.raw.contains("X-A: 1\r\n\r\nX-B: 2"), "{}", got.raw);
    drop(k);

    let k = proxy(&our_module(), "none", "", b.port);
    let r = send_options(&a, k.port, b.port, &["X-Hdrs-Case: empty-line".into()]);
    assert_eq!(r.status(), Some(500), "ours refuses: {}", r.raw);
    assert!(b.quiet(500), "nothing is sent");
    assert_eq!(
        k.wait_log("$uac_req(hdrs) has an empty line", 1),
        1,
        "{}",
        k.log()
    );
}

/// Item 5: a valid display name longer than 512 bytes is accepted.
#[test]
fn long_display_name_accepted() {
    let display = format!("\"{}\"", "A".repeat(600));
    for (module, who) in modules() {
        let (a, b) = (Peer::new(), Peer::new());
        let k = proxy(&module, "auto", "", b.port);
        let req = request(
            "INVITE",
            &format!("sip:bob@127.0.0.1:{}", b.port),
            a.port,
            &format!("<sip:alice@example.com>;tag=a{}", rand_tag()),
            "<sip:bob@example.net>",
            &format!("display-{who}"),
            1,
            &[format!("X-Display: {display}")],
        );
        a.send(k.port, &req);
        let got = b.recv();
        assert_eq!(
            got.hdr("From").split(";tag=").next().unwrap(),
            format!("{display} <sip:anonymous@anonymous.invalid>"),
            "{who}"
        );
        assert_eq!(k.wait_log("replace: done", 1), 1, "{who}");
        b.send(k.port, &b.reply(&got, 486, "busy", false));
        let _ = a.recv();
    }
}

/// Item 6: a Call-ID Kamailio's parser accepts (with '=') is sent as given.
#[test]
fn uac_req_callid_with_equals_sign() {
    for (module, who) in modules() {
        let (a, b) = (Peer::new(), Peer::new());
        let k = proxy(&module, "none", "", b.port);
        let id = format!("key=value-{who}@host.example");
        let r = send_options(&a, k.port, b.port, &[format!("X-Callid: {id}")]);
        assert_eq!(r.status(), Some(200), "{who}: {}", k.log());
        let got = b.recv();
        assert_eq!(got.hdr("Call-ID"), id, "{who}");
    }
}

/// Item 8, beyond stock: a crafted vsf (zero bytes once decoded) with From
/// `<.>` makes the stock module forward restore_passwd in the From header. Ours
/// refuses the restore with one log line and forwards From as it arrived; no
/// piece of the password leaves the proxy.
#[test]
fn tampered_parameter_never_leaks_restore_passwd() {
    const PASSWD: &str = "Sup3rS3cretPassw0rd";
    let crafted = "A".repeat(64);
    let leaks = |m: &Msg| {
        PASSWD
            .as_bytes()
            .windows(4)
            .any(|w| m.raw.contains(std::str::from_utf8(w).unwrap()))
    };

    let (a, b) = (Peer::new(), Peer::new());
    let k = proxy(&stock_module(), "manual", PASSWD, b.port);
    let got = bye_through(
        &a,
        &b,
        &k,
        "<.>;tag=a1",
        &format!("ftag=a1;vsf={crafted}"),
        "leak-stock",
    );
    assert!(
        got.hdr("From").contains("3cretPassw0rd"),
        "stock leaks: {}",
        got.raw
    );
    drop(k);

    for mode in ["manual", "auto"] {
        let k = proxy(&our_module(), mode, PASSWD, b.port);
        let got = bye_through(
            &a,
            &b,
            &k,
            "<.>;tag=a1",
            &format!("ftag=a1;vsf={crafted}"),
            &format!("leak-ours-{mode}"),
        );
        assert_eq!(got.hdr("From"), "<.>;tag=a1", "{mode}: {}", got.raw);
        assert!(!leaks(&got), "{mode}: {}", got.raw);
        assert_eq!(
            k.wait_log("restored value is not a URI", 1),
            1,
            "{mode}: {}",
            k.log()
        );
    }
}
