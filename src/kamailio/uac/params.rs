//! Module parameters: C-layout storage the core writes during `modparam`, and the
//! checked [`Config`] built from it in mod_init (before fork, then read-only).

use crate::flows::from_to::Settings;
use crate::kamailio::host::avp::AvpName;
use crate::kamailio::host::ffi::str_;
use crate::kamailio::host::str_bytes;
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int};

pub use crate::flows::from_to::RestoreMode;

const fn lit(s: &'static [u8]) -> str_ {
    str_ {
        s: s.as_ptr() as *mut c_char,
        len: s.len() as c_int,
    }
}
const NULL_STR: str_ = str_ {
    s: std::ptr::null_mut(),
    len: 0,
};

// Storage the core writes through the param table (PARAM_STR: str, PARAM_STRING:
// char*, PARAM_INT: int). Only the core writes them, only while it reads the
// config, before mod_init.
pub static mut RR_FROM_PARAM: str_ = lit(b"vsf");
pub static mut RR_TO_PARAM: str_ = lit(b"vst");
pub static mut RESTORE_MODE: *mut c_char = std::ptr::null_mut();
pub static mut RESTORE_DLG: c_int = 0;
pub static mut RESTORE_PASSWD: str_ = lit(b"");
pub static mut RESTORE_FROM_AVP: str_ = NULL_STR;
pub static mut RESTORE_TO_AVP: str_ = NULL_STR;
pub static mut PANIC_PROBE: c_int = 0;
pub static mut AUTH_REALM_AVP: str_ = NULL_STR;
pub static mut EVENT_CALLBACK: str_ = NULL_STR;
pub static mut DEFAULT_SOCKET: str_ = NULL_STR;
pub static mut AUTH_USERNAME_AVP: str_ = NULL_STR;
pub static mut AUTH_PASSWORD_AVP: str_ = NULL_STR;

pub struct Config {
    /// What the From/To flow reads (src/flows/from_to).
    pub from_to: Settings<AvpName>,
    pub restore_dlg: bool,
    pub panic_probe: bool,
}

static CONFIG: OnceCell<Config> = OnceCell::new();

pub fn config() -> &'static Config {
    CONFIG.get().expect("uac config read before mod_init")
}

/// Reads and checks the parameters; errors are the reasons start-up stops.
pub fn init() -> Result<&'static Config, String> {
    // SAFETY: mod_init runs once in the main process after the core has written
    // the parameters and before any other reader exists.
    let (from, to, mode, dlg, pw, favp, tavp, probe) = unsafe {
        let mode = *std::ptr::addr_of!(RESTORE_MODE);
        let mode = (!mode.is_null()).then(|| std::ffi::CStr::from_ptr(mode).to_bytes().to_vec());
        let opt = |s: &str_| (!s.s.is_null()).then(|| str_bytes(s).to_vec());
        (
            str_bytes(&*std::ptr::addr_of!(RR_FROM_PARAM)).to_vec(),
            str_bytes(&*std::ptr::addr_of!(RR_TO_PARAM)).to_vec(),
            mode,
            *std::ptr::addr_of!(RESTORE_DLG),
            str_bytes(&*std::ptr::addr_of!(RESTORE_PASSWD)).to_vec(),
            opt(&*std::ptr::addr_of!(RESTORE_FROM_AVP)),
            opt(&*std::ptr::addr_of!(RESTORE_TO_AVP)),
            *std::ptr::addr_of!(PANIC_PROBE),
        )
    };
    let restore_mode = match mode.filter(|m| !m.is_empty()) {
        None => RestoreMode::Auto,
        Some(m) => RestoreMode::parse(&m)?,
    };
    if (from.is_empty() || to.is_empty()) && restore_mode != RestoreMode::None {
        return Err("rr_store_param cannot be empty if FROM is restoreable".into());
    }
    let avp = |v: Option<Vec<u8>>| v.map(|s| AvpName::parse(&s)).transpose();
    let restoring = restore_mode != RestoreMode::None;
    let cfg = Config {
        from_to: Settings {
            mode: restore_mode,
            from_param: from,
            to_param: to,
            passwd: pw,
            from_avp: if restoring { avp(favp)? } else { None },
            to_avp: if restoring { avp(tavp)? } else { None },
            // mod_init loads the dialog API for exactly this case
            dialog: dlg != 0 && restore_mode == RestoreMode::Auto,
            force_dialog: false,
        },
        restore_dlg: dlg != 0,
        panic_probe: probe != 0,
    };
    // SAFETY: as above, read once before fork.
    let (realm, user, pass) = unsafe {
        (
            super::auth::opt_str(&*std::ptr::addr_of!(AUTH_REALM_AVP)),
            super::auth::opt_str(&*std::ptr::addr_of!(AUTH_USERNAME_AVP)),
            super::auth::opt_str(&*std::ptr::addr_of!(AUTH_PASSWORD_AVP)),
        )
    };
    super::auth::init(realm, user, pass)?;
    // SAFETY: as above.
    let (evcb, sock) = unsafe {
        (
            super::auth::opt_str(&*std::ptr::addr_of!(EVENT_CALLBACK)),
            super::auth::opt_str(&*std::ptr::addr_of!(DEFAULT_SOCKET)),
        )
    };
    super::send::init(evcb, sock);
    Ok(CONFIG.get_or_init(|| cfg))
}
