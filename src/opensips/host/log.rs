//! Logging through OpenSIPS's logger (LM_ERR & co. in the glue): the level is
//! checked before any text is formatted, the text goes in as an argument of
//! `"%.*s"`. The module's registration installs [`SINK`] for the host-neutral
//! `err!`/`warn!`/`info!`/`dbg!` macros.

use super::ffi;
use crate::log::Level;

fn level(l: Level) -> i32 {
    match l {
        Level::Err => ffi::L_ERR,
        Level::Warn => ffi::L_WARN as i32,
        Level::Info => ffi::L_INFO as i32,
        Level::Dbg => ffi::L_DBG as i32,
    }
}

fn enabled(l: Level) -> bool {
    // SAFETY: reads the core's log level; no pointers are passed.
    unsafe { ffi::osg_log_enabled(level(l)) != 0 }
}

fn write(l: Level, location: &str, text: &str) {
    let len = text.len().min(i32::MAX as usize) as i32;
    let wlen = location.len().min(256) as i32;
    // SAFETY: both strings are valid for their lengths; the glue prints them
    // with "%.*s", never as a format.
    unsafe {
        ffi::osg_log(
            level(l),
            location.as_ptr() as *const _,
            wlen,
            text.as_ptr() as *const _,
            len,
        )
    }
}

/// OpenSIPS's logger for the host-neutral macros.
pub static SINK: crate::log::Sink = crate::log::Sink { enabled, write };

/// Installs the OpenSIPS logger and the quiet panic hook; every module's
/// mod_init calls it first.
pub fn install() {
    crate::log::set_sink(&SINK);
    crate::log::install_panic_hook();
}
