//! The request port: sending a request in a transaction of the host (tm),
//! with a continuation for its final reply.
//!
//! A continuation is a type ([`OnReply`]) plus its state as bytes: the host
//! copies the bytes into shared memory with the transaction, and when the
//! final reply (or a local timeout) arrives, in whichever process receives
//! it, runs the type's handler with them. Nothing of the sending process's
//! memory travels: the handler finds everything else through statics made
//! before fork. Each host writes one generic callback (a trampoline per
//! handler type), so a flow never sees a host callback signature.

use super::message::SipMessage;

/// A request to send; the host copies what it keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outgoing<'a> {
    pub method: &'a [u8],
    pub ruri: &'a [u8],
    /// To and From URIs (for a new dialog; a request within a dialog takes
    /// them from the dialog).
    pub to: &'a [u8],
    pub from: &'a [u8],
    /// The outbound proxy (next hop), when not the request URI.
    pub ouri: Option<&'a [u8]>,
    /// Extra header lines, each ending in CRLF.
    pub hdrs: Option<&'a [u8]>,
    pub body: Option<&'a [u8]>,
    /// The local socket to send from (`proto:addr:port`).
    pub sock: Option<&'a [u8]>,
    /// The Call-ID of a new dialog (None: the host makes one).
    pub callid: Option<&'a [u8]>,
    /// The CSeq number of a new dialog's request (0: the host's default).
    /// Hosts without the setting ignore it (Kamailio before 6.1).
    pub cseq: u32,
    /// The transaction's final-response timers in the host's own units
    /// (Kamailio 6.1's tm: timer ticks of 1/16 s), 0: the host's defaults.
    /// Hosts without the setting ignore them.
    pub fr_timeout: u32,
    pub fr_inv_timeout: u32,
}

/// The identifiers of a dialog to send in (a registration refresh that keeps
/// its Call-ID, RFC 3261 10.2.4).
#[derive(Debug, Clone, Copy)]
pub struct DialogIds<'a> {
    pub callid: &'a [u8],
    pub from_tag: &'a [u8],
    /// The last CSeq sent: the request goes with the next one.
    pub cseq: u32,
    /// From and To URI.
    pub uri: &'a [u8],
}

/// Where the request goes.
#[derive(Debug, Clone, Copy)]
pub enum Within<'a, M> {
    /// A new transaction outside any dialog.
    New,
    /// Within the dialog of this reply (its Call-ID and tags, CSeq + 1): a
    /// challenged request sent again with its answer.
    Reply(&'a M),
    /// Within a dialog given by its identifiers.
    Dialog(DialogIds<'a>),
}

/// Which outcomes run the continuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The final reply, whatever its code, or a local timeout (Kamailio's
    /// TMCB_LOCAL_COMPLETED).
    Completed,
    /// Only a final failure (>= 300) or a local timeout (TMCB_ON_FAILURE).
    Failure,
}

/// What a continuation gets.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a, M> {
    pub code: i32,
    /// The reply; None when no reply came (a local timeout: the host's
    /// faked reply).
    pub msg: Option<&'a M>,
}

/// A continuation: runs once per request sent with it, in the process that
/// gets the final reply. `state` is the bytes given to
/// [`Requests::send_then`]; the host frees them afterwards.
pub trait OnReply<R: Requests + ?Sized>: 'static {
    /// Names the continuation in log lines (the panic guard).
    const NAME: &'static str;

    fn on_reply(requests: &R, state: &[u8], reply: Reply<'_, R::Msg>);
}

/// Sending requests.
pub trait Requests {
    /// The host's message type (a reply handed to a continuation).
    type Msg: SipMessage;

    /// Sends without a continuation.
    fn send(&self, out: &Outgoing, within: Within<'_, Self::Msg>) -> Result<(), String>;

    /// Sends; `H` runs with `state` on the outcome `when` names. When the
    /// send fails the continuation never runs (the state is freed here).
    fn send_then<H: OnReply<Self>>(
        &self,
        out: &Outgoing,
        within: Within<'_, Self::Msg>,
        when: When,
        state: &[u8],
    ) -> Result<(), String>;
}
