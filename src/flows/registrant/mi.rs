//! OpenSIPS uac_registrant's MI commands (reg_list, reg_reload, reg_enable,
//! reg_disable, reg_force_register) over the RPC port: stock's arguments
//! (aor, contact, registrar), errors and records. The host prints records as
//! MI objects; which container (the `Records` array, the `Registrant`
//! object, or "OK" when none is added) is the host's, per command.

use super::{RegHost, Registrant, Table};
use crate::err;
use crate::ports::rpc::RpcCall;
use crate::registration::account::FL_DISABLED;

/// An error the core reports as its own internal error (stock's handlers
/// return NULL then).
pub const INTERNAL: i32 = 500;
/// JSON-RPC's "Invalid params" (init_mi_param_error).
pub const INVALID_PARAMS: i32 = -32602;

/// The (aor, contact, registrar) arguments; a fault when one is missing.
fn coords(call: &mut impl RpcCall, cmd: &str) -> Option<[Vec<u8>; 3]> {
    let mut v = Vec::with_capacity(3);
    for name in ["aor", "contact", "registrar"] {
        match call.next_str(true) {
            Some(s) => v.push(s),
            None => {
                err!("{cmd}: parameter {name} missing or not a string");
                call.fault(INVALID_PARAMS, "Invalid params");
                return None;
            }
        }
    }
    v.try_into().ok()
}

/// The account the arguments name (a 404 fault when none).
fn found<'r, H: RegHost>(
    reg: &'r Registrant<H>,
    call: &mut impl RpcCall,
    cmd: &str,
) -> Option<(super::Guard<'r, H>, u32)> {
    let [aor, contact, registrar] = coords(call, cmd)?;
    let g = reg.lock();
    match g.find_key(&[&aor, &contact, &registrar]) {
        Some(s) => Some((g, s)),
        None => {
            drop(g);
            call.fault(404, "No such registrant");
            None
        }
    }
}

/// reg_list: every record.
pub fn list<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let slots: Vec<u32> = reg.lock().slots().collect();
    if super::rpc::add_records(reg, call, &slots).is_err() {
        err!("reg_list: unable to create reply");
        call.fault(INTERNAL, "Internal error");
    }
}

/// reg_list aor contact registrar: that record.
pub fn list_record<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some((g, s)) = found(reg, call, "reg_list") else {
        return;
    };
    let r = g.entry(s).map(|e| reg.table.record(&e, H::now()));
    drop(g);
    if let Some(r) = r {
        if call.add(&r).is_err() {
            call.fault(INTERNAL, "Internal error");
        }
    }
}

/// reg_reload: the whole table again (unchanged records stay as they are).
pub fn reload<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    if let Err(e) = reg.load(true) {
        err!("unable to reload the registrant data: {e}");
        call.fault(INTERNAL, "Internal error");
    }
}

/// reg_reload aor contact registrar: that record again from the DB.
pub fn reload_record<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    let Some([aor, contact, registrar]) = coords(call, "reg_reload") else {
        return;
    };
    match reg.refresh_key(&[&aor, &contact, &registrar]) {
        Ok(true) => {}
        Ok(false) => call.fault(404, "No such registrant in database"),
        Err(e) => {
            err!("unable to reload the registrant data: {e}");
            call.fault(INTERNAL, "Internal error");
        }
    }
}

fn switch<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall, enable: bool) {
    let cmd = if enable { "reg_enable" } else { "reg_disable" };
    let Some((g, s)) = found(reg, call, cmd) else {
        return;
    };
    let enabled = g.entry(s).is_some_and(|e| e.flags & FL_DISABLED == 0);
    if enabled == enable {
        return; // as stock: nothing to do, nothing written
    }
    reg.switch_found(g, s, enable, true);
}

/// reg_enable: registers now, state 0 in the DB.
pub fn enable<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    switch(reg, call, true)
}

/// reg_disable: unregisters a registered record now, state 1 in the DB.
pub fn disable<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    switch(reg, call, false)
}

/// reg_force_register: an enabled record registers again now.
pub fn force_register<H: RegHost>(reg: &Registrant<H>, call: &mut impl RpcCall) {
    if let Some((mut g, s)) = found(reg, call, "reg_force_register") {
        g.force(s, H::now());
    }
}
