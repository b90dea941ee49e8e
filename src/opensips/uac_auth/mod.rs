//! The OpenSIPS `uac_auth` module: credentials (`credential`, the auth AVPs)
//! and the digest client that `uac`, `uac_registrant`, `b2b_entities` and
//! `msrp_ua` bind to through `load_uac_auth`. The table is exported under the
//! C name `exports` only in the build of the `opensips-uac-auth` feature alone.

pub mod api;

use crate::err;
use crate::exports::{param, table, Param, ParamCell, Table};
use crate::log::guarded;
use crate::opensips::exports::{api, module, Cmd, STR_PARAM, USE_FUNC_PARAM};
use crate::opensips::host::ffi::{self, module_exports};
use crate::opensips::host::{c_param, log};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{null, null_mut};

// String parameters the core sets while it reads the config (main process).
static AUTH_USERNAME_AVP: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static AUTH_REALM_AVP: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static AUTH_PASSWORD_AVP: ParamCell<*mut c_char> = ParamCell::new(null_mut());

/// The `credential` modparam (STR_PARAM|USE_FUNC_PARAM): one per line.
unsafe extern "C" fn credential_param(_type: u32, val: *mut c_void) -> c_int {
    guarded("credential", -1, || {
        // SAFETY: for a STR_PARAM the core passes a NUL-terminated string.
        let Some(s) = (unsafe { c_param(val as *const c_char) }) else {
            err!("credential: empty value");
            return -1;
        };
        match api::add_credential(s) {
            Ok(()) => {
                // As stock: the parser's copy of the value is ours to free.
                // SAFETY: the core allocated it with pkg_malloc; not used again.
                unsafe { ffi::osg_pkg_free(val) };
                0
            }
            Err(e) => {
                err!("{e}");
                -1
            }
        }
    })
}

/// Called right after dlopen(), before the config's modparams: from here on
/// our log lines go through OpenSIPS's logger.
unsafe extern "C" fn on_load() -> c_int {
    log::install();
    0
}

unsafe extern "C" fn mod_init() -> c_int {
    guarded("mod_init", -1, || {
        // The core set these (or left them NULL) before mod_init.
        let (u, r, p) = (
            AUTH_USERNAME_AVP.c_str(),
            AUTH_REALM_AVP.c_str(),
            AUTH_PASSWORD_AVP.c_str(),
        );
        match api::init_avps(r, u, p) {
            Ok(()) => 0,
            Err(e) => {
                err!("{e}");
                -1
            }
        }
    })
}

/// `load_uac_auth(api)`: fills the caller's `uac_auth_api_t`.
unsafe extern "C" fn load_uac_auth(api: *mut ffi::uac_auth_api_t) -> c_int {
    guarded("load_uac_auth", -1, || {
        // SAFETY: the caller passes its own api struct (or NULL).
        let Some(a) = (unsafe { api.as_mut() }) else {
            err!("Invalid parameter value");
            return -1;
        };
        a._do_uac_auth = Some(api::do_uac_auth);
        a._build_authorization_hdr = Some(api::build_authorization_hdr);
        a._lookup_realm = Some(api::lookup_realm);
        0
    })
}

table! {
    static CMDS: [Cmd] = [
        // An API export (route flags 0): find_export() hands it to uac,
        // uac_registrant, b2b_entities, msrp_ua.
        api!("load_uac_auth", load_uac_auth),
    ];
}

table! {
    static PARAMS: [Param] = [
        param!("credential", STR_PARAM | USE_FUNC_PARAM, credential_param),
        param!("auth_username_avp", STR_PARAM, AUTH_USERNAME_AVP),
        param!("auth_realm_avp", STR_PARAM, AUTH_REALM_AVP),
        param!("auth_password_avp", STR_PARAM, AUTH_PASSWORD_AVP),
    ];
}

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "opensips-uac-auth", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(module(
    b"uac_auth\0",
    null(),
    CMDS.as_ptr() as *const Cmd,
    PARAMS.as_ptr() as *const Param,
    on_load,
    mod_init,
));
