//! uac_replace_from/to, uac_restore_from/to and the automatic restore (rr
//! callback, replies), with the From/To URI carried in a Record-Route
//! parameter encoded by the pure codec (src/replace/rr_codec.rs), byte for
//! byte what the stock OpenSIPS module writes: the old URI XOR the new one
//! as written (`<uri>`), XOR restore_passwd, base64 with `-` padding.

use super::edits::{expand_aquotes, quote_display, replace_edits, Edit};
use super::{config, RestoreMode};
use crate::opensips::host::ffi::sip_msg;
use crate::opensips::host::msg::{shm_request_ident, LumpHandle, SipMsg, Which};
use crate::opensips::host::{rr, tm};
use crate::replace::header::through_uri_len;
use crate::replace::rr_codec;
use crate::{dbg, err};
use std::cell::RefCell;

/// What the first uac_replace_from/to of the message being processed did, so
/// that a second call for the same header replaces the values instead of
/// failing (stock refuses it). Per process: a worker handles one message at
/// a time.
struct Done {
    msg_id: u32,
    which: Which,
    shape: Vec<(bool, usize, usize, bool)>,
    lumps: Vec<Option<LumpHandle>>,
    rr_param: Option<Vec<u8>>,
}

thread_local! {
    static DONE: RefCell<Vec<Done>> = const { RefCell::new(Vec::new()) };
}

/// The form of an edit list, without the new bytes.
fn shape(edits: &[Edit]) -> Vec<(bool, usize, usize, bool)> {
    edits
        .iter()
        .map(|e| match e {
            Edit::Replace { off, len, data } => (true, *off, *len, data.is_empty()),
            Edit::Insert { off, data } => (false, *off, 0, data.is_empty()),
        })
        .collect()
}

/// uac_replace_from/to(display, uri).
pub fn replace(
    msg: &SipMsg,
    which: Which,
    display: Option<&[u8]>,
    uri: Option<&[u8]>,
) -> Result<(), String> {
    let cfg = config();
    let uri = uri.filter(|u| !u.is_empty());
    if cfg.restore == RestoreMode::Auto && uri.is_some() {
        let to = msg.ident(Which::To)?;
        if to.tag_len != 0 {
            return Err(
                "decline FROM/TO replacing in sequential request in auto mode (has TO tag)".into(),
            );
        }
    }
    let id = msg.ident(which)?;
    if let Some(u) = uri {
        crate::replace::validate::check_uri(u).map_err(|e| format!("bad new URI: {e}"))?;
    }
    let display = display.map(quote_display);
    if let Some(d) = &display {
        crate::replace::validate::check_display(d).map_err(|e| format!("bad display name: {e}"))?;
    }
    let buf = msg.buf();
    let (edits, new) = replace_edits(buf, &id, display.as_deref(), uri);
    // The dialog (when there is one, or force_dialog makes one) keeps the
    // URIs; otherwise the Record-Route parameter, computed before anything
    // changes so that an error leaves the message untouched.
    let dialog = match (&new, cfg.restore) {
        (Some(_), RestoreMode::Manual | RestoreMode::Auto) => super::dialog::for_request(msg)?,
        _ => None,
    };
    let param = match (&new, cfg.restore) {
        (Some(new), RestoreMode::Manual | RestoreMode::Auto) if dialog.is_none() => {
            let old = &buf[id.uri_start..id.uri_end()];
            let enc = rr_codec::encode(old, new, &cfg.passwd).map_err(|e| e.to_string())?;
            let name = match which {
                Which::From => &cfg.from_param,
                Which::To => &cfg.to_param,
            };
            let mut p = Vec::with_capacity(name.len() + enc.len() + 2);
            p.push(b';');
            p.extend_from_slice(name);
            p.push(b'=');
            p.extend_from_slice(enc.as_bytes());
            Some(p)
        }
        _ => None,
    };
    let msg_id = msg.id();
    let again = DONE.with(|d| {
        let mut d = d.borrow_mut();
        d.retain(|x| x.msg_id == msg_id);
        d.iter().position(|x| x.which == which)
    });
    let old = &buf[id.uri_start..id.uri_end()];
    if let Some(i) = again {
        replace_again(msg, which, i, &edits, param)?;
        if let (Some(d), Some(new)) = (dialog, &new) {
            super::dialog::store(msg, d, which, old, new)?;
        }
        return Ok(());
    }
    let lumps = msg.apply_kept(&edits)?;
    DONE.with(|d| {
        d.borrow_mut().push(Done {
            msg_id,
            which,
            shape: shape(&edits),
            lumps,
            rr_param: param.clone(),
        })
    });
    if new.is_none() || cfg.restore == RestoreMode::None {
        return Ok(());
    }
    if let (Some(d), Some(new)) = (dialog, &new) {
        super::dialog::store(msg, d, which, old, new)?;
    } else if let Some(p) = param {
        rr::add_param(msg, &p)?;
    }
    first_change(msg, which)
}

/// A second call for the same header: the same edits with new bytes go into
/// the lumps the first call made, and the Record-Route parameter is
/// re-encoded (original URI against the newest one).
fn replace_again(
    msg: &SipMsg,
    which: Which,
    i: usize,
    edits: &[Edit],
    param: Option<Vec<u8>>,
) -> Result<(), String> {
    let name = which.name().to_ascii_lowercase();
    DONE.with(|d| {
        let mut d = d.borrow_mut();
        let done = &mut d[i];
        if done.shape != shape(edits) || done.rr_param.is_some() != param.is_some() {
            return Err(format!(
                "uac_replace_{name}() called again for this request with a different form \
                 (display/URI present or absent): refused, the first replacement stays"
            ));
        }
        for (e, h) in edits.iter().zip(&done.lumps) {
            let data = match e {
                Edit::Replace { data, .. } | Edit::Insert { data, .. } => data,
            };
            if let Some(h) = h {
                // SAFETY: the handle is a lump made for this message (same
                // msg id, same process) by the first call.
                unsafe { msg.set_lump(*h, data)? };
            }
        }
        if let (Some(old), Some(new)) = (&done.rr_param, &param) {
            if msg.rewrite_added(old, new)? == 0 {
                return Err(
                    "cannot find the Record-Route parameter of the first replacement".into(),
                );
            }
        }
        done.rr_param = param;
        dbg!("uac_replace_{name}() again: values replaced");
        Ok(())
    })
}

/// Flags the request as changed; the first change registers the reply restore.
fn first_change(msg: &SipMsg, which: Which) -> Result<(), String> {
    let both = Which::From.flag() | Which::To.flag();
    if msg.flags() & which.flag() == 0 {
        if msg.flags() & both == 0 {
            tm::register(msg, tm::TMCB_RESPONSE_IN, restore_uris_reply)?;
        }
        msg.add_flags(which.flag());
        tm::mark_request(which.flag());
    }
    Ok(())
}

/// Restores From (`to` false) or To in a sequential request from the
/// Record-Route parameter. Ok(false): no parameter (nothing to restore).
pub fn restore(msg: &SipMsg, to: bool) -> Result<bool, String> {
    let cfg = config();
    let name = if to { &cfg.to_param } else { &cfg.from_param };
    let Some(val) = rr::get_param(msg, name) else {
        dbg!("route param '{}' not found", String::from_utf8_lossy(name));
        return Ok(false);
    };
    let upstream = rr::is_direction(msg, rr::UPSTREAM);
    let downstream = rr::is_direction(msg, rr::DOWNSTREAM);
    // From travels as To in requests of the other direction.
    let which = if (!to && upstream) || (to && downstream) {
        Which::To
    } else {
        Which::From
    };
    let id = msg.ident(which)?;
    let buf = msg.buf();
    let (mut s, mut l) = (id.uri_start, id.uri_len);
    if upstream {
        (s, l) = expand_aquotes(buf, s, l, id.name_end, id.body_end);
    }
    let new = rr_codec::decode_name_addr(val, &buf[s..s + l], &cfg.passwd)
        .map_err(|e| format!("failed to decode uri: {e}"))?;
    let (mut s, mut l) = (id.uri_start, id.uri_len);
    if downstream {
        (s, l) = expand_aquotes(buf, s, l, id.name_end, id.body_end);
    }
    msg.apply(&[Edit::Replace {
        off: s,
        len: l,
        data: new,
    }])?;
    msg.add_flags(which.flag());
    Ok(true)
}

/// The rr callback (auto mode): restores both and, if either was, the replies.
///
/// # Safety
/// Called by rr with the current request.
pub unsafe extern "C" fn rr_checker(
    m: *mut sip_msg,
    _p: *mut crate::opensips::host::ffi::str_,
    _c: *mut std::ffi::c_void,
) {
    crate::log::guarded("rr_checker", (), || {
        // SAFETY: rr calls us with the current request.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return;
        };
        let mut any = false;
        for to in [false, true] {
            match restore(&msg, to) {
                Ok(r) => any |= r,
                Err(e) => err!("{e}"),
            }
        }
        if any {
            if let Err(e) = tm::register(&msg, tm::TMCB_RESPONSE_IN, restore_uris_reply) {
                err!("{e}");
            }
        }
    })
}

/// TMCB_RESPONSE_IN: the reply gets back the From/To (through the URI) of
/// the request as it arrived, its tag and parameters kept.
pub(crate) unsafe extern "C" fn restore_uris_reply(
    t: *mut std::ffi::c_void,
    _ty: i32,
    ps: *mut std::ffi::c_void,
) {
    crate::log::guarded("restore_uris_reply", (), || {
        // SAFETY: tm calls us with its transaction and callback params.
        let (req, rpl) = unsafe {
            (
                crate::opensips::host::ffi::osg_tm_uas_request(t),
                crate::opensips::host::ffi::osg_tmcb_reply(ps),
            )
        };
        // SAFETY: checked for NULL (and FAKED_REPLY) by the glue.
        let (Some(reqm), Some(rplm)) = (unsafe { SipMsg::from_raw(req) }, unsafe {
            SipMsg::from_raw(rpl)
        }) else {
            return;
        };
        for which in [Which::From, Which::To] {
            if reqm.flags() & which.flag() == 0 {
                continue;
            }
            if let Err(e) = restore_reply_hdr(req, &rplm, which) {
                err!("failed to restore {}: {e}", which.name());
            }
        }
    })
}

fn restore_reply_hdr(req: *mut sip_msg, rpl: &SipMsg, which: Which) -> Result<(), String> {
    // SAFETY: req is the transaction's request (shm), valid in the callback.
    let r = unsafe { shm_request_ident(req, which) }
        .ok_or("failed to parse the TM'ed request's header")?;
    let new_len = through_uri_len(r.body, 0, r.uri_start + r.uri_len).min(r.body.len());
    let new = r.body[..new_len].to_vec();
    let id = rpl.ident(which)?;
    let old_len = through_uri_len(rpl.buf(), id.body_start, id.uri_end());
    rpl.apply(&[Edit::Replace {
        off: id.body_start,
        len: old_len,
        data: new,
    }])
}
