//! rr through its API (loaded once in mod_init, held by the glue), as the
//! rr port (src/ports/rr.rs).

use super::ffi::{self, sip_msg};
use super::msg::SipMsg;
use super::Opensips;
use crate::ports::rr::{Direction, OnRouted, RecordRoute};

const DOWNSTREAM: i32 = 1;
const UPSTREAM: i32 = 2;

pub fn load() -> Result<(), String> {
    // SAFETY: load_rr_api fills the glue's static binds (main process).
    if unsafe { ffi::osg_rr_load() } != 0 {
        return Err("can't load RR API".into());
    }
    Ok(())
}

/// True when the request flows in `dir` (DOWNSTREAM or UPSTREAM).
fn is_direction(msg: &SipMsg, dir: i32) -> bool {
    // SAFETY: msg is the current request.
    unsafe { ffi::osg_rr_is_direction(msg.raw(), dir) == 0 }
}

impl RecordRoute for Opensips {
    fn append_fromtag(&self) -> bool {
        // SAFETY: reads the loaded binds.
        unsafe { ffi::osg_rr_append_fromtag() != 0 }
    }

    fn add_param(&self, msg: &SipMsg, p: &[u8]) -> Result<(), String> {
        // SAFETY: rr copies the parameter into its own lump.
        if unsafe { ffi::osg_rr_add_param(msg.raw(), p.as_ptr() as *const _, p.len() as i32) } != 0
        {
            return Err("add_RR_param failed".into());
        }
        Ok(())
    }

    /// rr keeps the parameter in an ADD lump: its text is replaced there.
    fn rewrite_param(&self, msg: &SipMsg, old: &[u8], new: &[u8]) -> Result<usize, String> {
        msg.rewrite_added(old, new)
    }

    /// What rr's get_route_param() finds (one value).
    fn route_param_values(&self, msg: &SipMsg, name: &[u8]) -> Vec<Vec<u8>> {
        let (mut v, mut l) = (std::ptr::null(), 0);
        // SAFETY: the value points into the message buffer, valid while it
        // is; it is copied at once.
        unsafe {
            if ffi::osg_rr_get_param(
                msg.raw(),
                name.as_ptr() as *const _,
                name.len() as i32,
                &mut v,
                &mut l,
            ) != 0
                || v.is_null()
                || l < 0
            {
                return Vec::new();
            }
            vec![std::slice::from_raw_parts(v as *const u8, l as usize).to_vec()]
        }
    }

    fn direction(&self, msg: &SipMsg) -> Option<Direction> {
        if is_direction(msg, UPSTREAM) {
            Some(Direction::Upstream)
        } else if is_direction(msg, DOWNSTREAM) {
            Some(Direction::Downstream)
        } else {
            None
        }
    }

    fn on_routed<H: OnRouted<Self>>(&self) -> Result<(), String> {
        // SAFETY: rr keeps the function pointer for the process's life.
        if unsafe { ffi::osg_rr_register(Some(routed::<H>)) } != 0 {
            return Err("failed to install RR callback".into());
        }
        Ok(())
    }
}

/// rr's callback for handler `H`.
unsafe extern "C" fn routed<H: OnRouted<Opensips>>(
    m: *mut sip_msg,
    _p: *mut ffi::str_,
    _c: *mut std::ffi::c_void,
) {
    crate::log::guarded("rr callback", (), || {
        // SAFETY: rr calls us with the current request.
        if let Some(msg) = unsafe { SipMsg::from_raw(m) } {
            H::on_routed(&Opensips, &msg)
        }
    })
}
