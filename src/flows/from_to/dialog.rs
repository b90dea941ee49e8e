//! The URIs kept in the dialog instead of Record-Route (see
//! [`DialogStore`]): storing them, restoring in-dialog requests from them,
//! re-arming the hooks of dialogs loaded at start-up, and (OpenSIPS) moving
//! a branch's original URI into the dialog with the branch's 2xx.

use super::memory;
use super::policy::{target, watch, which_of, DialogStore, Module, Msg};
use super::restore::ReplyRestore;
use crate::ports::dialog::{Dialogs, OnDialogLoaded, OnDialogRequest};
use crate::ports::message::{Edit, EditMessage, Ident, Mark, SipMessage, Which};
use crate::ports::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};
use crate::ports::rr::Direction;
use crate::ports::values::{BranchSet, BranchValues};
use crate::ports::Proxy;
use crate::replace::validate::{check_display, check_restored_uri};
use crate::{dbg, err, info};
use std::marker::PhantomData;

/// Kamailio's variable names: (uri, new uri, display, new display).
fn vars(which: Which) -> [&'static [u8]; 4] {
    match which {
        Which::From => [b"_uac_fu", b"_uac_funew", b"_uac_fdp", b"_uac_fdpnew"],
        Which::To => [b"_uac_to", b"_uac_tonew", b"_uac_tdp", b"_uac_tdpnew"],
    }
}

/// OpenSIPS's value names: (original URI, new URI as written).
fn values<F: Module>(which: Which) -> (&'static [u8], &'static [u8]) {
    let cfg = F::settings();
    match which {
        Which::From => (&cfg.from_param, b"739823"),
        Which::To => (&cfg.to_param, b"739824"),
    }
}

/// The dialog that keeps this request's URIs: the current one, or a new one
/// with force_dialog; None when Record-Route keeps them.
pub(super) fn for_request<F: Module>(
    p: &F::P,
    msg: &Msg<F>,
) -> Result<Option<<F::P as Dialogs>::Dialog>, String> {
    let cfg = F::settings();
    if !cfg.dialog {
        return Ok(None);
    }
    match p.dialog(msg) {
        Some(d) => Ok(Some(d)),
        None if cfg.force_dialog => p.create_dialog(msg).map(Some),
        None => Ok(None),
    }
}

/// Stores the pair for `which`: the original (from the header `id`) and the
/// new URI as written, with the display names where the store keeps them.
pub(super) fn store<F: Module>(
    p: &F::P,
    msg: &Msg<F>,
    d: &<F::P as Dialogs>::Dialog,
    which: Which,
    id: &Ident,
    new: &[u8],
    new_display: Option<&[u8]>,
) -> Result<(), String> {
    let buf = msg.buf();
    let old = &buf[id.uri.0..id.uri_end()];
    match F::POLICY.dialog {
        DialogStore::Vars => {
            let [uri, new_uri, dsp, new_dsp] = vars(which);
            if p.value(d, uri).is_some() {
                info!("Already called uac_replace for this dialog");
                p.set_value(d, new_uri, None)?;
            } else {
                p.set_value(d, uri, Some(old))?;
                p.on_requests::<InDialog<F>>(d, watch(F::POLICY.dialog, which))?;
            }
            let old_display = id.display.map_or(&[][..], |(o, l)| &buf[o..o + l]);
            p.set_value(d, new_uri, Some(new))?;
            p.set_value(d, dsp, Some(old_display))?;
            p.set_value(d, new_dsp, Some(new_display.unwrap_or(b"")))?;
        }
        DialogStore::Values => {
            let (old_name, new_name) = values::<F>(which);
            let first = !msg.has_mark(Mark::of(which));
            match p.set_branch_value(msg, which, old) {
                BranchSet::NotInBranch => p.set_value(d, old_name, Some(old))?,
                BranchSet::Failed => err!("cannot store branch avp to restore at 200 OK!"),
                BranchSet::Set if first => p.on_replies::<MoveBranch<F>>(msg, ReplyEvent::Out)?,
                BranchSet::Set => {}
            }
            p.set_value(d, new_name, Some(new))?;
            if first {
                p.on_requests::<InDialog<F>>(d, watch(F::POLICY.dialog, which))?;
            }
            dbg!(
                "stored <{}> and <{}> in the dialog",
                String::from_utf8_lossy(old_name),
                String::from_utf8_lossy(new_name)
            );
        }
    }
    Ok(())
}

/// The dialog's in-dialog requests: the new URI (and display) going
/// downstream, the original ones going upstream.
pub struct InDialog<F>(PhantomData<F>);

impl<F: Module> OnDialogRequest<F::P> for InDialog<F> {
    fn on_request(
        p: &F::P,
        d: &<F::P as Dialogs>::Dialog,
        msg: &Msg<F>,
        dir: Direction,
        param: u32,
    ) {
        let which = which_of(param);
        // The stock Kamailio module marks "done" with the replaced header's
        // mark and then restores the wrong header in the reply; "done" is
        // kept apart here and the header changed gets the mark.
        if !memory::first_dialog_visit(msg.key(), which) {
            return;
        }
        if let Err(e) = restore_in_dialog::<F>(p, d, msg, which, dir) {
            err!("{e}");
        }
    }
}

fn restore_in_dialog<F: Module>(
    p: &F::P,
    d: &<F::P as Dialogs>::Dialog,
    msg: &Msg<F>,
    which: Which,
    dir: Direction,
) -> Result<(), String> {
    let form = F::POLICY.form;
    let down = dir == Direction::Downstream;
    let header = target(which, Some(dir));
    if msg.has_mark(Mark::of(header)) {
        return Ok(()); // already changed on this request
    }
    let (uri_name, display_name) = match F::POLICY.dialog {
        DialogStore::Vars => {
            let [uri, new_uri, dsp, new_dsp] = vars(which);
            if down {
                (new_uri, Some(new_dsp))
            } else {
                (uri, Some(dsp))
            }
        }
        DialogStore::Values => {
            let (old, new) = values::<F>(which);
            (if down { new } else { old }, None)
        }
    };
    let fetch = |name: &[u8]| {
        let v = p.value(d, name);
        if v.is_none() {
            dbg!("<{}> param not found", String::from_utf8_lossy(name));
        }
        v
    };
    let Some(uri) = fetch(uri_name) else {
        return Ok(());
    };
    let display = match display_name {
        Some(n) => match fetch(n) {
            Some(v) => Some(v),
            None => return Ok(()),
        },
        None => None,
    };
    // Beyond stock: the values may come back from a database; only a URI
    // (and a display name) goes into the message.
    let refuse = |name: &[u8], e: String| {
        format!(
            "dialog value <{}> is not a URI ({e}): {} left as it is",
            String::from_utf8_lossy(name),
            header.upper()
        )
    };
    check_restored_uri(form.inner(&uri)).map_err(|e| refuse(uri_name, e))?;
    if let (Some(v), Some(n)) = (&display, display_name) {
        check_display(v).map_err(|e| refuse(n, e))?;
    }
    let id = msg.ident(header)?;
    let buf = msg.buf();
    let mut edits = display
        .map(|v| form.display_edits(buf, &id, &v, true))
        .unwrap_or_default();
    let (offset, len) = form.span(buf, &id, down);
    edits.push(Edit::Replace {
        offset,
        len,
        text: uri,
    });
    msg.apply_edits(&edits, &mut Vec::new())?;
    if !msg.has_mark(Mark::UacFrom) && !msg.has_mark(Mark::UacTo) {
        p.on_replies::<ReplyRestore<F>>(msg, ReplyEvent::In)?;
    }
    msg.set_mark(Mark::of(header));
    // and on the transaction's copy, when it exists already (as Kamailio
    // 6.1): the replies are restored by what it says
    p.mark_request(Mark::of(header));
    Ok(())
}

/// Dialogs loaded from the database after a restart get their in-dialog
/// hooks back: Kamailio's for both headers (which one was replaced is not
/// known), OpenSIPS's for each header the dialog holds a new URI for.
pub struct Loaded<F>(PhantomData<F>);

impl<F: Module> OnDialogLoaded<F::P> for Loaded<F> {
    fn on_loaded(p: &F::P, d: &<F::P as Dialogs>::Dialog) {
        match F::POLICY.dialog {
            DialogStore::Vars => {
                for which in [Which::From, Which::To] {
                    if let Err(e) = p.on_requests::<InDialog<F>>(d, watch(F::POLICY.dialog, which))
                    {
                        err!("can't register callbacks for UAC {}: {e}", which.upper());
                    }
                }
            }
            DialogStore::Values => {
                for which in [Which::To, Which::From] {
                    if p.value(d, values::<F>(which).1).is_none() {
                        continue;
                    }
                    dbg!("UAC related DLG vals found -> installing callback");
                    if let Err(e) = p.on_requests::<InDialog<F>>(d, watch(F::POLICY.dialog, which))
                    {
                        err!("{e}");
                    }
                }
            }
        }
    }
}

/// A request replaced in a branch route (OpenSIPS): the branch's 2xx moves
/// the original URI from the branch value into the dialog.
pub struct MoveBranch<F>(PhantomData<F>);

impl<F: Module> ReplyHook<F::P> for MoveBranch<F> {
    fn on_reply(p: &F::P, req: &<F::P as Replies>::Stored, rpl: &<F::P as Proxy>::Msg) {
        if !is_2xx(rpl.buf()) {
            return;
        }
        let Some(d) = p.dialog(rpl) else {
            dbg!("dialog not found - cannot move branch avps");
            return;
        };
        for which in [Which::From, Which::To] {
            if !req.has_mark(Mark::of(which)) {
                continue;
            }
            let Some(v) = p.branch_value(rpl, which) else {
                dbg!("bavp not found!");
                continue;
            };
            if let Err(e) = p.set_value(&d, values::<F>(which).0, Some(&v)) {
                err!("failed to move bavp list: {e}");
            }
        }
    }
}

/// True for a reply whose status line says 2xx.
fn is_2xx(buf: &[u8]) -> bool {
    buf.len() >= 11
        && buf.starts_with(b"SIP/2.0 2")
        && buf[9..11].iter().all(u8::is_ascii_digit)
        && buf.get(11).is_none_or(|c| *c == b' ')
}

#[cfg(test)]
mod tests {
    use super::is_2xx;

    #[test]
    fn status_2xx() {
        assert!(is_2xx(b"SIP/2.0 200 OK\r\n"));
        assert!(is_2xx(b"SIP/2.0 202 Accepted\r\n"));
        assert!(!is_2xx(b"SIP/2.0 180 Ringing\r\n"));
        assert!(!is_2xx(b"SIP/2.0 2000 X\r\n"));
        assert!(!is_2xx(b"INVITE sip:a SIP/2.0\r\n"));
    }
}
