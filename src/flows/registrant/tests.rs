//! The registrant on the mocks: rows loaded, REGISTERs sent and answered,
//! failures, reloads, the script functions and the RPC commands.

use super::run::{Count, RegTimer, DISABLED, ONLINE, TOTAL};
use super::uacreg::{Uacreg, TABLE_VERSION};
use super::*;
use crate::flows::digest_client::tests::verifies;
use crate::ports::mock::io::{
    set_shm_bytes, set_shm_low, Arg, MockCounters, MockDb, MockRequests, MockRpc,
};
use crate::ports::mock::io::{MockTimers, MockWithin};
use crate::ports::mock::MockLock;
use crate::ports::request::When;
use crate::ports::rpc::Value;
use crate::ports::stats::Counters;
use crate::ports::timer::{Next, Timers};
use crate::registration::account::{
    Field, COLUMNS, FL_AUTHSENT, FL_DISABLED, FL_ONGOING, FL_ONLINE, INT_COLUMNS,
};
use crate::registration::reply::{backoff, refresh_at};
use allocator_api2::alloc::Global;
use std::cell::Cell as StdCell;

const T0: i64 = 1_700_000_000;
const RAND: u32 = 7;

/// A test host: the mocks, a clock the test moves, a fixed "random" number.
macro_rules! host {
    ($name:ident, $table:ty, $reg:ident) => {
        struct $name;

        thread_local! {
            static $reg: StdCell<Option<&'static Registrant<$name>>> =
                const { StdCell::new(None) };
        }

        impl $name {
            /// A registrant on `rows`, made this thread's.
            fn make(rows: Vec<Vec<Cell>>, settings: Settings) -> &'static Registrant<$name> {
                let cfg = Config {
                    db_url: b"mock://db".to_vec(),
                    db_table: b"uacreg".to_vec(),
                    contact_addr: b"127.0.0.1:5060".to_vec(),
                    default_socket: Vec::new(),
                };
                let reg = Registrant::new(
                    settings,
                    true,
                    cfg,
                    <$table>::default(),
                    MockRequests::default(),
                    MockDb::with_rows(TABLE_VERSION, rows),
                )
                .unwrap();
                let r: &'static Registrant<$name> = Box::leak(Box::new(reg));
                $reg.with(|c| c.set(Some(r)));
                set_now(T0);
                set_shm_low(false);
                r
            }
        }

        impl RegHost for $name {
            type Alloc = Global;
            type Lock = MockLock;
            type Req = MockRequests;
            type Db = MockDb;
            type Table = $table;
            type Cluster = crate::ports::cluster::NoCluster;

            fn get() -> Option<&'static Registrant<$name>> {
                $reg.with(|c| c.get())
            }

            fn now() -> i64 {
                NOW.with(|n| n.get())
            }

            fn rand() -> u32 {
                RAND
            }
        }
    };
}

thread_local! {
    static NOW: StdCell<i64> = const { StdCell::new(T0) };
}

fn set_now(t: i64) {
    NOW.with(|n| n.set(t));
}

host!(Kam, Uacreg, KAM);

fn t(s: &str) -> Cell {
    Cell::Text(s.as_bytes().to_vec())
}

/// A uacreg row (stock column order) for account `uuid`, user alice with
/// password secret at registrar 127.0.0.1:5070.
fn row(uuid: &str, expires: i64) -> Vec<Cell> {
    vec![
        t(uuid),
        t(&format!("l{uuid}")),
        t("local.test"),
        t(&format!("r{uuid}")),
        t("127.0.0.1:5070"),
        t(""),
        t("alice"),
        t("secret"),
        t(""),
        t("sip:127.0.0.1:5070"),
        Cell::Int(expires),
        Cell::Int(0),
        Cell::Int(0),
        t(""),
        t(""),
    ]
}

fn settings() -> Settings {
    Settings {
        timer_interval: 10,
        retry_interval: 30,
        ..Default::default()
    }
}

/// A 200 for request `i` of account `uuid`, granting `granted` seconds.
fn ok(reg: &Registrant<Kam>, i: usize, uuid: &str, granted: u32) {
    let contact = format!("Contact: <sip:{uuid}@127.0.0.1:5060>;expires={granted}\r\n");
    assert!(reg.requests.answer(i, 200, &contact));
}

fn flags(reg: &Registrant<Kam>, uuid: &str) -> u32 {
    let g = reg.lock();
    g.entry(g.find_uuid(uuid.as_bytes()).unwrap())
        .unwrap()
        .flags
}

const CHALLENGE: &str =
    "WWW-Authenticate: Digest realm=\"reg.test\", nonce=\"n1\", qop=\"auth\", algorithm=MD5\r\n";

// ---- loading ----

/// Good rows load; a broken one and a second row with the same l_uuid are
/// skipped without stopping the others; the table is read in pages.
#[test]
fn load_rows_good_broken_duplicate() {
    let mut broken = row("u3", 3600);
    broken[1] = Cell::Null; // l_username
    let mut bad_proxy = row("u4", 3600);
    bad_proxy[9] = t("not a uri");
    let rows = vec![
        row("u1", 3600),
        row("u2", 60),
        broken,
        bad_proxy,
        row("u1", 90),
    ];
    let reg = Kam::make(rows, settings());
    assert_eq!(reg.load(false), Ok((2, 3)));
    let g = reg.lock();
    assert_eq!(g.total(), 2);
    let u2 = g.entry(g.find_uuid(b"u2").unwrap()).unwrap();
    assert_eq!(u2.expires, 60);
    assert_eq!(
        u2.get(Field::ContactAddr),
        b"127.0.0.1:5060",
        "reg_contact_addr"
    );
    let u1 = g.entry(g.find_uuid(b"u1").unwrap()).unwrap();
    assert_eq!(u1.expires, 3600, "the first u1 is kept");
    drop(g);
    assert_eq!(*reg.db.0.pages.borrow(), [5]);
    assert!(reg.requests.is_empty(), "loading sends nothing");
}

#[test]
fn load_pages_a_large_table_and_checks_the_version() {
    let rows = (0..2500).map(|i| row(&format!("u{i}"), 3600)).collect();
    let reg = Kam::make(rows, settings());
    assert_eq!(reg.load(false), Ok((2500, 0)));
    assert_eq!(*reg.db.0.pages.borrow(), [1000, 1000, 500]);
    assert_eq!(reg.lock().total(), 2500);
    reg.db.0.version.set(4);
    let e = reg.load(true).unwrap_err();
    assert!(e.contains("invalid table version"), "{e}");
    // a failed reload removes nothing and lets the next one run
    assert_eq!(reg.lock().total(), 2500);
    reg.db.0.version.set(TABLE_VERSION);
    assert_eq!(reg.load(true), Ok((2500, 0)));
}

// ---- sending ----

/// A tick sends what is due, no more than the in-flight cap; the rest waits
/// (the timer comes back soon) until replies make room.
#[test]
fn tick_sends_due_and_holds_back_past_the_inflight_cap() {
    let rows = (1..=5).map(|i| row(&format!("u{i}"), 3600)).collect();
    let reg = Kam::make(
        rows,
        Settings {
            max_inflight: 3,
            ..settings()
        },
    );
    reg.load(false).unwrap();
    assert_eq!(reg.tick(), Next::Soon);
    assert_eq!(reg.requests.len(), 3);
    let s = reg.requests.get(0);
    assert_eq!(s.method, b"REGISTER");
    assert_eq!(s.ruri, b"sip:127.0.0.1:5070");
    assert_eq!(s.to, b"sip:ru1@127.0.0.1:5070");
    assert_eq!(s.from, s.to);
    assert_eq!(s.ouri.as_deref(), Some(&b"sip:127.0.0.1:5070"[..]));
    assert_eq!(
        s.hdrs_text(),
        "Contact: <sip:u1@127.0.0.1:5060>\r\nExpires: 3600\r\n"
    );
    assert_eq!(s.within, MockWithin::New);
    assert_eq!(s.sock, None);
    assert_eq!(s.then.as_ref().unwrap().0, When::Completed);
    assert_eq!(flags(reg, "u1") & FL_ONGOING, FL_ONGOING);
    // held back: nothing more until a reply
    assert_eq!(reg.tick(), Next::Soon);
    assert_eq!(reg.requests.len(), 3);
    ok(reg, 0, "u1", 3600);
    ok(reg, 1, "u2", 3600);
    assert_eq!(reg.tick(), Next::Idle);
    assert_eq!(reg.requests.len(), 5);
    // nothing due: a tick sends nothing
    assert_eq!(reg.tick(), Next::Idle);
    assert_eq!(reg.requests.len(), 5);
}

/// With shared memory nearly full nothing leaves; the timer comes back soon.
#[test]
fn low_shared_memory_holds_every_register_back() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    set_shm_low(true);
    assert_eq!(reg.tick(), Next::Soon);
    assert!(reg.requests.is_empty());
    set_shm_low(false);
    assert_eq!(reg.tick(), Next::Idle);
    assert_eq!(reg.requests.len(), 1);
}

/// With a per-attempt reserve, a batch leaves only while the attempts in
/// flight and the batch fit beside the reserve: of 100 due, one batch of
/// 32 goes (100,000 bytes, 60,000 free: 6,250 + 64 x 1,000 does not fit
/// after it); the rest waits for replies.
#[test]
fn per_attempt_reserve_paces_the_batches() {
    let rows = (0..100).map(|i| row(&format!("u{i}"), 3600)).collect();
    let reg = Kam::make(
        rows,
        Settings {
            shm_reserve: 16,
            shm_per_attempt: 1000,
            ..settings()
        },
    );
    reg.load(false).unwrap();
    set_shm_bytes(Some((60_000, 100_000)));
    assert_eq!(reg.tick(), Next::Soon);
    assert_eq!(reg.requests.len(), super::run::PACED_BATCH);
    // nothing more while they are in flight
    assert_eq!(reg.tick(), Next::Soon);
    assert_eq!(reg.requests.len(), super::run::PACED_BATCH);
    // room for the lot
    set_shm_bytes(Some((10_000_000, 10_000_000)));
    reg.tick();
    assert_eq!(reg.requests.len(), 100);
    set_shm_bytes(None);
}

/// A 401 is answered within its dialog (same Call-ID, CSeq + 1) with an
/// Authorization header that verifies; the 200 that follows registers.
#[test]
fn challenge_answered_with_the_right_header_cseq_and_call_id() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    reg.tick();
    assert!(reg.requests.answer(0, 401, CHALLENGE));
    assert_eq!(reg.requests.len(), 2);
    let again = reg.requests.get(1);
    assert_eq!(
        again.within,
        MockWithin::Reply {
            callid: b"mock-call-0".to_vec(),
            cseq: 2
        }
    );
    assert_eq!(again.ruri, b"sip:127.0.0.1:5070");
    let h = again.hdrs_text();
    assert!(
        h.starts_with(
            "Contact: <sip:u1@127.0.0.1:5060>\r\nExpires: 3600\r\nAuthorization: Digest "
        ),
        "{h}"
    );
    let line = h.split("\r\n").nth(2).unwrap();
    assert!(verifies(line.as_bytes(), b"REGISTER", b""), "{line}");
    assert!(line.contains("uri=\"sip:127.0.0.1:5070\""), "{line}");
    assert_eq!(flags(reg, "u1") & FL_AUTHSENT, FL_AUTHSENT);
    ok(reg, 1, "u1", 3600);
    assert_eq!(flags(reg, "u1") & (FL_ONLINE | FL_ONGOING), FL_ONLINE);
    assert_eq!(reg.status(b"u1"), 1);
}

/// A 407 gets Proxy-Authorization; a realm column that does not match the
/// challenge's realm leaves it unanswered (a failure, backed off).
#[test]
fn proxy_challenge_and_realm_mismatch() {
    let mut other_realm = row("u2", 3600);
    other_realm[5] = t("elsewhere.test");
    let reg = Kam::make(vec![row("u1", 3600), other_realm], settings());
    reg.load(false).unwrap();
    reg.tick();
    assert!(reg
        .requests
        .answer(0, 407, &CHALLENGE.replace("WWW", "Proxy")));
    assert!(reg
        .requests
        .get(2)
        .hdrs_text()
        .contains("\r\nProxy-Authorization: Digest username=\"alice\", realm=\"reg.test\""));
    assert!(reg.requests.answer(1, 401, CHALLENGE));
    assert_eq!(reg.requests.len(), 3, "u2 not answered");
    let g = reg.lock();
    let e = g.entry(g.find_uuid(b"u2").unwrap()).unwrap();
    assert_eq!(e.flags & (FL_ONGOING | FL_ONLINE), 0);
    assert_eq!(e.fails, 1);
    assert_eq!(e.timer_expires(), T0 + backoff(30, 1, RAND) as i64);
}

/// A 200 schedules the refresh (stock rule: timer interval + 3 s before the
/// binding ends); the refresh goes then, not before.
#[test]
fn ok_schedules_the_refresh() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    reg.tick();
    ok(reg, 0, "u1", 600);
    {
        let g = reg.lock();
        let e = g.entry(g.find_uuid(b"u1").unwrap()).unwrap();
        assert_eq!(
            e.timer_expires(),
            T0 + 600,
            "the binding's end, as stock shows it"
        );
    }
    let due = refresh_at(T0, 600, 10, 0);
    assert_eq!(due, T0 + 600 - 13);
    set_now(due - 1);
    reg.tick();
    assert_eq!(reg.requests.len(), 1);
    set_now(due);
    reg.tick();
    assert_eq!(reg.requests.len(), 2);
    assert_eq!(reg.requests.get(1).within, MockWithin::New, "a new Call-ID");
    assert_eq!(
        flags(reg, "u1") & (FL_ONLINE | FL_ONGOING),
        FL_ONLINE | FL_ONGOING,
        "still registered while refreshing"
    );
}

/// With reg_keep_callid a refresh goes within the Call-ID of the last 200,
/// with the next CSeq.
#[test]
fn keep_callid_refreshes_in_the_same_call() {
    let reg = Kam::make(
        vec![row("u1", 3600)],
        Settings {
            keep_callid: true,
            ..settings()
        },
    );
    reg.load(false).unwrap();
    reg.tick();
    ok(reg, 0, "u1", 100);
    set_now(refresh_at(T0, 100, 10, 0));
    reg.tick();
    assert_eq!(
        reg.requests.get(1).within,
        MockWithin::Dialog {
            callid: b"mock-call-0".to_vec(),
            from_tag: b"00000007".to_vec(),
            cseq: 2
        }
    );
}

/// Failures back off, longer each time; a local failure to send counts as
/// one; without reg_retry_interval a failed account is disabled (stock).
#[test]
fn failures_back_off() {
    let reg = Kam::make(vec![row("u1", 3600), row("u2", 3600)], settings());
    reg.load(false).unwrap();
    reg.tick();
    assert!(reg.requests.answer(0, 503, ""));
    assert!(reg.requests.time_out(1));
    let first = T0 + backoff(30, 1, RAND) as i64;
    for u in ["u1", "u2"] {
        let g = reg.lock();
        let e = g.entry(g.find_uuid(u.as_bytes()).unwrap()).unwrap();
        assert_eq!((e.fails, e.timer_expires()), (1, first), "{u}");
    }
    set_now(first - 1);
    reg.tick();
    assert_eq!(reg.requests.len(), 2, "not before the backoff");
    set_now(first);
    reg.requests.refuse.set(1);
    reg.tick();
    assert_eq!(reg.requests.len(), 3, "u1 refused locally, u2 sent");
    {
        let g = reg.lock();
        let e = g.entry(g.find_uuid(b"u1").unwrap()).unwrap();
        assert_eq!(e.fails, 2);
        assert_eq!(e.timer_expires(), first + backoff(30, 2, RAND) as i64);
        assert!(backoff(30, 2, RAND) > backoff(30, 1, RAND));
    }

    let stock = Kam::make(
        vec![row("u1", 3600)],
        Settings {
            retry_interval: 0,
            ..settings()
        },
    );
    stock.load(false).unwrap();
    stock.tick();
    assert!(stock.requests.answer(0, 403, ""));
    assert_eq!(flags(stock, "u1") & FL_DISABLED, FL_DISABLED);
    assert_eq!(stock.status(b"u1"), -3);
}

/// A challenge to the answered request means the credentials were
/// refused: a failure, not a loop.
#[test]
fn second_challenge_is_a_failure() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    reg.tick();
    reg.requests.answer(0, 401, CHALLENGE);
    assert!(reg.requests.answer(1, 401, CHALLENGE));
    assert_eq!(reg.requests.len(), 2);
    assert_eq!(flags(reg, "u1") & (FL_ONGOING | FL_AUTHSENT), 0);
    // a late reply to the finished attempt changes nothing
    assert!(!reg.requests.answer(0, 200, ""), "ran once already");
}

/// A reload keeps unchanged registrations as they are (not sent again),
/// registers changed and new rows, and unregisters removed ones.
#[test]
fn reload_keeps_unchanged_registrations() {
    let reg = Kam::make(
        vec![row("u1", 3600), row("u2", 3600), row("u3", 3600)],
        settings(),
    );
    reg.load(false).unwrap();
    reg.tick();
    for (i, u) in ["u1", "u2", "u3"].iter().enumerate() {
        ok(reg, i, u, 3600);
    }
    *reg.db.0.rows.borrow_mut() = vec![row("u1", 3600), row("u2", 1800), row("u4", 3600)];
    set_now(T0 + 5);
    assert_eq!(reg.load(true), Ok((3, 0)));
    // u3 is gone: unregistered at once
    assert_eq!(reg.requests.len(), 4);
    let unreg = reg.requests.get(3);
    assert_eq!(
        unreg.hdrs_text(),
        "Contact: <sip:u3@127.0.0.1:5060>\r\nExpires: 0\r\n"
    );
    reg.tick();
    let sent: Vec<String> = reg.requests.sent()[4..]
        .iter()
        .map(|s| s.header("Contact").unwrap())
        .collect();
    assert_eq!(
        sent,
        ["<sip:u2@127.0.0.1:5060>", "<sip:u4@127.0.0.1:5060>"],
        "changed and new rows only"
    );
    assert_eq!(reg.requests.get(4).header("Expires").unwrap(), "1800");
    assert_eq!(reg.status(b"u1"), 1, "u1 kept as it was");
    assert_eq!(reg.lock().total(), 3);
}

#[test]
fn refresh_one_row() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    *reg.db.0.rows.borrow_mut() = vec![row("u1", 120), row("u9", 60)];
    assert_eq!(reg.refresh_one(b"u1"), Ok(true));
    assert_eq!(reg.refresh_one(b"u9"), Ok(true));
    assert_eq!(reg.refresh_one(b"nope"), Ok(false));
    assert_eq!(reg.refresh(b"nope"), -1);
    let g = reg.lock();
    assert_eq!(g.entry(g.find_uuid(b"u1").unwrap()).unwrap().expires, 120);
    assert_eq!(g.total(), 2);
}

// ---- script functions ----

#[test]
fn script_functions() {
    let mut ha1 = row("u2", 3600);
    ha1[8] = t("0123456789ABCDEF0123456789abcdef");
    let reg = Kam::make(vec![row("u1", 3600), ha1], settings());
    reg.load(false).unwrap();
    assert_eq!(reg.lookup(b"u1", 0), Ok(b"sip:lu1@local.test".to_vec()));
    assert_eq!(reg.lookup(b"nope", 0), Err(-1));
    assert_eq!(reg.lookup(b"sip:lu2@whatever", 1), Ok(b"u2".to_vec()));
    assert_eq!(reg.lookup(b"not a uri", 1), Err(-2));
    assert_eq!(reg.status(b"u1"), -99, "loaded, not yet sent");
    reg.tick();
    assert_eq!(reg.status(b"u1"), -2, "ongoing");
    assert_eq!(reg.status(b"nope"), -1);
    let to = reg.request_to(b"u2", 2).unwrap();
    assert_eq!(to.ruri, b"sip:ru2@127.0.0.1:5070");
    assert_eq!(to.proxy, b"sip:127.0.0.1:5070");
    assert_eq!(to.user, b"alice");
    assert_eq!(
        to.password, b"0123456789abcdef0123456789abcdef",
        "mode 2: the HA1"
    );
    assert_eq!(reg.request_to(b"lu1", 1).unwrap().password, b"secret");
    assert_eq!(reg.request_to(b"u1", 4), Err(-1));
    assert_eq!(reg.request_to(b"nope", 0), Err(-1));
    assert_eq!(reg.set_enabled(b"l_uuid", b"u1", false), 1);
    assert_eq!(flags(reg, "u1") & FL_DISABLED, FL_DISABLED);
    assert_eq!(reg.set_enabled(b"l_uuid", b"nope", false), -2);
    assert_eq!(reg.set_enabled(b"realm", b"x", false), -3);
    assert_eq!(reg.set_enabled(b"", b"x", false), -1);
    assert_eq!(reg.set_enabled(b"r_username", b"ru1", true), 1);
    assert_eq!(flags(reg, "u1") & FL_DISABLED, 0);
    // unregister: expires 0 now, and no refresh afterwards
    let slot = reg.lock().find_uuid(b"u2").unwrap();
    reg.unregister(slot).unwrap();
    let last = reg.requests.get(reg.requests.len() - 1);
    assert_eq!(last.header("Expires").unwrap(), "0");
    assert_eq!(last.header("Contact").unwrap(), "<sip:u2@127.0.0.1:5060>");
}

// ---- the timer and the counters ----

#[test]
fn timer_process_loads_then_ticks_and_counters_read_the_registry() {
    let reg = Kam::make(vec![row("u1", 3600), row("u2", 3600)], settings());
    let timers = MockTimers::default();
    timers.reserve(1);
    timers.spawn::<RegTimer<Kam>>(c"TIMER UAC REG").unwrap();
    assert_eq!(timers.run(0, 2), [Next::Idle, Next::Idle]);
    assert_eq!(
        reg.requests.len(),
        2,
        "loaded at start, sent at the first tick"
    );
    let c = MockCounters::default();
    c.register::<Count<Kam, TOTAL>>(c"uac", c"regtotal", c"")
        .unwrap();
    c.register::<Count<Kam, ONLINE>>(c"uac", c"regactive", c"")
        .unwrap();
    c.register::<Count<Kam, DISABLED>>(c"uac", c"regdisabled", c"")
        .unwrap();
    ok(reg, 0, "u1", 3600);
    reg.set_enabled(b"l_uuid", b"u2", false);
    assert_eq!(c.read("uac:regtotal"), Some(2));
    assert_eq!(c.read("uac:regactive"), Some(1));
    assert_eq!(c.read("uac:regdisabled"), Some(1));
}

// ---- RPC ----

fn rpc(reg: &Registrant<Kam>, f: fn(&Registrant<Kam>, &mut MockRpc), args: &[&str]) -> MockRpc {
    let mut call = MockRpc::strs(args);
    f(reg, &mut call);
    call
}

/// uac.reg_dump / uac.reg_info print stock's 18 fields in stock's order.
#[test]
fn rpc_records() {
    let reg = Kam::make(vec![row("u1", 3600), row("u2", 3600)], settings());
    reg.load(false).unwrap();
    reg.tick();
    ok(reg, 0, "u1", 3600);
    let dump = rpc(reg, rpc::dump, &[]);
    assert!(dump.faults.is_empty());
    assert_eq!(dump.records.len(), 2);
    let r = &dump.records[0];
    assert_eq!(
        r.names().join(" "),
        "l_uuid l_username l_domain r_username r_domain realm auth_username auth_password \
         auth_ha1 auth_proxy expires flags diff_expires timer_expires reg_init reg_delay \
         contact_addr socket"
    );
    let s = |v: &str| Value::Str(v.as_bytes().to_vec());
    assert_eq!(r.get("l_uuid"), Some(&s("u1")));
    assert_eq!(r.get("auth_ha1"), Some(&s("none")));
    assert_eq!(r.get("socket"), Some(&s("")));
    assert_eq!(r.get("flags"), Some(&Value::Int((FL_ONLINE | 16) as i64)));
    assert_eq!(r.get("timer_expires"), Some(&Value::Int(T0 + 3600)));
    assert_eq!(r.get("diff_expires"), Some(&Value::Int(3600)));
    // a page of the dump, and the transport running out of room
    let page = rpc(reg, rpc::dump, &["1", "5"]);
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].get("l_uuid"), Some(&s("u2")));
    let mut full = MockRpc {
        room: Some(1),
        ..Default::default()
    };
    rpc::dump(reg, &mut full);
    assert_eq!(full.fault().unwrap().0, 500);
    let info = rpc(reg, rpc::info, &["l_uuid", "u2"]);
    assert_eq!(info.records.len(), 1);
    assert_eq!(info.records[0].get("l_uuid"), Some(&s("u2")));
}

/// Wrong arguments get stock's faults.
#[test]
fn rpc_faults() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    let fault = |f: fn(&Registrant<Kam>, &mut MockRpc), args: &[&str]| {
        let c = rpc(reg, f, args);
        assert!(c.records.is_empty());
        c.faults.first().cloned()
    };
    let f = |c: i32, m: &str| Some((c, m.to_string()));
    assert_eq!(fault(rpc::info, &["l_uuid"]), f(400, "Invalid Parameters"));
    assert_eq!(
        fault(rpc::info, &["foo", "bar"]),
        f(400, "Unsupported filter attribute")
    );
    assert_eq!(
        fault(rpc::info, &["l_uuid", "nope"]),
        f(404, "Record not found")
    );
    assert_eq!(
        fault(rpc::info, &["l_uuid", ""]),
        f(400, "Invalid Parameter Values")
    );
    assert_eq!(fault(rpc::remove, &[]), f(400, "Invalid Parameters"));
    assert_eq!(fault(rpc::remove, &["nope"]), f(404, "Record not found"));
    assert_eq!(fault(rpc::refresh, &["nope"]), f(404, "Record not found"));
    assert_eq!(fault(rpc::active, &[]), f(500, "Missing parameter"));
    assert_eq!(
        fault(rpc::unregister, &["l_uuid", "nope"]),
        f(404, "Record not found")
    );
    reg.db.0.version.set(1);
    assert_eq!(
        fault(rpc::reload, &[]),
        f(500, "Failed to reload records - check log messages")
    );
}

/// uac.reg_add checks the record as a row; duplicates and bad values are
/// refused with stock's codes.
#[test]
fn rpc_add_active_remove() {
    let reg = Kam::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    let args = |uuid: &str, pw: &str, expires: i64| {
        let mut a: Vec<Arg> = [
            uuid,
            "l7",
            "local.test",
            "r7",
            "127.0.0.1:5070",
            "",
            "alice",
            pw,
            ".",
            "sip:127.0.0.1:5070",
        ]
        .iter()
        .map(|s| Arg::Str(s.as_bytes().to_vec()))
        .collect();
        a.extend([Arg::Int(expires), Arg::Int(0), Arg::Int(0)]);
        a.extend([Arg::Str(b".".to_vec()), Arg::Str(b".".to_vec())]);
        MockRpc {
            args: a.into(),
            ..Default::default()
        }
    };
    let mut c = args("u7", "secret", 60);
    rpc::add(reg, &mut c);
    assert!(c.faults.is_empty(), "{:?}", c.faults);
    {
        let g = reg.lock();
        let e = g.entry(g.find_uuid(b"u7").unwrap()).unwrap();
        assert_eq!(e.get(Field::ContactAddr), b"127.0.0.1:5060");
        assert_eq!(e.get(Field::AuthHa1), b"");
        assert_eq!(e.expires, 60);
    }
    let mut dup = args("u7", "secret", 60);
    rpc::add(reg, &mut dup);
    assert_eq!(dup.fault(), Some((409, "uuid already exists")));
    let mut nopw = args("u8", ".", 60);
    rpc::add(reg, &mut nopw);
    assert_eq!(
        nopw.fault(),
        Some((500, "Failed to add record - invalid password or ha1"))
    );
    let mut neg = args("u8", "secret", -1);
    rpc::add(reg, &mut neg);
    assert_eq!(neg.fault(), Some((400, "Invalid Parameter Values")));
    let mut short = MockRpc::strs(&["u9", "l9"]);
    rpc::add(reg, &mut short);
    assert_eq!(short.fault(), Some((400, "Invalid Parameters")));

    let mut act = MockRpc {
        args: [Arg::Int(0)].into(),
        ..Default::default()
    };
    rpc::active(reg, &mut act);
    assert_eq!(act.records, [Record::new().int("omode", 1).int("nmode", 0)]);
    reg.tick();
    assert!(reg.requests.is_empty(), "inactive: nothing leaves");

    assert!(rpc(reg, rpc::remove, &["u7"]).faults.is_empty());
    assert_eq!(reg.lock().total(), 1);
    assert!(rpc(reg, rpc::disable, &["l_uuid", "u1"]).faults.is_empty());
    assert_eq!(flags(reg, "u1") & FL_DISABLED, FL_DISABLED);
}

// ---- Kamailio 6.x: send now, reg_register, reload_delta, "." realm ----

/// uac_reg_send_register / uac_reg_send_unregister find the account by a
/// filter and send at once whatever its state (also disabled); the
/// unregister keeps expires 0 afterwards, as stock; unknown filters and
/// accounts give -1.
#[test]
fn send_register_and_unregister_now() {
    let reg = Kam::make(vec![row("u1", 600), row("u2", 3600)], settings());
    reg.load(false).unwrap();
    assert_eq!(reg.set_enabled(b"l_uuid", b"u1", false), 1);
    assert_eq!(reg.send_by(b"l_uuid", b"u1", false), 1);
    assert_eq!(reg.requests.len(), 1, "sent although disabled");
    let r = reg.requests.get(0);
    assert_eq!(r.header("Expires").unwrap(), "600");
    assert_eq!(r.header("Contact").unwrap(), "<sip:u1@127.0.0.1:5060>");
    assert_ne!(flags(reg, "u1") & FL_ONGOING, 0);
    ok(reg, 0, "u1", 600);
    assert_ne!(flags(reg, "u1") & FL_ONLINE, 0);
    assert_eq!(reg.send_by(b"r_username", b"ru2", true), 1);
    assert_eq!(reg.requests.get(1).header("Expires").unwrap(), "0");
    // expires 0 stays: a later send-register unregisters again (stock's quirk)
    assert_eq!(reg.send_by(b"auth_username", b"alice", false), 1);
    assert_eq!(reg.send_by(b"l_uuid", b"nope", false), -1);
    assert_eq!(reg.send_by(b"realm", b"x", false), -1);
    assert_eq!(reg.requests.len(), 3);
}

/// uac.reg_register: stock's faults, then a REGISTER now.
#[test]
fn rpc_register_now() {
    let reg = Kam::make(vec![row("u1", 600)], settings());
    reg.load(false).unwrap();
    let f = |args: &[&str]| rpc(reg, rpc::register, args).faults.first().cloned();
    assert_eq!(
        f(&["l_uuid"]),
        Some((400, "Invalid Parameters".to_string()))
    );
    assert_eq!(
        f(&["l_uuid", "nope"]),
        Some((404, "Record not found".to_string()))
    );
    assert_eq!(
        f(&["foo", "u1"]),
        Some((400, "Unsupported filter attribute".to_string()))
    );
    assert!(reg.requests.is_empty());
    let c = rpc(reg, rpc::register, &["l_uuid", "u1"]);
    assert!(c.faults.is_empty() && c.records.is_empty());
    assert_eq!(reg.requests.get(0).header("Expires").unwrap(), "600");
}

/// reload_delta: a second reload within it is refused with stock's fault; 0
/// never limits.
#[test]
fn reload_limited_by_delta() {
    let reg = Kam::make(vec![row("u1", 600)], settings());
    reg.load(false).unwrap();
    let fault = |d: u32| {
        let mut c = MockRpc::default();
        rpc::reload_limited(reg, &mut c, d);
        c.faults.first().cloned()
    };
    assert_eq!(fault(30), None, "the first reload");
    set_now(T0 + 29);
    assert_eq!(
        fault(30),
        Some((
            500,
            "Failed to shift records - check log messages".to_string()
        ))
    );
    assert_eq!(fault(0), None, "0: no limit");
    set_now(T0 + 30);
    assert_eq!(fault(30), None, "30 s after the first");
}

/// uac.reg_add: "." is an empty realm where the host says so (6.1).
#[test]
fn rpc_add_dot_realm() {
    let reg = Kam::make(vec![], settings());
    reg.load(false).unwrap();
    let call = |uuid: &str| {
        let mut a: Vec<Arg> = [
            uuid,
            "l7",
            "local.test",
            "r7",
            "127.0.0.1:5070",
            ".",
            "alice",
            "secret",
            ".",
            "sip:127.0.0.1:5070",
        ]
        .iter()
        .map(|s| Arg::Str(s.as_bytes().to_vec()))
        .collect();
        a.extend([Arg::Int(60), Arg::Int(0), Arg::Int(0)]);
        a.extend([Arg::Str(b".".to_vec()), Arg::Str(b".".to_vec())]);
        MockRpc {
            args: a.into(),
            ..Default::default()
        }
    };
    let realm = |uuid: &str| {
        let g = reg.lock();
        g.entry(g.find_uuid(uuid.as_bytes()).unwrap())
            .unwrap()
            .get(Field::Realm)
            .to_vec()
    };
    let mut c = call("u7");
    rpc::add(reg, &mut c);
    assert!(c.faults.is_empty(), "{:?}", c.faults);
    assert_eq!(realm("u7"), b".");
    let mut c = call("u8");
    rpc::add_with(reg, &mut c, rpc::AddRules { dot_realm: true });
    assert!(c.faults.is_empty(), "{:?}", c.faults);
    assert_eq!(realm("u8"), b"");
}

// ---- a table with a state column (the OpenSIPS registrant's shape) ----

/// Kamailio's table, but with `state` written back on enable/disable.
#[derive(Default)]
struct Stateful;

impl Table for Stateful {
    fn name(&self) -> &'static str {
        "registrant"
    }
    fn version(&self) -> u32 {
        TABLE_VERSION
    }
    fn columns(&self) -> &[&str] {
        &COLUMNS
    }
    fn int_columns(&self) -> &[&str] {
        &INT_COLUMNS
    }
    fn account(
        &self,
        cells: &[Cell],
        default_contact: &[u8],
    ) -> Result<(AccountData, Option<RowWarning>), RowError> {
        Uacreg.account(cells, default_contact)
    }
    fn record<A: Allocator + Clone>(&self, e: &Entry<A>, _now: i64) -> Record {
        Record::new().str("aor", e.get(Field::RUsername)).record(
            "binding",
            Record::new().str("contact", e.get(Field::ContactAddr)),
        )
    }
    fn state_update<A: Allocator + Clone>(&self, e: &Entry<A>) -> Option<StateUpdate> {
        Some(StateUpdate {
            keys: vec![("aor", e.get(Field::RUsername).to_vec())],
            column: "state",
            value: Cell::Int((e.flags & FL_DISABLED != 0) as i64),
        })
    }
}

host!(Osips, Stateful, OSIPS);

#[test]
fn another_table_writes_its_state_back_and_prints_its_own_records() {
    let reg = Osips::make(vec![row("u1", 3600)], settings());
    reg.load(false).unwrap();
    assert_eq!(reg.set_enabled(b"l_uuid", b"u1", false), 1);
    assert_eq!(reg.set_enabled(b"l_uuid", b"u1", true), 1);
    assert_eq!(
        *reg.db.0.updates.borrow(),
        [
            (
                vec![("aor".to_string(), b"ru1".to_vec())],
                "state".to_string(),
                Cell::Int(1)
            ),
            (
                vec![("aor".to_string(), b"ru1".to_vec())],
                "state".to_string(),
                Cell::Int(0)
            )
        ]
    );
    let mut call = MockRpc::default();
    rpc::dump(reg, &mut call);
    assert_eq!(
        call.records,
        [Record::new()
            .str("aor", b"ru1")
            .record("binding", Record::new().str("contact", b"127.0.0.1:5060"))]
    );
}
