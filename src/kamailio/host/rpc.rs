//! The RPC interface (`rpc_t`): what ctl (kamcmd) and jsonrpcs hand to an RPC
//! command, and counters read through a callback. Implements the RPC and
//! statistics ports.

use super::ffi::{self, rpc_t, str_};
use crate::ports::rpc::{AddError, Record, RpcCall, Value};
use crate::ports::stats::{Computed, Counters};
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};

/// One RPC call: the transport's function table and context.
pub struct Rpc {
    rpc: *mut rpc_t,
    ctx: *mut c_void,
    /// Integer fields sent as `'J'` (unsigned long long), the rest as `'d'`.
    wide: &'static [&'static str],
}

impl Rpc {
    /// # Safety
    /// The pointers the core passed to an RPC function, used during that call.
    pub unsafe fn new(rpc: *mut rpc_t, ctx: *mut c_void) -> Option<Rpc> {
        (!rpc.is_null()).then_some(Rpc {
            rpc,
            ctx,
            wide: &[],
        })
    }

    /// Names the integer fields this command sends as 64-bit (`'J'`), as the
    /// stock module of the host's version does.
    pub fn wide_fields(&mut self, names: &'static [&'static str]) {
        self.wide = names;
    }

    fn t(&self) -> &rpc_t {
        // SAFETY: checked non-NULL in new, valid during the call.
        unsafe { &*self.rpc }
    }

    /// Adds the fields of `r` to the structure `th`; a nested record becomes
    /// a nested structure.
    fn add_fields(&self, th: *mut c_void, r: &Record) -> Result<(), AddError> {
        let sadd = self.t().struct_add.ok_or(AddError)?;
        for (name, v) in &r.fields {
            let n = CString::new(*name).map_err(|_| AddError)?;
            let res = match v {
                Value::Str(b) => {
                    let mut s = super::str_of(b);
                    // SAFETY: "S" takes a str*, alive during the call.
                    unsafe {
                        sadd(
                            th,
                            c"S".as_ptr() as *mut c_char,
                            n.as_ptr(),
                            &mut s as *mut str_,
                        )
                    }
                }
                // SAFETY: "J" takes an unsigned long long.
                Value::Int(i) if self.wide.contains(name) => unsafe {
                    sadd(
                        th,
                        c"J".as_ptr() as *mut c_char,
                        n.as_ptr(),
                        (*i).max(0) as std::os::raw::c_ulonglong,
                    )
                },
                // SAFETY: "d" takes an int.
                Value::Int(i) => unsafe {
                    sadd(th, c"d".as_ptr() as *mut c_char, n.as_ptr(), *i as c_int)
                },
                Value::Record(sub) => {
                    let mut sh: *mut c_void = std::ptr::null_mut();
                    // SAFETY: "{" takes a void** for the nested structure.
                    let r = unsafe {
                        sadd(
                            th,
                            c"{".as_ptr() as *mut c_char,
                            n.as_ptr(),
                            &mut sh as *mut *mut c_void,
                        )
                    };
                    if r < 0 || sh.is_null() {
                        return Err(AddError);
                    }
                    self.add_fields(sh, sub)?;
                    0
                }
            };
            if res < 0 {
                return Err(AddError);
            }
        }
        Ok(())
    }
}

impl RpcCall for Rpc {
    fn next_str(&mut self, required: bool) -> Option<Vec<u8>> {
        let scan = self.t().scan?;
        let mut v = str_ {
            s: std::ptr::null_mut(),
            len: 0,
        };
        // "*": optional (no fault when missing).
        let fmt: &std::ffi::CStr = if required { c"S" } else { c"*S" };
        // SAFETY: one str* for one "S".
        let r = unsafe { scan(self.ctx, fmt.as_ptr() as *mut c_char, &mut v as *mut str_) };
        // SAFETY: the transport's buffer, valid during the call.
        (r >= 1).then(|| unsafe { super::str_bytes(&v) }.to_vec())
    }

    fn next_int(&mut self, required: bool) -> Option<i64> {
        let scan = self.t().scan?;
        let mut v: c_int = 0;
        let fmt: &std::ffi::CStr = if required { c"d" } else { c"*d" };
        // SAFETY: one int* for one "d".
        let r = unsafe { scan(self.ctx, fmt.as_ptr() as *mut c_char, &mut v as *mut c_int) };
        (r >= 1).then_some(v as i64)
    }

    fn fault(&mut self, code: i32, msg: &str) {
        let Some(f) = self.t().fault else { return };
        let m = CString::new(msg.replace('\0', "")).unwrap_or_default();
        // SAFETY: "%s" with a NUL-terminated text.
        unsafe { f(self.ctx, code, c"%s".as_ptr() as *mut c_char, m.as_ptr()) };
    }

    fn add(&mut self, r: &Record) -> Result<(), AddError> {
        let add = self.t().add.ok_or(AddError)?;
        let mut th: *mut c_void = std::ptr::null_mut();
        // SAFETY: "{" takes a void** for the new structure handle.
        if unsafe {
            add(
                self.ctx,
                c"{".as_ptr() as *mut c_char,
                &mut th as *mut *mut c_void,
            )
        } < 0
        {
            return Err(AddError);
        }
        self.add_fields(th, r)
    }
}

pub type RpcFn = unsafe extern "C" fn(*mut rpc_t, *mut c_void);

/// Runs an RPC command's body on the port: the panic guard, then `body`
/// with the call (nothing when the core passed no function table).
///
/// # Safety
/// `rpc` and `ctx` are what the core passed to the RPC function calling
/// this, used during that call only.
pub unsafe fn run(name: &str, rpc: *mut rpc_t, ctx: *mut c_void, body: impl FnOnce(&mut Rpc)) {
    crate::log::guarded(name, (), || {
        // SAFETY: the caller's contract.
        if let Some(mut r) = unsafe { Rpc::new(rpc, ctx) } {
            body(&mut r)
        }
    })
}

/// Registers a NULL-terminated table of RPC commands.
///
/// # Safety
/// `table` is static and terminated by an all-NULL entry.
pub unsafe fn register(table: *mut ffi::rpc_export_t) -> Result<(), String> {
    // SAFETY: caller contract; the core keeps the pointers.
    if unsafe { ffi::rpc_register_array(table) } != 0 {
        return Err("failed to register RPC commands".into());
    }
    Ok(())
}

pub type CounterCb =
    unsafe extern "C" fn(ffi::counter_handle_t, *mut c_void) -> std::os::raw::c_long;

/// Registers counter `group:name` whose value is read through `cb`.
pub fn register_counter(
    group: &'static std::ffi::CStr,
    name: &'static std::ffi::CStr,
    doc: &'static std::ffi::CStr,
    cb: CounterCb,
) -> Result<(), String> {
    let mut h = ffi::counter_handle_t::default();
    // SAFETY: static names; the core keeps the pointers.
    let r = unsafe {
        ffi::counter_register(
            &mut h,
            group.as_ptr(),
            name.as_ptr(),
            0,
            Some(cb),
            std::ptr::null_mut(),
            doc.as_ptr(),
            0,
        )
    };
    if r < 0 {
        return Err(format!("cannot register counter {name:?}"));
    }
    Ok(())
}

// ---- the statistics port (src/ports/stats.rs) ----

/// Kamailio's counters as the statistics port.
#[derive(Debug, Clone, Copy, Default)]
pub struct KamCounters;

/// The counter callback for `C`: one generic trampoline per counter type.
unsafe extern "C" fn computed<C: Computed>(
    _h: ffi::counter_handle_t,
    _p: *mut c_void,
) -> std::os::raw::c_long {
    crate::log::guarded(C::NAME, 0, || C::value() as std::os::raw::c_long)
}

impl Counters for KamCounters {
    fn register<C: Computed>(
        &self,
        group: &'static std::ffi::CStr,
        name: &'static std::ffi::CStr,
        doc: &'static std::ffi::CStr,
    ) -> Result<(), String> {
        register_counter(group, name, doc, computed::<C>)
    }
}
