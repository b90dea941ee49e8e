//! The same config and traffic through the stock uac.so and ours: identical wire
//! output, and dialogs that survive a switch between the two (rolling upgrade).

mod common;
use common::dialog::Call;
use common::*;

const ALICE: &str = "\"Alice\" <sip:alice@a.example.com>";
const BOB: &str = "<sip:bob@b.example.com>";

/// What B sees of one INVITE, with fixed ports and tags so runs compare.
fn invite_headers(
    module: &str,
    passwd: &str,
    k_port: u16,
    a: &Peer,
    b: &Peer,
    extra: &[String],
) -> (String, String, String) {
    let opts = CfgOpts {
        module,
        restore_mode: "auto",
        passwd,
        next_hop: b.port,
        defines: &[],
    };
    let k = Kamailio::start_on(&opts, k_port);
    let call_id = "diff-call";
    let from = format!("{ALICE};tag=fixedtag");
    let ruri = format!("sip:bob@127.0.0.1:{}", b.port);
    a.send(
        k.port,
        &request("INVITE", &ruri, a.port, &from, BOB, call_id, 1, extra),
    );
    let inv = b.recv();
    b.send(k.port, &b.reply(&inv, 486, "busy", false));
    let _ = a.recv();
    // tm ACKs the 486 towards B and retransmits it to A: leave both sockets empty.
    drop(k);
    a.drain();
    b.drain();
    (
        inv.hdr("From").to_string(),
        inv.hdr("To").to_string(),
        inv.hdr("Record-Route").to_string(),
    )
}

#[test]
fn record_route_parameter_is_byte_identical_to_stock() {
    let (a, b) = (Peer::new(), Peer::new());
    let ours = our_module();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", vec!["X-Replace-From: sip:anonymous@anonymous.invalid".into()]),
        ("s3cr3t", vec!["X-Replace-From: sip:anonymous@anonymous.invalid".into()]),
        ("", vec!["X-Replace-From: sip:a@b".into()]),
        ("", vec!["X-Replace-From: sip:a-much-longer-user-name+tag@a-much-longer-domain.example.org;user=phone".into()]),
        ("pw", vec![
            "X-Replace-From: sip:x@y.example".into(),
            "X-Replace-To: sip:carrier@c.example.net".into(),
        ]),
        ("", vec![
            "X-Replace-From: sip:x@y.example".into(),
            "X-Replace-From-Display: \"New Name\"".into(),
        ]),
    ];
    for (pw, extra) in cases {
        let port = free_port();
        let stock = invite_headers(&stock_module(), pw, port, &a, &b, &extra);
        let mine = invite_headers(&ours, pw, port, &a, &b, &extra);
        assert_eq!(stock, mine, "differs for passwd={pw:?} {extra:?}");
        assert!(mine.2.contains("vsf="), "{}", mine.2);
        println!(
            "stock: passwd={pw:?} {extra:?} -> {} | {}",
            stock.0, stock.2
        );
    }
}

/// A dialog begun under one module and continued after a restart with the other.
fn rolling(first: &str, second: &str) {
    let (a, b) = (Peer::new(), Peer::new());
    let port = free_port();
    let anon = "sip:anonymous@anonymous.invalid";
    let mk = |m: &'static str| CfgOpts {
        module: m,
        restore_mode: "auto",
        passwd: "pw",
        next_hop: b.port,
        defines: &[],
    };
    let first: &'static str = Box::leak(first.to_string().into_boxed_str());
    let second: &'static str = Box::leak(second.to_string().into_boxed_str());
    let k1 = Kamailio::start_on(&mk(first), port);
    let mut call = Call::invite(
        port,
        &a,
        &b,
        ALICE,
        BOB,
        &[format!("X-Replace-From: {anon}")],
    );
    call.ack();
    drop(k1);
    let _k2 = Kamailio::start_on(&mk(second), port);
    let (reinv, ok) = call.send_from_a("INVITE");
    assert_eq!(angle_uri(reinv.hdr("From")), anon);
    assert_eq!(ok.hdr("From"), call.a_from);
    let (bye, ok) = call.send_from_b("BYE");
    assert_eq!(angle_uri(bye.hdr("To")), "sip:alice@a.example.com");
    assert_eq!(angle_uri(ok.hdr("To")), anon);
}

#[test]
fn dialog_from_stock_continues_with_ours() {
    rolling(&stock_module(), &our_module());
}

#[test]
fn dialog_from_ours_continues_with_stock() {
    rolling(&our_module(), &stock_module());
}
