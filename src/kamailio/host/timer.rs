//! The timer port on Kamailio: a process of its own, forked from
//! child_init(PROC_MAIN) (announced in mod_init), that ticks a
//! [`Periodic`] task: every second, or every 20 ms while work waits.

use super::proc;
use crate::log::guarded;
use crate::ports::timer::{Next, Periodic, Timers};

/// Kamailio's extra processes as timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct KamTimers;

/// The process's body for `P`: one generic trampoline per task type.
unsafe extern "C" fn timer_main<P: Periodic>() {
    guarded(&format!("{} (start)", P::NAME), (), P::start);
    loop {
        proc::cfg_update();
        let next = guarded(P::NAME, Next::Idle, P::tick);
        // Work held back (a batch, a cap, low memory): look again soon.
        let pause = match next {
            Next::Soon => 20,
            Next::Idle => 1000,
        };
        std::thread::sleep(std::time::Duration::from_millis(pause));
    }
}

impl Timers for KamTimers {
    fn reserve(&self, n: i32) {
        proc::reserve(n)
    }

    fn spawn<P: Periodic>(&self, name: &'static std::ffi::CStr) -> Result<(), String> {
        proc::fork(name, timer_main::<P>)
    }
}
