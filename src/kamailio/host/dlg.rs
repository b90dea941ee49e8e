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
    /// The dialog of this request, when dlg_manage() or the dialog flag made one.
    pub fn of(msg: &SipMsg) -> Option<Dialog> {
        let f = DLG.get()?.get_dlg?;
        // SAFETY: valid message; a non-NULL result carries a reference.
        let raw = unsafe { f(msg.raw()) };
        (!raw.is_null()).then_some(Dialog { raw, owned: true })
    }

    /// A dialog the dialog module handed to a callback (no reference taken).
    ///
    /// # Safety
    /// `raw` must be valid for the duration of the callback.
    pub unsafe fn borrowed(raw: *mut dlg_cell) -> Option<Dialog> {
        (!raw.is_null()).then_some(Dialog { raw, owned: false })
    }

    pub fn has_var(&self, name: &[u8]) -> bool {
        let Some(f) = DLG.get().and_then(|b| b.get_dlg_varstatus) else {
            return false;
        };
        let mut k = str_of(name);
        // SAFETY: valid dialog; the key is only read.
        unsafe { f(self.raw, &mut k) != 0 }
    }

    /// Sets a dialog variable; `None` deletes it.
    pub fn set_var(&self, name: &[u8], val: Option<&[u8]>) -> Result<(), String> {
        let f = DLG
            .get()
            .and_then(|b| b.set_dlg_var)
            .ok_or("dialog API not loaded")?;
        let mut k = str_of(name);
        let mut v = val.map(str_of);
        let vp = v.as_mut().map_or(std::ptr::null_mut(), |v| v as *mut _);
        // SAFETY: the dialog module copies key and value into shm.
        if unsafe { f(self.raw, &mut k, vp) } < 0 {
            return Err(format!(
                "cannot store dialog variable {}",
                String::from_utf8_lossy(name)
            ));
        }
        Ok(())
    }

    /// A copy of a dialog variable's value.
    pub fn var(&self, name: &[u8]) -> Option<Vec<u8>> {
        let f = DLG.get()?.get_dlg_varval?;
        let mut k = str_of(name);
        let mut v = ffi::str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: get_dlg_varval copies the value into the process-local buffer
        // it points v at, valid until the next call; we copy it out at once.
        unsafe {
            f(self.raw, &mut k, &mut v);
            (!v.s.is_null()).then(|| str_bytes(&v).to_vec())
        }
    }

    /// Registers `cb` on this dialog (or, with `raw == NULL`, a global type such as
    /// DLGCB_LOADED), with `param` handed back to it.
    pub fn register(&self, types: u32, cb: DlgCallback, param: usize) -> Result<(), String> {
        // SAFETY: self.raw is a live dialog (constructor contracts).
        unsafe { register_raw(self.raw, types, cb, param) }
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
