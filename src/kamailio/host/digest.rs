//! The auth server's ports on a Kamailio request ([`SipMsg`]): the core's
//! parsed credentials (`auth_body_t` in hdr->parsed, which `$au`, `$ar` and
//! other modules read), the request parts the nonce checks cover, replies
//! and reply headers; plus the challenge AVP and the result pseudo-variable
//! of the auth module's functions.

use super::ffi::{self, hdr_field, sip_msg, str_};
use super::msg::SipMsg;
use super::{str_bytes, str_of};
use crate::ports::credentials::{AuthRequest, CredKind, Method, UriOf};
use crate::ports::message::Which;
use crate::ports::reply::{Reply, Sending};
use std::ptr::{null_mut, NonNull};

const METHOD_ACK: i32 = ffi::request_method_METHOD_ACK as i32;
const METHOD_CANCEL: i32 = ffi::request_method_METHOD_CANCEL as i32;
const METHOD_PRACK: i32 = ffi::request_method_METHOD_PRACK as i32;
const METHOD_REGISTER: i32 = ffi::request_method_METHOD_REGISTER as i32;
const METHOD_PUBLISH: i32 = ffi::request_method_METHOD_PUBLISH as i32;

crate::host_credentials!(
    super::ffi,
    super::str_bytes,
    ffi::_hdr_types_t_HDR_AUTHORIZATION_T,
    ffi::_hdr_types_t_HDR_PROXYAUTH_T
);

fn get_with(
    msg: &SipMsg,
    f: unsafe extern "C" fn(*mut sip_msg, *mut str_) -> i32,
) -> Option<&[u8]> {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: the glue fills s with a part of the message (valid while the
    // message is, which the borrow of msg covers).
    unsafe { (f(msg.raw(), &mut s) == 0).then(|| str_bytes(&s)) }
}

impl AuthRequest for SipMsg {
    type Cred = CredHdr;

    fn method_kind(&self) -> Method {
        // SAFETY: a valid message (SipMsg's contract).
        let m = unsafe { ffi::uacg_req_method(self.raw()) };
        match m {
            0 => Method::None,
            METHOD_ACK => Method::Ack,
            METHOD_CANCEL => Method::Cancel,
            METHOD_PRACK => Method::Prack,
            METHOD_REGISTER => Method::Register,
            METHOD_PUBLISH => Method::Publish,
            _ => Method::Other,
        }
    }

    /// find_credentials of the core: parses the headers and their
    /// credentials into pkg memory that lives with the message.
    fn find_credentials(&self, realm: &[u8], kind: CredKind) -> Result<Option<CredHdr>, String> {
        let mut r = str_of(realm);
        let mut h: *mut hdr_field = null_mut();
        // SAFETY: valid message; the core only reads realm.
        let ret = unsafe {
            ffi::find_credentials(
                self.raw(),
                &mut r,
                hdr_type(kind) as ffi::hdr_types_t,
                &mut h,
            )
        };
        match ret {
            0 if !h.is_null() => Ok(NonNull::new(h).map(CredHdr)),
            r if r > 0 => Ok(None),
            r => Err(format!("find_credentials failed ({r})")),
        }
    }

    crate::parsed_credentials_methods!();

    /// get_authorized_cred on Authorization, then Proxy-Authorization.
    fn authorized(&self) -> Option<CredHdr> {
        // SAFETY: valid message; get_authorized_cred only reads parsed pointers.
        unsafe {
            let m = self.raw();
            for f in [(*m).authorization, (*m).proxy_auth] {
                let mut h: *mut hdr_field = null_mut();
                ffi::get_authorized_cred(f, &mut h);
                if let Some(h) = NonNull::new(h) {
                    return Some(CredHdr(h));
                }
            }
        }
        None
    }

    /// A del lump over the whole header.
    fn remove_credentials(&self, h: CredHdr) -> Result<(), String> {
        // SAFETY: h is a header of this message; its name points into msg->buf.
        unsafe {
            let m = self.raw();
            let off = (*h.raw()).name.s.offset_from((*m).buf) as i32;
            if ffi::del_lump(m, off, (*h.raw()).len, 0).is_null() {
                return Err("del_lump failed".into());
            }
        }
        Ok(())
    }

    /// Only in request and event routes (MSRP): in failure and reply routes
    /// the message is tm's copy (or a reply) and its credentials are not
    /// parsed here.
    fn credentials_readable(&self) -> bool {
        super::route_type() & (ffi::REQUEST_ROUTE | ffi::EVENT_ROUTE) != 0
    }

    /// GET_RURI: the message's URI or its new_uri.
    fn ruri(&self) -> &[u8] {
        let mut s = str_ {
            s: null_mut(),
            len: 0,
        };
        // SAFETY: GET_RURI points into the message or its new_uri, which live
        // as long as the message.
        unsafe {
            ffi::uacg_get_ruri(self.raw(), &mut s);
            str_bytes(&s)
        }
    }

    fn callid(&self) -> Option<&[u8]> {
        get_with(self, ffi::uacg_callid)
    }

    fn tag(&self, which: Which) -> Option<&[u8]> {
        if which == Which::From {
            return get_with(self, ffi::uacg_from_tag);
        }
        // SAFETY: uacg_parse_to parses To into the message; to_body lives with it.
        unsafe {
            let m = self.raw();
            if ffi::uacg_parse_to(m) < 0 || (*m).to.is_null() || (*(*m).to).parsed.is_null() {
                return None;
            }
            let t = str_bytes(&(*((*(*m).to).parsed as *const ffi::to_body)).tag_value);
            (!t.is_empty()).then_some(t)
        }
    }

    fn src_ip(&self) -> Option<&[u8]> {
        get_with(self, ffi::uacg_src_ip)
    }

    fn uri_user_host(&self, which: UriOf) -> Option<(&[u8], &[u8])> {
        // SAFETY: the parse functions return NULL or a parsed URI kept in the
        // message (From's and To's in their parsed bodies, the R-URI's in
        // msg->parsed_uri).
        unsafe {
            let m = self.raw();
            let u: *mut ffi::sip_uri = match which {
                UriOf::From => ffi::parse_from_uri(m),
                UriOf::To => ffi::parse_to_uri(m),
                UriOf::Request => {
                    if ffi::parse_sip_msg_uri(m) < 0 {
                        return None;
                    }
                    &mut (*m).parsed_uri
                }
            };
            if u.is_null() {
                return None;
            }
            Some((str_bytes(&(*u).user), str_bytes(&(*u).host)))
        }
    }
}

impl Reply for SipMsg {
    fn add_reply_header(&self, lines: &[u8]) -> Result<(), String> {
        // SAFETY: valid request; add_lump_rpl copies the bytes.
        let r = unsafe {
            ffi::uacg_add_rpl_hdr(self.raw(), lines.as_ptr() as *const _, lines.len() as i32)
        };
        if r != 0 {
            return Err("add_lump_rpl failed".into());
        }
        Ok(())
    }

    /// sl's reply: through tm when the request has a transaction (unless
    /// stateless), else stateless.
    fn send_reply(&self, code: u16, reason: &str, how: Sending) -> Result<(), String> {
        // SAFETY: valid request; the glue's sl API was bound in mod_init.
        let r = unsafe {
            ffi::uacg_sl_reply(
                self.raw(),
                code as i32,
                reason.as_ptr() as *const _,
                reason.len() as i32,
                (how == Sending::Stateless) as i32,
            )
        };
        if r < 0 {
            return Err(format!("failed to send the {code} reply"));
        }
        Ok(())
    }
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
/// `pv` must be a pv_spec_t the fixup made; `msg` the current message.
pub unsafe fn pv_set(pv: *mut ffi::pv_spec_t, msg: *mut sip_msg, v: &[u8]) -> bool {
    let mut s = str_of(v);
    // SAFETY: caller contract; setf copies the value.
    unsafe { ffi::uacg_pv_set_str(pv, msg, &mut s) == 0 }
}

/// The PV spec of a name (`$var(x)`) from the core's PV cache (parsed once
/// per process), when it names a writable PV.
pub fn pv_by_name(name: &[u8]) -> Option<*mut ffi::pv_spec_t> {
    let mut s = str_of(name);
    // SAFETY: pv_cache_get parses (or finds) the spec; it copies the name.
    let pv = unsafe { ffi::pv_cache_get(&mut s) };
    // SAFETY: a spec from the cache lives for the process.
    (!pv.is_null() && unsafe { ffi::uacg_pv_writable(pv) } != 0).then_some(pv)
}
