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
//! - `from_to`: uac_replace_from/to(), uac_restore_from/to() and the
//!   automatic restores (Record-Route, replies, dialog), for Kamailio's and
//!   OpenSIPS's uac, with a policy for what they do differently.
//! - `cseq`: OpenSIPS's CSeq shift after uac_auth() and uac_inc_cseq().
//! - `send`: uac_req_send() with the `$uac_req` record: send, report the
//!   reply to the script, answer a challenge and send again.
//! - `registrant`: remote registrations kept alive for a table's rows
//!   (Kamailio's uacreg; the OpenSIPS registrant reuses it).

pub mod auth_server;
pub mod cseq;
pub mod digest_client;
pub mod from_to;
pub mod registrant;
pub mod send;
