//! The dialog module through its API (loaded once in mod_init, held by the
//! glue): the current dialog, its string values, its callbacks, and the
//! CSeq bookkeeping the stock uac_auth() does in it. Also the branch AVPs
//! the stock uac uses to carry a value from a branch route to the 2xx.

use super::msg::SipMsg;
use super::{copy_out, ffi};
use std::os::raw::c_void;

pub const DLGCB_LOADED: i32 = ffi::DLGCB_LOADED as i32;
pub const DLGCB_REQ_WITHIN: i32 = ffi::DLGCB_REQ_WITHIN as i32;
pub const DLGCB_TERMINATED: i32 = ffi::DLGCB_TERMINATED as i32;
pub const DIR_NONE: u32 = ffi::DLG_DIR_NONE;
pub const DIR_DOWNSTREAM: u32 = ffi::DLG_DIR_DOWNSTREAM;
pub const DIR_UPSTREAM: u32 = ffi::DLG_DIR_UPSTREAM;

/// Loads the dialog API; Err when the dialog module is not loaded.
pub fn load() -> Result<(), String> {
    // SAFETY: load_dlg_api fills the glue's static binds (main process).
    if unsafe { ffi::osg_dlg_load() } != 0 {
        return Err("dialog module not loaded".into());
    }
    Ok(())
}

/// A dialog the dialog module owns (it keeps it alive while the request or
/// callback that handed it to us runs).
#[derive(Clone, Copy)]
pub struct Dialog(*mut c_void);

impl Dialog {
    /// The dialog of the message being processed, if any.
    pub fn current() -> Option<Dialog> {
        // SAFETY: get_dlg reads the current processing context.
        let d = unsafe { ffi::osg_dlg_get() };
        (!d.is_null()).then_some(Dialog(d))
    }

    /// create_dlg(msg, 0), then the new current dialog.
    pub fn create(msg: &SipMsg) -> Result<Dialog, String> {
        // SAFETY: msg is the current initial request.
        if unsafe { ffi::osg_dlg_create(msg.raw()) } != 0 {
            return Err("cannot create dialog".into());
        }
        Dialog::current().ok_or_else(|| "cannot create dialog".into())
    }

    pub fn store(self, name: &[u8], val: &[u8]) -> Result<(), String> {
        // SAFETY: the dialog module copies name and value into shm.
        let r = unsafe {
            ffi::osg_dlg_store(
                self.0,
                name.as_ptr() as *const _,
                name.len() as i32,
                val.as_ptr() as *const _,
                val.len() as i32,
            )
        };
        if r != 0 {
            return Err(format!(
                "cannot store dialog value <{}>",
                String::from_utf8_lossy(name)
            ));
        }
        Ok(())
    }

    /// A string value of the dialog (copied out).
    pub fn fetch(self, name: &[u8]) -> Option<Vec<u8>> {
        let (mut v, mut l) = (std::ptr::null(), 0);
        // SAFETY: the value is in the dialog module's per-process buffer,
        // valid until the next fetch; copy_out copies it at once.
        unsafe {
            let r = ffi::osg_dlg_fetch(
                self.0,
                name.as_ptr() as *const _,
                name.len() as i32,
                &mut v,
                &mut l,
            );
            if r != 0 {
                return None;
            }
            copy_out(v, l)
        }
    }

    /// Registers `f` for `types` on this dialog, with an integer parameter.
    pub fn register(self, types: i32, f: Callback, param: i64) -> Result<(), String> {
        register_raw(self.0, types, f, param)
    }

    /// The leg the stock uac_auth() picks for a request with To tag `ttag`.
    pub fn leg(self, ttag: &[u8]) -> i32 {
        // SAFETY: the dialog is alive (see the type); the glue only reads it.
        unsafe { ffi::osg_dlg_leg(self.0, ttag.as_ptr() as *const _, ttag.len() as i32) }
    }

    pub fn cseq_enforced(self) -> bool {
        // SAFETY: reads the dialog's flags.
        unsafe { ffi::osg_dlg_cseq_enforced(self.0) != 0 }
    }

    /// Sets DLG_FLAG_CSEQ_ENFORCE: the dialog module shifts the CSeq of the
    /// caller's later requests (unlocked, as the stock module does).
    pub fn enforce_cseq(self) {
        // SAFETY: sets one flag bit of the live dialog.
        unsafe { ffi::osg_dlg_cseq_enforce(self.0) }
    }

    pub fn last_cseq(self, leg: i32) -> u32 {
        // SAFETY: leg comes from `leg()`, an index into the dialog's legs.
        unsafe { ffi::osg_dlg_last_cseq(self.0, leg) }
    }

    pub fn set_last_cseq(self, leg: i32, v: u32) {
        // SAFETY: as for last_cseq.
        unsafe { ffi::osg_dlg_set_last_cseq(self.0, leg, v) }
    }
}

/// A dialog callback as the dialog module calls it: (dlg, type, params).
pub type Callback = unsafe extern "C" fn(dlg: *mut c_void, ty: i32, ps: *mut c_void);

/// A global callback (e.g. DLGCB_LOADED for dialogs read back from the
/// database at start-up).
pub fn register_global(types: i32, f: Callback) -> Result<(), String> {
    register_raw(std::ptr::null_mut(), types, f, 0)
}

fn register_raw(d: *mut c_void, types: i32, f: Callback, param: i64) -> Result<(), String> {
    // SAFETY: the dialog module keeps the function pointer and the integer.
    if unsafe { ffi::osg_dlg_register(d, types, Some(f), param as _) } != 0 {
        return Err("cannot register dialog callback".into());
    }
    Ok(())
}

/// What a dialog callback got: its dialog, message (if any), direction and
/// registration parameter.
pub struct Event {
    pub dialog: Dialog,
    pub msg: Option<SipMsg>,
    pub direction: u32,
    pub param: i64,
}

/// # Safety
/// `dlg` and `ps` must be what the dialog module passed to a callback.
pub unsafe fn event(dlg: *mut c_void, ps: *mut c_void) -> Option<Event> {
    if dlg.is_null() || ps.is_null() {
        return None;
    }
    let (mut dir, mut param) = (0u32, 0);
    // SAFETY: ps is the callback's dlg_cb_params (caller's contract).
    let m = unsafe { ffi::osg_dlgcb_msg(ps, &mut dir, &mut param) };
    Some(Event {
        dialog: Dialog(dlg),
        // SAFETY: the message is valid for the callback.
        msg: unsafe { SipMsg::from_raw(m) },
        direction: dir,
        param,
    })
}

/// Parses the branch AVP specs (mod_init).
pub fn bavp_init() -> Result<(), String> {
    // SAFETY: parses two constant specs into the glue's statics.
    if unsafe { ffi::osg_bavp_init() } != 0 {
        return Err("cannot set correct store parameters".into());
    }
    Ok(())
}

/// Outcome of setting the branch AVP.
pub enum Bavp {
    Set,
    /// not in a branch route: keep the value in the dialog instead
    NotInBranch,
    Failed,
}

pub fn bavp_set(msg: &SipMsg, to: bool, v: &[u8]) -> Bavp {
    // SAFETY: tm copies the value into the branch's AVP list.
    match unsafe { ffi::osg_bavp_set(msg.raw(), to as i32, v.as_ptr() as *const _, v.len() as i32) }
    {
        r if r >= 0 => Bavp::Set,
        -2 => Bavp::NotInBranch,
        _ => Bavp::Failed,
    }
}

pub fn bavp_get(msg: &SipMsg, to: bool) -> Option<Vec<u8>> {
    let (mut v, mut l) = (std::ptr::null(), 0);
    // SAFETY: the value points into the branch AVP (shm); copy_out copies
    // it at once.
    unsafe {
        if ffi::osg_bavp_get(msg.raw(), to as i32, &mut v, &mut l) != 0 {
            return None;
        }
        copy_out(v, l)
    }
}
