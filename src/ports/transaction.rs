//! The transaction port, failure side: the branch a failure route runs for
//! (its reply, code, URI and the request as it went out), and marks on the
//! transaction's own copy of the request.
//!
//! Sending new requests with a reply continuation is in `ports::request`.

use super::message::{Mark, SipMessage};

/// The failed branch of the current transaction: the picked one in a failure
/// route, the current one in Kamailio's event_route[tm:branch-failure].
pub struct FailedBranch<'t, M> {
    /// The reply that ended the branch (the transaction's copy: read only).
    /// None when the branch ended without one (a local timeout: a faked reply).
    pub reply: Option<M>,
    pub code: i32,
    /// The branch's request URI.
    pub uri: Vec<u8>,
    /// The request as it was sent on this branch (empty where the host does
    /// not keep it).
    pub sent: &'t [u8],
}

/// What a failure route sees of the current transaction.
pub trait Transactions {
    type Msg: SipMessage;

    /// The failed branch the route runs for.
    fn failed_branch(&self) -> Result<FailedBranch<'_, Self::Msg>, String>;

    /// Sets a mark on the transaction's copy of the request (so that tm's
    /// callbacks, which see that copy, know what was done).
    fn mark_request(&self, m: Mark);
}
