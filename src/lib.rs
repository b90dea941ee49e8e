//! A drop-in replacement for Kamailio 5.6's `uac` module.
//!
//! `replace` holds the pure logic; `host` is the only place with raw host
//! pointers; `kamailio` holds the export tables and the entry points.

pub mod digest;
pub mod host;
pub mod kamailio;
pub mod replace;
pub mod send;
