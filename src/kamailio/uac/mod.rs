//! The `uac` module as Kamailio sees it: the `exports` table, the config-file
//! functions, the KEMI exports, and mod_init. Every entry point is guarded
//! against panics. The table is exported under the C name `exports` only in the
//! `kamailio-uac` build (see `src/kamailio/mod.rs`).

pub mod api;
pub mod auth;
pub mod identity;
pub mod params;
pub mod reg_cmds;
pub mod reg_rpc;
pub mod registration;
pub mod send;

use crate::err;
use crate::kamailio::exports::{cstr, kstr, param, CmdFn, Fixup, KI, KN, KS};
use crate::kamailio::host::ffi::{
    self, cmd_export_t, module_exports, param_export_t, sip_msg, sr_kemi_t, str_,
};
use crate::kamailio::host::guard::{guarded, install_panic_hook};
use crate::kamailio::host::msg::{SipMsg, Which};
use crate::kamailio::host::{dlg, rr, str_bytes, tm};
use params::RestoreMode;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};

/// Script functions return 1 for true and -1 for false.
fn ret(r: Result<(), String>, what: &str) -> c_int {
    match r {
        Ok(()) => 1,
        Err(e) => {
            err!("{what}: {e}");
            -1
        }
    }
}

/// Reads a fixed-up string parameter (spve: may hold pseudo-variables).
///
/// # Safety
/// `p` must be the gparam the fixup made for this parameter.
unsafe fn spve(msg: *mut sip_msg, p: *mut c_char) -> Option<Vec<u8>> {
    let mut s = str_ {
        s: null_mut(),
        len: 0,
    };
    // SAFETY: get_str_fparam (what the fixup_get_svalue macro calls) evaluates
    // the gparam for this message.
    unsafe {
        if ffi::get_str_fparam(&mut s, msg, p as *mut ffi::fparam_t) < 0 {
            return None;
        }
        Some(str_bytes(&s).to_vec())
    }
}

/// uac_replace_from/to(display, uri) and (uri): with one parameter p2 is NULL.
unsafe fn replace_script(which: Which, m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    let what = format!("uac_replace_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: the core hands us the current message and our fixed-up params.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let (pd, pu) = if p2.is_null() {
            (null_mut(), p1)
        } else {
            (p1, p2)
        };
        let display = if pd.is_null() {
            None
        } else {
            match unsafe { spve(m, pd) } {
                Some(d) => Some(d),
                None => return ret(Err("cannot get the display name value".into()), &what),
            }
        };
        let Some(uri) = (unsafe { spve(m, pu) }) else {
            return ret(Err("cannot get the uri value".into()), &what);
        };
        ret(
            identity::replace(&msg, which, display.as_deref(), Some(&uri)),
            &what,
        )
    })
}

unsafe extern "C" fn w_replace_from(m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    unsafe { replace_script(Which::From, m, p1, p2) }
}

unsafe extern "C" fn w_replace_to(m: *mut sip_msg, p1: *mut c_char, p2: *mut c_char) -> c_int {
    unsafe { replace_script(Which::To, m, p1, p2) }
}

fn restore_entry(which: Which, m: *mut sip_msg) -> c_int {
    let what = format!("uac_restore_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: the core hands us the current message.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        if !msg.is_request() {
            return ret(Err("called for something not request".into()), &what);
        }
        match identity::restore(&msg, which) {
            Ok(true) => 1,
            Ok(false) => -1,
            Err(e) => ret(Err(e), &what),
        }
    })
}

unsafe extern "C" fn w_restore_from(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    restore_entry(Which::From, m)
}

unsafe extern "C" fn w_restore_to(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    restore_entry(Which::To, m)
}

/// uac_auth() / uac_auth(mode) / uac_auth_mode(mode).
fn auth_entry(m: *mut sip_msg, mode: c_int) -> c_int {
    guarded("uac_auth", -1, || {
        // SAFETY: the core hands us the current (faked) request.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        ret(auth::uac_auth(&msg, mode), "uac_auth")
    })
}

unsafe extern "C" fn w_uac_auth(m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    auth_entry(m, 0)
}

unsafe extern "C" fn w_uac_auth_mode(m: *mut sip_msg, p1: *mut c_char, _: *mut c_char) -> c_int {
    let mut mode: c_int = 0;
    // SAFETY: p1 is the igp the fixup made; get_int_fparam evaluates it.
    if unsafe { ffi::get_int_fparam(&mut mode, m, p1 as *mut ffi::fparam_t) } < 0 {
        err!("uac_auth: failed to get the mode parameter");
        return -1;
    }
    auth_entry(m, mode)
}

/// Test aid (not in the stock module): panics inside the guard when
/// `modparam("uac", "panic_probe", 1)`, to show a panic never reaches C.
unsafe extern "C" fn w_panic_probe(_m: *mut sip_msg, _: *mut c_char, _: *mut c_char) -> c_int {
    guarded("uac_panic_probe", -1, || {
        if params::config().panic_probe {
            panic!("panic probe triggered from the script");
        }
        err!("uac_panic_probe: disabled (modparam panic_probe is 0)");
        -1
    })
}

// ---- KEMI: KSR.uac.* ----

/// # Safety
/// `s` is NULL or a str valid for this call.
unsafe fn kemi_str(s: *mut str_) -> Option<Vec<u8>> {
    // SAFETY: caller contract.
    (!s.is_null()).then(|| unsafe { str_bytes(&*s) }.to_vec())
}

fn kemi_replace(which: Which, m: *mut sip_msg, dsp: *mut str_, uri: *mut str_) -> c_int {
    let what = format!("uac_replace_{}", which.name());
    guarded(&what, -1, || {
        // SAFETY: KEMI hands us the current message and str arguments.
        let Some(msg) = (unsafe { SipMsg::from_raw(m) }) else {
            return -1;
        };
        let (d, u) = unsafe { (kemi_str(dsp), kemi_str(uri)) };
        ret(
            identity::replace(&msg, which, d.as_deref(), u.as_deref()),
            &what,
        )
    })
}

unsafe extern "C" fn ki_replace_from(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    kemi_replace(Which::From, m, d, u)
}
unsafe extern "C" fn ki_replace_from_uri(m: *mut sip_msg, u: *mut str_) -> c_int {
    kemi_replace(Which::From, m, null_mut(), u)
}
unsafe extern "C" fn ki_replace_to(m: *mut sip_msg, d: *mut str_, u: *mut str_) -> c_int {
    kemi_replace(Which::To, m, d, u)
}
unsafe extern "C" fn ki_replace_to_uri(m: *mut sip_msg, u: *mut str_) -> c_int {
    kemi_replace(Which::To, m, null_mut(), u)
}
unsafe extern "C" fn ki_restore_from(m: *mut sip_msg) -> c_int {
    restore_entry(Which::From, m)
}
unsafe extern "C" fn ki_restore_to(m: *mut sip_msg) -> c_int {
    restore_entry(Which::To, m)
}
unsafe extern "C" fn ki_uac_auth(m: *mut sip_msg) -> c_int {
    auth_entry(m, 0)
}
unsafe extern "C" fn ki_uac_auth_mode(m: *mut sip_msg, mode: c_int) -> c_int {
    auth_entry(m, mode)
}

// ---- start-up ----

unsafe extern "C" fn mod_init() -> c_int {
    install_panic_hook();
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

fn init() -> Result<(), String> {
    let cfg = params::init()?;
    tm::load()?;
    registration::init()?;
    if registration::enabled() {
        reg_rpc::init()?;
    }
    if cfg.restore_mode == RestoreMode::None {
        return Ok(());
    }
    rr::load()?;
    if cfg.restore_mode == RestoreMode::Auto {
        if !cfg.restore_dlg {
            if !rr::append_fromtag() {
                return Err(
                    "'append_fromtag' RR param is not enabled! - required by AUTO restore mode"
                        .into(),
                );
            }
        } else {
            dlg::load().map_err(|e| {
                format!("failed to find dialog API - is dialog module loaded? ({e})")
            })?;
            // SAFETY: NULL dialog registers a global callback type (DLGCB_LOADED).
            unsafe {
                dlg::register_raw(null_mut(), ffi::DLGCB_LOADED, identity::on_dialog_loaded, 0)
            }
            .map_err(|e| format!("can't register on load callback: {e}"))?;
        }
    }
    if cfg.restore_mode == RestoreMode::Auto {
        // Every request loose_route() routes by our Record-Route is restored.
        rr::register_callback(identity::on_loose_route)?;
    }
    Ok(())
}

unsafe extern "C" fn child_init(rank: c_int) -> c_int {
    guarded("child_init", -1, || match registration::child_init(rank) {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

unsafe extern "C" fn mod_destroy() {}

// ---- export tables ----

const ROUTES_REPLACE: u32 = ffi::REQUEST_ROUTE | ffi::BRANCH_ROUTE;
/// EVENT_ROUTE lets the config parser accept uac_auth in
/// event_route[tm:branch-failure]; at run time that route is BRANCH_FAILURE_ROUTE,
/// and in any other event route uac_auth finds no failed branch and says so.
const ROUTES_AUTH: u32 = ffi::FAILURE_ROUTE | ffi::BRANCH_FAILURE_ROUTE | ffi::EVENT_ROUTE;
/// PARAM_USE_FUNC is `1U<<(8*sizeof(int)-1)` (sr_module.h), beyond bindgen's
/// macro evaluation; int is 32 bits on every platform Kamailio builds for.
const PARAM_USE_FUNC: u32 = 1 << 31;
const IGP: Option<Fixup> = Some(ffi::fixup_igp_null);
const IGP_FREE: Option<Fixup> = Some(ffi::fixup_free_igp_null);

const fn cmd(
    name: &'static [u8],
    f: CmdFn,
    n: c_int,
    fix: Option<Fixup>,
    free: Option<Fixup>,
    flags: u32,
) -> cmd_export_t {
    cmd_export_t {
        name: cstr(name),
        function: Some(f),
        param_no: n,
        fixup: fix,
        free_fixup: free,
        flags,
    }
}

const SPVE: Option<Fixup> = Some(ffi::fixup_spve_spve);
const SPVE_FREE: Option<Fixup> = Some(ffi::fixup_free_spve_spve);

static mut CMDS: [cmd_export_t; 20] = [
    cmd(
        b"uac_replace_from\0",
        w_replace_from,
        2,
        SPVE,
        SPVE_FREE,
        ROUTES_REPLACE,
    ),
    cmd(
        b"uac_replace_from\0",
        w_replace_from,
        1,
        SPVE,
        SPVE_FREE,
        ROUTES_REPLACE,
    ),
    cmd(
        b"uac_restore_from\0",
        w_restore_from,
        0,
        None,
        None,
        ffi::REQUEST_ROUTE,
    ),
    cmd(
        b"uac_replace_to\0",
        w_replace_to,
        2,
        SPVE,
        SPVE_FREE,
        ROUTES_REPLACE,
    ),
    cmd(
        b"uac_replace_to\0",
        w_replace_to,
        1,
        SPVE,
        SPVE_FREE,
        ROUTES_REPLACE,
    ),
    cmd(
        b"uac_restore_to\0",
        w_restore_to,
        0,
        None,
        None,
        ffi::REQUEST_ROUTE,
    ),
    cmd(b"uac_auth\0", w_uac_auth, 0, None, None, ROUTES_AUTH),
    cmd(
        b"uac_req_send\0",
        send::w_uac_req_send,
        0,
        None,
        None,
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_auth\0",
        w_uac_auth_mode,
        1,
        IGP,
        IGP_FREE,
        ROUTES_AUTH,
    ),
    cmd(
        b"uac_auth_mode\0",
        w_uac_auth_mode,
        1,
        IGP,
        IGP_FREE,
        ROUTES_AUTH,
    ),
    cmd(
        b"uac_panic_probe\0",
        w_panic_probe,
        0,
        None,
        None,
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_lookup\0",
        reg_cmds::w_lookup,
        2,
        Some(ffi::fixup_spve_pvar),
        Some(ffi::fixup_free_spve_pvar),
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_lookup_uri\0",
        reg_cmds::w_lookup_uri,
        2,
        Some(ffi::fixup_spve_pvar),
        Some(ffi::fixup_free_spve_pvar),
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_status\0",
        reg_cmds::w_status,
        1,
        Some(ffi::fixup_spve_null),
        None,
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_request_to\0",
        reg_cmds::w_request_to,
        2,
        Some(ffi::fixup_spve_igp),
        Some(ffi::fixup_free_spve_igp),
        ffi::REQUEST_ROUTE | ffi::FAILURE_ROUTE | ffi::BRANCH_ROUTE,
    ),
    cmd(
        b"uac_reg_enable\0",
        reg_cmds::w_enable,
        2,
        SPVE,
        SPVE_FREE,
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_disable\0",
        reg_cmds::w_disable,
        2,
        SPVE,
        SPVE_FREE,
        ffi::ANY_ROUTE,
    ),
    cmd(
        b"uac_reg_refresh\0",
        reg_cmds::w_refresh,
        1,
        Some(ffi::fixup_spve_null),
        Some(ffi::fixup_free_spve_null),
        ffi::ANY_ROUTE,
    ),
    // Not a script function: other modules find it with find_export("bind_uac").
    cmd(
        b"bind_uac\0",
        // SAFETY: the core stores it untyped; callers cast it back to bind_uac_f.
        unsafe {
            std::mem::transmute::<unsafe extern "C" fn(*mut api::UacApi) -> c_int, CmdFn>(
                api::bind_uac,
            )
        },
        1,
        None,
        None,
        0,
    ),
    cmd_export_t {
        name: null_mut(),
        function: None,
        param_no: 0,
        fixup: None,
        free_fixup: None,
        flags: 0,
    },
];

static mut PARAMS: [param_export_t; 27] = {
    use params::*;
    [
        param(
            b"rr_from_store_param\0",
            ffi::PARAM_STR,
            addr_of_mut!(RR_FROM_PARAM) as *mut c_void,
        ),
        param(
            b"rr_to_store_param\0",
            ffi::PARAM_STR,
            addr_of_mut!(RR_TO_PARAM) as *mut c_void,
        ),
        param(
            b"restore_mode\0",
            ffi::PARAM_STRING,
            addr_of_mut!(RESTORE_MODE) as *mut c_void,
        ),
        param(
            b"restore_dlg\0",
            ffi::PARAM_INT,
            addr_of_mut!(RESTORE_DLG) as *mut c_void,
        ),
        param(
            b"restore_passwd\0",
            ffi::PARAM_STR,
            addr_of_mut!(RESTORE_PASSWD) as *mut c_void,
        ),
        param(
            b"restore_from_avp\0",
            ffi::PARAM_STR,
            addr_of_mut!(RESTORE_FROM_AVP) as *mut c_void,
        ),
        param(
            b"restore_to_avp\0",
            ffi::PARAM_STR,
            addr_of_mut!(RESTORE_TO_AVP) as *mut c_void,
        ),
        param(
            b"panic_probe\0",
            ffi::PARAM_INT,
            addr_of_mut!(PANIC_PROBE) as *mut c_void,
        ),
        param(
            b"event_callback\0",
            ffi::PARAM_STR,
            addr_of_mut!(EVENT_CALLBACK) as *mut c_void,
        ),
        param(
            b"default_socket\0",
            ffi::PARAM_STR,
            addr_of_mut!(DEFAULT_SOCKET) as *mut c_void,
        ),
        param(
            b"credential\0",
            ffi::PARAM_STRING | PARAM_USE_FUNC,
            auth::credential_param as *mut c_void,
        ),
        param(
            b"auth_realm_avp\0",
            ffi::PARAM_STR,
            addr_of_mut!(AUTH_REALM_AVP) as *mut c_void,
        ),
        param(
            b"auth_username_avp\0",
            ffi::PARAM_STR,
            addr_of_mut!(AUTH_USERNAME_AVP) as *mut c_void,
        ),
        param(
            b"auth_password_avp\0",
            ffi::PARAM_STR,
            addr_of_mut!(AUTH_PASSWORD_AVP) as *mut c_void,
        ),
        param(
            b"reg_db_url\0",
            ffi::PARAM_STR,
            addr_of_mut!(registration::REG_DB_URL) as *mut c_void,
        ),
        param(
            b"reg_db_table\0",
            ffi::PARAM_STR,
            addr_of_mut!(registration::REG_DB_TABLE) as *mut c_void,
        ),
        param(
            b"reg_contact_addr\0",
            ffi::PARAM_STR,
            addr_of_mut!(registration::REG_CONTACT_ADDR) as *mut c_void,
        ),
        param(
            b"reg_timer_interval\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_TIMER_INTERVAL) as *mut c_void,
        ),
        param(
            b"reg_retry_interval\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_RETRY_INTERVAL) as *mut c_void,
        ),
        param(
            b"reg_keep_callid\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_KEEP_CALLID) as *mut c_void,
        ),
        param(
            b"reg_random_delay\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_RANDOM_DELAY) as *mut c_void,
        ),
        param(
            b"reg_active\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_ACTIVE) as *mut c_void,
        ),
        param(
            b"reg_gc_interval\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_GC_INTERVAL) as *mut c_void,
        ),
        param(
            b"reg_hash_size\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_HASH_SIZE) as *mut c_void,
        ),
        param(
            b"reg_use_domain\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_USE_DOMAIN) as *mut c_void,
        ),
        param(
            b"reg_refresh_percent\0",
            ffi::PARAM_INT,
            addr_of_mut!(registration::REG_REFRESH_PERCENT) as *mut c_void,
        ),
        param_export_t {
            name: null_mut(),
            type_: 0,
            param_pointer: null_mut(),
        },
    ]
};

/// $uac_req(key).
static mut PVS: [ffi::pv_export_t; 2] = [
    ffi::pv_export_t {
        name: str_ {
            s: c"uac_req".as_ptr() as *mut c_char,
            len: 7,
        },
        type_: ffi::_pv_type_PVT_OTHER,
        getf: Some(send::pv_get),
        setf: Some(send::pv_set),
        parse_name: Some(send::pv_parse_name),
        parse_index: None,
        init_param: None,
        iparam: 0,
    },
    ffi::pv_export_t {
        name: str_ {
            s: null_mut(),
            len: 0,
        },
        type_: 0,
        getf: None,
        setf: None,
        parse_name: None,
        parse_index: None,
        init_param: None,
        iparam: 0,
    },
];

/// The table the core looks up by name after dlopen().
#[cfg_attr(feature = "kamailio-uac", export_name = "exports")]
pub static mut EXPORTS: module_exports = module_exports {
    name: cstr(b"uac\0"),
    dlflags: 0,
    cmds: addr_of_mut!(CMDS) as *mut cmd_export_t,
    params: addr_of_mut!(PARAMS) as *mut param_export_t,
    rpc_methods: null_mut(),
    pv_items: addr_of_mut!(PVS) as *mut ffi::pv_export_t,
    response_f: None,
    init_mod_f: Some(mod_init),
    init_child_f: Some(child_init),
    destroy_mod_f: Some(mod_destroy),
};

const fn kemi(name: &'static [u8], f: *mut c_void, p: [i32; 2]) -> sr_kemi_t {
    sr_kemi_t {
        mname: kstr(b"uac\0"),
        fname: kstr(name),
        rtype: ffi::SR_KEMIP_INT as i32,
        func: f,
        ptypes: [p[0], p[1], KN, KN, KN, KN],
    }
}

static mut KEMI: [sr_kemi_t; 17] = [
    kemi(
        b"uac_replace_from_uri\0",
        ki_replace_from_uri as *mut c_void,
        [KS, KN],
    ),
    kemi(
        b"uac_replace_from\0",
        ki_replace_from as *mut c_void,
        [KS, KS],
    ),
    kemi(
        b"uac_restore_from\0",
        ki_restore_from as *mut c_void,
        [KN, KN],
    ),
    kemi(
        b"uac_replace_to_uri\0",
        ki_replace_to_uri as *mut c_void,
        [KS, KN],
    ),
    kemi(b"uac_replace_to\0", ki_replace_to as *mut c_void, [KS, KS]),
    kemi(b"uac_restore_to\0", ki_restore_to as *mut c_void, [KN, KN]),
    kemi(b"uac_auth\0", ki_uac_auth as *mut c_void, [KN, KN]),
    kemi(
        b"uac_req_send\0",
        send::ki_uac_req_send as *mut c_void,
        [KN, KN],
    ),
    kemi(
        b"uac_auth_mode\0",
        ki_uac_auth_mode as *mut c_void,
        [KI, KN],
    ),
    kemi(
        b"uac_reg_lookup\0",
        reg_cmds::ki_lookup as *mut c_void,
        [KS, KS],
    ),
    kemi(
        b"uac_reg_lookup_uri\0",
        reg_cmds::ki_lookup_uri as *mut c_void,
        [KS, KS],
    ),
    kemi(
        b"uac_reg_status\0",
        reg_cmds::ki_status as *mut c_void,
        [KS, KN],
    ),
    kemi(
        b"uac_reg_request_to\0",
        reg_cmds::ki_request_to as *mut c_void,
        [KS, KI],
    ),
    kemi(
        b"uac_reg_enable\0",
        reg_cmds::ki_enable as *mut c_void,
        [KS, KS],
    ),
    kemi(
        b"uac_reg_disable\0",
        reg_cmds::ki_disable as *mut c_void,
        [KS, KS],
    ),
    kemi(
        b"uac_reg_refresh\0",
        reg_cmds::ki_refresh as *mut c_void,
        [KS, KN],
    ),
    sr_kemi_t {
        mname: str_ {
            s: null_mut(),
            len: 0,
        },
        fname: str_ {
            s: null_mut(),
            len: 0,
        },
        rtype: 0,
        func: null_mut(),
        ptypes: [0; 6],
    },
];

/// Called by the core right after dlopen(): registers the KEMI functions.
///
/// # Safety
/// Called by the core only, once, with its own arguments (unused here).
#[cfg_attr(feature = "kamailio-uac", export_name = "mod_register")]
pub unsafe extern "C" fn mod_register(
    _path: *mut c_char,
    _dlflags: *mut c_int,
    _p1: *mut c_void,
    _p2: *mut c_void,
) -> c_int {
    guarded("mod_register", -1, || {
        // SAFETY: the table is static and terminated; the core keeps the pointer.
        unsafe { ffi::sr_kemi_modules_add(addr_of_mut!(KEMI) as *mut sr_kemi_t) }
    })
}
