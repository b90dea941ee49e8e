//! Sending a request from the script (`uac_req_send()` with the `$uac_req`
//! record): prepare the record, send it, and, when it asks for it, a
//! continuation that reports the reply to the script's event and answers a
//! 401/407 with the record's credentials, sending the request again within
//! the challenge's dialog.
//!
//! The record is per process (each worker fills its own, as with the stock
//! module); what travels with the transaction is a copy as bytes.

use super::digest_client::{self, Creds, Policy, Stored};
use crate::digest::response::RequestInfo;
use crate::ports::event::ScriptEvent;
use crate::ports::request::{OnReply, Outgoing, Reply, Requests, When, Within};
use crate::send::{UacReq, FL_HA1};
use crate::{dbg, err};
use std::cell::RefCell;
use std::marker::PhantomData;

thread_local! {
    /// `$uac_req`: per process, as in the stock module.
    static CURRENT: RefCell<UacReq> = RefCell::new(UacReq::default());
}

/// Works on this process's `$uac_req` record.
pub fn with_current<T>(f: impl FnOnce(&mut UacReq) -> T) -> T {
    CURRENT.with(|r| f(&mut r.borrow_mut()))
}

/// What a host gives the send flow.
pub trait SendHost: 'static {
    type Req: Requests;
    /// The script's reply event.
    type Event: ScriptEvent<Msg = <Self::Req as Requests>::Msg>;

    /// The event, when the script has one (found at start-up).
    fn event() -> Option<&'static Self::Event>;

    /// The socket used when `$uac_req(sock)` is empty (the `default_socket`
    /// parameter).
    fn default_socket() -> Option<&'static [u8]>;
}

/// The continuation of the first request: reports the reply, answers a
/// challenge.
pub struct FirstReply<H>(PhantomData<H>);

/// The continuation of a request that only reports its reply: the answered
/// request, or every request with `evroute` 2 (failures only).
pub struct FinalReply<H>(PhantomData<H>);

/// A record's field when it is set.
fn opt(v: &[u8]) -> Option<&[u8]> {
    (!v.is_empty()).then_some(v)
}

/// The parts of a record as a request to send.
fn outgoing<'a>(req: &'a UacReq, default_socket: Option<&'a [u8]>) -> Outgoing<'a> {
    let or_ruri = |v: &'a [u8]| if v.is_empty() { &req.ruri[..] } else { v };
    Outgoing {
        method: &req.method,
        ruri: &req.ruri,
        to: or_ruri(&req.turi),
        from: or_ruri(&req.furi),
        ouri: opt(&req.ouri),
        hdrs: opt(&req.hdrs),
        body: opt(&req.body),
        sock: opt(&req.sock).or(default_socket),
        callid: opt(&req.callid),
        cseq: req.cseqno,
        fr_timeout: req.fr_timeout,
        fr_inv_timeout: req.fr_inv_timeout,
    }
}

/// uac_req_send(): sends this process's `$uac_req`. A continuation goes with
/// it when the record has credentials or asks for the reply event.
pub fn uac_req_send<H: SendHost>(requests: &H::Req) -> Result<(), String> {
    let mut req = with_current(|r| r.clone());
    req.prepare_for_send()?;
    let out = outgoing(&req, H::default_socket());
    let needs_reply = (!req.auser.is_empty() && !req.apasswd.is_empty()) || req.evroute > 0;
    if !needs_reply {
        return requests.send(&out, Within::New);
    }
    let state = req.to_bytes();
    if req.evroute == 2 {
        // Only failures reach the event route (stock semantics), and no
        // challenge is answered then.
        requests.send_then::<FinalReply<H>>(&out, Within::New, When::Failure, &state)
    } else {
        requests.send_then::<FirstReply<H>>(&out, Within::New, When::Completed, &state)
    }
}

/// The state of a continuation back as the record; None (logged) when it is
/// damaged.
fn record_of(state: &[u8]) -> Option<UacReq> {
    let r = UacReq::from_bytes(state);
    if r.is_none() {
        err!("uac_req_send callback: damaged request record");
    }
    r
}

/// Runs the reply event with `$uac_req` set to the request and its outcome
/// (evtype 1: a reply, 2: a local timeout).
fn report<H: SendHost>(mut req: UacReq, reply: &Reply<'_, <H::Req as Requests>::Msg>) {
    let Some(event) = H::event() else { return };
    req.evcode = reply.code as u32;
    req.evtype = if reply.msg.is_none() { 2 } else { 1 };
    with_current(|r| *r = req);
    event.run(reply.msg);
}

impl<H: SendHost> OnReply<H::Req> for FirstReply<H> {
    const NAME: &'static str = "uac_req_send reply callback";

    fn on_reply(requests: &H::Req, state: &[u8], reply: Reply<'_, <H::Req as Requests>::Msg>) {
        let Some(req) = record_of(state) else { return };
        if req.evroute != 0 && reply.code > 0 {
            report::<H>(req.clone(), &reply);
        }
        let challenged = reply.code == 401 || reply.code == 407;
        if let (true, false, Some(msg)) = (challenged, req.apasswd.is_empty(), reply.msg) {
            if let Err(e) = resend_with_auth::<H>(requests, &req, msg, reply.code) {
                err!(
                    "uac_req_send: cannot answer the {} challenge: {e}",
                    reply.code
                );
            }
        }
    }
}

impl<H: SendHost> OnReply<H::Req> for FinalReply<H> {
    const NAME: &'static str = "uac_req_send resend callback";

    fn on_reply(_: &H::Req, state: &[u8], reply: Reply<'_, <H::Req as Requests>::Msg>) {
        let Some(req) = record_of(state) else { return };
        if req.evroute != 0 && reply.code > 0 {
            report::<H>(req, &reply);
        }
    }
}

/// Sends the request again within the dialog of the challenge `msg`, with
/// the answer added to its headers.
fn resend_with_auth<H: SendHost>(
    requests: &H::Req,
    req: &UacReq,
    msg: &<H::Req as Requests>::Msg,
    code: i32,
) -> Result<(), String> {
    // $uac_req(auser)/(apasswd) answer any realm, as in the stock module.
    let creds = Creds {
        user: req.auser.clone(),
        secret: if req.flags & FL_HA1 != 0 {
            Stored::Ha1(req.apasswd.clone())
        } else {
            Stored::Password(req.apasswd.clone())
        },
    };
    let info = RequestInfo {
        method: &req.method,
        uri: &req.ruri,
        body: &req.body,
    };
    let a = digest_client::answer_reply(
        msg,
        code,
        &Policy::AS_OFFERED,
        |_| Some(creds.clone()),
        &info,
    )
    .map_err(|e| e.to_string())?;
    let hdrs = [&req.hdrs[..], &a.header[..]].concat();
    // Within the dialog To and From come from the reply, CSeq is the
    // challenge's + 1; the socket is the record's own (no default: tm keeps
    // the first request's); the timers go again (as Kamailio 6.1's stock).
    let out = Outgoing {
        to: &req.ruri,
        from: &req.ruri,
        hdrs: Some(&hdrs),
        sock: opt(&req.sock),
        callid: None,
        cseq: 0,
        ..outgoing(req, None)
    };
    let within = Within::Reply(msg);
    if req.evroute != 0 {
        let state = req.to_bytes();
        requests.send_then::<FinalReply<H>>(&out, within, When::Completed, &state)?;
    } else {
        requests.send(&out, within)?;
    }
    dbg!(
        "uac_req_send: answered the {code} challenge for realm {}",
        a.realm
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::digest_client::tests::verifies;
    use crate::ports::mock::io::{MockEvent, MockRequests, MockWithin};
    use crate::send::{Key, Value};

    /// The uac module's host on the mocks.
    struct Host;

    thread_local! {
        static EVENT: &'static MockEvent = Box::leak(Box::default());
    }

    impl SendHost for Host {
        type Req = MockRequests;
        type Event = MockEvent;

        fn event() -> Option<&'static MockEvent> {
            Some(EVENT.with(|e| *e))
        }

        fn default_socket() -> Option<&'static [u8]> {
            Some(b"udp:127.0.0.1:5099")
        }
    }

    fn events() -> Vec<Option<String>> {
        EVENT.with(|e| e.0.borrow().clone())
    }

    /// Sets `$uac_req` as a script would.
    fn set(fields: &[(Key, &str)], evroute: u32) {
        with_current(|r| {
            r.set(Key::All, Value::Null).unwrap();
            r.auser.clear();
            r.apasswd.clear();
            r.sock.clear();
            for (k, v) in fields {
                r.set(*k, Value::Str(v.as_bytes())).unwrap();
            }
            r.set(Key::Evroute, Value::Int(evroute)).unwrap();
        });
    }

    /// A request from alice (password secret) with `evroute`.
    fn with_creds(method: &str, extra: &[(Key, &str)], evroute: u32) {
        let mut fields = vec![
            (Key::Method, method),
            (Key::Ruri, "sip:bob@b.example"),
            (Key::Auser, "alice"),
            (Key::Apasswd, "secret"),
        ];
        fields.extend_from_slice(extra);
        set(&fields, evroute);
    }

    const CHALLENGE: &str =
        "WWW-Authenticate: Digest realm=\"r.example\", nonce=\"n1\", qop=\"auth\"\r\n";

    #[test]
    fn plain_request_goes_without_continuation_from_the_default_socket() {
        set(
            &[
                (Key::Method, "OPTIONS"),
                (Key::Ruri, "sip:bob@b.example"),
                (Key::Furi, "sip:alice@a.example"),
                (Key::Hdrs, "X-A: 1"),
            ],
            0,
        );
        let tm = MockRequests::default();
        uac_req_send::<Host>(&tm).unwrap();
        let s = tm.get(0);
        assert_eq!(s.method, b"OPTIONS");
        assert_eq!(s.to, b"sip:bob@b.example", "To falls back to the R-URI");
        assert_eq!(s.from, b"sip:alice@a.example");
        assert_eq!(s.hdrs.as_deref(), Some(&b"X-A: 1\r\n"[..]), "CRLF added");
        assert_eq!(s.sock.as_deref(), Some(&b"udp:127.0.0.1:5099"[..]));
        assert_eq!(s.within, MockWithin::New);
        assert!(s.then.is_none());
    }

    /// Kamailio 6.1's `$uac_req(cseqno|fr_timeout|fr_inv_timeout)` go with
    /// the request; the answered resend keeps the timers and takes the
    /// challenge's CSeq + 1 (no cseqno within the dialog); ftag/ttag are
    /// carried in the record but sent nowhere.
    #[test]
    fn cseqno_and_timers_go_with_the_request_and_its_resend() {
        with_creds("MESSAGE", &[(Key::Ftag, "ft1")], 1);
        with_current(|r| {
            r.set(Key::Cseqno, Value::Int(77)).unwrap();
            r.set(Key::FrTimeout, Value::Int(48)).unwrap();
            r.set(Key::FrInvTimeout, Value::Int(320)).unwrap();
        });
        let tm = MockRequests::default();
        uac_req_send::<Host>(&tm).unwrap();
        assert_eq!(tm.get(0).timers, (77, 48, 320));
        assert!(!tm.get(0).hdrs_text().contains("ft1"), "ftag is not sent");
        assert!(tm.answer(0, 401, CHALLENGE));
        let again = tm.get(1);
        assert_eq!(again.timers, (0, 48, 320));
        assert!(matches!(again.within, MockWithin::Reply { .. }));
        // the record that went with the transaction kept them all
        with_current(|r| {
            assert_eq!((r.cseqno, r.fr_timeout, r.fr_inv_timeout), (77, 48, 320));
            assert_eq!(r.ftag, b"ft1");
        });
    }

    #[test]
    fn what_prepare_refuses_is_not_sent() {
        set(&[(Key::Ruri, "sip:bob@b.example")], 0);
        let tm = MockRequests::default();
        let e = uac_req_send::<Host>(&tm).unwrap_err();
        assert_eq!(e, "$uac_req(method) is not set");
        assert!(tm.is_empty());
        tm.refuse.set(1);
        set(&[(Key::Method, "OPTIONS"), (Key::Ruri, "sip:b@x")], 1);
        assert!(uac_req_send::<Host>(&tm).is_err());
        assert!(tm.is_empty());
    }

    /// A 401 reaches the event, is answered within its dialog (Call-ID kept,
    /// CSeq + 1) with the record's credentials, and the answered request's
    /// reply reaches the event too.
    #[test]
    fn challenge_reported_answered_and_resent() {
        with_creds(
            "MESSAGE",
            &[
                (Key::Hdrs, "Content-Type: text/plain\r\n"),
                (Key::Body, "hello"),
                (Key::Evparam, "p1"),
            ],
            1,
        );
        let before = events().len();
        let tm = MockRequests::default();
        uac_req_send::<Host>(&tm).unwrap();
        assert_eq!(tm.get(0).then.as_ref().unwrap().0, When::Completed);
        assert!(tm.answer(0, 401, CHALLENGE));
        // the event saw the 401, with the request's fields
        assert_eq!(events().len(), before + 1);
        assert!(events()[before]
            .as_deref()
            .unwrap()
            .starts_with("SIP/2.0 401"));
        with_current(|r| {
            assert_eq!((r.evcode, r.evtype), (401, 1));
            assert_eq!(r.evparam, b"p1");
        });
        // the answer, within the challenge's dialog
        assert_eq!(tm.len(), 2);
        let again = tm.get(1);
        assert_eq!(
            again.within,
            MockWithin::Reply {
                callid: b"mock-call-0".to_vec(),
                cseq: 2
            }
        );
        let auth = again.hdrs_text();
        assert!(auth.starts_with("Content-Type: text/plain\r\nAuthorization: Digest "));
        let line = auth.split("\r\n").nth(1).unwrap();
        assert!(verifies(line.as_bytes(), b"MESSAGE", b"hello"));
        assert_eq!(again.body.as_deref(), Some(&b"hello"[..]));
        // its reply reaches the event; a second challenge is not answered
        assert!(tm.answer(1, 200, ""));
        with_current(|r| assert_eq!((r.evcode, r.evtype), (200, 1)));
        assert_eq!(events().len(), before + 2);
        assert_eq!(tm.len(), 2);
    }

    /// Without evroute the answered request goes without a continuation; a
    /// local timeout is not answered.
    #[test]
    fn credentials_without_event() {
        with_creds("OPTIONS", &[], 0);
        let before = events().len();
        let tm = MockRequests::default();
        uac_req_send::<Host>(&tm).unwrap();
        assert!(tm.answer(0, 407, &CHALLENGE.replace("WWW", "Proxy")));
        let again = tm.get(1);
        assert!(again.then.is_none());
        assert!(again
            .hdrs_text()
            .starts_with("Proxy-Authorization: Digest username=\"alice\""));
        assert_eq!(events().len(), before, "no event without evroute");
        uac_req_send::<Host>(&tm).unwrap();
        assert!(tm.time_out(2));
        assert_eq!(tm.len(), 3);
    }

    /// evroute 2: only failures reach the event (a local timeout as evtype
    /// 2), and a challenge is reported, not answered.
    #[test]
    fn failures_only() {
        with_creds("OPTIONS", &[], 2);
        let tm = MockRequests::default();
        for _ in 0..3 {
            uac_req_send::<Host>(&tm).unwrap();
        }
        assert_eq!(tm.get(0).then.as_ref().unwrap().0, When::Failure);
        let before = events().len();
        assert!(!tm.answer(0, 200, ""), "a 200 runs nothing");
        assert!(tm.time_out(1));
        assert_eq!(events()[before], None);
        with_current(|r| assert_eq!((r.evcode, r.evtype), (408, 2)));
        assert!(tm.answer(2, 401, CHALLENGE));
        with_current(|r| assert_eq!(r.evcode, 401));
        assert_eq!(tm.len(), 3, "not answered");
    }

    #[test]
    fn damaged_state_is_dropped() {
        let tm = MockRequests::default();
        let before = events().len();
        FirstReply::<Host>::on_reply(
            &tm,
            b"\x05\x00",
            Reply {
                code: 401,
                msg: None,
                dst: None,
                socket: b"",
            },
        );
        assert!(tm.is_empty());
        assert_eq!(events().len(), before);
    }
}
