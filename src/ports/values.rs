//! The values port: AVPs named in module parameters (`restore_from_avp`)
//! and values kept per branch of a transaction until its reply.

use super::message::Which;
use super::Proxy;

pub trait Avps: Proxy {
    /// An AVP name, resolved at start-up.
    type Name: Copy + 'static;

    /// Adds a string value to the current message's AVP list.
    fn add_avp(&self, name: &Self::Name, v: &[u8]);

    /// The most recently added value, when it is a string.
    fn first_avp(&self, name: &Self::Name) -> Option<Vec<u8>>;
}

/// What setting a branch value did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchSet {
    Set,
    /// Not in a branch (or the host keeps no values per branch): the caller
    /// keeps the value elsewhere.
    NotInBranch,
    Failed,
}

/// One value per header (From, To) per branch: OpenSIPS's `$bavp`, which
/// the stock uac uses to carry a URI from a branch route to the branch's 2xx.
pub trait BranchValues: Proxy {
    fn set_branch_value(&self, msg: &Self::Msg, which: Which, v: &[u8]) -> BranchSet;

    /// The value of the branch `msg` (a reply) belongs to.
    fn branch_value(&self, msg: &Self::Msg, which: Which) -> Option<Vec<u8>>;
}
