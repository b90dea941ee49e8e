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

pub mod message;
pub mod shm;
pub mod transaction;

#[cfg(test)]
pub mod mock;
