//! Host-neutral logging: the `err!`/`warn!`/`info!`/`dbg!` macros used by the
//! pure core and by every host layer write through the logger of the host the
//! module runs in. This file names no host: each host layer installs its sink
//! ([`set_sink`]) from the first entry point the core calls (Kamailio's
//! `mod_register`, OpenSIPS's load function), before any other code runs.
//! Until then (and in unit tests) lines go nowhere.
//!
//! The sink is set once in the main process before fork and only read
//! afterwards, so a per-process `OnceCell` is right here.

use once_cell::sync::OnceCell;

/// Severity, mapped by each host to its own levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Err,
    Warn,
    Info,
    Dbg,
}

/// A host's logger: `enabled` is checked before any text is formatted;
/// `write` prints one line, user text always as an argument, never a format.
pub struct Sink {
    pub enabled: fn(Level) -> bool,
    pub write: fn(Level, &str, &str),
}

static SINK: OnceCell<&'static Sink> = OnceCell::new();

/// Installs the host's logger; the first call wins (one host per process).
pub fn set_sink(s: &'static Sink) {
    let _ = SINK.set(s);
}

fn sink() -> Option<&'static Sink> {
    SINK.get().copied()
}

/// True when a line at `level` would be printed.
pub fn enabled(level: Level) -> bool {
    sink().is_some_and(|s| (s.enabled)(level))
}

/// Writes one line; `location` is `file.rs:line`. Use the macros, which skip
/// formatting when the level is off.
pub fn write(level: Level, location: &str, text: &str) {
    if let Some(s) = sink() {
        (s.write)(level, location, text)
    }
}

/// `src/kamailio/identity.rs` -> `identity.rs`.
pub fn short_file(path: &'static str) -> &'static str {
    path.rsplit('/').next().unwrap_or(path)
}

#[macro_export]
macro_rules! log_at {
    ($lvl:expr, $($arg:tt)*) => {
        if $crate::log::enabled($lvl) {
            let loc = format!("{}:{}", $crate::log::short_file(file!()), line!());
            $crate::log::write($lvl, &loc, &format!($($arg)*));
        }
    };
}
#[macro_export]
macro_rules! err { ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::Err, $($arg)*) }; }
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::Warn, $($arg)*) }; }
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::Info, $($arg)*) }; }
#[macro_export]
macro_rules! dbg { ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::Dbg, $($arg)*) }; }

/// Every `extern "C"` entry point runs its body through [`guarded`]: a panic is
/// caught, logged with the host logger, and turned into the host's error value.
/// Unwinding into C would be undefined behaviour and would kill the worker.
pub fn guarded<T>(entry: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(e) => {
            let what = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            crate::err!("internal error in {entry}: {what} (call failed, process goes on)");
            on_panic
        }
    }
}

/// Keeps panics quiet on stderr: the guard logs them through the host instead.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|_| {}));
}
