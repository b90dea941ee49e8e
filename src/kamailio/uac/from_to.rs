//! uac_replace_from/to and uac_restore_from/to: Kamailio's uac on the one
//! From/To flow (src/flows/from_to) with Kamailio's policy (the bare URI,
//! display names in four dialog variables) and this module's parameters.

use super::params::config;
use crate::flows::from_to::{Module, Policy, Settings};
use crate::kamailio::host::avp::AvpName;
use crate::kamailio::host::Kamailio;

/// This module as the flow's hooks see it.
pub struct Uac;

impl Module for Uac {
    type P = Kamailio;
    /// The stock module's wire form of the host's version.
    const POLICY: Policy = if cfg!(kamailio_ge = "6.1") {
        Policy::KAMAILIO_61
    } else {
        Policy::KAMAILIO
    };
    fn settings() -> &'static Settings<AvpName> {
        &config().from_to
    }
}
