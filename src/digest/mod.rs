//! Digest authentication, both sides: parsing challenges and answering them
//! (client), issuing and checking nonces and verifying credentials (server)
//! (RFC 2617, RFC 7616, RFC 8760). Pure Rust, no host types.

pub mod aes_nonce;
pub mod challenge;
pub mod credentials;
pub mod nonce;
pub mod response;
pub mod stored_secret;
pub mod verify;
