//! The RPC interface (`rpc_t`): what ctl (kamcmd) and jsonrpcs hand to an RPC
//! command, and counters read through a callback.

use super::ffi::{self, rpc_t, str_};
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};

/// One RPC call: the transport's function table and context.
pub struct Rpc {
    rpc: *mut rpc_t,
    ctx: *mut c_void,
}

/// A value of one field of a reply structure.
pub enum Val<'a> {
    Str(&'a [u8]),
    Int(i32),
}

impl Rpc {
    /// # Safety
    /// The pointers the core passed to an RPC function, used during that call.
    pub unsafe fn new(rpc: *mut rpc_t, ctx: *mut c_void) -> Option<Rpc> {
        (!rpc.is_null()).then_some(Rpc { rpc, ctx })
    }

    fn t(&self) -> &rpc_t {
        // SAFETY: checked non-NULL in new, valid during the call.
        unsafe { &*self.rpc }
    }

    pub fn fault(&self, code: i32, msg: &str) {
        let Some(f) = self.t().fault else { return };
        let m = CString::new(msg.replace('\0', "")).unwrap_or_default();
        // SAFETY: "%s" with a NUL-terminated text.
        unsafe { f(self.ctx, code, c"%s".as_ptr() as *mut c_char, m.as_ptr()) };
    }

    /// Reads up to `n` string parameters; the number read.
    pub fn scan_strs(&self, n: usize) -> (usize, Vec<Vec<u8>>) {
        let mut out = Vec::new();
        let Some(scan) = self.t().scan else {
            return (0, out);
        };
        for i in 0..n {
            let mut v = str_ {
                s: std::ptr::null_mut(),
                len: 0,
            };
            // "*" after the first: the rest is optional (no fault when missing).
            let fmt: &std::ffi::CStr = if i == 0 { c"S" } else { c"*S" };
            // SAFETY: one str* for one "S".
            let r = unsafe { scan(self.ctx, fmt.as_ptr() as *mut c_char, &mut v as *mut str_) };
            if r < 1 {
                break;
            }
            // SAFETY: the transport's buffer, valid during the call.
            out.push(unsafe { super::str_bytes(&v) }.to_vec());
        }
        (out.len(), out)
    }

    /// Reads one int parameter (required: a missing one is a fault of the
    /// transport).
    pub fn scan_int(&self, optional: bool) -> Option<i32> {
        let scan = self.t().scan?;
        let mut v: c_int = 0;
        let fmt: &std::ffi::CStr = if optional { c"*d" } else { c"d" };
        // SAFETY: one int* for one "d".
        let r = unsafe { scan(self.ctx, fmt.as_ptr() as *mut c_char, &mut v as *mut c_int) };
        (r >= 1).then_some(v)
    }

    /// Adds a structure with these fields (in order) to the reply.
    pub fn add_struct(&self, fields: &[(&str, Val)]) -> Result<(), RpcError> {
        let (Some(add), Some(sadd)) = (self.t().add, self.t().struct_add) else {
            return Err(RpcError);
        };
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
            return Err(RpcError);
        }
        for (name, v) in fields {
            let n = CString::new(*name).map_err(|_| RpcError)?;
            // SAFETY: one (name, value) pair per call: "S" takes a str*, "d" an int.
            let r = unsafe {
                match v {
                    Val::Str(b) => {
                        let mut s = super::str_of(b);
                        sadd(
                            th,
                            c"S".as_ptr() as *mut c_char,
                            n.as_ptr(),
                            &mut s as *mut str_,
                        )
                    }
                    Val::Int(i) => sadd(th, c"d".as_ptr() as *mut c_char, n.as_ptr(), *i as c_int),
                }
            };
            if r < 0 {
                return Err(RpcError);
            }
        }
        Ok(())
    }
}

/// The transport refused to add a value (out of memory in its reply).
#[derive(Debug)]
pub struct RpcError;

pub type RpcFn = unsafe extern "C" fn(*mut rpc_t, *mut c_void);

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
