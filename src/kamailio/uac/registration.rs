//! Remote registrations (`uacreg`): the shared registry in Kamailio shared
//! memory, the timer process that sends what is due, the tm reply callback
//! (which runs in whichever worker receives the reply), loading from the DB,
//! and the script functions uac_reg_*.

use crate::digest::challenge::Challenge;
use crate::digest::response::RequestInfo;
use crate::exports::ParamCell;
use crate::flows::digest_client::{self, Creds, Policy, Stored};
use crate::kamailio::host::db::Db;
use crate::kamailio::host::ffi::{self, cell, sip_msg, tmcb_params};
use crate::kamailio::host::guard::guarded;
use crate::kamailio::host::lock::{ShmGuard, ShmMutex};
use crate::kamailio::host::msg::SipMsg;
use crate::kamailio::host::shm::{self, ShmAlloc};
use crate::kamailio::host::{proc, tm};
use crate::registration::account::{
    AccountData, Field, COLUMNS, FL_DISABLED, FL_ONGOING, FL_ONLINE, INT_COLUMNS,
};
use crate::registration::registry::{
    AfterReply, AuthJob, Filter, InsertError, Registry, SendJob, Settings, Ticket, Upsert,
};
use crate::registration::reply::{uri_user, ReplyInfo};
use crate::{dbg, err, info, warn};
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null_mut;

/// The uacreg schema version of Kamailio 5.6.
pub const TABLE_VERSION: u32 = 5;
/// Rows read per DB page (private memory stays bounded).
const DB_PAGE: usize = 1000;
/// REGISTERs sent per lock hold in the timer process.
const SEND_BATCH: usize = 256;

// ---- parameters (the core writes them while it reads the config) ----

const NULL_STR: ffi::str_ = ffi::str_ {
    s: null_mut(),
    len: 0,
};
pub static REG_DB_URL: ParamCell<ffi::str_> = ParamCell::new(NULL_STR);
pub static REG_DB_TABLE: ParamCell<ffi::str_> = ParamCell::new(ffi::str_ {
    s: c"uacreg".as_ptr() as *mut c_char,
    len: 6,
});
pub static REG_CONTACT_ADDR: ParamCell<ffi::str_> = ParamCell::new(NULL_STR);
pub static REG_TIMER_INTERVAL: ParamCell<c_int> = ParamCell::new(90);
pub static REG_RETRY_INTERVAL: ParamCell<c_int> = ParamCell::new(0);
pub static REG_KEEP_CALLID: ParamCell<c_int> = ParamCell::new(0);
pub static REG_RANDOM_DELAY: ParamCell<c_int> = ParamCell::new(0);
pub static REG_ACTIVE: ParamCell<c_int> = ParamCell::new(1);
pub static REG_GC_INTERVAL: ParamCell<c_int> = ParamCell::new(150);
pub static REG_HASH_SIZE: ParamCell<c_int> = ParamCell::new(4);
pub static REG_USE_DOMAIN: ParamCell<c_int> = ParamCell::new(0);
/// Beyond stock: refresh at this percentage of the granted expiry (0: stock rule).
pub static REG_REFRESH_PERCENT: ParamCell<c_int> = ParamCell::new(0);

/// Fixed before fork.
pub struct RegConfig {
    pub db_url: Vec<u8>,
    pub db_table: Vec<u8>,
    pub contact_addr: Vec<u8>,
    pub use_domain: bool,
    pub default_socket: Vec<u8>,
}

static CONFIG: OnceCell<RegConfig> = OnceCell::new();

/// The shared registry: created in mod_init (before fork), so every process
/// holds the same shm pointer.
struct Shared(ShmMutex<Registry<ShmAlloc>>);
static SHARED: OnceCell<Shared> = OnceCell::new();

pub fn enabled() -> bool {
    SHARED.get().is_some()
}

pub fn config() -> Option<&'static RegConfig> {
    CONFIG.get()
}

/// The locked registry; None when remote registrations are off (no reg_db_url).
pub fn registry() -> Option<ShmGuard<'static, Registry<ShmAlloc>>> {
    SHARED.get().map(|s| s.0.lock())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub fn rand32() -> u32 {
    use rand::RngCore;
    rand::rngs::OsRng.next_u32()
}

/// mod_init: when reg_db_url is set, checks the parameters, creates the
/// shared registry and the counters, and asks for the timer process.
pub fn init() -> Result<(), String> {
    // mod_init, main process, after the core wrote the parameters.
    let (url, table, contact, ti, ri, keep, rdelay, active, hsize, udom, sock) = (
        REG_DB_URL.opt().map(<[u8]>::to_vec),
        REG_DB_TABLE.bytes().to_vec(),
        REG_CONTACT_ADDR.bytes().to_vec(),
        REG_TIMER_INTERVAL.get(),
        REG_RETRY_INTERVAL.get(),
        REG_KEEP_CALLID.get(),
        REG_RANDOM_DELAY.get(),
        REG_ACTIVE.get(),
        REG_HASH_SIZE.get(),
        REG_USE_DOMAIN.get(),
        super::params::DEFAULT_SOCKET.bytes().to_vec(),
    );
    let pct = REG_REFRESH_PERCENT.get();
    if !(0..=99).contains(&pct) {
        return Err(format!("reg_refresh_percent {pct} out of range 0..99"));
    }
    let Some(url) = url else { return Ok(()) };
    if contact.is_empty() {
        return Err("contact address parameter not set".into());
    }
    if !(1..=86400).contains(&ti) {
        return Err(format!("reg_timer_interval {ti} out of range 1..86400"));
    }
    if !(0..=86400).contains(&ri) || rdelay < 0 {
        return Err("reg_retry_interval / reg_random_delay out of range".into());
    }
    let settings = Settings {
        timer_interval: ti as u32,
        retry_interval: ri as u32,
        keep_callid: keep != 0,
        use_domain: udom != 0,
        random_delay: rdelay as u32,
        refresh_percent: pct as u32,
        ..Default::default()
    };
    let mut reg = Registry::new_in(settings, ShmAlloc);
    reg.active = active != 0;
    // reg_hash_size (2^n, 2..14 as stock): the initial index capacity.
    let _ = hsize.clamp(2, 14);
    let shared = ShmMutex::new(reg)?;
    let _ = CONFIG.set(RegConfig {
        db_url: url,
        db_table: table,
        contact_addr: contact,
        use_domain: udom != 0,
        default_socket: sock,
    });
    let _ = SHARED.set(Shared(shared));
    super::reg_rpc::init()?;
    proc::reserve(1);
    Ok(())
}

/// child_init(PROC_MAIN): forks the "TIMER UAC REG" process.
pub fn child_init(rank: i32) -> Result<(), String> {
    if rank != proc::PROC_MAIN || !enabled() {
        return Ok(());
    }
    proc::fork(c"TIMER UAC REG", timer_main)
}

unsafe extern "C" fn timer_main() {
    guarded("uac reg timer (load)", (), || {
        if let Err(e) = load(false) {
            err!("loading the uacreg records failed: {e}");
        }
    });
    loop {
        proc::cfg_update();
        let pending = guarded("uac reg timer", false, tick);
        // Due records held back by the in-flight cap: look again soon.
        let pause = if pending { 20 } else { 1000 };
        std::thread::sleep(std::time::Duration::from_millis(pause));
    }
}

/// One timer tick: sends what is due, a batch per lock hold. With nothing due
/// it costs one lock and a look at the heap's top. True when due records wait.
fn tick() -> bool {
    let start = std::time::Instant::now();
    loop {
        // Back-pressure: tm keeps every transaction in shm (and a while after
        // it ends); with little left, wait for them to go.
        if shm::low(6) {
            return registry().is_some_and(|r| r.pending(now()));
        }
        let jobs = match registry() {
            Some(mut r) => r.due(now(), SEND_BATCH),
            None => return false,
        };
        let n = jobs.len();
        for j in &jobs {
            if let Err(e) = send(j, None) {
                err!(
                    "failed to send request for [{}]: {e}",
                    String::from_utf8_lossy(&j.l_uuid)
                );
                if let Some(mut r) = registry() {
                    r.send_failed(j.slot, j.gen, j.attempt, now(), rand32());
                }
            }
        }
        // Leave the rest for the next tick when a burst takes long.
        if n < SEND_BATCH || start.elapsed().as_millis() > 900 {
            break;
        }
    }
    registry().is_some_and(|r| r.pending(now()))
}

// ---- loading ----

/// Loads (or, with `reload`, diff-swaps) every uacreg row. Returns (loaded, skipped).
pub fn load(reload: bool) -> Result<(usize, usize), String> {
    if reload && !registry().ok_or("not enabled")?.begin_reload() {
        return Err("a reload is already in progress".into());
    }
    let r = load_rows(reload);
    if r.is_err() && reload {
        if let Some(mut g) = registry() {
            g.abort_reload();
        }
    }
    r
}

fn load_rows(reload: bool) -> Result<(usize, usize), String> {
    let cfg = CONFIG.get().ok_or("remote registrations not enabled")?;
    let mut db = Db::connect(&cfg.db_url, &cfg.db_table)?;
    db.check_version(&cfg.db_table, TABLE_VERSION)?;
    let (mut ok, mut bad) = (0usize, 0usize);
    let mut page: Vec<AccountData> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let flush = |page: &mut Vec<AccountData>, ok: &mut usize, bad: &mut usize| {
        let Some(mut r) = registry() else { return };
        let t = now();
        for d in page.drain(..) {
            let res = if reload {
                r.upsert(&d, t, rand32()).map(|u| u != Upsert::Unchanged)
            } else {
                r.insert(&d, t, rand32()).map(|_| true)
            };
            match res {
                Ok(_) => *ok += 1,
                Err(InsertError::Duplicate) => {
                    *bad += 1;
                    err!(
                        "uacreg record l_uuid '{}' skipped: l_uuid already loaded",
                        d.l_uuid_lossy()
                    );
                }
                Err(InsertError::NoMemory) => {
                    *bad += 1;
                    err!(
                        "uacreg record l_uuid '{}' skipped: out of shared memory",
                        d.l_uuid_lossy()
                    );
                }
            }
        }
    };
    let read = db.scan(&cfg.db_table, &COLUMNS, &INT_COLUMNS, DB_PAGE, |cells| {
        match AccountData::from_row(&cells, &cfg.contact_addr) {
            Ok((d, warning)) => {
                if let Some(w) = warning {
                    warn!("{w}");
                }
                // an l_uuid twice in one load (the reload diff cannot tell)
                if !seen.insert(d.get(Field::LUuid).to_vec()) {
                    bad += 1;
                    err!(
                        "uacreg record l_uuid '{}' skipped: l_uuid appears twice",
                        d.l_uuid_lossy()
                    );
                    return;
                }
                page.push(d);
                if page.len() >= SEND_BATCH {
                    flush(&mut page, &mut ok, &mut bad);
                }
            }
            Err(e) => {
                bad += 1;
                err!("{e}");
            }
        }
    })?;
    flush(&mut page, &mut ok, &mut bad);
    if reload {
        let gone = registry().ok_or("not enabled")?.end_reload();
        for j in gone {
            // the account is gone: the reply finds nothing, which is fine
            if let Err(e) = send(&j, None) {
                warn!(
                    "cannot unregister removed record [{}]: {e}",
                    String::from_utf8_lossy(&j.l_uuid)
                );
            }
        }
    }
    info!("uacreg: {read} rows read, {ok} loaded, {bad} skipped");
    Ok((ok, bad))
}

/// uac_reg_refresh / uac.reg_refresh: reloads one row from the DB.
/// Ok(false) when the DB has no such row.
pub fn refresh_one(l_uuid: &[u8]) -> Result<bool, String> {
    let cfg = CONFIG.get().ok_or("remote registrations not enabled")?;
    let db = Db::connect(&cfg.db_url, &cfg.db_table)?;
    let mut rows = Vec::new();
    db.rows_by_key(&COLUMNS, l_uuid, |c| rows.push(c))?;
    let Some(cells) = rows.into_iter().next() else {
        return Ok(false);
    };
    let (d, warning) =
        AccountData::from_row(&cells, &cfg.contact_addr).map_err(|e| e.to_string())?;
    if let Some(w) = warning {
        warn!("{w}");
    }
    let mut r = registry().ok_or("not enabled")?;
    r.upsert(&d, now(), rand32())
        .map_err(|e| format!("cannot store the record: {e:?}"))?;
    Ok(true)
}

// ---- sending ----

/// The ticket travels as tm's callback parameter, in shm.
fn ticket_blob(t: Ticket) -> *mut c_void {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&t.slot.to_le_bytes());
    b[4..8].copy_from_slice(&t.gen.to_le_bytes());
    b[8..].copy_from_slice(&t.attempt.to_le_bytes());
    shm::put(&b)
}

/// Sends a REGISTER; with `auth` = (header, reply), the authenticated one
/// within the challenge's dialog.
fn send(j: &SendJob, auth: Option<(&[u8], *mut sip_msg)>) -> Result<(), String> {
    let cfg = CONFIG.get().ok_or("not enabled")?;
    let p = ticket_blob(j.ticket());
    if p.is_null() {
        return Err("out of shared memory".into());
    }
    let hdrs = match auth {
        Some((h, _)) => [&j.headers[..], h].concat(),
        None => j.headers.clone(),
    };
    let sock = if !j.socket.is_empty() {
        Some(&j.socket[..])
    } else if !cfg.default_socket.is_empty() {
        Some(&cfg.default_socket[..])
    } else {
        None
    };
    let out = tm::Outgoing {
        method: b"REGISTER",
        ruri: &j.ruri,
        to: &j.aor,
        from: &j.aor,
        ouri: (!j.proxy.is_empty()).then_some(&j.proxy[..]),
        hdrs: Some(&hdrs),
        body: None,
        sock,
        callid: None,
        callback: Some((
            ffi::TMCB_LOCAL_COMPLETED | ffi::TMCB_DESTROY,
            on_reply as tm::ReplyCallback,
            p,
        )),
    };
    let r = match (auth, &j.within) {
        (Some((_, rpl)), _) => tm::request(&out, Some(rpl)),
        (None, Some((callid, cseq))) => {
            let tag = format!("{:08x}", rand32());
            tm::request_in(
                &out,
                &tm::Dialog {
                    callid,
                    from_tag: tag.as_bytes(),
                    cseq: *cseq,
                    uri: &j.aor,
                },
            )
        }
        (None, None) => tm::request(&out, None),
    };
    if r.is_err() {
        // SAFETY: tm did not take the parameter when the request failed.
        unsafe { shm::free(p) };
    }
    r
}

/// Takes the ticket from tm's parameter (NULL afterwards).
///
/// # Safety
/// `ps` is tm's callback parameter block.
unsafe fn take_ticket(ps: *mut tmcb_params) -> Option<Ticket> {
    // SAFETY: caller contract; *param is NULL or our 12-byte blob.
    unsafe {
        if ps.is_null() || (*ps).param.is_null() || (*(*ps).param).is_null() {
            return None;
        }
        let p = *(*ps).param;
        *(*ps).param = null_mut();
        let b = shm::get(p);
        let t = (b.len() == 12).then(|| Ticket {
            slot: u32::from_le_bytes(b[..4].try_into().unwrap()),
            gen: u32::from_le_bytes(b[4..8].try_into().unwrap()),
            attempt: u32::from_le_bytes(b[8..].try_into().unwrap()),
        });
        shm::free(p);
        t
    }
}

/// tm callback: the final reply (or local timeout) of a REGISTER, in
/// whichever process received it.
unsafe extern "C" fn on_reply(_t: *mut cell, ty: c_int, ps: *mut tmcb_params) {
    guarded("uac reg reply callback", (), || {
        // SAFETY: tm's parameter block for this callback.
        let Some(ticket) = (unsafe { take_ticket(ps) }) else {
            return;
        };
        if ty as u32 & ffi::TMCB_LOCAL_COMPLETED == 0 {
            return; // destroyed without a final reply: the watchdog re-sends
        }
        // SAFETY: tm's parameter block.
        let (rpl, code) = unsafe {
            let rpl = (*ps).rpl;
            let rpl = if rpl as isize == -1 { null_mut() } else { rpl };
            (rpl, (*ps).code)
        };
        // SAFETY: the reply of this callback (or NULL for a local timeout).
        let msg = unsafe { SipMsg::from_raw(rpl) };
        let bodies = |ty: i32| -> Vec<&[u8]> {
            msg.as_ref()
                .and_then(|m| m.header_bodies(ty).ok())
                .unwrap_or_default()
        };
        let contacts = bodies(ffi::_hdr_types_t_HDR_CONTACT_T);
        let expires = bodies(ffi::_hdr_types_t_HDR_EXPIRES_T);
        let min_expires = bodies(ffi::_hdr_types_t_HDR_MIN_EXPIRES_T);
        let callid = bodies(ffi::_hdr_types_t_HDR_CALLID_T);
        let cseq = if rpl.is_null() {
            0
        } else {
            // SAFETY: a reply tm hands the callback (not NULL); the glue
            // parses its CSeq.
            unsafe { ffi::uacg_cseq_number(rpl) }.max(0) as u32
        };
        let info = ReplyInfo {
            code,
            contacts,
            expires: expires.first().copied(),
            min_expires: min_expires.first().copied(),
            callid: callid.first().map_or(&[][..], |c| c.trim_ascii()),
            cseq,
        };
        let after = match registry() {
            Some(mut r) => r.on_reply(ticket, &info, now(), rand32()),
            None => return,
        };
        match after {
            Ok(AfterReply::Nothing) => {
                dbg!("uacreg: reply {code} handled");
            }
            Ok(AfterReply::SendAuth(a)) => {
                if let Err(e) = answer_challenge(&a, msg.as_ref(), rpl, code) {
                    err!(
                        "cannot answer the {code} challenge for [{}]: {e}",
                        String::from_utf8_lossy(&a.job.l_uuid)
                    );
                    if let Some(mut r) = registry() {
                        r.auth_failed(ticket.slot, ticket.gen, ticket.attempt, now(), rand32());
                    }
                }
            }
            Err(e) if code >= 200 && e.starts_with("registration") => err!("{e} (code {code})"),
            Err(e) => dbg!("uacreg: reply {code} ignored: {e}"),
        }
    })
}

fn answer_challenge(
    a: &AuthJob,
    msg: Option<&SipMsg>,
    rpl: *mut sip_msg,
    code: i32,
) -> Result<(), String> {
    let msg = msg.ok_or("no reply")?;
    // A non-empty realm column must match the challenge's realm (stock).
    let lookup = |c: &Challenge| {
        (a.realm.is_empty() || c.realm.as_bytes() == &a.realm[..]).then(|| Creds {
            user: a.user.to_vec(),
            secret: if a.ha1.is_empty() {
                Stored::Password(a.password.to_vec())
            } else {
                Stored::Ha1(a.ha1.to_vec())
            },
        })
    };
    let info = RequestInfo {
        method: b"REGISTER",
        uri: &a.job.ruri,
        body: b"",
    };
    let ans = digest_client::answer_reply(msg, code, &Policy::AS_OFFERED, lookup, &info)
        .map_err(|e| e.to_string())?;
    send(&a.job, Some((&ans.header, rpl)))
}

// ---- script functions ----

/// Finds an account by a `filter` name and value (RPC and uac_reg_enable/disable).
/// Err(()) for an unknown filter name.
pub fn find_by(
    r: &Registry<ShmAlloc>,
    attr: &[u8],
    val: &[u8],
) -> Result<Option<u32>, UnknownFilter> {
    let f = Filter::parse(attr).ok_or(UnknownFilter)?;
    Ok(r.find(f, val))
}

/// A filter name other than l_uuid, l_username, r_username, auth_username.
#[derive(Debug)]
pub struct UnknownFilter;

/// (user, host) of a SIP URI.
fn uri_user_host(uri: &[u8]) -> Option<(&[u8], &[u8])> {
    let user = uri_user(uri)?;
    let rest = &uri[uri.iter().position(|&c| c == b'@')? + 1..];
    let end = rest
        .iter()
        .position(|&c| c == b':' || c == b';' || c == b'?' || c == b'>')
        .unwrap_or(rest.len());
    Some((user, &rest[..end]))
}

/// uac_reg_lookup (mode 0: by l_uuid, gives sip:l_username@l_domain) and
/// uac_reg_lookup_uri (mode 1: by a URI's user [and host], gives the l_uuid).
pub fn lookup(src: &[u8], mode: i32) -> Result<Vec<u8>, i32> {
    let r = registry().ok_or(-1)?;
    if mode == 0 {
        let s = r.find_uuid(src).ok_or(-1)?;
        let e = r.entry(s).ok_or(-1)?;
        Ok([
            b"sip:".as_slice(),
            e.get(Field::LUsername),
            b"@",
            e.get(Field::LDomain),
        ]
        .concat())
    } else {
        let (user, host) = uri_user_host(src).ok_or(-2)?;
        let dom = r.settings.use_domain.then_some(host);
        let s = r.find_user(user, dom).ok_or(-1)?;
        Ok(r.entry(s).ok_or(-1)?.get(Field::LUuid).to_vec())
    }
}

/// uac_reg_status: 1 registered, -2 ongoing, -3 disabled, -99 other, -1 none.
pub fn status(uuid: &[u8]) -> i32 {
    let Some(r) = registry() else { return -1 };
    let Some(e) = r.find_uuid(uuid).and_then(|s| r.entry(s)) else {
        return -1;
    };
    if e.flags & FL_ONLINE != 0 && e.timer_expires > now() {
        1
    } else if e.flags & FL_ONGOING != 0 {
        -2
    } else if e.flags & FL_DISABLED != 0 {
        -3
    } else {
        -99
    }
}

/// uac_reg_enable / uac_reg_disable: 1, -2 not found, -3 unsupported filter.
pub fn set_enabled(attr: &[u8], val: &[u8], enable: bool) -> i32 {
    let Some(mut r) = registry() else {
        err!("uac remote registrations not enabled");
        return -1;
    };
    if attr.is_empty() || val.is_empty() {
        err!("bad parameter values");
        return -1;
    }
    match find_by(&r, attr, val) {
        Err(UnknownFilter) => -3,
        Ok(None) => -2,
        Ok(Some(s)) => {
            if enable {
                r.enable(s, now());
            } else {
                r.disable(s, now());
            }
            1
        }
    }
}

/// uac_reg_request_to: sets R-URI, dst-URI and the auth AVPs from the account
/// found by l_uuid (mode bit 0 = 0) or l_username (bit 0 = 1); mode bit 1
/// puts auth_ha1 instead of auth_password into the password AVP.
pub fn request_to(msg: &SipMsg, src: &[u8], mode: i32) -> i32 {
    if !(0..=3).contains(&mode) {
        err!("invalid mode");
        return -1;
    }
    let fields = {
        let Some(r) = registry() else { return -1 };
        let slot = if mode & 1 == 0 {
            r.find_uuid(src)
        } else if r.settings.use_domain {
            match uri_user_host(src) {
                Some((u, h)) => r.find_user(u, Some(h)),
                None => {
                    err!("failed to parse uri");
                    return -2;
                }
            }
        } else {
            r.find_user(src, None)
        };
        let Some(e) = slot.and_then(|s| r.entry(s)) else {
            dbg!("no user: {}", String::from_utf8_lossy(src));
            return -1;
        };
        let pw = if mode & 2 != 0 {
            Field::AuthHa1
        } else {
            Field::AuthPassword
        };
        (
            [
                b"sip:".as_slice(),
                e.get(Field::RUsername),
                b"@",
                e.get(Field::RDomain),
            ]
            .concat(),
            e.get(Field::AuthProxy).to_vec(),
            e.get(Field::Realm).to_vec(),
            e.get(Field::AuthUsername).to_vec(),
            e.get(pw).to_vec(),
        )
    };
    let (ruri, proxy, realm, user, pw) = fields;
    if let Err(e) = msg.rewrite_uri(&ruri) {
        err!("error while setting request uri: {e}");
        return -1;
    }
    let d = crate::kamailio::host::str_of(&proxy);
    // SAFETY: the current message; set_dst_uri copies the URI.
    if unsafe { ffi::set_dst_uri(msg.raw(), &d) } < 0 {
        err!("error while setting outbound proxy");
        return -1;
    }
    if let Err(e) = super::auth::set_auth_avps(msg, &realm, &user, &pw) {
        err!("error while setting auth values: {e}");
        return -1;
    }
    1
}

/// uac_reg_refresh: 1, or -1 (not found / failed).
pub fn refresh(uuid: &[u8]) -> i32 {
    if uuid.is_empty() {
        err!("invalid parameters");
        return -1;
    }
    match refresh_one(uuid) {
        Ok(true) => 1,
        Ok(false) => {
            warn!("record not found: {}", String::from_utf8_lossy(uuid));
            -1
        }
        Err(e) => {
            warn!(
                "failed to refresh record: {} - {e}",
                String::from_utf8_lossy(uuid)
            );
            -1
        }
    }
}

/// uac.reg_unregister: REGISTER with expires 0 now.
pub fn unregister(slot: u32) -> Result<(), String> {
    let job = registry()
        .ok_or("not enabled")?
        .unregister(slot, now())
        .ok_or("no such record")?;
    send(&job, None).inspect_err(|_| {
        if let Some(mut r) = registry() {
            r.send_failed(job.slot, job.gen, job.attempt, now(), rand32());
        }
    })
}
