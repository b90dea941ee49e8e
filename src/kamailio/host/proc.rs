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

crate::host_process!(KamProcess, super::ffi => uacg_process_no uacg_up_since);
