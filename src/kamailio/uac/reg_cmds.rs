//! Config-file and KEMI entry points of the uac_reg_* functions: parse the
//! arguments, call the registrant flow (`flows::registrant::cmds`), map the
//! result to the return code.

use super::registration::registrant;
use super::{kemi_str, spve};
use crate::err;
use crate::flows::registrant::cmds::RequestTo;
use crate::kamailio::host::ffi::{self, pv_spec_t, sip_msg, str_};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::pv;
use std::os::raw::{c_char, c_int};

fn lookup(m: *mut sip_msg, src: Option<Vec<u8>>, dst: *mut pv_spec_t, mode: i32) -> c_int {
    let what = if mode == 0 {
        "uac_reg_lookup"
    } else {
        "uac_reg_lookup_uri"
    };
    guarded(what, -1, || {
        // SAFETY: the core hands us the current message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let Some(src) = src else {
            err!("{what}: cannot get the uuid parameter");
            return -1;
        };
        let Some(reg) = registrant() else { return -1 };
        match reg.lookup(&src, mode) {
            Ok(v) => {
                // SAFETY: dst is the fixed-up (or cached) PV spec.
                match unsafe { pv::set_str(&msg, dst, &v) } {
                    Ok(()) => 1,
                    Err(e) => {
                        err!("{what}: {e}");
                        -1
                    }
                }
            }
            Err(c) => c,
        }
    })
}

pub(crate) unsafe extern "C" fn w_lookup(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    lookup(m, unsafe { spve(m, p1) }, p2 as *mut pv_spec_t, 0)
}

pub(crate) unsafe extern "C" fn w_lookup_uri(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    lookup(m, unsafe { spve(m, p1) }, p2 as *mut pv_spec_t, 1)
}

fn pv_of(name: *mut str_) -> *mut pv_spec_t {
    if name.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: pv_cache_get parses (or finds) the spec for this name.
    unsafe { ffi::pv_cache_get(name) }
}

/// KSR.uac.uac_reg_lookup(_uri)(src, "$var(dst)").
///
/// # Safety
/// KEMI's arguments: the message and two strs valid during the call.
unsafe fn ki_lookup_mode(m: *mut sip_msg, src: *mut str_, dst: *mut str_, mode: i32) -> c_int {
    let spec = pv_of(dst);
    if spec.is_null() {
        err!("cannot get pv spec for the destination");
        return -1;
    }
    // SAFETY: the caller's contract.
    lookup(m, unsafe { kemi_str(src) }, spec, mode)
}

pub(crate) unsafe extern "C" fn ki_lookup(
    m: *mut sip_msg,
    src: *mut str_,
    dst: *mut str_,
) -> c_int {
    // SAFETY: KEMI's arguments for this call.
    unsafe { ki_lookup_mode(m, src, dst, 0) }
}

pub(crate) unsafe extern "C" fn ki_lookup_uri(
    m: *mut sip_msg,
    src: *mut str_,
    dst: *mut str_,
) -> c_int {
    // SAFETY: KEMI's arguments for this call.
    unsafe { ki_lookup_mode(m, src, dst, 1) }
}

fn status(src: Option<Vec<u8>>) -> c_int {
    guarded("uac_reg_status", -1, || match src {
        Some(s) => registrant().map_or(-1, |r| r.status(&s)),
        None => {
            err!("cannot get the uuid parameter");
            -1
        }
    })
}

pub(crate) unsafe extern "C" fn w_status(
    m: *mut sip_msg,
    p1: *mut c_char,
    _: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    status(unsafe { spve(m, p1) })
}

pub(crate) unsafe extern "C" fn ki_status(_m: *mut sip_msg, src: *mut str_) -> c_int {
    // SAFETY: KEMI's str arguments, valid during the call.
    status(unsafe { kemi_str(src) })
}

fn request_to(m: *mut sip_msg, src: Option<Vec<u8>>, mode: Option<i32>) -> c_int {
    guarded("uac_reg_request_to", -1, || {
        // SAFETY: the core hands us the current message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let (Some(src), Some(mode)) = (src, mode) else {
            err!("cannot get the parameters");
            return -1;
        };
        let Some(reg) = registrant() else {
            return -1;
        };
        match reg.request_to(&src, mode) {
            Ok(to) => apply_request_to(&msg, &to),
            Err(code) => code,
        }
    })
}

/// Sets the R-URI, the destination URI and the auth AVPs.
fn apply_request_to(msg: &SipMsg, to: &RequestTo) -> c_int {
    if let Err(e) = msg.rewrite_uri(&to.ruri) {
        err!("error while setting request uri: {e}");
        return -1;
    }
    let d = crate::kamailio::host::str_of(&to.proxy);
    // SAFETY: the current message; set_dst_uri copies the URI.
    if unsafe { ffi::set_dst_uri(msg.raw(), &d) } < 0 {
        err!("error while setting outbound proxy");
        return -1;
    }
    if let Err(e) = super::auth::set_auth_avps(msg, &to.realm, &to.user, &to.password) {
        err!("error while setting auth values: {e}");
        return -1;
    }
    1
}

pub(crate) unsafe extern "C" fn w_request_to(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    let mut mode: c_int = 0;
    // SAFETY: p2 is the igp the fixup made.
    let mode = (unsafe { ffi::get_int_fparam(&mut mode, m, p2 as *mut ffi::fparam_t) } == 0)
        .then_some(mode);
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    request_to(m, unsafe { spve(m, p1) }, mode)
}

pub(crate) unsafe extern "C" fn ki_request_to(
    m: *mut sip_msg,
    src: *mut str_,
    mode: c_int,
) -> c_int {
    if mode > 1 {
        err!("invalid mode");
        return -1;
    }
    // SAFETY: KEMI's str arguments, valid during the call.
    request_to(m, unsafe { kemi_str(src) }, Some(mode))
}

fn set_enabled(a: Option<Vec<u8>>, v: Option<Vec<u8>>, enable: bool) -> c_int {
    guarded("uac_reg_enable/disable", -1, || match (a, v) {
        (Some(a), Some(v)) => match registrant() {
            Some(r) => r.set_enabled(&a, &v, enable),
            None => {
                err!("uac remote registrations not enabled");
                -1
            }
        },
        _ => {
            err!("cannot get the filter or value parameter");
            -1
        }
    })
}

pub(crate) unsafe extern "C" fn w_enable(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    set_enabled(unsafe { spve(m, p1) }, unsafe { spve(m, p2) }, true)
}

pub(crate) unsafe extern "C" fn w_disable(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    set_enabled(unsafe { spve(m, p1) }, unsafe { spve(m, p2) }, false)
}

pub(crate) unsafe extern "C" fn ki_enable(_m: *mut sip_msg, a: *mut str_, v: *mut str_) -> c_int {
    // SAFETY: KEMI's str arguments, valid during the call.
    set_enabled(unsafe { kemi_str(a) }, unsafe { kemi_str(v) }, true)
}

pub(crate) unsafe extern "C" fn ki_disable(_m: *mut sip_msg, a: *mut str_, v: *mut str_) -> c_int {
    // SAFETY: KEMI's str arguments, valid during the call.
    set_enabled(unsafe { kemi_str(a) }, unsafe { kemi_str(v) }, false)
}

fn refresh(u: Option<Vec<u8>>) -> c_int {
    guarded("uac_reg_refresh", -1, || match u {
        Some(u) => match registrant() {
            Some(r) => r.refresh(&u),
            None => {
                crate::warn!(
                    "failed to refresh record: {} - remote registrations not enabled",
                    String::from_utf8_lossy(&u)
                );
                -1
            }
        },
        None => {
            err!("cannot get the local uuid parameter");
            -1
        }
    })
}

pub(crate) unsafe extern "C" fn w_refresh(
    m: *mut sip_msg,
    p1: *mut c_char,
    _: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    refresh(unsafe { spve(m, p1) })
}

pub(crate) unsafe extern "C" fn ki_refresh(_m: *mut sip_msg, u: *mut str_) -> c_int {
    // SAFETY: KEMI's str arguments, valid during the call.
    refresh(unsafe { kemi_str(u) })
}

/// uac_reg_send_register / uac_reg_send_unregister (Kamailio 6.x): 1, -1.
fn send_now(what: &str, a: Option<Vec<u8>>, v: Option<Vec<u8>>, unregister: bool) -> c_int {
    guarded(what, -1, || {
        let (Some(a), Some(v)) = (a, v) else {
            err!("cannot get the filter or value parameter");
            return -1;
        };
        match registrant() {
            Some(r) => r.send_by(&a, &v, unregister),
            None => {
                err!("uac remote registrations not enabled");
                -1
            }
        }
    })
}

pub(crate) unsafe extern "C" fn w_send_register(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    let (a, v) = unsafe { (spve(m, p1), spve(m, p2)) };
    send_now("uac_reg_send_register", a, v, false)
}

pub(crate) unsafe extern "C" fn w_send_unregister(
    m: *mut sip_msg,
    p1: *mut c_char,
    p2: *mut c_char,
) -> c_int {
    // SAFETY: p1/p2 are the gparams the fixups made for this call.
    let (a, v) = unsafe { (spve(m, p1), spve(m, p2)) };
    send_now("uac_reg_send_unregister", a, v, true)
}
