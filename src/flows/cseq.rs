//! OpenSIPS's uac CSeq handling: uac_inc_cseq(n), and the shift after
//! uac_auth() answered a challenge. The answered request is a new one for
//! the server, so it goes out with CSeq + 1 and its replies get the caller's
//! CSeq back; later requests of the caller must be shifted too: by the
//! dialog module when the request has a dialog (DLG_FLAG_CSEQ_ENFORCE and
//! the leg's last generated CSeq), else by the rr hook, which an initial
//! request arms with the Record-Route parameter `aci=1`.

use crate::ports::dialog::DialogCseq;
use crate::ports::message::{CseqMessage, Edit, EditMessage, Mark, SipMessage, Which};
use crate::ports::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};
use crate::ports::rr::{Direction, OnRouted, RecordRoute};
use crate::{dbg, err, warn};

/// The Record-Route parameter that marks a dialog whose caller's CSeq is raised.
pub const RR_CSEQ_PARAM: &[u8] = b"aci";

/// What the flow needs of a proxy.
pub trait Ports: RecordRoute + Replies + DialogCseq
where
    Self::Msg: CseqMessage,
{
}
impl<P: RecordRoute + Replies + DialogCseq> Ports for P where P::Msg: CseqMessage {}

/// `num + by` as a CSeq number.
pub fn bump(num: &[u8], by: i64) -> Option<u32> {
    let n: u32 = std::str::from_utf8(num).ok()?.parse().ok()?;
    u32::try_from(n as i64 + by).ok()
}

/// Changes the CSeq number of `msg` by `by`; the new number.
fn shift<M: CseqMessage>(msg: &M, by: i64) -> Result<u32, String> {
    let s = msg.cseq_spans().ok_or("failed to parse headers")?;
    let (off, len) = s.number;
    let new = bump(&msg.buf()[off..off + len], by).ok_or("Failed to convert cseq to integer")?;
    msg.apply_edits(
        &[Edit::Replace {
            offset: off,
            len,
            text: new.to_string().into_bytes(),
        }],
        &mut Vec::new(),
    )?;
    Ok(new)
}

/// A forwarded reply gets the CSeq the caller sent.
pub struct Decrement;

impl<P: Replies> ReplyHook<P> for Decrement
where
    P::Msg: CseqMessage,
{
    fn on_reply(_p: &P, req: &P::Stored, rpl: &P::Msg) {
        let (Some(a), Some(b)) = (req.cseq_number(), rpl.cseq_number()) else {
            return;
        };
        if a != b {
            if let Err(e) = shift(rpl, a as i64 - b as i64) {
                err!("{e}");
            }
        }
    }
}

fn decrement_replies_once<P: Replies>(p: &P, msg: &P::Msg) -> Result<(), String>
where
    P::Msg: CseqMessage,
{
    if !msg.has_mark(Mark::UacCseq) && !p.request_has_mark(Mark::UacCseq) {
        p.on_replies::<Decrement>(msg, ReplyEvent::Forwarded)
            .map_err(|_| "Failed to register TMCB response fwded".to_string())?;
    }
    Ok(())
}

fn mark<P: Replies>(p: &P, msg: &P::Msg) {
    msg.set_mark(Mark::UacCseq);
    p.mark_request(Mark::UacCseq);
}

/// uac_inc_cseq(n).
pub fn inc_cseq<P: Replies>(p: &P, msg: &P::Msg, by: i32) -> Result<(), String>
where
    P::Msg: CseqMessage,
{
    if !p.has_transaction() {
        return Err("no current transaction found".into());
    }
    shift(msg, by as i64).map_err(|e| format!("Failed to increment the CSEQ header! ({e})"))?;
    decrement_replies_once(p, msg)?;
    mark(p, msg);
    Ok(())
}

/// The CSeq shift after uac_auth() answered a challenge, as stock: without
/// a dialog the request's CSeq goes up by one here and an initial request
/// marks the dialog in Record-Route (`aci`); with a dialog (`use_dialog`:
/// the dialog API is loaded) the dialog module is told and shifts the later
/// requests itself.
pub fn after_auth<P: Ports>(p: &P, msg: &P::Msg, use_dialog: bool) -> Result<(), String>
where
    P::Msg: CseqMessage,
{
    let to = msg.ident(Which::To)?;
    let ttag = to.tag.map_or(&[][..], |(o, l)| &msg.buf()[o..o + l]);
    let dlg = if use_dialog { p.dialog(msg) } else { None };
    // a sequential request the dialog module already renumbers
    let managed = dlg
        .as_ref()
        .filter(|d| !ttag.is_empty() && p.cseq_enforced(d) && p.last_cseq(d, p.leg(d, ttag)) != 0);
    if let Some(d) = managed {
        let leg = p.leg(d, ttag);
        let new = p.last_cseq(d, leg).wrapping_add(1);
        p.set_last_cseq(d, leg, new);
        dbg!("incrementing last_gen_cseq to [{new}] for leg[{leg}]");
        whole_cseq(msg, new)?;
    } else {
        let new = shift(msg, 1).inspect_err(|_| {
            warn!("Failure to increment the CSEQ header");
        })?;
        decrement_replies_once(p, msg)?;
        match (ttag.is_empty(), &dlg) {
            (true, Some(d)) => p.enforce_cseq(d),
            (true, None) => p.add_param(msg, &[b";", RR_CSEQ_PARAM, b"=1"].concat())?,
            (false, Some(d)) => {
                p.enforce_cseq(d);
                let leg = p.leg(d, ttag);
                p.set_last_cseq(d, leg, new);
                dbg!("setting last_gen_cseq to [{new}] for leg [{leg}]");
                whole_cseq(msg, new)?;
            }
            (false, None) => {}
        }
    }
    mark(p, msg);
    Ok(())
}

/// Rewrites the whole CSeq value (": N METHOD"), covering the dialog
/// module's own change of the number in this branch (the stock trick).
fn whole_cseq<M: CseqMessage>(msg: &M, new: u32) -> Result<(), String> {
    let (offset, len) = msg
        .cseq_spans()
        .ok_or("failed to parse headers")?
        .after_name;
    let mut text = format!(": {new} ").into_bytes();
    text.extend_from_slice(msg.method());
    msg.apply_edits(&[Edit::Replace { offset, len, text }], &mut Vec::new())
        .map_err(|e| format!("failed to forced new in-dialog cseq: {e}"))
}

/// The rr hook for requests of a dialog whose first request was answered
/// without a dialog: the caller's requests get CSeq + 1 (their replies get
/// it back).
pub struct AciChecker;

impl<P: RecordRoute + Replies> OnRouted<P> for AciChecker
where
    P::Msg: CseqMessage,
{
    fn on_routed(p: &P, msg: &P::Msg) {
        if p.route_param_values(msg, RR_CSEQ_PARAM).is_empty()
            || p.direction(msg) == Some(Direction::Upstream)
        {
            return;
        }
        if let Err(e) = shift(msg, 1) {
            warn!("Failure to increment the CSEQ header - continue ({e})");
            return;
        }
        if let Err(e) = p.on_replies::<Decrement>(msg, ReplyEvent::Forwarded) {
            err!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::mock::MockMsg;
    use crate::ports::mock_proxy::MockProxy;

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nFrom: <sip:alice@a.example>;tag=a1\r\nTo: <sip:bob@b.example>\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n";

    fn reply(cseq: u32) -> MockMsg {
        MockMsg::new(&format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nFrom: <sip:alice@a.example>;tag=a1\r\nTo: <sip:bob@b.example>;tag=b1\r\nCSeq: {cseq} INVITE\r\n\r\n"
        ))
    }

    #[test]
    fn cseq_bump() {
        assert_eq!(bump(b"1", 1), Some(2));
        assert_eq!(bump(b"10", -9), Some(1));
        assert_eq!(bump(b"4294967295", 1), None);
        assert_eq!(bump(b"x", 1), None);
    }

    /// uac_inc_cseq(3): the request goes out with CSeq + 3, the forwarded
    /// reply comes back with the caller's CSeq; one reply hook for two calls.
    #[test]
    fn inc_cseq_raises_and_replies_get_it_back() {
        let p = MockProxy::new();
        let msg = MockMsg::new(INVITE);
        inc_cseq(&p, &msg, 3).unwrap();
        assert!(msg.sent().contains("CSeq: 10 INVITE\r\n"), "{}", msg.sent());
        assert!(msg.has_mark(Mark::UacCseq) && p.request_has_mark(Mark::UacCseq));
        inc_cseq(&p, &msg, 1).unwrap();
        assert_eq!(p.replies.borrow().len(), 1);
        let req = p.stored(INVITE);
        let rpl = reply(11);
        assert_eq!(p.fire_replies(&req, &rpl, ReplyEvent::Forwarded), 1);
        assert!(rpl.sent().contains("CSeq: 7 INVITE\r\n"), "{}", rpl.sent());
        // a reply that already has it is left alone
        let rpl = reply(7);
        p.fire_replies(&req, &rpl, ReplyEvent::Forwarded);
        assert!(rpl.edits.borrow().is_empty());
    }

    #[test]
    fn inc_cseq_needs_a_transaction_and_a_number() {
        let p = MockProxy::new();
        p.in_transaction.set(false);
        let msg = MockMsg::new(INVITE);
        assert_eq!(
            inc_cseq(&p, &msg, 1),
            Err("no current transaction found".into())
        );
        p.in_transaction.set(true);
        let bad = MockMsg::new(&INVITE.replace("CSeq: 7", "CSeq: x"));
        let e = inc_cseq(&p, &bad, 1).unwrap_err();
        assert!(e.contains("Failed to convert cseq to integer"), "{e}");
        assert!(bad.edits.borrow().is_empty() && p.replies.borrow().is_empty());
    }

    /// Without a dialog, an initial request: CSeq + 1 and `;aci=1` in
    /// Record-Route; the rr hook then shifts the caller's later requests
    /// (not the callee's).
    #[test]
    fn after_auth_without_dialog_marks_record_route() {
        let p = MockProxy::new();
        let msg = MockMsg::new(INVITE);
        after_auth(&p, &msg, true).unwrap();
        assert!(msg.sent().contains("CSeq: 8 INVITE"));
        assert_eq!(p.rr(), [";aci=1"]);
        let bye = "BYE sip:bob@b SIP/2.0\r\nFrom: <sip:alice@a.example>;tag=a1\r\nTo: <sip:bob@b.example>;tag=b1\r\nCSeq: 8 BYE\r\n\r\n";
        *p.route.borrow_mut() = b";lr;ftag=a1;aci=1".to_vec();
        p.direction.set(Some(Direction::Downstream));
        let m = MockMsg::new(bye);
        AciChecker::on_routed(&p, &m);
        assert!(m.sent().contains("CSeq: 9 BYE"), "{}", m.sent());
        p.direction.set(Some(Direction::Upstream));
        let m = MockMsg::new(bye);
        AciChecker::on_routed(&p, &m);
        assert!(m.edits.borrow().is_empty());
        *p.route.borrow_mut() = b";lr;ftag=a1".to_vec();
        p.direction.set(Some(Direction::Downstream));
        AciChecker::on_routed(&p, &m);
        assert!(m.edits.borrow().is_empty());
    }

    /// With a dialog: the initial request enforces CSeq in the dialog; a
    /// sequential one the dialog module renumbers gets its leg's last CSeq
    /// + 1 over the whole CSeq value.
    #[test]
    fn after_auth_with_dialog_uses_the_dialog() {
        let p = MockProxy::new();
        let d = p.new_dialog();
        let msg = MockMsg::new(INVITE);
        after_auth(&p, &msg, true).unwrap();
        assert!(p.cseq_enforced(&d) && p.rr().is_empty());
        let reinv = INVITE.replace("To: <sip:bob@b.example>", "To: <sip:bob@b.example>;tag=b1");
        p.set_last_cseq(&d, 1, 20);
        let m = MockMsg::new(&reinv);
        after_auth(&p, &m, true).unwrap();
        assert_eq!(p.last_cseq(&d, 1), 21);
        assert!(m.sent().contains("CSeq: 21 INVITE\r\n"), "{}", m.sent());
        // not renumbered yet: + 1 here, and the dialog learns it
        p.set_last_cseq(&d, 1, 0);
        d.0.cseq_enforced.set(false);
        let m = MockMsg::new(&reinv);
        after_auth(&p, &m, true).unwrap();
        assert_eq!(p.last_cseq(&d, 1), 8);
        assert!(p.cseq_enforced(&d));
        // the number, then the whole value over it (and over the dialog
        // module's own change of the number)
        let texts: Vec<Vec<u8>> = m.edits.borrow().iter().map(|e| e.text().to_vec()).collect();
        assert_eq!(texts, [b"8".to_vec(), b": 8 INVITE".to_vec()]);
    }
}
