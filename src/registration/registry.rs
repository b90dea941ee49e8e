//! All accounts, their indexes and the schedule, as one structure generic over
//! its allocator: the module keeps it in Kamailio shared memory (ShmAlloc)
//! behind a cross-process lock; the unit tests use the global allocator.
//!
//! - accounts live in a slab (`Vec<Option<Entry>>`), addressed by slot number;
//! - the indexes (l_uuid, l_username, r_username) are `HashTable<u32>` of slot
//!   numbers hashed with a fixed seed (same hash in every process);
//! - the schedule is a binary min-heap of (due, slot, stamp); an entry whose
//!   stamp no longer matches its account is stale and dropped when popped. A
//!   tick with nothing due looks at the heap's top only.

use super::account::{
    register_request, AccountData, Field, FL_AUTHSENT, FL_DISABLED, FL_INIT, FL_ONGOING, FL_ONLINE,
    MAX_PASSWORD_LEN, MAX_VALUE_LEN, TEXT_FIELDS,
};
use super::reply::{backoff, decide, refresh_at, Decision, ReplyInfo};
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box as ABox;
use allocator_api2::vec::Vec as AVec;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// How long an attempt may stay without a final reply before it is sent again
/// (tm ends a transaction after about 32 s with a local 408 anyway).
pub const ONGOING_TIMEOUT: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub timer_interval: u32,
    pub retry_interval: u32,
    pub keep_callid: bool,
    pub use_domain: bool,
    pub random_delay: u32,
    /// At most this many attempts in flight: a large table registers at the
    /// pace the registrar answers instead of flooding it (and tm's memory).
    pub max_inflight: usize,
    /// reg_refresh_percent: refresh at this percentage of the granted
    /// expiry; 0 = the stock rule (see `reply::refresh_at`).
    pub refresh_percent: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timer_interval: 90,
            retry_interval: 0,
            keep_callid: false,
            use_domain: false,
            random_delay: 0,
            max_inflight: 500,
            refresh_percent: 0,
        }
    }
}

// A row's longest text fits the u16 offsets of an Entry.
const _: () = assert!(MAX_PASSWORD_LEN + (TEXT_FIELDS - 1) * MAX_VALUE_LEN <= u16::MAX as usize);

pub struct Entry<A: Allocator + Clone> {
    /// The text fields, one after the other; `ends[i]` is where field i ends.
    buf: AVec<u8, A>,
    ends: [u16; TEXT_FIELDS],
    pub expires: u32,
    pub flags: u32,
    pub reg_delay: u32,
    pub reg_init: i64,
    pub timer_expires: i64,
    /// reg_keep_callid: the Call-ID and CSeq of the last 200.
    callid: AVec<u8, A>,
    pub cseq: u32,
    /// Identity of this account instance (a removed and re-added l_uuid gets a new one).
    pub gen: u32,
    /// Number of the attempt in flight: replies to an older attempt are ignored.
    pub attempt: u32,
    /// Matches the heap entry that is current for this account.
    stamp: u32,
    pub fails: u32,
    /// Expires of the request in flight.
    pub sent_expires: u32,
    seen: u32,
}

impl<A: Allocator + Clone> Entry<A> {
    pub fn get(&self, f: Field) -> &[u8] {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    pub fn callid(&self) -> &[u8] {
        &self.callid
    }

    fn same_data(&self, d: &AccountData) -> bool {
        Field::ALL.iter().all(|&f| self.get(f) == d.get(f))
            && self.expires == d.expires
            && self.reg_delay == d.reg_delay
            && (self.flags & FL_DISABLED) == (d.flags & FL_DISABLED)
    }
}

/// A REGISTER to send (copied out of the shared structure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendJob {
    pub slot: u32,
    pub gen: u32,
    pub attempt: u32,
    pub l_uuid: Vec<u8>,
    pub ruri: Vec<u8>,
    pub aor: Vec<u8>,
    pub headers: Vec<u8>,
    pub proxy: Vec<u8>,
    pub socket: Vec<u8>,
    /// reg_keep_callid: send within this Call-ID, after this CSeq.
    pub within: Option<(Vec<u8>, u32)>,
    pub expires: u32,
}

/// Names one attempt of one account instance (travels with the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub slot: u32,
    pub gen: u32,
    pub attempt: u32,
}

impl Ticket {
    /// The 12 bytes that travel with the request (shared memory).
    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.slot.to_le_bytes());
        b[4..8].copy_from_slice(&self.gen.to_le_bytes());
        b[8..].copy_from_slice(&self.attempt.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Option<Ticket> {
        let b: &[u8; 12] = b.try_into().ok()?;
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Ticket {
            slot: word(0),
            gen: word(4),
            attempt: word(8),
        })
    }
}

impl SendJob {
    pub fn ticket(&self) -> Ticket {
        Ticket {
            slot: self.slot,
            gen: self.gen,
            attempt: self.attempt,
        }
    }
}

/// What an authenticated retry needs.
#[derive(Debug, Clone)]
pub struct AuthJob {
    pub job: SendJob,
    pub realm: Vec<u8>,
    pub user: Vec<u8>,
    pub password: Vec<u8>,
    pub ha1: Vec<u8>,
}

/// What the reply handling asks the host to do.
#[derive(Debug, Clone)]
pub enum AfterReply {
    Nothing,
    SendAuth(Box<AuthJob>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    LUuid,
    LUsername,
    RUsername,
    AuthUsername,
}

impl Filter {
    pub fn parse(s: &[u8]) -> Option<Filter> {
        Some(match s {
            b"l_uuid" => Filter::LUuid,
            b"l_username" => Filter::LUsername,
            b"r_username" => Filter::RUsername,
            b"auth_username" => Filter::AuthUsername,
            _ => return None,
        })
    }
}

const CHUNK: usize = 256;
type Chunk<A> = [Option<Entry<A>>; CHUNK];

fn slot_ref<A: Allocator + Clone>(slots: &[ABox<Chunk<A>, A>], s: u32) -> Option<&Entry<A>> {
    slots
        .get(s as usize / CHUNK)
        .and_then(|c| c[s as usize % CHUNK].as_ref())
}

/// The hash of field `f` of the account in slot `s` (for the indexes'
/// rehashing when they grow).
fn key_hash<A: Allocator + Clone>(
    slots: &[ABox<Chunk<A>, A>],
    h: &foldhash::fast::FixedState,
    s: u32,
    f: Field,
) -> u64 {
    h.hash_one(slot_ref(slots, s).map_or(&[][..], |e| e.get(f)))
}

pub struct Registry<A: Allocator + Clone> {
    alloc: A,
    /// The slab, in chunks of CHUNK entries: one allocation per chunk (not
    /// per account), and growing it never needs one big block of shm.
    slots: AVec<ABox<Chunk<A>, A>, A>,
    /// Slots handed out so far (the free list holds the released ones).
    high: u32,
    free: AVec<u32, A>,
    by_uuid: HashTable<u32, A>,
    by_user: HashTable<u32, A>,
    by_ruser: HashTable<u32, A>,
    heap: AVec<(i64, u32, u32), A>,
    hasher: foldhash::fast::FixedState,
    next_gen: u32,
    epoch: u32,
    pub settings: Settings,
    /// reg_active: when false no REGISTER leaves.
    pub active: bool,
    /// When the last rate-limited reload started (seconds; 0: none yet).
    pub last_reload: i64,
    total: usize,
    online: usize,
    disabled: usize,
    ongoing: usize,
    reloading: bool,
}

/// Why an insert was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    Duplicate,
    NoMemory,
}

impl<A: Allocator + Clone> Registry<A> {
    pub fn new_in(settings: Settings, alloc: A) -> Registry<A> {
        Registry {
            slots: AVec::new_in(alloc.clone()),
            high: 0,
            free: AVec::new_in(alloc.clone()),
            by_uuid: HashTable::new_in(alloc.clone()),
            by_user: HashTable::new_in(alloc.clone()),
            by_ruser: HashTable::new_in(alloc.clone()),
            heap: AVec::new_in(alloc.clone()),
            alloc,
            hasher: foldhash::fast::FixedState::with_seed(0x5eed_acc0_u64),
            next_gen: 1,
            epoch: 0,
            settings,
            active: true,
            last_reload: 0,
            total: 0,
            online: 0,
            disabled: 0,
            ongoing: 0,
            reloading: false,
        }
    }

    pub fn total(&self) -> usize {
        self.total
    }
    pub fn online(&self) -> usize {
        self.online
    }
    pub fn disabled(&self) -> usize {
        self.disabled
    }
    pub fn heap_len(&self) -> usize {
        self.heap.len()
    }

    fn h(&self, v: &[u8]) -> u64 {
        self.hasher.hash_one(v)
    }

    fn h_lower(&self, v: &[u8]) -> u64 {
        self.hasher.hash_one(v)
    }

    pub fn entry(&self, slot: u32) -> Option<&Entry<A>> {
        slot_ref(&self.slots, slot)
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry<A>> {
        self.slot_mut(slot).and_then(|e| e.as_mut())
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut Option<Entry<A>>> {
        self.slots
            .get_mut(slot as usize / CHUNK)
            .map(|c| &mut c[slot as usize % CHUNK])
    }

    /// Sets an entry's flags, keeping the counters right.
    fn set_flags(&mut self, slot: u32, flags: u32) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let old = e.flags;
        e.flags = flags;
        let d = |bit: u32| ((flags & bit != 0) as isize) - ((old & bit != 0) as isize);
        self.online = (self.online as isize + d(FL_ONLINE)) as usize;
        self.disabled = (self.disabled as isize + d(FL_DISABLED)) as usize;
        self.ongoing = (self.ongoing as isize + d(FL_ONGOING)) as usize;
    }

    /// Attempts in flight (registrations sent, no final reply yet).
    pub fn ongoing(&self) -> usize {
        self.ongoing
    }

    pub fn find_uuid(&self, uuid: &[u8]) -> Option<u32> {
        let h = self.h(uuid);
        self.by_uuid
            .find(h, |&s| {
                self.entry(s).is_some_and(|e| e.get(Field::LUuid) == uuid)
            })
            .copied()
    }

    /// By l_username, and l_domain when given (reg_use_domain).
    pub fn find_user(&self, user: &[u8], domain: Option<&[u8]>) -> Option<u32> {
        let h = self.h(user);
        self.by_user
            .find(h, |&s| {
                self.entry(s).is_some_and(|e| {
                    e.get(Field::LUsername) == user
                        && domain.is_none_or(|d| e.get(Field::LDomain).eq_ignore_ascii_case(d))
                })
            })
            .copied()
    }

    pub fn find_ruser(&self, user: &[u8]) -> Option<u32> {
        let h = self.h_lower(user);
        self.by_ruser
            .find(h, |&s| {
                self.entry(s)
                    .is_some_and(|e| e.get(Field::RUsername) == user)
            })
            .copied()
    }

    pub fn find(&self, f: Filter, v: &[u8]) -> Option<u32> {
        match f {
            Filter::LUuid => self.find_uuid(v),
            Filter::LUsername => self.find_user(v, None),
            Filter::RUsername => self.find_ruser(v),
            // Not indexed (stock scans too): rare, RPC only.
            Filter::AuthUsername => self.slots().find(|&s| {
                self.entry(s)
                    .is_some_and(|e| e.get(Field::AuthUsername) == v)
            }),
        }
    }

    /// Every occupied slot.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.high).filter(|&s| self.entry(s).is_some())
    }

    fn schedule(&mut self, slot: u32, due: i64) -> Result<(), InsertError> {
        let Some(e) = self.entry_mut(slot) else {
            return Ok(());
        };
        e.stamp = e.stamp.wrapping_add(1);
        let stamp = e.stamp;
        e.timer_expires = due;
        // Stale entries pile up only with frequent rescheduling; rebuild then.
        if self.heap.len() > 4 * self.total + 1024 {
            self.compact();
        }
        self.heap
            .try_reserve(1)
            .map_err(|_| InsertError::NoMemory)?;
        self.heap.push((due, slot, stamp));
        let last = self.heap.len() - 1;
        sift_up(&mut self.heap, last);
        Ok(())
    }

    fn unschedule(&mut self, slot: u32) {
        if let Some(e) = self.entry_mut(slot) {
            e.stamp = e.stamp.wrapping_add(1);
        }
    }

    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap
            .retain(|&(_, s, st)| slot_ref(slots, s).is_some_and(|e| e.stamp == st));
        for i in (0..self.heap.len() / 2).rev() {
            sift_down(&mut self.heap, i);
        }
    }

    /// Adds an account; the first REGISTER is due after its reg_delay (or a
    /// random one below reg_random_delay). `rand` is a random number.
    pub fn insert(&mut self, d: &AccountData, now: i64, rand: u32) -> Result<u32, InsertError> {
        if self.find_uuid(d.get(Field::LUuid)).is_some() {
            return Err(InsertError::Duplicate);
        }
        let len: usize = d.text.iter().map(|t| t.len()).sum();
        let mut buf = AVec::new_in(self.alloc.clone());
        buf.try_reserve_exact(len)
            .map_err(|_| InsertError::NoMemory)?;
        let mut ends = [0u16; TEXT_FIELDS];
        for (i, t) in d.text.iter().enumerate() {
            buf.extend_from_slice(t);
            ends[i] = buf.len() as u16;
        }
        let reg_delay = if d.reg_delay > 0 {
            d.reg_delay
        } else if self.settings.random_delay > 0 {
            rand % self.settings.random_delay
        } else {
            0
        };
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let e = Entry {
            buf,
            ends,
            expires: d.expires,
            flags: 0,
            reg_delay,
            reg_init: now,
            timer_expires: now,
            callid: AVec::new_in(self.alloc.clone()),
            cseq: 0,
            gen,
            attempt: 0,
            stamp: 0,
            fails: 0,
            sent_expires: 0,
            seen: self.epoch,
        };
        // The indexes rehash with the real keys when they grow.
        {
            let (slots, hs) = (&self.slots, &self.hasher);
            self.by_uuid
                .try_reserve(1, |&s| key_hash(slots, hs, s, Field::LUuid))
                .map_err(|_| InsertError::NoMemory)?;
            self.by_user
                .try_reserve(1, |&s| key_hash(slots, hs, s, Field::LUsername))
                .map_err(|_| InsertError::NoMemory)?;
            self.by_ruser
                .try_reserve(1, |&s| key_hash(slots, hs, s, Field::RUsername))
                .map_err(|_| InsertError::NoMemory)?;
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                if self.high as usize == self.slots.len() * CHUNK {
                    self.slots
                        .try_reserve(1)
                        .map_err(|_| InsertError::NoMemory)?;
                    let chunk: Chunk<A> = std::array::from_fn(|_| None);
                    let b = ABox::try_new_in(chunk, self.alloc.clone())
                        .map_err(|_| InsertError::NoMemory)?;
                    self.slots.push(b);
                }
                self.high += 1;
                self.high - 1
            }
        };
        *self.slot_mut(slot).expect("slot in the slab") = Some(e);
        let (hu, hl, hr) = (
            self.h(d.get(Field::LUuid)),
            self.h(d.get(Field::LUsername)),
            self.h_lower(d.get(Field::RUsername)),
        );
        {
            let (slots, hs) = (&self.slots, &self.hasher);
            self.by_uuid
                .insert_unique(hu, slot, |&s| key_hash(slots, hs, s, Field::LUuid));
            self.by_user
                .insert_unique(hl, slot, |&s| key_hash(slots, hs, s, Field::LUsername));
            self.by_ruser
                .insert_unique(hr, slot, |&s| key_hash(slots, hs, s, Field::RUsername));
        }
        self.total += 1;
        if d.flags & FL_DISABLED != 0 {
            self.set_flags(slot, FL_DISABLED);
        }
        if d.expires > 0 && d.flags & FL_DISABLED == 0 {
            self.schedule(slot, now + reg_delay as i64)?;
        }
        Ok(slot)
    }

    /// Removes an account. Returns its REGISTER with expires 0 when it was
    /// registered (the caller decides whether to send it).
    pub fn remove(&mut self, slot: u32) -> Option<SendJob> {
        let e = self.entry(slot)?;
        let (hu, hl, hr) = (
            self.h(e.get(Field::LUuid)),
            self.h(e.get(Field::LUsername)),
            self.h_lower(e.get(Field::RUsername)),
        );
        let unreg = (e.flags & FL_ONLINE != 0).then(|| self.job(slot, 0, false));
        self.set_flags(slot, 0);
        if let Ok(o) = self.by_uuid.find_entry(hu, |&s| s == slot) {
            o.remove();
        }
        if let Ok(o) = self.by_user.find_entry(hl, |&s| s == slot) {
            o.remove();
        }
        if let Ok(o) = self.by_ruser.find_entry(hr, |&s| s == slot) {
            o.remove();
        }
        if let Some(e) = self.slot_mut(slot) {
            *e = None;
        }
        // Without memory for the free list the slot is just not reused.
        if self.free.try_reserve(1).is_ok() {
            self.free.push(slot);
        }
        self.total -= 1;
        unreg
    }

    fn job(&self, slot: u32, expires: u32, within: bool) -> SendJob {
        let e = self.entry(slot).expect("job for an empty slot");
        let r = register_request(
            e.get(Field::LUuid),
            e.get(Field::ContactAddr),
            e.get(Field::RUsername),
            e.get(Field::RDomain),
            expires,
        );
        SendJob {
            slot,
            gen: e.gen,
            attempt: e.attempt,
            l_uuid: e.get(Field::LUuid).to_vec(),
            ruri: r.ruri,
            aor: r.aor,
            headers: r.headers,
            proxy: e.get(Field::AuthProxy).to_vec(),
            socket: e.get(Field::Socket).to_vec(),
            within: within.then(|| (e.callid.to_vec(), e.cseq)),
            expires,
        }
    }

    /// Starts an attempt for `slot` with `expires`: marks it ongoing and
    /// returns what to send.
    fn start_attempt(&mut self, slot: u32, expires: u32, now: i64) -> Option<SendJob> {
        let keep = self.settings.keep_callid;
        let flags = {
            let e = self.entry_mut(slot)?;
            e.attempt = e.attempt.wrapping_add(1);
            e.sent_expires = expires;
            e.flags | FL_ONGOING | FL_INIT
        };
        let flags = flags & !FL_AUTHSENT;
        self.set_flags(slot, flags);
        let e = self.entry(slot)?;
        let within = keep
            && e.flags & FL_ONLINE != 0
            && e.cseq > 0
            && e.cseq < 2_147_483_638
            && !e.callid.is_empty();
        let job = self.job(slot, expires, within);
        // Watchdog: an attempt without a final reply is started again.
        let _ = self.schedule(slot, now + ONGOING_TIMEOUT);
        // `timer_expires` shows when the attempt started, as stock.
        if let Some(e) = self.entry_mut(slot) {
            e.timer_expires = now;
        }
        Some(job)
    }

    /// Pops what is due at `now` (at most `max`) and returns the REGISTERs to
    /// send. Nothing leaves while `active` is false: due accounts wait.
    pub fn due(&mut self, now: i64, max: usize) -> Vec<SendJob> {
        let mut out = Vec::new();
        if !self.active {
            return out;
        }
        while out.len() < max {
            if self.ongoing >= self.settings.max_inflight.max(1) {
                break;
            }
            let Some(&(due, slot, stamp)) = self.heap.first() else {
                break;
            };
            if due > now {
                break;
            }
            pop(&mut self.heap);
            let Some(e) = self.entry(slot) else { continue };
            if e.stamp != stamp || e.flags & FL_DISABLED != 0 || e.expires == 0 {
                continue;
            }
            if e.flags & FL_ONGOING != 0 {
                // the watchdog fired: no final reply came
                let f = e.flags & !(FL_ONGOING | FL_AUTHSENT);
                self.set_flags(slot, f);
            }
            let exp = self.entry(slot).map_or(0, |e| e.expires);
            if let Some(j) = self.start_attempt(slot, exp, now) {
                out.push(j);
            }
        }
        out
    }

    /// Something is due at `now` but waits (for the in-flight cap or the next
    /// batch): the timer should come back soon rather than in a second.
    pub fn pending(&self, now: i64) -> bool {
        self.active && self.heap.first().is_some_and(|&(due, _, _)| due <= now)
    }

    /// A send failed locally (tm refused it).
    pub fn send_failed(&mut self, slot: u32, gen: u32, attempt: u32, now: i64, rand: u32) {
        if self
            .entry(slot)
            .is_some_and(|e| e.gen == gen && e.attempt == attempt)
        {
            self.fail(slot, now, rand);
        }
    }

    fn fail(&mut self, slot: u32, now: i64, rand: u32) {
        let retry = self.settings.retry_interval;
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.cseq = 0;
        e.fails = e.fails.saturating_add(1);
        let fails = e.fails;
        let mut f = e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE);
        if retry == 0 {
            // stock: without reg_retry_interval a failed account is disabled
            f |= FL_DISABLED;
            self.set_flags(slot, f);
            self.unschedule(slot);
        } else {
            self.set_flags(slot, f);
            let _ = self.schedule(slot, now + backoff(retry, fails, rand) as i64);
        }
    }

    /// A final reply for an attempt. The reply's Call-ID and CSeq are kept
    /// with reg_keep_callid.
    pub fn on_reply(
        &mut self,
        t: Ticket,
        r: &ReplyInfo,
        now: i64,
        rand: u32,
    ) -> Result<AfterReply, String> {
        let Ticket { slot, gen, attempt } = t;
        let (callid, cseq) = (r.callid, r.cseq);
        let Some(e) = self.entry(slot) else {
            return Err("account removed meanwhile".into());
        };
        if e.gen != gen || e.attempt != attempt || e.flags & FL_ONGOING == 0 {
            return Err("reply to an attempt no longer in progress".into());
        }
        let l_uuid_lossy = String::from_utf8_lossy(e.get(Field::LUuid)).into_owned();
        let d = decide(
            r,
            e.get(Field::LUuid),
            e.sent_expires,
            e.flags & FL_AUTHSENT != 0,
        );
        let (ti, pct) = (self.settings.timer_interval, self.settings.refresh_percent);
        match d {
            Decision::Registered(g) => {
                let keep = self.settings.keep_callid;
                let e = self.entry_mut(slot).unwrap();
                let sent = e.timer_expires;
                e.fails = 0;
                if keep && callid.len() < 90 {
                    e.callid.clear();
                    e.callid.extend_from_slice(callid);
                    e.cseq = cseq;
                }
                let f = (e.flags | FL_ONLINE) & !(FL_ONGOING | FL_AUTHSENT);
                self.set_flags(slot, f);
                let _ = self.schedule(slot, refresh_at(sent, g, ti, pct));
                // `timer_expires` = when the binding expires, as stock shows it
                if let Some(e) = self.entry_mut(slot) {
                    e.timer_expires = sent + g as i64;
                }
                Ok(AfterReply::Nothing)
            }
            Decision::Unregistered => {
                let e = self.entry_mut(slot).unwrap();
                e.cseq = 0;
                let f = e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE);
                self.set_flags(slot, f);
                self.unschedule(slot);
                Ok(AfterReply::Nothing)
            }
            Decision::Answer => {
                let e = self.entry(slot).unwrap();
                let realm = e.get(Field::Realm).to_vec();
                let job = AuthJob {
                    job: self.job(slot, e.sent_expires, false),
                    realm,
                    user: e.get(Field::AuthUsername).to_vec(),
                    password: e.get(Field::AuthPassword).to_vec(),
                    ha1: e.get(Field::AuthHa1).to_vec(),
                };
                let f = e.flags | FL_AUTHSENT;
                self.set_flags(slot, f);
                Ok(AfterReply::SendAuth(Box::new(job)))
            }
            Decision::IntervalTooBrief(n) => {
                let e = self.entry_mut(slot).unwrap();
                e.expires = n;
                let f = e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE);
                self.set_flags(slot, f);
                // stock retries at the next timer tick
                let _ = self.schedule(slot, now + 1);
                Ok(AfterReply::Nothing)
            }
            Decision::Failed(why) => {
                self.fail(slot, now, rand);
                Err(format!("registration of '{l_uuid_lossy}' failed: {why}"))
            }
        }
    }

    /// The authenticated request could not be built or sent.
    pub fn auth_failed(&mut self, slot: u32, gen: u32, attempt: u32, now: i64, rand: u32) {
        self.send_failed(slot, gen, attempt, now, rand)
    }

    /// uac.reg_enable / uac_reg_enable: due in a second.
    pub fn enable(&mut self, slot: u32, now: i64) {
        if let Some(e) = self.entry(slot) {
            let f = e.flags & !FL_DISABLED;
            self.set_flags(slot, f);
            let _ = self.schedule(slot, now + 1);
        }
    }

    /// uac.reg_disable / uac_reg_disable: no more REGISTERs (the binding
    /// expires at the registrar, as with stock).
    pub fn disable(&mut self, slot: u32, now: i64) {
        if let Some(e) = self.entry(slot) {
            let f = e.flags | FL_DISABLED;
            self.set_flags(slot, f);
            let _ = now;
            self.unschedule(slot);
        }
    }

    /// uac.reg_unregister: expires 0 now; the account stays, with expires 0
    /// (no more refreshes), as stock.
    pub fn unregister(&mut self, slot: u32, now: i64) -> Option<SendJob> {
        let e = self.entry_mut(slot)?;
        e.expires = 0;
        self.start_attempt(slot, 0, now)
    }

    /// uac_reg_send_register (Kamailio 6.x): a REGISTER with the account's
    /// own expires now, whatever its state (also when disabled), as an
    /// attempt like the timer's.
    pub fn register_now(&mut self, slot: u32, now: i64) -> Option<SendJob> {
        let expires = self.entry(slot)?.expires;
        self.start_attempt(slot, expires, now)
    }

    /// Replaces an account with new data (reload, refresh): same data -> kept
    /// as is; other data -> a new instance, registered again now.
    pub fn upsert(&mut self, d: &AccountData, now: i64, rand: u32) -> Result<Upsert, InsertError> {
        let epoch = self.epoch;
        if let Some(slot) = self.find_uuid(d.get(Field::LUuid)) {
            let e = self.entry_mut(slot).unwrap();
            e.seen = epoch;
            if e.same_data(d) {
                return Ok(Upsert::Unchanged);
            }
            self.remove(slot);
            let s = self.insert(d, now, rand)?;
            // changed rows register again right away (no start-up delay)
            if d.expires > 0 && d.flags & FL_DISABLED == 0 {
                let _ = self.schedule(s, now);
            }
            return Ok(Upsert::Changed);
        }
        self.insert(d, now, rand)?;
        Ok(Upsert::Added)
    }

    /// Starts a reload: rows not upserted before [`Registry::end_reload`] go.
    /// False when another reload is in progress (from another process).
    pub fn begin_reload(&mut self) -> bool {
        if self.reloading {
            return false;
        }
        self.reloading = true;
        self.epoch = self.epoch.wrapping_add(1);
        true
    }

    /// A reload that failed half-way: nothing is removed.
    pub fn abort_reload(&mut self) {
        self.reloading = false;
    }

    /// Removes the accounts the reload did not see; their unregisters.
    pub fn end_reload(&mut self) -> Vec<SendJob> {
        self.reloading = false;
        let gone: Vec<u32> = self
            .slots()
            .filter(|&s| self.entry(s).is_some_and(|e| e.seen != self.epoch))
            .collect();
        gone.into_iter().filter_map(|s| self.remove(s)).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Upsert {
    Added,
    Changed,
    Unchanged,
}

fn sift_up<T: PartialOrd + Copy, A: Allocator>(h: &mut AVec<T, A>, mut i: usize) {
    while i > 0 {
        let p = (i - 1) / 2;
        if h[i] < h[p] {
            h.swap(i, p);
            i = p;
        } else {
            break;
        }
    }
}

fn sift_down<T: PartialOrd + Copy, A: Allocator>(h: &mut AVec<T, A>, mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut m = i;
        if l < h.len() && h[l] < h[m] {
            m = l;
        }
        if r < h.len() && h[r] < h[m] {
            m = r;
        }
        if m == i {
            break;
        }
        h.swap(i, m);
        i = m;
    }
}

fn pop<T: PartialOrd + Copy, A: Allocator>(h: &mut AVec<T, A>) -> Option<T> {
    if h.is_empty() {
        return None;
    }
    let last = h.len() - 1;
    h.swap(0, last);
    let v = h.pop();
    sift_down(h, 0);
    v
}

#[cfg(test)]
mod tests {
    use super::super::account::{AccountData, Cell};
    use super::*;
    use allocator_api2::alloc::Global;

    fn data(uuid: &str, user: &str) -> AccountData {
        let t = |s: &str| Cell::Text(s.as_bytes().to_vec());
        AccountData::from_row(
            &[
                t(uuid),
                t(user),
                t("l.example"),
                t(&format!("r{user}")),
                t("reg.example"),
                t(""),
                t("au"),
                t("pw"),
                t(""),
                t("sip:127.0.0.1:5070"),
                Cell::Int(300),
                Cell::Int(0),
                Cell::Int(0),
                t("127.0.0.1:5060"),
                t(""),
            ],
            b"",
        )
        .unwrap()
        .0
    }

    fn reg() -> Registry<Global> {
        Registry::new_in(
            Settings {
                retry_interval: 10,
                timer_interval: 10,
                ..Default::default()
            },
            Global,
        )
    }

    fn ok200(uuid: &str) -> Vec<u8> {
        format!("<sip:{uuid}@127.0.0.1:5060>;expires=300").into_bytes()
    }

    #[test]
    fn lookups_and_duplicates() {
        let mut r = reg();
        let a = r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let b = r.insert(&data("u2", "bob"), 100, 0).unwrap();
        assert_eq!(
            r.insert(&data("u1", "x"), 100, 0),
            Err(InsertError::Duplicate)
        );
        assert_eq!(r.find_uuid(b"u1"), Some(a));
        assert_eq!(r.find_user(b"bob", None), Some(b));
        assert_eq!(r.find_user(b"bob", Some(b"L.example")), Some(b));
        assert_eq!(r.find_user(b"bob", Some(b"other")), None);
        assert_eq!(r.find(Filter::RUsername, b"ralice"), Some(a));
        assert_eq!(r.find(Filter::AuthUsername, b"au"), Some(a).or(Some(b)));
        assert_eq!(r.total(), 2);
        r.remove(a);
        assert_eq!(r.find_uuid(b"u1"), None);
        assert_eq!(r.total(), 1);
        // the slot is reused
        assert_eq!(r.insert(&data("u3", "carol"), 100, 0).unwrap(), a);
        assert_eq!(r.find_uuid(b"u3"), Some(a));
        assert_eq!(r.find_uuid(b"u2"), Some(b));
    }

    #[test]
    fn register_challenge_refresh() {
        let mut r = reg();
        let s = r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let jobs = r.due(100, 10);
        assert_eq!(jobs.len(), 1);
        let j = &jobs[0];
        assert_eq!(j.ruri, b"sip:reg.example");
        assert!(r.due(100, 10).is_empty(), "ongoing, not due twice");
        let c401 = ReplyInfo {
            code: 401,
            ..Default::default()
        };
        let a = r.on_reply(j.ticket(), &c401, 101, 0).unwrap();
        assert!(matches!(a, AfterReply::SendAuth(_)));
        assert_eq!(r.entry(s).unwrap().flags & FL_AUTHSENT, FL_AUTHSENT);
        let c = ok200("u1");
        let ok = ReplyInfo {
            code: 200,
            contacts: vec![&c],
            ..Default::default()
        };
        r.on_reply(
            j.ticket(),
            &ReplyInfo {
                callid: b"cid",
                cseq: 2,
                ..ok.clone()
            },
            101,
            0,
        )
        .unwrap();
        let e = r.entry(s).unwrap();
        assert_eq!(e.flags & (FL_ONLINE | FL_ONGOING | FL_AUTHSENT), FL_ONLINE);
        assert_eq!(e.timer_expires, 400);
        assert_eq!(r.online(), 1);
        // refresh at 100 + 300 - 13
        assert!(r.due(386, 10).is_empty());
        let j2 = r.due(387, 10);
        assert_eq!(j2.len(), 1);
        assert_eq!(r.online(), 1, "still registered while refreshing");
        // a late reply to the first attempt is ignored
        assert!(r.on_reply(j.ticket(), &ok, 388, 0).is_err());
    }

    #[test]
    fn failure_retry_and_disable() {
        let mut r = reg();
        r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let j = r.due(100, 10).remove(0);
        let f = ReplyInfo {
            code: 503,
            ..Default::default()
        };
        assert!(r.on_reply(j.ticket(), &f, 101, 0).is_err());
        assert!(r.due(110, 10).is_empty());
        let j = r.due(111, 10).remove(0);
        assert!(r.on_reply(j.ticket(), &f, 112, 0).is_err());
        assert!(r.due(131, 10).is_empty(), "second retry after 20 s");
        assert_eq!(r.due(132, 10).len(), 1);

        let mut r = Registry::new_in(Settings::default(), Global);
        let s = r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let j = r.due(100, 10).remove(0);
        let _ = r.on_reply(j.ticket(), &f, 101, 0);
        assert_eq!(r.entry(s).unwrap().flags & FL_DISABLED, FL_DISABLED);
        assert_eq!(r.disabled(), 1);
        assert!(r.due(10_000, 10).is_empty());
        r.enable(s, 10_000);
        assert_eq!(r.disabled(), 0);
        assert_eq!(r.due(10_001, 10).len(), 1);
    }

    #[test]
    fn interval_too_brief_and_unregister() {
        let mut r = reg();
        let s = r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let j = r.due(100, 10).remove(0);
        let m = ReplyInfo {
            code: 423,
            min_expires: Some(b"900"),
            ..Default::default()
        };
        r.on_reply(j.ticket(), &m, 100, 0).unwrap();
        let j = r.due(101, 10).remove(0);
        assert!(String::from_utf8_lossy(&j.headers).contains("Expires: 900"));
        let u = r.unregister(s, 102).unwrap();
        assert!(String::from_utf8_lossy(&u.headers).contains("Expires: 0"));
        r.on_reply(
            u.ticket(),
            &ReplyInfo {
                code: 200,
                ..Default::default()
            },
            103,
            0,
        )
        .unwrap();
        assert_eq!(r.online(), 0);
        assert!(r.due(100_000, 10).is_empty());
    }

    #[test]
    fn keep_callid_sends_within() {
        let mut r = reg();
        r.settings.keep_callid = true;
        r.insert(&data("u1", "alice"), 100, 0).unwrap();
        let j = r.due(100, 10).remove(0);
        assert!(j.within.is_none());
        let c = ok200("u1");
        let ok = ReplyInfo {
            code: 200,
            contacts: vec![&c],
            ..Default::default()
        };
        r.on_reply(
            j.ticket(),
            &ReplyInfo {
                callid: b"abc@h",
                cseq: 7,
                ..ok.clone()
            },
            100,
            0,
        )
        .unwrap();
        let j = r.due(1000, 10).remove(0);
        assert_eq!(j.within, Some((b"abc@h".to_vec(), 7)));
    }

    #[test]
    fn inactive_and_delay() {
        let mut r = reg();
        r.active = false;
        let mut d = data("u1", "alice");
        d.reg_delay = 5;
        r.insert(&d, 100, 0).unwrap();
        assert!(r.due(200, 10).is_empty());
        r.active = true;
        assert_eq!(r.due(200, 10).len(), 1);
        let mut r = reg();
        r.insert(&d, 100, 0).unwrap();
        assert!(r.due(104, 10).is_empty());
        assert_eq!(r.due(105, 10).len(), 1);
    }

    #[test]
    fn lookups_after_the_indexes_grow() {
        let mut r = reg();
        for i in 0..5000 {
            r.insert(&data(&format!("u{i}"), &format!("n{i}")), 100, 0)
                .unwrap();
        }
        for i in (0..5000).step_by(7) {
            let s = r.find_uuid(format!("u{i}").as_bytes()).expect("by l_uuid");
            assert_eq!(
                r.entry(s).unwrap().get(Field::LUuid),
                format!("u{i}").as_bytes()
            );
            assert_eq!(r.find_user(format!("n{i}").as_bytes(), None), Some(s));
            assert_eq!(r.find_ruser(format!("rn{i}").as_bytes()), Some(s));
        }
        for i in 0..2500 {
            let s = r.find_uuid(format!("u{i}").as_bytes()).unwrap();
            r.remove(s);
        }
        assert_eq!(r.find_uuid(b"u10"), None);
        assert!(r.find_uuid(b"u4999").is_some());
        assert_eq!(r.total(), 2500);
    }

    #[test]
    fn in_flight_cap() {
        let mut r = reg();
        r.settings.max_inflight = 3;
        for i in 0..5 {
            r.insert(&data(&format!("u{i}"), &format!("n{i}")), 100, 0)
                .unwrap();
        }
        let jobs = r.due(100, 10);
        assert_eq!(jobs.len(), 3);
        assert_eq!(r.ongoing(), 3);
        assert!(r.due(100, 10).is_empty());
        let c = ok200("u0");
        let ok = ReplyInfo {
            code: 200,
            contacts: vec![&c],
            ..Default::default()
        };
        r.on_reply(jobs[0].ticket(), &ok, 100, 0).unwrap();
        assert_eq!(r.ongoing(), 2);
        assert_eq!(r.due(100, 10).len(), 1);
        // removing an ongoing record frees its place
        r.remove(jobs[1].slot);
        assert_eq!(r.ongoing(), 2);
        assert_eq!(r.due(100, 10).len(), 1);
    }

    #[test]
    fn reload_diff() {
        let mut r = reg();
        for i in 0..3 {
            r.insert(&data(&format!("u{i}"), &format!("n{i}")), 100, 0)
                .unwrap();
        }
        let jobs = r.due(100, 10);
        let c: Vec<Vec<u8>> = (0..3).map(|i| ok200(&format!("u{i}"))).collect();
        for (i, j) in jobs.iter().enumerate() {
            let ok = ReplyInfo {
                code: 200,
                contacts: vec![&c[i]],
                ..Default::default()
            };
            r.on_reply(j.ticket(), &ok, 100, 0).unwrap();
        }
        assert!(r.begin_reload());
        assert!(!r.begin_reload(), "one reload at a time");
        assert_eq!(r.upsert(&data("u0", "n0"), 150, 0), Ok(Upsert::Unchanged));
        let mut changed = data("u1", "n1");
        changed.expires = 600;
        assert_eq!(r.upsert(&changed, 150, 0), Ok(Upsert::Changed));
        assert_eq!(r.upsert(&data("u9", "n9"), 150, 0), Ok(Upsert::Added));
        let gone = r.end_reload();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].l_uuid, b"u2");
        assert!(String::from_utf8_lossy(&gone[0].headers).contains("Expires: 0"));
        let due: Vec<Vec<u8>> = r.due(150, 10).into_iter().map(|j| j.l_uuid).collect();
        assert_eq!(due.len(), 2);
        assert!(due.contains(&b"u1".to_vec()) && due.contains(&b"u9".to_vec()));
        assert_eq!(r.total(), 3);
        assert_eq!(r.online(), 1);
    }

    #[test]
    fn many_accounts_idle_tick_is_cheap() {
        let mut r = reg();
        r.settings.max_inflight = usize::MAX;
        for i in 0..20_000 {
            r.insert(&data(&format!("u{i}"), &format!("n{i}")), 100, i)
                .unwrap();
        }
        assert_eq!(r.due(100, 100_000).len(), 20_000);
        // nothing due for a minute: the tick looks at the heap's top only
        assert!(r.due(159, 100_000).is_empty());
        // heap stays bounded under rescheduling
        for _ in 0..10 {
            for s in 0..1000 {
                r.enable(s, 200);
            }
        }
        assert!(r.heap_len() <= 4 * r.total() + 1025);
    }
}
