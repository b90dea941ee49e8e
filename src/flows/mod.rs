//! Flows: what a module function does, written once against the ports
//! (`crate::ports`) on top of the pure floor (`digest`, `replace`,
//! `registration`, `send`). Every host module calls a flow; none has its own
//! copy. Unit-tested on `ports::mock`, without a proxy.
//!
//! - `digest_client`: answer a 401/407 (uac_auth(), remote registrations,
//!   uac_req_send(), OpenSIPS's uac_auth API).
//! - `auth_server`: challenge and verify digest credentials (Kamailio's
//!   auth module: script functions, KEMI, the bind_auth_s API), with the
//!   nonce format behind `auth_server::nonce::NonceScheme`.

pub mod auth_server;
pub mod digest_client;
