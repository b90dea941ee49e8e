//! tm through its API (loaded once in mod_init, held by the glue).

use super::ffi;
use super::msg::SipMsg;

pub const TMCB_RESPONSE_IN: i32 = 1 << 1;
pub const TMCB_RESPONSE_OUT: i32 = 1 << 7;

pub fn load() -> Result<(), String> {
    // SAFETY: load_tm_api fills the glue's static binds (main process).
    if unsafe { ffi::osg_tm_load() } != 0 {
        return Err("can't load TM API".into());
    }
    Ok(())
}

/// A transaction callback as tm calls it: (cell, type, params).
pub type Callback =
    unsafe extern "C" fn(t: *mut std::ffi::c_void, ty: i32, ps: *mut std::ffi::c_void);

pub fn register(msg: &SipMsg, types: i32, f: Callback) -> Result<(), String> {
    // SAFETY: msg is the current request; tm keeps the function pointer.
    let r = unsafe { ffi::osg_tm_register(msg.raw(), types, Some(f)) };
    if r != 1 {
        return Err("failed to install TM callback".into());
    }
    Ok(())
}

/// Sets flags on the current transaction's stored request too.
pub fn mark_request(flags: u32) {
    // SAFETY: the glue checks the transaction and its request.
    unsafe { ffi::osg_tm_mark_request(flags) }
}

pub const TMCB_RESPONSE_FWDED: i32 = 1 << 3;

/// The picked branch of the current transaction in a failure route.
pub struct Picked {
    /// The branch's reply (tm's shared copy); None when faked or missing.
    pub reply: Option<SipMsg>,
    pub code: i32,
    pub uri: Vec<u8>,
}

pub fn picked() -> Result<Picked, String> {
    let (mut rpl, mut code, mut uri, mut ul) = (std::ptr::null_mut(), 0, std::ptr::null(), 0);
    // SAFETY: the glue reads the current transaction's picked branch.
    let r = unsafe { ffi::osg_tm_picked(&mut rpl, &mut code, &mut uri, &mut ul) };
    match r {
        0 => {}
        -1 => return Err("no current transaction found".into()),
        _ => return Err("no picked branch".into()),
    }
    let uri = if uri.is_null() || ul <= 0 {
        Vec::new()
    } else {
        // SAFETY: the branch URI lives in the transaction (shm).
        unsafe { std::slice::from_raw_parts(uri as *const u8, ul as usize) }.to_vec()
    };
    Ok(Picked {
        // SAFETY: the reply stays in the transaction while we run.
        reply: unsafe { SipMsg::from_raw(rpl) },
        code,
        uri,
    })
}

pub fn has_transaction() -> bool {
    // SAFETY: reads the current transaction pointer.
    unsafe { ffi::osg_tm_has_trans() != 0 }
}

pub fn request_flags() -> u32 {
    // SAFETY: reads the current transaction's request flags.
    unsafe { ffi::osg_tm_request_flags() }
}

// ---- the transaction port (src/ports/transaction.rs) ----

use crate::ports::message::Mark;
use crate::ports::transaction::{self as port, Transactions};

/// tm as the ports see it (the API the glue loaded in mod_init).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tm;

impl Transactions for Tm {
    type Msg = SipMsg;

    /// The picked branch; OpenSIPS does not keep what a branch sent.
    fn failed_branch(&self) -> Result<port::FailedBranch<'_, SipMsg>, String> {
        let p = picked()?;
        Ok(port::FailedBranch {
            reply: p.reply,
            code: p.code,
            uri: p.uri,
            sent: &[],
        })
    }

    fn mark_request(&self, m: Mark) {
        let bit = super::msg::mark_bit(m);
        if bit != 0 {
            mark_request(bit);
        }
    }
}

// ---- the reply-hook port (src/ports/replies.rs) ----

use super::ffi::sip_msg;
use super::Opensips;
use crate::ports::message::Which;
use crate::ports::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};
use crate::replace::header::through_uri_len;

/// The transaction's copy of a request (tm's, in shared memory): read only.
pub struct TxRequest(*mut sip_msg);

impl StoredRequest for TxRequest {
    fn has_mark(&self, m: Mark) -> bool {
        let bit = super::msg::mark_bit(m);
        // SAFETY: the request lives as long as its transaction, which runs
        // the callback that made this value.
        bit != 0 && unsafe { ffi::osg_msg_flags(self.0) } & bit != 0
    }

    fn ident_through_uri(&self, which: Which) -> Option<Vec<u8>> {
        // SAFETY: as above; the glue parses an unparsed header into a local
        // copy, nothing into the shared request.
        let r = unsafe { super::msg::shm_request_ident(self.0, which) }?;
        let len = through_uri_len(r.body, 0, r.uri_start + r.uri_len).min(r.body.len());
        Some(r.body[..len].to_vec())
    }

    fn cseq_number(&self) -> Option<u32> {
        // SAFETY: as above; the already parsed CSeq only (no parsing).
        let msg = unsafe { SipMsg::from_raw(self.0) }?;
        let (n, _) = msg.cseq(false)?;
        std::str::from_utf8(n).ok()?.parse().ok()
    }
}

/// tm's reply callback for handler `H`.
unsafe extern "C" fn replied<H: ReplyHook<Opensips>>(
    t: *mut std::ffi::c_void,
    _ty: i32,
    ps: *mut std::ffi::c_void,
) {
    crate::log::guarded("reply callback", (), || {
        // SAFETY: tm calls us with its transaction and callback params; the
        // glue gives NULL for a missing request and for a missing or faked
        // reply.
        let (req, rpl) = unsafe { (ffi::osg_tm_uas_request(t), ffi::osg_tmcb_reply(ps)) };
        // SAFETY: as above.
        let Some(rpl) = (unsafe { SipMsg::from_raw(rpl) }) else {
            return;
        };
        if !req.is_null() {
            H::on_reply(&Opensips, &TxRequest(req), &rpl)
        }
    })
}

impl Replies for Opensips {
    type Stored = TxRequest;

    fn on_replies<H: ReplyHook<Self>>(&self, msg: &SipMsg, when: ReplyEvent) -> Result<(), String> {
        let types = match when {
            ReplyEvent::In => TMCB_RESPONSE_IN,
            ReplyEvent::Forwarded => TMCB_RESPONSE_FWDED,
            ReplyEvent::Out => TMCB_RESPONSE_OUT,
        };
        register(msg, types, replied::<H>)
    }

    fn has_transaction(&self) -> bool {
        has_transaction()
    }

    fn mark_request(&self, m: Mark) {
        Transactions::mark_request(&Tm, m)
    }

    fn request_has_mark(&self, m: Mark) -> bool {
        let bit = super::msg::mark_bit(m);
        bit != 0 && request_flags() & bit != 0
    }
}

// ---- the request port (src/ports/request.rs) ----

use super::shm::Blob;
use crate::ports::request::{resume, HostRequests, OnReply, Outgoing, Reply, Sent, When, Within};

/// tm's completion callback for continuation `H`: takes the state (the
/// release function then finds nothing) and runs `H` on the final reply;
/// with FAILURE_ONLY only for a failure ([`When::Failure`]).
unsafe extern "C" fn completed<H: OnReply<Tm>, const FAILURE_ONLY: bool>(
    t: *mut std::ffi::c_void,
    _ty: i32,
    ps: *mut std::ffi::c_void,
) {
    crate::log::guarded(H::NAME, (), || {
        // SAFETY: tm's params of this callback; the parameter is NULL or the
        // blob send_then handed over (Blob::into_raw), taken back once here.
        let Some(blob) = (unsafe { Blob::from_raw(ffi::osg_tmcb_take_param(ps)) }) else {
            return;
        };
        // SAFETY: as above: the code and the reply (NULL when faked) of the
        // callback, valid during it.
        let (code, msg) = unsafe {
            (
                ffi::osg_tmcb_code(ps),
                SipMsg::from_raw(ffi::osg_tmcb_reply(ps)),
            )
        };
        if code < 200 || (FAILURE_ONLY && code < 300) {
            return;
        }
        let msg = msg.as_ref();
        let mut sock = [0u8; 128];
        let (dst, socket) = route(t, &mut sock);
        let reply = Reply {
            code,
            msg,
            // a faked reply (no message) went nowhere we know of, as stock
            dst: msg.and(dst),
            socket,
        };
        resume::<Tm, H>(&Tm, blob.bytes(), reply);
    })
}

/// Where transaction `t` sent its first branch, and from which socket
/// (written into `buf`).
fn route(t: *mut std::ffi::c_void, buf: &mut [u8; 128]) -> (Option<std::net::SocketAddr>, &[u8]) {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let (mut ip, mut port, mut len) = ([0u8; 16], 0u16, buf.len() as i32);
    // SAFETY: t is the callback's transaction (or NULL, checked by the
    // glue); the glue writes at most 16 bytes into ip and at most len into
    // buf, and sets len to what it wrote.
    let family = unsafe {
        ffi::osg_t_dst(
            t,
            ip.as_mut_ptr(),
            &mut port,
            buf.as_mut_ptr() as *mut std::os::raw::c_char,
            &mut len,
        )
    };
    let dst = match family {
        4 => Some(IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(ip))),
        _ => None,
    };
    let len = (len.max(0) as usize).min(buf.len());
    (dst.map(|ip| (ip, port).into()), &buf[..len])
}

/// tm's release of a callback parameter the callback did not take (the
/// transaction ended without a final reply reaching us).
unsafe extern "C" fn release(p: *mut std::ffi::c_void) {
    crate::log::guarded("tm param release", (), || {
        // SAFETY: NULL or a blob of send_then that nobody took back.
        drop(unsafe { Blob::from_raw(p) });
    })
}

/// Sends through t_request_within: within the Call-ID of a reply or of
/// given dialog ids (OpenSIPS's tm makes a new Call-ID only for t_request,
/// which has no socket: the registrant names its Call-IDs itself).
fn request(
    out: &Outgoing,
    within: Within<'_, SipMsg>,
    cb: Option<(ffi::osg_tmcb_f, *mut std::ffi::c_void)>,
) -> Result<(), String> {
    let part = |b: Option<&[u8]>| {
        let b = b.unwrap_or_default();
        (b.as_ptr() as *const std::os::raw::c_char, b.len() as i32)
    };
    let mut r = ffi::osg_req::default();
    (r.method, r.method_len) = part(Some(out.method));
    (r.ruri, r.ruri_len) = part(Some(out.ruri));
    (r.to, r.to_len) = part(Some(out.to));
    (r.from, r.from_len) = part(Some(out.from));
    (r.ouri, r.ouri_len) = part(out.ouri);
    (r.hdrs, r.hdrs_len) = part(out.hdrs);
    (r.body, r.body_len) = part(out.body);
    (r.sock, r.sock_len) = part(out.sock);
    match within {
        Within::New => return Err("a new Call-ID must be named by the sender".into()),
        Within::Reply(rpl) => {
            r.mode = 1;
            r.rpl = rpl.raw();
        }
        Within::Dialog(ids) => {
            r.mode = 2;
            (r.callid, r.callid_len) = part(Some(ids.callid));
            (r.ftag, r.ftag_len) = part(Some(ids.from_tag));
            (r.to, r.to_len) = part(Some(ids.uri));
            (r.from, r.from_len) = part(Some(ids.from));
            r.cseq = ids.cseq;
        }
    }
    let (f, p) = cb.unwrap_or((None, std::ptr::null_mut()));
    // SAFETY: every pointer in r refers to bytes that outlive the call (tm
    // copies what it keeps into the transaction); f and release are our
    // callbacks for p, which tm owns from here unless the send fails.
    let ret =
        unsafe { ffi::osg_tm_request(&r, f, p, if f.is_some() { Some(release) } else { None }) };
    match ret {
        0 => Ok(()),
        -2 => Err(format!(
            "unknown socket {}",
            String::from_utf8_lossy(out.sock.unwrap_or_default())
        )),
        -3 => Err("cannot send within an unparsable reply".into()),
        _ => Err("tm failed to send the request".into()),
    }
}

// SAFETY: tm does not keep the parameter of a failed send (it clears the
// release function then).
unsafe impl HostRequests for Tm {
    type Msg = SipMsg;
    type Shm = super::shm::OsShm;
    type Callback = ffi::osg_tmcb_f;

    /// tm runs a local request's callback on its completion only: a
    /// failure-only continuation checks the code itself.
    fn callback<H: OnReply<Tm>>(when: When) -> ffi::osg_tmcb_f {
        match when {
            When::Completed => Some(completed::<H, false>),
            When::Failure => Some(completed::<H, true>),
        }
    }

    fn request(
        &self,
        out: &Outgoing,
        within: Within<'_, SipMsg>,
        cb: Option<(ffi::osg_tmcb_f, *mut std::ffi::c_void)>,
    ) -> Result<Sent, String> {
        request(out, within, cb).map(|()| Sent::Sent)
    }
}
