//! The reply-hook port: a flow run on the replies of the current
//! transaction (as they come in, are forwarded, or go out), given the
//! transaction's own copy of the request; and marks on that copy.

use super::message::{Mark, Which};
use super::Proxy;

/// When a reply hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyEvent {
    /// A reply was received (TMCB_RESPONSE_IN).
    In,
    /// A received reply is forwarded upstream (TMCB_RESPONSE_FWDED).
    Forwarded,
    /// A reply is sent upstream (TMCB_RESPONSE_OUT).
    Out,
}

/// The transaction's copy of the request (in shared memory): read only, and
/// never parsed further (that would put process memory into shared memory).
pub trait StoredRequest {
    fn has_mark(&self, m: Mark) -> bool;

    /// From or To from its start through the URI and a closing `>`, as the
    /// request arrived (None when it is not there or does not parse).
    fn ident_through_uri(&self, which: Which) -> Option<Vec<u8>>;

    /// The CSeq number, where the header is parsed already.
    fn cseq_number(&self) -> Option<u32>;
}

pub trait Replies: Proxy {
    type Stored: StoredRequest;

    /// Runs `H` on every reply of the transaction of `msg` at `when` (the
    /// transaction is made at t_relay() when there is none yet).
    fn on_replies<H: ReplyHook<Self>>(
        &self,
        msg: &Self::Msg,
        when: ReplyEvent,
    ) -> Result<(), String>;

    /// There is a current transaction.
    fn has_transaction(&self) -> bool;

    /// Sets a mark on the current transaction's copy of the request.
    fn mark_request(&self, m: Mark);

    /// The current transaction's copy of the request has the mark.
    fn request_has_mark(&self, m: Mark) -> bool;
}

/// A flow run on a reply: `req` is the transaction's request, `rpl` the
/// reply, which it may change.
pub trait ReplyHook<P: Replies> {
    fn on_reply(p: &P, req: &P::Stored, rpl: &P::Msg);
}
