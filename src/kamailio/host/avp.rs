//! AVPs that keep the original From/To for the replies (`restore_*_avp`).

use super::ffi::{self, int_str, pv_spec_t};
use super::{str_bytes, str_of};

/// A parsed AVP name, fixed at mod_init.
#[derive(Clone, Copy)]
pub struct AvpName {
    name: int_str,
    flags: u32,
}

// SAFETY: the name is either an integer or a str pointing at pkg memory that the
// core allocated at start-up and never frees; it is only read afterwards.
unsafe impl Send for AvpName {}
// SAFETY: as for Send: shared references only read a value that no longer changes.
unsafe impl Sync for AvpName {}

impl AvpName {
    /// Parses `$avp(name)`; errors for anything that is not an AVP.
    pub fn parse(spec: &[u8]) -> Result<AvpName, String> {
        // The parsed name points into its text: keep the text for good.
        let mut s = str_of(super::leak_bytes(spec));
        let mut pv = pv_spec_t::default();
        // SAFETY: pv_parse_spec reads s and fills pv; the core keeps what it
        // allocates for the name for the process lifetime.
        unsafe {
            if ffi::uacg_pv_parse_spec(&mut s, &mut pv) != 0 || pv.type_ != ffi::_pv_type_PVT_AVP {
                return Err(format!(
                    "malformed or non AVP {} AVP definition",
                    String::from_utf8_lossy(spec)
                ));
            }
            let mut name = int_str::default();
            // 5.6 writes an unsigned short, 6.x an avp_flags_t (32 bits)
            let mut flags = Default::default();
            if ffi::pv_get_avp_name(std::ptr::null_mut(), &mut pv.pvp, &mut name, &mut flags) != 0 {
                return Err(format!(
                    "[{}]- invalid AVP definition",
                    String::from_utf8_lossy(spec)
                ));
            }
            Ok(AvpName {
                name,
                flags: super::widen::<_, u32>(flags) | ffi::AVP_VAL_STR,
            })
        }
    }

    pub fn add(&self, val: &[u8]) {
        let v = int_str { s: str_of(val) };
        // SAFETY: add_avp copies the value into the current AVP list.
        unsafe { ffi::add_avp(self.flags, self.name, v) };
    }

    /// The most recently added value, copied.
    pub fn first(&self) -> Option<Vec<u8>> {
        let mut v = int_str::default();
        // SAFETY: search_first_avp writes v for a found AVP; string values point
        // into the AVP, which lives until the list is reset; we copy at once.
        unsafe {
            let a = ffi::search_first_avp(self.flags, self.name, &mut v, std::ptr::null_mut());
            (!a.is_null()).then(|| str_bytes(&v.s).to_vec())
        }
    }
}

// ---- the values port (src/ports/values.rs) ----

use super::msg::SipMsg;
use super::Kamailio;
use crate::ports::message::Which;
use crate::ports::values::{Avps, BranchSet, BranchValues};

impl Avps for Kamailio {
    type Name = AvpName;

    fn add_avp(&self, name: &AvpName, v: &[u8]) {
        name.add(v)
    }

    fn first_avp(&self, name: &AvpName) -> Option<Vec<u8>> {
        name.first()
    }
}

/// Kamailio keeps no values per branch for the flows: a value goes where it
/// is meant to go at once (uac stores into the dialog from any route).
impl BranchValues for Kamailio {
    fn set_branch_value(&self, _msg: &SipMsg, _which: Which, _v: &[u8]) -> BranchSet {
        BranchSet::NotInBranch
    }

    fn branch_value(&self, _msg: &SipMsg, _which: Which) -> Option<Vec<u8>> {
        None
    }
}
