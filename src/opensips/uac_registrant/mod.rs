//! The OpenSIPS `uac_registrant` module: the remote registrations of the
//! `registrant` table, kept by the registrant flow (`flows::registrant`, the
//! one Kamailio's uac uses) on OpenSIPS's ports, clustered through the
//! clusterer's sharing tags. Here: the parameters with stock's defaults and
//! start-up checks, the export table (MI commands, statistics, the timer
//! process) and mod_init. The MI entries are in mi.rs. The table is
//! exported under the C name `exports` only in the build of the
//! `opensips-uac-registrant` feature alone.

pub mod mi;

use crate::exports::{param, table, Param, ParamCell, Table};
use crate::flows::registrant::registrant_table::{RegistrantTable, COLUMNS, TABLE_VERSION};
use crate::flows::registrant::run::{Count, RegTimer, DISABLED, ONLINE, TOTAL};
use crate::flows::registrant::{registrant_host, Config, Registrant};
use crate::log::guarded;
use crate::opensips::exports::{
    module, module_dep_if, param_dep, with_tables, Cmd, Deps, DEP_ABORT, END_PARAM_DEP, INT_PARAM,
    STR_PARAM,
};
use crate::opensips::host::cluster::{self, Clusterer};
use crate::opensips::host::db::OsDatabases;
use crate::opensips::host::ffi::{self, module_exports, param_export_t};
use crate::opensips::host::shm::{OsLock, ShmAlloc};
use crate::opensips::host::stats::stat;
use crate::opensips::host::timer::process;
use crate::opensips::host::tm::Tm;
use crate::opensips::host::{ctime, log, tm, uac_auth_api};
use crate::ports::db::{Databases, DbConn};
use crate::registration::registry::{AuthJob, Settings};
use crate::{err, info};
use std::os::raw::{c_char, c_int};
use std::ptr::null_mut;

// ---- parameters (the core writes them while it reads the config) ----

static HASH_SIZE: ParamCell<c_int> = ParamCell::new(1);
static DEFAULT_EXPIRES: ParamCell<c_int> = ParamCell::new(3600);
static TIMER_INTERVAL: ParamCell<c_int> = ParamCell::new(100);
static FAILURE_RETRY_INTERVAL: ParamCell<c_int> = ParamCell::new(0);
/// Read by the core's dependency check too (the clusterer is needed when > 0).
static ENABLE_CLUSTERING: ParamCell<c_int> = ParamCell::new(0);
static DB_URL: ParamCell<*mut c_char> = ParamCell::new(null_mut());
static TABLE_NAME: ParamCell<*mut c_char> = ParamCell::new(c"registrant".as_ptr() as *mut c_char);

macro_rules! columns {
    ($($cell:ident = $default:literal),* $(,)?) => {
        $(static $cell: ParamCell<*mut c_char> = ParamCell::new($default.as_ptr() as *mut c_char);)*
        /// The column-name parameters, in the table's column order.
        fn column_names() -> [&'static [u8]; 12] {
            [$($cell.c_str().unwrap_or_default()),*]
        }
    };
}

columns! {
    REGISTRAR_COLUMN = c"registrar",
    PROXY_COLUMN = c"proxy",
    AOR_COLUMN = c"aor",
    THIRD_PARTY_COLUMN = c"third_party_registrant",
    USERNAME_COLUMN = c"username",
    PASSWORD_COLUMN = c"password",
    BINDING_URI_COLUMN = c"binding_URI",
    BINDING_PARAMS_COLUMN = c"binding_params",
    EXPIRY_COLUMN = c"expiry",
    FORCED_SOCKET_COLUMN = c"forced_socket",
    CLUSTER_SHTAG_COLUMN = c"cluster_shtag",
    STATE_COLUMN = c"state",
}

// ---- the registrant on OpenSIPS's ports ----

registrant_host! {
    /// The uac_registrant module's registrant: OpenSIPS's ports and the
    /// `registrant` table.
    Ureg in REG { Alloc = ShmAlloc; Lock = OsLock; Req = Tm; Db = OsDatabases; Table = RegistrantTable; Cluster = Clusterer; }

    /// As stock: through the loaded uac_auth module's API.
    fn authorize(
        reply: &crate::opensips::host::msg::SipMsg,
        code: i32,
        a: &AuthJob,
    ) -> Option<Result<Vec<u8>, String>> {
        Some(uac_auth_api::answer(
            reply,
            code,
            &a.job.ruri,
            &a.user,
            &a.password,
        ))
    }
}

fn socket_ok(s: &[u8]) -> bool {
    crate::opensips::host::socket_ok(s)
}

/// A parameter's text as a 'static str (the core keeps the value for the
/// process's life).
fn text(v: &'static [u8], what: &str) -> Result<&'static str, String> {
    std::str::from_utf8(v).map_err(|_| format!("{what}: not text"))
}

fn init() -> Result<(), String> {
    uac_auth_api::load().map_err(|_| "Failed to load uac_auth api".to_string())?;
    tm::load().map_err(|_| "can't load tm functions".to_string())?;
    let (clustering, dexp, ti, fri, hsize) = (
        ENABLE_CLUSTERING.get(),
        DEFAULT_EXPIRES.get(),
        TIMER_INTERVAL.get(),
        FAILURE_RETRY_INTERVAL.get(),
        HASH_SIZE.get(),
    );
    if clustering != 0 {
        cluster::load().map_err(|e| format!("failed to initialized clustering support: {e}"))?;
    }
    if dexp < 15 {
        return Err(format!("default_expires to short: [{dexp}]<15"));
    }
    if ti < 10 {
        return Err(format!("timer_interval to short: [{ti}]<10"));
    }
    if !(1..=20).contains(&hsize) {
        err!("Wrong hash size: 20<[{hsize}]<1");
    }
    // stock checks every bucket once per timer_interval: it needs a second
    // per bucket (we keep one schedule, the check stays for drop-in start-up)
    let buckets = 1u64
        .checked_shl(hsize.clamp(0, 63) as u32)
        .unwrap_or(u64::MAX);
    if (ti as u64) < buckets {
        return Err(format!(
            "timer_interval=[{ti}] MUST be at least as big as reg_hsize=[{buckets}]"
        ));
    }
    if fri < 0 {
        return Err(format!(
            "failure_retry_interval [{fri}] must not be negative"
        ));
    }
    let url = match DB_URL.c_str().filter(|u| !u.is_empty()) {
        Some(u) => u.to_vec(),
        None => crate::opensips::host::default_db_url()
            .ok_or("DB URL is not defined!")?
            .to_vec(),
    };
    let table_name = TABLE_NAME.c_str().unwrap_or_default().to_vec();
    let mut cols = COLUMNS;
    for (c, v) in cols.iter_mut().zip(column_names()) {
        *c = text(v, "column name")?;
    }
    let table = RegistrantTable::new(cols, ti as u32, socket_ok, ctime);
    // As stock: a missing table or a wrong version stops start-up.
    let mut db = OsDatabases
        .connect(&url, &table_name)
        .map_err(|e| format!("failed to initialize the DB support: {e}"))?;
    db.check_version(&table_name, TABLE_VERSION)
        .map_err(|e| format!("error during table version check: {e}"))?;
    drop(db);
    let settings = Settings {
        timer_interval: ti as u32,
        retry_interval: fri as u32,
        retry_after_expires: true,
        shm_reserve: 16,
        shm_per_attempt: 8 * 1024,
        own_callid: Some(crate::opensips::host::random_u64()),
        ..Default::default()
    };
    let cfg = Config {
        db_url: url,
        db_table: table_name,
        contact_addr: Vec::new(),
        default_socket: Vec::new(),
    };
    let reg = Registrant::with_cluster(settings, true, cfg, table, Tm, OsDatabases, Clusterer)?;
    let _ = REG.set(reg);
    info!("registrations kept by the registrant timer process (the table loads there)");
    Ok(())
}

unsafe extern "C" fn on_load() -> c_int {
    log::install();
    0
}

unsafe extern "C" fn mod_init() -> c_int {
    guarded("mod_init", -1, || match init() {
        Ok(()) => 0,
        Err(e) => {
            err!("{e}");
            -1
        }
    })
}

/// No script functions (as stock).
static CMDS: Table<[Cmd; 1]> = Table::new([<Cmd as crate::exports::End>::END]);

table! {
    static PARAMS: [Param] = [
        param!("hash_size", INT_PARAM, HASH_SIZE),
        param!("default_expires", INT_PARAM, DEFAULT_EXPIRES),
        param!("timer_interval", INT_PARAM, TIMER_INTERVAL),
        param!("failure_retry_interval", INT_PARAM, FAILURE_RETRY_INTERVAL),
        param!("enable_clustering", INT_PARAM, ENABLE_CLUSTERING),
        param!("db_url", STR_PARAM, DB_URL),
        param!("table_name", STR_PARAM, TABLE_NAME),
        param!("registrar_column", STR_PARAM, REGISTRAR_COLUMN),
        param!("proxy_column", STR_PARAM, PROXY_COLUMN),
        param!("aor_column", STR_PARAM, AOR_COLUMN),
        param!("third_party_registrant_column", STR_PARAM, THIRD_PARTY_COLUMN),
        param!("username_column", STR_PARAM, USERNAME_COLUMN),
        param!("password_column", STR_PARAM, PASSWORD_COLUMN),
        param!("binding_URI_column", STR_PARAM, BINDING_URI_COLUMN),
        param!("binding_params_column", STR_PARAM, BINDING_PARAMS_COLUMN),
        param!("expiry_column", STR_PARAM, EXPIRY_COLUMN),
        param!("forced_socket_column", STR_PARAM, FORCED_SOCKET_COLUMN),
        param!("cluster_shtag_column", STR_PARAM, CLUSTER_SHTAG_COLUMN),
        param!("state_column", STR_PARAM, STATE_COLUMN),
    ];
}

table! {
    /// Beyond stock (which exports none): the counters of the registry.
    static STATS: [ffi::stat_export_t] = [
        stat::<Count<Ureg, TOTAL>>(b"regtotal\0"),
        stat::<Count<Ureg, ONLINE>>(b"regactive\0"),
        stat::<Count<Ureg, DISABLED>>(b"regdisabled\0"),
    ];
}

table! {
    static PROCS: [ffi::proc_export_t] = [
        process::<RegTimer<Ureg>>(b"uac_registrant timer\0"),
    ];
}

/// The clusterer is needed first when enable_clustering is set (stock's
/// get_deps_clusterer).
unsafe extern "C" fn deps_clustering(_p: *const param_export_t) -> *mut ffi::module_dependency_t {
    guarded("deps_clustering", null_mut(), || {
        module_dep_if(ENABLE_CLUSTERING.get() > 0, c"clusterer")
    })
}

static DEPS: Deps<2> = Deps::new(
    &[(b"tm\0", DEP_ABORT), (b"uac_auth\0", DEP_ABORT)],
    [
        param_dep(c"enable_clustering", deps_clustering),
        END_PARAM_DEP,
    ],
);

/// The table the core looks up by name after dlopen().
#[cfg_attr(uac_export = "opensips-uac-registrant", export_name = "exports")]
pub static EXPORTS: Table<module_exports> = Table::new(with_tables(
    module(
        b"uac_registrant\0",
        DEPS.as_ptr(),
        CMDS.as_ptr() as *const Cmd,
        PARAMS.as_ptr() as *const Param,
        on_load,
        mod_init,
    ),
    STATS.as_ptr() as *const ffi::stat_export_t,
    mi::MI_CMDS.as_ptr() as *const ffi::mi_export_t,
    PROCS.as_ptr() as *const ffi::proc_export_t,
));
