//! The SIP message port: what a flow reads from, and changes in, one message
//! the host hands it for the length of a call (a script function, a callback).
//!
//! Offsets are into [`SipMessage::buf`], the message as received; changes are
//! [`Edit`]s the host turns into its lumps, applied when the message is sent.
//! Nothing here knows a host type: each host's `host/msg.rs` implements these
//! traits on its own message wrapper, and `ports::mock` implements them on a
//! plain buffer for the flows' unit tests.

pub use crate::replace::header::Edit;

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

/// Where the parts of a parsed From/To header are: offsets into the message
/// buffer (`display` and `tag` are None when the header has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ident {
    /// End of the header name (`From`), where a search back for `<` stops.
    pub name_end: usize,
    /// Start of the header body (after `From:` and white space).
    pub body_start: usize,
    /// End of the header body (before CRLF).
    pub body_end: usize,
    /// The URI (offset, length).
    pub uri: (usize, usize),
    /// The display name as the parser saw it, quotes included.
    pub display: Option<(usize, usize)>,
    /// The tag parameter's value.
    pub tag: Option<(usize, usize)>,
}

impl Ident {
    pub fn uri_end(&self) -> usize {
        self.uri.0 + self.uri.1
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

    /// Adds a whole header line (CRLF included) after the last header.
    fn append_header(&self, line: &[u8]) -> Result<(), String>;

    /// Sets the request URI for the next relay (a new branch).
    fn set_ruri(&self, uri: &[u8]) -> Result<(), String>;

    /// Sets a mark on this message (and not on the transaction's copy).
    fn set_mark(&self, m: Mark);
}
