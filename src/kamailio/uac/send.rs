//! `$uac_req(...)`, uac_req_send() and event_route[uac:reply].

use crate::digest::response::RequestInfo;
use crate::flows::digest_client::{self, Creds, Policy, Stored};
use crate::kamailio::host::ffi::{
    self, cell, pv_param_t, pv_spec_p, pv_value_t, sip_msg, str_, tmcb_params,
};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::{shm, str_bytes, str_of};
use crate::send::{Key, Read, UacReq, Value, FL_HA1};
use crate::{dbg, err};
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

thread_local! {
    /// $uac_req: per process, as in the stock module.
    static REQ: RefCell<UacReq> = RefCell::new(UacReq::default());
}

/// How the reply reaches the script: event_route[uac:reply], or a KEMI function.
enum EventTarget {
    None,
    Route(i32),
    Kemi(&'static [u8]),
}

static EVENT: OnceCell<EventTarget> = OnceCell::new();
static DEFAULT_SOCKET: OnceCell<Vec<u8>> = OnceCell::new();

/// At mod_init: find event_route[uac:reply] (or take the KEMI callback name).
pub fn init(event_callback: Option<Vec<u8>>, default_socket: Option<Vec<u8>>) {
    let target = match event_callback.filter(|c| !c.is_empty()) {
        Some(cb) => EventTarget::Kemi(crate::kamailio::host::leak_bytes(&cb)),
        None => {
            // SAFETY: looks the name up in the core's event route table.
            let rt = unsafe { ffi::uacg_event_route_lookup(c"uac:reply".as_ptr()) };
            if rt >= 0 {
                EventTarget::Route(rt)
            } else {
                EventTarget::None
            }
        }
    };
    let _ = EVENT.set(target);
    if let Some(s) = default_socket.filter(|s| !s.is_empty()) {
        let _ = DEFAULT_SOCKET.set(s);
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
        REQ.with(|r| {
            let mut r = r.borrow_mut();
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
        match REQ.with(|r| r.borrow_mut().set(k, v)) {
            Ok(()) => 0,
            Err(e) => {
                err!("{e}");
                -1
            }
        }
    })
}

// ---- sending ----

/// uac_req_send(): sends $uac_req through tm.
pub fn uac_req_send() -> Result<(), String> {
    let mut req = REQ.with(|r| r.borrow().clone());
    req.prepare_for_send()?;
    let needs_callback = (!req.auser.is_empty() && !req.apasswd.is_empty()) || req.evroute > 0;
    let cb = if needs_callback {
        let p = shm::put(&req.to_bytes());
        if p.is_null() {
            return Err("cannot clone the uac structure (out of shared memory)".into());
        }
        // evroute 2: only failures reach the event route (stock semantics).
        let (flags, f): (u32, crate::kamailio::host::tm::ReplyCallback) = if req.evroute == 2 {
            (ffi::TMCB_ON_FAILURE | ffi::TMCB_DESTROY, on_resend_reply)
        } else {
            (ffi::TMCB_LOCAL_COMPLETED | ffi::TMCB_DESTROY, on_reply)
        };
        Some((flags, f, p))
    } else {
        None
    };
    let sock = if req.sock.is_empty() {
        DEFAULT_SOCKET.get().map(|s| &s[..])
    } else {
        Some(&req.sock[..])
    };
    let out = crate::kamailio::host::tm::Outgoing {
        method: &req.method,
        ruri: &req.ruri,
        to: if req.turi.is_empty() {
            &req.ruri
        } else {
            &req.turi
        },
        from: if req.furi.is_empty() {
            &req.ruri
        } else {
            &req.furi
        },
        ouri: (!req.ouri.is_empty()).then_some(&req.ouri[..]),
        hdrs: (!req.hdrs.is_empty()).then_some(&req.hdrs[..]),
        body: (!req.body.is_empty()).then_some(&req.body[..]),
        sock,
        callid: (!req.callid.is_empty()).then_some(&req.callid[..]),
        callback: cb,
    };
    if let Err(e) = crate::kamailio::host::tm::request(&out, None) {
        if let Some((_, _, p)) = cb {
            // SAFETY: tm did not take the parameter when t_request failed.
            unsafe { shm::free(p) };
        }
        return Err(e);
    }
    Ok(())
}

/// Takes the shm record from a callback's parameter (NULL afterwards), so the
/// TMCB_DESTROY call that follows finds nothing to free.
///
/// # Safety
/// `ps` is tm's callback parameter block.
unsafe fn take_record(ps: *mut tmcb_params) -> Option<(UacReq, *mut c_void)> {
    // SAFETY: caller contract; *param is NULL or our shm blob.
    unsafe {
        if ps.is_null() || (*ps).param.is_null() || (*(*ps).param).is_null() {
            return None;
        }
        let p = *(*ps).param;
        *(*ps).param = null_mut();
        let r = UacReq::from_bytes(shm::get(p));
        if r.is_none() {
            shm::free(p);
            err!("uac_req_send callback: damaged request record");
        }
        r.map(|r| (r, p))
    }
}

/// Runs event_route[uac:reply] with $uac_req set to the request and its result.
fn run_event_route(mut req: UacReq, rpl: *mut sip_msg, code: i32) {
    let Some(target) = EVENT.get() else { return };
    if matches!(target, EventTarget::None) {
        return;
    }
    req.evcode = code as u32;
    req.evtype = if rpl.is_null() { 2 } else { 1 };
    REQ.with(|r| *r.borrow_mut() = req);
    // SAFETY: runs the script's event route on the reply (or a faked message).
    unsafe {
        match target {
            EventTarget::Route(rt) => ffi::uacg_run_event_route(*rt, rpl),
            EventTarget::Kemi(cb) => {
                let mut s = str_of(cb);
                if ffi::uacg_run_kemi_event(&mut s, c"uac:reply".as_ptr(), rpl) < 0 {
                    err!("error running event route kemi callback");
                }
            }
            EventTarget::None => {}
        }
    }
}

fn reply_of(ps: *mut tmcb_params) -> (*mut sip_msg, i32) {
    // SAFETY: tm's parameter block for this callback.
    unsafe {
        if ps.is_null() {
            return (null_mut(), 0);
        }
        let rpl = (*ps).rpl;
        // FAKED_REPLY ((struct sip_msg*)-1): a local timeout or cancel.
        let rpl = if rpl as isize == -1 { null_mut() } else { rpl };
        (rpl, (*ps).code)
    }
}

/// The first request's reply: event route, then, for 401/407 with credentials,
/// the authenticated request within the same dialog.
pub(crate) unsafe extern "C" fn on_reply(_t: *mut cell, _type: c_int, ps: *mut tmcb_params) {
    guarded("uac_req_send reply callback", (), || {
        // SAFETY: tm's parameter block.
        let Some((req, blob)) = (unsafe { take_record(ps) }) else {
            return;
        };
        let (rpl, code) = reply_of(ps);
        if req.evroute != 0 && code > 0 {
            run_event_route(req.clone(), rpl, code);
        }
        let mut keep = false;
        if (code == 401 || code == 407) && !req.apasswd.is_empty() && !rpl.is_null() {
            match resend_with_auth(&req, rpl, code, blob) {
                Ok(kept) => keep = kept,
                Err(e) => err!("uac_req_send: cannot answer the {code} challenge: {e}"),
            }
        }
        if !keep {
            // SAFETY: the blob is ours and no longer referenced by tm.
            unsafe { shm::free(blob) };
        }
    })
}

/// The authenticated request's reply (or, with evroute 2, failures).
pub(crate) unsafe extern "C" fn on_resend_reply(_t: *mut cell, _type: c_int, ps: *mut tmcb_params) {
    guarded("uac_req_send resend callback", (), || {
        // SAFETY: tm's parameter block.
        let Some((req, blob)) = (unsafe { take_record(ps) }) else {
            return;
        };
        let (rpl, code) = reply_of(ps);
        if req.evroute != 0 && code > 0 {
            run_event_route(req, rpl, code);
        }
        // SAFETY: the blob is ours and no longer referenced by tm.
        unsafe { shm::free(blob) };
    })
}

/// Sends the request again within the dialog of the challenge, with the answer.
/// Ok(true) when the shm record went on with the new request (for its event).
fn resend_with_auth(
    req: &UacReq,
    rpl: *mut sip_msg,
    code: i32,
    blob: *mut c_void,
) -> Result<bool, String> {
    // SAFETY: rpl is the received (pkg) reply of this callback.
    let reply = unsafe { SipMsg::from_raw(rpl) }.ok_or("no reply")?;
    // $uac_req(auser)/(apasswd) answer any realm, as in the stock module.
    let creds = Creds {
        user: req.auser.clone(),
        secret: if req.flags & FL_HA1 != 0 {
            Stored::Ha1(req.apasswd.clone())
        } else {
            Stored::Password(req.apasswd.clone())
        },
    };
    let info = RequestInfo {
        method: &req.method,
        uri: &req.ruri,
        body: &req.body,
    };
    let a = digest_client::answer_reply(
        &reply,
        code,
        &Policy::AS_OFFERED,
        |_| Some(creds.clone()),
        &info,
    )
    .map_err(|e| e.to_string())?;
    let header = a.header;
    let hdrs = [&req.hdrs[..], &header[..]].concat();
    let callback = (req.evroute != 0).then_some((
        ffi::TMCB_LOCAL_COMPLETED | ffi::TMCB_DESTROY,
        on_resend_reply as _,
        blob,
    ));
    let out = crate::kamailio::host::tm::Outgoing {
        method: &req.method,
        ruri: &req.ruri,
        to: &req.ruri,
        from: &req.ruri,
        ouri: (!req.ouri.is_empty()).then_some(&req.ouri[..]),
        hdrs: Some(&hdrs),
        body: (!req.body.is_empty()).then_some(&req.body[..]),
        sock: (!req.sock.is_empty()).then_some(&req.sock[..]),
        callid: None,
        callback,
    };
    crate::kamailio::host::tm::request(&out, Some(rpl))?;
    dbg!(
        "uac_req_send: answered the {code} challenge for realm {}",
        a.realm
    );
    Ok(callback.is_some())
}

/// uac_req_send() for the config function, KEMI and the bind_uac API: 1 or -1.
pub fn send_entry() -> c_int {
    guarded("uac_req_send", -1, || match uac_req_send() {
        Ok(()) => 1,
        Err(e) => {
            err!("uac_req_send: {e}");
            -1
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
