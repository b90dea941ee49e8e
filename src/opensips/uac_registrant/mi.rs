//! The MI commands of uac_registrant as stock exports them (names, recipes
//! of parameters), each a thin entry into the registrant flow's MI
//! commands (`flows::registrant::mi`) on OpenSIPS's MI port.

use super::Ureg;
use crate::exports::table;
use crate::flows::registrant::mi as cmd;
use crate::flows::registrant::Registrant;
use crate::opensips::exports::{mi_command, recipe};
use crate::opensips::host::ffi::{self, mi_export_t, mi_recipe_t};
use crate::opensips::host::mi::{self as port, Answer, MiCall};
use std::ffi::CStr;
use std::os::raw::c_void;

/// The (aor, contact, registrar) recipe's parameters.
static COORDS: [&CStr; 3] = [c"aor", c"contact", c"registrar"];

/// An MI entry: the port's call, the flow's command on the registrant (the
/// core's internal error when registrations are not set up).
fn entry(
    name: &str,
    params: *const ffi::mi_params_t,
    names: &'static [&'static CStr],
    answer: Answer,
    f: fn(&Registrant<Ureg>, &mut MiCall),
) -> *mut ffi::mi_response_t {
    // SAFETY: every caller is an MI handler passing the core's params.
    let r = unsafe {
        port::run(
            name,
            params as *const c_void,
            names,
            answer,
            |c| match super::REG.get() {
                Some(r) => f(r, c),
                None => crate::ports::rpc::RpcCall::fault(c, port::INTERNAL, "not initialised"),
            },
        )
    };
    r as *mut ffi::mi_response_t
}

macro_rules! mi_fns {
    ($($f:ident: $name:literal, $names:expr, $answer:expr => $cmd:path;)*) => { $(
        unsafe extern "C" fn $f(
            params: *const ffi::mi_params_t,
            _async: *mut ffi::mi_handler,
        ) -> *mut ffi::mi_response_t {
            entry($name, params, $names, $answer, $cmd)
        }
    )* };
}

mi_fns! {
    mi_list: "reg_list", &[], Answer::Array("Records") => cmd::list;
    mi_list_record: "reg_list", &COORDS, Answer::Object("Registrant") => cmd::list_record;
    mi_reload: "reg_reload", &[], Answer::Ok => cmd::reload;
    mi_reload_record: "reg_reload", &COORDS, Answer::Ok => cmd::reload_record;
    mi_enable: "reg_enable", &COORDS, Answer::Ok => cmd::enable;
    mi_disable: "reg_disable", &COORDS, Answer::Ok => cmd::disable;
    mi_force: "reg_force_register", &COORDS, Answer::Ok => cmd::force_register;
}

const NO_PARAMS: &[&CStr] = &[];
const COORD_PARAMS: &[&CStr] = &[c"aor", c"contact", c"registrar"];

table! {
    /// As stock: reg_list and reg_reload without parameters (every record)
    /// or with (aor, contact, registrar) (that record).
    pub static MI_CMDS: [mi_export_t] = [
        mi_command(b"reg_list\0", &[recipe(mi_list, NO_PARAMS), recipe(mi_list_record, COORD_PARAMS)]),
        mi_command(b"reg_reload\0", &[recipe(mi_reload, NO_PARAMS), recipe(mi_reload_record, COORD_PARAMS)]),
        mi_command(b"reg_enable\0", &[recipe(mi_enable, COORD_PARAMS)]),
        mi_command(b"reg_disable\0", &[recipe(mi_disable, COORD_PARAMS)]),
        mi_command(b"reg_force_register\0", &[recipe(mi_force, COORD_PARAMS)]),
    ];
}

const _: fn() = || {
    let _: Option<mi_recipe_t> = None;
};
