//! `bind_uac`: the C API other modules load with `load_uac_api()` (pv_headers and
//! rtjson call replace_from/replace_to through it). Layout of the stock
//! module's `uac_api_t` (modules/uac/api.h).

use super::from_to::Uac;
use crate::err;
use crate::flows::from_to as flow;
use crate::kamailio::host::ffi::{sip_msg, str_};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::str_bytes;
use crate::kamailio::host::Kamailio;
use crate::ports::message::Which;
use std::os::raw::c_int;

pub type ReplaceFn = unsafe extern "C" fn(*mut sip_msg, *mut str_, *mut str_) -> c_int;
pub type ReqSendFn = unsafe extern "C" fn() -> c_int;

#[repr(C)]
pub struct UacApi {
    pub replace_from: Option<ReplaceFn>,
    pub replace_to: Option<ReplaceFn>,
    pub req_send: Option<ReqSendFn>,
}

/// Fills the API table. Returns 0, or -1 for a NULL table (as the stock module).
///
/// # Safety
/// `api` is NULL or points to a `uac_api_t` the caller owns.
pub unsafe extern "C" fn bind_uac(api: *mut UacApi) -> c_int {
    guarded("bind_uac", -1, || {
        if api.is_null() {
            crate::warn!("bind_uac: Cannot load uac API into a NULL pointer");
            return -1;
        }
        // SAFETY: caller contract; we write the three fields.
        unsafe {
            *api = UacApi {
                replace_from: Some(api_replace_from),
                replace_to: Some(api_replace_to),
                req_send: Some(api_req_send),
            };
        }
        0
    })
}

/// The API form: an empty display or URI leaves that part alone; 0 on success.
fn api_replace(which: Which, m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    guarded("uac API replace", -1, || {
        // SAFETY: the calling module passes its current message and strs.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let part = |p: *mut str_| {
            // SAFETY: p is NULL or a valid str for this call.
            (!p.is_null())
                .then(|| unsafe { str_bytes(&*p) }.to_vec())
                .filter(|v| !v.is_empty())
        };
        match flow::replace::<Uac>(
            &Kamailio,
            &msg,
            which,
            part(d).as_deref(),
            part(u).as_deref(),
        ) {
            Ok(()) => 0,
            Err(e) => {
                err!("uac API replace_{}: {e}", which.name());
                -1
            }
        }
    })
}

unsafe extern "C" fn api_replace_from(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    api_replace(Which::From, m, d, u)
}

unsafe extern "C" fn api_replace_to(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    api_replace(Which::To, m, d, u)
}

/// The API form of uac_req_send(): sends the process's $uac_req; 1 on success.
unsafe extern "C" fn api_req_send() -> c_int {
    super::send::send_entry()
}
