//! SIP digest authentication and UAC features as drop-in modules for two SIP
//! proxies, written in Rust and built from this one crate: Kamailio 5.6's `uac`
//! and `auth` modules, and OpenSIPS 3.6's `uac` and `uac_auth`. A cargo feature
//! picks which module a build makes (`kamailio-uac`, `kamailio-auth`,
//! `opensips-uac`, `opensips-uac-auth`); the Makefile builds each `.so`.
//!
//! The pure logic (`digest`, `replace`, `send`, `registration`) knows no host;
//! each host has its own folder (`kamailio/`, `opensips/`) with its host layer
//! (`host/`, the only raw host pointers), its export-table builders and one
//! folder per module. The README's Layout section has the whole map.

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
