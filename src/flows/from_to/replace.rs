//! uac_replace_from/to(display, uri).

use super::dialog;
use super::memory::{self, Call};
use super::policy::{param_text, Module, Msg, Repeat, RestoreMode};
use super::restore::ReplyRestore;
use crate::ports::dialog::Dialogs;
use crate::ports::message::{Edit, EditMessage, Mark, SipMessage, Which};
use crate::ports::replies::{Replies, ReplyEvent};
use crate::ports::rr::RecordRoute;
use crate::ports::values::Avps;
use crate::replace::{rr_codec, validate};
use crate::{dbg, info, warn};

type Lump<F> = <Msg<F> as EditMessage>::Lump;
type Dlg<F> = <<F as Module>::P as Dialogs>::Dialog;

/// Where the replaced URI pair goes.
enum Keep<D> {
    Nowhere,
    Dialog(D),
    /// The Record-Route parameter (`;vsf=...`).
    Param(Vec<u8>),
}

/// uac_replace_from/to. `display`: None leaves it, empty removes it. `uri`:
/// None or empty leaves it. Everything that can fail on the arguments or
/// the header is checked before the message changes.
pub fn replace<F: Module>(
    p: &F::P,
    msg: &Msg<F>,
    which: Which,
    display: Option<&[u8]>,
    uri: Option<&[u8]>,
) -> Result<(), String> {
    let pol = F::POLICY;
    let cfg = F::settings();
    let uri = uri.filter(|u| !u.is_empty());
    if let Some(u) = uri {
        validate::check_uri(u).map_err(|e| format!("bad new URI: {e}"))?;
    }
    let display = display.map(|d| pol.form.display(d));
    if let Some(d) = display.as_deref().filter(|d| !d.is_empty()) {
        validate::check_display(d).map_err(|e| format!("bad display name: {e}"))?;
    }
    let id = msg.ident(which)?;
    // In auto mode the URI can only change on the initial request: a
    // sequential one would break what the Record-Route parameter restores.
    if cfg.mode == RestoreMode::Auto && uri.is_some() && msg.ident(Which::To)?.tag.is_some() {
        return Err(format!(
            "decline {} replacing in sequential request in auto mode (has TO tag)",
            which.upper()
        ));
    }

    let buf = msg.buf();
    let display_edits = display.as_deref().map_or(Vec::new(), |d| {
        pol.form.display_edits(buf, &id, d, uri.is_some())
    });
    let uri_edit = uri.map(|u| pol.form.uri_edit(buf, &id, u, display.as_deref()));
    let old_uri = &buf[id.uri.0..id.uri_end()];

    // Where the pair goes: decided (and the parameter encoded) first, so
    // that an error leaves the message as it is.
    let keep = match (&uri_edit, cfg.mode) {
        (None, _) | (_, RestoreMode::None) => Keep::Nowhere,
        (Some((_, new)), _) => match dialog::for_request::<F>(p, msg)? {
            Some(d) => Keep::Dialog(d),
            None => {
                if pol.fromtag_per_call && !p.append_fromtag() {
                    return Err(
                        "'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                            .into(),
                    );
                }
                let value = rr_codec::encode(old_uri, new, &cfg.passwd)
                    .map_err(|e| format!("{} uri: {e}", which.upper()))?;
                Keep::Param(param_text(cfg.param(which), value.as_bytes()))
            }
        },
    };

    let key = msg.key();
    let earlier = memory::calls::<Lump<F>>(key, which);
    let uri_edits: Vec<Edit> = uri_edit.iter().map(|(e, _)| e.clone()).collect();
    if !earlier.is_empty() && pol.repeat == Repeat::SameForm {
        return again_same_form::<F>(p, msg, which, &earlier[0], &display_edits, &uri_edits, keep)
            .and_then(|keep| match (keep, &uri_edit) {
                (Keep::Dialog(d), Some((_, new))) => {
                    dialog::store::<F>(p, msg, &d, which, &id, new, display.as_deref())
                }
                _ => Ok(()),
            });
    }
    if !earlier.is_empty() {
        info!(
            "uac_replace_{}() called again on this request: the last call wins",
            which.name()
        );
        for c in &earlier {
            if display.is_some() {
                msg.remove_edits(&c.display);
            }
            if uri.is_some() {
                msg.remove_edits(&c.uri);
            }
        }
    } else if let Some(avp) = cfg.avp(which) {
        // the original header, for the replies
        p.add_avp(avp, id.through_uri(buf));
    }

    let (mut dl, mut ul) = (Vec::new(), Vec::new());
    let applied = msg
        .apply_edits(&display_edits, &mut dl)
        .and_then(|_| msg.apply_edits(&uri_edits, &mut ul));
    if let Err(e) = applied {
        msg.remove_edits(&dl);
        msg.remove_edits(&ul);
        return Err(e);
    }
    let forms = display_edits
        .iter()
        .chain(&uri_edits)
        .map(Edit::form)
        .collect();
    let rr_param = match &keep {
        Keep::Param(t) => Some(t.clone()),
        _ => None,
    };
    memory::push(
        key,
        Call {
            which,
            display: dl,
            uri: ul,
            forms,
            rr_param,
        },
    );

    match keep {
        Keep::Nowhere => return Ok(()),
        Keep::Dialog(d) => {
            let new = uri_edit.as_ref().map_or(&[][..], |(_, n)| n);
            dialog::store::<F>(p, msg, &d, which, &id, new, display.as_deref())?;
        }
        Keep::Param(text) => {
            // Restores read the first parameter (rr's get_route_param), so an
            // earlier call's parameter must go: it sits in a Record-Route
            // lump when record_route() ran before; before that, rr keeps it in
            // a buffer of its own, out of reach.
            for old in earlier.iter().filter_map(|c| c.rr_param.as_deref()) {
                if p.rewrite_param(msg, old, b"")? == 0 {
                    warn!(
                        "uac_replace_{}() called again before record_route(): the first call's Record-Route parameter stays and is the one restored",
                        which.name()
                    );
                }
            }
            p.add_param(msg, &text)?;
        }
    }
    mark_for_replies::<F>(p, msg, which)
}

/// A repeat call with [`Repeat::SameForm`]: the new values go into the
/// first call's edits and Record-Route parameter. Gives back where the pair
/// goes (a dialog stores the new values again).
fn again_same_form<F: Module>(
    p: &F::P,
    msg: &Msg<F>,
    which: Which,
    first: &Call<Lump<F>>,
    display_edits: &[Edit],
    uri_edits: &[Edit],
    keep: Keep<Dlg<F>>,
) -> Result<Keep<Dlg<F>>, String> {
    let edits: Vec<Edit> = display_edits.iter().chain(uri_edits).cloned().collect();
    let forms: Vec<_> = edits.iter().map(Edit::form).collect();
    let param = match &keep {
        Keep::Param(t) => Some(t.clone()),
        _ => None,
    };
    if first.forms != forms || first.rr_param.is_some() != param.is_some() {
        return Err(format!(
            "uac_replace_{}() called again for this request with a different form \
             (display/URI present or absent): refused, the first replacement stays",
            which.name()
        ));
    }
    let lumps: Vec<_> = first.display.iter().chain(&first.uri).cloned().collect();
    let lumps = msg.rewrite_edits(&lumps, &edits)?;
    if let (Some(old), Some(new)) = (&first.rr_param, &param) {
        if p.rewrite_param(msg, old, new)? == 0 {
            return Err("cannot find the Record-Route parameter of the first replacement".into());
        }
    }
    let n = display_edits.len();
    memory::update_first::<Lump<F>>(msg.key(), which, |c| {
        c.display = lumps[..n].to_vec();
        c.uri = lumps[n..].to_vec();
        c.rr_param = param;
    });
    dbg!("uac_replace_{}() again: values replaced", which.name());
    Ok(keep)
}

/// Marks the request (and its transaction) as changed in `which`, so that
/// the replies get the original back; the first change of a request
/// registers the reply hook.
pub(super) fn mark_for_replies<F: Module>(
    p: &F::P,
    msg: &Msg<F>,
    which: Which,
) -> Result<(), String> {
    if !msg.has_mark(Mark::UacFrom) && !msg.has_mark(Mark::UacTo) {
        p.on_replies::<ReplyRestore<F>>(msg, ReplyEvent::In)?;
    }
    msg.set_mark(Mark::of(which));
    p.mark_request(Mark::of(which));
    Ok(())
}
