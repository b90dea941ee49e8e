//! Every `extern "C"` entry point runs its body through [`guarded`]: a panic is
//! caught, logged with the host logger, and turned into the host's error value.
//! Unwinding into C would be undefined behaviour and would kill the worker.

use std::panic::{catch_unwind, AssertUnwindSafe};

pub fn guarded<T>(entry: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
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

/// Keeps panics quiet on stderr: the guard logs them through Kamailio instead.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|_| {}));
}
