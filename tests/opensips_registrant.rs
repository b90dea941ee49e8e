//! Our uac_registrant.so in the real OpenSIPS 3.6.8, beside the stock one:
//! REGISTERs on the wire (with our uac_auth and with the stock one), MI
//! commands, the state written back, SQLite and PostgreSQL, start-up
//! checks, bad rows and hostile registrars, and two nodes sharing the
//! registrations through the clusterer (proto_bin on loopback).

mod common;
use common::opensips::{memory, module, mpath, sqlite_db, start_fails, Opensips};
use common::postgres::Postgres;
use common::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn tmpdir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "osips-ureg-{what}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A registrant row: (column, SQL value) pairs.
fn insert(cols: &[(&str, String)]) -> String {
    let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
    let vals: Vec<String> = cols.iter().map(|(_, v)| v.clone()).collect();
    format!(
        "INSERT INTO registrant ({}) VALUES ({});\n",
        names.join(", "),
        vals.join(", ")
    )
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQLite DB with the registrant table and `sql`.
fn reg_db(dir: &Path, sql: &str) -> PathBuf {
    sqlite_db(dir, &["registrant"], sql)
}

/// An OpenSIPS with tm, db_sqlite, the given uac_auth and uac_registrant
/// (stock or ours) on `port`, reading `db`.
fn ua(port: u16, stock: bool, stock_auth: bool, db_url: &str, extra: &str) -> Opensips {
    let body = format!(
        r#"loadmodule "tm.so"
loadmodule "db_sqlite.so"
loadmodule "{auth}"
loadmodule "{reg}"
modparam("uac_registrant", "db_url", "{db_url}")
modparam("uac_registrant", "timer_interval", 10)
{extra}
route {{ exit; }}
"#,
        auth = module("uac_auth", stock_auth),
        reg = module("uac_registrant", stock),
    );
    Opensips::start(port, &body)
}

thread_local! {
    /// Via branches already seen: UDP retransmissions are not new requests.
    static SEEN: std::cell::RefCell<HashSet<String>> = Default::default();
}

/// The next new REGISTER at a scripted registrar.
fn expect_register(peer: &Peer, secs: u64, what: &str) -> Msg {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs() + 1;
        let m = peer
            .recv_within(left)
            .unwrap_or_else(|| panic!("no REGISTER ({what})"));
        assert_eq!(m.method(), "REGISTER", "{what}: {}", m.raw);
        if SEEN.with(|s| s.borrow_mut().insert(m.hdr("Via").to_string())) {
            return m;
        }
        assert!(Instant::now() < deadline, "no new REGISTER ({what})");
    }
}

/// Replies to `req` (sent back to its Via's port) with `extra` headers.
fn reply_with(peer: &Peer, req: &Msg, code: u16, extra: &str) {
    let r = peer.reply(req, code, "regtag", false).replace(
        "Content-Length: 0\r\n",
        &format!("{extra}Content-Length: 0\r\n"),
    );
    let port: u16 = req
        .hdr("Via")
        .split(';')
        .next()
        .and_then(|h| h.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap();
    peer.send(port, &r);
}

const CHALLENGE: &str =
    "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5\r\n";

/// A 200 granting `granted` seconds to the request's Contact.
fn ok_for(req: &Msg, granted: u32) -> String {
    let c = req.hdr("Contact");
    let uri = &c[..c.find('>').map_or(c.len(), |i| i + 1)];
    format!("Contact: {uri};expires={granted}\r\n")
}

/// A request with the values that differ per run (Call-ID, tags, branch,
/// cnonce, response, ports) named instead, and the request line and every
/// header in order: what stock and ours must both send.
fn normalized(m: &Msg, ua_port: u16, reg_port: u16, cid: &str, tag: &str) -> String {
    let mut out = m.first.clone() + "\n";
    for (n, v) in &m.headers {
        let v = match n.as_str() {
            "Via" => v.split(";branch=").next().unwrap().to_string(),
            "Call-ID" => {
                assert_eq!(v, cid, "Call-ID kept");
                "<call-id>".into()
            }
            "From" => {
                assert!(v.ends_with(&format!(";tag={tag}")), "From tag kept: {v}");
                v.replace(tag, "<tag>")
            }
            "Authorization" => v
                .split(", ")
                .map(|p| match p.split_once('=') {
                    Some(("cnonce", _)) => "cnonce=<cnonce>".to_string(),
                    Some(("response", _)) => "response=<response>".to_string(),
                    _ => p.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            "User-Agent" | "Server" => "<agent>".into(),
            _ => v.clone(),
        };
        out += &format!("{n}: {v}\n");
    }
    out.replace(&ua_port.to_string(), "<ua>")
        .replace(&reg_port.to_string(), "<reg>")
}

/// One module pair registering alice (third party, binding params, an
/// outbound proxy, a forced socket) at a scripted registrar that challenges,
/// accepts with a short expiry, then challenges the refresh: the REGISTERs
/// as received, normalized.
fn registers(stock: bool, stock_auth: bool) -> Vec<String> {
    let dir = tmpdir("wire");
    let reg = Peer::new();
    let (port, forced) = (free_port(), free_port());
    let db = reg_db(
        &dir,
        &insert(&[
            ("registrar", q("sip:registrar.example.com")),
            ("proxy", q(&format!("sip:127.0.0.1:{}", reg.port))),
            ("aor", q("sip:alice@example.com")),
            ("third_party_registrant", q("sip:admin@example.com")),
            ("username", q("alice")),
            ("password", q("secret")),
            ("binding_URI", q(&format!("sip:alice@127.0.0.1:{forced}"))),
            (
                "binding_params",
                q(";reg-id=1;+sip.instance=\"<urn:uuid:1>\""),
            ),
            ("expiry", "3600".into()),
            ("forced_socket", q(&format!("udp:127.0.0.1:{forced}"))),
        ]),
    );
    let o = ua(
        port,
        stock,
        stock_auth,
        &format!("sqlite://{}", db.display()),
        &format!("socket=udp:127.0.0.1:{forced}"),
    );
    let what = format!("stock {stock}, stock uac_auth {stock_auth}");
    let r1 = expect_register(&reg, 15, &what);
    reply_with(&reg, &r1, 401, CHALLENGE);
    let r2 = expect_register(&reg, 5, &what);
    reply_with(&reg, &r2, 200, &ok_for(&r2, 15));
    // the refresh, within the same Call-ID, challenged and answered again
    let r3 = expect_register(&reg, 20, &what);
    reply_with(&reg, &r3, 401, CHALLENGE);
    let r4 = expect_register(&reg, 5, &what);
    reply_with(&reg, &r4, 200, &ok_for(&r4, 3600));
    let (cid, tag) = (r1.hdr("Call-ID").to_string(), r1.tag("From"));
    let out: Vec<String> = [&r1, &r2, &r3, &r4]
        .iter()
        .map(|m| normalized(m, forced, reg.port, &cid, &tag))
        .collect();
    // nothing to warn of either (each answer's header handed back to
    // uac_auth's API as stock uac_registrant hands it back)
    let log = o.log();
    assert!(
        !log.contains("ERROR") && !log.contains("WARNING"),
        "{what}:\n{log}"
    );
    drop(o);
    out
}

/// Ours and stock send the same REGISTERs, byte for byte but for the
/// values that differ per run: R-URI = registrar, To = aor, From = third
/// party, Contact from binding_URI and binding_params with ;expires, sent
/// to the outbound proxy from the forced socket, Call-ID and From tag kept
/// and CSeq 1, 2, 3, 4 across the challenge and the refresh, the answers
/// built by the loaded uac_auth (ours or stock).
#[test]
fn registers_on_the_wire_as_stock_with_both_uac_auths() {
    let runs: Vec<_> = [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .map(|(s, a)| std::thread::spawn(move || registers(s, a)))
        .collect();
    let got: Vec<Vec<String>> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    let ours = &got[0];
    assert!(
        ours[0].starts_with("REGISTER sip:registrar.example.com SIP/2.0\n"),
        "{}",
        ours[0]
    );
    assert!(
        ours[0].contains("\nFrom: <sip:admin@example.com>;tag=<tag>\n"),
        "{}",
        ours[0]
    );
    assert!(
        ours[0].contains("\nTo: <sip:alice@example.com>\n"),
        "{}",
        ours[0]
    );
    assert!(
        ours[0].contains(
            "\nContact: <sip:alice@127.0.0.1:<ua>>;reg-id=1;+sip.instance=\"<urn:uuid:1>\";expires=3600\n"
        ),
        "{}",
        ours[0]
    );
    assert!(
        ours[0].contains("\nVia: SIP/2.0/UDP 127.0.0.1:<ua>\n"),
        "forced socket: {}",
        ours[0]
    );
    for (i, m) in ours.iter().enumerate() {
        assert!(m.contains(&format!("\nCSeq: {} REGISTER\n", i + 1)), "{m}");
    }
    assert!(
        ours[1].contains("\nAuthorization: Digest username=\"alice\", realm=\"example.com\""),
        "{}",
        ours[1]
    );
    assert!(
        ours[1].contains("uri=\"sip:registrar.example.com\""),
        "{}",
        ours[1]
    );
    for (i, g) in got.iter().enumerate().skip(1) {
        assert_eq!(ours, g, "run {i} differs from ours with our uac_auth");
    }
}

/// A registrar that accepts every REGISTER (granting what is asked) and
/// keeps what it got; stops when dropped.
struct AutoRegistrar {
    pub port: u16,
    got: std::sync::Arc<std::sync::Mutex<Vec<Msg>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl AutoRegistrar {
    fn start() -> AutoRegistrar {
        let peer = Peer::new();
        let port = peer.port;
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(m) = peer.recv_within(1) else {
                    continue;
                };
                if m.method() != "REGISTER" {
                    continue;
                }
                let granted = m
                    .hdr("Contact")
                    .rsplit(";expires=")
                    .next()
                    .and_then(|e| e.trim().parse().ok())
                    .unwrap_or(3600);
                let extra = if granted == 0 {
                    String::new()
                } else {
                    ok_for(&m, granted)
                };
                reply_with(&peer, &m, 200, &extra);
                if seen.insert(m.hdr("Via").to_string()) {
                    g.lock().unwrap().push(m);
                }
            }
        });
        AutoRegistrar { port, got, stop }
    }

    /// The Contact headers of the REGISTERs received so far.
    fn contacts(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.hdr("Contact").to_string())
            .collect()
    }

    /// Waits until `n` REGISTERs whose Contact contains `what` arrived.
    fn wait_for(&self, what: &str, n: usize, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.contacts().iter().filter(|c| c.contains(what)).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for AutoRegistrar {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A registrant table of one row at the scripted registrar `reg`: AOR
/// `sip:<user>@example.com`, binding `sip:<user>@127.0.0.1:<port>` with
/// `params`, credentials alice/secret, 3600 s.
fn one_row_db(what: &str, reg: &Peer, port: u16, user: &str, params: &str) -> PathBuf {
    let mut cols = vec![
        ("registrar", q(&format!("sip:127.0.0.1:{}", reg.port))),
        ("aor", q(&format!("sip:{user}@example.com"))),
        ("username", q("alice")),
        ("password", q("secret")),
        ("binding_URI", q(&format!("sip:{user}@127.0.0.1:{port}"))),
        ("expiry", "3600".into()),
    ];
    if !params.is_empty() {
        cols.push(("binding_params", q(params)));
    }
    reg_db(&tmpdir(what), &insert(&cols))
}

/// What one module does under the single-binding rule (binding_params with
/// reg-id and +sip.instance) at a scripted registrar: the REGISTERs it
/// sends after a 200 that lists a second binding, as (Contact, Expires,
/// same call as the first?) each, and whether it ends registered.
fn single_binding(stock: bool) -> (Vec<(String, String, bool)>, Option<String>) {
    let reg = Peer::new();
    let port = free_port();
    let params = ";reg-id=1;+sip.instance=\"<urn:uuid:1>\"";
    let db = one_row_db("single", &reg, port, "alice", params);
    let o = ua(
        port,
        stock,
        false,
        &format!("sqlite://{}", db.display()),
        "",
    );
    let what = format!("stock {stock}");
    let two = |req: &Msg| {
        format!(
            "{}Contact: <sip:old@10.0.0.9>;expires=60\r\n",
            ok_for(req, 3600)
        )
    };
    let r1 = expect_register(&reg, 15, &what);
    let cid = r1.hdr("Call-ID").to_string();
    let seen = |m: &Msg| {
        let exp = m.all("Expires").first().map_or("", |v| v).to_string();
        (m.hdr("Contact").to_string(), exp, m.hdr("Call-ID") == cid)
    };
    let mut out = Vec::new();
    reply_with(&reg, &r1, 200, &two(&r1));
    // the bindings cleared, the challenge answered
    let r2 = expect_register(&reg, 5, &what);
    out.push(seen(&r2));
    reply_with(&reg, &r2, 401, CHALLENGE);
    let r3 = expect_register(&reg, 5, &what);
    out.push(seen(&r3));
    reply_with(&reg, &r3, 200, "");
    // registered again, in a new call; the other binding is back
    let r4 = expect_register(&reg, 5, &what);
    out.push(seen(&r4));
    reply_with(&reg, &r4, 200, &two(&r4));
    if let Some(r5) = reg.recv_within(3) {
        out.push(seen(&r5));
    }
    let state = rec_field(&o.mi("reg_list", "{}"), "sip:alice@example.com", "state");
    drop(o);
    (out, state)
}

/// The single-binding rule as stock: a 200 listing another binding beside
/// ours is answered with `Contact: *` and `Expires: 0` in the same call, then
/// ours is registered again in a new call. Better than stock: the challenge
/// to the `Contact: *` is answered with `Contact: *` (stock sends an
/// unregister of its own binding instead), and when the other binding is
/// listed again right away ours takes the 200 (stock clears again, round
/// after round).
#[test]
fn single_binding_rule_as_stock() {
    let star = ("*".to_string(), "0".to_string(), true);
    let (stock, stock_state) = single_binding(true);
    let (ours, our_state) = single_binding(false);
    assert_eq!(stock[0], star, "stock: {stock:?}");
    assert_eq!(ours[0], star, "ours: {ours:?}");
    // the answer to the challenge: ours clears again, stock unregisters
    // its own binding
    assert_eq!(ours[1], star, "ours: {ours:?}");
    assert!(stock[1].0.ends_with(";expires=0"), "stock: {stock:?}");
    // registered again in a new call, by both
    for r in [&stock[2], &ours[2]] {
        assert!(r.0.ends_with(";expires=3600") && !r.2, "{r:?}");
    }
    // the other binding back at once: stock clears again, ours is registered
    let again = stock.get(3).map(|r| (r.0.as_str(), r.1.as_str()));
    assert_eq!(again, Some(("*", "0")), "stock: {stock:?}");
    assert_eq!(ours.len(), 3, "ours: {ours:?}");
    assert_eq!(our_state.as_deref(), Some("REGISTERED_STATE"));
    assert_ne!(stock_state.as_deref(), Some("REGISTERED_STATE"));
}

/// The `"name":value` pairs of an MI reply, in order (nesting flattened).
fn mi_fields(json: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = json.as_bytes();
    let mut i = 0;
    let read_str = |mut j: usize| -> (String, usize) {
        let mut s = String::new();
        j += 1;
        while j < b.len() && b[j] != b'"' {
            if b[j] == b'\\' {
                j += 1;
            }
            s.push(b[j] as char);
            j += 1;
        }
        (s, j + 1)
    };
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let (key, j) = read_str(i);
        if b.get(j) != Some(&b':') {
            i = j;
            continue;
        }
        let k = j + 1;
        if matches!(b.get(k), Some(b'{') | Some(b'[')) {
            i = k;
            continue;
        }
        if b.get(k) == Some(&b'"') {
            let (v, e) = read_str(k);
            out.push((key, v));
            i = e;
        } else {
            let e = (k..b.len())
                .find(|&e| b",}]".contains(&b[e]))
                .unwrap_or(b.len());
            out.push((key, json[k..e].to_string()));
            i = e;
        }
    }
    out
}

/// The value of `name` in the record of `aor` in a reg_list reply.
fn rec_field(list: &str, aor: &str, name: &str) -> Option<String> {
    let f = mi_fields(list);
    let start = f.iter().position(|(k, v)| k == "AOR" && v == aor)?;
    f[start..]
        .iter()
        .skip(1)
        .take_while(|(k, _)| k != "AOR")
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// A reply without its JSON-RPC id.
fn no_id(r: &str) -> String {
    match r.find(",\"id\"") {
        Some(i) => r[..i].to_string(),
        None => r.to_string(),
    }
}

fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sql_state(db: &Path, aor: &str) -> String {
    let o = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(format!("SELECT state FROM registrant WHERE aor = '{aor}';"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The MI commands on one module (stock or ours): what each answers (ids
/// left out, times left out of records), and what the registrar and the DB
/// saw.
fn mi_session(stock: bool) -> Vec<String> {
    let dir = tmpdir("mi");
    let reg = AutoRegistrar::start();
    let port = free_port();
    let r = format!("sip:127.0.0.1:{}", reg.port);
    let row = |aor: &str, extra: &[(&str, String)]| {
        let mut c = vec![
            ("registrar", q(&r)),
            ("aor", q(aor)),
            (
                "binding_URI",
                q(&format!(
                    "{}@127.0.0.1:{port}",
                    aor.replace("@example.com", "")
                )),
            ),
            ("expiry", "3600".into()),
        ];
        c.extend(extra.iter().cloned());
        insert(&c)
    };
    let sql = row(
        "sip:alice@example.com",
        &[
            ("third_party_registrant", q("sip:admin@example.com")),
            ("binding_params", q(";reg-id=1")),
            ("proxy", q(&r)),
        ],
    ) + &row("sip:bob@example.com", &[("state", "1".into())])
        + &row("sip:carol@example.com", &[("cluster_shtag", q("vip/1"))]);
    let db = reg_db(&dir, &sql);
    let o = ua(
        port,
        stock,
        false,
        &format!("sqlite://{}", db.display()),
        "",
    );
    let mut out = Vec::new();
    assert!(reg.wait_for("alice", 1, 15), "alice registers");
    wait_until(10, "alice REGISTERED", || {
        o.mi("reg_list", "{}").contains("REGISTERED_STATE\"")
    });
    let list = o.mi("reg_list", "{}");
    for aor in [
        "sip:alice@example.com",
        "sip:bob@example.com",
        "sip:carol@example.com",
    ] {
        let f = mi_fields(&list);
        let start = f
            .iter()
            .position(|(k, v)| k == "AOR" && v == aor)
            .unwrap_or_else(|| panic!("{aor} in {list}"));
        let rec: Vec<String> = f[start..]
            .iter()
            .enumerate()
            .take_while(|(i, (k, _))| *i == 0 || (k != "AOR" && k != "id"))
            .map(|(_, (k, v))| match k.as_str() {
                "last_register_sent" | "registration_t_out" => format!("{k}=<time>"),
                _ => format!("{k}={v}"),
            })
            .collect();
        out.push(
            rec.join(" ")
                .replace(&reg.port.to_string(), "<reg>")
                .replace(&port.to_string(), "<ua>"),
        );
    }
    assert!(
        list.starts_with("{\"jsonrpc\":\"2.0\",\"result\":{\"Records\":["),
        "{list}"
    );
    let coords = |aor: &str, user: &str| {
        format!("{{\"aor\":\"{aor}\",\"contact\":\"sip:{user}@127.0.0.1:{port}\",\"registrar\":\"{r}\"}}")
    };
    let alice = coords("sip:alice@example.com", "alice");
    let one = o.mi("reg_list", &alice);
    out.push(
        no_id(&one)
            .replace(&reg.port.to_string(), "<reg>")
            .replace(&port.to_string(), "<ua>")
            .split("\"last_register_sent\"")
            .next()
            .unwrap()
            .to_string(),
    );
    for (cmd, params) in [
        ("reg_list", coords("sip:nobody@example.com", "nobody")),
        (
            "reg_list",
            "{\"aor\":\"sip:alice@example.com\",\"contact\":\"x\"}".to_string(),
        ),
        ("reg_enable", "{}".to_string()),
        ("reg_disable", coords("sip:nobody@example.com", "nobody")),
        (
            "reg_force_register",
            coords("sip:nobody@example.com", "nobody"),
        ),
        ("reg_reload", coords("sip:nobody@example.com", "nobody")),
    ] {
        out.push(
            format!("{cmd} {params}: {}", no_id(&o.mi(cmd, &params)))
                .replace(&port.to_string(), "<ua>")
                .replace(&reg.port.to_string(), "<reg>"),
        );
    }
    // disable: unregistered now, state 1 written back
    let before = reg.contacts().len();
    out.push(format!("disable: {}", no_id(&o.mi("reg_disable", &alice))));
    assert!(
        reg.wait_for(";expires=0", 1, 5),
        "{stock}: unregister: {:?}",
        reg.contacts()
    );
    out.push(format!(
        "state after disable: {}",
        sql_state(&db, "sip:alice@example.com")
    ));
    wait_until(5, "disabled", || {
        rec_field(&o.mi("reg_list", "{}"), "sip:alice@example.com", "enabled").as_deref()
            == Some("no")
    });
    // enable: registered again now, state 0
    out.push(format!("enable: {}", no_id(&o.mi("reg_enable", &alice))));
    assert!(reg.wait_for(
        "alice",
        before + 1
            - reg
                .contacts()
                .iter()
                .filter(|c| !c.contains("alice"))
                .count(),
        5
    ));
    wait_until(5, "registered again", || reg.contacts().len() >= before + 2);
    out.push(format!(
        "state after enable: {}",
        sql_state(&db, "sip:alice@example.com")
    ));
    wait_until(5, "alice registered again", || {
        rec_field(&o.mi("reg_list", "{}"), "sip:alice@example.com", "state").as_deref()
            == Some("REGISTERED_STATE")
    });
    // force_register: a REGISTER within a timer tick
    let n = reg.contacts().len();
    out.push(format!(
        "force: {}",
        no_id(&o.mi("reg_force_register", &alice))
    ));
    wait_until(15, "forced REGISTER", || reg.contacts().len() > n);
    // reload: the whole table again
    out.push(format!("reload: {}", no_id(&o.mi("reg_reload", "{}"))));
    out.push(format!(
        "reload alice: {}",
        no_id(&o.mi("reg_reload", &alice))
    ));
    let unregs = reg
        .contacts()
        .iter()
        .filter(|c| c.contains(";expires=0"))
        .count();
    out.push(format!("unregisters: {unregs}"));
    assert!(!o.log().contains("ERROR:uac_registrant"), "{}", o.log());
    out
}

/// The MI commands answer as stock's: reg_list's records (the same fields
/// in the same order, the same states), the single-record form, the errors
/// for unknown records and missing parameters; reg_disable unregisters and
/// writes state 1, reg_enable registers and writes 0, reg_force_register
/// registers now, reg_reload reloads.
#[test]
fn mi_commands_as_stock() {
    // both in threads, both joined: a failure stops both servers first
    let (h_stock, h_ours) = (
        std::thread::spawn(|| mi_session(true)),
        std::thread::spawn(|| mi_session(false)),
    );
    let (stock, ours) = (h_stock.join(), h_ours.join());
    let (stock, ours) = (stock.unwrap(), ours.unwrap());
    assert!(
        ours[0].starts_with(
            "AOR=sip:alice@example.com expires=3600 state=REGISTERED_STATE enabled=yes"
        ),
        "{}",
        ours[0]
    );
    assert!(
        ours[1].contains("state=NOT_REGISTERED_STATE enabled=no"),
        "{}",
        ours[1]
    );
    assert!(ours[2].contains("shtag=vip"), "{}", ours[2]);
    // where the REGISTER went: the socket tm picked, the registrar's address
    assert!(
        ours[0].contains(
            "socket=udp:127.0.0.1:<ua> proxy=sip:127.0.0.1:<reg> dst_IP=IPv4 ip=127.0.0.1"
        ),
        "{}",
        ours[0]
    );
    assert_eq!(ours, stock);
}

/// A registrar of stock modules (registrar, usrloc in memory): saves every
/// REGISTER; MI ul_dump shows the bindings.
fn stock_registrar() -> Opensips {
    Opensips::start_free(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "signaling.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "working_mode_preset", "single-instance-no-db")
route {
    if ($rm == "REGISTER") { save("location"); exit; }
    sl_send_reply(404, "Not here");
}
"#,
    )
}

/// AOR -> its contacts, from the registrar's ul_dump.
fn bindings(registrar: &Opensips) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut aor = String::new();
    for (k, v) in mi_fields(&registrar.mi("ul_dump", "{}")) {
        match k.as_str() {
            "AOR" => {
                aor = v.clone();
                out.entry(v).or_default();
            }
            "Contact" => out.entry(aor.clone()).or_default().push(v),
            _ => {}
        }
    }
    out
}

/// Node `id` of the example cluster (examples/opensips-registrant-cluster.cfg),
/// with our uac_registrant or the stock one.
fn node(
    id: u32,
    sip: u16,
    bin: (u16, u16),
    tags: (&str, &str),
    db: &Path,
    stock: bool,
) -> Opensips {
    let tpl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/opensips-registrant-cluster.cfg"
    ))
    .unwrap();
    Opensips::start_full(sip, |dir| {
        tpl.replace("BIN_LISTEN", &format!("bin:127.0.0.1:{}", bin.0))
            .replace("PEER_BIN_URL", &format!("bin:127.0.0.1:{}", bin.1))
            .replace("BIN_URL", &format!("bin:127.0.0.1:{}", bin.0))
            .replace("LISTEN", &format!("udp:127.0.0.1:{sip}"))
            .replace("PEER_ID", &(3 - id).to_string())
            .replace("NODE_ID", &id.to_string())
            .replace("TAG_A", tags.0)
            .replace("TAG_B", tags.1)
            .replace("MPATH", &mpath())
            .replace("UAC_AUTH_MODULE", &module("uac_auth", false))
            .replace("REGISTRANT_MODULE", &module("uac_registrant", stock))
            .replace("DB_URL", &format!("sqlite://{}", db.display()))
            .replace("REPLY_DIR", &format!("{}/", dir.display()))
            .replace("FIFO", &dir.join("fifo").display().to_string())
    })
}

/// Two nodes (the example cfg) share 200 rows by sharing tag: each
/// registers its half (reg_list: REGISTERED there, NOT_REGISTERED on the
/// other); node A stops, its tag is activated on B, and B registers A's
/// rows within a refresh interval, with one binding per AOR at the
/// registrar. Ours and stock side by side: the same hand-over.
#[test]
fn two_nodes_share_by_sharing_tag_and_take_over() {
    let (stock, ours) = (
        std::thread::spawn(|| cluster_pair(true)),
        std::thread::spawn(|| cluster_pair(false)),
    );
    let (stock, ours) = (stock.join(), ours.join());
    let (stock_took, ours_took) = (stock.unwrap(), ours.unwrap());
    eprintln!("take-over: stock {stock_took:?}, ours {ours_took:?}");
}

/// The two-node scenario with one module; how long the take-over took.
fn cluster_pair(stock: bool) -> Duration {
    let registrar = stock_registrar();
    let dir = tmpdir("cluster");
    let (sip_a, sip_b) = (free_port(), free_port());
    let (bin_a, bin_b) = (free_port(), free_port());
    let mut sql = String::from("BEGIN;\n");
    for i in 0..200 {
        let (tag, port) = if i % 2 == 0 {
            ("node_a/1", sip_a)
        } else {
            ("node_b/1", sip_b)
        };
        sql += &insert(&[
            ("registrar", q(&format!("sip:127.0.0.1:{}", registrar.port))),
            ("aor", q(&format!("sip:user{i}@example.com"))),
            // the same binding whichever node registers it
            ("binding_URI", q(&format!("sip:user{i}@trunks.example.com"))),
            ("expiry", "60".into()),
            ("cluster_shtag", q(tag)),
        ]);
        let _ = port;
    }
    sql += "COMMIT;\n";
    let db = reg_db(&dir, &sql);
    let mut a = node(1, sip_a, (bin_a, bin_b), ("active", "backup"), &db, stock);
    let b = node(2, sip_b, (bin_b, bin_a), ("backup", "active"), &db, stock);
    wait_until(30, "200 AORs registered", || {
        bindings(&registrar).len() == 200
    });
    let state = |o: &Opensips, i: usize| {
        rec_field(
            &o.mi("reg_list", "{}"),
            &format!("sip:user{i}@example.com"),
            "state",
        )
    };
    let (la, lb) = (a.mi("reg_list", "{}"), b.mi("reg_list", "{}"));
    for i in [0usize, 2, 198] {
        let aor = format!("sip:user{i}@example.com");
        assert_eq!(
            rec_field(&la, &aor, "state").as_deref(),
            Some("REGISTERED_STATE")
        );
        assert_eq!(
            rec_field(&lb, &aor, "state").as_deref(),
            Some("NOT_REGISTERED_STATE")
        );
        assert_eq!(rec_field(&la, &aor, "shtag").as_deref(), Some("node_a"));
    }
    for i in [1usize, 3, 199] {
        let aor = format!("sip:user{i}@example.com");
        assert_eq!(
            rec_field(&la, &aor, "state").as_deref(),
            Some("NOT_REGISTERED_STATE")
        );
        assert_eq!(
            rec_field(&lb, &aor, "state").as_deref(),
            Some("REGISTERED_STATE")
        );
    }
    // A stops; its tag is activated on B, which takes A's rows over
    a.stop();
    let t0 = Instant::now();
    let r = b.mi("clusterer_shtag_set_active", "{\"tag\":\"node_a/1\"}");
    assert!(r.contains("OK"), "{r}");
    wait_until(50, "B registers A's rows", || {
        (0..200)
            .step_by(2)
            .all(|i| state(&b, i).as_deref() == Some("REGISTERED_STATE"))
    });
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(47),
        "within a refresh interval: {took:?}"
    );
    let bs = bindings(&registrar);
    assert_eq!(bs.len(), 200);
    for (aor, c) in &bs {
        assert_eq!(c.len(), 1, "one binding for {aor}: {c:?}");
    }
    if !stock {
        assert!(
            b.log()
                .contains("sharing tag node_a/1 is active here: 100 registrations taken over"),
            "{}",
            b.log()
        );
        assert!(!b.log().contains("ERROR:uac_registrant"), "{}", b.log());
    }
    took
}

fn psql_out(pg: &Postgres, sql: &str) -> String {
    let o = pg
        .cmd("psql")
        .args(["-tA", "-h", "127.0.0.1", "-U", "postgres"])
        .args(["-p", &pg.port.to_string(), "-d", "opensips", "-c", sql])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The registrant table on PostgreSQL (db_postgres reads it with
/// fetch_result): good rows register, a broken one is skipped with one log
/// line naming it, reg_disable writes the state back there.
#[test]
fn postgres_registrant() {
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE opensips;");
    let share = common::opensips::prefix().join("share/opensips/postgres");
    let mut sql = std::fs::read_to_string(share.join("standard-create.sql")).unwrap();
    sql += &std::fs::read_to_string(share.join("registrant-create.sql")).unwrap();
    let reg = AutoRegistrar::start();
    let port = free_port();
    for i in 0..3 {
        sql += &insert(&[
            ("registrar", q(&format!("sip:127.0.0.1:{}", reg.port))),
            ("aor", q(&format!("sip:pg{i}@example.com"))),
            ("binding_URI", q(&format!("sip:pg{i}@127.0.0.1:{port}"))),
            ("expiry", "600".into()),
        ]);
    }
    sql += &insert(&[
        ("registrar", q(&format!("sip:127.0.0.1:{}", reg.port))),
        ("aor", q("sip:broken@example.com")),
        ("binding_URI", q("not a uri")),
        ("expiry", "600".into()),
    ]);
    pg.psql("opensips", &sql);
    let url = format!("postgres://postgres@127.0.0.1:{}/opensips", pg.port);
    let o = Opensips::start(
        port,
        &format!(
            r#"loadmodule "tm.so"
loadmodule "db_postgres.so"
loadmodule "{}"
loadmodule "{}"
modparam("uac_registrant", "db_url", "{url}")
modparam("uac_registrant", "timer_interval", 10)
route {{ exit; }}
"#,
            module("uac_auth", false),
            module("uac_registrant", false)
        ),
    );
    for i in 0..3 {
        assert!(
            reg.wait_for(&format!("pg{i}@"), 1, 10),
            "pg{i}: {:?}",
            reg.contacts()
        );
    }
    let log = o.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("broken@example.com"))
        .collect();
    assert_eq!(bad.len(), 1, "{log}");
    assert!(
        bad[0].contains("ERROR") && bad[0].contains("binding_URI"),
        "{}",
        bad[0]
    );
    assert!(
        log.contains("registrant: 4 rows read, 3 loaded, 1 skipped"),
        "{log}"
    );
    let coords = format!(
        "{{\"aor\":\"sip:pg1@example.com\",\"contact\":\"sip:pg1@127.0.0.1:{port}\",\"registrar\":\"sip:127.0.0.1:{}\"}}",
        reg.port
    );
    assert!(o.mi("reg_disable", &coords).contains("\"OK\""));
    wait_until(5, "state 1 in PostgreSQL", || {
        psql_out(
            &pg,
            "SELECT state FROM registrant WHERE aor = 'sip:pg1@example.com';",
        ) == "1"
    });
    assert!(reg.wait_for(";expires=0", 1, 5), "{:?}", reg.contacts());
    // reload one record from PostgreSQL
    psql_out(
        &pg,
        "UPDATE registrant SET expiry = 900 WHERE aor = 'sip:pg2@example.com';",
    );
    let c2 = coords.replace("pg1", "pg2");
    assert!(o.mi("reg_reload", &c2).contains("\"OK\""));
    assert!(reg.wait_for("pg2@127.0.0.1", 2, 5), "{:?}", reg.contacts());
    assert!(
        reg.contacts()
            .iter()
            .any(|c| c.contains("pg2@") && c.ends_with(";expires=900")),
        "{:?}",
        reg.contacts()
    );
}

/// Start-up checks as stock's: each of these configs stops OpenSIPS with
/// stock's module and with ours.
#[test]
fn bad_parameters_stop_start_up_as_stock() {
    let dir = tmpdir("params");
    let db = reg_db(&dir, "");
    let empty = sqlite_db(&tmpdir("nodb"), &[], "");
    let url = format!("sqlite://{}", db.display());
    let cases: Vec<(&str, String, &str)> = vec![
        ("timer_interval 5", format!("modparam(\"uac_registrant\", \"db_url\", \"{url}\")\nmodparam(\"uac_registrant\", \"timer_interval\", 5)"), "timer_interval to short"),
        ("default_expires 10", format!("modparam(\"uac_registrant\", \"db_url\", \"{url}\")\nmodparam(\"uac_registrant\", \"default_expires\", 10)"), "default_expires to short"),
        ("hash_size 5 for 10 s", format!("modparam(\"uac_registrant\", \"db_url\", \"{url}\")\nmodparam(\"uac_registrant\", \"timer_interval\", 10)\nmodparam(\"uac_registrant\", \"hash_size\", 5)"), "MUST be at least as big as reg_hsize"),
        ("no table", format!("modparam(\"uac_registrant\", \"db_url\", \"sqlite://{}\")", empty.display()), "table version"),
        ("clustering without clusterer", format!("modparam(\"uac_registrant\", \"db_url\", \"{url}\")\nmodparam(\"uac_registrant\", \"enable_clustering\", 1)"), "clusterer"),
    ];
    for stock in [false, true] {
        for (what, params, why) in &cases {
            let body = format!(
                "loadmodule \"tm.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"{}\"\nloadmodule \"{}\"\n{params}\nroute {{ exit; }}\n",
                module("uac_auth", false),
                module("uac_registrant", stock)
            );
            let log = start_fails(&body);
            if !stock {
                assert!(log.contains(why), "{what}: {log}");
            }
        }
        // without uac_auth: the core's dependency check stops it
        let body = format!(
            "loadmodule \"tm.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"{}\"\nmodparam(\"uac_registrant\", \"db_url\", \"{url}\")\nroute {{ exit; }}\n",
            module("uac_registrant", stock)
        );
        let log = start_fails(&body);
        assert!(log.contains("uac_auth"), "stock {stock}: {log}");
    }
}

/// Broken rows (a table of its own with nullable columns, named by the
/// table_name and *_column parameters): one error line each, naming the
/// row; the good rows register. Hostile registrar replies and wrong MI
/// arguments: clean failures, no crash, the next attempts work.
#[test]
fn bad_rows_hostile_replies_and_wrong_mi_arguments() {
    let dir = tmpdir("bad");
    let reg = Peer::new();
    let port = free_port();
    let registrar = format!("sip:127.0.0.1:{}", reg.port);
    let mut sql = String::from(
        "INSERT INTO version (table_name, table_version) VALUES ('myreg', '3');\n\
         CREATE TABLE myreg (id INTEGER PRIMARY KEY AUTOINCREMENT, registrar TEXT, proxy TEXT, \
         the_aor TEXT, third_party_registrant TEXT, username TEXT, password TEXT, binding_URI TEXT, \
         binding_params TEXT, expiry INTEGER, forced_socket TEXT, cluster_shtag TEXT, state INTEGER);\n",
    );
    let row = |aor: &str, fields: &[(&str, String)]| {
        let mut c = vec![
            ("registrar", q(&registrar)),
            ("the_aor", q(aor)),
            ("username", q("alice")),
            ("password", q("secret")),
            (
                "binding_URI",
                q(&format!(
                    "{}@127.0.0.1:{port}",
                    aor.replace("@example.com", "")
                )),
            ),
            ("expiry", "3600".into()),
            ("state", "0".into()),
        ];
        for (k, v) in fields {
            c.retain(|(n, _)| n != k);
            c.push((k, v.clone()));
        }
        insert(&c).replace("INTO registrant", "INTO myreg")
    };
    for i in 1..=6 {
        sql += &row(&format!("sip:good{i}@example.com"), &[]);
    }
    let broken: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "sip:nullreg@example.com",
            vec![("registrar", "NULL".into())],
        ),
        ("sip:badreg@example.com", vec![("registrar", q("http://x"))]),
        (
            "sip:userreg@example.com",
            vec![("registrar", q("sip:u@127.0.0.1"))],
        ),
        (
            "sip:long@example.com",
            vec![("password", q(&"p".repeat(20000)))],
        ),
        (
            "sip:crlf@example.com",
            vec![("binding_URI", q("sip:x@h\r\nX-Injected: 1"))],
        ),
        (
            "sip:sock@example.com",
            vec![("forced_socket", q("udp:10.9.9.9:5060"))],
        ),
        ("sip:tag@example.com", vec![("cluster_shtag", q("noslash"))]),
        ("sip:short@example.com", vec![("expiry", "5".into())]),
        ("sip:nan@example.com", vec![("expiry", q("soon"))]),
        (
            "sip:params@example.com",
            vec![("binding_params", q("no-semicolon"))],
        ),
    ];
    for (aor, f) in &broken {
        sql += &row(aor, f);
    }
    sql += &row("sip:odd@example.com", &[("state", "7".into())]);
    let db = sqlite_db(&dir, &[], &sql);
    let o = ua(
        port,
        false,
        false,
        &format!("sqlite://{}", db.display()),
        "modparam(\"uac_registrant\", \"table_name\", \"myreg\")\nmodparam(\"uac_registrant\", \"aor_column\", \"the_aor\")\nmodparam(\"uac_registrant\", \"failure_retry_interval\", 1)",
    );
    // the six good rows register; each gets another kind of hostile reply first
    let mut first = std::collections::HashMap::new();
    for _ in 0..6 {
        let m = expect_register(&reg, 10, "good rows");
        let user = m
            .hdr("To")
            .split('@')
            .next()
            .unwrap()
            .trim_start_matches("<sip:")
            .to_string();
        first.insert(user, m);
    }
    let m = |u: &str| {
        first
            .get(u)
            .unwrap_or_else(|| panic!("{u}: {:?}", first.keys()))
    };
    // 1: a 200 with an unusable Expires
    reply_with(
        &reg,
        m("good1"),
        200,
        &format!(
            "Contact: {}\r\nExpires: abc\r\n",
            m("good1").hdr("Contact").split(';').next().unwrap()
        ),
    );
    // 2: a 200 listing 500 contacts, ours last
    let mut many: String = (0..500)
        .map(|i| format!("Contact: <sip:other{i}@10.0.0.1>;expires=60\r\n"))
        .collect();
    many += &ok_for(m("good2"), 120);
    reply_with(&reg, m("good2"), 200, &many);
    // 3: a 401 without a challenge
    reply_with(&reg, m("good3"), 401, "");
    // 4: several challenges: one of an algorithm nobody has, then MD5
    reply_with(
        &reg,
        m("good4"),
        401,
        &format!("WWW-Authenticate: Digest realm=\"example.com\", nonce=\"x\", algorithm=XYZ-999\r\n{CHALLENGE}"),
    );
    // 5: a truncated reply (no headers after the status line)
    let via_port: u16 = m("good5")
        .hdr("Via")
        .split(';')
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    reg.send(via_port, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1");
    reply_with(&reg, m("good5"), 200, &ok_for(m("good5"), 120));
    // 6: a 423 with an absurd Min-Expires
    reply_with(&reg, m("good6"), 423, "Min-Expires: 99999999999999\r\n");
    // what comes next: good4 answered, failures retried after a second
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(12);
    while Instant::now() < deadline {
        let Some(r) = reg.recv_within(1) else {
            continue;
        };
        if r.method() != "REGISTER"
            || !SEEN.with(|s| s.borrow_mut().insert(r.hdr("Via").to_string()))
        {
            continue;
        }
        let user = r
            .hdr("To")
            .split('@')
            .next()
            .unwrap()
            .trim_start_matches("<sip:")
            .to_string();
        // the reply to an older attempt (good2's first 200 again) is ignored
        if user == "good1" {
            reply_with(&reg, m("good2"), 200, &ok_for(m("good2"), 120));
        }
        if r.all("Authorization").is_empty() && user == "good4" {
            reply_with(&reg, &r, 401, CHALLENGE);
        } else {
            reply_with(&reg, &r, 200, &ok_for(&r, 120));
        }
        seen.push((user, r.all("Authorization").len()));
    }
    assert!(
        seen.iter().any(|(u, a)| u == "good4" && *a == 1),
        "good4 answered the MD5 challenge: {seen:?}"
    );
    for u in ["good1", "good3", "good6"] {
        assert!(seen.iter().any(|(s, _)| s == u), "{u} retried: {seen:?}");
    }
    let list = o.mi("reg_list", "{}");
    for i in 1..=6 {
        let aor = format!("sip:good{i}@example.com");
        assert_eq!(
            rec_field(&list, &aor, "state").as_deref(),
            Some("REGISTERED_STATE"),
            "{aor}: {list}"
        );
    }
    let log = o.log();
    for (aor, _) in &broken {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(aor) && l.contains("skipped"))
            .collect();
        assert_eq!(lines.len(), 1, "{aor}:\n{log}");
        assert!(lines[0].contains("ERROR:uac_registrant"), "{}", lines[0]);
    }
    assert!(
        log.contains("registrant: 17 rows read, 7 loaded, 10 skipped"),
        "{log}"
    );
    assert_eq!(
        rec_field(&list, "sip:odd@example.com", "enabled").as_deref(),
        Some("no")
    );
    let odd: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sip:odd@example.com"))
        .collect();
    assert_eq!(odd.len(), 1, "{log}");
    assert!(
        odd[0].contains("WARNING") && odd[0].contains("unknown state 7"),
        "{}",
        odd[0]
    );
    assert!(!log.contains("panic"), "{log}");
    assert!(
        log.contains("Unable to extract authentication info"),
        "{log}"
    );
    // wrong MI arguments
    // numbers are taken as their text (the core's get_mi_string_param)
    let nums = o.mi("reg_enable", "{\"aor\":1,\"contact\":2,\"registrar\":3}");
    assert!(nums.contains("No such registrant"), "{nums}");
    let arr = o.mi(
        "reg_enable",
        "{\"aor\":[1],\"contact\":{},\"registrar\":null}",
    );
    assert!(arr.contains("-32602"), "{arr}");
    let names = o.mi(
        "reg_disable",
        "{\"aor\":\"a\",\"contact\":\"b\",\"wrong\":\"c\"}",
    );
    assert!(names.contains("-32602"), "{names}");
    let long = "x".repeat(1500);
    let r = o.mi(
        "reg_list",
        &format!("{{\"aor\":\"{long}\",\"contact\":\"b\",\"registrar\":\"c\"}}"),
    );
    assert!(r.contains("No such registrant"), "{r}");
    let (shm, _) = memory(&o);
    assert!(shm > 0);
    let mut o = o;
    assert!(o.alive());
}

/// Hostile replies, round after round (a 401 without a challenge, a 200
/// without a usable expiry, one listing 300 contacts, a truncated reply,
/// a 423 with an absurd Min-Expires, then a challenge answered and a 200):
/// shared and private memory come back to where they were.
#[test]
fn hostile_replies_lose_no_memory() {
    let reg = Peer::new();
    let port = free_port();
    let registrar = format!("sip:127.0.0.1:{}", reg.port);
    let db = one_row_db("mem", &reg, port, "mem", "");
    let o = ua(
        port,
        false,
        false,
        &format!("sqlite://{}", db.display()),
        "modparam(\"tm\", \"wt_timer\", 2)\nmodparam(\"uac_registrant\", \"failure_retry_interval\", 3600)",
    );
    let coords = format!(
        "{{\"aor\":\"sip:mem@example.com\",\"contact\":\"sip:mem@127.0.0.1:{port}\",\"registrar\":\"{registrar}\"}}"
    );
    let first = expect_register(&reg, 10, "first");
    reply_with(&reg, &first, 200, &ok_for(&first, 3600));
    let many: String = (0..300)
        .map(|i| format!("Contact: <sip:other{i}@10.0.0.1>;expires=60\r\n"))
        .collect();
    let round = || {
        let hostile: [&dyn Fn(&Msg); 5] = [
            &|m| reply_with(&reg, m, 401, ""),
            &|m| reply_with(&reg, m, 200, "Expires: soon\r\n"),
            &|m| reply_with(&reg, m, 200, &many),
            &|m| {
                let p: u16 = m
                    .hdr("Via")
                    .split(';')
                    .next()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                reg.send(p, "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 127.0.0.1");
                reply_with(&reg, m, 423, "Min-Expires: 99999999999999\r\n");
            },
            &|m| {
                reply_with(&reg, m, 401, CHALLENGE);
                let a = expect_register(&reg, 5, "answer");
                reply_with(&reg, &a, 200, &ok_for(&a, 3600));
            },
        ];
        for h in hostile {
            assert!(o.mi("reg_force_register", &coords).contains("\"OK\""));
            let m = expect_register(&reg, 15, "forced");
            h(&m);
            std::thread::sleep(Duration::from_millis(200));
        }
        wait_until(5, "registered again", || {
            rec_field(&o.mi("reg_list", "{}"), "sip:mem@example.com", "state").as_deref()
                == Some("REGISTERED_STATE")
        });
    };
    let (before, after) = common::opensips::memory_over_rounds(&o, &round);
    assert_eq!(
        before, after,
        "shm and pkg (SIP workers) before and after a round"
    );
    assert!(!o.log().contains("panic"), "{}", o.log());
}
