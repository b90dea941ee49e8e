//! The script-event port on Kamailio: an `event_route[name]` of the config,
//! or, with a KEMI script, the function a module parameter names.

use super::ffi;
use super::msg::SipMsg;
use crate::ports::event::ScriptEvent;

/// A script event found at mod_init.
#[derive(Debug, Clone, Copy)]
pub enum KamEvent {
    /// The event route's index in the core's table.
    Route(i32),
    /// The KEMI callback's name, and the event's name handed to it.
    Kemi(&'static [u8], &'static std::ffi::CStr),
}

impl KamEvent {
    /// The KEMI callback when `kemi_callback` names one, else
    /// `event_route[name]` when the config has it; None: nothing to run.
    pub fn find(name: &'static std::ffi::CStr, kemi_callback: Option<&[u8]>) -> Option<KamEvent> {
        match kemi_callback.filter(|c| !c.is_empty()) {
            Some(cb) => Some(KamEvent::Kemi(super::leak_bytes(cb), name)),
            None => {
                // SAFETY: looks the name up in the core's event route table.
                let rt = unsafe { ffi::uacg_event_route_lookup(name.as_ptr()) };
                (rt >= 0).then_some(KamEvent::Route(rt))
            }
        }
    }
}

impl ScriptEvent for KamEvent {
    type Msg = SipMsg;

    fn run(&self, msg: Option<&SipMsg>) {
        let rpl = msg.map_or(std::ptr::null_mut(), |m| m.raw());
        match *self {
            // SAFETY: runs the script's event route on the message (or a
            // faked one the glue makes for NULL).
            KamEvent::Route(rt) => unsafe { ffi::uacg_run_event_route(rt, rpl) },
            KamEvent::Kemi(cb, name) => {
                let mut s = super::str_of(cb);
                // SAFETY: as above, through the KEMI engine.
                if unsafe { ffi::uacg_run_kemi_event(&mut s, name.as_ptr(), rpl) } < 0 {
                    crate::err!("error running event route kemi callback");
                }
            }
        }
    }
}
