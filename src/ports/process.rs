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
