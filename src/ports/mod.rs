//! Ports: the few safe traits and plain types a flow needs from a proxy. No
//! host types here; each host's `host/` folder implements them, and `mock`
//! implements them on plain Rust values for the flows' unit tests.
//!
//! - `message`: one SIP message: first line, headers, body, From/To
//!   positions, edits (lumps), the request URI, marks.
//! - `transaction`: the failed branch a failure route runs for; marks on the
//!   transaction's request.
//! - `credentials`: what the auth server reads from a request: the host's
//!   parsed credentials (find, fields, marks, removal), the method, the
//!   parts a nonce can be bound to, the From/To/R-URI users.
//! - `reply`: replying to a request, headers for the reply to come.
//! - `process`: this process's number and the proxy's start time.
//! - `shm`: shared memory: the allocator, the `ShmSafe` marker, a lock in
//!   shared memory and the `ShmMutex` over them.

pub mod credentials;
pub mod message;
pub mod process;
pub mod reply;
pub mod shm;
pub mod transaction;

#[cfg(test)]
pub mod mock;
