//! The flow on `ports::mock` with both policies: what reaches the wire
//! (`MockMsg::sent`), what goes into Record-Route and the dialog, which
//! hooks are registered and what they do when the proxy runs them.

use super::*;
use crate::ports::dialog::{Dialogs, DlgEvents};
use crate::ports::message::{Mark, SipMessage, Which};
use crate::ports::mock::MockMsg;
use crate::ports::mock_proxy::{MockDialog, MockProxy};
use crate::ports::replies::ReplyEvent;
use crate::ports::rr::{Direction, RecordRoute};
use crate::ports::values::Avps;
use crate::replace::rr_codec;
use std::cell::Cell;

thread_local! {
    static SETTINGS: Cell<Option<&'static Settings<&'static str>>> = const { Cell::new(None) };
}

/// Kamailio's policy on the mock.
struct Kam;
/// OpenSIPS's policy on the mock.
struct Osips;

impl Module for Kam {
    type P = MockProxy;
    const POLICY: Policy = Policy::KAMAILIO;
    fn settings() -> &'static Settings<&'static str> {
        SETTINGS.with(|s| s.get().expect("settings"))
    }
}

/// Kamailio 6.1's policy on the mock.
struct Kam61;

impl Module for Kam61 {
    type P = MockProxy;
    const POLICY: Policy = Policy::KAMAILIO_61;
    fn settings() -> &'static Settings<&'static str> {
        Kam::settings()
    }
}

impl Module for Osips {
    type P = MockProxy;
    const POLICY: Policy = Policy::OPENSIPS;
    fn settings() -> &'static Settings<&'static str> {
        Kam::settings()
    }
}

const PW: &[u8] = b"pw";
const ALICE: &str = "sip:alice@a.example.com";
const ANON: &str = "sip:anon@x.invalid";

fn settings(mode: RestoreMode, dialog: bool) -> Settings<&'static str> {
    Settings {
        mode,
        from_param: b"vsf".to_vec(),
        to_param: b"vst".to_vec(),
        passwd: PW.to_vec(),
        from_avp: None,
        to_avp: None,
        dialog,
        force_dialog: false,
    }
}

fn set(s: Settings<&'static str>) {
    SETTINGS.with(|c| c.set(Some(Box::leak(Box::new(s)))));
}

fn invite(from: &str) -> String {
    format!(
        "INVITE sip:bob@b.example.com SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nFrom: {from};tag=a1\r\nTo: <sip:bob@b.example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
}

/// An in-dialog request with these From and To (tags included).
fn in_dialog(method: &str, from: &str, to: &str) -> String {
    format!(
        "{method} sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: c1\r\nCSeq: 2 {method}\r\n\r\n"
    )
}

fn reply_to(req: &str) -> MockMsg {
    let hdr = |n: &str| {
        req.split("\r\n")
            .find(|l| l.starts_with(&format!("{n}:")))
            .unwrap()
            .to_string()
    };
    MockMsg::new(&format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\n{}\r\n{};tag=b1\r\nCSeq: 1 INVITE\r\n\r\n",
        hdr("From"),
        hdr("To")
    ))
}

/// The header line `name` of what the message sends.
fn line(m: &MockMsg, name: &str) -> String {
    let s = m.sent();
    s.split("\r\n")
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or("")
        .to_string()
}

/// What the stock modules put into Record-Route for this pair.
fn encoded(old: &str, new: &str) -> String {
    rr_codec::encode(old.as_bytes(), new.as_bytes(), PW).unwrap()
}

/// uac_replace_*() with OpenSIPS's policy (`osips`) or Kamailio's.
fn replace_with(
    osips: bool,
    p: &MockProxy,
    m: &MockMsg,
    which: Which,
    display: Option<&[u8]>,
    uri: &[u8],
) -> Result<(), String> {
    let uri = Some(uri);
    if osips {
        replace::<Osips>(p, m, which, display, uri)
    } else {
        replace::<Kam>(p, m, which, display, uri)
    }
}

/// uac_restore_*() with OpenSIPS's policy (`osips`) or Kamailio's.
fn restore_with(osips: bool, p: &MockProxy, m: &MockMsg, which: Which) -> Result<bool, String> {
    if osips {
        restore::<Osips>(p, m, which)
    } else {
        restore::<Kam>(p, m, which)
    }
}

#[test]
fn restore_modes_parse() {
    assert_eq!(RestoreMode::parse(b"AUTO"), Ok(RestoreMode::Auto));
    assert_eq!(RestoreMode::parse(b"manual"), Ok(RestoreMode::Manual));
    assert_eq!(RestoreMode::parse(b"none"), Ok(RestoreMode::None));
    assert_eq!(
        RestoreMode::parse(b"sometimes"),
        Err("unsupported value 'sometimes' for restore_mode".into())
    );
}

/// Kamailio writes the bare URI and the display as given, and encodes the
/// bare pair; OpenSIPS writes `<uri>` over the URI and its brackets, quotes a
/// display that is not a token, and encodes the new URI as written. Both
/// mark the request and its transaction and register one reply hook.
#[test]
fn replaces_uri_and_display() {
    set(settings(RestoreMode::Auto, false));
    for (osips, display, new) in [
        (false, &b"\"Anon Y\""[..], ANON.to_string()),
        (true, b"Anon Y", format!("<{ANON}>")),
    ] {
        let p = MockProxy::new();
        let msg = MockMsg::new(&invite(&format!("\"Alice\" <{ALICE}>")));
        replace_with(osips, &p, &msg, Which::From, Some(display), ANON.as_bytes()).unwrap();
        let want = format!("From: \"Anon Y\" <{ANON}>;tag=a1");
        assert_eq!(line(&msg, "From"), want);
        assert_eq!(p.rr(), [format!(";vsf={}", encoded(ALICE, &new))]);
        assert!(msg.has_mark(Mark::UacFrom) && !msg.has_mark(Mark::UacTo));
        assert_eq!(*p.tx_marks.borrow(), [Mark::UacFrom]);
        assert_eq!(p.replies.borrow().len(), 1);
        // the To header too: still one reply hook
        replace_with(osips, &p, &msg, Which::To, None, b"sip:carrier@c.example").unwrap();
        assert_eq!(line(&msg, "To"), "To: <sip:carrier@c.example>");
        assert_eq!(p.replies.borrow().len(), 1);
        assert_eq!(p.rr().len(), 2);
        assert!(p.rr()[1].starts_with(";vst="));
        // a bare URI: OpenSIPS puts it in brackets
        let msg = MockMsg::new(&invite(ALICE));
        replace_with(osips, &p, &msg, Which::From, None, ANON.as_bytes()).unwrap();
        let want = if osips {
            format!("<{ANON}>")
        } else {
            ANON.to_string()
        };
        assert_eq!(line(&msg, "From"), format!("From: {want};tag=a1"));
    }
}

/// Kamailio 6.1: a new URI with parameters over a bare one goes in `<>`
/// (the parameters stay the URI's), the Record-Route parameter still
/// encodes the bare pair and restores into the brackets; a removed display
/// takes its trailing spaces along. 5.6's form writes the URI bare and
/// leaves the spaces.
#[test]
fn kamailio_61_encloses_and_trims() {
    set(settings(RestoreMode::Manual, false));
    let with_params = "sip:anon@x.invalid;user=phone";
    for (k61, want) in [
        (true, format!("From: <{with_params}>;tag=a1")),
        (false, format!("From: {with_params};tag=a1")),
    ] {
        let p = MockProxy::new();
        let msg = MockMsg::new(&invite(ALICE));
        let r = if k61 {
            replace::<Kam61>(&p, &msg, Which::From, None, Some(with_params.as_bytes()))
        } else {
            replace::<Kam>(&p, &msg, Which::From, None, Some(with_params.as_bytes()))
        };
        r.unwrap();
        assert_eq!(line(&msg, "From"), want);
        assert_eq!(p.rr(), [format!(";vsf={}", encoded(ALICE, with_params))]);
    }
    // the dialog's later request carries <uri;params>: restored inside
    let p = MockProxy::new();
    let inv = MockMsg::new(&invite(ALICE));
    replace::<Kam61>(&p, &inv, Which::From, None, Some(with_params.as_bytes())).unwrap();
    *p.route.borrow_mut() = format!(";lr;ftag=a1{}", p.rr()[0]).into_bytes();
    let bye = MockMsg::new(&in_dialog(
        "BYE",
        &format!("<{with_params}>;tag=a1"),
        "<sip:bob@b.example.com>;tag=b1",
    ));
    assert_eq!(restore::<Kam61>(&p, &bye, Which::From), Ok(true));
    assert_eq!(line(&bye, "From"), format!("From: <{ALICE}>;tag=a1"));
    // a URI without parameters, an enclosed original: as 5.6
    let msg = MockMsg::new(&invite(ALICE));
    replace::<Kam61>(&p, &msg, Which::From, None, Some(ANON.as_bytes())).unwrap();
    assert_eq!(line(&msg, "From"), format!("From: {ANON};tag=a1"));
    let msg = MockMsg::new(&invite(&format!("<{ALICE}>")));
    replace::<Kam61>(&p, &msg, Which::From, None, Some(with_params.as_bytes())).unwrap();
    assert_eq!(line(&msg, "From"), format!("From: <{with_params}>;tag=a1"));
    // a display added before a bare URI brings the brackets: none twice
    let msg = MockMsg::new(&invite(ALICE));
    replace::<Kam61>(
        &p,
        &msg,
        Which::From,
        Some(b"Anon"),
        Some(with_params.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        line(&msg, "From"),
        format!("From: Anon <{with_params}>;tag=a1")
    );
    // removing a display: 6.1 takes the space after it, 5.6 leaves it
    for (k61, want) in [(true, "From: <"), (false, "From:  <")] {
        let msg = MockMsg::new(&invite(&format!("\"Alice\" <{ALICE}>")));
        let r = if k61 {
            replace::<Kam61>(&p, &msg, Which::From, Some(b""), None)
        } else {
            replace::<Kam>(&p, &msg, Which::From, Some(b""), None)
        };
        r.unwrap();
        assert_eq!(line(&msg, "From"), format!("{want}{ALICE}>;tag=a1"));
    }
}

/// Display only: no parameter, no mark, no hook (nothing to restore).
#[test]
fn display_only_needs_no_restore() {
    set(settings(RestoreMode::Auto, false));
    for osips in [false, true] {
        let p = MockProxy::new();
        let msg = MockMsg::new(&invite(&format!("<{ALICE}>")));
        replace_with(osips, &p, &msg, Which::From, Some(b"Anon"), b"").unwrap();
        assert_eq!(line(&msg, "From"), format!("From: Anon <{ALICE}>;tag=a1"));
        assert!(p.rr().is_empty() && p.replies.borrow().is_empty());
        assert!(!msg.has_mark(Mark::UacFrom));
    }
}

/// Replace on the initial request, then the dialog's requests in both
/// directions restored from the Route parameter, for both policies.
fn restores_both_directions<F: Module<P = MockProxy>>() {
    set(settings(RestoreMode::Manual, false));
    let p = MockProxy::new();
    let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
    replace::<F>(&p, &inv, Which::From, None, Some(ANON.as_bytes())).unwrap();
    let from_out = line(&inv, "From")["From: ".len()..].to_string();
    *p.route.borrow_mut() = format!(";lr;ftag=a1{}", p.rr()[0]).into_bytes();

    // the caller's BYE carries the original: it leaves with the new one
    let bye = MockMsg::new(&in_dialog(
        "BYE",
        &format!("<{ALICE}>;tag=a1"),
        "<sip:bob@b>;tag=b1",
    ));
    p.direction.set(Some(Direction::Downstream));
    assert_eq!(restore::<F>(&p, &bye, Which::From), Ok(true));
    assert_eq!(line(&bye, "From"), format!("From: {from_out}"));
    assert!(bye.has_mark(Mark::UacFrom));

    // the callee's BYE carries the new one in To: it leaves with the original
    let bye = MockMsg::new(&in_dialog("BYE", "<sip:bob@b>;tag=b1", &from_out));
    p.direction.set(Some(Direction::Upstream));
    assert_eq!(restore::<F>(&p, &bye, Which::From), Ok(true));
    assert_eq!(line(&bye, "To"), format!("To: <{ALICE}>;tag=a1"));
    assert!(bye.has_mark(Mark::UacTo));

    // no To parameter: nothing to do
    assert_eq!(restore::<F>(&p, &bye, Which::To), Ok(false));
}

#[test]
fn kamailio_restores_both_directions() {
    restores_both_directions::<Kam>();
}

#[test]
fn opensips_restores_both_directions() {
    restores_both_directions::<Osips>();
}

/// Kamailio puts the parameter back into Record-Route (for a request that is
/// record-routed again) and keeps the header for the replies in the AVP;
/// OpenSIPS does neither.
#[test]
fn restore_keeps_param_and_avp_on_kamailio_only() {
    let mut s = settings(RestoreMode::Manual, false);
    s.to_avp = Some("to");
    set(s);
    let value = encoded(ALICE, ANON);
    let p = MockProxy::new();
    *p.route.borrow_mut() = format!(";lr;vsf={value}").into_bytes();
    p.direction.set(Some(Direction::Upstream));
    let bye = in_dialog("BYE", "<sip:bob@b>;tag=b1", &format!("<{ANON}>;tag=a1"));
    assert_eq!(
        restore::<Kam>(&p, &MockMsg::new(&bye), Which::From),
        Ok(true)
    );
    assert_eq!(p.rr(), [format!(";vsf={value}")]);
    assert_eq!(p.first_avp(&"to"), Some(format!("<{ANON}>").into_bytes()));

    let p = MockProxy::new();
    let value = encoded(ALICE, &format!("<{ANON}>"));
    *p.route.borrow_mut() = format!(";lr;vsf={value}").into_bytes();
    p.direction.set(Some(Direction::Upstream));
    set(settings(RestoreMode::Manual, false));
    assert_eq!(
        restore::<Osips>(&p, &MockMsg::new(&bye), Which::From),
        Ok(true)
    );
    assert!(p.rr().is_empty() && p.avps.borrow().is_empty());
}

/// Auto mode: the rr hook restores both headers of a loose-routed request
/// and arms the reply restore.
#[test]
fn auto_mode_restores_routed_requests() {
    set(settings(RestoreMode::Auto, false));
    for osips in [false, true] {
        let p = MockProxy::new();
        let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
        let to_new = "sip:carrier@c.example";
        replace_with(osips, &p, &inv, Which::From, None, ANON.as_bytes()).unwrap();
        replace_with(osips, &p, &inv, Which::To, None, to_new.as_bytes()).unwrap();
        if osips {
            p.on_routed::<Routed<Osips>>().unwrap();
        } else {
            p.on_routed::<Routed<Kam>>().unwrap();
        }
        *p.route.borrow_mut() = format!(";lr;ftag=a1{}{}", p.rr()[0], p.rr()[1]).into_bytes();
        p.replies.borrow_mut().clear();
        let bye = MockMsg::new(&in_dialog(
            "BYE",
            &format!("<{ALICE}>;tag=a1"),
            "<sip:bob@b.example.com>;tag=b1",
        ));
        p.direction.set(Some(Direction::Downstream));
        p.fire_routed(&bye);
        assert_eq!(line(&bye, "From"), format!("From: <{ANON}>;tag=a1"));
        assert_eq!(line(&bye, "To"), format!("To: <{to_new}>;tag=b1"));
        assert_eq!(p.replies.borrow().len(), 1, "osips: {osips}");
    }
}

/// Auto mode refuses a new URI on a sequential request; none mode replaces
/// without anything to restore.
#[test]
fn auto_declines_sequential_and_none_keeps_nothing() {
    set(settings(RestoreMode::Auto, false));
    let p = MockProxy::new();
    let reinv = MockMsg::new(&in_dialog(
        "INVITE",
        &format!("<{ALICE}>;tag=a1"),
        "<sip:b@b>;tag=b1",
    ));
    let e = replace::<Kam>(&p, &reinv, Which::From, None, Some(ANON.as_bytes())).unwrap_err();
    assert_eq!(
        e,
        "decline FROM replacing in sequential request in auto mode (has TO tag)"
    );
    assert!(reinv.edits.borrow().is_empty());

    set(settings(RestoreMode::None, false));
    for osips in [false, true] {
        let p = MockProxy::new();
        let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
        replace_with(osips, &p, &inv, Which::From, None, ANON.as_bytes()).unwrap();
        assert_eq!(line(&inv, "From"), format!("From: <{ANON}>;tag=a1"));
        assert!(p.rr().is_empty() && p.replies.borrow().is_empty());
        assert!(!inv.has_mark(Mark::UacFrom) && p.tx_marks.borrow().is_empty());
    }
}

/// The reply gets the From of the request as it arrived (tag and
/// parameters of the reply kept); with restore_from_avp, the AVP's value.
#[test]
fn replies_get_the_original_back() {
    for (osips, avp) in [(false, false), (true, false), (false, true)] {
        let mut s = settings(RestoreMode::Manual, false);
        if avp {
            s.from_avp = Some("from");
        }
        set(s);
        let p = MockProxy::new();
        let text = invite(&format!("\"Alice\" <{ALICE}>"));
        let inv = MockMsg::new(&text);
        replace_with(osips, &p, &inv, Which::From, Some(b"Anon"), ANON.as_bytes()).unwrap();
        if avp {
            assert_eq!(
                p.first_avp(&"from"),
                Some(format!("\"Alice\" <{ALICE}>").into_bytes())
            );
            // what the script may have put there instead
            p.add_avp(&"from", b"\"Kept\" <sip:kept@k>");
        }
        let rpl = MockMsg::new(&format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nFrom: Anon <{ANON}>;tag=a1;x=y\r\nTo: <sip:bob@b.example.com>;tag=b1\r\nCSeq: 1 INVITE\r\n\r\n"
        ));
        assert_eq!(p.fire_replies(&p.stored(&text), &rpl, ReplyEvent::In), 1);
        let want = if avp {
            "\"Kept\" <sip:kept@k>"
        } else {
            "\"Alice\" <sip:alice@a.example.com>"
        };
        assert_eq!(line(&rpl, "From"), format!("From: {want};tag=a1;x=y"));
        // To was not replaced: left alone
        assert_eq!(line(&rpl, "To"), "To: <sip:bob@b.example.com>;tag=b1");
    }
}

/// Kamailio keeps four variables per header in the dialog and restores the
/// dialog's requests (URI and display) from them.
#[test]
fn kamailio_dialog_variables() {
    set(settings(RestoreMode::Auto, true));
    let p = MockProxy::new();
    let d = p.new_dialog();
    let inv = MockMsg::new(&invite(&format!("\"Alice\" <{ALICE}>")));
    replace::<Kam>(&p, &inv, Which::From, Some(b"Anon"), Some(ANON.as_bytes())).unwrap();
    assert!(p.rr().is_empty());
    assert_eq!(d.value("_uac_fu").as_deref(), Some(ALICE));
    assert_eq!(d.value("_uac_funew").as_deref(), Some(ANON));
    assert_eq!(d.value("_uac_fdp").as_deref(), Some("\"Alice\""));
    assert_eq!(d.value("_uac_fdpnew").as_deref(), Some("Anon"));
    let hooks: Vec<(DlgEvents, u32)> =
        d.0.hooks
            .borrow()
            .iter()
            .map(|(e, p, _)| (*e, *p))
            .collect();
    let all = DlgEvents::WITHIN
        .with(DlgEvents::CONFIRMED)
        .with(DlgEvents::TERMINATED);
    assert_eq!(hooks, [(all, 0)]);
    assert_eq!(p.replies.borrow().len(), 1);

    // the caller's ACK (CONFIRMED) leaves with the new URI and display
    let ack = MockMsg::new(&in_dialog(
        "ACK",
        &format!("\"Alice\" <{ALICE}>;tag=a1"),
        "<sip:b@b>;tag=b1",
    ));
    assert_eq!(
        p.fire_dialog(&d, &ack, DlgEvents::CONFIRMED, Direction::Downstream),
        1
    );
    assert_eq!(line(&ack, "From"), format!("From: Anon <{ANON}>;tag=a1"));
    // run twice for one request: done once
    p.fire_dialog(&d, &ack, DlgEvents::WITHIN, Direction::Downstream);
    assert_eq!(ack.edits.borrow().len(), 2);
    // the callee's BYE gets the original back in To
    let bye = MockMsg::new(&in_dialog(
        "BYE",
        "<sip:b@b>;tag=b1",
        &format!("Anon <{ANON}>;tag=a1"),
    ));
    p.fire_dialog(&d, &bye, DlgEvents::TERMINATED, Direction::Upstream);
    assert_eq!(line(&bye, "To"), format!("To: \"Alice\" <{ALICE}>;tag=a1"));
    assert!(bye.has_mark(Mark::UacTo));

    // a second replace in the dialog: the new values, no second hook
    let reinv = MockMsg::new(&in_dialog(
        "INVITE",
        &format!("<{ALICE}>;tag=a1"),
        "<sip:b@b>;tag=b1",
    ));
    set(settings(RestoreMode::Manual, true));
    replace::<Kam>(&p, &reinv, Which::From, None, Some(b"sip:other@o")).unwrap();
    assert_eq!(d.value("_uac_fu").as_deref(), Some(ALICE));
    assert_eq!(d.value("_uac_funew").as_deref(), Some("sip:other@o"));
    assert_eq!(d.value("_uac_fdpnew").as_deref(), Some(""));
    assert_eq!(d.0.hooks.borrow().len(), 1);

    // dialogs loaded at start-up: hooks for both headers
    let loaded = MockDialog::default();
    p.on_loaded::<Loaded<Kam>>().unwrap();
    p.fire_loaded(&loaded);
    let params: Vec<u32> = loaded.0.hooks.borrow().iter().map(|(_, p, _)| *p).collect();
    assert_eq!(params, [0, 1]);
}

/// OpenSIPS keeps two values per header: the original under the parameter
/// name, the new one as written; from a branch route the original waits in
/// a branch value until the branch's 2xx.
#[test]
fn opensips_dialog_values() {
    set(settings(RestoreMode::Auto, true));
    let p = MockProxy::new();
    let d = p.new_dialog();
    let text = invite(&format!("<{ALICE}>"));
    let inv = MockMsg::new(&text);
    replace::<Osips>(&p, &inv, Which::From, None, Some(ANON.as_bytes())).unwrap();
    assert!(p.rr().is_empty());
    assert_eq!(d.value("vsf").as_deref(), Some(ALICE));
    assert_eq!(d.value("739823"), Some(format!("<{ANON}>")));
    let all = DlgEvents::WITHIN.with(DlgEvents::TERMINATED);
    assert_eq!(d.0.hooks.borrow()[0].0, all);

    let bye = MockMsg::new(&in_dialog(
        "BYE",
        &format!("<{ALICE}>;tag=a1"),
        "<sip:b@b>;tag=b1",
    ));
    p.fire_dialog(&d, &bye, DlgEvents::TERMINATED, Direction::Downstream);
    assert_eq!(line(&bye, "From"), format!("From: <{ANON}>;tag=a1"));
    let bye = MockMsg::new(&in_dialog(
        "BYE",
        "<sip:b@b>;tag=b1",
        &format!("<{ANON}>;tag=a1"),
    ));
    p.fire_dialog(&d, &bye, DlgEvents::WITHIN, Direction::Upstream);
    assert_eq!(line(&bye, "To"), format!("To: <{ALICE}>;tag=a1"));

    // in a branch route: the original goes to the dialog with the 2xx only
    let p = MockProxy::new();
    let d = p.new_dialog();
    p.in_branch.set(true);
    let inv = MockMsg::new(&text);
    replace::<Osips>(&p, &inv, Which::From, None, Some(ANON.as_bytes())).unwrap();
    assert_eq!(d.value("vsf"), None);
    let outs: Vec<_> = p.replies.borrow().iter().map(|(w, _)| *w).collect();
    assert_eq!(outs, [ReplyEvent::Out, ReplyEvent::In]);
    let ringing = MockMsg::new("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP a\r\n\r\n");
    p.fire_replies(&p.stored(&text), &ringing, ReplyEvent::Out);
    assert_eq!(d.value("vsf"), None);
    p.fire_replies(&p.stored(&text), &reply_to(&text), ReplyEvent::Out);
    assert_eq!(d.value("vsf").as_deref(), Some(ALICE));

    // loaded at start-up: a hook for each header the dialog has values for
    let loaded = MockDialog::default();
    p.set_value(&loaded, b"739824", Some(b"<sip:x@y>")).unwrap();
    p.on_loaded::<Loaded<Osips>>().unwrap();
    p.fire_loaded(&loaded);
    let params: Vec<u32> = loaded.0.hooks.borrow().iter().map(|(_, p, _)| *p).collect();
    assert_eq!(params, [1]);
}

/// force_dialog: a request without a dialog gets one, which keeps the URIs.
#[test]
fn force_dialog_creates_one() {
    let mut s = settings(RestoreMode::Auto, true);
    s.force_dialog = true;
    set(s);
    let p = MockProxy::new();
    let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
    replace::<Osips>(&p, &inv, Which::From, None, Some(ANON.as_bytes())).unwrap();
    let d = p.dialog.borrow().clone().expect("a dialog");
    assert_eq!(d.value("vsf").as_deref(), Some(ALICE));
    // the dialog module cannot make one: the message stays as it is
    let p = MockProxy::new();
    p.can_create.set(false);
    let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
    assert!(replace::<Osips>(&p, &inv, Which::From, None, Some(ANON.as_bytes())).is_err());
    assert!(inv.edits.borrow().is_empty());
}

/// A dialog value that is not a URI (a tampered database row) is not
/// written into the request.
#[test]
fn tampered_dialog_value_is_refused() {
    set(settings(RestoreMode::Auto, true));
    for osips in [false, true] {
        let p = MockProxy::new();
        let d = p.new_dialog();
        let inv = MockMsg::new(&invite(&format!("<{ALICE}>")));
        replace_with(osips, &p, &inv, Which::From, None, ANON.as_bytes()).unwrap();
        let (new_name, bad): (&[u8], &[u8]) = if osips {
            (b"739823", b"<sip:a@b>\r\nX: evil")
        } else {
            (b"_uac_funew", b"]ecretsecret")
        };
        p.set_value(&d, new_name, Some(bad)).unwrap();
        let bye = MockMsg::new(&in_dialog(
            "BYE",
            &format!("<{ALICE}>;tag=a1"),
            "<sip:b@b>;tag=b1",
        ));
        p.fire_dialog(&d, &bye, DlgEvents::TERMINATED, Direction::Downstream);
        assert!(
            bye.edits.borrow().is_empty(),
            "osips: {osips}: {}",
            bye.sent()
        );
        assert!(!bye.has_mark(Mark::UacFrom));
    }
}

/// Two calls for From on one request, then a third of another form. Both:
/// the second call's values reach the wire and Record-Route holds one
/// parameter, for the second URI; one reply hook. Kamailio: the last call
/// wins part by part (a URI-only call keeps the display); OpenSIPS: the
/// second call writes into the first call's edits, and a call of another
/// form is refused, the second replacement staying.
#[test]
fn repeat_calls() {
    set(settings(RestoreMode::Auto, false));
    for osips in [false, true] {
        let p = MockProxy::new();
        let inv = MockMsg::new(&invite(&format!("\"Alice\" <{ALICE}>")));
        let from = |d, u| replace_with(osips, &p, &inv, Which::From, d, u);
        from(Some(b"One"), b"sip:one@x.invalid").unwrap();
        let n = inv.edits.borrow().len();
        from(Some(b"Two"), b"sip:two@x.invalid").unwrap();
        assert_eq!(line(&inv, "From"), "From: Two <sip:two@x.invalid>;tag=a1");
        let new = if osips {
            "<sip:two@x.invalid>"
        } else {
            "sip:two@x.invalid"
        };
        assert_eq!(p.rr(), [format!(";vsf={}", encoded(ALICE, new))]);
        let third = from(None, b"sip:three@x.invalid");
        if osips {
            assert_eq!(inv.edits.borrow().len(), n, "rewritten in place");
            assert!(third.unwrap_err().contains("with a different form"));
            assert_eq!(line(&inv, "From"), "From: Two <sip:two@x.invalid>;tag=a1");
        } else {
            third.unwrap();
            assert_eq!(line(&inv, "From"), "From: Two <sip:three@x.invalid>;tag=a1");
        }
        assert_eq!(p.rr().len(), 1);
        assert_eq!(p.replies.borrow().len(), 1);
        // another message: a first call again
        let other = MockMsg::new(&invite(&format!("<{ALICE}>")));
        replace_with(osips, &p, &other, Which::From, None, ANON.as_bytes()).unwrap();
        assert_eq!(p.rr().len(), 2);
    }
}

/// Bad arguments and headers: an error, and the message, Record-Route and
/// marks untouched.
#[test]
fn bad_input_leaves_the_message_untouched() {
    set(settings(RestoreMode::Auto, false));
    let good = invite(&format!("<{ALICE}>"));
    let long = format!("sip:{}@x", "a".repeat(2000));
    /// (request, display, URI, the error it gives)
    type Case<'a> = (&'a str, Option<&'a [u8]>, &'a [u8], &'a str);
    let cases: [Case; 5] = [
        (&good, None, b"not a uri", "bad new URI: uri has no scheme"),
        (
            &good,
            None,
            b"sip:a b@x",
            "bad new URI: uri has a forbidden character",
        ),
        (&good, None, long.as_bytes(), "bad new URI: uri too long"),
        (
            &good,
            Some(b"\"open"),
            ANON.as_bytes(),
            "bad display name: display name has an unbalanced quote",
        ),
        (
            "INVITE sip:b@b SIP/2.0\r\nTo: <sip:b@b>\r\n\r\n",
            None,
            ANON.as_bytes(),
            "failed to find/parse FROM hdr",
        ),
    ];
    for osips in [false, true] {
        for (text, d, u, why) in cases {
            let p = MockProxy::new();
            let msg = MockMsg::new(text);
            let e = replace_with(osips, &p, &msg, Which::From, d, u).unwrap_err();
            assert!(e.starts_with(why), "{e}");
            assert!(msg.edits.borrow().is_empty() && p.rr().is_empty());
            assert!(msg.marks.borrow().is_empty() && p.replies.borrow().is_empty());
        }
    }
    // Kamailio checks append_fromtag per call: refused before any change
    let p = MockProxy::new();
    p.append_fromtag.set(false);
    let msg = MockMsg::new(&good);
    assert!(
        replace::<Kam>(&p, &msg, Which::From, None, Some(ANON.as_bytes()))
            .unwrap_err()
            .contains("append_fromtag")
    );
    assert!(msg.edits.borrow().is_empty());
}

/// A tampered or truncated Route parameter: an error naming it, the request
/// left as it is; a later parameter of the same name that fits is used.
#[test]
fn tampered_param_is_refused() {
    set(settings(RestoreMode::Manual, false));
    let good = encoded(ALICE, ANON);
    for osips in [false, true] {
        for bad in ["!!!!garbage", "AAAA", &good[..4], &"A".repeat(3000)] {
            let p = MockProxy::new();
            *p.route.borrow_mut() = format!(";lr;vsf={bad}").into_bytes();
            p.direction.set(Some(Direction::Upstream));
            let bye = MockMsg::new(&in_dialog(
                "BYE",
                "<sip:b@b>;tag=b1",
                &format!("<{ANON}>;tag=a1"),
            ));
            let e = restore_with(osips, &p, &bye, Which::From).unwrap_err();
            assert!(
                e.contains("failed to decode uri") && e.contains("cannot restore TO URI"),
                "{e}"
            );
            assert!(bye.edits.borrow().is_empty() && bye.marks.borrow().is_empty());
        }
    }
    // the first value does not fit, the second does (Kamailio reads both)
    let p = MockProxy::new();
    *p.route.borrow_mut() = format!(";lr;vsf=AAAA;vsf={good}").into_bytes();
    p.direction.set(Some(Direction::Upstream));
    let bye = MockMsg::new(&in_dialog(
        "BYE",
        "<sip:b@b>;tag=b1",
        &format!("<{ANON}>;tag=a1"),
    ));
    assert_eq!(restore::<Kam>(&p, &bye, Which::From), Ok(true));
    assert_eq!(line(&bye, "To"), format!("To: <{ALICE}>;tag=a1"));
    assert_eq!(p.rr(), [format!(";vsf={good}")]);
}
