//! The server side of digest on a request: the core's parsed credentials
//! (`auth_body_t` in hdr->parsed, which `$au`, `$ar` and other modules read),
//! the request parts the nonce checks cover, replies and reply headers.

// Every `*mut sip_msg` / `*mut hdr_field` here is the message (or one of its
// headers) the host handed to the current entry point, valid for the call;
// the entry points check for NULL. Hence plain (not unsafe) functions.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::ffi::{self, auth_body_t, hdr_field, sip_msg, str_};
use super::{str_bytes, str_of};
use crate::digest::verify::Creds;
use std::ptr::null_mut;

pub const HDR_AUTHORIZATION: i32 = ffi::_hdr_types_t_HDR_AUTHORIZATION_T;
pub const HDR_PROXYAUTH: i32 = ffi::_hdr_types_t_HDR_PROXYAUTH_T;
pub const METHOD_ACK: i32 = ffi::request_method_METHOD_ACK as i32;
pub const METHOD_CANCEL: i32 = ffi::request_method_METHOD_CANCEL as i32;
pub const METHOD_PRACK: i32 = ffi::request_method_METHOD_PRACK as i32;
pub const METHOD_REGISTER: i32 = ffi::request_method_METHOD_REGISTER as i32;
pub const METHOD_PUBLISH: i32 = ffi::request_method_METHOD_PUBLISH as i32;

/// The request's method value (0 for a reply or no message).
pub fn method(msg: *mut sip_msg) -> i32 {
    if msg.is_null() {
        return 0;
    }
    // SAFETY: msg is the valid message of the current call.
    unsafe { ffi::uacg_req_method(msg) }
}

/// The request method text.
pub fn method_str(msg: *mut sip_msg) -> Vec<u8> {
    // SAFETY: for a request the first line's method points into the buffer.
    unsafe {
        if msg.is_null() || (*msg).first_line.type_ != ffi::SIP_REQUEST as i16 {
            return Vec::new();
        }
        str_bytes(&(*msg).first_line.u.request.method).to_vec()
    }
}

/// find_credentials: Ok(Some(hdr)) for credentials with `realm`, Ok(None)
/// when there are none, Err on a parse error.
pub fn find(
    msg: *mut sip_msg,
    realm: &[u8],
    hftype: i32,
) -> Result<Option<*mut hdr_field>, String> {
    let mut r = str_of(realm);
    let mut h: *mut hdr_field = null_mut();
    // SAFETY: valid message; the core parses the headers and their credentials
    // into pkg memory that lives with the message.
    let ret = unsafe { ffi::find_credentials(msg, &mut r, hftype as ffi::hdr_types_t, &mut h) };
    match ret {
        0 if !h.is_null() => Ok(Some(h)),
        r if r > 0 => Ok(None),
        r => Err(format!("find_credentials failed ({r})")),
    }
}

/// The parsed credentials of a header find() returned.
///
/// # Safety
/// `h` must be a credentials header of the current message, parsed.
pub unsafe fn body<'a>(h: *mut hdr_field) -> &'a mut auth_body_t {
    // SAFETY: caller contract: parsed points at the core's auth_body_t.
    unsafe { &mut *((*h).parsed as *mut auth_body_t) }
}

/// The fields verification needs, borrowed from the parsed credentials.
///
/// # Safety
/// `d` must be parsed credentials of the current message.
pub unsafe fn creds<'a>(d: &ffi::dig_cred_t) -> Creds<'a> {
    // SAFETY: all point into the message buffer (or are NULL/empty).
    unsafe {
        Creds {
            username: str_bytes(&d.username.whole),
            realm: str_bytes(&d.realm),
            nonce: str_bytes(&d.nonce),
            uri: str_bytes(&d.uri),
            response: str_bytes(&d.response),
            algorithm: str_bytes(&d.alg.alg_str),
            qop: str_bytes(&d.qop.qop_str),
            cnonce: str_bytes(&d.cnonce),
            nc: str_bytes(&d.nc),
        }
    }
}

/// mark_authorized_cred: later functions ($au, consume_credentials) use it.
pub fn mark_authorized(msg: *mut sip_msg, h: *mut hdr_field) -> bool {
    // SAFETY: valid message and one of its credentials headers.
    unsafe { ffi::mark_authorized_cred(msg, h) >= 0 }
}

/// check_dig_cred: 0 when every required field is there.
///
/// # Safety
/// `d` must be parsed credentials.
pub unsafe fn check_dig_cred(d: &mut ffi::dig_cred_t) -> u32 {
    // SAFETY: caller contract.
    unsafe { ffi::check_dig_cred(d) }
}

/// The credentials marked authorized (Authorization first, then Proxy-).
pub fn authorized(msg: *mut sip_msg) -> Option<*mut hdr_field> {
    // SAFETY: valid message; get_authorized_cred only reads parsed pointers.
    unsafe {
        for f in [(*msg).authorization, (*msg).proxy_auth] {
            let mut h: *mut hdr_field = null_mut();
            ffi::get_authorized_cred(f, &mut h);
            if !h.is_null() {
                return Some(h);
            }
        }
    }
    None
}

/// Removes a whole header from the message (a del lump).
pub fn remove_header(msg: *mut sip_msg, h: *mut hdr_field) -> bool {
    // SAFETY: h is a header of msg; its name points into msg->buf.
    unsafe {
        let off = (*h).name.s.offset_from((*msg).buf) as i32;
        !ffi::del_lump(msg, off, (*h).len, 0).is_null()
    }
}

/// The message body (empty when none).
pub fn msg_body<'a>(msg: *mut sip_msg) -> &'a [u8] {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: the body points into the message buffer.
    unsafe {
        ffi::uacg_msg_body(msg, &mut s);
        str_bytes(&s)
    }
}

/// The current R-URI, Call-ID, From tag and source IP bytes.
pub fn ruri<'a>(msg: *mut sip_msg) -> &'a [u8] {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: GET_RURI points into the message or its new_uri.
    unsafe {
        ffi::uacg_get_ruri(msg, &mut s);
        str_bytes(&s)
    }
}

fn get_with(
    msg: *mut sip_msg,
    f: unsafe extern "C" fn(*mut sip_msg, *mut str_) -> i32,
) -> Option<&'static [u8]> {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: the glue fills s with a part of the message (valid for the call;
    // callers use it only during the current function).
    unsafe { (f(msg, &mut s) == 0).then(|| str_bytes(&s)) }
}

pub fn callid(msg: *mut sip_msg) -> Option<&'static [u8]> {
    get_with(msg, ffi::uacg_callid)
}
pub fn from_tag(msg: *mut sip_msg) -> Option<&'static [u8]> {
    get_with(msg, ffi::uacg_from_tag)
}
pub fn src_ip(msg: *mut sip_msg) -> Option<&'static [u8]> {
    get_with(msg, ffi::uacg_src_ip)
}

/// The To tag (empty when none or unparsable).
pub fn to_tag(msg: *mut sip_msg) -> Vec<u8> {
    // SAFETY: uacg_parse_to parses To into the message; to_body lives with it.
    unsafe {
        if ffi::uacg_parse_to(msg) < 0 || (*msg).to.is_null() || (*(*msg).to).parsed.is_null() {
            return Vec::new();
        }
        str_bytes(&(*((*(*msg).to).parsed as *const ffi::to_body)).tag_value).to_vec()
    }
}

/// User and host of the From / To URI or the R-URI.
pub enum UriOf {
    From,
    To,
    Request,
}

pub fn uri_user_host(msg: *mut sip_msg, which: UriOf) -> Option<(Vec<u8>, Vec<u8>)> {
    // SAFETY: the parse functions return NULL or a parsed URI kept in the message.
    unsafe {
        let u: *mut ffi::sip_uri = match which {
            UriOf::From => ffi::parse_from_uri(msg),
            UriOf::To => ffi::parse_to_uri(msg),
            UriOf::Request => {
                if ffi::parse_sip_msg_uri(msg) < 0 {
                    return None;
                }
                &mut (*msg).parsed_uri
            }
        };
        if u.is_null() {
            return None;
        }
        Some((
            str_bytes(&(*u).user).to_vec(),
            str_bytes(&(*u).host).to_vec(),
        ))
    }
}

/// Sends a reply to the request (sl: stateless, or stateful when a
/// transaction exists unless `stateless`).
pub fn reply(msg: *mut sip_msg, code: i32, reason: &str, stateless: bool) -> bool {
    // SAFETY: valid request; the glue's sl API was bound in mod_init.
    unsafe {
        ffi::uacg_sl_reply(
            msg,
            code,
            reason.as_ptr() as *const _,
            reason.len() as i32,
            stateless as i32,
        ) >= 0
    }
}

/// Adds header lines (CRLF included) to the reply this request will get.
pub fn add_reply_header(msg: *mut sip_msg, hdr: &[u8]) -> bool {
    // SAFETY: add_lump_rpl copies the bytes.
    unsafe { ffi::uacg_add_rpl_hdr(msg, hdr.as_ptr() as *const _, hdr.len() as i32) == 0 }
}

/// An AVP named by an identifier like `digest_challenge` (challenge_attr
/// without its `$`), parsed at mod_init.
#[derive(Clone, Copy)]
pub struct AvpIdent(ffi::avp_ident_t);

// SAFETY: parsed before fork and only read; names point at memory kept for good.
unsafe impl Send for AvpIdent {}
// SAFETY: as for Send: shared references only read a value that no longer changes.
unsafe impl Sync for AvpIdent {}

impl AvpIdent {
    pub fn parse(name: &[u8]) -> Result<AvpIdent, String> {
        let mut s = str_of(super::leak_bytes(name));
        let mut id = ffi::avp_ident_t::default();
        // SAFETY: parse_avp_ident reads s (kept for good) and fills id.
        if unsafe { ffi::parse_avp_ident(&mut s, &mut id) } < 0 {
            return Err(format!(
                "invalid AVP name '{}'",
                String::from_utf8_lossy(name)
            ));
        }
        Ok(AvpIdent(id))
    }
    pub fn add_str(&self, v: &[u8]) -> bool {
        let val = ffi::int_str { s: str_of(v) };
        // SAFETY: add_avp copies the value into the current AVP list.
        unsafe { ffi::add_avp(self.0.flags | ffi::AVP_VAL_STR, self.0.name, val) >= 0 }
    }
}

/// Sets a writable pseudo-variable to a string.
///
/// # Safety
/// `pv` must be a pv_spec_t the fixup made.
pub unsafe fn pv_set(pv: *mut ffi::pv_spec_t, msg: *mut sip_msg, v: &[u8]) -> bool {
    let mut s = str_of(v);
    // SAFETY: caller contract; setf copies the value.
    unsafe { ffi::uacg_pv_set_str(pv, msg, &mut s) == 0 }
}

/// The core's start time and this process's number.
pub fn up_since() -> i64 {
    // SAFETY: reads a core global.
    unsafe { ffi::uacg_up_since() as i64 }
}
pub fn process_no() -> u32 {
    // SAFETY: reads a core global.
    unsafe { ffi::uacg_process_no() as u32 }
}
