//! The statistics port: counters whose value is computed when read
//! (Kamailio's counters with a callback, OpenSIPS's STAT_IS_FUNC), so that a
//! count kept in shared state is always exact and costs nothing to keep.

/// A counter's value, read at every read.
pub trait Computed: 'static {
    /// Names the counter in log lines (the panic guard).
    const NAME: &'static str;

    fn value() -> i64;
}

/// Registering counters (in mod_init).
pub trait Counters {
    /// Registers `group:name`, read through `C`.
    fn register<C: Computed>(
        &self,
        group: &'static std::ffi::CStr,
        name: &'static std::ffi::CStr,
        doc: &'static std::ffi::CStr,
    ) -> Result<(), String>;
}
