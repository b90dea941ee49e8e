//! Extra processes a module forks from child_init(PROC_MAIN), as the stock
//! uac module does for its registration timer.

use super::ffi;

/// In mod_init: tells the core about `n` extra processes.
pub fn reserve(n: i32) {
    // SAFETY: plain core calls, in mod_init.
    unsafe { ffi::uacg_reg_procs(n) }
}

/// Forks a process named `desc` that runs `run` for ever.
pub fn fork(desc: &'static std::ffi::CStr, run: unsafe extern "C" fn()) -> Result<(), String> {
    // SAFETY: fork_process from child_init(PROC_MAIN); the child never returns.
    let pid = unsafe { ffi::uacg_fork_proc(desc.as_ptr(), Some(run)) };
    if pid < 0 {
        return Err("failed to fork the registration timer process".into());
    }
    Ok(())
}

/// Updates the process's view of the config framework (cfg_update()).
pub fn cfg_update() {
    // SAFETY: in a process that ran cfg_child_init.
    unsafe { ffi::uacg_cfg_update() }
}

/// The core's rank of the main process (PROC_MAIN).
pub const PROC_MAIN: i32 = ffi::PROC_MAIN as i32;

/// This Kamailio process, as the process port.
#[derive(Debug, Clone, Copy, Default)]
pub struct KamProcess;

impl crate::ports::process::Process for KamProcess {
    fn process_no(&self) -> u32 {
        // SAFETY: reads the core's per-process global.
        unsafe { ffi::uacg_process_no() as u32 }
    }

    fn up_since(&self) -> u32 {
        // SAFETY: reads a core global set before fork.
        unsafe { ffi::uacg_up_since() as u32 }
    }
}
