//! A safe view of one OpenSIPS `struct sip_msg` for the duration of a script
//! function or callback, through the glue (opensips-glue/glue.c).

use super::ffi::{self, sip_msg};
use crate::opensips::uac::edits::{Edit, Ident};

/// Which identity header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    From,
    To,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::From => "FROM",
            Which::To => "TO",
        }
    }
    fn code(self) -> i32 {
        match self {
            Which::From => 0,
            Which::To => 1,
        }
    }
    /// The msg_flags bit the stock module sets once it changed this header.
    pub fn flag(self) -> u32 {
        match self {
            Which::From => 1 << 6, // FL_USE_UAC_FROM
            Which::To => 1 << 7,   // FL_USE_UAC_TO
        }
    }
}

pub struct SipMsg {
    raw: *mut sip_msg,
}

impl SipMsg {
    /// # Safety
    /// `raw` must be a valid message the core handed us for the current call.
    pub unsafe fn from_raw(raw: *mut sip_msg) -> Option<SipMsg> {
        (!raw.is_null()).then_some(SipMsg { raw })
    }

    pub fn raw(&self) -> *mut sip_msg {
        self.raw
    }

    /// The message bytes as received (lumps are applied when it is sent).
    pub fn buf(&self) -> &[u8] {
        let mut len = 0;
        // SAFETY: msg->buf holds msg->len bytes for the life of the message.
        unsafe {
            let p = ffi::osg_msg_buf(self.raw, &mut len);
            if p.is_null() || len <= 0 {
                return &[];
            }
            std::slice::from_raw_parts(p as *const u8, len as usize)
        }
    }

    pub fn is_request(&self) -> bool {
        // SAFETY: raw is valid (from_raw contract).
        unsafe { ffi::osg_msg_is_request(self.raw) != 0 }
    }

    pub fn flags(&self) -> u32 {
        // SAFETY: raw is valid.
        unsafe { ffi::osg_msg_flags(self.raw) }
    }

    pub fn add_flags(&self, f: u32) {
        // SAFETY: raw is valid; we only set bits.
        unsafe { ffi::osg_msg_set_flags(self.raw, ffi::osg_msg_flags(self.raw) | f) }
    }

    /// Parses From or To; where its parts are.
    pub fn ident(&self, which: Which) -> Result<Ident, String> {
        let mut id = ffi::osg_ident::default();
        // SAFETY: raw is valid; the glue parses the header and fills id.
        if unsafe { ffi::osg_ident(self.raw, which.code(), &mut id) } != 0 {
            return Err(format!("failed to find/parse {} hdr", which.name()));
        }
        let u = |v: i32| v.max(0) as usize;
        Ok(Ident {
            name_end: u(id.name_end),
            body_start: u(id.body_start),
            body_end: u(id.body_end),
            uri_start: u(id.uri_start),
            uri_len: u(id.uri_len),
            display_start: u(id.display_start),
            display_len: u(id.display_len),
            tag_len: u(id.tag_len),
        })
    }

    /// Turns edits into lumps, in order.
    pub fn apply(&self, edits: &[Edit]) -> Result<(), String> {
        for e in edits {
            // SAFETY: offsets come from this message's parsed headers; the
            // glue copies data into pkg memory for the lump.
            let r = unsafe {
                match e {
                    Edit::Replace { off, len, data } => ffi::osg_replace(
                        self.raw,
                        *off as i32,
                        *len as i32,
                        data.as_ptr() as *const _,
                        data.len() as i32,
                    ),
                    Edit::Insert { off, data } => ffi::osg_insert(
                        self.raw,
                        *off as i32,
                        data.as_ptr() as *const _,
                        data.len() as i32,
                    ),
                }
            };
            if r != 0 {
                return Err("lump insertion failed".into());
            }
        }
        Ok(())
    }
}

/// The From/To body of a request tm keeps in shared memory, with the URI's
/// position in it (no allocation in the shared copy).
pub struct ShmIdent<'a> {
    pub body: &'a [u8],
    pub uri_start: usize,
    pub uri_len: usize,
}

/// # Safety
/// `req` must be a request tm handed to a callback (t->uas.request).
pub unsafe fn shm_request_ident<'a>(req: *mut sip_msg, which: Which) -> Option<ShmIdent<'a>> {
    let (mut body, mut blen, mut us, mut ul) = (std::ptr::null(), 0, 0, 0);
    // SAFETY: per the contract; the glue only reads the request.
    unsafe {
        if ffi::osg_shm_req_ident(req, which.code(), &mut body, &mut blen, &mut us, &mut ul) != 0
            || body.is_null()
            || blen < 0
        {
            return None;
        }
        // the glue parses up to one byte past the body (its CRLF), as stock
        let body = std::slice::from_raw_parts(body as *const u8, blen as usize + 1);
        Some(ShmIdent {
            body,
            uri_start: us.max(0) as usize,
            uri_len: ul.max(0) as usize,
        })
    }
}

impl SipMsg {
    /// The CSeq number and its offset (parsing the header when `parse`).
    pub fn cseq(&self, parse: bool) -> Option<(&[u8], usize)> {
        let (mut s, mut l, mut off) = (std::ptr::null(), 0, 0);
        // SAFETY: the number points into msg->buf, valid while the message is.
        unsafe {
            if ffi::osg_cseq(self.raw, parse as i32, &mut s, &mut l, &mut off) != 0
                || s.is_null()
                || l < 0
            {
                return None;
            }
            Some((
                std::slice::from_raw_parts(s as *const u8, l as usize),
                off.max(0) as usize,
            ))
        }
    }

    /// The message body (empty when none).
    pub fn body(&self) -> Result<&[u8], String> {
        let (mut s, mut l) = (std::ptr::null(), 0);
        // SAFETY: the body points into msg->buf.
        unsafe {
            if ffi::osg_body(self.raw, &mut s, &mut l) != 0 {
                return Err("Failed to get message body".into());
            }
            if s.is_null() || l <= 0 {
                return Ok(&[]);
            }
            Ok(std::slice::from_raw_parts(s as *const u8, l as usize))
        }
    }

    pub fn has_totag(&self) -> bool {
        // SAFETY: raw is valid; the glue parses To if needed.
        unsafe { ffi::osg_has_totag(self.raw) != 0 }
    }

    /// The To tag (empty when none); Err when To does not parse.
    pub fn totag(&self) -> Result<Vec<u8>, String> {
        let (mut p, mut l) = (std::ptr::null(), 0);
        // SAFETY: the tag points into msg->buf, copied at once.
        unsafe {
            if ffi::osg_totag(self.raw, &mut p, &mut l) != 0 {
                return Err("failed to parse TO hdr".into());
            }
            if p.is_null() || l <= 0 {
                return Ok(Vec::new());
            }
            Ok(std::slice::from_raw_parts(p as *const u8, l as usize).to_vec())
        }
    }

    /// Where the CSeq value after the header name (": 1 INVITE") is:
    /// (offset into buf, length).
    pub fn cseq_span(&self) -> Option<(usize, usize)> {
        let (mut off, mut len) = (0, 0);
        // SAFETY: raw is valid; the glue parses CSeq if needed.
        if unsafe { ffi::osg_cseq_span(self.raw, &mut off, &mut len) } != 0 || off < 0 || len < 0 {
            return None;
        }
        Some((off as usize, len as usize))
    }

    /// Sets the request URI for the next branch (new_uri).
    pub fn set_ruri(&self, uri: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the URI into pkg memory.
        if unsafe { ffi::osg_set_ruri(self.raw, uri.as_ptr() as *const _, uri.len() as i32) } != 0 {
            return Err("no more pkg".into());
        }
        Ok(())
    }

    /// Adds a header line (CRLF included) after the last header.
    pub fn append_header(&self, h: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the line into a pkg lump.
        if unsafe { ffi::osg_append_hdr(self.raw, h.as_ptr() as *const _, h.len() as i32) } != 0 {
            return Err("failed to apply changes".into());
        }
        Ok(())
    }

    /// The bodies of the already parsed headers of a type (no parsing: the
    /// message may be tm's shared copy).
    pub fn header_values(&self, hdr_type: i32) -> Vec<&[u8]> {
        let mut out = Vec::new();
        for idx in 0.. {
            let (mut s, mut l) = (std::ptr::null(), 0);
            // SAFETY: header bodies point into msg->buf.
            unsafe {
                if ffi::osg_hdr_value(self.raw, hdr_type, idx, &mut s, &mut l) != 0
                    || s.is_null()
                    || l < 0
                {
                    break;
                }
                out.push(std::slice::from_raw_parts(s as *const u8, l as usize));
            }
        }
        out
    }
}

/// An ADD lump we made (its data can be replaced while the message is
/// processed; the core frees it with the message).
#[derive(Debug, Clone, Copy)]
pub struct LumpHandle(*mut std::ffi::c_void);

impl SipMsg {
    /// msg->id: with the process, identifies the message being processed.
    pub fn id(&self) -> u32 {
        // SAFETY: raw is valid.
        unsafe { ffi::osg_msg_id(self.raw) }
    }

    /// Like [`SipMsg::apply`], giving the lump holding each edit's new data
    /// (None for a pure deletion).
    pub fn apply_kept(&self, edits: &[Edit]) -> Result<Vec<Option<LumpHandle>>, String> {
        let mut out = Vec::with_capacity(edits.len());
        for e in edits {
            let mut h = std::ptr::null_mut();
            // SAFETY: as in apply; h receives the data lump (or NULL).
            let r = unsafe {
                match e {
                    Edit::Replace { off, len, data } => ffi::osg_replace_h(
                        self.raw,
                        *off as i32,
                        *len as i32,
                        data.as_ptr() as *const _,
                        data.len() as i32,
                        &mut h,
                    ),
                    Edit::Insert { off, data } => ffi::osg_insert_h(
                        self.raw,
                        *off as i32,
                        data.as_ptr() as *const _,
                        data.len() as i32,
                        &mut h,
                    ),
                }
            };
            if r != 0 {
                return Err("lump insertion failed".into());
            }
            out.push((!h.is_null()).then_some(LumpHandle(h)));
        }
        Ok(out)
    }

    /// Replaces the data of a lump made for this message by [`SipMsg::apply_kept`].
    ///
    /// # Safety
    /// `h` must come from apply_kept on this message, still being processed.
    pub unsafe fn set_lump(&self, h: LumpHandle, data: &[u8]) -> Result<(), String> {
        // SAFETY: per the contract, h is a live ADD lump of this message.
        if unsafe { ffi::osg_lump_set(h.0, data.as_ptr() as *const _, data.len() as i32) } != 0 {
            return Err("lump update failed".into());
        }
        Ok(())
    }

    /// Replaces the data of every ADD lump that holds exactly `old` (rr's
    /// copies of a Record-Route parameter we added); how many.
    pub fn rewrite_added(&self, old: &[u8], new: &[u8]) -> Result<usize, String> {
        // SAFETY: the glue walks this message's lump lists.
        let n = unsafe {
            ffi::osg_rewrite_add_lumps(
                self.raw,
                old.as_ptr() as *const _,
                old.len() as i32,
                new.as_ptr() as *const _,
                new.len() as i32,
            )
        };
        usize::try_from(n).map_err(|_| "lump update failed".to_string())
    }
}
