//! The tm module's API: a callback on replies of the current transaction,
//! the failed branch (the transaction port), and new requests with a reply
//! continuation (the request port): one generic tm callback per continuation
//! type takes its state from shared memory in whichever process gets the
//! final reply.

use super::ffi::{self, cell, sip_msg, tm_binds, tmcb_params};
use super::msg::SipMsg;
use once_cell::sync::OnceCell;

/// The tm API table: function pointers (and one unused `void*` slot).
struct TmApi(tm_binds);
// SAFETY: the table is filled once in mod_init and only read afterwards; every
// process has its own copy after fork.
unsafe impl Send for TmApi {}
// SAFETY: as for Send: after mod_init the table is only read.
unsafe impl Sync for TmApi {}

static TM: OnceCell<TmApi> = OnceCell::new();

pub fn load() -> Result<(), String> {
    let mut b = tm_binds::default();
    // SAFETY: the glue calls tm's load_tm_api into our zeroed struct.
    if unsafe { ffi::uacg_load_tm_api(&mut b) } != 0 {
        return Err("can't load TM API - is the tm module loaded?".into());
    }
    let _ = TM.set(TmApi(b));
    Ok(())
}

pub type ReplyCallback = unsafe extern "C" fn(*mut cell, i32, *mut tmcb_params);

/// Calls `cb` for each reply of the transaction of `msg` at `types`
/// (TMCB_RESPONSE_*). The transaction is created at t_relay if it is not yet.
fn register(msg: &SipMsg, types: u32, cb: ReplyCallback) -> Result<(), String> {
    let f = TM
        .get()
        .and_then(|b| b.0.register_tmcb)
        .ok_or("TM API not loaded")?;
    // SAFETY: valid message; cb lives as long as the process; no param to free.
    let r = unsafe {
        f(
            msg.raw(),
            std::ptr::null_mut(),
            types as i32,
            Some(cb),
            std::ptr::null_mut(),
            None,
        )
    };
    if r != 1 {
        return Err("failed to install TM callback".into());
    }
    Ok(())
}

/// The original request of the current transaction, when there is one.
pub fn current_request() -> Option<*mut sip_msg> {
    let f = TM.get().and_then(|b| b.0.t_gett)?;
    // SAFETY: t_gett returns the current cell, NULL or T_UNDEFINED (-1).
    unsafe {
        let t = f();
        if t.is_null() || t as isize == -1 {
            return None;
        }
        let req = (*t).uas.request;
        (!req.is_null()).then_some(req)
    }
}

/// The failed branch a failure route (or branch-failure event route) runs for.
pub struct FailedBranch {
    /// The reply that ended the branch (tm's copy in shared memory: read only).
    pub reply: SipMsg,
    pub code: i32,
    /// The branch's request URI.
    pub uri: Vec<u8>,
    sent: (*const u8, usize),
    t: *mut cell,
}

impl FailedBranch {
    /// The current transaction's failed branch: the picked one in failure_route,
    /// the current one in event_route[tm:branch-failure].
    pub fn current(branch_failure: bool) -> Result<FailedBranch, String> {
        let api = &TM.get().ok_or("TM API not loaded")?.0;
        let gett = api.t_gett.ok_or("TM API has no t_gett")?;
        // SAFETY: tm functions on the current process's transaction state; the
        // cell and its uac array stay valid during the failure route.
        unsafe {
            let t = gett();
            if t.is_null() || t as isize == -1 {
                return Err("no current transaction found".into());
            }
            let branch = if branch_failure {
                api.t_gett_branch.ok_or("TM API has no t_gett_branch")?()
            } else {
                api.t_get_picked_branch
                    .ok_or("TM API has no t_get_picked_branch")?()
            };
            if branch < 0 || branch as u32 >= (*t).nr_of_outgoings as u32 {
                return Err(format!("no picked branch ({branch})"));
            }
            let uac = &*(*t).uac.add(branch as usize);
            if uac.reply.is_null() {
                return Err("empty reply on picked branch".into());
            }
            if uac.reply as isize == -1 {
                return Err("cannot process a FAKED reply".into());
            }
            let sent = if uac.request.buffer.is_null() || uac.request.buffer_len <= 0 {
                (std::ptr::null(), 0)
            } else {
                (
                    uac.request.buffer as *const u8,
                    uac.request.buffer_len as usize,
                )
            };
            Ok(FailedBranch {
                reply: SipMsg::from_raw(uac.reply).ok_or("empty reply")?,
                code: uac.last_received,
                uri: super::str_bytes(&uac.uri).to_vec(),
                sent,
                t,
            })
        }
    }

    /// The request as it was sent on this branch.
    pub fn sent(&self) -> &[u8] {
        if self.sent.0.is_null() {
            return &[];
        }
        // SAFETY: tm's send buffer of the branch, alive while the failure route
        // runs, which is as long as this FailedBranch exists.
        unsafe { std::slice::from_raw_parts(self.sent.0, self.sent.1) }
    }

    /// Marks the transaction's request as authenticated by us (FL_UAC_AUTH), for
    /// the dialog module's CSeq tracking.
    pub fn mark_uac_auth(&self) {
        // SAFETY: the cell is the current transaction (see `current`).
        unsafe {
            let req = (*self.t).uas.request;
            if !req.is_null() {
                super::msg::add_flag(req, ffi::FL_UAC_AUTH);
            }
        }
    }
}

// ---- the request port (src/ports/request.rs) ----

use crate::ports::request::{resume, HostRequests, OnReply, Outgoing, Reply, Sent, When, Within};

/// (TMCB flags, callback, parameter in shm).
type Callback = (u32, ReplyCallback, *mut std::ffi::c_void);

fn ptr_of(s: &mut Option<ffi::str_>) -> *mut ffi::str_ {
    s.as_mut().map_or(std::ptr::null_mut(), |s| s as *mut _)
}

/// Sends `o` as a new transaction (t_request), inside a reply's dialog
/// (t_request_within, CSeq + 1), or inside a dialog given by its ids. Ok(true)
/// when the script's local-request route dropped it (see `dropped`).
fn request(o: &Outgoing, within: Within<'_, SipMsg>, cb: Option<Callback>) -> Result<bool, String> {
    let api = &TM.get().ok_or("TM API not loaded")?.0;
    let mut method = super::str_of(o.method);
    let mut ruri = super::str_of(o.ruri);
    let mut to = super::str_of(o.to);
    let mut from = super::str_of(o.from);
    let mut ouri = o.ouri.map(super::str_of);
    let mut hdrs = o.hdrs.map(super::str_of);
    let mut body = o.body.map(super::str_of);
    let mut sock = o.sock.map(super::str_of);
    let mut callid = o.callid.map(super::str_of);
    let mut r = ffi::uac_req_t {
        method: &mut method,
        headers: ptr_of(&mut hdrs),
        body: ptr_of(&mut body),
        ssock: ptr_of(&mut sock),
        callid: ptr_of(&mut callid),
        ..Default::default()
    };
    if let Some((flags, cb, p)) = cb {
        r.cb_flags = flags as _;
        r.cb = Some(cb);
        r.cbp = p;
    }
    // 6.1's tm: the CSeq of a new dialog and the transaction's timers (ticks)
    #[cfg(kam_uac_req_timers)]
    {
        r.cseqno = o.cseq;
        r.fr_timeout = o.fr_timeout;
        r.fr_inv_timeout = o.fr_inv_timeout;
    }
    let mut d = ffi::dlg_t::default();
    match within {
        Within::New => {}
        Within::Reply(rpl) => {
            // SAFETY: rpl is the reply a continuation was handed (valid for
            // the call); the glue fills d from it.
            if unsafe { ffi::uacg_reply_dialog(rpl.raw(), &mut d) } != 0 {
                return Err("failed to build tm dialog from the reply".into());
            }
            d.rem_target = ruri;
            if let Some(o) = ouri {
                d.dst_uri = o;
            }
        }
        Within::Dialog(ids) => {
            // A refresh within the registration's Call-ID: no body, no
            // Call-ID of its own (the dialog's).
            r.body = std::ptr::null_mut();
            r.callid = std::ptr::null_mut();
            d.id.call_id = super::str_of(ids.callid);
            d.id.loc_tag = super::str_of(ids.from_tag);
            d.loc_seq.value = ids.cseq;
            d.loc_seq.is_set = 1;
            d.loc_uri = super::str_of(ids.from);
            d.rem_uri = super::str_of(ids.uri);
            d.rem_target = ruri;
            if let Some(ou) = ouri {
                d.dst_uri = ou;
            }
            d.state = ffi::dlg_state_DLG_CONFIRMED;
        }
    }
    // SAFETY: every str points at bytes that outlive the call; tm copies what
    // it keeps (into the transaction, in shm); d lives through the call.
    let ret = unsafe {
        match within {
            Within::New => api.t_request.ok_or("TM API has no t_request")?(
                &mut r,
                &mut ruri,
                &mut to,
                &mut from,
                ptr_of(&mut ouri),
            ),
            Within::Reply(_) | Within::Dialog(_) => {
                r.dialog = &mut d;
                api.t_request_within
                    .ok_or("TM API has no t_request_within")?(&mut r)
            }
        }
    };
    if ret < 0 {
        return Err("tm failed to send the request".into());
    }
    Ok(dropped(&r))
}

/// Did `event_route[tm:local-request]` drop the request? tm (6.1) says so in
/// `cb_flags` and returns success; the callback will then never run. A tm
/// without the flag (5.6) cannot tell: its callback never runs either.
#[cfg(kam_tm_drop_flag)]
fn dropped(r: &ffi::uac_req_t) -> bool {
    super::narrow::<_, u32>(r.cb_flags).unwrap_or(0) & ffi::TMCB_LOCAL_REQUEST_DROP != 0
}

#[cfg(not(kam_tm_drop_flag))]
fn dropped(_: &ffi::uac_req_t) -> bool {
    false
}

/// tm's callback for every request sent with a continuation `H`: takes the
/// state from the callback parameter (tm's DESTROY call that follows finds
/// NULL), and on the outcome the flags asked for runs `H` with the reply.
unsafe extern "C" fn continuation<H: OnReply<Tm>>(_t: *mut cell, ty: i32, ps: *mut tmcb_params) {
    crate::log::guarded(H::NAME, (), || {
        // SAFETY: tm's parameter block for this callback; *param is NULL or
        // the blob send_then gave tm.
        let blob = unsafe {
            if ps.is_null() || (*ps).param.is_null() || (*(*ps).param).is_null() {
                return;
            }
            let p = *(*ps).param;
            *(*ps).param = std::ptr::null_mut();
            // SAFETY: send_then gave tm this pointer from Blob::into_raw;
            // taken from the parameter, it is taken back once, here.
            super::shm::Blob::from_raw(p)
        };
        // freed when dropped (also when the handler panics)
        let Some(blob) = blob else { return };
        if ty as u32 & (ffi::TMCB_LOCAL_COMPLETED | ffi::TMCB_ON_FAILURE) == 0 {
            return; // destroyed without a final reply
        }
        // SAFETY: tm's parameter block: the reply (FAKED_REPLY, -1, for a
        // local timeout) and its code.
        let (rpl, code) = unsafe {
            let rpl = (*ps).rpl;
            let rpl = if rpl as isize == -1 {
                std::ptr::null_mut()
            } else {
                rpl
            };
            (rpl, (*ps).code)
        };
        // SAFETY: the reply of this callback, valid during it (or NULL).
        let msg = unsafe { SipMsg::from_raw(rpl) };
        let msg = msg.as_ref();
        // (Kamailio's uac shows no registrar address: not asked for)
        let reply = Reply {
            code,
            msg,
            dst: None,
            socket: b"",
        };
        resume::<Tm, H>(&Tm, blob.bytes(), reply);
    })
}

// SAFETY: tm does not take the parameter when the request fails, nor when
// event_route[tm:local-request] dropped it (the callback never runs).
unsafe impl HostRequests for Tm {
    type Msg = SipMsg;
    type Shm = super::shm::KamShm;
    /// TMCB flags and the callback.
    type Callback = (u32, ReplyCallback);

    fn callback<H: OnReply<Tm>>(when: When) -> (u32, ReplyCallback) {
        let flags = match when {
            When::Completed => ffi::TMCB_LOCAL_COMPLETED,
            When::Failure => ffi::TMCB_ON_FAILURE,
        } | ffi::TMCB_DESTROY;
        (flags, continuation::<H>)
    }

    fn request(
        &self,
        out: &Outgoing,
        within: Within<'_, SipMsg>,
        cb: Option<((u32, ReplyCallback), *mut std::ffi::c_void)>,
    ) -> Result<Sent, String> {
        let dropped = request(out, within, cb.map(|((flags, f), p)| (flags, f, p)))?;
        Ok(if dropped { Sent::Dropped } else { Sent::Sent })
    }
}

// ---- the transaction port (src/ports/transaction.rs) ----

use crate::ports::message::Mark;
use crate::ports::transaction::{self as port, Transactions};

/// tm as the ports see it (the API table loaded in mod_init).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tm;

impl Transactions for Tm {
    type Msg = SipMsg;

    fn failed_branch(&self) -> Result<port::FailedBranch<'_, SipMsg>, String> {
        let br = FailedBranch::current(super::route_type() == ffi::BRANCH_FAILURE_ROUTE)?;
        let (p, len) = br.sent;
        let sent: &[u8] = if p.is_null() {
            &[]
        } else {
            // SAFETY: tm's send buffer of the branch stays alive while the
            // failure route runs, which outlives this borrow of `self` (a
            // route-long handle).
            unsafe { std::slice::from_raw_parts(p, len) }
        };
        Ok(port::FailedBranch {
            reply: Some(br.reply),
            code: br.code,
            uri: br.uri,
            sent,
        })
    }

    fn mark_request(&self, m: Mark) {
        let bit = super::msg::mark_bit(m);
        if bit == 0 {
            return;
        }
        if let Some(req) = current_request() {
            // SAFETY: the transaction's request is valid while the
            // transaction is.
            unsafe { super::msg::add_flag(req, bit) };
        }
    }
}

// ---- the reply-hook port (src/ports/replies.rs) ----

use super::Kamailio;
use crate::ports::message::{SipMessage, Which};
use crate::ports::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};

/// The transaction's copy of a request (tm's, in shared memory): read only.
pub struct TxRequest(*mut sip_msg);

impl StoredRequest for TxRequest {
    fn has_mark(&self, m: Mark) -> bool {
        let bit = super::msg::mark_bit(m);
        // SAFETY: the request lives as long as its transaction, which runs
        // the callback that made this value.
        unsafe { super::msg::has_flag(self.0, bit) }
    }

    fn ident_through_uri(&self, which: Which) -> Option<Vec<u8>> {
        // SAFETY: as above; identity_parsed only reads what is parsed.
        let msg = unsafe { SipMsg::from_raw(self.0) }?;
        let id = msg.identity_parsed(which)?;
        Some(id.through_uri(msg.buf()).to_vec())
    }

    fn cseq_number(&self) -> Option<u32> {
        // SAFETY: as above. tm parsed CSeq when it made the transaction, so
        // uacg_cseq_number's parse_headers() finds it done and allocates nothing.
        unsafe {
            if (*self.0).cseq.is_null() || (*(*self.0).cseq).parsed.is_null() {
                return None;
            }
            u32::try_from(ffi::uacg_cseq_number(self.0)).ok()
        }
    }
}

/// tm's reply callback for handler `H`.
unsafe extern "C" fn replied<H: ReplyHook<Kamailio>>(
    t: *mut cell,
    _type: i32,
    p: *mut tmcb_params,
) {
    crate::log::guarded("reply callback", (), || {
        // SAFETY: tm passes the transaction and the params of the reply; a
        // local reply is FAKED_REPLY (-1), not a message.
        let (req, rpl) = unsafe {
            if t.is_null() || p.is_null() || (*t).uas.request.is_null() {
                return;
            }
            let rpl = (*p).rpl;
            if rpl.is_null() || rpl as isize == -1 {
                return;
            }
            match SipMsg::from_raw(rpl) {
                Some(r) => (TxRequest((*t).uas.request), r),
                None => return,
            }
        };
        H::on_reply(&Kamailio, &req, &rpl)
    })
}

impl Replies for Kamailio {
    type Stored = TxRequest;

    fn on_replies<H: ReplyHook<Self>>(&self, msg: &SipMsg, when: ReplyEvent) -> Result<(), String> {
        let types = match when {
            ReplyEvent::In => ffi::TMCB_RESPONSE_IN,
            ReplyEvent::Forwarded => ffi::TMCB_RESPONSE_FWDED,
            ReplyEvent::Out => ffi::TMCB_RESPONSE_OUT,
        };
        register(msg, types, replied::<H>)
    }

    fn has_transaction(&self) -> bool {
        current_request().is_some()
    }

    fn mark_request(&self, m: Mark) {
        Transactions::mark_request(&Tm, m)
    }

    fn request_has_mark(&self, m: Mark) -> bool {
        let bit = super::msg::mark_bit(m);
        // SAFETY: the transaction's request is valid while the transaction is.
        current_request().is_some_and(|r| unsafe { super::msg::has_flag(r, bit) })
    }
}
