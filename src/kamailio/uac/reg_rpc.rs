//! RPC commands uac.reg_* (same names, arguments, fields and faults as the
//! stock module) and the counters uac:regtotal, uac:regactive, uac:regdisabled,
//! read from the shared registry at every read (always exact).

use super::registration::{self as reg, find_by, now, rand32, registry};
use crate::err;
use crate::exports::{table, Table};
use crate::kamailio::host::ffi::{self, rpc_t};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::rpc::{self, Rpc, Val};
use crate::registration::account::{AccountData, Field};
use crate::registration::registry::{Entry, InsertError};
use std::os::raw::{c_char, c_long, c_void};

/// A record's fields copied out of shm (the RPC transport allocates while we
/// add them, so the lock is not held then).
struct View {
    text: Vec<Vec<u8>>,
    expires: i32,
    flags: i32,
    timer_expires: i64,
    reg_init: i64,
    reg_delay: i32,
}

fn view<A: allocator_api2::alloc::Allocator + Clone>(e: &Entry<A>) -> View {
    View {
        text: Field::ALL.iter().map(|&f| e.get(f).to_vec()).collect(),
        expires: e.expires as i32,
        flags: e.flags as i32,
        timer_expires: e.timer_expires,
        reg_init: e.reg_init,
        reg_delay: e.reg_delay as i32,
    }
}

fn add_view(rpc: &Rpc, v: &View, tn: i64) -> Result<(), rpc::RpcError> {
    let t = |f: Field| &v.text[f as usize][..];
    let or_none = |f: Field| {
        let s = t(f);
        if s.is_empty() {
            &b"none"[..]
        } else {
            s
        }
    };
    rpc.add_struct(&[
        ("l_uuid", Val::Str(t(Field::LUuid))),
        ("l_username", Val::Str(t(Field::LUsername))),
        ("l_domain", Val::Str(t(Field::LDomain))),
        ("r_username", Val::Str(t(Field::RUsername))),
        ("r_domain", Val::Str(t(Field::RDomain))),
        ("realm", Val::Str(t(Field::Realm))),
        ("auth_username", Val::Str(t(Field::AuthUsername))),
        ("auth_password", Val::Str(or_none(Field::AuthPassword))),
        ("auth_ha1", Val::Str(or_none(Field::AuthHa1))),
        ("auth_proxy", Val::Str(or_none(Field::AuthProxy))),
        ("expires", Val::Int(v.expires)),
        ("flags", Val::Int(v.flags)),
        ("diff_expires", Val::Int((v.timer_expires - tn) as i32)),
        ("timer_expires", Val::Int(v.timer_expires as i32)),
        ("reg_init", Val::Int(v.reg_init as i32)),
        ("reg_delay", Val::Int(v.reg_delay)),
        ("contact_addr", Val::Str(or_none(Field::ContactAddr))),
        ("socket", Val::Str(t(Field::Socket))),
    ])
}

/// Runs an RPC body with the panic guard.
fn entry(name: &str, rpc: *mut rpc_t, ctx: *mut c_void, body: impl FnOnce(&Rpc)) {
    guarded(name, (), || {
        // SAFETY: the pointers the core passed to this RPC function.
        let Some(r) = (unsafe { Rpc::new(rpc, ctx) }) else {
            return;
        };
        if !reg::enabled() {
            r.fault(500, "Not enabled");
            return;
        }
        body(&r)
    })
}

unsafe extern "C" fn rpc_dump(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_dump", rpc, ctx, |r| {
        let tn = now();
        // Beyond stock: optional [start [count]] pages through a large table
        // (a whole dump of 100,000 records does not fit an RPC reply).
        let start = r.scan_int(true).unwrap_or(0).max(0) as usize;
        let count = r.scan_int(true).map_or(usize::MAX, |c| c.max(0) as usize);
        let slots: Vec<u32> = match registry() {
            Some(g) => g.slots().skip(start).take(count).collect(),
            None => return,
        };
        // In chunks: the lock is held while copying, never while the
        // transport builds the reply.
        for chunk in slots.chunks(256) {
            let views: Vec<View> = match registry() {
                Some(g) => chunk.iter().filter_map(|&s| g.entry(s).map(view)).collect(),
                None => return,
            };
            for v in &views {
                if add_view(r, v, tn).is_err() {
                    r.fault(
                        500,
                        "Internal error adding item (for a large table: uac.reg_dump <start> <count>)",
                    );
                    return;
                }
            }
        }
    })
}

/// The "S.S" filter arguments: (attr, value) or a fault already sent.
fn filter_args(r: &Rpc) -> Option<(Vec<u8>, Vec<u8>)> {
    let (n, mut v) = r.scan_strs(2);
    if n < 2 {
        r.fault(400, "Invalid Parameters");
        return None;
    }
    let val = v.pop()?;
    let attr = v.pop()?;
    if attr.is_empty() || val.is_empty() {
        err!("bad parameter values");
        r.fault(400, "Invalid Parameter Values");
        return None;
    }
    Some((attr, val))
}

/// Finds the record of the filter arguments; faults as stock otherwise.
fn filter_slot(r: &Rpc) -> Option<u32> {
    let (attr, val) = filter_args(r)?;
    let g = registry()?;
    match find_by(&g, &attr, &val) {
        Err(_) => {
            r.fault(400, "Unsupported filter attribute");
            None
        }
        Ok(None) => {
            r.fault(404, "Record not found");
            None
        }
        Ok(Some(s)) => Some(s),
    }
}

unsafe extern "C" fn rpc_info(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_info", rpc, ctx, |r| {
        let Some(s) = filter_slot(r) else { return };
        let v = match registry().and_then(|g| g.entry(s).map(view)) {
            Some(v) => v,
            None => {
                r.fault(404, "Record not found");
                return;
            }
        };
        if add_view(r, &v, now()).is_err() {
            r.fault(500, "Internal error adding item");
        }
    })
}

fn set_enabled(rpc: *mut rpc_t, ctx: *mut c_void, enable: bool) {
    let name = if enable {
        "uac.reg_enable"
    } else {
        "uac.reg_disable"
    };
    entry(name, rpc, ctx, |r| {
        let Some(s) = filter_slot(r) else { return };
        if let Some(mut g) = registry() {
            if enable {
                g.enable(s, now());
            } else {
                g.disable(s, now());
            }
        }
    })
}

unsafe extern "C" fn rpc_enable(rpc: *mut rpc_t, ctx: *mut c_void) {
    set_enabled(rpc, ctx, true)
}

unsafe extern "C" fn rpc_disable(rpc: *mut rpc_t, ctx: *mut c_void) {
    set_enabled(rpc, ctx, false)
}

unsafe extern "C" fn rpc_reload(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_reload", rpc, ctx, |r| {
        if let Err(e) = reg::load(true) {
            err!("reloading the uacreg records failed: {e}");
            r.fault(500, "Failed to reload records - check log messages");
        }
    })
}

fn one_uuid(r: &Rpc) -> Option<Vec<u8>> {
    let (n, mut v) = r.scan_strs(1);
    if n < 1 {
        r.fault(400, "Invalid Parameters");
        return None;
    }
    v.pop()
}

unsafe extern "C" fn rpc_refresh(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_refresh", rpc, ctx, |r| {
        let Some(u) = one_uuid(r) else { return };
        match reg::refresh_one(&u) {
            Ok(true) => {}
            Ok(false) => r.fault(404, "Record not found"),
            Err(e) => {
                err!("refreshing [{}] failed: {e}", String::from_utf8_lossy(&u));
                r.fault(500, "Failed to refresh record - check log messages");
            }
        }
    })
}

unsafe extern "C" fn rpc_remove(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_remove", rpc, ctx, |r| {
        let Some(u) = one_uuid(r) else { return };
        let Some(mut g) = registry() else { return };
        match g.find_uuid(&u) {
            None => r.fault(404, "Record not found"),
            Some(s) => {
                // as stock: removed from memory, not unregistered
                let _ = g.remove(s);
            }
        }
    })
}

unsafe extern "C" fn rpc_add(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_add", rpc, ctx, |r| {
        // SSSSSSSSSS ddd SS: ten texts, expires, flags, reg_delay, socket, contact_addr
        let (n, texts) = r.scan_strs(10);
        if n < 10 {
            r.fault(400, "Invalid Parameters");
            return;
        }
        let mut ints = [0i32; 3];
        for i in &mut ints {
            match r.scan_int(false) {
                Some(v) => *i = v,
                None => {
                    r.fault(400, "Invalid Parameters");
                    return;
                }
            }
        }
        let (m, tail) = r.scan_strs(2);
        if m < 2 {
            r.fault(400, "Invalid Parameters");
            return;
        }
        let dot = |v: &[u8]| if v == b"." { Vec::new() } else { v.to_vec() };
        let mut d = AccountData::default();
        for (i, t) in texts.iter().enumerate() {
            d.text[i] = t.clone();
        }
        d.text[Field::AuthPassword as usize] = dot(&texts[7]);
        d.text[Field::AuthHa1 as usize] = dot(&texts[8]);
        d.text[Field::Socket as usize] = dot(&tail[0]);
        d.text[Field::ContactAddr as usize] = dot(&tail[1]);
        if ints[0] < 0 || ints[2] < 0 {
            r.fault(400, "Invalid Parameter Values");
            return;
        }
        d.expires = ints[0] as u32;
        d.flags = ints[1] as u32 & crate::registration::account::FL_DISABLED;
        d.reg_delay = ints[2] as u32;
        let Some(cfg) = reg::config() else { return };
        if let Err(e) = d.check(&cfg.contact_addr) {
            err!("uac.reg_add [{}]: {e}", d.l_uuid_lossy());
            if e.contains("password") || e.contains("auth_ha1") {
                r.fault(500, "Failed to add record - invalid password or ha1");
            } else {
                r.fault(400, &format!("Invalid Parameter Values: {e}"));
            }
            return;
        }
        let Some(mut g) = registry() else { return };
        match g.insert(&d, now(), rand32()) {
            Ok(_) => {}
            Err(InsertError::Duplicate) => r.fault(409, "uuid already exists"),
            Err(InsertError::NoMemory) => r.fault(500, "Failed to add record - check log messages"),
        }
    })
}

unsafe extern "C" fn rpc_active(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_active", rpc, ctx, |r| {
        let Some(n) = r.scan_int(false) else {
            err!("missing parameter");
            r.fault(500, "Missing parameter");
            return;
        };
        let omode = match registry() {
            Some(mut g) => {
                let o = g.active as i32;
                g.active = n != 0;
                o
            }
            None => return,
        };
        if r.add_struct(&[("omode", Val::Int(omode)), ("nmode", Val::Int(n))])
            .is_err()
        {
            r.fault(500, "Internal error creating response");
        }
    })
}

unsafe extern "C" fn rpc_unregister(rpc: *mut rpc_t, ctx: *mut c_void) {
    entry("uac.reg_unregister", rpc, ctx, |r| {
        let Some(s) = filter_slot(r) else { return };
        if let Err(e) = reg::unregister(s) {
            err!("uac.reg_unregister: {e}");
        }
    })
}

/// A method's help text as the core wants it: a NULL-ended array of lines.
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
        export!(c"uac.reg_dump", rpc_dump, DOC_DUMP, ffi::rpc_flags_RET_ARRAY),
        export!(c"uac.reg_info", rpc_info, DOC_INFO, 0),
        export!(c"uac.reg_enable", rpc_enable, DOC_ENABLE, 0),
        export!(c"uac.reg_disable", rpc_disable, DOC_DISABLE, 0),
        export!(c"uac.reg_reload", rpc_reload, DOC_RELOAD, 0),
        export!(c"uac.reg_refresh", rpc_refresh, DOC_REFRESH, 0),
        export!(c"uac.reg_remove", rpc_remove, DOC_REMOVE, 0),
        export!(c"uac.reg_add", rpc_add, DOC_ADD, 0),
        export!(c"uac.reg_active", rpc_active, DOC_ACTIVE, 0),
        export!(c"uac.reg_unregister", rpc_unregister, DOC_UNREGISTER, 0),
    ];
}

unsafe extern "C" fn cnt_total(_h: ffi::counter_handle_t, _p: *mut c_void) -> c_long {
    guarded("uac:regtotal", 0, || {
        registry().map_or(0, |g| g.total() as c_long)
    })
}
unsafe extern "C" fn cnt_active(_h: ffi::counter_handle_t, _p: *mut c_void) -> c_long {
    guarded("uac:regactive", 0, || {
        registry().map_or(0, |g| g.online() as c_long)
    })
}
unsafe extern "C" fn cnt_disabled(_h: ffi::counter_handle_t, _p: *mut c_void) -> c_long {
    guarded("uac:regdisabled", 0, || {
        registry().map_or(0, |g| g.disabled() as c_long)
    })
}

/// mod_init: the RPC commands and the counters.
pub fn init() -> Result<(), String> {
    // SAFETY: a static, NULL-terminated table.
    unsafe { rpc::register(RPC_METHODS.as_ptr() as *mut _)? };
    rpc::register_counter(
        c"uac",
        c"regtotal",
        c"Total number of registration accounts in memory",
        cnt_total,
    )?;
    rpc::register_counter(
        c"uac",
        c"regactive",
        c"Number of successfully registered accounts (200 OK)",
        cnt_active,
    )?;
    rpc::register_counter(
        c"uac",
        c"regdisabled",
        c"Counter of failed registrations (not 200 OK)",
        cnt_disabled,
    )?;
    Ok(())
}
