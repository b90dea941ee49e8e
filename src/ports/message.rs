//! The SIP message port: what a flow reads from, and changes in, one message
//! the host hands it for the length of a call (a script function, a callback).
//!
//! Offsets are into [`SipMessage::buf`], the message as received; changes are
//! [`Edit`]s the host turns into its lumps, applied when the message is sent.
//! Nothing here knows a host type: each host's `host/msg.rs` implements these
//! traits on its own message wrapper, and `ports::mock` implements them on a
//! plain buffer for the flows' unit tests.

pub use crate::replace::header::{Edit, Ident};

/// The headers flows read by name. Hosts map them to their parsed header types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    WwwAuthenticate,
    ProxyAuthenticate,
    Authorization,
    ProxyAuthorization,
    Contact,
    Expires,
    MinExpires,
    CallId,
}

impl Header {
    /// The challenge header of a 401 (WWW-Authenticate) or 407
    /// (Proxy-Authenticate) reply; None for any other code.
    pub fn challenge_of(code: i32) -> Option<Header> {
        match code {
            401 => Some(Header::WwwAuthenticate),
            407 => Some(Header::ProxyAuthenticate),
            _ => None,
        }
    }

    /// The name as written on the wire (for log lines and the mock).
    pub fn name(self) -> &'static str {
        match self {
            Header::WwwAuthenticate => "WWW-Authenticate",
            Header::ProxyAuthenticate => "Proxy-Authenticate",
            Header::Authorization => "Authorization",
            Header::ProxyAuthorization => "Proxy-Authorization",
            Header::Contact => "Contact",
            Header::Expires => "Expires",
            Header::MinExpires => "Min-Expires",
            Header::CallId => "Call-ID",
        }
    }
}

/// Writes a host's `fn hdr_type(h: Header) -> i32`, the core's header type
/// of a port header name. Both hosts' bindings name those types
/// `_hdr_types_t_HDR_<NAME>_T` (the parser both inherited from SER), so the
/// table is written once; `$ffi` is the host's bindings module.
#[macro_export]
macro_rules! host_header_types {
    ($ffi:ident) => {
        /// The core's header type for a port header name.
        fn hdr_type(h: $crate::ports::message::Header) -> i32 {
            use $crate::ports::message::Header;
            match h {
                Header::WwwAuthenticate => $ffi::_hdr_types_t_HDR_WWW_AUTHENTICATE_T,
                Header::ProxyAuthenticate => $ffi::_hdr_types_t_HDR_PROXY_AUTHENTICATE_T,
                Header::Authorization => $ffi::_hdr_types_t_HDR_AUTHORIZATION_T,
                Header::ProxyAuthorization => $ffi::_hdr_types_t_HDR_PROXYAUTH_T,
                Header::Contact => $ffi::_hdr_types_t_HDR_CONTACT_T,
                Header::Expires => $ffi::_hdr_types_t_HDR_EXPIRES_T,
                Header::MinExpires => $ffi::_hdr_types_t_HDR_MIN_EXPIRES_T,
                Header::CallId => $ffi::_hdr_types_t_HDR_CALLID_T,
            }
        }
    };
}

/// Which identity header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    From,
    To,
}

impl Which {
    /// Lower case, as in the script function names (`uac_replace_from`).
    pub fn name(self) -> &'static str {
        match self {
            Which::From => "from",
            Which::To => "to",
        }
    }

    /// Upper case, as the stock modules write it in their log lines.
    pub fn upper(self) -> &'static str {
        match self {
            Which::From => "FROM",
            Which::To => "TO",
        }
    }

    /// The other header.
    pub fn other(self) -> Which {
        match self {
            Which::From => Which::To,
            Which::To => Which::From,
        }
    }
}

/// Marks the stock modules set on a message (and on the transaction's copy of
/// the request) so that later callbacks know what was changed. Each host maps
/// them to its own `msg_flags` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// From was replaced or restored (FL_USE_UAC_FROM).
    UacFrom,
    /// To was replaced or restored (FL_USE_UAC_TO).
    UacTo,
    /// The request was answered for a challenge by uac_auth (FL_UAC_AUTH).
    UacAuth,
    /// The request's CSeq was changed by us (OpenSIPS FL_USE_UAC_CSEQ).
    UacCseq,
}

impl Mark {
    pub fn of(which: Which) -> Mark {
        match which {
            Which::From => Mark::UacFrom,
            Which::To => Mark::UacTo,
        }
    }
}

/// Identifies a message while one process handles it: a flow that must
/// recognise "the same request again" (a second uac_replace_from() call)
/// compares these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgKey {
    pub id: u32,
    pub pid: i32,
}

/// Reading a message.
pub trait SipMessage {
    /// The message as received (changes made through [`EditMessage`] are not
    /// in it).
    fn buf(&self) -> &[u8];

    fn is_request(&self) -> bool;

    /// The request method; empty for a reply.
    fn method(&self) -> &[u8];

    /// The bodies of every header of this kind, in order. May parse the
    /// headers; the transaction's copy of a message in shared memory is
    /// already parsed, so nothing is allocated for it.
    fn header_values(&self, h: Header) -> Result<Vec<&[u8]>, String>;

    /// The message body (empty when there is none).
    fn body(&self) -> Result<&[u8], String>;

    /// Parses From or To: where its parts are.
    fn ident(&self, which: Which) -> Result<Ident, String>;

    /// The CSeq number.
    fn cseq_number(&self) -> Option<u32>;

    fn key(&self) -> MsgKey;

    fn has_mark(&self, m: Mark) -> bool;
}

/// Changing a message: lumps, the request URI, marks.
pub trait EditMessage: SipMessage {
    /// What the host needs to find one applied edit again.
    type Lump: Clone + std::fmt::Debug;

    /// Applies the edits in order; gives one handle per edit. On failure the
    /// edits already applied are in `applied` so that the caller can remove
    /// them.
    fn apply_edits(&self, edits: &[Edit], applied: &mut Vec<Self::Lump>) -> Result<(), String>;

    /// Takes back edits made on this message where they are still present.
    fn remove_edits(&self, lumps: &[Self::Lump]);

    /// Puts `edits` in place of the earlier edits `lumps` were made for
    /// (the same count, in the same order, each of the same
    /// [`Edit::form`]); gives the new handles. By default the old edits are
    /// removed and the new ones applied; a host whose removal leaves the
    /// deletion in place (OpenSIPS) writes the new text into the old lumps.
    fn rewrite_edits(
        &self,
        lumps: &[Self::Lump],
        edits: &[Edit],
    ) -> Result<Vec<Self::Lump>, String> {
        self.remove_edits(lumps);
        let mut out = Vec::new();
        self.apply_edits(edits, &mut out)?;
        Ok(out)
    }

    /// Adds a whole header line (CRLF included) after the last header.
    fn append_header(&self, line: &[u8]) -> Result<(), String>;

    /// Sets the request URI for the next relay (a new branch).
    fn set_ruri(&self, uri: &[u8]) -> Result<(), String>;

    /// Sets a mark on this message (and not on the transaction's copy).
    fn set_mark(&self, m: Mark);
}

/// Where the parts of the CSeq header are (offsets into the message buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CseqSpans {
    /// The number.
    pub number: (usize, usize),
    /// Everything after the header name through the method (`: 1 INVITE`),
    /// which OpenSIPS's uac rewrites whole over the dialog module's change.
    pub after_name: (usize, usize),
}

/// The CSeq header of a message a flow renumbers (OpenSIPS's uac_auth()
/// and uac_inc_cseq()).
pub trait CseqMessage: EditMessage {
    /// Parses the CSeq header if needed; None when it is missing or broken.
    fn cseq_spans(&self) -> Option<CseqSpans>;
}
