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
    fn current() -> Option<Dialog> {
        // SAFETY: get_dlg reads the current processing context.
        let d = unsafe { ffi::osg_dlg_get() };
        (!d.is_null()).then_some(Dialog(d))
    }
}

/// A dialog callback as the dialog module calls it: (dlg, type, params).
pub type Callback = unsafe extern "C" fn(dlg: *mut c_void, ty: i32, ps: *mut c_void);

fn register_raw(d: *mut c_void, types: i32, f: Callback, param: i64) -> Result<(), String> {
    // SAFETY: the dialog module keeps the function pointer and the integer.
    if unsafe { ffi::osg_dlg_register(d, types, Some(f), param as _) } != 0 {
        return Err("cannot register dialog callback".into());
    }
    Ok(())
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

// ---- the dialog and values ports (src/ports/dialog.rs, values.rs) ----

use super::Opensips;
use crate::ports::dialog::{
    DialogCseq, Dialogs, DlgEvents, OnDialogLoaded, OnDialogRequest, Watch,
};
use crate::ports::message::Which;
use crate::ports::rr::Direction;
use crate::ports::values::{BranchSet, BranchValues};

fn dlgcb_types(e: DlgEvents) -> i32 {
    let mut t = 0;
    if e.has(DlgEvents::WITHIN) {
        t |= DLGCB_REQ_WITHIN;
    }
    if e.has(DlgEvents::CONFIRMED) {
        t |= ffi::DLGCB_CONFIRMED as i32;
    }
    if e.has(DlgEvents::TERMINATED) {
        t |= DLGCB_TERMINATED;
    }
    t
}

/// The dialog module's in-dialog callback for handler `H`; the registration
/// parameter is the integer given to [`Dialogs::on_requests`].
unsafe extern "C" fn dlg_request<H: OnDialogRequest<Opensips>>(
    d: *mut c_void,
    _ty: i32,
    ps: *mut c_void,
) {
    crate::log::guarded("dialog callback", (), || {
        if d.is_null() || ps.is_null() {
            return;
        }
        let (mut dir, mut param) = (0u32, 0);
        // SAFETY: ps is the callback's dlg_cb_params; the message is valid
        // for the callback.
        let msg = unsafe { SipMsg::from_raw(ffi::osg_dlgcb_msg(ps, &mut dir, &mut param)) };
        let dir = match dir {
            DIR_DOWNSTREAM => Direction::Downstream,
            DIR_UPSTREAM => Direction::Upstream,
            _ => return,
        };
        if let Some(msg) = msg {
            H::on_request(&Opensips, &Dialog(d), &msg, dir, param as u32)
        }
    })
}

/// DLGCB_LOADED for handler `H`.
unsafe extern "C" fn dlg_loaded<H: OnDialogLoaded<Opensips>>(
    d: *mut c_void,
    _ty: i32,
    _ps: *mut c_void,
) {
    crate::log::guarded("dialog load callback", (), || {
        if !d.is_null() {
            H::on_loaded(&Opensips, &Dialog(d))
        }
    })
}

impl Dialogs for Opensips {
    type Dialog = Dialog;

    /// The dialog of the message being processed (the dialog module's
    /// current one).
    fn dialog(&self, _msg: &SipMsg) -> Option<Dialog> {
        Dialog::current()
    }

    /// create_dlg(msg, 0), then the new current dialog.
    fn create_dialog(&self, msg: &SipMsg) -> Result<Dialog, String> {
        // SAFETY: msg is the current initial request.
        if unsafe { ffi::osg_dlg_create(msg.raw()) } != 0 {
            return Err("cannot create dialog".into());
        }
        Dialog::current().ok_or_else(|| "cannot create dialog".into())
    }

    /// A string value of the dialog (copied out).
    fn value(&self, d: &Dialog, name: &[u8]) -> Option<Vec<u8>> {
        let (mut v, mut l) = (std::ptr::null(), 0);
        // SAFETY: the value is in the dialog module's per-process buffer,
        // valid until the next fetch; copy_out copies it at once.
        unsafe {
            let r = ffi::osg_dlg_fetch(
                d.0,
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

    fn set_value(&self, d: &Dialog, name: &[u8], v: Option<&[u8]>) -> Result<(), String> {
        let (v, l) = v.map_or((std::ptr::null(), 0), |v| (v.as_ptr(), v.len() as i32));
        // SAFETY: the dialog module copies name and value into shm (NULL:
        // deletes).
        let r = unsafe {
            ffi::osg_dlg_store(
                d.0,
                name.as_ptr() as *const _,
                name.len() as i32,
                v as *const _,
                l,
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

    fn on_requests<H: OnDialogRequest<Self>>(&self, d: &Dialog, w: Watch) -> Result<(), String> {
        register_raw(d.0, dlgcb_types(w.events), dlg_request::<H>, w.param as i64)
    }

    fn on_loaded<H: OnDialogLoaded<Self>>(&self) -> Result<(), String> {
        register_raw(std::ptr::null_mut(), DLGCB_LOADED, dlg_loaded::<H>, 0)
    }
}

impl DialogCseq for Opensips {
    /// The leg the stock uac_auth() picks for a request with To tag `ttag`.
    fn leg(&self, d: &Dialog, ttag: &[u8]) -> i32 {
        // SAFETY: the dialog is alive (see the type); the glue only reads it.
        unsafe { ffi::osg_dlg_leg(d.0, ttag.as_ptr() as *const _, ttag.len() as i32) }
    }

    fn cseq_enforced(&self, d: &Dialog) -> bool {
        // SAFETY: reads the dialog's flags.
        unsafe { ffi::osg_dlg_cseq_enforced(d.0) != 0 }
    }

    /// Sets DLG_FLAG_CSEQ_ENFORCE: the dialog module shifts the CSeq of the
    /// caller's later requests (unlocked, as the stock module does).
    fn enforce_cseq(&self, d: &Dialog) {
        // SAFETY: sets one flag bit of the live dialog.
        unsafe { ffi::osg_dlg_cseq_enforce(d.0) }
    }

    fn last_cseq(&self, d: &Dialog, leg: i32) -> u32 {
        // SAFETY: leg comes from `leg()`, an index into the dialog's legs.
        unsafe { ffi::osg_dlg_last_cseq(d.0, leg) }
    }

    fn set_last_cseq(&self, d: &Dialog, leg: i32, v: u32) {
        // SAFETY: as for last_cseq.
        unsafe { ffi::osg_dlg_set_last_cseq(d.0, leg, v) }
    }
}

/// The stock uac's branch AVPs ($bavp(739825) From, $bavp(739826) To).
impl BranchValues for Opensips {
    fn set_branch_value(&self, msg: &SipMsg, which: Which, v: &[u8]) -> BranchSet {
        match bavp_set(msg, which == Which::To, v) {
            Bavp::Set => BranchSet::Set,
            Bavp::NotInBranch => BranchSet::NotInBranch,
            Bavp::Failed => BranchSet::Failed,
        }
    }

    fn branch_value(&self, msg: &SipMsg, which: Which) -> Option<Vec<u8>> {
        bavp_get(msg, which == Which::To)
    }
}
