//! AVPs named in module parameters (`$avp(name)`), resolved once at mod_init
//! to the core's (id, type) pair and read per message.

use super::ffi::{self, int_str, pv_spec_t, str_};
use super::str_bytes;

/// An AVP name the core resolved.
#[derive(Debug, Clone, Copy)]
pub struct AvpName {
    id: i32,
    type_: u16,
}

impl AvpName {
    /// Parses a `$avp(name)` spec. Err when it is not a pseudo-variable or
    /// not an AVP (the stock modules refuse both at start-up).
    pub fn parse(spec: &[u8]) -> Result<AvpName, String> {
        // pv_parse_spec keeps pointers into its input: give it a copy that
        // lives for the process (module parameters are parsed once).
        let owned: &'static [u8] = Box::leak(spec.to_vec().into_boxed_slice());
        let input = str_ {
            s: owned.as_ptr() as *mut _,
            len: owned.len() as i32,
        };
        let mut sp = pv_spec_t::default();
        let (mut id, mut type_) = (0i32, 0u16);
        // SAFETY: input and sp are valid for the calls; the core fills sp and
        // then reads the AVP name out of its parameter (no message needed).
        unsafe {
            if ffi::pv_parse_spec(&input, &mut sp).is_null() {
                return Err("malformed pseudo-variable".into());
            }
            if ffi::pv_get_avp_name(std::ptr::null_mut(), &mut sp.pvp, &mut id, &mut type_) != 0 {
                return Err("not an AVP".into());
            }
        }
        Ok(AvpName { id, type_ })
    }

    /// The core's (id, type) pair (what bind_auth hands out as rpid_avp).
    pub fn ids(&self) -> (i32, i32) {
        (self.id, self.type_ as i32)
    }

    /// The first value of the AVP if it is a non-empty string. The bytes stay
    /// valid while the current message is processed (the AVP list is the
    /// message's), which is as long as callers keep them.
    pub fn first_str(&self) -> Option<&'static [u8]> {
        let mut val = int_str { n: 0 };
        // SAFETY: search_first_avp reads the current AVP list; val is ours.
        unsafe {
            let avp = ffi::search_first_avp(self.type_, self.id, &mut val, std::ptr::null_mut());
            if avp.is_null() || ((*avp).flags as u32 & ffi::AVP_VAL_STR) == 0 {
                return None;
            }
            let s = str_bytes(&val.s);
            (!s.is_empty()).then_some(s)
        }
    }
}

// ---- the values port (src/ports/values.rs) ----

use super::Opensips;
use crate::ports::values::Avps;

impl Avps for Opensips {
    type Name = AvpName;

    fn add_avp(&self, name: &AvpName, v: &[u8]) {
        let val = int_str {
            s: str_ {
                s: v.as_ptr() as *mut _,
                len: v.len() as i32,
            },
        };
        // SAFETY: add_avp copies the value into the current AVP list.
        unsafe { ffi::add_avp(name.type_ | ffi::AVP_VAL_STR as u16, name.id, val) };
    }

    fn first_avp(&self, name: &AvpName) -> Option<Vec<u8>> {
        name.first_str().map(<[u8]>::to_vec)
    }
}
