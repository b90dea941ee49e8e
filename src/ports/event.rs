//! The script-event port: running the script's handler for an event the
//! module reports (Kamailio's `event_route[uac:reply]`, or the KEMI callback
//! named by a parameter).

/// One event of the script, found at start-up.
pub trait ScriptEvent {
    /// The host's message type.
    type Msg;

    /// Runs the handler on `msg` (None: there is no message, e.g. a local
    /// timeout).
    fn run(&self, msg: Option<&Self::Msg>);
}
