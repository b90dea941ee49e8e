//! The timer port on OpenSIPS: a process of the module's own
//! (`proc_export_t`, forked by the core after mod_init), not a core timer
//! job: a tick that loads 100,000 rows or sends a burst of REGISTERs would
//! hold up the core's timer process and with it tm's retransmission and
//! final-response timers. It ticks every second, or every 20 ms while work
//! waits.

use super::ffi;
use crate::log::guarded;
use crate::ports::timer::{Next, Periodic};
use std::os::raw::{c_char, c_int};

/// The process's body for `P`: one generic trampoline per task type.
unsafe extern "C" fn timer_main<P: Periodic>(_rank: c_int) {
    guarded(&format!("{} (start)", P::NAME), (), P::start);
    loop {
        let next = guarded(P::NAME, Next::Idle, P::tick);
        let pause = match next {
            Next::Soon => 20,
            Next::Idle => 1000,
        };
        std::thread::sleep(std::time::Duration::from_millis(pause));
    }
}

/// A `proc_export_t` entry: one process named `name` (NUL-terminated) that
/// runs `P`, with the module's child_init done first.
pub const fn process<P: Periodic>(name: &'static [u8]) -> ffi::proc_export_t {
    ffi::proc_export_t {
        name: crate::exports::cstr(name),
        pre_fork_function: None,
        post_fork_function: None,
        function: Some(timer_main::<P>),
        no: 1,
        // tm runs the local route of every request it sends: the script too
        flags: ffi::PROC_FLAG_INITCHILD | ffi::PROC_FLAG_NEEDS_SCRIPT,
    }
}

impl crate::exports::End for ffi::proc_export_t {
    const END: ffi::proc_export_t = ffi::proc_export_t {
        name: std::ptr::null::<c_char>(),
        pre_fork_function: None,
        post_fork_function: None,
        function: None,
        no: 0,
        flags: 0,
    };
}
