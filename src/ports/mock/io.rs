//! The request, DB, RPC, statistics, timer and script-event ports on plain
//! Rust values: what a flow sends, reads, answers and registers is recorded,
//! and a test plays the host's part (delivers a reply, runs a tick).

use crate::ports::db::{Cell, Databases, DbConn};
use crate::ports::event::ScriptEvent;
use crate::ports::message::{Header, SipMessage};
use crate::ports::mock::MockMsg;
use crate::ports::request::{OnReply, Outgoing, Reply, Requests, When, Within};
use crate::ports::rpc::{AddError, Record, RpcCall};
use crate::ports::shm::ShmPool;
use crate::ports::stats::{Computed, Counters};
use crate::ports::timer::{Next, Periodic, Timers};
use std::cell::{Cell as StdCell, Ref, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

// ---- requests ----

/// A continuation as the mock keeps it.
pub type Handler = for<'a> fn(&MockRequests, &[u8], Reply<'a, MockMsg>);

/// Where a request went, as tm would put it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockWithin {
    New,
    /// In the dialog of a reply: its Call-ID, its CSeq + 1.
    Reply {
        callid: Vec<u8>,
        cseq: u32,
    },
    /// In a given dialog: its Call-ID and From tag, the CSeq after the last.
    Dialog {
        callid: Vec<u8>,
        from_tag: Vec<u8>,
        cseq: u32,
    },
}

/// One request the flow sent.
#[derive(Clone)]
pub struct Sent {
    pub method: Vec<u8>,
    pub ruri: Vec<u8>,
    pub to: Vec<u8>,
    pub from: Vec<u8>,
    pub ouri: Option<Vec<u8>>,
    pub hdrs: Option<Vec<u8>>,
    pub body: Option<Vec<u8>>,
    pub sock: Option<Vec<u8>>,
    pub callid: Option<Vec<u8>>,
    /// (cseq, fr_timeout, fr_inv_timeout) as given (0: the host's defaults).
    pub timers: (u32, u32, u32),
    pub within: MockWithin,
    /// The continuation: when it runs, its state, the handler and its name.
    /// None once it ran (or when there was none).
    pub then: Option<(When, Vec<u8>, Handler, &'static str)>,
    /// Its position in the list (a new transaction's Call-ID is made of it).
    pub n: usize,
}

impl Sent {
    pub fn hdrs_text(&self) -> String {
        String::from_utf8_lossy(self.hdrs.as_deref().unwrap_or_default()).into_owned()
    }

    /// The value of a header line of `hdrs`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.hdrs_text().split("\r\n").find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// The Call-ID and CSeq number tm would give it.
    pub fn callid_cseq(&self) -> (Vec<u8>, u32) {
        match &self.within {
            MockWithin::New => (
                self.callid
                    .clone()
                    .unwrap_or_else(|| format!("mock-call-{}", self.n).into_bytes()),
                1,
            ),
            MockWithin::Reply { callid, cseq } | MockWithin::Dialog { callid, cseq, .. } => {
                (callid.clone(), *cseq)
            }
        }
    }
}

/// tm on a list: every request is recorded; a test delivers its reply.
#[derive(Default)]
pub struct MockRequests {
    sent: RefCell<Vec<Sent>>,
    /// The next this many sends fail.
    pub refuse: StdCell<usize>,
}

impl MockRequests {
    pub fn sent(&self) -> Ref<'_, Vec<Sent>> {
        self.sent.borrow()
    }

    pub fn len(&self) -> usize {
        self.sent.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Sent {
        self.sent.borrow()[i].clone()
    }

    fn record(
        &self,
        out: &Outgoing,
        within: Within<'_, MockMsg>,
        then: Option<(When, Vec<u8>, Handler, &'static str)>,
    ) -> Result<(), String> {
        if self.refuse.get() > 0 {
            self.refuse.set(self.refuse.get() - 1);
            return Err("tm failed to send the request".into());
        }
        let within = match within {
            Within::New => MockWithin::New,
            Within::Reply(m) => MockWithin::Reply {
                callid: m
                    .header_values(Header::CallId)?
                    .first()
                    .map(|c| c.to_vec())
                    .ok_or("reply without Call-ID")?,
                cseq: m.cseq_number().ok_or("reply without CSeq")? + 1,
            },
            Within::Dialog(d) => MockWithin::Dialog {
                callid: d.callid.to_vec(),
                from_tag: d.from_tag.to_vec(),
                cseq: d.cseq + 1,
            },
        };
        let own = |v: Option<&[u8]>| v.map(<[u8]>::to_vec);
        let mut sent = self.sent.borrow_mut();
        let n = sent.len();
        sent.push(Sent {
            method: out.method.to_vec(),
            ruri: out.ruri.to_vec(),
            to: out.to.to_vec(),
            from: out.from.to_vec(),
            ouri: own(out.ouri),
            hdrs: own(out.hdrs),
            body: own(out.body),
            sock: own(out.sock),
            callid: own(out.callid),
            timers: (out.cseq, out.fr_timeout, out.fr_inv_timeout),
            within,
            then,
            n,
        });
        Ok(())
    }

    /// A reply to request `i` as a registrar would write it: its Call-ID and
    /// CSeq, then `extra` header lines (each ending in CRLF).
    pub fn reply_text(&self, i: usize, code: i32, extra: &str) -> String {
        let s = self.get(i);
        let (callid, cseq) = s.callid_cseq();
        format!(
            "SIP/2.0 {code} Mock\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: {}\r\nCSeq: {cseq} {}\r\n{extra}Content-Length: 0\r\n\r\n",
            String::from_utf8_lossy(&callid),
            String::from_utf8_lossy(&s.method),
        )
    }

    /// Ends request `i` with `code` and `reply` (None: a local timeout):
    /// runs its continuation once, when it asked for this outcome. True when
    /// it ran.
    pub fn deliver(&self, i: usize, code: i32, reply: Option<&str>) -> bool {
        let then = self.sent.borrow_mut()[i].then.take();
        let Some((when, state, handler, _)) = then else {
            return false;
        };
        if when == When::Failure && code < 300 {
            return false;
        }
        let msg = reply.map(MockMsg::new);
        handler(
            self,
            &state,
            Reply {
                code,
                msg: msg.as_ref(),
                dst: None,
                socket: b"",
            },
        );
        true
    }

    /// Answers request `i` with `code` and `extra` header lines.
    pub fn answer(&self, i: usize, code: i32, extra: &str) -> bool {
        let text = self.reply_text(i, code, extra);
        self.deliver(i, code, Some(&text))
    }

    /// Request `i` got no reply: tm's local 408.
    pub fn time_out(&self, i: usize) -> bool {
        self.deliver(i, 408, None)
    }
}

impl Requests for MockRequests {
    type Msg = MockMsg;

    fn send(&self, out: &Outgoing, within: Within<'_, MockMsg>) -> Result<(), String> {
        self.record(out, within, None)
    }

    fn send_then<H: OnReply<Self>>(
        &self,
        out: &Outgoing,
        within: Within<'_, MockMsg>,
        when: When,
        state: &[u8],
    ) -> Result<(), String> {
        let h: Handler = H::on_reply;
        self.record(out, within, Some((when, state.to_vec(), h, H::NAME)))
    }
}

// ---- DB ----

/// An update made: (key column, value) pairs, the column, its new value.
pub type Update = (Vec<(String, Vec<u8>)>, String, Cell);

/// One table: its rows as the port hands them (in the columns' order the
/// flow asks for), its version, and what was done to it.
#[derive(Debug, Default)]
pub struct MockTable {
    pub rows: RefCell<Vec<Vec<Cell>>>,
    pub version: StdCell<u32>,
    /// Page sizes the scans asked for, and rows per page handed out.
    pub pages: RefCell<Vec<usize>>,
    pub updates: RefCell<Vec<Update>>,
    pub connects: StdCell<usize>,
    /// connect() fails with this.
    pub down: RefCell<Option<String>>,
}

/// The DB layer over one [`MockTable`] (any URL, any table name).
#[derive(Debug, Clone, Default)]
pub struct MockDb(pub Rc<MockTable>);

impl MockDb {
    pub fn with_rows(version: u32, rows: Vec<Vec<Cell>>) -> MockDb {
        let t = MockTable::default();
        t.version.set(version);
        *t.rows.borrow_mut() = rows;
        MockDb(Rc::new(t))
    }
}

impl Databases for MockDb {
    type Conn = MockDb;

    fn connect(&self, _url: &[u8], _table: &[u8]) -> Result<MockDb, String> {
        if let Some(e) = self.0.down.borrow().clone() {
            return Err(e);
        }
        self.0.connects.set(self.0.connects.get() + 1);
        Ok(self.clone())
    }
}

impl DbConn for MockDb {
    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String> {
        if self.0.version.get() != version {
            return Err(format!(
                "invalid table version for {} (expected {version})",
                String::from_utf8_lossy(table)
            ));
        }
        Ok(())
    }

    fn scan(
        &self,
        _table: &[u8],
        _cols: &[&str],
        _ints: &[&str],
        page: usize,
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String> {
        let rows = self.0.rows.borrow().clone();
        for p in rows.chunks(page.max(1)) {
            self.0.pages.borrow_mut().push(p.len());
            for r in p {
                row(r.clone());
            }
        }
        Ok(rows.len())
    }

    fn rows_by_key(
        &self,
        cols: &[&str],
        keys: &[(&str, &[u8])],
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String> {
        let at: Vec<(usize, Cell)> = keys
            .iter()
            .map(|(k, v)| {
                let i = cols
                    .iter()
                    .position(|c| c == k)
                    .expect("key among the columns");
                (i, Cell::Text(v.to_vec()))
            })
            .collect();
        let rows: Vec<Vec<Cell>> = self
            .0
            .rows
            .borrow()
            .iter()
            .filter(|r| at.iter().all(|(i, v)| r.get(*i) == Some(v)))
            .cloned()
            .collect();
        for r in &rows {
            row(r.clone());
        }
        Ok(rows.len())
    }

    fn update(&self, keys: &[(&str, &[u8])], column: &str, value: &Cell) -> Result<(), String> {
        let keys = keys.iter().map(|(k, v)| (k.to_string(), v.to_vec()));
        self.0
            .updates
            .borrow_mut()
            .push((keys.collect(), column.to_string(), value.clone()));
        Ok(())
    }
}

// ---- RPC ----

/// An argument as the transport has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Str(Vec<u8>),
    Int(i64),
}

/// One call: its arguments, and what the command answered.
#[derive(Debug, Default)]
pub struct MockRpc {
    pub args: VecDeque<Arg>,
    pub faults: Vec<(i32, String)>,
    pub records: Vec<Record>,
    /// add() fails once this many records are in.
    pub room: Option<usize>,
}

impl MockRpc {
    /// A call with text arguments.
    pub fn strs(args: &[&str]) -> MockRpc {
        MockRpc {
            args: args
                .iter()
                .map(|a| Arg::Str(a.as_bytes().to_vec()))
                .collect(),
            ..Default::default()
        }
    }

    pub fn fault(&self) -> Option<(i32, &str)> {
        self.faults.first().map(|(c, m)| (*c, m.as_str()))
    }
}

impl RpcCall for MockRpc {
    /// A number reads as its text (as Kamailio's transports do).
    fn next_str(&mut self, _required: bool) -> Option<Vec<u8>> {
        self.args.pop_front().map(|a| match a {
            Arg::Str(s) => s,
            Arg::Int(i) => i.to_string().into_bytes(),
        })
    }

    fn next_int(&mut self, _required: bool) -> Option<i64> {
        let v = match self.args.front()? {
            Arg::Int(i) => Some(*i),
            Arg::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        };
        if v.is_some() {
            self.args.pop_front();
        }
        v
    }

    fn fault(&mut self, code: i32, msg: &str) {
        self.faults.push((code, msg.to_string()));
    }

    fn add(&mut self, r: &Record) -> Result<(), AddError> {
        if self.room.is_some_and(|n| self.records.len() >= n) {
            return Err(AddError);
        }
        self.records.push(r.clone());
        Ok(())
    }
}

// ---- statistics ----

/// A counter registered: `group:name` and its reader.
pub type Counter = (String, fn() -> i64);

/// Counters as a list.
#[derive(Default)]
pub struct MockCounters(pub RefCell<Vec<Counter>>);

impl MockCounters {
    pub fn read(&self, name: &str) -> Option<i64> {
        let f = self.0.borrow().iter().find(|(n, _)| n == name)?.1;
        Some(f())
    }
}

impl Counters for MockCounters {
    fn register<C: Computed>(
        &self,
        group: &'static std::ffi::CStr,
        name: &'static std::ffi::CStr,
        _doc: &'static std::ffi::CStr,
    ) -> Result<(), String> {
        let n = format!("{}:{}", group.to_string_lossy(), name.to_string_lossy());
        self.0.borrow_mut().push((n, C::value));
        Ok(())
    }
}

// ---- timers ----

/// A timer process started: its name, its start and its tick.
pub type Process = (String, fn(), fn() -> Next);

/// Timer processes as a list; a test runs their ticks.
#[derive(Default)]
pub struct MockTimers {
    pub reserved: StdCell<i32>,
    pub spawned: RefCell<Vec<Process>>,
}

impl MockTimers {
    /// Runs timer `i` as its process would: start, then `ticks` ticks.
    pub fn run(&self, i: usize, ticks: usize) -> Vec<Next> {
        let (_, start, tick) = self.spawned.borrow()[i].clone();
        start();
        (0..ticks).map(|_| tick()).collect()
    }
}

impl Timers for MockTimers {
    fn reserve(&self, n: i32) {
        self.reserved.set(self.reserved.get() + n);
    }

    fn spawn<P: Periodic>(&self, name: &'static std::ffi::CStr) -> Result<(), String> {
        let n = name.to_string_lossy().into_owned();
        self.spawned.borrow_mut().push((n, P::start, P::tick));
        Ok(())
    }
}

// ---- script event ----

/// The script's event: each run records the message's text (None: none).
#[derive(Debug, Default)]
pub struct MockEvent(pub RefCell<Vec<Option<String>>>);

impl ScriptEvent for MockEvent {
    type Msg = MockMsg;

    fn run(&self, msg: Option<&MockMsg>) {
        let text = msg.map(|m| String::from_utf8_lossy(&m.text).into_owned());
        self.0.borrow_mut().push(text);
    }
}

// ---- shared memory's fill level ----

thread_local! {
    static SHM_LOW: StdCell<bool> = const { StdCell::new(false) };
    static SHM_BYTES: StdCell<Option<(u64, u64)>> = const { StdCell::new(None) };
}

/// Makes the mock's shared memory look (nearly) full, for this thread.
pub fn set_shm_low(low: bool) {
    SHM_LOW.with(|l| l.set(low));
}

/// Makes the mock's shared memory a pool of `size` bytes with `free` free,
/// for this thread (None: only [`set_shm_low`] counts).
pub fn set_shm_bytes(v: Option<(u64, u64)>) {
    SHM_BYTES.with(|b| b.set(v));
}

impl ShmPool for allocator_api2::alloc::Global {
    fn low(fraction: u64, extra: u64) -> bool {
        match SHM_BYTES.with(|b| b.get()) {
            Some((free, size)) => free < size / fraction.max(1) + extra,
            None => SHM_LOW.with(|l| l.get()),
        }
    }
}
