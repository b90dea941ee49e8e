//! Module parameters: C-layout storage the core writes during `modparam`, and the
//! checked [`Config`] built from it in mod_init (before fork, then read-only).

use crate::exports::ParamCell;
use crate::flows::from_to::Settings;
use crate::kamailio::host::avp::AvpName;
use crate::kamailio::host::ffi::str_;
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
pub static RR_FROM_PARAM: ParamCell<str_> = ParamCell::new(lit(b"vsf"));
pub static RR_TO_PARAM: ParamCell<str_> = ParamCell::new(lit(b"vst"));
pub static RESTORE_MODE: ParamCell<*mut c_char> = ParamCell::new(std::ptr::null_mut());
pub static RESTORE_DLG: ParamCell<c_int> = ParamCell::new(0);
pub static RESTORE_PASSWD: ParamCell<str_> = ParamCell::new(lit(b""));
pub static RESTORE_FROM_AVP: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static RESTORE_TO_AVP: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static PANIC_PROBE: ParamCell<c_int> = ParamCell::new(0);
pub static AUTH_REALM_AVP: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static EVENT_CALLBACK: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static DEFAULT_SOCKET: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static AUTH_USERNAME_AVP: ParamCell<str_> = ParamCell::new(NULL_STR);
pub static AUTH_PASSWORD_AVP: ParamCell<str_> = ParamCell::new(NULL_STR);

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
    // mod_init: the core has written the parameters.
    let opt = |p: &ParamCell<str_>| p.opt().map(<[u8]>::to_vec);
    let (from, to, mode, dlg, pw, favp, tavp, probe) = (
        RR_FROM_PARAM.bytes().to_vec(),
        RR_TO_PARAM.bytes().to_vec(),
        RESTORE_MODE.c_str().map(<[u8]>::to_vec),
        RESTORE_DLG.get(),
        RESTORE_PASSWD.bytes().to_vec(),
        opt(&RESTORE_FROM_AVP),
        opt(&RESTORE_TO_AVP),
        PANIC_PROBE.get(),
    );
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
    let (realm, user, pass) = (
        opt(&AUTH_REALM_AVP),
        opt(&AUTH_USERNAME_AVP),
        opt(&AUTH_PASSWORD_AVP),
    );
    super::auth::init(realm, user, pass)?;
    let (evcb, sock) = (opt(&EVENT_CALLBACK), opt(&DEFAULT_SOCKET));
    super::send::init(evcb, sock);
    Ok(CONFIG.get_or_init(|| cfg))
}
