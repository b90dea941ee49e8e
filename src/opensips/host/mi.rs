//! OpenSIPS's MI as the RPC port: a command's named parameters read in the
//! order its recipe lists them, and the records of the port printed as MI
//! JSON objects (strings and numbers), in the container the command's
//! stock output has.

use super::ffi;
use crate::ports::rpc::{AddError, Record, RpcCall, Value};
use std::os::raw::{c_char, c_int, c_void};

/// Where a command's records go, and what it answers without one.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// "OK" (a command that prints nothing).
    Ok,
    /// `{"<name>": [records...]}`.
    Array(&'static str),
    /// `{"<name>": record}` (one record).
    Object(&'static str),
}

/// The core's internal error (stock handlers return NULL then).
pub const INTERNAL: i32 = 500;

/// One MI call.
pub struct MiCall {
    params: *const c_void,
    names: &'static [&'static std::ffi::CStr],
    next: usize,
    answer: Answer,
    resp: *mut c_void,
    container: *mut c_void,
    fault: Option<(i32, String)>,
}

impl MiCall {
    /// # Safety
    /// `params` is what the core passed to the MI handler, used during it.
    pub unsafe fn new(
        params: *const c_void,
        names: &'static [&'static std::ffi::CStr],
        answer: Answer,
    ) -> MiCall {
        MiCall {
            params,
            names,
            next: 0,
            answer,
            resp: std::ptr::null_mut(),
            container: std::ptr::null_mut(),
            fault: None,
        }
    }

    /// The response for the core (it frees it); NULL: its internal error.
    pub fn finish(mut self) -> *mut c_void {
        let fault = self.fault.take();
        let resp = std::mem::replace(&mut self.resp, std::ptr::null_mut());
        match fault {
            Some((code, msg)) => {
                if !resp.is_null() {
                    // SAFETY: a response we made and nobody else has.
                    unsafe { ffi::osg_mi_free(resp) };
                }
                if code == INTERNAL {
                    return std::ptr::null_mut();
                }
                if code == crate::flows::registrant::mi::INVALID_PARAMS {
                    // SAFETY: a new response for the core.
                    return unsafe { ffi::osg_mi_param_error() };
                }
                // SAFETY: msg lives through the call; the core copies it.
                unsafe {
                    ffi::osg_mi_error(code, msg.as_ptr() as *const c_char, msg.len() as c_int)
                }
            }
            None if !resp.is_null() => resp,
            None => match self.answer {
                // SAFETY: a new response for the core.
                Answer::Ok => unsafe { ffi::osg_mi_ok() },
                _ => {
                    // an empty container
                    if self.open().is_err() {
                        return std::ptr::null_mut();
                    }
                    std::mem::replace(&mut self.resp, std::ptr::null_mut())
                }
            },
        }
    }

    /// Makes the response and its container (for an array or object).
    fn open(&mut self) -> Result<*mut c_void, AddError> {
        if !self.container.is_null() {
            return Ok(self.container);
        }
        let mut obj = std::ptr::null_mut();
        // SAFETY: a new response; obj is its result object.
        self.resp = unsafe { ffi::osg_mi_result_object(&mut obj) };
        if self.resp.is_null() {
            return Err(AddError);
        }
        let (name, array) = match self.answer {
            Answer::Array(n) => (n, true),
            Answer::Object(n) => (n, false),
            Answer::Ok => return Err(AddError),
        };
        // SAFETY: obj belongs to our response; the core copies the name.
        self.container = unsafe {
            let (p, l) = (name.as_ptr() as *const c_char, name.len() as c_int);
            if array {
                ffi::osg_mi_add_array(obj, p, l)
            } else {
                ffi::osg_mi_add_object(obj, p, l)
            }
        };
        if self.container.is_null() {
            return Err(AddError);
        }
        Ok(self.container)
    }
}

impl Drop for MiCall {
    fn drop(&mut self) {
        if !self.resp.is_null() {
            // SAFETY: a response never handed to the core.
            unsafe { ffi::osg_mi_free(self.resp) };
        }
    }
}

/// Adds the fields of `r` to the MI object `to`.
fn add_fields(to: *mut c_void, r: &Record) -> Result<(), AddError> {
    for (name, v) in &r.fields {
        let (n, nl) = (name.as_ptr() as *const c_char, name.len() as c_int);
        // SAFETY: `to` is an object of our response; the core copies the
        // name and the value.
        let ok = unsafe {
            match v {
                Value::Str(s) => {
                    ffi::osg_mi_add_string(to, n, nl, s.as_ptr() as *const c_char, s.len() as c_int)
                        >= 0
                }
                Value::Int(i) => ffi::osg_mi_add_number(to, n, nl, *i as f64) >= 0,
                Value::Record(sub) => {
                    let o = ffi::osg_mi_add_object(to, n, nl);
                    !o.is_null() && add_fields(o, sub).is_ok()
                }
            }
        };
        if !ok {
            return Err(AddError);
        }
    }
    Ok(())
}

impl RpcCall for MiCall {
    fn next_str(&mut self, _required: bool) -> Option<Vec<u8>> {
        let name = self.names.get(self.next)?;
        self.next += 1;
        let (mut s, mut len) = (std::ptr::null(), 0);
        // SAFETY: the core's params of this call; the value is its own.
        if unsafe { ffi::osg_mi_str_param(self.params, name.as_ptr(), &mut s, &mut len) } < 0 {
            return None;
        }
        // SAFETY: the parameter's text, alive during the call.
        unsafe { super::copy_out(s, len) }
    }

    fn next_int(&mut self, required: bool) -> Option<i64> {
        self.next_str(required)
            .and_then(|s| std::str::from_utf8(&s).ok()?.trim().parse().ok())
    }

    fn fault(&mut self, code: i32, msg: &str) {
        self.fault.get_or_insert((code, msg.to_string()));
    }

    fn add(&mut self, r: &Record) -> Result<(), AddError> {
        let c = self.open()?;
        let to = match self.answer {
            // SAFETY: the array of our response; a new element object.
            Answer::Array(_) => unsafe { ffi::osg_mi_add_object(c, std::ptr::null(), 0) },
            _ => c,
        };
        if to.is_null() {
            return Err(AddError);
        }
        add_fields(to, r)
    }
}

/// Runs an MI command's body on the port: the panic guard, then the
/// response (NULL, the core's internal error, after a panic).
///
/// # Safety
/// `params` is what the core passed to the MI handler calling this.
pub unsafe fn run(
    name: &str,
    params: *const c_void,
    names: &'static [&'static std::ffi::CStr],
    answer: Answer,
    body: impl FnOnce(&mut MiCall),
) -> *mut c_void {
    crate::log::guarded(name, std::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        let mut call = unsafe { MiCall::new(params, names, answer) };
        body(&mut call);
        call.finish()
    })
}
