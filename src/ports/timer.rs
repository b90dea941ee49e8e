//! The timer port: periodic work in a process of its own (Kamailio forks one
//! from the main process, as the stock uac module does for its registration
//! timer), so that a long tick never delays SIP workers.

/// What a tick asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Work is waiting (a batch or a cap held it back): tick again soon.
    Soon,
    /// Nothing is due: tick at the normal pace.
    Idle,
}

/// A periodic task; the host calls it through one generic trampoline per
/// type, in the timer's process.
pub trait Periodic: 'static {
    /// Names the task in log lines (the panic guard).
    const NAME: &'static str;

    /// Once, in the timer's process, before the first tick.
    fn start();

    fn tick() -> Next;
}

/// Starting timer processes.
pub trait Timers {
    /// In mod_init: tells the host about `n` processes [`Timers::spawn`]
    /// will start.
    fn reserve(&self, n: i32);

    /// Starts a process named `name` that runs `P` for ever (Kamailio: from
    /// child_init of the main process).
    fn spawn<P: Periodic>(&self, name: &'static std::ffi::CStr) -> Result<(), String>;
}
