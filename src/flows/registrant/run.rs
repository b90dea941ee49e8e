//! The timer's tick, REGISTERs on the wire, their replies, the counters.

use super::{RegHost, Registrant, Table};
use crate::digest::challenge::Challenge;
use crate::digest::response::RequestInfo;
use crate::flows::digest_client::{self, Creds, Policy, Stored};
use crate::ports::cluster::Cluster;
use crate::ports::message::{Header, SipMessage};
use crate::ports::request::{DialogIds, OnReply, Outgoing, Reply, Requests, When, Within};
use crate::ports::shm::ShmPool;
use crate::ports::stats::Computed;
use crate::ports::timer::{Next, Periodic};
use crate::registration::registry::{AfterReply, AuthJob, SendJob, Ticket};
use crate::registration::reply::ReplyInfo;
use crate::{dbg, err, info};
use std::marker::PhantomData;

/// REGISTERs sent per lock hold in a tick.
pub const SEND_BATCH: usize = 256;
/// With a per-attempt memory reserve: REGISTERs per batch, each batch
/// checked against the free memory first.
pub const PACED_BATCH: usize = 32;
/// A tick gives the rest to the next one after this long.
const TICK_BUDGET_MS: u128 = 900;

/// The host's message type.
type Msg<H> = <<H as RegHost>::Req as Requests>::Msg;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl<H: RegHost> Registrant<H> {
    /// One tick: sends what is due, a batch per lock hold. With nothing due
    /// it costs one lock and a look at the heap's top.
    pub fn tick(&self) -> Next {
        let start = std::time::Instant::now();
        self.sync_tags();
        // Back-pressure: the host keeps every transaction in shared memory,
        // and a while after it ends. With a per-attempt reserve, the
        // attempts in flight and the batch to come must fit beside it too
        // (their answers to challenges will need cells of their own).
        let (reserve, per) = {
            let g = self.lock();
            (g.settings.shm_reserve, g.settings.shm_per_attempt)
        };
        let batch = if per > 0 { PACED_BATCH } else { SEND_BATCH };
        loop {
            let ahead = (self.lock().ongoing() + batch) as u64;
            if H::Alloc::low(reserve, ahead.saturating_mul(per)) {
                return self.next();
            }
            let jobs = self.lock().due(H::now(), batch);
            for j in &jobs {
                self.send_or_fail(j);
            }
            // Leave the rest for the next tick when a burst takes long.
            if jobs.len() < batch || start.elapsed().as_millis() > TICK_BUDGET_MS {
                break;
            }
        }
        self.next()
    }

    /// Asks the host about every sharing tag the accounts name (few) and
    /// hands over the accounts of those that changed: registered here when
    /// their tag became active, parked when it became backup.
    pub fn sync_tags(&self) {
        let tags: Vec<(Vec<u8>, i32, bool)> = self
            .lock()
            .tags()
            .iter()
            .map(|t| (t.name().to_vec(), t.cluster, t.active))
            .collect();
        for (i, (name, cluster, was)) in tags.into_iter().enumerate() {
            let now_active = self.cluster.tag_active(&name, cluster);
            if now_active != was {
                let n = self.lock().set_tag_active(i, now_active, H::now());
                info!(
                    "sharing tag {}/{cluster} is {} here: {n} registrations {}",
                    lossy(&name),
                    if now_active { "active" } else { "backup" },
                    if now_active {
                        "taken over"
                    } else {
                        "left to the active node"
                    }
                );
            }
        }
    }

    /// Soon when due records wait (held back by the in-flight cap, a batch or
    /// low memory).
    fn next(&self) -> Next {
        if self.lock().pending(H::now()) {
            Next::Soon
        } else {
            Next::Idle
        }
    }

    /// Sends `j`; a local failure counts as a failed attempt.
    pub(super) fn send_or_fail(&self, j: &SendJob) {
        if let Err(e) = self.send(j, None) {
            err!("failed to send request for [{}]: {e}", lossy(&j.l_uuid));
            self.lock()
                .send_failed(j.slot, j.gen, j.attempt, H::now(), H::rand());
        }
    }

    /// Sends a REGISTER; with `auth` = (header, challenge), the answered one
    /// within the challenge's dialog; with a kept Call-ID, within it.
    pub(super) fn send(&self, j: &SendJob, auth: Option<(&[u8], &Msg<H>)>) -> Result<(), String> {
        let hdrs = match auth {
            Some((h, _)) => [&j.headers[..], h].concat(),
            None => j.headers.clone(),
        };
        let sock = [&j.socket, &self.cfg.default_socket]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(|s| &s[..]);
        let out = Outgoing {
            method: b"REGISTER",
            ruri: &j.ruri,
            to: &j.aor,
            from: &j.from,
            ouri: (!j.proxy.is_empty()).then_some(&j.proxy[..]),
            hdrs: Some(&hdrs),
            body: None,
            sock,
            callid: None,
            ..Outgoing::default()
        };
        let tag;
        let within = match (auth, &j.within) {
            (Some((_, rpl)), _) => Within::Reply(rpl),
            (None, Some((callid, cseq))) => {
                tag = if j.from_tag.is_empty() {
                    format!("{:08x}", H::rand()).into_bytes()
                } else {
                    j.from_tag.clone()
                };
                Within::Dialog(DialogIds {
                    callid,
                    from_tag: &tag,
                    cseq: *cseq,
                    uri: &j.aor,
                    from: &j.from,
                })
            }
            (None, None) => Within::New,
        };
        self.requests.send_then::<OnRegReply<H>>(
            &out,
            within,
            When::Completed,
            &j.ticket().to_bytes(),
        )
    }

    /// The final reply (or local timeout) of an attempt.
    fn on_reply(&self, ticket: Ticket, reply: Reply<'_, Msg<H>>) {
        let code = reply.code;
        let info = reply_info(&reply);
        let after = self.lock().on_reply(ticket, &info, H::now(), H::rand());
        match after {
            Ok(AfterReply::Nothing) => {
                dbg!("{}: reply {code} handled", self.table.name());
            }
            Ok(AfterReply::SendAuth(a)) => {
                if let Err(e) = self.answer_challenge(&a, reply.msg, code) {
                    err!(
                        "cannot answer the {code} challenge for [{}]: {e}",
                        lossy(&a.job.l_uuid)
                    );
                    self.lock().auth_failed(
                        ticket.slot,
                        ticket.gen,
                        ticket.attempt,
                        H::now(),
                        H::rand(),
                    );
                }
            }
            Err(e) if code >= 200 && e.starts_with("registration") => err!("{e} (code {code})"),
            Err(e) => dbg!("{}: reply {code} ignored: {e}", self.table.name()),
        }
    }

    /// Answers the challenge with the account's credentials (a non-empty
    /// realm must match the challenge's, as stock) and sends again.
    fn answer_challenge(&self, a: &AuthJob, msg: Option<&Msg<H>>, code: i32) -> Result<(), String> {
        let msg = msg.ok_or("no reply")?;
        if let Some(hdr) = H::authorize(msg, code, a) {
            return self.send(&a.job, Some((&hdr?, msg)));
        }
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
        self.send(&a.job, Some((&ans.header, msg)))
    }
}

/// What the registry needs of a reply (nothing for a local timeout; an
/// unparsable header reads as absent).
fn reply_info<'a, M: SipMessage>(reply: &Reply<'a, M>) -> ReplyInfo<'a> {
    let values = |h: Header| -> Vec<&'a [u8]> {
        reply
            .msg
            .and_then(|m| m.header_values(h).ok())
            .unwrap_or_default()
    };
    let first = |h: Header| values(h).first().copied();
    ReplyInfo {
        code: reply.code,
        contacts: values(Header::Contact),
        expires: first(Header::Expires),
        min_expires: first(Header::MinExpires),
        callid: first(Header::CallId).map_or(&[][..], |c| c.trim_ascii()),
        cseq: reply.msg.and_then(|m| m.cseq_number()).unwrap_or(0),
        dst: reply.dst,
        socket: reply.socket,
    }
}

/// The continuation of every REGISTER: its state is the attempt's ticket.
pub struct OnRegReply<H>(PhantomData<H>);

impl<H: RegHost> OnReply<H::Req> for OnRegReply<H> {
    const NAME: &'static str = "uac reg reply callback";

    fn on_reply(_: &H::Req, state: &[u8], reply: Reply<'_, Msg<H>>) {
        let Some(ticket) = Ticket::from_bytes(state) else {
            err!("registration reply: damaged ticket");
            return;
        };
        if let Some(r) = H::get() {
            r.on_reply(ticket, reply);
        }
    }
}

/// The timer process: loads the table, then ticks.
pub struct RegTimer<H>(PhantomData<H>);

impl<H: RegHost> Periodic for RegTimer<H> {
    const NAME: &'static str = "uac reg timer";

    fn start() {
        if let Some(r) = H::get() {
            if let Err(e) = r.load(false) {
                err!("loading the {} records failed: {e}", r.table.name());
            }
        }
    }

    fn tick() -> Next {
        H::get().map_or(Next::Idle, |r| r.tick())
    }
}

/// Which count a [`Count`] reads.
pub const TOTAL: u8 = 0;
pub const ONLINE: u8 = 1;
pub const DISABLED: u8 = 2;

/// A counter read from the registry at every read (always exact).
pub struct Count<H, const WHAT: u8>(PhantomData<H>);

impl<H: RegHost, const WHAT: u8> Computed for Count<H, WHAT> {
    const NAME: &'static str = match WHAT {
        TOTAL => "registrations: total",
        ONLINE => "registrations: online",
        _ => "registrations: disabled",
    };

    fn value() -> i64 {
        let Some(r) = H::get() else { return 0 };
        let g = r.lock();
        (match WHAT {
            TOTAL => g.total(),
            ONLINE => g.online(),
            _ => g.disabled(),
        }) as i64
    }
}
