//! Remote registrations (`uacreg`) in the uac module: the `reg_*`
//! parameters, and the registrant (`flows::registrant`, on Kamailio's ports)
//! made at mod_init with its timer process. What it does is the flow's; the
//! script functions, RPC commands and counters that reach it are in
//! reg_cmds.rs and reg_rpc.rs.

use crate::exports::ParamCell;
use crate::flows::registrant::run::RegTimer;
use crate::flows::registrant::uacreg::Uacreg;
use crate::flows::registrant::{registrant_host, Config, Registrant};
use crate::kamailio::host::db::KamDb;
use crate::kamailio::host::ffi;
use crate::kamailio::host::proc;
use crate::kamailio::host::shm::KamLock;
use crate::kamailio::host::shm::ShmAlloc;
use crate::kamailio::host::timer::KamTimers;
use crate::kamailio::host::tm::Tm;
use crate::ports::cluster::NoCluster;
use crate::ports::timer::Timers;
use crate::registration::registry::Settings;
use std::os::raw::{c_char, c_int};
use std::ptr::null_mut;

// ---- parameters (the core writes them while it reads the config) ----

const NULL_STR: ffi::str_ = ffi::str_ {
    s: null_mut(),
    len: 0,
};
pub static REG_DB_URL: ParamCell<ffi::str_> = ParamCell::new(NULL_STR);
pub static REG_DB_TABLE: ParamCell<ffi::str_> = ParamCell::new(ffi::str_ {
    s: c"uacreg".as_ptr() as *mut c_char,
    len: 6,
});
pub static REG_CONTACT_ADDR: ParamCell<ffi::str_> = ParamCell::new(NULL_STR);
pub static REG_TIMER_INTERVAL: ParamCell<c_int> = ParamCell::new(90);
pub static REG_RETRY_INTERVAL: ParamCell<c_int> = ParamCell::new(0);
pub static REG_KEEP_CALLID: ParamCell<c_int> = ParamCell::new(0);
pub static REG_RANDOM_DELAY: ParamCell<c_int> = ParamCell::new(0);
pub static REG_ACTIVE: ParamCell<c_int> = ParamCell::new(1);
pub static REG_GC_INTERVAL: ParamCell<c_int> = ParamCell::new(150);
pub static REG_HASH_SIZE: ParamCell<c_int> = ParamCell::new(4);
pub static REG_USE_DOMAIN: ParamCell<c_int> = ParamCell::new(0);
/// Beyond stock: refresh at this percentage of the granted expiry (0: stock rule).
pub static REG_REFRESH_PERCENT: ParamCell<c_int> = ParamCell::new(0);
/// `reload_delta` (Kamailio 6.x): seconds between two `uac.reg_reload`s, 0
/// no limit. 6.x's default is 30; on 5.6, where stock refuses a reload within
/// `reg_gc_interval` (HOST-DEFECTS.md), ours has no limit unless one is set.
pub static RELOAD_DELTA: ParamCell<c_int> =
    ParamCell::new(if cfg!(kamailio_ge = "6.0") { 30 } else { 0 });

registrant_host! {
    /// The uac module's registrant: Kamailio's ports and the `uacreg` table.
    UacReg in REG { Alloc = ShmAlloc; Lock = KamLock; Req = Tm; Db = KamDb; Table = Uacreg; Cluster = NoCluster; }
}

/// The registrant; None when remote registrations are off (no reg_db_url).
pub fn registrant() -> Option<&'static Registrant<UacReg>> {
    REG.get()
}

pub fn enabled() -> bool {
    REG.get().is_some()
}

/// mod_init: when reg_db_url is set, checks the parameters, creates the
/// shared registry and asks for the timer process.
pub fn init() -> Result<(), String> {
    // mod_init, main process, after the core wrote the parameters.
    let (url, table, contact, ti, ri, keep, rdelay, active, hsize, udom, sock) = (
        REG_DB_URL.opt().map(<[u8]>::to_vec),
        REG_DB_TABLE.bytes().to_vec(),
        REG_CONTACT_ADDR.bytes().to_vec(),
        REG_TIMER_INTERVAL.get(),
        REG_RETRY_INTERVAL.get(),
        REG_KEEP_CALLID.get(),
        REG_RANDOM_DELAY.get(),
        REG_ACTIVE.get(),
        REG_HASH_SIZE.get(),
        REG_USE_DOMAIN.get(),
        super::params::DEFAULT_SOCKET.bytes().to_vec(),
    );
    let pct = REG_REFRESH_PERCENT.get();
    if !(0..=99).contains(&pct) {
        return Err(format!("reg_refresh_percent {pct} out of range 0..99"));
    }
    let Some(url) = url else { return Ok(()) };
    if contact.is_empty() {
        return Err("contact address parameter not set".into());
    }
    if !(1..=86400).contains(&ti) {
        return Err(format!("reg_timer_interval {ti} out of range 1..86400"));
    }
    if !(0..=86400).contains(&ri) || rdelay < 0 {
        return Err("reg_retry_interval / reg_random_delay out of range".into());
    }
    let settings = Settings {
        timer_interval: ti as u32,
        retry_interval: ri as u32,
        keep_callid: keep != 0,
        use_domain: udom != 0,
        random_delay: rdelay as u32,
        refresh_percent: pct as u32,
        ..Default::default()
    };
    // reg_hash_size (2^n, 2..14 as stock): the indexes grow as needed.
    let _ = hsize.clamp(2, 14);
    let cfg = Config {
        db_url: url,
        db_table: table,
        contact_addr: contact,
        default_socket: sock,
    };
    let reg = Registrant::new(settings, active != 0, cfg, Uacreg, Tm, KamDb)?;
    let _ = REG.set(reg);
    KamTimers.reserve(1);
    Ok(())
}

/// child_init(PROC_MAIN): forks the "TIMER UAC REG" process.
pub fn child_init(rank: i32) -> Result<(), String> {
    if rank != proc::PROC_MAIN || !enabled() {
        return Ok(());
    }
    KamTimers.spawn::<RegTimer<UacReg>>(c"TIMER UAC REG")
}
