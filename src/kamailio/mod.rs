//! Kamailio: the host layer (`host/`, the only code with raw host pointers) and
//! the modules built on it, each in its own folder with its export table and
//! entry points.
//!
//! One crate builds every module; a cargo feature picks which one a build is
//! (`kamailio-uac` gives uac.so). All modules are compiled in every build, so
//! tests and clippy see them all, but only the chosen one's tables are exported
//! under the C names the core looks up (`exports`, `mod_register`,
//! `module_version`, `module_flags`): build.rs sets `cfg(uac_export = "...")`
//! when exactly one module feature is on. A build with several (clippy
//! `--all-features`) exports none.

pub mod auth;
pub mod exports;
pub mod host;
pub mod uac;
pub mod version;

/// The module this build exports, for log lines (`uac [file.rs:12]: ...`).
pub const MODULE_NAME: &str = if cfg!(uac_export = "kamailio-auth") {
    "auth"
} else {
    "uac"
};
