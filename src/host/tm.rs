//! The tm module's API: a callback on replies of the current transaction.

use super::ffi::{self, cell, sip_msg, tm_binds, tmcb_params};
use super::msg::SipMsg;
use once_cell::sync::OnceCell;

/// The tm API table: function pointers (and one unused `void*` slot).
struct TmApi(tm_binds);
// SAFETY: the table is filled once in mod_init and only read afterwards; every
// process has its own copy after fork.
unsafe impl Send for TmApi {}
unsafe impl Sync for TmApi {}

static TM: OnceCell<TmApi> = OnceCell::new();

pub fn load() -> Result<(), String> {
    let mut b = tm_binds::default();
    // SAFETY: the glue calls tm's load_tm_api into our zeroed struct.
    if unsafe { ffi::uacg_load_tm_api(&mut b) } != 0 {
        return Err("can't load TM API - is the tm module loaded?".into());
    }
    let _ = TM.set(TmApi(b));
    Ok(())
}

pub type ReplyCallback = unsafe extern "C" fn(*mut cell, i32, *mut tmcb_params);

/// Calls `cb` for each reply received for the transaction of `msg`
/// (TMCB_RESPONSE_IN). The transaction is created at t_relay if it is not yet.
pub fn on_replies(msg: &SipMsg, cb: ReplyCallback) -> Result<(), String> {
    let f = TM
        .get()
        .and_then(|b| b.0.register_tmcb)
        .ok_or("TM API not loaded")?;
    // SAFETY: valid message; cb lives as long as the process; no param to free.
    let r = unsafe {
        f(
            msg.raw(),
            std::ptr::null_mut(),
            ffi::TMCB_RESPONSE_IN as i32,
            Some(cb),
            std::ptr::null_mut(),
            None,
        )
    };
    if r != 1 {
        return Err("failed to install TM callback".into());
    }
    Ok(())
}

/// The original request of the current transaction, when there is one.
pub fn current_request() -> Option<*mut sip_msg> {
    let f = TM.get().and_then(|b| b.0.t_gett)?;
    // SAFETY: t_gett returns the current cell, NULL or T_UNDEFINED (-1).
    unsafe {
        let t = f();
        if t.is_null() || t as isize == -1 {
            return None;
        }
        let req = (*t).uas.request;
        (!req.is_null()).then_some(req)
    }
}
