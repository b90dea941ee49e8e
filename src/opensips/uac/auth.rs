//! uac_auth([algorithms]) and uac_inc_cseq(n): answering the 401/407 of the
//! picked branch with the pure digest client (src/digest), credentials from
//! whichever uac_auth module is loaded, and the stock CSeq handling: the
//! answered request goes out with CSeq + 1, replies get the caller's CSeq
//! back, and (without a To tag) the Record-Route parameter `aci=1` makes
//! later requests of the caller carry CSeq + 1 too.

use crate::digest::challenge::{Algorithm, Challenge};
use crate::flows::digest_client::{self, BodyOf, ClientError, Creds, Order, Policy, Stored};
use crate::opensips::host::dlg::Dialog;
use crate::opensips::host::ffi::sip_msg;
use crate::opensips::host::msg::SipMsg;
use crate::opensips::host::tm::Tm;
use crate::opensips::host::{rr, tm, uac_auth_api};
use crate::{dbg, err, warn};

/// FL_USE_UAC_CSEQ: the request's CSeq was changed by us.
pub const FL_USE_UAC_CSEQ: u32 = 1 << 8;
/// The Record-Route parameter that marks a dialog whose caller's CSeq we raise.
pub const RR_CSEQ_PARAM: &[u8] = b"aci";

/// The algorithm list of uac_auth("MD5,SHA-256").
pub fn parse_algorithms(s: &str) -> Result<Vec<Algorithm>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| Algorithm::parse(a).ok_or_else(|| format!("unsupported digest algorithm '{a}'")))
        .collect()
}

/// `num + by` as a CSeq number.
pub fn bump(num: &[u8], by: i64) -> Option<u32> {
    let n: u32 = std::str::from_utf8(num).ok()?.parse().ok()?;
    u32::try_from(n as i64 + by).ok()
}

/// Changes the CSeq number of `msg` by `by`; the new number.
fn apply_cseq_op(msg: &SipMsg, by: i64, parse: bool) -> Result<u32, String> {
    let (num, off) = msg.cseq(parse).ok_or("failed to parse headers")?;
    let new = bump(num, by).ok_or("Failed to convert cseq to integer")?;
    let len = num.len();
    msg.apply(&[super::edits::Edit::Replace {
        off,
        len,
        data: new.to_string().into_bytes(),
    }])?;
    Ok(new)
}

/// TMCB_RESPONSE_FWDED: the reply gets the CSeq the caller sent.
unsafe extern "C" fn apply_cseq_decrement(
    t: *mut std::ffi::c_void,
    _ty: i32,
    ps: *mut std::ffi::c_void,
) {
    crate::log::guarded("apply_cseq_decrement", (), || {
        // SAFETY: tm calls us with its transaction and callback params.
        let (req, rpl) = unsafe {
            (
                crate::opensips::host::ffi::osg_tm_uas_request(t),
                crate::opensips::host::ffi::osg_tmcb_reply(ps),
            )
        };
        // SAFETY: checked for NULL and FAKED_REPLY by the glue.
        let (Some(req), Some(rpl)) = (unsafe { SipMsg::from_raw(req) }, unsafe {
            SipMsg::from_raw(rpl)
        }) else {
            return;
        };
        let (Some((rq, _)), Some((rp, _))) = (req.cseq(false), rpl.cseq(false)) else {
            return;
        };
        let (Some(a), Some(b)) = (bump(rq, 0), bump(rp, 0)) else {
            return;
        };
        if a != b {
            if let Err(e) = apply_cseq_op(&rpl, a as i64 - b as i64, false) {
                err!("{e}");
            }
        }
    })
}

fn register_decrement_once(msg: &SipMsg) -> Result<(), String> {
    if msg.flags() & FL_USE_UAC_CSEQ == 0 && tm::request_flags() & FL_USE_UAC_CSEQ == 0 {
        tm::register(msg, tm::TMCB_RESPONSE_FWDED, apply_cseq_decrement)
            .map_err(|_| "Failed to register TMCB response fwded".to_string())?;
    }
    Ok(())
}

fn mark_cseq(msg: &SipMsg) {
    msg.add_flags(FL_USE_UAC_CSEQ);
    tm::mark_request(FL_USE_UAC_CSEQ);
}

/// uac_inc_cseq(n).
pub fn inc_cseq(msg: &SipMsg, by: i32) -> Result<(), String> {
    if !tm::has_transaction() {
        return Err("no current transaction found".into());
    }
    apply_cseq_op(msg, by as i64, true)
        .map_err(|e| format!("Failed to increment the CSEQ header! ({e})"))?;
    register_decrement_once(msg)?;
    mark_cseq(msg);
    Ok(())
}

/// uac_auth([algorithms]) in a failure route.
pub fn uac_auth(msg: &SipMsg, allowed: Option<&[Algorithm]>) -> Result<(), String> {
    let policy = Policy {
        order: Order::StrongestFirst,
        allowed,
        sess_needs_qop: true,
        sent: None,
    };
    let lookup = |c: &Challenge| {
        uac_auth_api::lookup(c.realm.as_bytes()).map(|(user, secret)| Creds {
            user,
            secret: Stored::PasswordOrHexHa1(secret),
        })
    };
    let a = digest_client::uac_auth(&Tm, msg, &policy, BodyOf::Request, lookup).map_err(
        |e| match e {
            ClientError::NotChallenge(c) => {
                format!("Unable to extract a compatible authentication challenge (reply {c})")
            }
            ClientError::NoHeader(_) | ClientError::Refused(_) => {
                format!("Unable to extract a compatible authentication challenge: {e}")
            }
            e => e.to_string(),
        },
    )?;
    dbg!(
        "auth_hdr is <{}>",
        String::from_utf8_lossy(&a.header).trim_end()
    );
    // CSeq: the answered request is a new one for the server.
    cseq_after_auth(msg)
}

/// The CSeq shift after an answered challenge, as stock: without a dialog
/// the request's CSeq goes up by one here and an initial request marks the
/// dialog in Record-Route (`aci`, the rr callback shifts later requests);
/// with a dialog the dialog module is told (DLG_FLAG_CSEQ_ENFORCE and the
/// leg's last generated CSeq) and shifts the later requests itself.
fn cseq_after_auth(msg: &SipMsg) -> Result<(), String> {
    let ttag = msg.totag()?;
    let dlg = if super::config().dialog {
        Dialog::current()
    } else {
        None
    };
    // a sequential request the dialog module already renumbers
    let managed =
        dlg.filter(|d| !ttag.is_empty() && d.cseq_enforced() && d.last_cseq(d.leg(&ttag)) != 0);
    if let Some(d) = managed {
        let leg = d.leg(&ttag);
        let new = d.last_cseq(leg).wrapping_add(1);
        d.set_last_cseq(leg, new);
        dbg!("incrementing last_gen_cseq to [{new}] for leg[{leg}]");
        force_master_cseq_change(msg, new)?;
    } else {
        let new = apply_cseq_op(msg, 1, true).inspect_err(|_| {
            warn!("Failure to increment the CSEQ header");
        })?;
        register_decrement_once(msg)?;
        match (ttag.is_empty(), dlg) {
            (true, Some(d)) => d.enforce_cseq(),
            (true, None) => {
                let mut p = Vec::with_capacity(RR_CSEQ_PARAM.len() + 3);
                p.push(b';');
                p.extend_from_slice(RR_CSEQ_PARAM);
                p.extend_from_slice(b"=1");
                rr::add_param(msg, &p)?;
            }
            (false, Some(d)) => {
                d.enforce_cseq();
                let leg = d.leg(&ttag);
                d.set_last_cseq(leg, new);
                dbg!("setting last_gen_cseq to [{new}] for leg [{leg}]");
                force_master_cseq_change(msg, new)?;
            }
            (false, None) => {}
        }
    }
    mark_cseq(msg);
    Ok(())
}

/// Rewrites the whole CSeq value (": N METHOD"), covering the dialog
/// module's own change of the number in this branch (the stock trick).
fn force_master_cseq_change(msg: &SipMsg, new: u32) -> Result<(), String> {
    let (off, len) = msg.cseq_span().ok_or("failed to parse headers")?;
    let method = request_method(msg)?;
    let mut data = format!(": {new} ").into_bytes();
    data.extend_from_slice(&method);
    msg.apply(&[super::edits::Edit::Replace { off, len, data }])
        .map_err(|e| format!("failed to forced new in-dialog cseq: {e}"))
}

fn request_method(msg: &SipMsg) -> Result<Vec<u8>, String> {
    let buf = msg.buf();
    let sp = buf
        .iter()
        .position(|&c| c == b' ')
        .ok_or("no request method")?;
    Ok(buf[..sp].to_vec())
}

/// The rr callback for requests of a dialog whose first request we
/// authenticated: the caller's requests get CSeq + 1 (replies get it back).
///
/// # Safety
/// Called by rr with the current request.
pub unsafe extern "C" fn rr_uac_auth_checker(
    m: *mut sip_msg,
    _p: *mut crate::opensips::host::ffi::str_,
    _c: *mut std::ffi::c_void,
) {
    crate::log::guarded("rr_uac_auth_checker", (), || {
        // SAFETY: rr calls us with the current request.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return;
        };
        if rr::get_param(&msg, RR_CSEQ_PARAM).is_none() || rr::is_direction(&msg, rr::UPSTREAM) {
            return;
        }
        if let Err(e) = apply_cseq_op(&msg, 1, true) {
            warn!("Failure to increment the CSEQ header - continue ({e})");
            return;
        }
        if let Err(e) = tm::register(&msg, tm::TMCB_RESPONSE_FWDED, apply_cseq_decrement) {
            err!("{e}");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_lists() {
        assert_eq!(
            parse_algorithms("MD5, SHA-256").unwrap(),
            vec![Algorithm::Md5, Algorithm::Sha256]
        );
        assert!(parse_algorithms("MD5,SHA-1").is_err());
    }

    #[test]
    fn cseq_bump() {
        assert_eq!(bump(b"1", 1), Some(2));
        assert_eq!(bump(b"10", -9), Some(1));
        assert_eq!(bump(b"4294967295", 1), None);
        assert_eq!(bump(b"x", 1), None);
    }
}
