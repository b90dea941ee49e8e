//! Logging through Kamailio's logger: the level is checked before any text is
//! formatted, and the text always goes in as an argument of `"%.*s"`.

use super::ffi;

pub const L_ERR: i32 = ffi::L_ERR;
pub const L_WARN: i32 = ffi::L_WARN as i32;
pub const L_INFO: i32 = ffi::L_INFO as i32;
pub const L_DBG: i32 = ffi::L_DBG as i32;

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
    path.rsplit('/').next().unwrap_or(path)
}

#[macro_export]
macro_rules! log_at {
    ($lvl:expr, $($arg:tt)*) => {
        if $crate::kamailio::host::log::enabled($lvl) {
            let loc = format!("{}:{}", $crate::kamailio::host::log::short_file(file!()), line!());
            $crate::kamailio::host::log::write($lvl, &loc, &format!($($arg)*));
        }
    };
}
#[macro_export]
macro_rules! err { ($($arg:tt)*) => { $crate::log_at!($crate::kamailio::host::log::L_ERR, $($arg)*) }; }
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::log_at!($crate::kamailio::host::log::L_WARN, $($arg)*) }; }
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log_at!($crate::kamailio::host::log::L_INFO, $($arg)*) }; }
#[macro_export]
macro_rules! dbg { ($($arg:tt)*) => { $crate::log_at!($crate::kamailio::host::log::L_DBG, $($arg)*) }; }
