//! tm through its API (loaded once in mod_init, held by the glue).

use super::ffi;
use super::msg::SipMsg;

pub const TMCB_RESPONSE_IN: i32 = 1 << 1;

pub fn load() -> Result<(), String> {
    // SAFETY: load_tm_api fills the glue's static binds (main process).
    if unsafe { ffi::osg_tm_load() } != 0 {
        return Err("can't load TM API".into());
    }
    Ok(())
}

/// A transaction callback as tm calls it: (cell, type, params).
pub type Callback =
    unsafe extern "C" fn(t: *mut std::ffi::c_void, ty: i32, ps: *mut std::ffi::c_void);

pub fn register(msg: &SipMsg, types: i32, f: Callback) -> Result<(), String> {
    // SAFETY: msg is the current request; tm keeps the function pointer.
    let r = unsafe { ffi::osg_tm_register(msg.raw(), types, Some(f)) };
    if r != 1 {
        return Err("failed to install TM callback".into());
    }
    Ok(())
}

/// Sets flags on the current transaction's stored request too.
pub fn mark_request(flags: u32) {
    // SAFETY: the glue checks the transaction and its request.
    unsafe { ffi::osg_tm_mark_request(flags) }
}
