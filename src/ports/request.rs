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
    /// To URI.
    pub uri: &'a [u8],
    /// From URI (the To URI but for a third-party registration).
    pub from: &'a [u8],
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
    /// Where the request went (the address its first branch was sent to),
    /// when the host tells and a reply came.
    pub dst: Option<std::net::SocketAddr>,
    /// The socket it left from (`udp:127.0.0.1:5060`), when the host tells
    /// (empty: not known).
    pub socket: &'a [u8],
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

/// What became of a request a host's tm took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// In a transaction: its continuation runs on the outcome.
    Sent,
    /// Dropped by the configuration before it left (Kamailio 6.x's
    /// `drop` in `event_route[tm:local-request]`): no continuation runs and
    /// the host kept nothing of it.
    Dropped,
}

/// A host's tm below the request port: a send with the host's own callback
/// for a continuation. [`Requests`] is written once over it: the
/// continuation's state goes into the host's shared memory as a blob that
/// the callback takes back in whichever process gets the reply.
///
/// # Safety
/// `request` hands `param` to the host with the callback; when it fails or
/// says [`Sent::Dropped`], the host must not have kept it (it is freed then).
pub unsafe trait HostRequests: Sized + 'static {
    type Msg: SipMessage;
    /// The host's shared memory (the state's blob).
    type Shm: super::shm::RawShm;
    /// What the host registers for a continuation (its callback, flags).
    type Callback;

    /// The callback that runs `H` on the outcome `when`.
    fn callback<H: OnReply<Self>>(when: When) -> Self::Callback;

    /// Sends `out`; with a callback, `param` is the continuation's state
    /// for it.
    fn request(
        &self,
        out: &Outgoing,
        within: Within<'_, Self::Msg>,
        cb: Option<(Self::Callback, *mut std::ffi::c_void)>,
    ) -> Result<Sent, String>;
}

impl<T: HostRequests> Requests for T {
    type Msg = T::Msg;

    fn send(&self, out: &Outgoing, within: Within<'_, T::Msg>) -> Result<(), String> {
        self.request(out, within, None).map(|_| ())
    }

    fn send_then<H: OnReply<Self>>(
        &self,
        out: &Outgoing,
        within: Within<'_, T::Msg>,
        when: When,
        state: &[u8],
    ) -> Result<(), String> {
        let cb = T::callback::<H>(when);
        // SAFETY: HostRequests' contract: a failed or dropped request kept
        // nothing.
        let sent = unsafe {
            super::shm::ShmBlob::<T::Shm>::lend(state, |p| {
                let r = self.request(out, within, Some((cb, p)));
                let kept = r == Ok(Sent::Sent);
                r.map(|s| (s, kept))
            })
        }?;
        if sent == Sent::Dropped {
            crate::dbg!(
                "{}: the request was dropped by the configuration before it left",
                H::NAME
            );
        }
        Ok(())
    }
}

/// Runs continuation `H` with its state on a final reply (or a local
/// timeout: no message): what every host's callback ends with.
pub fn resume<R: Requests, H: OnReply<R>>(r: &R, state: &[u8], reply: Reply<'_, R::Msg>) {
    H::on_reply(r, state, reply)
}
