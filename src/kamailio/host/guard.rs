//! Every `extern "C"` entry point runs its body through [`guarded`] (the
//! host-neutral guard in src/log.rs logs a caught panic with the active host's
//! logger and returns the host's error value).

pub use crate::log::{guarded, install_panic_hook};
