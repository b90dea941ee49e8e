//! The replaced From/To URIs kept in the dialog instead of Record-Route, as
//! the stock module does when the dialog API is loaded (auto mode, or
//! uac_auth() in the script) and the request has a dialog (the script's
//! create_dialog(), or `force_dialog`).
//!
//! The dialog values use the stock names, so a dialog begun by the stock
//! module is continued by ours and the other way round (also after a
//! restart, with the dialog module keeping its dialogs in a database): the
//! original URI under the rr_*_store_param name (`vsf`/`vst`), the new one
//! as written (`<uri>`) under `739823` (From) / `739824` (To). In a branch
//! route the original URI waits in a branch AVP ($bavp(739825)/(739826))
//! and moves into the dialog with the branch's 2xx.

use super::config;
use super::edits::{expand_aquotes, Edit};
use super::replace::restore_uris_reply;
use crate::opensips::host::dlg::{self, Bavp, Dialog};
use crate::opensips::host::ffi::{osg_tm_uas_request, osg_tmcb_reply};
use crate::opensips::host::msg::{SipMsg, Which};
use crate::opensips::host::tm;
use crate::replace::validate::check_restored_uri;
use crate::{dbg, err};
use std::ffi::c_void;

/// Dialog value names of the new URIs (the stock module's).
pub const FROM_NEW: &[u8] = b"739823";
pub const TO_NEW: &[u8] = b"739824";

fn names(which: Which) -> (&'static [u8], &'static [u8]) {
    let cfg = config();
    match which {
        Which::From => (&cfg.from_param, FROM_NEW),
        Which::To => (&cfg.to_param, TO_NEW),
    }
}

/// The dialog that keeps this request's replaced URIs: the current one, or
/// a new one with `force_dialog`; None when Record-Route keeps them.
pub fn for_request(msg: &SipMsg) -> Result<Option<Dialog>, String> {
    let cfg = config();
    if !cfg.dialog {
        return Ok(None);
    }
    match Dialog::current() {
        Some(d) => Ok(Some(d)),
        None if cfg.force_dialog => Dialog::create(msg).map(Some),
        None => Ok(None),
    }
}

/// Stores the original URI (`old`, without brackets) and the new one (as
/// written) for `which`; the first time for this header it also registers
/// the in-dialog callback (and, from a branch route, the 2xx move).
pub fn store(msg: &SipMsg, d: Dialog, which: Which, old: &[u8], new: &[u8]) -> Result<(), String> {
    let (old_name, new_name) = names(which);
    let to = which == Which::To;
    let first = msg.flags() & which.flag() == 0;
    match dlg::bavp_set(msg, to, old) {
        Bavp::NotInBranch => d.store(old_name, old)?,
        Bavp::Failed => err!("cannot store branch avp to restore at 200 OK!"),
        Bavp::Set => {
            if first {
                tm::register(msg, tm::TMCB_RESPONSE_OUT, move_bavp_callback)?;
            }
        }
    }
    d.store(new_name, new)?;
    if first {
        d.register(
            dlg::DLGCB_REQ_WITHIN | dlg::DLGCB_TERMINATED,
            replace_callback,
            to as i64,
        )?;
    }
    dbg!(
        "stored <{}> and <{}> in the dialog",
        String::from_utf8_lossy(old_name),
        String::from_utf8_lossy(new_name)
    );
    Ok(())
}

/// DLGCB_REQ_WITHIN / DLGCB_TERMINATED: a request inside the dialog gets the
/// new URI going downstream and the original one back going upstream.
///
/// # Safety
/// Called by the dialog module with its dialog and callback params.
unsafe extern "C" fn replace_callback(d: *mut c_void, _ty: i32, ps: *mut c_void) {
    crate::log::guarded("uac replace_callback", (), || {
        // SAFETY: the dialog module's callback arguments.
        let Some(ev) = (unsafe { dlg::event(d, ps) }) else {
            return;
        };
        let Some(msg) = ev.msg else { return };
        if ev.direction == dlg::DIR_NONE {
            return;
        }
        if let Err(e) = replace_in_dialog(&msg, ev.dialog, ev.param != 0, ev.direction) {
            err!("{e}");
        }
    })
}

fn replace_in_dialog(msg: &SipMsg, d: Dialog, to: bool, direction: u32) -> Result<(), String> {
    let downstream = direction == dlg::DIR_DOWNSTREAM;
    // From travels as To in requests of the other direction.
    let which = if to == downstream {
        Which::To
    } else {
        Which::From
    };
    if msg.flags() & which.flag() != 0 {
        return Ok(());
    }
    let (old_name, new_name) = names(if to { Which::To } else { Which::From });
    let name = if downstream { new_name } else { old_name };
    let Some(value) = d.fetch(name) else {
        dbg!("<{}> param not found", String::from_utf8_lossy(name));
        return Ok(());
    };
    // Beyond stock: the value may come back from a database; only a URI
    // (in brackets when it is the new one) goes into the message.
    let inner = value
        .strip_prefix(b"<")
        .and_then(|v| v.strip_suffix(b">"))
        .unwrap_or(&value);
    check_restored_uri(inner).map_err(|e| {
        format!(
            "dialog value <{}> is not a URI ({e}): {} left as it is",
            String::from_utf8_lossy(name),
            which.name()
        )
    })?;
    let id = msg.ident(which)?;
    let (mut s, mut l) = (id.uri_start, id.uri_len);
    if downstream {
        (s, l) = expand_aquotes(msg.buf(), s, l, id.name_end, id.body_end);
    }
    msg.apply(&[Edit::Replace {
        off: s,
        len: l,
        data: value,
    }])?;
    let both = Which::From.flag() | Which::To.flag();
    if msg.flags() & both == 0 {
        tm::register(msg, tm::TMCB_RESPONSE_IN, restore_uris_reply)?;
    }
    msg.add_flags(which.flag());
    Ok(())
}

/// DLGCB_LOADED (dialogs read back from the database at start-up): the
/// in-dialog callback again for each header the dialog has values for.
///
/// # Safety
/// Called by the dialog module with a loaded dialog.
pub unsafe extern "C" fn restore_loaded(d: *mut c_void, _ty: i32, ps: *mut c_void) {
    crate::log::guarded("uac dlg_restore_callback", (), || {
        // SAFETY: the dialog module's callback arguments.
        let Some(ev) = (unsafe { dlg::event(d, ps) }) else {
            return;
        };
        for (new_name, to) in [(TO_NEW, 1), (FROM_NEW, 0)] {
            if ev.dialog.fetch(new_name).is_none() {
                continue;
            }
            dbg!("UAC related DLG vals found -> installing callback");
            if let Err(e) = ev.dialog.register(
                dlg::DLGCB_REQ_WITHIN | dlg::DLGCB_TERMINATED,
                replace_callback,
                to,
            ) {
                err!("{e}");
            }
        }
    })
}

/// TMCB_RESPONSE_OUT of a request replaced in a branch route: a 2xx moves
/// the branch's original URI into the dialog.
///
/// # Safety
/// Called by tm with its transaction and callback params.
unsafe extern "C" fn move_bavp_callback(t: *mut c_void, _ty: i32, ps: *mut c_void) {
    crate::log::guarded("uac move_bavp_callback", (), || {
        // SAFETY: tm's callback arguments; the glue returns NULL for none
        // or a faked message.
        let (req, rpl) = unsafe {
            (
                SipMsg::from_raw(osg_tm_uas_request(t)),
                SipMsg::from_raw(osg_tmcb_reply(ps)),
            )
        };
        let (Some(req), Some(rpl)) = (req, rpl) else {
            return;
        };
        if !is_2xx(rpl.buf()) {
            return;
        }
        let Some(d) = Dialog::current() else {
            dbg!("dialog not found - cannot move branch avps");
            return;
        };
        for which in [Which::From, Which::To] {
            if req.flags() & which.flag() == 0 {
                continue;
            }
            let Some(v) = dlg::bavp_get(&rpl, which == Which::To) else {
                dbg!("bavp not found!");
                continue;
            };
            if let Err(e) = d.store(names(which).0, &v) {
                err!("failed to move bavp list: {e}");
            }
        }
    })
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
