//! The rr module's API as the rr port (src/ports/rr.rs): our Record-Route
//! parameters, the Route parameters and direction of an in-dialog request,
//! and the loose-route callback.

use super::ffi::{self, rr_binds, sip_msg, str_};
use super::msg::SipMsg;
use super::{str_of, Kamailio};
use crate::ports::message::SipMessage;
use crate::ports::rr::{Direction, OnRouted, RecordRoute};
use crate::replace::route_params;
use once_cell::sync::OnceCell;

static RR: OnceCell<rr_binds> = OnceCell::new();

/// Loads the rr API (mod_init, before fork). Fails when rr is not loaded.
pub fn load() -> Result<(), String> {
    let mut b = rr_binds::default();
    // SAFETY: the glue calls rr's load_rr_api into our zeroed struct.
    if unsafe { ffi::uacg_load_rr_api(&mut b) } != 0 {
        return Err("can't load RR API - is the rr module loaded?".into());
    }
    let _ = RR.set(b);
    Ok(())
}

fn api() -> Result<&'static rr_binds, String> {
    RR.get().ok_or_else(|| "RR API not loaded".to_string())
}

/// rr's loose-route callback for handler `H`.
unsafe extern "C" fn routed<H: OnRouted<Kamailio>>(
    req: *mut sip_msg,
    _params: *mut str_,
    _p: *mut std::ffi::c_void,
) {
    crate::log::guarded("rr callback", (), || {
        // SAFETY: rr hands us the routed message for this call.
        if let Some(msg) = unsafe { SipMsg::from_raw(req) } {
            H::on_routed(&Kamailio, &msg)
        }
    })
}

impl RecordRoute for Kamailio {
    fn append_fromtag(&self) -> bool {
        RR.get().is_some_and(|b| b.append_fromtag != 0)
    }

    fn add_param(&self, msg: &SipMsg, param: &[u8]) -> Result<(), String> {
        let f = api()?.add_rr_param.ok_or("rr API has no add_rr_param")?;
        let mut s = str_of(param);
        // SAFETY: rr copies the parameter (static buffer or lump) before returning.
        if unsafe { f(msg.raw(), &mut s) } != 0 {
            return Err("add_rr_param failed".into());
        }
        Ok(())
    }

    /// rr keeps an added parameter in a lump of the Record-Route header once
    /// record_route() ran: such a lump is emptied (its owner frees it as
    /// usual), and a non-empty `new` is added again through rr.
    fn rewrite_param(&self, msg: &SipMsg, old: &[u8], new: &[u8]) -> Result<usize, String> {
        let n = super::lumps::blank_added_text(msg, old);
        if n > 0 && !new.is_empty() {
            self.add_param(msg, new)?;
        }
        Ok(n)
    }

    /// The first value is what rr's get_route_param() finds (from the
    /// parameters loose_route() matched or, before loose_route() has run,
    /// from the top Route header when its URI is this proxy); the others are
    /// those that follow it in the same URI.
    fn route_param_values(&self, msg: &SipMsg, name: &[u8]) -> Vec<Vec<u8>> {
        let Some(f) = RR.get().and_then(|b| b.get_route_param) else {
            return Vec::new();
        };
        // rr reads msg->route, which is set only once parsing has reached the
        // Route header; parse that far (the stock module relies on the script
        // having done it).
        // SAFETY: valid message; parse_headers stops at the first Route header.
        if unsafe { ffi::uacg_parse_route(msg.raw()) } < 0 {
            return Vec::new();
        }
        let mut n = str_of(name);
        let mut v = str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: valid message; rr sets v to point into the message buffer
        // (or leaves it empty).
        if unsafe { f(msg.raw(), &mut n, &mut v) } != 0 {
            return Vec::new();
        }
        // SAFETY: as above; the bytes are copied at once.
        let first = unsafe { super::str_bytes(&v) };
        let mut values = vec![first.to_vec()];
        // The parameters after it, when the value lies in the message buffer.
        let buf = msg.buf();
        let start = (first.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        if !first.is_empty() && start < buf.len() && start + first.len() <= buf.len() {
            let rest = route_params::rest_of_uri_params(&buf[start + first.len()..]);
            values.extend(
                route_params::param_values(rest, name)
                    .into_iter()
                    .map(<[u8]>::to_vec),
            );
        }
        values
    }

    /// Kamailio's rr always tells one (no ftag: downstream).
    fn direction(&self, msg: &SipMsg) -> Option<Direction> {
        let f = RR.get().and_then(|b| b.is_direction)?;
        // SAFETY: valid message; is_direction reads the ftag param and the From tag.
        let up = unsafe { f(msg.raw(), ffi::RR_FLOW_UPSTREAM as i32) == 0 };
        Some(if up {
            Direction::Upstream
        } else {
            Direction::Downstream
        })
    }

    fn on_routed<H: OnRouted<Self>>(&self) -> Result<(), String> {
        let f = api()?.register_rrcb.ok_or("rr API has no register_rrcb")?;
        // SAFETY: the trampoline is a plain function valid for the process
        // lifetime.
        if unsafe { f(Some(routed::<H>), std::ptr::null_mut()) } != 0 {
            return Err("failed to install RR callback".into());
        }
        Ok(())
    }
}
