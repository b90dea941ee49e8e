//! uac_replace_from/to and uac_restore_from/to, the Record-Route callback, the
//! reply callback and the dialog callbacks: the stock module's behaviour on top
//! of the host wrappers, with the repeat-call support the stock module lacks.

use super::params::{config, RestoreMode};
use crate::kamailio::host::dlg::{self, Dialog};
use crate::kamailio::host::ffi::{self, cell, dlg_cb_params, dlg_cell, sip_msg, str_, tmcb_params};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::lumps::{self, OwnLump};
use crate::kamailio::host::msg::{SipMsg, Which};
use crate::kamailio::host::{rr, tm};
use crate::replace::header::{display_edits, Edit};
use crate::replace::{rr_codec, validate};
use crate::{dbg, err, info, warn};
use std::cell::RefCell;

/// Dialog variable names, as the stock module stores them (uri, new uri,
/// display, new display), so dialogs survive a switch between the modules.
fn dlg_vars(which: Which) -> [&'static [u8]; 4] {
    match which {
        Which::From => [b"_uac_fu", b"_uac_funew", b"_uac_fdp", b"_uac_fdpnew"],
        Which::To => [b"_uac_to", b"_uac_tonew", b"_uac_tdp", b"_uac_tdpnew"],
    }
}

/// Which part of a header a remembered edit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Display,
    Uri,
    /// The Record-Route parameter (`;vsf=...`), kept as text in `rr_param`.
    RrParam,
}

/// What the uac_replace_* calls on the request being processed did, so that a
/// later call can undo them. Per process: each worker handles its own messages.
/// Every call is kept: in a branch_route, an edit from the request route is
/// present (as tm's copy) while one from another branch is not.
struct Applied {
    ctx: (u32, i32),
    which: Which,
    part: Part,
    lumps: Vec<OwnLump>,
    rr_param: Vec<u8>,
}

thread_local! {
    static APPLIED: RefCell<Vec<Applied>> = const { RefCell::new(Vec::new()) };
    /// (message, header) pairs the dialog callback has already handled.
    static DLG_DONE: RefCell<Vec<((u32, i32), Which)>> = const { RefCell::new(Vec::new()) };
}

fn hdr_name(which: Which) -> &'static str {
    match which {
        Which::From => "FROM",
        Which::To => "TO",
    }
}

/// uac_replace_from/to. `display`: None leaves it, empty removes it. `uri`: None
/// or empty leaves it.
pub fn replace(
    msg: &SipMsg,
    which: Which,
    display: Option<&[u8]>,
    uri: Option<&[u8]>,
) -> Result<(), String> {
    let cfg = config();
    let uri = uri.filter(|u| !u.is_empty());
    if let Some(d) = display.filter(|d| !d.is_empty()) {
        validate::check_display(d)?;
    }
    if let Some(u) = uri {
        validate::check_uri(u)?;
    }
    let hdr = msg
        .identity(which)
        .ok_or_else(|| format!("failed to find/parse {} hdr", hdr_name(which)))?;

    // In auto mode the URI can only change on the initial request: a sequential
    // one would break what the Record-Route parameter restores.
    if cfg.restore_mode == RestoreMode::Auto && uri.is_some() {
        let to = msg.identity(Which::To).ok_or("failed to parse TO hdr")?;
        if !to.tag.is_empty() {
            return Err(format!(
                "decline {} replacing in sequential request in auto mode (has TO tag)",
                hdr_name(which)
            ));
        }
    }

    // A later call on the same request replaces what earlier ones did.
    let ctx = msg.ctx_id();
    let (repeat, old_display, old_uri_lumps, old_rr_params) = APPLIED.with(|a| {
        let mut a = a.borrow_mut();
        a.retain(|x| x.ctx == ctx);
        let lumps = |part: Part| -> Vec<OwnLump> {
            a.iter()
                .filter(|x| x.which == which && x.part == part)
                .flat_map(|x| x.lumps.clone())
                .collect()
        };
        let rr_params: Vec<Vec<u8>> = a
            .iter()
            .filter(|x| x.which == which && x.part == Part::RrParam)
            .map(|x| x.rr_param.clone())
            .collect();
        (
            a.iter().any(|x| x.which == which),
            lumps(Part::Display),
            lumps(Part::Uri),
            rr_params,
        )
    });
    if repeat {
        info!(
            "uac_replace_{}() called again on this request: the last call wins",
            which.name()
        );
        if display.is_some() {
            lumps::remove(msg, &old_display);
        }
        if uri.is_some() {
            lumps::remove(msg, &old_uri_lumps);
        }
    }

    let avp = match which {
        Which::From => cfg.from_avp.as_ref(),
        Which::To => cfg.to_avp.as_ref(),
    };
    if let (Some(avp), false) = (avp, repeat) {
        avp.add(hdr.through_uri());
    }

    let mut display_lumps = Vec::new();
    let mut uri_lumps = Vec::new();
    let mut applied = Ok(());
    if let Some(d) = display {
        applied = lumps::apply(
            msg,
            &display_edits(hdr.buf, &hdr.spans, d),
            &mut display_lumps,
        );
    }
    if let (Some(u), true) = (uri, applied.is_ok()) {
        let (offset, len) = hdr.spans.uri;
        let edit = Edit::Replace {
            offset,
            len,
            text: u.to_vec(),
        };
        applied = lumps::apply(msg, &[edit], &mut uri_lumps);
    }
    if let Err(e) = applied {
        lumps::remove(msg, &display_lumps);
        lumps::remove(msg, &uri_lumps);
        return Err(e);
    }
    APPLIED.with(|a| {
        let mut a = a.borrow_mut();
        a.push(Applied {
            ctx,
            which,
            part: Part::Display,
            lumps: display_lumps,
            rr_param: Vec::new(),
        });
        a.push(Applied {
            ctx,
            which,
            part: Part::Uri,
            lumps: uri_lumps,
            rr_param: Vec::new(),
        });
    });

    let Some(new_uri) = uri else { return Ok(()) };
    if cfg.restore_mode == RestoreMode::None {
        return Ok(());
    }
    let old_uri = hdr.uri;
    match Dialog::of(msg) {
        Some(dlg) => store_in_dialog(&dlg, which, old_uri, hdr.display, new_uri, display)?,
        None => {
            if !rr::append_fromtag() {
                return Err(
                    "'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                        .into(),
                );
            }
            let value = rr_codec::encode(old_uri, new_uri, &cfg.passwd)
                .map_err(|e| format!("{} uri: {e}", hdr_name(which)))?;
            // Restores read the first parameter (rr's get_route_param), so an
            // earlier call's parameter must go: it sits in a Record-Route lump
            // when record_route() ran before; before that, rr keeps it in a
            // buffer of its own, out of our reach.
            for old in &old_rr_params {
                if lumps::blank_added_text(msg, old) == 0 {
                    warn!(
                        "uac_replace_{}() called again before record_route(): the first call's Record-Route parameter stays and is the one restored",
                        which.name()
                    );
                }
            }
            let param = rr_param_text(rr_param_name(which), value.as_bytes());
            rr::add_param(msg, &param)?;
            APPLIED.with(|a| {
                a.borrow_mut().push(Applied {
                    ctx,
                    which,
                    part: Part::RrParam,
                    lumps: Vec::new(),
                    rr_param: param,
                })
            });
        }
    }
    mark_for_reply_restore(msg, which)
}

/// Adds `;name=value` to the Record-Route of this request.
fn add_rr_param(msg: &SipMsg, name: &[u8], value: &[u8]) -> Result<(), String> {
    rr::add_param(msg, &rr_param_text(name, value))
}

fn rr_param_text(name: &[u8], value: &[u8]) -> Vec<u8> {
    [b";", name, b"=", value].concat()
}

fn rr_param_name(which: Which) -> &'static [u8] {
    let cfg = config();
    match which {
        Which::From => &cfg.rr_from_param,
        Which::To => &cfg.rr_to_param,
    }
}

/// Flags the request (and its transaction) so the reply callback restores the
/// header, and installs that callback once per request.
fn mark_for_reply_restore(msg: &SipMsg, which: Which) -> Result<(), String> {
    if msg.msg_flags() & (ffi::FL_USE_UAC_FROM | ffi::FL_USE_UAC_TO) == 0 {
        tm::on_replies(msg, on_reply)?;
    }
    msg.set_flag(which.flag());
    if let Some(req) = tm::current_request() {
        // SAFETY: the transaction's request is valid while the transaction is.
        unsafe { (*req).msg_flags |= which.flag() };
    }
    Ok(())
}

fn store_in_dialog(
    dlg: &Dialog,
    which: Which,
    old_uri: &[u8],
    old_display: &[u8],
    new_uri: &[u8],
    new_display: Option<&[u8]>,
) -> Result<(), String> {
    let [uri_var, new_uri_var, dsp_var, new_dsp_var] = dlg_vars(which);
    if dlg.has_var(uri_var) {
        info!("Already called uac_replace for this dialog");
        dlg.set_var(new_uri_var, None)?;
    } else {
        dlg.set_var(uri_var, Some(old_uri))?;
        dlg.register(
            ffi::DLGCB_REQ_WITHIN | ffi::DLGCB_CONFIRMED | ffi::DLGCB_TERMINATED,
            on_dialog_request,
            which.flag() as usize,
        )?;
    }
    dlg.set_var(new_uri_var, Some(new_uri))?;
    dlg.set_var(dsp_var, Some(old_display))?;
    dlg.set_var(new_dsp_var, Some(new_display.unwrap_or(b"")))?;
    Ok(())
}

/// uac_restore_from/to, and the automatic restore of in-dialog requests.
/// Ok(false): nothing to restore (no parameter); Err: a parameter that does not
/// decode against this request.
///
/// The parameter comes from rr's get_route_param(), as in the stock module: so
/// uac_restore_*() also works before loose_route(), and of a parameter given
/// twice the first value counts. Only when the first does not decode against
/// this request is a later one tried: a repeated uac_replace_*() on one request
/// leaves one parameter per call, and the last call's is the one that fits.
pub fn restore(msg: &SipMsg, which: Which) -> Result<bool, String> {
    let cfg = config();
    let name = rr_param_name(which);
    let values: Vec<Vec<u8>> = rr::route_param_values(msg, name)
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        dbg!("route param '{}' not found", String::from_utf8_lossy(name));
        return Ok(false);
    }

    // From parameter upstream, or To parameter downstream: the header to fix is To.
    let upstream = rr::is_upstream(msg);
    let target = match (which, upstream) {
        (Which::From, true) | (Which::To, false) => Which::To,
        _ => Which::From,
    };
    let hdr = msg
        .identity(target)
        .ok_or_else(|| format!("failed to find/parse {} hdr", hdr_name(target)))?;
    let decoded = values
        .iter()
        .map(|v| (v, rr_codec::decode(v, hdr.uri, &cfg.passwd)))
        .find(|(_, r)| r.is_ok())
        .unwrap_or_else(|| {
            (
                &values[0],
                rr_codec::decode(&values[0], hdr.uri, &cfg.passwd),
            )
        });
    let (value, restored) = decoded;

    // Keep the parameter if this request is record-routed again.
    add_rr_param(msg, name, value)?;

    let avp = match target {
        Which::From => cfg.from_avp.as_ref(),
        Which::To => cfg.to_avp.as_ref(),
    };
    if let Some(avp) = avp {
        avp.add(hdr.through_uri());
    }
    let restored = restored.map_err(|e| {
        format!(
            "cannot restore {} URI [{}] from Route parameter '{}': {e}",
            hdr_name(target),
            String::from_utf8_lossy(hdr.uri),
            String::from_utf8_lossy(name)
        )
    })?;
    dbg!(
        "decoded uris are: new=[{}] old=[{}]",
        String::from_utf8_lossy(&restored),
        String::from_utf8_lossy(hdr.uri)
    );
    let (offset, len) = hdr.spans.uri;
    lumps::apply(
        msg,
        &[Edit::Replace {
            offset,
            len,
            text: restored,
        }],
        &mut Vec::new(),
    )?;
    msg.set_flag(target.flag());
    Ok(true)
}

/// Auto mode: runs for every request loose_route() routes by our Record-Route
/// and restores both headers.
pub(crate) unsafe extern "C" fn on_loose_route(
    req: *mut sip_msg,
    _params: *mut str_,
    _p: *mut std::ffi::c_void,
) {
    guarded("rr callback", (), || {
        // SAFETY: rr hands us the routed message for this call.
        let Some(msg) = (unsafe { SipMsg::from_raw(req) }) else {
            return;
        };
        let mut restored = false;
        for which in [Which::From, Which::To] {
            match restore(&msg, which) {
                Ok(r) => restored |= r,
                Err(e) => warn!("{e} - skipping the update"),
            }
        }
        if restored {
            if let Err(e) = tm::on_replies(&msg, on_reply) {
                err!("{e}");
            }
        }
    })
}

/// TMCB_RESPONSE_IN: puts the original From/To back into replies.
pub(crate) unsafe extern "C" fn on_reply(t: *mut cell, _type: i32, p: *mut tmcb_params) {
    guarded("reply callback", (), || {
        // SAFETY: tm passes the transaction and the params of the reply.
        let (req, rpl) = unsafe {
            if t.is_null() || p.is_null() || (*t).uas.request.is_null() || (*p).rpl.is_null() {
                return;
            }
            match (
                SipMsg::from_raw((*t).uas.request),
                SipMsg::from_raw((*p).rpl),
            ) {
                (Some(a), Some(b)) => (a, b),
                _ => return,
            }
        };
        let cfg = config();
        for which in [Which::From, Which::To] {
            if req.msg_flags() & which.flag() == 0 {
                continue;
            }
            if let Err(e) = restore_reply(&req, &rpl, which, cfg) {
                err!("failed to restore {}: {e}", hdr_name(which));
            }
        }
    })
}

fn restore_reply(
    req: &SipMsg,
    rpl: &SipMsg,
    which: Which,
    cfg: &super::params::Config,
) -> Result<(), String> {
    let rh = rpl
        .identity(which)
        .ok_or_else(|| format!("failed to find/parse {} hdr", hdr_name(which)))?;
    let avp = match which {
        Which::From => cfg.from_avp.as_ref(),
        Which::To => cfg.to_avp.as_ref(),
    };
    let stored = avp.and_then(|a| a.first()).filter(|v| !v.is_empty());
    let value = match stored {
        Some(v) => v,
        None => req
            .identity_parsed(which)
            .ok_or_else(|| format!("request has no parsed {} hdr", hdr_name(which)))?
            .through_uri()
            .to_vec(),
    };
    let start = rh.spans.body_start;
    let len = rh.through_uri().len();
    lumps::apply(
        rpl,
        &[Edit::Replace {
            offset: start,
            len,
            text: value,
        }],
        &mut Vec::new(),
    )
}

/// Dialog callback (restore through dialog variables): sets the URI and display
/// of in-dialog requests from what uac_replace_* stored.
pub(crate) unsafe extern "C" fn on_dialog_request(
    dlg: *mut dlg_cell,
    _type: i32,
    p: *mut dlg_cb_params,
) {
    guarded("dialog callback", (), || {
        // SAFETY: the dialog module passes a live dialog and params for this call.
        let (dlg, req, direction, flag) = unsafe {
            if dlg.is_null() || p.is_null() || (*p).req.is_null() || (*p).param.is_null() {
                return;
            }
            let Some(d) = Dialog::borrowed(dlg) else {
                return;
            };
            (d, (*p).req, (*p).direction, *(*p).param as usize as u32)
        };
        if direction == ffi::DLG_DIR_NONE {
            return;
        }
        let Some(which) = Which::from_flag(flag) else {
            return;
        };
        // SAFETY: req is the in-dialog request being processed.
        let Some(msg) = (unsafe { SipMsg::from_raw(req) }) else {
            return;
        };
        // The stock module marks "done" with the replaced header's msg flag and
        // then restores the wrong header in the reply (the callee's 200 kept the
        // caller's real URI). We keep "done" apart and flag the header we change.
        let ctx = msg.ctx_id();
        let done = DLG_DONE.with(|d| {
            let mut d = d.borrow_mut();
            d.retain(|(c, _)| *c == ctx);
            let seen = d.contains(&(ctx, which));
            d.push((ctx, which));
            seen
        });
        if done {
            return;
        }
        if let Err(e) = restore_from_dialog(&dlg, &msg, which, direction) {
            err!("{e}");
        }
    })
}

fn restore_from_dialog(
    dlg: &Dialog,
    msg: &SipMsg,
    which: Which,
    direction: u32,
) -> Result<(), String> {
    let downstream = direction == ffi::DLG_DIR_DOWNSTREAM;
    let target = match (which, downstream) {
        (Which::To, true) | (Which::From, false) => Which::To,
        _ => Which::From,
    };
    if msg.msg_flags() & target.flag() != 0 {
        return Ok(()); // already changed on this request
    }
    let hdr = msg
        .identity(target)
        .ok_or_else(|| format!("failed to find/parse {} hdr", hdr_name(target)))?;
    let [uri_var, new_uri_var, dsp_var, new_dsp_var] = dlg_vars(which);
    let (uvar, dvar) = if downstream {
        (new_uri_var, new_dsp_var)
    } else {
        (uri_var, dsp_var)
    };
    let Some(uri) = dlg.var(uvar) else {
        dbg!("<{}> param not found", String::from_utf8_lossy(uvar));
        return Ok(());
    };
    let Some(display) = dlg.var(dvar) else {
        dbg!("<{}> param not found", String::from_utf8_lossy(dvar));
        return Ok(());
    };
    let mut edits = display_edits(hdr.buf, &hdr.spans, &display);
    let (offset, len) = hdr.spans.uri;
    edits.push(Edit::Replace {
        offset,
        len,
        text: uri,
    });
    lumps::apply(msg, &edits, &mut Vec::new())?;
    if msg.msg_flags() & (ffi::FL_USE_UAC_FROM | ffi::FL_USE_UAC_TO) == 0 {
        tm::on_replies(msg, on_reply)?;
    }
    msg.set_flag(target.flag());
    Ok(())
}

/// DLGCB_LOADED: dialogs loaded from the database after a restart get the
/// in-dialog callbacks back, for both headers (which one was replaced is not known).
pub(crate) unsafe extern "C" fn on_dialog_loaded(
    dlg: *mut dlg_cell,
    _type: i32,
    _p: *mut dlg_cb_params,
) {
    guarded("dialog load callback", (), || {
        if dlg.is_null() {
            return;
        }
        for which in [Which::From, Which::To] {
            let types = ffi::DLGCB_REQ_WITHIN | ffi::DLGCB_CONFIRMED | ffi::DLGCB_TERMINATED;
            // SAFETY: the dialog module hands us a live dialog (checked non-NULL).
            let r =
                unsafe { dlg::register_raw(dlg, types, on_dialog_request, which.flag() as usize) };
            if let Err(e) = r {
                err!("can't register callbacks for UAC {}: {e}", hdr_name(which));
            }
        }
    })
}
