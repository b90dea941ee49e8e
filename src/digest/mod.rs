//! Digest authentication as a client: parsing challenges, choosing one, computing
//! the response (RFC 2617, RFC 7616, RFC 8760). Pure Rust, no host types.

pub mod challenge;
pub mod credentials;
pub mod response;
pub mod stored_secret;
