//! Ports: the few safe traits and plain types a flow needs from a proxy. No
//! host types here; each host's `host/` folder implements them, and `mock`
//! implements them on plain Rust values for the flows' unit tests.
//!
//! - `message`: one SIP message: first line, headers, body, From/To
//!   positions, edits (lumps), the request URI, marks.
//! - `transaction`: the failed branch a failure route runs for; marks on the
//!   transaction's request.
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

pub mod db;
pub mod event;
pub mod message;
pub mod request;
pub mod rpc;
pub mod shm;
pub mod stats;
pub mod timer;
pub mod transaction;

#[cfg(test)]
pub mod mock;
