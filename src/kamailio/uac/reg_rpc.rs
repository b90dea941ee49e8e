//! RPC commands uac.reg_* and the counters uac:regtotal, uac:regactive,
//! uac:regdisabled: the table the core reads, and thin entries into the
//! registrant flow (`flows::registrant::rpc`, over Kamailio's rpc_t).

use super::registration::UacReg;
use crate::exports::{table, Table};
use crate::flows::registrant::rpc as cmd;
use crate::flows::registrant::run::{Count, DISABLED, ONLINE, TOTAL};
use crate::flows::registrant::Registrant;
use crate::kamailio::host::ffi::{self, rpc_t};
use crate::kamailio::host::rpc::{self, KamCounters, Rpc};
use crate::ports::stats::Counters;
use std::os::raw::{c_char, c_void};

/// The record fields stock sends as 64-bit integers (`'J'`): 6.1's
/// `expires` and `reg_init`; 5.6 sends every field as `'d'`.
const WIDE_FIELDS: &[&str] = if cfg!(kamailio_ge = "6.1") {
    &["expires", "reg_init"]
} else {
    &[]
};

/// An RPC entry: the panic guard, the call on the port, the flow's command
/// run on the uac module's registrant.
fn entry(name: &str, rpc: *mut rpc_t, ctx: *mut c_void, f: fn(&Registrant<UacReg>, &mut Rpc)) {
    // SAFETY: every caller is an RPC function passing the core's pointers.
    unsafe {
        rpc::run(name, rpc, ctx, |c| {
            c.wide_fields(WIDE_FIELDS);
            cmd::run::<UacReg, _>(c, f)
        })
    }
}

/// uac.reg_reload, limited by `reload_delta`.
fn reload(reg: &Registrant<UacReg>, c: &mut Rpc) {
    let delta = super::registration::RELOAD_DELTA.get().max(0) as u32;
    cmd::reload_limited(reg, c, delta)
}

/// uac.reg_add: 6.1 reads "." as an empty realm too.
fn add(reg: &Registrant<UacReg>, c: &mut Rpc) {
    let rules = cmd::AddRules {
        dot_realm: cfg!(kamailio_ge = "6.1"),
    };
    cmd::add_with(reg, c, rules)
}

/// The RPC functions the table names, each a thin entry into the flow.
macro_rules! rpc_fns {
    ($($f:ident: $name:literal => $cmd:path;)*) => { $(
        unsafe extern "C" fn $f(rpc: *mut rpc_t, ctx: *mut c_void) {
            entry($name, rpc, ctx, $cmd)
        }
    )* };
}

rpc_fns! {
    rpc_dump: "uac.reg_dump" => cmd::dump;
    rpc_info: "uac.reg_info" => cmd::info;
    rpc_enable: "uac.reg_enable" => cmd::enable;
    rpc_disable: "uac.reg_disable" => cmd::disable;
    rpc_reload: "uac.reg_reload" => reload;
    rpc_refresh: "uac.reg_refresh" => cmd::refresh;
    rpc_remove: "uac.reg_remove" => cmd::remove;
    rpc_add: "uac.reg_add" => add;
    rpc_active: "uac.reg_active" => cmd::active;
    rpc_unregister: "uac.reg_unregister" => cmd::unregister;
    rpc_register: "uac.reg_register" => cmd::register;
}

const fn doc(s: &'static std::ffi::CStr) -> Table<[*const c_char; 2]> {
    Table::new([s.as_ptr(), std::ptr::null()])
}

static DOC_DUMP: Table<[*const c_char; 2]> = doc(c"Dump the contents of user registrations table.");
static DOC_INFO: Table<[*const c_char; 2]> =
    doc(c"Return the details of registration for a particular record.");
static DOC_ENABLE: Table<[*const c_char; 2]> = doc(c"Enable registration for a particular record.");
static DOC_DISABLE: Table<[*const c_char; 2]> =
    doc(c"Disable registration for a particular record.");
static DOC_RELOAD: Table<[*const c_char; 2]> = doc(c"Reload records from database.");
static DOC_REFRESH: Table<[*const c_char; 2]> = doc(c"Refresh a record from database.");
static DOC_REMOVE: Table<[*const c_char; 2]> = doc(c"Remove a record from memory.");
static DOC_ADD: Table<[*const c_char; 2]> = doc(c"Add a record to memory.");
static DOC_ACTIVE: Table<[*const c_char; 2]> =
    doc(c"Set remote registration active or inactive for all records.");
static DOC_UNREGISTER: Table<[*const c_char; 2]> = doc(c"Send a register request with expires 0.");
static DOC_REGISTER: Table<[*const c_char; 2]> = doc(c"Send a register request.");

macro_rules! export {
    ($name:expr, $f:expr, $doc:ident, $flags:expr) => {
        ffi::rpc_export_t {
            name: $name.as_ptr(),
            function: Some($f),
            doc_str: $doc.as_ptr() as *mut *const c_char,
            flags: $flags,
        }
    };
}

table! {
    /// The RPC table, registered in mod_init when reg_db_url is set (as stock).
    static RPC_METHODS: [ffi::rpc_export_t] = [
        export!(c"uac.reg_dump", rpc_dump, DOC_DUMP, ffi::uacg_const_UACG_RET_ARRAY),
        export!(c"uac.reg_info", rpc_info, DOC_INFO, 0),
        export!(c"uac.reg_enable", rpc_enable, DOC_ENABLE, 0),
        export!(c"uac.reg_disable", rpc_disable, DOC_DISABLE, 0),
        export!(c"uac.reg_reload", rpc_reload, DOC_RELOAD, 0),
        export!(c"uac.reg_refresh", rpc_refresh, DOC_REFRESH, 0),
        export!(c"uac.reg_remove", rpc_remove, DOC_REMOVE, 0),
        export!(c"uac.reg_add", rpc_add, DOC_ADD, 0),
        export!(c"uac.reg_active", rpc_active, DOC_ACTIVE, 0),
        export!(c"uac.reg_unregister", rpc_unregister, DOC_UNREGISTER, 0),
        export!(c"uac.reg_register", rpc_register, DOC_REGISTER, 0),
    ];
}

/// mod_init, when reg_db_url is set (as stock): the RPC commands and the
/// counters.
pub fn init() -> Result<(), String> {
    // SAFETY: a static, NULL-terminated table.
    unsafe { rpc::register(RPC_METHODS.as_ptr() as *mut _)? };
    let c = KamCounters;
    c.register::<Count<UacReg, TOTAL>>(
        c"uac",
        c"regtotal",
        c"Total number of registration accounts in memory",
    )?;
    c.register::<Count<UacReg, ONLINE>>(
        c"uac",
        c"regactive",
        c"Number of successfully registered accounts (200 OK)",
    )?;
    c.register::<Count<UacReg, DISABLED>>(
        c"uac",
        c"regdisabled",
        c"Counter of failed registrations (not 200 OK)",
    )?;
    Ok(())
}
