//! Pseudo-variables named in module parameters (auth_*_avp), evaluated per message.

use super::ffi::{self, pv_param_t, pv_spec_p, pv_spec_t, pv_value_t, sip_msg};
use super::msg::SipMsg;
use super::{str_bytes, str_of};
use std::os::raw::c_int;

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

// ---- a module's own PV (`$uac_req(key)`): names as numbers, values ----

/// Names a PV being parsed by number (`PV_NAME_INTSTR` with an integer name),
/// as PV modules do for `$pv(key)`.
///
/// # Safety
/// `sp` is the spec the core is building for this PV.
pub unsafe fn set_int_name(sp: pv_spec_p, n: i32) {
    // SAFETY: the caller's spec; the name part is ours to fill.
    unsafe {
        (*sp).pvp.pvn.type_ = ffi::PV_NAME_INTSTR as c_int;
        (*sp).pvp.pvn.u.isname.type_ = Default::default();
        (*sp).pvp.pvn.u.isname.name.n = super::widen(n);
    }
}

/// The number `set_int_name` gave the PV (None for a NULL parameter or a
/// number out of range).
///
/// # Safety
/// `param` is NULL or the parameter of a spec named by `set_int_name`.
pub unsafe fn int_name(param: *mut pv_param_t) -> Option<i32> {
    if param.is_null() {
        return None;
    }
    // SAFETY: the caller's parameter, named by set_int_name (an integer).
    super::narrow(unsafe { (*param).pvn.u.isname.name.n })
}

/// A value the script assigns to a PV.
pub enum Assigned<'a> {
    Null,
    Int(i64),
    Str(&'a [u8]),
}

/// What the script assigns (`val` NULL for `$null`); a value that is both a
/// number and a string is taken as a number when `int_wanted`.
///
/// # Safety
/// `val` is NULL or the core's value for this assignment; its string lives
/// for the call.
pub unsafe fn assigned<'a>(val: *const pv_value_t, int_wanted: bool) -> Assigned<'a> {
    // SAFETY: the caller's value.
    let Some(v) = (unsafe { val.as_ref() }) else {
        return Assigned::Null;
    };
    if v.flags & ffi::PV_VAL_NULL as c_int != 0 {
        Assigned::Null
    } else if int_wanted && v.flags & ffi::PV_VAL_INT as c_int != 0 {
        Assigned::Int(super::widen(v.ri))
    } else if v.flags & ffi::PV_VAL_STR as c_int != 0 {
        // SAFETY: a string value of the call.
        Assigned::Str(unsafe { str_bytes(&v.rs) })
    } else {
        Assigned::Int(super::widen(v.ri))
    }
}

/// A PV's value to hand back to the core.
pub enum Readout<'a> {
    Null,
    Uint(u32),
    Str(&'a [u8]),
}

/// Fills `res` for a PV read (`pv_get_null`/`_uintval`/`_strval`): 0 on
/// success.
///
/// # Safety
/// The core's message, parameter and result of the read; a string value must
/// outlive the read (the core copies it or uses it at once).
pub unsafe fn readout(
    msg: *mut sip_msg,
    param: *mut pv_param_t,
    res: *mut pv_value_t,
    v: Readout<'_>,
) -> c_int {
    // SAFETY: the caller's arguments; pv_get_* only fill res.
    unsafe {
        match v {
            Readout::Null => ffi::pv_get_null(msg, param, res),
            Readout::Uint(i) => ffi::pv_get_uintval(msg, param, res, super::widen(i)),
            Readout::Str(s) => {
                let mut v = str_of(s);
                ffi::pv_get_strval(msg, param, res, &mut v)
            }
        }
    }
}
