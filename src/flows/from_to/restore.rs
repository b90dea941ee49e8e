//! uac_restore_from/to(), the automatic restore of loose-routed requests
//! (auto mode) and of replies.

use super::policy::{param_text, target, Module, Msg};
use crate::ports::message::{Edit, EditMessage, Mark, SipMessage, Which};
use crate::ports::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};
use crate::ports::rr::{Direction, OnRouted, RecordRoute};
use crate::ports::values::Avps;
use crate::ports::Proxy;
use crate::replace::header::through_uri_len;
use crate::{dbg, err, warn};
use std::marker::PhantomData;

/// Restores the header `which`'s Record-Route parameter stands for in a
/// request of the dialog. Ok(false): no parameter (nothing to restore); Err:
/// a parameter that does not decode against this request, which is left
/// as it is.
///
/// The parameter comes from rr's get_route_param(), as in the stock
/// modules: so uac_restore_*() also works before loose_route(), and of a
/// parameter given twice the first value counts. Only when the first does
/// not decode against this request is a later one tried: a repeated
/// uac_replace_*() on one request can leave one parameter per call, and the
/// last call's is the one that fits.
pub fn restore<F: Module>(p: &F::P, msg: &Msg<F>, which: Which) -> Result<bool, String> {
    let pol = F::POLICY;
    let cfg = F::settings();
    let name = cfg.param(which);
    let values: Vec<Vec<u8>> = p
        .route_param_values(msg, name)
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        dbg!("route param '{}' not found", String::from_utf8_lossy(name));
        return Ok(false);
    }
    let dir = p.direction(msg);
    let header = target(which, dir);
    let id = msg.ident(header)?;
    let buf = msg.buf();
    // The header holds the other URI of the pair: the new one as written
    // going upstream, the original going downstream.
    let up = dir == Some(Direction::Upstream);
    let down = dir == Some(Direction::Downstream);
    let (cs, cl) = pol.form.span(buf, &id, up);
    let current = &buf[cs..cs + cl];
    let (value, restored) = values
        .iter()
        .map(|v| (v, pol.form.decode(v, current, &cfg.passwd)))
        .find(|(_, r)| r.is_ok())
        .unwrap_or_else(|| {
            (
                &values[0],
                pol.form.decode(&values[0], current, &cfg.passwd),
            )
        });
    if pol.keep_param {
        // for the case this request is record-routed again
        p.add_param(msg, &param_text(name, value))?;
    }
    if let Some(avp) = cfg.avp(header) {
        p.add_avp(avp, id.through_uri(buf));
    }
    let restored = restored.map_err(|e| {
        format!(
            "cannot restore {} URI [{}] from Route parameter '{}' (failed to decode uri): {e}",
            header.upper(),
            String::from_utf8_lossy(current),
            String::from_utf8_lossy(name)
        )
    })?;
    dbg!(
        "decoded uris are: new=[{}] old=[{}]",
        String::from_utf8_lossy(&restored),
        String::from_utf8_lossy(current)
    );
    let (offset, len) = pol.form.span(buf, &id, down);
    msg.apply_edits(
        &[Edit::Replace {
            offset,
            len,
            text: restored,
        }],
        &mut Vec::new(),
    )?;
    msg.set_mark(Mark::of(header));
    Ok(true)
}

/// Auto mode: every request loose_route() routes by our Record-Route gets
/// both headers restored, and then its replies.
pub struct Routed<F>(PhantomData<F>);

impl<F: Module> OnRouted<F::P> for Routed<F> {
    fn on_routed(p: &F::P, msg: &Msg<F>) {
        let mut any = false;
        for which in [Which::From, Which::To] {
            match restore::<F>(p, msg, which) {
                Ok(r) => any |= r,
                Err(e) => warn!("{e} - skipping the update"),
            }
        }
        if any {
            if let Err(e) = p.on_replies::<ReplyRestore<F>>(msg, ReplyEvent::In) {
                err!("{e}");
            }
        }
    }
}

/// A reply gets back the From/To (through the URI) of the request as it
/// arrived (or as restore_*_avp kept it), its tag and parameters kept.
pub struct ReplyRestore<F>(PhantomData<F>);

impl<F: Module> ReplyHook<F::P> for ReplyRestore<F> {
    fn on_reply(p: &F::P, req: &<F::P as Replies>::Stored, rpl: &<F::P as Proxy>::Msg) {
        for which in [Which::From, Which::To] {
            if !req.has_mark(Mark::of(which)) {
                continue;
            }
            if let Err(e) = restore_reply::<F>(p, req, rpl, which) {
                err!("failed to restore {}: {e}", which.upper());
            }
        }
    }
}

fn restore_reply<F: Module>(
    p: &F::P,
    req: &<F::P as Replies>::Stored,
    rpl: &Msg<F>,
    which: Which,
) -> Result<(), String> {
    let id = rpl.ident(which)?;
    let kept = F::settings()
        .avp(which)
        .and_then(|a| p.first_avp(a))
        .filter(|v| !v.is_empty());
    let value = match kept {
        Some(v) => v,
        None => req.ident_through_uri(which).ok_or_else(|| {
            format!(
                "the transaction's request has no parsed {} hdr",
                which.upper()
            )
        })?,
    };
    let len = through_uri_len(rpl.buf(), id.body_start, id.uri_end());
    rpl.apply_edits(
        &[Edit::Replace {
            offset: id.body_start,
            len,
            text: value,
        }],
        &mut Vec::new(),
    )
}
