//! The management commands (Kamailio's `uac.reg_*` RPC: same names,
//! arguments, fields and faults as the stock module) over the RPC port.
//! Records are the [`Table`]'s; they are built under the lock and added to
//! the answer after it is released (the transport allocates while it adds).

use super::cmds::{find_by, UnknownFilter};
use super::{Guard, RegHost, Registrant, Table};
use crate::err;
use crate::ports::rpc::{self, AddError, ArgError, Record, RpcCall};
use crate::registration::account::{AccountData, Field, FL_DISABLED};
use crate::registration::registry::InsertError;

/// Records copied per lock hold while dumping.
const DUMP_CHUNK: usize = 256;

/// Runs a command on the registrant (a fault when registrations are off).
pub fn run<H: RegHost, C: RpcCall>(call: &mut C, body: impl FnOnce(&Registrant<H>, &mut C)) {
    match H::get() {
        Some(r) => body(r, call),
        None => call.fault(500, "Not enabled"),
    }
}

/// A wrong argument: one log line naming it, and stock's fault.
fn bad_args(call: &mut impl RpcCall, cmd: &str, e: ArgError) {
    err!("{cmd}: {e}");
    call.fault(400, "Invalid Parameters");
}

/// uac.reg_dump [start [count]]: every record (beyond stock: a page of
/// them; a whole dump of 100,000 records does not fit an RPC reply).
pub fn dump<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let start = call.next_int(false).unwrap_or(0).max(0) as usize;
    let count = call
        .next_int(false)
        .map_or(usize::MAX, |c| c.max(0) as usize);
    let slots: Vec<u32> = reg.lock().slots().skip(start).take(count).collect();
    if add_records(reg, call, &slots).is_err() {
        call.fault(
            500,
            "Internal error adding item (for a large table: uac.reg_dump <start> <count>)",
        );
    }
}

/// Adds the records of `slots` to the answer, copied a chunk per lock hold
/// (the transport allocates while it adds, so never under the lock).
pub(super) fn add_records<H: RegHost>(
    reg: &Registrant<H>,
    call: &mut impl RpcCall,
    slots: &[u32],
) -> Result<(), AddError> {
    let now = H::now();
    for chunk in slots.chunks(DUMP_CHUNK) {
        let records: Vec<Record> = {
            let g = reg.lock();
            chunk
                .iter()
                .filter_map(|&s| g.entry(s).map(|e| reg.table.record(&e, now)))
                .collect()
        };
        for r in &records {
            call.add(r)?;
        }
    }
    Ok(())
}

/// The (filter, value) arguments: the account they find, under the lock
/// (None: a fault is sent).
fn filter_slot<'r, H: RegHost>(
    reg: &'r Registrant<H>,
    call: &mut impl RpcCall,
    cmd: &str,
) -> Option<(Guard<'r, H>, u32)> {
    let args = match rpc::strs(call, 1, &["filter", "value"]) {
        Ok(a) => a,
        Err(e) => {
            bad_args(call, cmd, e);
            return None;
        }
    };
    let (attr, val) = (&args[0], &args[1]);
    if attr.is_empty() || val.is_empty() {
        err!("bad parameter values");
        call.fault(400, "Invalid Parameter Values");
        return None;
    }
    let g = reg.lock();
    match find_by(&g, attr, val) {
        Err(UnknownFilter) => {
            drop(g);
            call.fault(400, "Unsupported filter attribute");
            None
        }
        Ok(None) => {
            drop(g);
            call.fault(404, "Record not found");
            None
        }
        Ok(Some(s)) => Some((g, s)),
    }
}

/// uac.reg_info filter value.
pub fn info<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some((g, s)) = filter_slot(reg, call, "uac.reg_info") else {
        return;
    };
    let record = g.entry(s).map(|e| reg.table.record(&e, H::now()));
    drop(g);
    match record {
        None => call.fault(404, "Record not found"),
        Some(r) => {
            if call.add(&r).is_err() {
                call.fault(500, "Internal error adding item");
            }
        }
    }
}

fn set_enabled<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall, enable: bool) {
    let cmd = if enable {
        "uac.reg_enable"
    } else {
        "uac.reg_disable"
    };
    if let Some((g, s)) = filter_slot(reg, call, cmd) {
        reg.enable_found(g, s, enable);
    }
}

/// uac.reg_enable filter value.
pub fn enable<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    set_enabled(reg, call, true)
}

/// uac.reg_disable filter value.
pub fn disable<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    set_enabled(reg, call, false)
}

/// uac.reg_reload with Kamailio 6.x's `reload_delta`: refused (stock's log
/// line and fault) when the previous one started less than `delta` seconds
/// ago; 0: no limit.
pub fn reload_limited<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall, delta: u32) {
    if delta > 0 {
        let now = H::now();
        let mut g = reg.lock();
        if g.last_reload > now - i64::from(delta) {
            drop(g);
            err!("shifting in-memory table is not possible in less than {delta} secs");
            call.fault(500, "Failed to shift records - check log messages");
            return;
        }
        g.last_reload = now;
    }
    reload(reg, call)
}

/// uac.reg_reload: the whole table again (unchanged rows stay as they are).
pub fn reload<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    if let Err(e) = reg.load(true) {
        err!("reloading the {} records failed: {e}", reg.table.name());
        call.fault(500, "Failed to reload records - check log messages");
    }
}

fn one_uuid(call: &mut impl RpcCall, cmd: &str) -> Option<Vec<u8>> {
    match rpc::strs(call, 1, &["l_uuid"]) {
        Ok(mut v) => v.pop(),
        Err(e) => {
            bad_args(call, cmd, e);
            None
        }
    }
}

/// uac.reg_refresh l_uuid: that row again from the DB.
pub fn refresh<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some(u) = one_uuid(call, "uac.reg_refresh") else {
        return;
    };
    match reg.refresh_one(&u) {
        Ok(true) => {}
        Ok(false) => call.fault(404, "Record not found"),
        Err(e) => {
            err!("refreshing [{}] failed: {e}", String::from_utf8_lossy(&u));
            call.fault(500, "Failed to refresh record - check log messages");
        }
    }
}

/// uac.reg_remove l_uuid: out of memory (as stock: not unregistered).
pub fn remove<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some(u) = one_uuid(call, "uac.reg_remove") else {
        return;
    };
    let mut g = reg.lock();
    match g.find_uuid(&u) {
        None => {
            drop(g);
            call.fault(404, "Record not found");
        }
        Some(s) => {
            let _ = g.remove(s);
        }
    }
}

/// What "." stands for in uac.reg_add beyond an empty secret, socket or
/// contact: Kamailio 6.1 takes it for an empty realm too.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddRules {
    pub dot_realm: bool,
}

/// The arguments of uac.reg_add: ten texts, expires, flags, reg_delay,
/// socket, contact_addr ("." for an empty secret, socket or contact).
fn add_args(call: &mut impl RpcCall, rules: AddRules) -> Result<AccountData, ArgError> {
    // l_uuid .. auth_proxy, in the uacreg order
    let names: Vec<&'static str> = Field::ALL[..10].iter().map(|f| f.column()).collect();
    let texts = rpc::strs(call, 1, &names)?;
    let expires = rpc::int(call, 11, "expires")?;
    let flags = rpc::int(call, 12, "flags")?;
    let delay = rpc::int(call, 13, "reg_delay")?;
    let tail = rpc::strs(call, 14, &["socket", "contact_addr"])?;
    let dot = |v: &[u8]| if v == b"." { Vec::new() } else { v.to_vec() };
    let mut d = AccountData::default();
    for (i, t) in texts.iter().enumerate() {
        d.text[i] = t.clone();
    }
    d.text[Field::AuthPassword as usize] = dot(&texts[7]);
    d.text[Field::AuthHa1 as usize] = dot(&texts[8]);
    if rules.dot_realm {
        d.text[Field::Realm as usize] = dot(&texts[Field::Realm as usize]);
    }
    d.text[Field::Socket as usize] = dot(&tail[0]);
    d.text[Field::ContactAddr as usize] = dot(&tail[1]);
    if expires < 0 || delay < 0 {
        return Err(ArgError {
            at: if expires < 0 { 11 } else { 13 },
            name: if expires < 0 { "expires" } else { "reg_delay" },
            want: "a number >= 0",
        });
    }
    d.expires = expires as u32;
    d.flags = flags as u32 & FL_DISABLED;
    d.reg_delay = delay as u32;
    Ok(d)
}

/// uac.reg_add: a record into memory (not into the DB), checked as a row.
pub fn add<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    add_with(reg, call, AddRules::default())
}

/// uac.reg_add with the host version's reading of ".".
pub fn add_with<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall, rules: AddRules) {
    let mut d = match add_args(call, rules) {
        Ok(d) => d,
        Err(e) if e.want == "a number >= 0" => {
            err!("uac.reg_add: {e}");
            call.fault(400, "Invalid Parameter Values");
            return;
        }
        Err(e) => return bad_args(call, "uac.reg_add", e),
    };
    if let Err(e) = d.check(&reg.cfg.contact_addr) {
        err!("uac.reg_add [{}]: {e}", d.l_uuid_lossy());
        if e.contains("password") || e.contains("auth_ha1") {
            call.fault(500, "Failed to add record - invalid password or ha1");
        } else {
            call.fault(400, &format!("Invalid Parameter Values: {e}"));
        }
        return;
    }
    let inserted = reg.lock().insert(&d, H::now(), H::rand());
    match inserted {
        Ok(_) => {}
        Err(InsertError::Duplicate) => call.fault(409, "uuid already exists"),
        Err(InsertError::NoMemory) => call.fault(500, "Failed to add record - check log messages"),
        Err(InsertError::Invalid) => call.fault(400, "Invalid Parameter Values"),
    }
}

/// uac.reg_active 0|1: no REGISTER leaves while 0; the old and new mode.
pub fn active<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some(n) = call.next_int(true) else {
        err!("missing parameter");
        call.fault(500, "Missing parameter");
        return;
    };
    let omode = {
        let mut g = reg.lock();
        let o = g.active as i64;
        g.active = n != 0;
        o
    };
    let r = Record::new().int("omode", omode).int("nmode", n);
    if call.add(&r).is_err() {
        call.fault(500, "Internal error creating response");
    }
}

/// uac.reg_unregister filter value: a REGISTER with expires 0, now.
pub fn unregister<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some((g, s)) = filter_slot(reg, call, "uac.reg_unregister") else {
        return;
    };
    drop(g);
    if let Err(e) = reg.unregister(s) {
        err!("uac.reg_unregister: {e}");
    }
}

/// uac.reg_register filter value (Kamailio 6.x): a REGISTER with the
/// account's expires, now, whatever its state; stock's faults.
pub fn register<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some((g, s)) = filter_slot(reg, call, "uac.reg_register") else {
        return;
    };
    drop(g);
    if let Err(e) = reg.register_now(s) {
        err!("uac.reg_register: {e}");
    }
}
