//! `$uac_req(...)`, uac_req_send() and event_route[uac:reply]: the
//! pseudo-variable's glue and the entries of the send flow
//! (`flows::send`), on Kamailio's tm and script events.

use crate::err;
use crate::flows::send::{self as flow, with_current, SendHost};
use crate::kamailio::host::event::KamEvent;
use crate::kamailio::host::ffi::{pv_param_t, pv_spec_p, pv_value_t, sip_msg, str_};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::pv::{self, Assigned, Readout};
use crate::kamailio::host::str_bytes;
use crate::kamailio::host::tm::Tm;
use crate::send::{Key, Read, ResetAll, Value};
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
        if !tm_has(k) {
            err!(
                "$uac_req({}) needs the tm of Kamailio 6.1 (uac_req_t without it here)",
                String::from_utf8_lossy(name)
            );
            return -1;
        }
        // SAFETY: the spec the core is building for this PV.
        unsafe { pv::set_int_name(sp, k as i32) };
        0
    })
}

/// Keys tm takes from `uac_req_t` (6.1's cseqno and timers): known only where
/// the tree's tm has them.
fn tm_has(k: Key) -> bool {
    cfg!(kam_uac_req_timers) || !matches!(k, Key::Cseqno | Key::FrTimeout | Key::FrInvTimeout)
}

/// What `$uac_req(all) = $null` keeps: 6.1's module clears sock too.
const RESET: ResetAll = if cfg!(kamailio_ge = "6.1") {
    ResetAll::ClearSock
} else {
    ResetAll::KeepSock
};

fn key_of(param: *mut pv_param_t) -> Option<Key> {
    // SAFETY: NULL or the spec's parameter, named by pv_parse_name.
    Key::from_number(unsafe { pv::int_name(param) }?)
}

pub(crate) unsafe extern "C" fn pv_get(
    msg: *mut sip_msg,
    param: *mut pv_param_t,
    res: *mut pv_value_t,
) -> c_int {
    guarded("$uac_req", -1, || {
        let Some(k) = key_of(param) else { return -1 };
        with_current(|r| {
            let v = match r.get(k) {
                Read::Null => Readout::Null,
                Read::Int(i) => Readout::Uint(i),
                Read::Str(s) => Readout::Str(s),
            };
            // SAFETY: the core's read; a string value points into our
            // per-process record, which lives until the script changes it.
            unsafe { pv::readout(msg, param, res, v) }
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
        let v = match unsafe { pv::assigned(val, k.is_int()) } {
            Assigned::Null => Value::Null,
            // as the stock module: the low 32 bits of the number
            Assigned::Int(i) => Value::Int(i as u32),
            Assigned::Str(s) => Value::Str(s),
        };
        match with_current(|r| r.set_with(k, v, RESET)) {
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
