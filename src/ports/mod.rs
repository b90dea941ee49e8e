//! Ports: the few safe traits and plain types a flow needs from a proxy. No
//! host types here; each host's `host/` folder implements them, and `mock`
//! implements them on plain Rust values for the flows' unit tests.
//!
//! - `message`: one SIP message: first line, headers, body, From/To
//!   positions, edits (lumps), the request URI, marks; the CSeq positions.
//! - `transaction`: the failed branch a failure route runs for; marks on the
//!   transaction's request.
//! - `credentials`: what the auth server reads from a request: the host's
//!   parsed credentials (find, fields, marks, removal), the method, the
//!   parts a nonce can be bound to, the From/To/R-URI users.
//! - `reply`: replying to a request, headers for the reply to come.
//! - `process`: this process's number and the proxy's start time.
//! - `replicate`: records sent to the other nodes of a cluster and received
//!   from them (with a snapshot for a node that joins).
//! - `shm`: shared memory: the allocator, the `ShmSafe` marker, a lock in
//!   shared memory and the `ShmMutex` over them.
//! - `request`: sending a request in a transaction, with a continuation for
//!   its final reply that runs in whichever process gets it.
//! - `db`: a table read in pages, rows by key, an update.
//! - `timer`: periodic work in a process of its own.
//! - `rpc`: one call of a management command (RPC/MI): arguments, faults,
//!   records.
//! - `stats`: counters computed when read.
//! - `event`: the script's handler for an event the module reports.
//! - [`Proxy`]: one host as a value (a unit struct per host) whose message
//!   type the following ports share:
//!   - `rr`: Record-Route parameters, the Route parameters and direction of
//!     an in-dialog request, a flow run for every loose-routed request;
//!   - `dialog`: the current dialog, its values, flows run for its in-dialog
//!     requests and for dialogs loaded at start-up; OpenSIPS's CSeq fields;
//!   - `replies`: a flow run on the replies of the current transaction, with
//!     the transaction's stored request; marks on that request;
//!   - `values`: AVPs named in parameters, per-branch values.
//!
//! Callbacks: a flow names a handler type (a unit struct implementing e.g.
//! `replies::ReplyHook<P>`); each host registers one generic `extern "C"`
//! trampoline per handler type that calls it back with the host's `Proxy`
//! value. No function pointer is cast.

pub mod credentials;
pub mod db;
pub mod dialog;
pub mod event;
pub mod message;
pub mod process;
pub mod replicate;
pub mod replies;
pub mod reply;
pub mod request;
pub mod rpc;
pub mod rr;
pub mod shm;
pub mod stats;
pub mod timer;
pub mod transaction;
pub mod values;

#[cfg(test)]
pub mod mock;
#[cfg(test)]
pub mod mock_proxy;

/// One proxy as the flows see it: the message type its other ports work on.
/// Hosts implement it on a unit struct (`kamailio::host::Kamailio`,
/// `opensips::host::Opensips`), the mock on `mock_proxy::MockProxy`.
pub trait Proxy: Sized + 'static {
    type Msg: message::EditMessage;
}
