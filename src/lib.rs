//! SIP digest authentication and user-agent-client features for Kamailio (and,
//! later, OpenSIPS), as drop-in modules written in Rust.
//!
//! The pure logic lives in host-independent modules (`digest`, `replace`,
//! `send`); each host has its own folder (`kamailio/`) with its host layer and
//! the modules' export tables.

pub mod exports;
pub mod log;

pub mod digest;
pub mod registration;
pub mod replace;
pub mod send;

pub mod ports;

pub mod flows;

#[cfg(feature = "kamailio")]
pub mod kamailio;

#[cfg(feature = "opensips")]
pub mod opensips;
