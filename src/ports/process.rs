//! The process port: which worker this is and when the proxy started, for
//! state partitioned per process (the nonce-id pools) and for refusing
//! nonces issued before a restart.

/// The process a flow runs in.
pub trait Process {
    /// The core's number of this process (Kamailio's `process_no`).
    fn process_no(&self) -> u32;

    /// When the proxy started, in seconds since the epoch.
    fn up_since(&self) -> u32;

    /// Now, in seconds since the epoch.
    fn now(&self) -> u32 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0)
    }

    /// Now, in microseconds since the epoch (nonces that expire to the
    /// microsecond, as OpenSIPS's).
    fn now_us(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    }
}

/// Declares a host's process as the process port from its glue's getters
/// of the core's process number and start time:
///
/// ```ignore
/// crate::host_process!(KamProcess, super::ffi => uacg_process_no uacg_up_since);
/// ```
#[macro_export]
macro_rules! host_process {
    ($name:ident, $ffi:path => $no:ident $up:ident) => {
        /// This process of the host, as the process port.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $crate::ports::process::Process for $name {
            fn process_no(&self) -> u32 {
                use $ffi as ffi;
                // SAFETY: reads the core's per-process global.
                unsafe { ffi::$no() as u32 }
            }

            fn up_since(&self) -> u32 {
                use $ffi as ffi;
                // SAFETY: reads a core global set before fork.
                unsafe { ffi::$up() as u32 }
            }
        }
    };
}
