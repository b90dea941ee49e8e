//! uac_replace_from/to and uac_restore_from/to: Kamailio's uac on the one
//! From/To flow (src/flows/from_to) with Kamailio's policy (the bare URI,
//! display names in four dialog variables) and this module's parameters.

use super::params::config;
use crate::flows::from_to::{self, Module, Policy, Settings};
use crate::kamailio::host::avp::AvpName;
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::Kamailio;
use crate::ports::message::Which;

/// This module as the flow's hooks see it.
pub struct Uac;

impl Module for Uac {
    type P = Kamailio;
    const POLICY: Policy = Policy::KAMAILIO;
    fn settings() -> &'static Settings<AvpName> {
        &config().from_to
    }
}

pub fn replace(
    msg: &SipMsg,
    which: Which,
    display: Option<&[u8]>,
    uri: Option<&[u8]>,
) -> Result<(), String> {
    from_to::replace::<Uac>(&Kamailio, msg, which, display, uri)
}

/// Ok(false): nothing to restore.
pub fn restore(msg: &SipMsg, which: Which) -> Result<bool, String> {
    from_to::restore::<Uac>(&Kamailio, msg, which)
}
