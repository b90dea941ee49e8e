//! uac_replace_from/to and uac_restore_from/to: OpenSIPS's uac on the one
//! From/To flow (src/flows/from_to) with OpenSIPS's policy (`<uri>` in the
//! header and in the Record-Route parameter, two values per header in the
//! dialog) and this module's parameters.

use super::config;
use crate::flows::from_to::{Module, Policy, Settings};
use crate::opensips::host::avp::AvpName;
use crate::opensips::host::Opensips;

/// This module as the flow's hooks see it.
pub struct Uac;

impl Module for Uac {
    type P = Opensips;
    const POLICY: Policy = Policy::OPENSIPS;
    fn settings() -> &'static Settings<AvpName> {
        config()
    }
}
