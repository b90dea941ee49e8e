//! A safe view of one OpenSIPS `struct sip_msg` for the duration of a script
//! function or callback, through the glue (opensips-glue/glue.c).

use super::ffi::{self, sip_msg};
use crate::ports::message::{Edit, Ident, Which};

/// The glue's code for a header (0 From, 1 To).
pub(super) fn which_code(w: Which) -> i32 {
    match w {
        Which::From => 0,
        Which::To => 1,
    }
}

/// A message the core handed to the current call (never NULL).
pub struct SipMsg {
    ptr: std::ptr::NonNull<sip_msg>,
}

impl SipMsg {
    /// # Safety
    /// `raw` must be NULL or a valid message the core handed us for the
    /// current call.
    pub unsafe fn from_raw(raw: *mut sip_msg) -> Option<SipMsg> {
        std::ptr::NonNull::new(raw).map(|ptr| SipMsg { ptr })
    }

    pub fn raw(&self) -> *mut sip_msg {
        self.ptr.as_ptr()
    }

    pub fn flags(&self) -> u32 {
        // SAFETY: raw is valid.
        unsafe { ffi::osg_msg_flags(self.raw()) }
    }

    pub fn add_flags(&self, f: u32) {
        // SAFETY: raw is valid; we only set bits.
        unsafe { ffi::osg_msg_set_flags(self.raw(), ffi::osg_msg_flags(self.raw()) | f) }
    }

    /// Parses From or To; where its parts are.
    pub fn ident(&self, which: Which) -> Result<Ident, String> {
        let mut id = ffi::osg_ident::default();
        // SAFETY: raw is valid; the glue parses the header and fills id.
        if unsafe { ffi::osg_ident(self.raw(), which_code(which), &mut id) } != 0 {
            return Err(format!("failed to find/parse {} hdr", which.upper()));
        }
        let u = |v: i32| v.max(0) as usize;
        let span = |o: i32, l: i32| (l > 0).then_some((u(o), u(l)));
        Ok(Ident {
            name_end: u(id.name_end),
            body_start: u(id.body_start),
            body_end: u(id.body_end),
            uri: (u(id.uri_start), u(id.uri_len)),
            display: span(id.display_start, id.display_len),
            tag: span(id.tag_start, id.tag_len),
        })
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
        if ffi::osg_shm_req_ident(
            req,
            which_code(which),
            &mut body,
            &mut blen,
            &mut us,
            &mut ul,
        ) != 0
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
            if ffi::osg_cseq(self.raw(), parse as i32, &mut s, &mut l, &mut off) != 0
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

    pub fn has_totag(&self) -> bool {
        // SAFETY: raw is valid; the glue parses To if needed.
        unsafe { ffi::osg_has_totag(self.raw()) != 0 }
    }

    /// The To tag (empty when none); Err when To does not parse.
    pub fn totag(&self) -> Result<Vec<u8>, String> {
        let (mut p, mut l) = (std::ptr::null(), 0);
        // SAFETY: the tag points into msg->buf, copied at once.
        unsafe {
            if ffi::osg_totag(self.raw(), &mut p, &mut l) != 0 {
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
        if unsafe { ffi::osg_cseq_span(self.raw(), &mut off, &mut len) } != 0 || off < 0 || len < 0
        {
            return None;
        }
        Some((off as usize, len as usize))
    }

    /// The bodies of the already parsed headers of a type (no parsing: the
    /// message may be tm's shared copy).
    pub fn header_values(&self, hdr_type: i32) -> Vec<&[u8]> {
        let mut out = Vec::new();
        for idx in 0.. {
            let (mut s, mut l) = (std::ptr::null(), 0);
            // SAFETY: header bodies point into msg->buf.
            unsafe {
                if ffi::osg_hdr_value(self.raw(), hdr_type, idx, &mut s, &mut l) != 0
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
        unsafe { ffi::osg_msg_id(self.raw()) }
    }

    /// Turns edits into lumps, in order, giving the lump holding each edit's
    /// new data (None for a pure deletion).
    pub fn apply_kept(&self, edits: &[Edit]) -> Result<Vec<Option<LumpHandle>>, String> {
        let mut out = Vec::with_capacity(edits.len());
        for e in edits {
            let mut h = std::ptr::null_mut();
            let text = e.text();
            // SAFETY: offsets come from this message's parsed headers; the
            // glue copies the text into pkg memory for the lump; h receives
            // the data lump (or NULL).
            let r = unsafe {
                match e {
                    Edit::Replace { offset, len, .. } | Edit::Delete { offset, len } => {
                        ffi::osg_replace_h(
                            self.raw(),
                            *offset as i32,
                            *len as i32,
                            text.as_ptr() as *const _,
                            text.len() as i32,
                            &mut h,
                        )
                    }
                    Edit::Insert { offset, .. } => ffi::osg_insert_h(
                        self.raw(),
                        *offset as i32,
                        text.as_ptr() as *const _,
                        text.len() as i32,
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
                self.raw(),
                old.as_ptr() as *const _,
                old.len() as i32,
                new.as_ptr() as *const _,
                new.len() as i32,
            )
        };
        usize::try_from(n).map_err(|_| "lump update failed".to_string())
    }
}

// ---- the message port (src/ports/message.rs) ----

use crate::ports::message::{self as port, CseqMessage, CseqSpans, Header, Mark, MsgKey};

crate::host_header_types!(ffi);

/// The msg_flags bit of a mark (parser/msg_parser.h); OpenSIPS has no
/// FL_UAC_AUTH (its uac marks a changed CSeq instead).
pub(super) fn mark_bit(m: Mark) -> u32 {
    match m {
        Mark::UacFrom => 1 << 6, // FL_USE_UAC_FROM
        Mark::UacTo => 1 << 7,   // FL_USE_UAC_TO
        Mark::UacCseq => 1 << 8, // FL_USE_UAC_CSEQ
        Mark::UacAuth => 0,
    }
}

impl port::SipMessage for SipMsg {
    /// The message bytes as received (lumps are applied when it is sent).
    fn buf(&self) -> &[u8] {
        let mut len = 0;
        // SAFETY: msg->buf holds msg->len bytes for the life of the message.
        unsafe {
            let p = ffi::osg_msg_buf(self.raw(), &mut len);
            if p.is_null() || len <= 0 {
                return &[];
            }
            std::slice::from_raw_parts(p as *const u8, len as usize)
        }
    }

    fn is_request(&self) -> bool {
        // SAFETY: raw is valid (from_raw contract).
        unsafe { ffi::osg_msg_is_request(self.raw()) != 0 }
    }

    /// The first token of a request's first line.
    fn method(&self) -> &[u8] {
        if !self.is_request() {
            return b"";
        }
        let buf = self.buf();
        let sp = buf.iter().position(|&c| c == b' ').unwrap_or(0);
        &buf[..sp]
    }

    /// The already parsed headers only: these messages are tm's shared
    /// copies (replies of a branch), which must not be parsed into pkg
    /// memory.
    fn header_values(&self, h: Header) -> Result<Vec<&[u8]>, String> {
        Ok(SipMsg::header_values(self, hdr_type(h)))
    }

    /// The message body (empty when none).
    fn body(&self) -> Result<&[u8], String> {
        let (mut s, mut l) = (std::ptr::null(), 0);
        // SAFETY: the body points into msg->buf.
        unsafe {
            if ffi::osg_body(self.raw(), &mut s, &mut l) != 0 {
                return Err("Failed to get message body".into());
            }
            if s.is_null() || l <= 0 {
                return Ok(&[]);
            }
            Ok(std::slice::from_raw_parts(s as *const u8, l as usize))
        }
    }

    fn ident(&self, which: Which) -> Result<Ident, String> {
        SipMsg::ident(self, which)
    }

    fn cseq_number(&self) -> Option<u32> {
        let (n, _) = self.cseq(true)?;
        std::str::from_utf8(n).ok()?.parse().ok()
    }

    fn key(&self) -> MsgKey {
        MsgKey {
            id: self.id(),
            pid: std::process::id() as i32,
        }
    }

    fn has_mark(&self, m: Mark) -> bool {
        let bit = mark_bit(m);
        bit != 0 && self.flags() & bit != 0
    }
}

impl port::EditMessage for SipMsg {
    type Lump = Option<LumpHandle>;

    fn apply_edits(&self, edits: &[Edit], applied: &mut Vec<Self::Lump>) -> Result<(), String> {
        for e in edits {
            applied.extend(self.apply_kept(std::slice::from_ref(e))?);
        }
        Ok(())
    }

    /// The lumps stay (OpenSIPS takes them back with the message); their
    /// new data is emptied.
    fn remove_edits(&self, lumps: &[Self::Lump]) {
        for h in lumps.iter().flatten() {
            // SAFETY: handles come from apply_edits on this message, which
            // the core is still processing (the caller's contract).
            let _ = unsafe { self.set_lump(*h, b"") };
        }
    }

    /// The new text goes into the lumps already made (a removal would leave
    /// their deletions in place).
    fn rewrite_edits(
        &self,
        lumps: &[Self::Lump],
        edits: &[Edit],
    ) -> Result<Vec<Self::Lump>, String> {
        if lumps.len() != edits.len() {
            return Err("edits of another form".into());
        }
        for (h, e) in lumps.iter().zip(edits) {
            if let Some(h) = h {
                // SAFETY: as in remove_edits: a lump made for this message
                // (same msg id, same process) by an earlier call.
                unsafe { self.set_lump(*h, e.text())? };
            }
        }
        Ok(lumps.to_vec())
    }

    /// Adds a header line (CRLF included) after the last header.
    fn append_header(&self, h: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the line into a pkg lump.
        if unsafe { ffi::osg_append_hdr(self.raw(), h.as_ptr() as *const _, h.len() as i32) } != 0 {
            return Err("failed to apply changes".into());
        }
        Ok(())
    }

    /// Sets the request URI for the next branch (new_uri).
    fn set_ruri(&self, uri: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the URI into pkg memory.
        if unsafe { ffi::osg_set_ruri(self.raw(), uri.as_ptr() as *const _, uri.len() as i32) } != 0
        {
            return Err("no more pkg".into());
        }
        Ok(())
    }

    fn set_mark(&self, m: Mark) {
        self.add_flags(mark_bit(m))
    }
}

impl CseqMessage for SipMsg {
    fn cseq_spans(&self) -> Option<CseqSpans> {
        let (num, off) = self.cseq(true)?;
        Some(CseqSpans {
            number: (off, num.len()),
            after_name: self.cseq_span()?,
        })
    }
}
