//! Pseudo-variables named in module parameters (auth_*_avp), evaluated per message.

use super::ffi::{self, pv_spec_t, pv_value_t};
use super::msg::SipMsg;
use super::{str_bytes, str_of};

/// A parsed pseudo-variable spec, fixed at mod_init and kept for the process life.
pub struct PvSpec(&'static mut pv_spec_t);

// SAFETY: parsed before fork and only read afterwards (pv_get_spec_value takes
// a mutable pointer but does not change a parsed spec); each process has its copy.
unsafe impl Send for PvSpec {}
// SAFETY: as for Send: after mod_init the spec is only read.
unsafe impl Sync for PvSpec {}

impl PvSpec {
    pub fn parse(spec: &[u8]) -> Result<PvSpec, String> {
        // The parsed spec points into its text: keep the text for good.
        let mut s = str_of(super::leak_bytes(spec));
        let pv: &'static mut pv_spec_t = Box::leak(Box::default());
        // SAFETY: pv_parse_spec reads s and fills pv, which lives forever.
        if unsafe { ffi::uacg_pv_parse_spec(&mut s, pv) } != 0 {
            return Err(format!(
                "malformed or non AVP {} AVP definition",
                String::from_utf8_lossy(spec)
            ));
        }
        Ok(PvSpec(pv))
    }

    /// The string value for this message; None when null or empty.
    pub fn get(&self, msg: &SipMsg) -> Option<Vec<u8>> {
        let mut v = pv_value_t::default();
        let spec = &*self.0 as *const pv_spec_t as *mut pv_spec_t;
        // SAFETY: valid message and spec; the value's string is copied at once.
        unsafe {
            if ffi::pv_get_spec_value(msg.raw(), spec, &mut v) != 0
                || v.flags & ffi::PV_VAL_NULL as i32 != 0
            {
                return None;
            }
            let out = str_bytes(&v.rs).to_vec();
            // frees the value when the PV handed out a pkg/shm copy
            ffi::pv_value_destroy(&mut v);
            Some(out).filter(|s| !s.is_empty())
        }
    }
}

/// Sets the string value of a writable PV spec (`$var(x) = "..."`).
///
/// # Safety
/// `spec` is a parsed spec that lives during the call; `msg` the current message.
pub unsafe fn set_str(msg: &SipMsg, spec: *mut pv_spec_t, val: &[u8]) -> Result<(), String> {
    // SAFETY: caller contract; the value is copied by the PV's setter.
    unsafe {
        if spec.is_null() || (*spec).setf.is_none() {
            return Err("destination is not writable".into());
        }
        let mut v = pv_value_t {
            flags: ffi::PV_VAL_STR as i32,
            rs: str_of(val),
            ..Default::default()
        };
        if ffi::pv_set_spec_value(msg.raw(), spec, 0, &mut v) != 0 {
            return Err("cannot set the destination".into());
        }
    }
    Ok(())
}

impl PvSpec {
    /// Sets a string value (for the auth_*_avp specs).
    pub fn set(&self, msg: &SipMsg, val: &[u8]) -> Result<(), String> {
        let spec = &*self.0 as *const pv_spec_t as *mut pv_spec_t;
        // SAFETY: a parsed spec that lives for the process.
        unsafe { set_str(msg, spec, val) }
    }
}
