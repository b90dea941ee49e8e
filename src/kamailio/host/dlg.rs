//! The dialog module's API: dialog variables and in-dialog callbacks.

use super::ffi::{self, dlg_binds, dlg_cb_params, dlg_cell};
use super::msg::SipMsg;
use super::{str_bytes, str_of};
use once_cell::sync::OnceCell;

static DLG: OnceCell<dlg_binds> = OnceCell::new();

pub fn load() -> Result<(), String> {
    let mut b = dlg_binds::default();
    // SAFETY: the glue calls dialog's load_dlg_api into our zeroed struct.
    if unsafe { ffi::uacg_load_dlg_api(&mut b) } != 0 {
        return Err("can't load dialog API - is the dialog module loaded?".into());
    }
    let _ = DLG.set(b);
    Ok(())
}

pub type DlgCallback = unsafe extern "C" fn(*mut dlg_cell, i32, *mut dlg_cb_params);

/// A dialog reference; released on drop.
pub struct Dialog {
    raw: *mut dlg_cell,
    owned: bool,
}

impl Drop for Dialog {
    fn drop(&mut self) {
        if self.owned {
            if let Some(f) = DLG.get().and_then(|b| b.release_dlg) {
                // SAFETY: raw came from get_dlg, which took a reference.
                unsafe { f(self.raw) }
            }
        }
    }
}

impl Dialog {
    /// A dialog the dialog module handed to a callback (no reference taken).
    ///
    /// # Safety
    /// `raw` must be valid for the duration of the callback.
    pub unsafe fn borrowed(raw: *mut dlg_cell) -> Option<Dialog> {
        (!raw.is_null()).then_some(Dialog { raw, owned: false })
    }
}

/// # Safety
/// `raw` must be NULL (global callback types) or a live dialog.
pub unsafe fn register_raw(
    raw: *mut dlg_cell,
    types: u32,
    cb: DlgCallback,
    param: usize,
) -> Result<(), String> {
    let f = DLG
        .get()
        .and_then(|b| b.register_dlgcb)
        .ok_or("dialog API not loaded")?;
    // SAFETY: cb lives as long as the process; param is a plain integer, not freed.
    if unsafe { f(raw, types as i32, Some(cb), param as *mut _, None) } != 0 {
        return Err("cannot register dialog callback".into());
    }
    Ok(())
}

// ---- the dialog port (src/ports/dialog.rs) ----

use super::Kamailio;
use crate::ports::dialog::{Dialogs, DlgEvents, OnDialogLoaded, OnDialogRequest, Watch};
use crate::ports::rr::Direction;

fn dlgcb_types(e: DlgEvents) -> u32 {
    let mut t = 0;
    if e.has(DlgEvents::WITHIN) {
        t |= ffi::DLGCB_REQ_WITHIN;
    }
    if e.has(DlgEvents::CONFIRMED) {
        t |= ffi::DLGCB_CONFIRMED;
    }
    if e.has(DlgEvents::TERMINATED) {
        t |= ffi::DLGCB_TERMINATED;
    }
    t
}

/// The dialog module's in-dialog callback for handler `H`; the registration
/// parameter is the integer given to [`Dialogs::on_requests`].
unsafe extern "C" fn dlg_request<H: OnDialogRequest<Kamailio>>(
    dlg: *mut dlg_cell,
    _type: i32,
    p: *mut dlg_cb_params,
) {
    crate::log::guarded("dialog callback", (), || {
        // SAFETY: the dialog module passes a live dialog and params for this
        // call; `param` points at the integer we registered.
        let (d, req, direction, param) = unsafe {
            if dlg.is_null() || p.is_null() || (*p).req.is_null() || (*p).param.is_null() {
                return;
            }
            let Some(d) = Dialog::borrowed(dlg) else {
                return;
            };
            (d, (*p).req, (*p).direction, *(*p).param as usize as u32)
        };
        let dir = match direction {
            ffi::DLG_DIR_DOWNSTREAM => Direction::Downstream,
            ffi::DLG_DIR_UPSTREAM => Direction::Upstream,
            _ => return,
        };
        // SAFETY: req is the in-dialog request being processed.
        if let Some(msg) = unsafe { SipMsg::from_raw(req) } {
            H::on_request(&Kamailio, &d, &msg, dir, param)
        }
    })
}

/// DLGCB_LOADED for handler `H`.
unsafe extern "C" fn dlg_loaded<H: OnDialogLoaded<Kamailio>>(
    dlg: *mut dlg_cell,
    _type: i32,
    _p: *mut dlg_cb_params,
) {
    crate::log::guarded("dialog load callback", (), || {
        // SAFETY: the dialog module passes the loaded dialog for this call.
        if let Some(d) = unsafe { Dialog::borrowed(dlg) } {
            H::on_loaded(&Kamailio, &d)
        }
    })
}

impl Dialogs for Kamailio {
    type Dialog = Dialog;

    /// The dialog of this request, when dlg_manage() or the dialog flag made
    /// one (a reference, released when the value is dropped).
    fn dialog(&self, msg: &SipMsg) -> Option<Dialog> {
        let f = DLG.get()?.get_dlg?;
        // SAFETY: valid message; a non-NULL result carries a reference.
        let raw = unsafe { f(msg.raw()) };
        (!raw.is_null()).then_some(Dialog { raw, owned: true })
    }

    /// Kamailio's dialog API has no way to create one: the script does it
    /// (dlg_manage()). Nothing of Kamailio's uac asks for it.
    fn create_dialog(&self, _msg: &SipMsg) -> Result<Dialog, String> {
        Err("the dialog API cannot create a dialog (use dlg_manage() in the script)".into())
    }

    /// A copy of the dialog variable `name`.
    fn value(&self, d: &Dialog, name: &[u8]) -> Option<Vec<u8>> {
        let f = DLG.get()?.get_dlg_varval?;
        let mut k = str_of(name);
        let mut v = ffi::str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: get_dlg_varval copies the value into the process-local buffer
        // it points v at, valid until the next call; we copy it out at once.
        unsafe {
            f(d.raw, &mut k, &mut v);
            (!v.s.is_null()).then(|| str_bytes(&v).to_vec())
        }
    }

    fn set_value(&self, d: &Dialog, name: &[u8], v: Option<&[u8]>) -> Result<(), String> {
        let f = DLG
            .get()
            .and_then(|b| b.set_dlg_var)
            .ok_or("dialog API not loaded")?;
        let mut k = str_of(name);
        let mut v = v.map(str_of);
        let vp = v.as_mut().map_or(std::ptr::null_mut(), |v| v as *mut _);
        // SAFETY: the dialog module copies key and value into shm.
        if unsafe { f(d.raw, &mut k, vp) } < 0 {
            return Err(format!(
                "cannot store dialog variable {}",
                String::from_utf8_lossy(name)
            ));
        }
        Ok(())
    }

    fn on_requests<H: OnDialogRequest<Self>>(&self, d: &Dialog, w: Watch) -> Result<(), String> {
        // SAFETY: d is a live dialog (the Dialog constructors' contracts).
        unsafe {
            register_raw(
                d.raw,
                dlgcb_types(w.events),
                dlg_request::<H>,
                w.param as usize,
            )
        }
    }

    fn on_loaded<H: OnDialogLoaded<Self>>(&self) -> Result<(), String> {
        // SAFETY: NULL registers a global callback type (DLGCB_LOADED).
        unsafe { register_raw(std::ptr::null_mut(), ffi::DLGCB_LOADED, dlg_loaded::<H>, 0) }
    }
}
