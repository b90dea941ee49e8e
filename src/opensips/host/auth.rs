//! The auth server's ports on an OpenSIPS request ([`SipMsg`]): the core's
//! parsed credentials (`auth_body_t` in hdr->parsed, which `$au`, `$ar` and
//! the auth_* modules read), found as stock's find_credentials finds them;
//! replies through the signaling module; this process and the core's start
//! time; the clusterer as the replication port.

use super::ffi::{self, hdr_field, sip_msg};
use super::msg::SipMsg;
use super::str_bytes;
use crate::ports::credentials::{AuthRequest, CredKind, Method, UriOf};
use crate::ports::message::{SipMessage, Which};
use crate::ports::replicate::{OnReplicated, Replicate};
use crate::ports::reply::{Reply, Sending};
use std::os::raw::{c_char, c_int};
use std::ptr::{null, null_mut, NonNull};

crate::host_credentials!(
    super::ffi,
    super::str_bytes,
    ffi::_hdr_types_t_HDR_AUTHORIZATION_T,
    ffi::_hdr_types_t_HDR_PROXYAUTH_T
);

/// A part of the message through a glue getter (None when absent).
fn part(
    msg: &SipMsg,
    f: unsafe extern "C" fn(*mut sip_msg, *mut c_int) -> *const c_char,
) -> Option<&[u8]> {
    let mut len = 0;
    // SAFETY: the getter returns NULL or len bytes that live as long as the
    // message (its buffer, new_uri, or the core's static address buffer,
    // read before the next call).
    unsafe {
        let p = f(msg.raw(), &mut len);
        (!p.is_null() && len >= 0).then(|| std::slice::from_raw_parts(p as *const u8, len as usize))
    }
}

impl AuthRequest for SipMsg {
    type Cred = CredHdr;

    fn method_kind(&self) -> Method {
        // SAFETY: a valid message.
        let m = unsafe { ffi::osg_req_method(self.raw()) } as u32;
        match m {
            0 => Method::None,
            ffi::request_method_METHOD_ACK => Method::Ack,
            ffi::request_method_METHOD_CANCEL => Method::Cancel,
            ffi::request_method_METHOD_PRACK => Method::Prack,
            ffi::request_method_METHOD_REGISTER => Method::Register,
            ffi::request_method_METHOD_PUBLISH => Method::Publish,
            _ => Method::Other,
        }
    }

    /// Stock's find_credentials (only credentials in an algorithm the
    /// digest library computes match); the parse lives with the message.
    fn find_credentials(&self, realm: &[u8], kind: CredKind) -> Result<Option<CredHdr>, String> {
        let mut h: *mut hdr_field = null_mut();
        // SAFETY: valid message; the glue only reads realm.
        let r = unsafe {
            ffi::osg_find_credentials(
                self.raw(),
                realm.as_ptr() as *const c_char,
                realm.len() as c_int,
                hdr_type(kind),
                &mut h,
            )
        };
        match r {
            0 => Ok(NonNull::new(h).map(CredHdr)),
            1 => Ok(None),
            -2 => Err("no memory to parse the credentials".into()),
            r => Err(format!("failed to parse credentials ({r})")),
        }
    }

    crate::parsed_credentials_methods!();

    fn authorized(&self) -> Option<CredHdr> {
        self.authorized_of(CredKind::Authorization)
            .or_else(|| self.authorized_of(CredKind::ProxyAuthorization))
    }

    fn authorized_of(&self, kind: CredKind) -> Option<CredHdr> {
        let proxy = (kind == CredKind::ProxyAuthorization) as c_int;
        // SAFETY: valid message; the glue reads the parsed hooks only.
        NonNull::new(unsafe { ffi::osg_authorized(self.raw(), proxy) }).map(CredHdr)
    }

    fn remove_credentials(&self, h: CredHdr) -> Result<(), String> {
        // SAFETY: h is a header of this message.
        if unsafe { ffi::osg_del_hdr(self.raw(), h.raw()) } != 0 {
            return Err("del_lump failed".into());
        }
        Ok(())
    }

    /// The module's functions run in request routes only.
    fn credentials_readable(&self) -> bool {
        true
    }

    fn ruri(&self) -> &[u8] {
        part(self, ffi::osg_ruri).unwrap_or_default()
    }

    fn callid(&self) -> Option<&[u8]> {
        part(self, ffi::osg_callid)
    }

    fn tag(&self, which: Which) -> Option<&[u8]> {
        let id = self.ident(which).ok()?;
        let (o, l) = id.tag?;
        self.buf().get(o..o + l)
    }

    fn src_ip(&self) -> Option<&[u8]> {
        part(self, ffi::osg_src_ip)
    }

    fn uri_user_host(&self, which: UriOf) -> Option<(&[u8], &[u8])> {
        let w = match which {
            UriOf::From => 0,
            UriOf::To => 1,
            UriOf::Request => 2,
        };
        let (mut u, mut ul, mut h, mut hl) = (null(), 0, null(), 0);
        // SAFETY: the parsed URIs live in the message (From/To bodies,
        // parsed_uri); the glue fills the pointers from them.
        unsafe {
            if ffi::osg_uri_user_host(self.raw(), w, &mut u, &mut ul, &mut h, &mut hl) != 0 {
                return None;
            }
            let s = |p: *const c_char, l: c_int| {
                if p.is_null() || l <= 0 {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(p as *const u8, l as usize)
                }
            };
            Some((s(u, ul), s(h, hl)))
        }
    }
}

impl Reply for SipMsg {
    fn add_reply_header(&self, lines: &[u8]) -> Result<(), String> {
        // SAFETY: valid request; add_lump_rpl copies the bytes.
        let r = unsafe {
            ffi::osg_add_rpl_hdr(
                self.raw(),
                lines.as_ptr() as *const c_char,
                lines.len() as c_int,
            )
        };
        if r != 0 {
            return Err("unable to append hdr".into());
        }
        Ok(())
    }

    /// signaling's reply: through tm when the request has a transaction,
    /// else stateless (OpenSIPS has no forced-stateless mode here).
    fn send_reply(&self, code: u16, reason: &str, _how: Sending) -> Result<(), String> {
        sig_reply(self, code.into(), Some(reason))
    }
}

/// signaling's reply with `reason` (None: the core's text for the code).
fn sig_reply(msg: &SipMsg, code: c_int, reason: Option<&str>) -> Result<(), String> {
    let (p, len) = reason.map_or((null(), 0), |r| {
        (r.as_ptr() as *const c_char, r.len() as c_int)
    });
    // SAFETY: valid request; signaling's API was loaded in mod_init; the
    // reason (or NULL) is valid for the call.
    if unsafe { ffi::osg_sig_reply(msg.raw(), code, p, len) } < 0 {
        return Err(format!("failed to send {code} reply"));
    }
    Ok(())
}

/// Loads the signaling module's API (mod_init).
pub fn load_signaling() -> Result<(), String> {
    // SAFETY: find_export and the module's load function, in mod_init.
    if unsafe { ffi::osg_sig_load() } < 0 {
        return Err("can't load signaling functions".into());
    }
    Ok(())
}

crate::host_process!(OsProcess, super::ffi => osg_process_no osg_startup_time);

/// The clusterer as the replication port: one capability of one cluster.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clusterer;

impl Replicate for Clusterer {
    fn send_all(&self, record: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the record into a BIN packet.
        let r =
            unsafe { ffi::osg_clu_send(record.as_ptr() as *const c_char, record.len() as c_int) };
        match r {
            0 => Ok(()),
            1 => Err("this node is disabled in the cluster".into()),
            -1 => Err("every other node is down".into()),
            r => Err(format!("clusterer send failed ({r})")),
        }
    }
}

unsafe extern "C" fn on_record<H: OnReplicated>(data: *const c_char, len: c_int) {
    crate::log::guarded("cluster record", (), || {
        if data.is_null() || len < 0 {
            return;
        }
        // SAFETY: the glue passes the str it popped from the packet, valid
        // for this call.
        H::received(unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) })
    })
}

unsafe extern "C" fn on_sync<H: OnReplicated>(node_id: c_int) {
    crate::log::guarded("cluster sync", (), || {
        H::snapshot(&mut |rec| {
            // SAFETY: the glue copies the record into the sync packet.
            unsafe {
                ffi::osg_clu_sync_push(node_id, rec.as_ptr() as *const c_char, rec.len() as c_int)
                    == 0
            }
        })
    })
}

/// Joins cluster `cluster_id` under capability `cap` (mod_init): records
/// and sync requests go to `H`; a sync is asked for at once.
pub fn join_cluster<H: OnReplicated>(
    cluster_id: i32,
    cap: &'static std::ffi::CStr,
) -> Result<(), String> {
    // SAFETY: in mod_init; the glue keeps cap (static) and the callbacks.
    let r = unsafe {
        ffi::osg_clu_init(
            cluster_id,
            cap.as_ptr(),
            Some(on_record::<H>),
            Some(on_sync::<H>),
        )
    };
    match r {
        0 => Ok(()),
        -1 => Err("failed to load the clusterer API - is the clusterer module loaded?".into()),
        -2 => Err("cannot register the nonce-index capability with the clusterer".into()),
        _ => Err("nonce-index sync request failed".into()),
    }
}

/// A pseudo-variable named in a module parameter (`username_spec`,
/// `password_spec`), parsed at mod_init.
pub struct PvSpec(ffi::pv_spec_t);

// SAFETY: parsed before fork and only read afterwards (pv_get_spec_value
// takes it as read-only input); what it points to is kept for the process.
unsafe impl Send for PvSpec {}
// SAFETY: as for Send.
unsafe impl Sync for PvSpec {}

impl PvSpec {
    /// Parses a spec; Err when it is not a readable variable.
    pub fn parse(spec: &[u8]) -> Result<PvSpec, String> {
        // the core keeps pointers into its input: a copy for the process
        let owned: &'static [u8] = Box::leak(spec.to_vec().into_boxed_slice());
        let input = ffi::str_ {
            s: owned.as_ptr() as *mut c_char,
            len: owned.len() as c_int,
        };
        let mut sp = ffi::pv_spec_t::default();
        // SAFETY: input lives for the process; sp is ours to fill.
        if unsafe { ffi::pv_parse_spec(&input, &mut sp) }.is_null() {
            return Err("failed to parse spec".into());
        }
        // PVT_NONE, PVT_EMPTY, PVT_NULL: nothing to read
        if sp.type_ <= 2 {
            return Err("invalid spec".into());
        }
        Ok(PvSpec(sp))
    }

    /// Its string value for `msg` (None when unset, empty or not a string).
    pub fn get(&self, msg: &SipMsg) -> Option<Vec<u8>> {
        let mut v = ffi::pv_value_t::default();
        // SAFETY: a parsed spec and the current message; the value is
        // copied out before pv_value_destroy frees what the getter allocated.
        unsafe {
            let sp = &self.0 as *const ffi::pv_spec_t as *mut ffi::pv_spec_t;
            if ffi::pv_get_spec_value(msg.raw(), sp, &mut v) != 0 {
                return None;
            }
            let ok = v.flags & ffi::PV_VAL_STR as i32 != 0 && v.flags & 0x3 == 0;
            let out = ok
                .then(|| str_bytes(&v.rs).to_vec())
                .filter(|b| !b.is_empty());
            ffi::pv_value_destroy(&mut v);
            out
        }
    }
}

/// A reply with the core's reason text for `code` (the API's send_resp
/// without a reason).
pub fn reply_default(msg: &SipMsg, code: c_int) -> Result<(), String> {
    sig_reply(msg, code, None)
}
