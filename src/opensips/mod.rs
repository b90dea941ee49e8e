//! OpenSIPS 3.6: the host layer (`host/`, the only code with raw OpenSIPS
//! pointers) and the modules built on it (`uac_auth/`, `uac/`), each with its
//! export table and entry points.
//!
//! As for Kamailio, one crate builds every module: the `opensips` feature
//! compiles this folder, and one module feature (`opensips-uac-auth` or
//! `opensips-uac`) also exports that module's table under the C name `exports`
//! (`cfg(uac_export = "...")`, set by build.rs when exactly one module feature
//! is on; a build with several exports none).

pub mod auth;
pub mod exports;
pub mod host;
pub mod uac;
pub mod uac_auth;
