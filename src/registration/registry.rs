//! All accounts, their indexes and the schedule, as one structure generic over
//! its allocator: the module keeps it in Kamailio shared memory (ShmAlloc)
//! behind a cross-process lock; the unit tests use the global allocator.
//!
//! - accounts live in a slab (`Vec<Option<Entry>>`), addressed by slot number,
//!   80 bytes each, their texts in [`Texts`];
//! - the indexes (l_uuid, l_username, r_username) are `HashTable<u32>` of slot
//!   numbers hashed with a fixed seed (same hash in every process);
//! - the schedule is a binary min-heap of (due, slot, stamp); an entry whose
//!   stamp no longer matches its account is stale and dropped when popped. A
//!   tick with nothing due looks at the heap's top only.

use super::account::{
    single_binding, AccountData, Field, FieldId, RegField, Shape, FL_AUTHSENT, FL_CLEARED,
    FL_CLEARING, FL_DISABLED, FL_INIT, FL_ONGOING, FL_ONLINE, MAX_PASSWORD_LEN, MAX_VALUE_LEN,
    TEXT_FIELDS,
};
use super::reply::{backoff, binding_count, decide_with, is_ours, refresh_at, Decision, ReplyInfo};
use super::texts::{TextRef, TextView, Texts, TextsError, TEXT_CHUNK};
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box as ABox;
use allocator_api2::vec::Vec as AVec;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::net::SocketAddr;

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
    /// The table's layout (REGISTER, identity, credentials).
    pub shape: Shape,
    /// Some(secret): the registry names each account's Call-ID and From tag
    /// (derived from the secret, the account and its call number), keeps
    /// them across refreshes and challenges with a rising CSeq and takes new
    /// ones after a failure (OpenSIPS uac_registrant). None: the host makes
    /// them (Kamailio uac; with `keep_callid` the last 200's are kept).
    pub own_callid: Option<u64>,
    /// With `retry_interval` 0: retry a failed account after its expires
    /// less the timer interval (OpenSIPS) instead of disabling it (Kamailio).
    pub retry_after_expires: bool,
    /// No new REGISTER while less than 1/`shm_reserve` of the host's shared
    /// memory is free (its transactions need it: 6 on Kamailio; OpenSIPS,
    /// whose default pool is half as large, keeps 1/16 = 2 MB).
    pub shm_reserve: u64,
    /// Bytes of shared memory kept free for each attempt in flight beyond
    /// that reserve (0: none). OpenSIPS: the tm cell of the answer to a
    /// challenge (about 7 KB) and the reply's copy; its cells also stay 5 s
    /// after they end, so a burst sized by the free memory alone overshoots
    /// and runs the pool dry for the proxy's other traffic.
    pub shm_per_attempt: u64,
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
            shape: Shape::Uacreg,
            own_callid: None,
            retry_after_expires: false,
            shm_reserve: 6,
            shm_per_attempt: 0,
        }
    }
}

// A row's longest text (its fields and the NULs between them) fits a text
// chunk, and its length a u16.
const _: () = assert!(
    MAX_PASSWORD_LEN + (TEXT_FIELDS - 1) * (MAX_VALUE_LEN + 1) <= u16::MAX as usize
        && (u16::MAX as usize) < TEXT_CHUNK
);

/// Routes kept for the management output: a table's registrars and
/// sockets are few, and the list is looked through in order.
const MAX_ROUTES: usize = 256;

/// Where a request went: the local socket and the registrar's address.
pub struct Route<A: Allocator + Clone> {
    socket: AVec<u8, A>,
    pub dst: Option<SocketAddr>,
}

impl<A: Allocator + Clone> Route<A> {
    /// The socket it left from (`udp:127.0.0.1:5060`; empty: not known).
    pub fn socket(&self) -> &[u8] {
        &self.socket
    }
}

/// Not in the schedule (an account's `hpos`).
const NOWHERE: u32 = u32::MAX;

/// One account as the registry keeps it, in 80 bytes (times as u32
/// seconds, a thin pointer for the rare kept Call-ID): with 100,000 accounts
/// in OpenSIPS's default 32 MB every byte counts. Its text fields live in
/// the registry's [`Texts`]; [`Entry`] shows them.
pub struct Account<A: Allocator + Clone> {
    text: TextRef,
    pub expires: u32,
    pub flags: u32,
    pub reg_delay: u32,
    reg_init: Secs,
    timer_expires: Secs,
    /// When the last REGISTER left (0: never).
    last_sent: Secs,
    /// reg_keep_callid: the Call-ID of the last 200 (boxed twice: most
    /// accounts have none, and an empty thin pointer is 8 bytes).
    callid: Option<ABox<ABox<[u8], A>, A>>,
    pub cseq: u32,
    /// Identity of this account instance (a removed and re-added l_uuid gets a new one).
    pub gen: u32,
    /// Number of the attempt in flight: replies to an older attempt are ignored.
    pub attempt: u32,
    /// Where the account is in the schedule (NOWHERE: not scheduled).
    hpos: u32,
    /// Expires of the request in flight.
    pub sent_expires: u32,
    seen: u32,
    /// With own Call-IDs: the call number (a new Call-ID after a failure).
    pub cid: u32,
    /// The tag's cluster (0: none).
    pub cluster_id: i32,
    /// Failed attempts in a row.
    pub fails: u16,
    /// The sharing tag (1-based index into the registry's tags), 0: none.
    pub tag: u16,
    /// Where the last reply's request went (1-based index into the
    /// registry's routes), 0: not known.
    route: u16,
    /// What the last failure was (for the management output).
    pub last_fail: FailKind,
}

/// A Call-ID copied into the allocator (None without memory: the next
/// REGISTER then starts a new call).
fn kept_callid<A: Allocator + Clone>(callid: &[u8], alloc: A) -> Option<ABox<ABox<[u8], A>, A>> {
    let mut c = AVec::new_in(alloc.clone());
    c.try_reserve_exact(callid.len()).ok()?;
    c.extend_from_slice(callid);
    ABox::try_new_in(c.into_boxed_slice(), alloc).ok()
}

/// A time in seconds as an account keeps it (the hosts' clocks are Unix
/// seconds, which fit a u32 until 2106; below 0 is kept as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Secs(u32);

impl Secs {
    fn of(t: i64) -> Secs {
        Secs(t.clamp(0, u32::MAX as i64) as u32)
    }

    fn get(self) -> i64 {
        self.0 as i64
    }
}

impl<A: Allocator + Clone> Account<A> {
    /// When the account was loaded (or last changed by a reload).
    pub fn reg_init(&self) -> i64 {
        self.reg_init.get()
    }

    /// When the registration expires, or the next attempt is due.
    pub fn timer_expires(&self) -> i64 {
        self.timer_expires.get()
    }

    /// When the last REGISTER left (0: never).
    pub fn last_sent(&self) -> i64 {
        self.last_sent.get()
    }
}

/// An account as the registry shows it: its fields, its texts and when its
/// next REGISTER is due.
pub struct Entry<'a, A: Allocator + Clone> {
    acc: &'a Account<A>,
    text: TextView<'a>,
    /// Where the last reply's request went and from which socket
    /// (OpenSIPS's reg_list `ip` and `socket`).
    pub route: Option<&'a Route<A>>,
    /// When the next REGISTER is due (0: none scheduled).
    pub due: i64,
}

impl<A: Allocator + Clone> std::ops::Deref for Entry<'_, A> {
    type Target = Account<A>;

    fn deref(&self) -> &Account<A> {
        self.acc
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailKind {
    #[default]
    None,
    /// No final reply (tm's local 408) or a 408.
    Timeout,
    /// Credentials refused (challenged again) or not provisioned.
    Credentials,
    /// Any other final reply we cannot use.
    Registrar,
    /// Local: the request could not be built or sent, or its 200 was unusable.
    Internal,
}

/// What an account is doing, as OpenSIPS's uac_registrant names its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegState {
    NotRegistered,
    Registering,
    Authenticating,
    Registered,
    Timeout,
    InternalError,
    WrongCredentials,
    RegistrarError,
    Unregistering,
    AuthenticatingUnregister,
}

impl RegState {
    /// The state's name in OpenSIPS's `reg_list`.
    pub fn name(self) -> &'static str {
        match self {
            RegState::NotRegistered => "NOT_REGISTERED_STATE",
            RegState::Registering => "REGISTERING_STATE",
            RegState::Authenticating => "AUTHENTICATING_STATE",
            RegState::Registered => "REGISTERED_STATE",
            RegState::Timeout => "REGISTER_TIMEOUT_STATE",
            RegState::InternalError => "INTERNAL_ERROR_STATE",
            RegState::WrongCredentials => "WRONG_CREDENTIALS_STATE",
            RegState::RegistrarError => "REGISTRAR_ERROR_STATE",
            RegState::Unregistering => "UNREGISTERING_STATE",
            RegState::AuthenticatingUnregister => "AUTHENTICATING_UNREGISTER_STATE",
        }
    }
}

impl<'a, A: Allocator + Clone> Entry<'a, A> {
    pub fn get(&self, f: impl FieldId) -> &'a [u8] {
        self.text(f.index())
    }

    fn text(&self, i: usize) -> &'a [u8] {
        self.text.field(i)
    }

    /// The account's state, in uac_registrant's terms.
    pub fn state(&self) -> RegState {
        let (ongoing, auth) = (self.flags & FL_ONGOING != 0, self.flags & FL_AUTHSENT != 0);
        match (ongoing, auth, self.sent_expires == 0) {
            (true, false, true) => RegState::Unregistering,
            (true, true, true) => RegState::AuthenticatingUnregister,
            (true, false, false) => RegState::Registering,
            (true, true, false) => RegState::Authenticating,
            _ if self.flags & FL_ONLINE != 0 => RegState::Registered,
            _ => match self.last_fail {
                FailKind::None => RegState::NotRegistered,
                FailKind::Timeout => RegState::Timeout,
                FailKind::Credentials => RegState::WrongCredentials,
                FailKind::Registrar => RegState::RegistrarError,
                FailKind::Internal => RegState::InternalError,
            },
        }
    }

    pub fn callid(&self) -> &[u8] {
        self.acc.callid.as_deref().map_or(&[][..], |c| &c[..])
    }

    fn same_data(&self, d: &AccountData, cluster: i32) -> bool {
        (0..TEXT_FIELDS).all(|i| self.text(i) == &d.text[i][..])
            && cluster == d.cluster_id
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
    /// What log lines call the account (uacreg: its l_uuid).
    pub l_uuid: Vec<u8>,
    pub ruri: Vec<u8>,
    /// To.
    pub aor: Vec<u8>,
    pub from: Vec<u8>,
    /// With own Call-IDs: the From tag (empty: the host makes one).
    pub from_tag: Vec<u8>,
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
type Chunk<A> = [Option<Account<A>>; CHUNK];

fn slot_ref<A: Allocator + Clone>(slots: &[ABox<Chunk<A>, A>], s: u32) -> Option<&Account<A>> {
    slots
        .get(s as usize / CHUNK)
        .and_then(|c| c[s as usize % CHUNK].as_ref())
}

/// Field `f` of the account in slot `s` (for the indexes' rehashing when
/// they grow).
fn field_of<'a, A: Allocator + Clone>(
    slots: &'a [ABox<Chunk<A>, A>],
    texts: &'a Texts<A>,
    s: u32,
    f: usize,
) -> &'a [u8] {
    slot_ref(slots, s).map_or(&[][..], |a| texts.view(a.text).field(f))
}

/// The hash of field `f` of the account in slot `s`.
fn key_hash<A: Allocator + Clone>(
    slots: &[ABox<Chunk<A>, A>],
    texts: &Texts<A>,
    h: &foldhash::fast::FixedState,
    s: u32,
    f: Field,
) -> u64 {
    h.hash_one(field_of(slots, texts, s, f as usize))
}

/// The hash of the identity (`fields`) of the account in slot `s`.
fn ident_hash<A: Allocator + Clone>(
    slots: &[ABox<Chunk<A>, A>],
    texts: &Texts<A>,
    h: &foldhash::fast::FixedState,
    s: u32,
    fields: &[usize],
) -> u64 {
    parts_hash(h, fields.iter().map(|&i| field_of(slots, texts, s, i)))
}

/// The hash of an identity given as its parts.
fn parts_hash<'a>(h: &foldhash::fast::FixedState, parts: impl Iterator<Item = &'a [u8]>) -> u64 {
    use std::hash::Hasher;
    let mut st = h.build_hasher();
    for p in parts {
        st.write_usize(p.len());
        st.write(p);
    }
    st.finish()
}

/// A sharing tag the accounts of a clustered table name: only the node
/// where it is active registers them.
pub struct Tag<A: Allocator + Clone> {
    name: AVec<u8, A>,
    pub cluster: i32,
    pub active: bool,
}

impl<A: Allocator + Clone> Tag<A> {
    pub fn name(&self) -> &[u8] {
        &self.name
    }
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
    /// The schedule: a binary min-heap of (due - base, slot), one entry per
    /// scheduled account (which knows its place: `hpos`).
    heap: AVec<(u32, u32), A>,
    /// The time the heap's due times count from.
    base: i64,
    texts: Texts<A>,
    /// The sharing tags the accounts name (few: looked through in order).
    tags: AVec<Tag<A>, A>,
    /// Where the accounts' requests went (few: looked through in order; at
    /// most [`MAX_ROUTES`], more are not shown).
    routes: AVec<Route<A>, A>,
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

impl From<TextsError> for InsertError {
    fn from(e: TextsError) -> InsertError {
        match e {
            TextsError::NoMemory => InsertError::NoMemory,
            TextsError::TooLong => InsertError::Invalid,
        }
    }
}

/// Why an insert was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    Duplicate,
    NoMemory,
    /// A text field holds a NUL byte (the row checks refuse them first).
    Invalid,
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
            base: 0,
            texts: Texts::new_in(settings.shape, alloc.clone()),
            tags: AVec::new_in(alloc.clone()),
            routes: AVec::new_in(alloc.clone()),
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

    pub fn entry(&self, slot: u32) -> Option<Entry<'_, A>> {
        let acc = slot_ref(&self.slots, slot)?;
        let due = match self.heap.get(acc.hpos as usize) {
            Some(&(rel, _)) if acc.hpos != NOWHERE => self.base + rel as i64,
            _ => 0,
        };
        Some(Entry {
            acc,
            text: self.texts.view(acc.text),
            route: self.routes.get((acc.route as usize).wrapping_sub(1)),
            due,
        })
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Account<A>> {
        self.slot_mut(slot).and_then(|e| e.as_mut())
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut Option<Account<A>>> {
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

    /// Bytes the registry holds in its allocator, the allocator's per-block
    /// overhead and the few kept Call-IDs and tag names not counted: what an
    /// account costs in shared memory.
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        self.slots.capacity() * size_of::<ABox<Chunk<A>, A>>()
            + self.slots.len() * size_of::<Chunk<A>>()
            + self.free.capacity() * size_of::<u32>()
            + self.by_uuid.allocation_size()
            + self.by_user.allocation_size()
            + self.by_ruser.allocation_size()
            + self.heap.capacity() * size_of::<(u32, u32)>()
            + self.tags.capacity() * size_of::<Tag<A>>()
            + self.routes.capacity() * size_of::<Route<A>>()
            + self.texts.footprint()
    }

    /// Attempts in flight (registrations sent, no final reply yet).
    pub fn ongoing(&self) -> usize {
        self.ongoing
    }

    /// By l_uuid (a uacreg table).
    pub fn find_uuid(&self, uuid: &[u8]) -> Option<u32> {
        self.find_key(&[uuid])
    }

    /// By the table's identity (its shape's key fields, in order).
    pub fn find_key(&self, key: &[&[u8]]) -> Option<u32> {
        let fields = self.settings.shape.key_fields();
        if key.len() != fields.len() {
            return None;
        }
        let h = parts_hash(&self.hasher, key.iter().copied());
        self.by_uuid
            .find(h, |&s| {
                self.entry(s)
                    .is_some_and(|e| fields.iter().zip(key).all(|(&i, k)| e.text(i) == *k))
            })
            .copied()
    }

    /// The sharing tags named so far (index + 1 is an entry's `tag`).
    pub fn tags(&self) -> &[Tag<A>] {
        &self.tags
    }

    /// The tag's index + 1 (0 for none), added when new.
    fn tag_of(&mut self, name: &[u8], cluster: i32) -> Result<u16, InsertError> {
        if name.is_empty() || cluster <= 0 {
            return Ok(0);
        }
        if let Some(i) = self
            .tags
            .iter()
            .position(|t| t.cluster == cluster && &t.name[..] == name)
        {
            return Ok(i as u16 + 1);
        }
        if self.tags.len() >= u16::MAX as usize - 1 {
            return Err(InsertError::NoMemory);
        }
        let mut n = AVec::new_in(self.alloc.clone());
        n.try_reserve_exact(name.len())
            .map_err(|_| InsertError::NoMemory)?;
        n.extend_from_slice(name);
        self.tags
            .try_reserve(1)
            .map_err(|_| InsertError::NoMemory)?;
        // A new tag counts as backup until the host says otherwise (the
        // timer asks before it sends anything).
        self.tags.push(Tag {
            name: n,
            cluster,
            active: false,
        });
        Ok(self.tags.len() as u16)
    }

    /// Whether this node registers the account: it names no tag, or its
    /// tag is active here.
    fn owned(&self, e: &Entry<A>) -> bool {
        e.tag == 0 || self.tags.get(e.tag as usize - 1).is_some_and(|t| t.active)
    }

    /// The host says tag `i` (0-based) is `active` here (or not). Becoming
    /// active, its enabled accounts are due now; becoming backup, they stop
    /// (no REGISTER, no unregister: the active node owns the binding) and
    /// show as not registered. Returns how many accounts changed hands.
    pub fn set_tag_active(&mut self, i: usize, active: bool, now: i64) -> usize {
        let Some(t) = self.tags.get_mut(i) else {
            return 0;
        };
        if t.active == active {
            return 0;
        }
        t.active = active;
        let mine: Vec<u32> = self
            .slots()
            .filter(|&s| self.entry(s).is_some_and(|e| e.tag as usize == i + 1))
            .collect();
        for &s in &mine {
            let Some(e) = self.entry_mut(s) else { continue };
            let (enabled, exp) = (e.flags & FL_DISABLED == 0, e.expires);
            if active {
                if enabled && exp > 0 {
                    let _ = self.schedule(s, now);
                }
            } else {
                e.cseq = 0;
                e.cid = e.cid.wrapping_add(1);
                e.fails = 0;
                e.last_fail = FailKind::None;
                let f =
                    e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE | FL_CLEARING | FL_CLEARED);
                self.set_flags(s, f);
                self.unschedule(s);
            }
        }
        mine.len()
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

    /// Tells the account at heap place `i` where it is.
    fn placed(&mut self, i: usize) {
        let s = self.heap[i].1;
        if let Some(a) = self.entry_mut(s) {
            a.hpos = i as u32;
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / 2;
            if self.heap[i] >= self.heap[p] {
                break;
            }
            self.heap.swap(i, p);
            self.placed(i);
            i = p;
        }
        self.placed(i);
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.heap.len() && self.heap[l] < self.heap[m] {
                m = l;
            }
            if r < self.heap.len() && self.heap[r] < self.heap[m] {
                m = r;
            }
            if m == i {
                break;
            }
            self.heap.swap(i, m);
            self.placed(i);
            i = m;
        }
        self.placed(i);
    }

    /// Takes heap place `i` out; its account is then unscheduled.
    fn heap_remove(&mut self, i: usize) -> Option<(u32, u32)> {
        let last = self.heap.len().checked_sub(1)?;
        if i > last {
            return None;
        }
        self.heap.swap(i, last);
        let v = self.heap.pop();
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
        if let Some((_, s)) = v {
            if let Some(a) = self.entry_mut(s) {
                a.hpos = NOWHERE;
            }
        }
        v
    }

    /// The next REGISTER of `slot` is due at `due` (moved when scheduled).
    fn schedule(&mut self, slot: u32, due: i64) -> Result<(), InsertError> {
        if self.base == 0 {
            // due times around now fit a u32 for 68 years either way
            self.base = due - (1 << 31);
        }
        let rel = (due - self.base).clamp(0, u32::MAX as i64) as u32;
        let Some(a) = self.entry_mut(slot) else {
            return Ok(());
        };
        a.timer_expires = Secs::of(due);
        let pos = a.hpos;
        if pos != NOWHERE {
            self.heap[pos as usize].0 = rel;
            self.sift_down(pos as usize);
            self.sift_up(pos as usize);
            return Ok(());
        }
        self.heap
            .try_reserve(1)
            .map_err(|_| InsertError::NoMemory)?;
        self.heap.push((rel, slot));
        self.sift_up(self.heap.len() - 1);
        Ok(())
    }

    fn unschedule(&mut self, slot: u32) {
        if let Some(pos) = self.entry_mut(slot).map(|a| a.hpos) {
            if pos != NOWHERE {
                self.heap_remove(pos as usize);
            }
        }
    }

    /// Room for one more account in the indexes (they rehash with the real
    /// keys when they grow).
    fn reserve_indexes(&mut self, shape: Shape) -> Result<(), InsertError> {
        let (slots, tx, hs, kf) = (&self.slots, &self.texts, &self.hasher, shape.key_fields());
        self.by_uuid
            .try_reserve(1, |&s| ident_hash(slots, tx, hs, s, kf))
            .map_err(|_| InsertError::NoMemory)?;
        if shape == Shape::Uacreg {
            self.by_user
                .try_reserve(1, |&s| key_hash(slots, tx, hs, s, Field::LUsername))
                .map_err(|_| InsertError::NoMemory)?;
            self.by_ruser
                .try_reserve(1, |&s| key_hash(slots, tx, hs, s, Field::RUsername))
                .map_err(|_| InsertError::NoMemory)?;
        }
        Ok(())
    }

    /// A free slot (the slab grows by a chunk when needed).
    fn take_slot(&mut self) -> Result<u32, InsertError> {
        if let Some(s) = self.free.pop() {
            return Ok(s);
        }
        if self.high as usize == self.slots.len() * CHUNK {
            self.slots
                .try_reserve(1)
                .map_err(|_| InsertError::NoMemory)?;
            let chunk: Chunk<A> = std::array::from_fn(|_| None);
            let b =
                ABox::try_new_in(chunk, self.alloc.clone()).map_err(|_| InsertError::NoMemory)?;
            self.slots.push(b);
        }
        self.high += 1;
        Ok(self.high - 1)
    }

    /// Adds an account; the first REGISTER is due after its reg_delay (or a
    /// random one below reg_random_delay). `rand` is a random number.
    pub fn insert(&mut self, d: &AccountData, now: i64, rand: u32) -> Result<u32, InsertError> {
        let shape = self.settings.shape;
        if self.find_key(&d.key(shape)).is_some() {
            return Err(InsertError::Duplicate);
        }
        let tag = match shape {
            Shape::Registrant => self.tag_of(d.get(RegField::ShTag), d.cluster_id)?,
            Shape::Uacreg => 0,
        };
        if d.text.iter().any(|t| t.contains(&0)) {
            return Err(InsertError::Invalid);
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
        self.reserve_indexes(shape)?;
        let slot = self.take_slot()?;
        let text = match self.texts.put(&d.text, &self.alloc) {
            Ok(t) => t,
            Err(e) => {
                let _ = self.free.try_reserve(1).map(|_| self.free.push(slot));
                return Err(e.into());
            }
        };
        let e = Account {
            text,
            expires: d.expires,
            flags: 0,
            reg_delay,
            reg_init: Secs::of(now),
            timer_expires: Secs::of(now),
            callid: None,
            cseq: 0,
            gen,
            attempt: 0,
            hpos: NOWHERE,
            fails: 0,
            sent_expires: 0,
            seen: self.epoch,
            cid: 0,
            tag,
            route: 0,
            cluster_id: if tag > 0 { d.cluster_id } else { 0 },
            last_fail: FailKind::None,
            last_sent: Secs(0),
        };
        *self.slot_mut(slot).expect("slot in the slab") = Some(e);
        let hu = parts_hash(&self.hasher, d.key(shape).into_iter());
        {
            let (slots, tx, hs, kf) = (&self.slots, &self.texts, &self.hasher, shape.key_fields());
            self.by_uuid
                .insert_unique(hu, slot, |&s| ident_hash(slots, tx, hs, s, kf));
        }
        if shape == Shape::Uacreg {
            let (hl, hr) = (
                self.h(d.get(Field::LUsername)),
                self.h_lower(d.get(Field::RUsername)),
            );
            let (slots, tx, hs) = (&self.slots, &self.texts, &self.hasher);
            self.by_user
                .insert_unique(hl, slot, |&s| key_hash(slots, tx, hs, s, Field::LUsername));
            self.by_ruser
                .insert_unique(hr, slot, |&s| key_hash(slots, tx, hs, s, Field::RUsername));
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
        let kf = self.settings.shape.key_fields();
        let (hu, hl, hr) = (
            parts_hash(&self.hasher, kf.iter().map(|&i| e.text(i))),
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
        self.unschedule(slot);
        if let Some(a) = self.slot_mut(slot).and_then(|e| e.take()) {
            self.texts.release(a.text, &self.alloc);
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
        let shape = self.settings.shape;
        let mut r = shape.request(|i| e.text(i), expires);
        if expires == 0 && e.flags & FL_CLEARING != 0 {
            // the single-binding rule: every binding of the AOR goes
            r.headers = b"Contact: *\r\nExpires: 0\r\n".to_vec();
        }
        let (proxy, socket) = shape.route_fields();
        let (within, from_tag) = match self.settings.own_callid {
            Some(secret) => {
                let (callid, tag) = own_callid(secret, slot, e.gen, e.cid);
                (Some((callid, e.cseq)), tag)
            }
            None => (within.then(|| (e.callid().to_vec(), e.cseq)), Vec::new()),
        };
        SendJob {
            slot,
            gen: e.gen,
            attempt: e.attempt,
            l_uuid: shape.name_of(|i| e.text(i)).into_bytes(),
            ruri: r.ruri,
            aor: r.aor,
            from: r.from,
            from_tag,
            headers: r.headers,
            proxy: e.text(proxy).to_vec(),
            socket: e.text(socket).to_vec(),
            within,
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
            && !e.callid().is_empty();
        let job = self.job(slot, expires, within);
        // Watchdog: an attempt without a final reply is started again.
        let _ = self.schedule(slot, now + ONGOING_TIMEOUT);
        // `timer_expires` shows when the attempt started, as stock.
        if let Some(e) = self.entry_mut(slot) {
            e.timer_expires = Secs::of(now);
            e.last_sent = Secs::of(now);
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
            let Some(&(rel, slot)) = self.heap.first() else {
                break;
            };
            if self.base + rel as i64 > now {
                break;
            }
            self.heap_remove(0);
            let Some(e) = self.entry(slot) else { continue };
            if e.flags & FL_DISABLED != 0 || e.expires == 0 {
                continue;
            }
            if !self.owned(&e) {
                // parked until its tag is active here (set_tag_active)
                continue;
            }
            if e.flags & FL_ONGOING != 0 {
                // the watchdog fired: no final reply came
                let f = e.flags & !(FL_ONGOING | FL_AUTHSENT);
                self.set_flags(slot, f);
            }
            let exp = self.entry(slot).map_or(0, |e| match e.flags & FL_CLEARING {
                0 => e.expires,
                _ => 0,
            });
            if let Some(j) = self.start_attempt(slot, exp, now) {
                out.push(j);
            }
        }
        out
    }

    /// Something is due at `now` but waits (for the in-flight cap or the next
    /// batch): the timer should come back soon rather than in a second.
    pub fn pending(&self, now: i64) -> bool {
        self.active
            && self
                .heap
                .first()
                .is_some_and(|&(rel, _)| self.base + rel as i64 <= now)
    }

    /// The number an account keeps for a route (0: none known, or no room).
    fn route_number(&mut self, socket: &[u8], dst: Option<SocketAddr>) -> u16 {
        if socket.is_empty() && dst.is_none() {
            return 0;
        }
        let same = |r: &Route<A>| r.dst == dst && r.socket[..] == *socket;
        if let Some(i) = self.routes.iter().position(same) {
            return i as u16 + 1;
        }
        let mut s = AVec::new_in(self.alloc.clone());
        if self.routes.len() >= MAX_ROUTES
            || self.routes.try_reserve(1).is_err()
            || s.try_reserve_exact(socket.len()).is_err()
        {
            return 0;
        }
        s.extend_from_slice(socket);
        self.routes.push(Route { socket: s, dst });
        self.routes.len() as u16
    }

    /// A send failed locally (tm refused it).
    pub fn send_failed(&mut self, slot: u32, gen: u32, attempt: u32, now: i64, rand: u32) {
        if self
            .entry(slot)
            .is_some_and(|e| e.gen == gen && e.attempt == attempt)
        {
            self.fail(slot, now, rand, FailKind::Internal);
        }
    }

    fn fail(&mut self, slot: u32, now: i64, rand: u32, kind: FailKind) {
        let (retry, ti) = (self.settings.retry_interval, self.settings.timer_interval);
        let after_expires = self.settings.retry_after_expires;
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.cseq = 0;
        e.cid = e.cid.wrapping_add(1);
        e.last_fail = kind;
        e.fails = e.fails.saturating_add(1);
        let fails = e.fails as u32;
        let expires = e.expires;
        let mut f = e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE | FL_CLEARING | FL_CLEARED);
        if retry == 0 && after_expires {
            // OpenSIPS: again after the account's expires (less a tick)
            self.set_flags(slot, f);
            let wait = (expires as i64 - ti as i64).max(1);
            let _ = self.schedule(slot, now + wait);
        } else if retry == 0 {
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
        let route = self.route_number(r.socket, r.dst);
        if let Some(e) = self.entry_mut(slot) {
            e.route = route;
        }
        let e = self.entry(slot).expect("checked above");
        let shape = self.settings.shape;
        let l_uuid_lossy = shape.name_of(|i| e.text(i));
        let (flags, auth_sent) = (e.flags, e.flags & FL_AUTHSENT != 0);
        let others_to_clear = flags & FL_CLEARED == 0
            && shape == Shape::Registrant
            && single_binding(e.get(RegField::BindingParams))
            && binding_count(r) > 1;
        let d = decide_with(
            r,
            |uri| is_ours(shape, |i| e.text(i), uri),
            e.sent_expires,
            auth_sent,
        );
        if self.settings.own_callid.is_some() {
            // the next request in this Call-ID goes with a higher CSeq
            let e = self.entry_mut(slot).unwrap();
            e.cseq = e.cseq.max(cseq);
        }
        let (ti, pct) = (self.settings.timer_interval, self.settings.refresh_percent);
        match d {
            Decision::Registered(_) if others_to_clear => {
                // Registered beside other bindings: clear them all (sent by
                // the next tick, in this Call-ID), then register again.
                let f = (flags | FL_CLEARING) & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE);
                self.set_flags(slot, f);
                let _ = self.schedule(slot, now);
                Ok(AfterReply::Nothing)
            }
            Decision::Registered(g) => {
                let keep = self.settings.keep_callid;
                let alloc = self.alloc.clone();
                let e = self.entry_mut(slot).unwrap();
                let sent = e.timer_expires();
                e.fails = 0;
                e.last_fail = FailKind::None;
                if keep && callid.len() < 90 {
                    e.callid = kept_callid(callid, alloc);
                    e.cseq = cseq;
                }
                let f = (e.flags | FL_ONLINE) & !(FL_ONGOING | FL_AUTHSENT | FL_CLEARED);
                self.set_flags(slot, f);
                let _ = self.schedule(slot, refresh_at(sent, g, ti, pct));
                // `timer_expires` = when the binding expires, as stock shows it
                if let Some(e) = self.entry_mut(slot) {
                    e.timer_expires = Secs::of(sent + g as i64);
                }
                Ok(AfterReply::Nothing)
            }
            Decision::Unregistered if flags & FL_CLEARING != 0 => {
                // The bindings are cleared: register again now, in a new
                // call (as stock), and take its 200 as it comes.
                let e = self.entry_mut(slot).unwrap();
                e.cid = e.cid.wrapping_add(1);
                e.cseq = 0;
                let f = (e.flags | FL_CLEARED) & !(FL_ONGOING | FL_AUTHSENT | FL_CLEARING);
                let enabled = f & FL_DISABLED == 0;
                self.set_flags(slot, f);
                if enabled {
                    let _ = self.schedule(slot, now);
                }
                Ok(AfterReply::Nothing)
            }
            Decision::Unregistered => {
                let own = self.settings.own_callid.is_some();
                let e = self.entry_mut(slot).unwrap();
                if !own {
                    e.cseq = 0;
                }
                e.fails = 0;
                e.last_fail = FailKind::None;
                let f = e.flags & !(FL_ONGOING | FL_AUTHSENT | FL_ONLINE);
                self.set_flags(slot, f);
                self.unschedule(slot);
                Ok(AfterReply::Nothing)
            }
            Decision::Answer => {
                let e = self.entry(slot).unwrap();
                let (realm, user, password, ha1) = shape.cred_fields();
                let opt = |f: Option<usize>| f.map_or(Vec::new(), |i| e.text(i).to_vec());
                if e.text(user).is_empty() || e.text(password).is_empty() && opt(ha1).is_empty() {
                    self.fail(slot, now, rand, FailKind::Credentials);
                    return Err(format!(
                        "registration of '{l_uuid_lossy}' failed: challenged, credentials not provisioned"
                    ));
                }
                let job = AuthJob {
                    job: self.job(slot, e.sent_expires, false),
                    realm: opt(realm),
                    user: e.text(user).to_vec(),
                    password: e.text(password).to_vec(),
                    ha1: opt(ha1),
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
                let kind = match r.code {
                    401 | 407 => FailKind::Credentials,
                    408 => FailKind::Timeout,
                    200..=299 => FailKind::Internal,
                    _ => FailKind::Registrar,
                };
                self.fail(slot, now, rand, kind);
                Err(format!("registration of '{l_uuid_lossy}' failed: {why}"))
            }
        }
    }

    /// The authenticated request could not be built or sent.
    pub fn auth_failed(&mut self, slot: u32, gen: u32, attempt: u32, now: i64, rand: u32) {
        self.send_failed(slot, gen, attempt, now, rand)
    }

    /// OpenSIPS's reg_disable: no more REGISTERs, and a registered account
    /// is unregistered now (its expires stays for a later enable).
    pub fn disable_unregister(&mut self, slot: u32, now: i64) -> Option<SendJob> {
        let e = self.entry(slot)?;
        let registered = e.flags & FL_ONLINE != 0 && self.owned(&e);
        self.disable(slot, now);
        if !registered {
            return None;
        }
        self.start_attempt(slot, 0, now)
    }

    /// OpenSIPS's reg_force_register: an enabled account is due now.
    pub fn force(&mut self, slot: u32, now: i64) {
        if self
            .entry(slot)
            .is_some_and(|e| e.flags & FL_DISABLED == 0 && e.expires > 0)
        {
            let _ = self.schedule(slot, now);
        }
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
        if let Some(slot) = self.find_key(&d.key(self.settings.shape)) {
            if let Some(e) = self.entry_mut(slot) {
                e.seen = epoch;
            }
            if self
                .entry(slot)
                .is_some_and(|e| e.same_data(d, d.cluster_id))
            {
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

/// The Call-ID and From tag of an account's call number `cid` when the
/// registry names them: the stock OpenSIPS shape (an MD5 in hex: 27
/// characters of Call-ID, 5 of tag), from a secret of this start of the
/// node, so that two nodes or two starts never share a Call-ID.
pub fn own_callid(secret: u64, slot: u32, gen: u32, cid: u32) -> (Vec<u8>, Vec<u8>) {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(secret.to_le_bytes());
    h.update(slot.to_le_bytes());
    h.update(gen.to_le_bytes());
    h.update(cid.to_le_bytes());
    let hex: Vec<u8> = h
        .finalize()
        .iter()
        .flat_map(|b| {
            let d = b"0123456789abcdef";
            [d[(b >> 4) as usize], d[(b & 15) as usize]]
        })
        .collect();
    (hex[..27].to_vec(), hex[27..].to_vec())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Upsert {
    Added,
    Changed,
    Unchanged,
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
        assert_eq!(e.timer_expires(), 400);
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
#[cfg(test)]
mod size_probe {
    /// What one account costs in the slab (its texts are in the chunks).
    #[test]
    fn account_is_small() {
        let n = std::mem::size_of::<Option<super::Account<allocator_api2::alloc::Global>>>();
        assert!(n <= 80, "{n}");
    }

    /// 20,000 rows of one carrier as `make bench-reg` loads them (own AOR,
    /// binding and credentials, one registrar): what each costs in all.
    #[test]
    fn registrant_rows_cost_little_in_all() {
        use super::super::account::{AccountData, RegField, Shape};
        use super::{Registry, Settings};
        let mut r = Registry::new_in(
            Settings {
                shape: Shape::Registrant,
                ..Settings::default()
            },
            allocator_api2::alloc::Global,
        );
        let n = 20_000;
        for i in 0..n {
            let mut d = AccountData::default();
            let mut set = |f: RegField, v: String| d.text[f as usize] = v.into_bytes();
            set(RegField::Registrar, "sip:127.0.0.1:5070".into());
            set(RegField::Aor, format!("sip:user{i}@sipp.test"));
            set(RegField::Username, "alice".into());
            set(RegField::Password, "secret".into());
            set(RegField::Binding, format!("sip:user{i}@trunks.test"));
            d.expires = 3600;
            r.insert(&d, 1000, 0).unwrap();
        }
        let per = r.footprint() / n;
        eprintln!("{per} bytes per account");
        // 80 in the slab, about 66 of own texts, the schedule and one index
        assert!(per <= 170, "{per}");
    }
}

#[cfg(test)]
mod registrant_shape {
    use super::super::account::{AccountData, RegField, Shape};
    use super::*;
    use allocator_api2::alloc::Global;

    fn acct(aor: &str, tag: &str, cluster: i32) -> AccountData {
        let mut d = AccountData::default();
        let mut set = |f: RegField, v: &str| d.text[f as usize] = v.as_bytes().to_vec();
        set(RegField::Registrar, "sip:reg.example");
        set(RegField::Aor, aor);
        set(RegField::ThirdParty, "sip:admin@example.com");
        set(RegField::Username, "alice");
        set(RegField::Password, "secret");
        set(
            RegField::Binding,
            &format!("{}@10.0.0.1", aor.replace("@example.com", "")),
        );
        set(RegField::BindingParams, ";reg-id=1");
        set(RegField::ShTag, tag);
        d.expires = 600;
        d.cluster_id = cluster;
        d
    }

    fn reg() -> Registry<Global> {
        Registry::new_in(
            Settings {
                shape: Shape::Registrant,
                own_callid: Some(42),
                retry_after_expires: true,
                timer_interval: 10,
                ..Default::default()
            },
            Global,
        )
    }

    /// The REGISTER as stock lays it out, one Call-ID with rising CSeqs, a
    /// new one after a failure; the identity is (aor, binding, registrar).
    #[test]
    fn register_callid_and_identity() {
        let mut r = reg();
        let s = r.insert(&acct("sip:a@example.com", "", 0), 100, 0).unwrap();
        assert_eq!(
            r.insert(&acct("sip:a@example.com", "", 0), 100, 0),
            Err(InsertError::Duplicate)
        );
        assert_eq!(
            r.find_key(&[b"sip:a@example.com", b"sip:a@10.0.0.1", b"sip:reg.example"]),
            Some(s)
        );
        let j = r.due(100, 10).remove(0);
        assert_eq!(j.ruri, b"sip:reg.example");
        assert_eq!(j.aor, b"sip:a@example.com");
        assert_eq!(j.from, b"sip:admin@example.com");
        assert_eq!(
            j.headers,
            b"Contact: <sip:a@10.0.0.1>;reg-id=1;expires=600\r\n"
        );
        let (cid, cseq) = j.within.clone().unwrap();
        assert_eq!((cid.len(), j.from_tag.len(), cseq), (27, 5, 0));
        // challenged, answered (CSeq 2 in the reply's Call-ID), registered
        let c = ReplyInfo {
            code: 401,
            cseq: 1,
            ..Default::default()
        };
        assert!(matches!(
            r.on_reply(j.ticket(), &c, 100, 0),
            Ok(AfterReply::SendAuth(_))
        ));
        let contact = b"<sip:a@10.0.0.1>;expires=600".to_vec();
        let ok = ReplyInfo {
            code: 200,
            contacts: vec![&contact],
            cseq: 2,
            ..Default::default()
        };
        r.on_reply(j.ticket(), &ok, 101, 0).unwrap();
        assert_eq!(r.entry(s).unwrap().state(), RegState::Registered);
        let j2 = r.due(1000, 10).remove(0);
        assert_eq!(
            j2.within,
            Some((cid.clone(), 2)),
            "same Call-ID, after CSeq 2"
        );
        assert_eq!(j2.from_tag, j.from_tag);
        // a timeout: a new Call-ID, retried after expires - timer_interval
        let t = ReplyInfo {
            code: 408,
            ..Default::default()
        };
        assert!(r.on_reply(j2.ticket(), &t, 1000, 0).is_err());
        assert_eq!(r.entry(s).unwrap().state(), RegState::Timeout);
        assert!(r.due(1589, 10).is_empty());
        let j3 = r.due(1590, 10).remove(0);
        assert_ne!(j3.within.unwrap().0, cid);
    }

    fn ok_listing(contacts: &[&'static [u8]], cseq: u32) -> ReplyInfo<'static> {
        ReplyInfo {
            code: 200,
            contacts: contacts.to_vec(),
            cseq,
            ..Default::default()
        }
    }

    /// reg-id and +sip.instance: a 200 listing other bindings beside ours is
    /// answered with `Contact: *` in the same call (its challenge answered
    /// with `Contact: *` again), then a REGISTER in a new call, whose 200 is
    /// taken even if others come back; the next refresh checks again.
    #[test]
    fn single_binding_rule_clears_the_others_once() {
        let mut r = reg();
        let mut d = acct("sip:a@example.com", "", 0);
        d.text[RegField::BindingParams as usize] =
            b";reg-id=1;+sip.instance=\"<urn:uuid:1>\"".to_vec();
        let s = r.insert(&d, 100, 0).unwrap();
        let j = r.due(100, 10).remove(0);
        let (cid, _) = j.within.clone().unwrap();
        let two: [&[u8]; 2] = [
            b"<sip:a@10.0.0.1>;expires=600",
            b"<sip:old@10.0.0.9>;expires=60",
        ];
        r.on_reply(j.ticket(), &ok_listing(&two, 1), 100, 0)
            .unwrap();
        assert_ne!(r.entry(s).unwrap().state(), RegState::Registered);
        let clear = r.due(100, 10).remove(0);
        assert_eq!(
            (clear.expires, &clear.headers[..]),
            (0, &b"Contact: *\r\nExpires: 0\r\n"[..])
        );
        assert_eq!(clear.within, Some((cid.clone(), 1)), "same call, next CSeq");
        assert_eq!(r.entry(s).unwrap().state(), RegState::Unregistering);
        let c = ReplyInfo {
            code: 407,
            cseq: 2,
            ..Default::default()
        };
        let Ok(AfterReply::SendAuth(a)) = r.on_reply(clear.ticket(), &c, 100, 0) else {
            panic!("challenge answered");
        };
        assert_eq!(a.job.headers, b"Contact: *\r\nExpires: 0\r\n");
        r.on_reply(clear.ticket(), &ok_listing(&[], 3), 101, 0)
            .unwrap();
        let again = r.due(101, 10).remove(0);
        assert_eq!(again.expires, 600);
        assert!(again
            .headers
            .starts_with(b"Contact: <sip:a@10.0.0.1>;reg-id=1"));
        let (cid2, cseq2) = again.within.clone().unwrap();
        assert_ne!(cid2, cid, "a new call");
        assert_eq!(cseq2, 0);
        // the other binding is back at once: taken (no loop), registered
        r.on_reply(again.ticket(), &ok_listing(&two, 1), 101, 0)
            .unwrap();
        assert_eq!(r.entry(s).unwrap().state(), RegState::Registered);
        assert!(r.due(200, 10).is_empty());
        // the refresh finds two again: cleared again
        let refresh = r.due(1000, 10).remove(0);
        r.on_reply(refresh.ticket(), &ok_listing(&two, 2), 1000, 0)
            .unwrap();
        assert_eq!(
            r.due(1000, 10).remove(0).headers,
            b"Contact: *\r\nExpires: 0\r\n"
        );
    }

    /// Each reply records where its request went (one route per distinct
    /// socket and address); a local timeout knows the socket only.
    #[test]
    fn replies_record_the_route() {
        let mut r = reg();
        let a = r.insert(&acct("sip:a@example.com", "", 0), 100, 0).unwrap();
        let b = r.insert(&acct("sip:b@example.com", "", 0), 100, 0).unwrap();
        let dst: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let contact = b"<sip:a@10.0.0.1>;expires=600".to_vec();
        for j in r.due(100, 10) {
            let reply = ReplyInfo {
                code: if j.slot == a { 200 } else { 408 },
                contacts: vec![&contact],
                dst: (j.slot == a).then_some(dst),
                socket: b"udp:127.0.0.1:5060",
                ..Default::default()
            };
            let _ = r.on_reply(j.ticket(), &reply, 100, 0);
        }
        let ra = r.entry(a).unwrap().route.unwrap();
        assert_eq!(
            (ra.dst, ra.socket()),
            (Some(dst), &b"udp:127.0.0.1:5060"[..])
        );
        let rb = r.entry(b).unwrap().route.unwrap();
        assert_eq!((rb.dst, rb.socket()), (None, &b"udp:127.0.0.1:5060"[..]));
        assert_eq!(r.routes.len(), 2);
    }

    /// Without both parameters, or with our binding alone, a 200 is a 200.
    #[test]
    fn single_binding_rule_needs_both_parameters_and_others() {
        let two: [&[u8]; 2] = [b"<sip:a@10.0.0.1>;expires=600", b"<sip:old@10.0.0.9>"];
        for (params, listed, clears) in [
            (";reg-id=1", &two[..], false),
            (";+sip.instance=\"<urn:uuid:1>\"", &two[..], false),
            (";reg-id=1;+sip.instance=\"<urn:uuid:1>\"", &two[..1], false),
            (";REG-ID=1 ; +sip.instance=\"<urn:uuid:1>\"", &two[..], true),
        ] {
            let mut r = reg();
            let mut d = acct("sip:a@example.com", "", 0);
            d.text[RegField::BindingParams as usize] = params.as_bytes().to_vec();
            let s = r.insert(&d, 100, 0).unwrap();
            let j = r.due(100, 10).remove(0);
            r.on_reply(j.ticket(), &ok_listing(listed, 1), 100, 0)
                .unwrap();
            let registered = r.entry(s).unwrap().state() == RegState::Registered;
            assert_eq!(registered, !clears, "{params}");
        }
    }

    /// Accounts of a backup tag are parked; activating the tag schedules
    /// them, going backup again stops them.
    #[test]
    fn tags_park_and_hand_over() {
        let mut r = reg();
        let a = r
            .insert(&acct("sip:a@example.com", "node_a", 1), 100, 0)
            .unwrap();
        let b = r.insert(&acct("sip:b@example.com", "", 0), 100, 0).unwrap();
        assert_eq!(r.tags().len(), 1);
        let jobs = r.due(100, 10);
        assert_eq!(jobs.len(), 1, "only the untagged account");
        assert_eq!(jobs[0].slot, b);
        assert_eq!(r.set_tag_active(0, true, 105), 1);
        let jobs = r.due(105, 10);
        assert_eq!(jobs.iter().map(|j| j.slot).collect::<Vec<_>>(), [a]);
        assert_eq!(r.set_tag_active(0, false, 106), 1);
        assert_eq!(r.entry(a).unwrap().state(), RegState::NotRegistered);
        assert!(r.due(10_000, 10).iter().all(|j| j.slot != a));
        assert_eq!(r.ongoing(), 1, "b's attempt only");
    }

    /// Removed accounts free their text chunk; the schedule holds one entry
    /// per scheduled account.
    #[test]
    fn texts_and_schedule_stay_bounded() {
        let mut r = reg();
        for i in 0..3000 {
            r.insert(&acct(&format!("sip:u{i}@example.com"), "", 0), 100, 0)
                .unwrap();
        }
        assert_eq!(r.heap_len(), 3000);
        for _ in 0..5 {
            for s in 0..3000 {
                r.force(s, 200);
            }
        }
        assert_eq!(r.heap_len(), 3000);
        let chunks = r.texts.chunks();
        assert!(chunks >= 2, "{chunks}");
        for s in 0..3000 {
            r.remove(s);
        }
        assert_eq!(r.heap_len(), 0);
        let left = r.texts.chunks();
        assert_eq!(left, 1, "only the chunk being filled stays");
        // and they come back
        let s = r.insert(&acct("sip:z@example.com", "", 0), 300, 0).unwrap();
        assert_eq!(r.entry(s).unwrap().get(RegField::Aor), b"sip:z@example.com");
    }
}
