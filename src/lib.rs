//! SIP digest authentication and UAC features as drop-in modules for two SIP
//! proxies, written in Rust and built from this one crate: Kamailio's `uac`
//! and `auth` modules (5.6 and 6.1: the Kamailio tree built against picks the
//! version), and OpenSIPS 3.6's `uac`, `uac_auth`, `uac_registrant` and
//! `auth`. A cargo feature picks which module a build makes (`kamailio-uac`,
//! `kamailio-auth`, `opensips-uac`, `opensips-uac-auth`,
//! `opensips-uac-registrant`, `opensips-auth`); the Makefile builds each `.so`.
//!
//! Floors, bottom up (doc/architecture.md): the pure logic (`digest`,
//! `replace`, `send`, `registration`) knows no host; `ports` are the safe
//! traits a flow needs from a proxy; `flows` are what a module function does,
//! written once; each host (`kamailio/`, `opensips/`) implements the ports in
//! `host/` (the only raw host pointers) and has one folder per module with
//! its export table and thin entry points.

pub mod bindings;
#[cfg(any(feature = "kamailio", feature = "opensips"))]
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
