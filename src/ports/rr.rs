//! The rr port: what a flow asks of the Record-Route module. Parameters it
//! adds to the Record-Route of an initial request come back, in the Route
//! headers of the dialog's later requests, to restore what it changed.

use super::Proxy;

/// Which way an in-dialog request flows, as rr tells from the `ftag` Route
/// parameter: downstream from the caller, upstream from the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Downstream,
    Upstream,
}

pub trait RecordRoute: Proxy {
    /// `modparam("rr", "append_fromtag", 1)`: without the `ftag` parameter
    /// rr cannot tell a request's direction.
    fn append_fromtag(&self) -> bool;

    /// Adds a parameter (`;name=value`, as given) to the Record-Route this
    /// request gets (now, or when record_route() runs later).
    fn add_param(&self, msg: &Self::Msg, param: &[u8]) -> Result<(), String>;

    /// Replaces the text `old` that [`RecordRoute::add_param`] gave this
    /// request where it is still among the message's changes (an empty `new`
    /// takes it out); how many were found. Where rr keeps the parameter out
    /// of reach (before record_route() ran) nothing is found.
    fn rewrite_param(&self, msg: &Self::Msg, old: &[u8], new: &[u8]) -> Result<usize, String>;

    /// The values of parameter `name` of the Route URI that routed this
    /// request here: first the one rr's get_route_param() finds, then (where
    /// the host can see them) the later ones of the same name in that URI.
    /// Empty when there is none.
    fn route_param_values(&self, msg: &Self::Msg, name: &[u8]) -> Vec<Vec<u8>>;

    /// The request's direction; None when rr cannot tell.
    fn direction(&self, msg: &Self::Msg) -> Option<Direction>;

    /// Runs `H` for every request loose_route() routes by a Record-Route of
    /// this proxy (registered once, at start-up).
    fn on_routed<H: OnRouted<Self>>(&self) -> Result<(), String>;
}

/// A flow run by rr for a loose-routed request.
pub trait OnRouted<P: Proxy> {
    fn on_routed(p: &P, msg: &P::Msg);
}
