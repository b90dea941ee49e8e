//! Kamailio: the host layer (`host/`, the only code with raw host pointers) and
//! the modules built on it, each in its own folder with its export table and
//! entry points.
//!
//! One crate builds every module; a cargo feature picks which one a build is
//! (`kamailio-uac` gives uac.so). All modules are compiled in every build, so
//! tests and clippy see them all, but only the chosen one's tables are exported
//! under the C names the core looks up (`exports`, `mod_register`).

pub mod auth;
pub mod exports;
pub mod host;
pub mod uac;
pub mod version;

#[cfg(all(feature = "kamailio-uac", feature = "kamailio-auth"))]
compile_error!("a build makes one module: enable one of kamailio-uac, kamailio-auth");

/// The module this build exports, for log lines (`uac [file.rs:12]: ...`).
pub const MODULE_NAME: &str = if cfg!(feature = "kamailio-auth") {
    "auth"
} else {
    "uac"
};
