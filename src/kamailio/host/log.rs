//! Logging through Kamailio's logger: the level is checked before any text is
//! formatted, and the text always goes in as an argument of `"%.*s"`. The
//! `err!`/`warn!`/`info!`/`dbg!` macros (src/log.rs) reach it through [`SINK`],
//! which every module's `mod_register` installs ([`install`]).

use super::ffi;
use crate::log::Level;

pub const L_ERR: i32 = ffi::L_ERR;
pub const L_WARN: i32 = ffi::L_WARN as i32;
pub const L_INFO: i32 = ffi::L_INFO as i32;
pub const L_DBG: i32 = ffi::L_DBG as i32;

/// Kamailio's logger for the host-neutral macros.
pub static SINK: crate::log::Sink = crate::log::Sink {
    enabled: |l| enabled(level(l)),
    write: |l, loc, text| write(level(l), loc, text),
};

/// Installs Kamailio's logger for the host-neutral macros. Called first in
/// every module's `mod_register`, the earliest entry the core calls (right
/// after dlopen, before the config's modparams: a USE_FUNC parameter such as
/// uac's `credential` logs before mod_init).
pub fn install() {
    crate::log::set_sink(&SINK);
}

fn level(l: Level) -> i32 {
    match l {
        Level::Err => L_ERR,
        Level::Warn => L_WARN,
        Level::Info => L_INFO,
        Level::Dbg => L_DBG,
    }
}

/// True when a line at `level` would be printed for this module.
pub fn enabled(level: i32) -> bool {
    // SAFETY: reads the core's debug level; no pointers are passed.
    unsafe { ffi::uacg_log_enabled(level) != 0 }
}

/// Writes one line; `location` is `file.rs:line`. Use the macros, which skip
/// formatting when the level is off.
pub fn write(level: i32, location: &str, text: &str) {
    let len = text.len().min(i32::MAX as usize) as i32;
    let wlen = location.len().min(256) as i32;
    // SAFETY: both strings are valid for their lengths; the glue prints them
    // with "%.*s", never as a format.
    unsafe {
        ffi::uacg_log(
            level,
            location.as_ptr() as *const _,
            wlen,
            text.as_ptr() as *const _,
            len,
        )
    }
}

/// `src/kamailio/identity.rs` -> `identity.rs`.
pub fn short_file(path: &'static str) -> &'static str {
    crate::log::short_file(path)
}
