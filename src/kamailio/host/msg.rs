//! A safe view of one `struct sip_msg` for the duration of a script function or
//! callback.

use super::ffi::{self, hdr_field, sip_msg, to_body};
use super::str_bytes;
use crate::ports::message::{Ident, SipMessage, Which};

pub struct SipMsg {
    raw: *mut sip_msg,
}

impl SipMsg {
    /// # Safety
    /// `raw` must be a valid message the host handed us for the current call.
    pub unsafe fn from_raw(raw: *mut sip_msg) -> Option<SipMsg> {
        (!raw.is_null()).then_some(SipMsg { raw })
    }

    pub fn raw(&self) -> *mut sip_msg {
        self.raw
    }

    pub fn has_flag(&self, f: u32) -> bool {
        // SAFETY: as above.
        unsafe { has_flag(self.raw, f) }
    }

    pub fn set_flag(&self, f: u32) {
        // SAFETY: as above.
        unsafe { add_flag(self.raw, f) }
    }

    /// (id, pid): identifies this message in this process.
    pub fn ctx_id(&self) -> (u32, i32) {
        // SAFETY: as above.
        unsafe { (ffi::uacg_msg_id(self.raw), ffi::uacg_msg_pid(self.raw)) }
    }

    /// The bodies of every header of `ty` (e.g. WWW-Authenticate), in order,
    /// after parsing all headers. For tm's shared-memory copy of a reply the
    /// headers are already parsed, so nothing is allocated.
    pub fn header_bodies(&self, ty: i32) -> Result<Vec<&[u8]>, String> {
        // SAFETY: valid message; the header list and bodies live with it.
        unsafe {
            if ffi::uacg_parse_all_headers(self.raw) < 0 {
                return Err("failed to parse the message headers".into());
            }
            let mut out = Vec::new();
            let mut h = (*self.raw).headers;
            while !h.is_null() {
                if (*h).type_ == ty {
                    out.push(super::str_bytes(&(*h).body));
                }
                h = (*h).next;
            }
            Ok(out)
        }
    }

    /// Sets the request URI (as `$ru = ...`) and marks it as a branch for the
    /// next t_relay(). When it already is that URI, only the mark is set: it
    /// saves a pkg allocation, which costs more than the whole digest here.
    pub fn rewrite_uri(&self, uri: &[u8]) -> Result<(), String> {
        let mut cur = ffi::str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: GET_RURI points into the message (or its new_uri) and is only
        // read here, before anything changes it.
        if unsafe {
            ffi::uacg_get_ruri(self.raw, &mut cur);
            super::str_bytes(&cur) == uri
        } {
            // SAFETY: sets the core's per-process R-URI forking flag.
            unsafe { ffi::uacg_ruri_mark_new() };
            return Ok(());
        }
        let mut s = super::str_of(uri);
        // SAFETY: rewrite_uri copies the URI into the message's new_uri.
        if unsafe { ffi::rewrite_uri(self.raw, &mut s) } < 0 {
            return Err("cannot set the request URI".into());
        }
        Ok(())
    }

    /// Parses the From or To header; None when it is missing or malformed.
    pub fn identity(&self, which: Which) -> Option<Ident> {
        // SAFETY: the parse functions take the valid message; the header and its
        // parsed body then live as long as the message.
        unsafe {
            let hdr: *mut hdr_field = match which {
                Which::From => {
                    if ffi::parse_from_header(self.raw) < 0 {
                        return None;
                    }
                    (*self.raw).from
                }
                Which::To => {
                    if ffi::uacg_parse_to(self.raw) < 0 {
                        return None;
                    }
                    (*self.raw).to
                }
            };
            if hdr.is_null() || (*hdr).parsed.is_null() {
                return None;
            }
            self.header_view(hdr)
        }
    }

    /// The From or To header only if already parsed: for the transaction's copy
    /// of a request in shared memory, which must not be parsed into pkg memory.
    pub fn identity_parsed(&self, which: Which) -> Option<Ident> {
        // SAFETY: we only read header pointers the parser has already set.
        unsafe {
            let hdr = match which {
                Which::From => (*self.raw).from,
                Which::To => (*self.raw).to,
            };
            if hdr.is_null() || (*hdr).parsed.is_null() {
                return None;
            }
            self.header_view(hdr)
        }
    }

    /// # Safety
    /// `hdr` must be a From/To header of this message with a parsed to_body.
    unsafe fn header_view(&self, hdr: *mut hdr_field) -> Option<Ident> {
        let buf = self.buf();
        let base = buf.as_ptr() as usize;
        // SAFETY: caller contract.
        let (h, body) = unsafe { (&*hdr, &*((*hdr).parsed as *const to_body)) };
        let off = |p: *const i8| (p as usize).checked_sub(base).filter(|o| *o <= buf.len());
        let uri_off = off(body.uri.s)?;
        let uri_len = body.uri.len as usize;
        if uri_len == 0 || uri_off + uri_len > buf.len() {
            return None;
        }
        let span = |s: &ffi::str_| {
            (s.len > 0)
                .then(|| off(s.s).map(|o| (o, s.len as usize)))
                .flatten()
                .filter(|(o, l)| o + l <= buf.len())
        };
        let body_end = off(h.body.s)? + h.body.len.max(0) as usize;
        Some(Ident {
            name_end: off(h.name.s)? + h.name.len as usize,
            body_start: off(body.body.s)?,
            body_end: body_end.min(buf.len()),
            uri: (uri_off, uri_len),
            display: span(&body.display),
            tag: span(&body.tag_value),
        })
    }
}

// ---- the message port (src/ports/message.rs) ----

use crate::ports::message::{self as port, Header, Mark, MsgKey};

crate::host_header_types!(ffi);

/// Whether the FL_* `bit` is set in a message's `msg_flags`, whatever the
/// field's width (5.6: `unsigned int`; 6.x: `msg_flags_t`, 64 bits). Every
/// flag we use is below bit 32 on both.
///
/// # Safety
/// `m` must point at a valid message.
pub(super) unsafe fn has_flag(m: *const sip_msg, bit: u32) -> bool {
    // SAFETY: the caller's valid message; msg_flags is a plain field.
    bit != 0 && super::widen::<_, u64>(unsafe { (*m).msg_flags }) & u64::from(bit) != 0
}

/// Sets the FL_* `bit` in a message's `msg_flags` (of either width).
///
/// # Safety
/// `m` must point at a valid message that no one else writes meanwhile.
pub(super) unsafe fn add_flag(m: *mut sip_msg, bit: u32) {
    fn or<T: From<u32> + std::ops::BitOrAssign>(field: &mut T, bit: u32) {
        *field |= T::from(bit);
    }
    // SAFETY: the caller's valid message; msg_flags is a plain field.
    or(unsafe { &mut (*m).msg_flags }, bit)
}

/// The msg_flags bit of a mark; Kamailio has none for a CSeq change.
pub(super) fn mark_bit(m: Mark) -> u32 {
    match m {
        Mark::UacFrom => ffi::FL_USE_UAC_FROM,
        Mark::UacTo => ffi::FL_USE_UAC_TO,
        Mark::UacAuth => ffi::FL_UAC_AUTH,
        Mark::UacCseq => 0,
    }
}

impl port::SipMessage for SipMsg {
    fn buf(&self) -> &[u8] {
        // SAFETY: buf holds len bytes for the message's lifetime.
        unsafe {
            let m = &*self.raw;
            std::slice::from_raw_parts(m.buf as *const u8, m.len as usize)
        }
    }

    fn is_request(&self) -> bool {
        // SAFETY: raw is valid (from_raw contract).
        unsafe { (*self.raw).first_line.type_ == ffi::SIP_REQUEST as i16 }
    }

    /// The request method (empty for a reply).
    fn method(&self) -> &[u8] {
        if !self.is_request() {
            return &[];
        }
        // SAFETY: for a request, first_line.u.request is the active union member
        // and points into the message buffer.
        unsafe { super::str_bytes(&(*self.raw).first_line.u.request.method) }
    }

    fn header_values(&self, h: Header) -> Result<Vec<&[u8]>, String> {
        self.header_bodies(hdr_type(h))
    }

    fn body(&self) -> Result<&[u8], String> {
        let mut s = ffi::str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: the glue finds the body inside the message buffer, which
        // lives as long as the message.
        unsafe {
            ffi::uacg_msg_body(self.raw, &mut s);
            Ok(str_bytes(&s))
        }
    }

    fn ident(&self, which: Which) -> Result<Ident, String> {
        self.identity(which)
            .ok_or_else(|| format!("failed to find/parse {} hdr", which.upper()))
    }

    fn cseq_number(&self) -> Option<u32> {
        // SAFETY: parses the CSeq header of the valid message.
        u32::try_from(unsafe { ffi::uacg_cseq_number(self.raw) }).ok()
    }

    fn key(&self) -> MsgKey {
        let (id, pid) = self.ctx_id();
        MsgKey { id, pid }
    }

    fn has_mark(&self, m: Mark) -> bool {
        self.has_flag(mark_bit(m))
    }
}
