//! `$uac_req(...)`, uac_req_send() and event_route[uac:reply]: the
//! pseudo-variable's glue and the entries of the send flow
//! (`flows::send`), on Kamailio's tm and script events.

use crate::err;
use crate::flows::send::{self as flow, with_current, SendHost};
use crate::kamailio::host::event::KamEvent;
use crate::kamailio::host::ffi::{self, pv_param_t, pv_spec_p, pv_value_t, sip_msg, str_};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::tm::Tm;
use crate::kamailio::host::{str_bytes, str_of};
use crate::send::{Key, Read, Value};
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int};

/// event_route[uac:reply] or the KEMI callback; None when the script has
/// neither.
static EVENT: OnceCell<Option<KamEvent>> = OnceCell::new();
static DEFAULT_SOCKET: OnceCell<Vec<u8>> = OnceCell::new();

/// At mod_init: find event_route[uac:reply] (or take the KEMI callback name).
pub fn init(event_callback: Option<Vec<u8>>, default_socket: Option<Vec<u8>>) {
    let _ = EVENT.set(KamEvent::find(c"uac:reply", event_callback.as_deref()));
    if let Some(s) = default_socket.filter(|s| !s.is_empty()) {
        let _ = DEFAULT_SOCKET.set(s);
    }
}

/// The uac module's send flow: tm, the reply event, `default_socket`.
pub struct UacSend;

impl SendHost for UacSend {
    type Req = Tm;
    type Event = KamEvent;

    fn event() -> Option<&'static KamEvent> {
        EVENT.get().and_then(|e| e.as_ref())
    }

    fn default_socket() -> Option<&'static [u8]> {
        DEFAULT_SOCKET.get().map(|s| &s[..])
    }
}

// ---- the pseudo-variable ----

/// Parses the name in `$uac_req(name)`.
pub(crate) unsafe extern "C" fn pv_parse_name(sp: pv_spec_p, input: *mut str_) -> c_int {
    guarded("$uac_req", -1, || {
        if sp.is_null() || input.is_null() {
            return -1;
        }
        // SAFETY: the core passes the spec being built and the name text.
        let name = unsafe { str_bytes(&*input) };
        let Some(k) = Key::parse(name) else {
            err!("unknown uac_req name {}", String::from_utf8_lossy(name));
            return -1;
        };
        // SAFETY: we fill the name part of the spec, as PV modules do.
        unsafe {
            (*sp).pvp.pvn.type_ = ffi::PV_NAME_INTSTR as c_int;
            (*sp).pvp.pvn.u.isname.type_ = 0;
            (*sp).pvp.pvn.u.isname.name.n = k as c_int;
        }
        0
    })
}

fn key_of(param: *mut pv_param_t) -> Option<Key> {
    if param.is_null() {
        return None;
    }
    // SAFETY: param is the spec's parameter, named by pv_parse_name.
    Key::from_number(unsafe { (*param).pvn.u.isname.name.n })
}

pub(crate) unsafe extern "C" fn pv_get(
    msg: *mut sip_msg,
    param: *mut pv_param_t,
    res: *mut pv_value_t,
) -> c_int {
    guarded("$uac_req", -1, || {
        let Some(k) = key_of(param) else { return -1 };
        with_current(|r| {
            // SAFETY: pv_get_* fill res; a string value points into our
            // per-process record, which lives until the script changes it.
            unsafe {
                match r.get(k) {
                    Read::Null => ffi::pv_get_null(msg, param, res),
                    Read::Int(i) => ffi::pv_get_uintval(msg, param, res, i),
                    Read::Str(s) => {
                        let mut v = str_of(s);
                        ffi::pv_get_strval(msg, param, res, &mut v)
                    }
                }
            }
        })
    })
}

pub(crate) unsafe extern "C" fn pv_set(
    _msg: *mut sip_msg,
    param: *mut pv_param_t,
    _op: c_int,
    val: *mut pv_value_t,
) -> c_int {
    guarded("$uac_req", -1, || {
        let Some(k) = key_of(param) else { return -1 };
        // SAFETY: val is NULL or the value the script assigns.
        let v = unsafe {
            match val.as_ref() {
                None => Value::Null,
                Some(v) if v.flags & ffi::PV_VAL_NULL as c_int != 0 => Value::Null,
                Some(v) if k.is_int() && v.flags & ffi::PV_VAL_INT as c_int != 0 => {
                    Value::Int(v.ri as u32)
                }
                Some(v) if v.flags & ffi::PV_VAL_STR as c_int != 0 => Value::Str(str_bytes(&v.rs)),
                Some(v) => Value::Int(v.ri as u32),
            }
        };
        match with_current(|r| r.set(k, v)) {
            Ok(()) => 0,
            Err(e) => {
                err!("{e}");
                -1
            }
        }
    })
}

// ---- sending ----

/// uac_req_send() for the config function, KEMI and the bind_uac API: 1 or -1.
pub fn send_entry() -> c_int {
    guarded("uac_req_send", -1, || {
        match flow::uac_req_send::<UacSend>(&Tm) {
            Ok(()) => 1,
            Err(e) => {
                err!("uac_req_send: {e}");
                -1
            }
        }
    })
}

pub(crate) unsafe extern "C" fn w_uac_req_send(
    _m: *mut sip_msg,
    _: *mut c_char,
    _: *mut c_char,
) -> c_int {
    send_entry()
}

pub(crate) unsafe extern "C" fn ki_uac_req_send(_m: *mut sip_msg) -> c_int {
    send_entry()
}
