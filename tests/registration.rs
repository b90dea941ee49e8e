//! Remote registrations (uacreg) against real registrars: sipp checking the
//! digest answers itself, a scripted UDP registrar for the replies sipp cannot
//! vary (423, 503, bad 200s), and the stock registrar+auth_db in a second
//! Kamailio. RPC through kamcmd (ctl) and jsonrpcs (FIFO), the counters, the
//! uac_reg_* functions, bad rows, reload, and the RPC output shape vs stock.

mod common;

use common::postgres::Postgres;
use common::*;
use sha2::Digest;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One uacreg row (text values; expires as given).
struct Row<'a> {
    uuid: &'a str,
    user: &'a str,
    ruser: &'a str,
    rdomain: String,
    password: &'a str,
    ha1: &'a str,
    proxy: String,
    expires: i64,
    socket: &'a str,
    realm: &'a str,
    domain: &'a str,
    reg_delay: i64,
}

fn row<'a>(uuid: &'a str, user: &'a str, registrar: u16) -> Row<'a> {
    Row {
        uuid,
        user,
        ruser: user,
        rdomain: format!("127.0.0.1:{registrar}"),
        password: "secret",
        ha1: "",
        proxy: format!("sip:127.0.0.1:{registrar}"),
        expires: 60,
        socket: "",
        realm: "",
        domain: "local.test",
        reg_delay: 0,
    }
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn insert_sql(r: &Row) -> String {
    format!(
        "INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,realm,auth_username,\
         auth_password,auth_ha1,auth_proxy,expires,flags,reg_delay,contact_addr,socket) VALUES \
         ({},{},{},{},{},{},'alice',{},{},{},{},0,{},'',{});\n",
        q(r.uuid),
        q(r.user),
        q(r.domain),
        q(r.ruser),
        q(&r.rdomain),
        q(r.realm),
        q(r.password),
        q(r.ha1),
        q(&r.proxy),
        r.expires,
        r.reg_delay,
        q(r.socket)
    )
}

fn sqlite(db: &Path, sql: &str) {
    let mut c = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sqlite3 CLI (package sqlite3)");
    use std::io::Write;
    c.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "sqlite3 failed on:\n{sql}");
}

/// A SQLite file with Debian's version and uacreg tables and these rows.
fn make_db(dir: &Path, rows: &[Row]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let db = dir.join("uac.db");
    let _ = fs::remove_file(&db);
    let mut sql = host().schema("db_sqlite/standard-create.sql");
    sql += &host().schema("db_sqlite/uac-create.sql");
    for r in rows {
        sql += &insert_sql(r);
    }
    sqlite(&db, &sql);
    db
}

/// The harness's folder for a kamailio on `port`.
fn kdir(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("uac-test-{}-{port}", std::process::id()))
}

struct Node {
    k: Kamailio,
    ctl: String,
    fifo: PathBuf,
}

/// Our (or the stock) module with the uacreg cfg; `rows` go into a new DB.
fn start(module: &str, rows: &[Row], extra: &[&str]) -> Node {
    let port = free_port();
    let dir = kdir(port);
    let _ = fs::remove_dir_all(&dir);
    let db = make_db(&dir, rows);
    start_with_db(
        module,
        port,
        "db_sqlite.so",
        &format!("sqlite://{}", db.display()),
        extra,
    )
}

fn start_with_db(module: &str, port: u16, db_module: &str, db_url: &str, extra: &[&str]) -> Node {
    start_cfg("uacreg.cfg", "", module, port, db_module, db_url, extra)
}

/// The uacreg fixture cfg; a non-empty `tail` (a KEMI engine) replaces its routes.
fn start_cfg(
    fixture: &str,
    tail: &str,
    module: &str,
    port: u16,
    db_module: &str,
    db_url: &str,
    extra: &[&str],
) -> Node {
    let dir = kdir(port);
    fs::create_dir_all(&dir).unwrap();
    let ctl = dir.join("ctl.sock").display().to_string();
    let fifo = dir.join("rpc.fifo");
    let tpl = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture),
    )
    .unwrap();
    // With a KEMI engine the native routes go (the engine would not run otherwise).
    let tpl = if tail.is_empty() {
        tpl
    } else {
        format!("{}{tail}", &tpl[..tpl.find("request_route {").unwrap()])
    };
    let cfg = tpl
        .replace("\"UAC_MODULE\"", &format!("\"{module}\""))
        .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
        .replace("MPATH", mpath())
        .replace("CTL_SOCK", &ctl)
        .replace("RPC_FIFO", &fifo.display().to_string())
        .replace("REPLY_DIR", &format!("{}/", dir.display()))
        .replace("DB_URL", db_url)
        .replace("DB_MODULE", db_module)
        .replace("CONTACT_ADDR", &format!("127.0.0.1:{port}"))
        .replace(
            "EXTRA_PARAMS",
            &extra
                .iter()
                .map(|l| {
                    if l.starts_with("#!") {
                        format!("{l}\n")
                    } else {
                        format!("modparam(\"uac\", {l})\n")
                    }
                })
                .collect::<String>(),
        );
    let k = Kamailio::start_with(&cfg, port);
    Node {
        k,
        ctl: format!("unix:{ctl}"),
        fifo,
    }
}

impl Node {
    fn db(&self) -> PathBuf {
        self.k.dir.join("uac.db")
    }

    fn kamcmd(&self, args: &[&str]) -> String {
        kamcmd_at(&host().kamcmd, &self.ctl, args)
    }

    fn stat(&self, name: &str) -> i64 {
        let out = self.kamcmd(&["stats.get_statistics", "uac:"]);
        out.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("uac:{name} = ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter {name} in: {out}"))
    }

    /// Waits up to `secs` for counter `name` to equal `v`.
    fn wait_stat(&self, name: &str, v: i64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.stat(name);
            if got == v {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "uac:{name} = {got}, expected {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One jsonrpcs call through the FIFO; the reply text.
    fn jsonrpc(&self, method: &str, params: &str) -> String {
        let reply = format!("r{}", rand_tag());
        let rpath = self.k.dir.join(&reply);
        assert!(Command::new("mkfifo")
            .arg(&rpath)
            .status()
            .unwrap()
            .success());
        let req = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\",\"params\":{params},\"reply_name\":\"{reply}\",\"id\":1}}\n"
        );
        fs::write(&self.fifo, req).unwrap();
        let out = fs::read_to_string(&rpath).unwrap();
        let _ = fs::remove_file(&rpath);
        out.replace(['\t', ' ', '\n'], "")
    }

    fn info(&self, uuid: &str) -> String {
        self.kamcmd(&["uac.reg_info", "l_uuid", uuid])
    }
}

/// The field names of each structure, in order.
fn field_names(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().split_once(':').map(|(n, _)| n.to_string()))
        .collect()
}

/// sipp as registrar with the verifyauth scenario; its message log.
struct SippRegistrar {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl SippRegistrar {
    fn start(granted: u32) -> SippRegistrar {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("uac-sipp-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let sf = dir.join("registrar.xml");
        let tpl = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registrar-verifyauth.xml"),
        )
        .unwrap();
        fs::write(&sf, tpl.replace("GRANTED", &granted.to_string())).unwrap();
        let log = dir.join("messages.log");
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(&sf)
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "10000"])
            .args(["-nostdin", "-trace_msg", "-message_file"])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp (package sip-tester)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(Instant::now() < deadline, "sipp not listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        SippRegistrar { child, log, port }
    }

    /// REGISTER requests sipp received, as text.
    fn registers(&self) -> Vec<String> {
        let s = fs::read_to_string(&self.log)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        s.split("\n\n")
            .filter(|b| b.trim_start().starts_with("REGISTER "))
            .map(|b| b.to_string())
            .collect()
    }
}

impl Drop for SippRegistrar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn registers_through_sipp_verifyauth_refreshes_and_skips_bad_rows() {
    let reg = SippRegistrar::start(6);
    let p = reg.port;
    let mut bad_user = row("bad_user", "", p);
    bad_user.ruser = "x";
    let mut bad_proxy = row("bad_proxy", "bp", p);
    bad_proxy.proxy = "http://nowhere".into();
    let mut bad_expires = row("bad_expires", "be", p);
    bad_expires.expires = -5;
    let mut bad_socket = row("bad_socket", "bs", p);
    bad_socket.socket = "udp:127.0.0.1";
    let mut bad_ha1 = row("bad_ha1", "bh", p);
    bad_ha1.ha1 = "12345";
    let mut bad_domain = row("bad_domain", "bd", p);
    bad_domain.rdomain = "reg example".into();
    let long = "x".repeat(1025);
    let bad_long = row(&long, "bl", p);
    let rows = vec![
        row("u1", "alice", p),
        row("u2", "bob", p),
        bad_user,
        bad_proxy,
        bad_expires,
        bad_socket,
        bad_ha1,
        bad_domain,
        bad_long,
    ];
    let n = start(&our_module(), &rows, &["\"reg_timer_interval\", 1"]);
    n.wait_stat("regactive", 2, 10);
    assert_eq!(n.stat("regtotal"), 2);
    assert_eq!(n.stat("regdisabled"), 0);
    let log = n.k.log();
    for u in [
        "bad_user",
        "bad_proxy",
        "bad_expires",
        "bad_socket",
        "bad_ha1",
        "bad_domain",
    ] {
        assert_eq!(
            log.matches(&format!("l_uuid '{u}' skipped")).count(),
            1,
            "one line for {u}:\n{log}"
        );
    }
    assert!(log.contains("2 loaded, 7 skipped"), "{log}");

    // the stock headers
    let first = reg
        .registers()
        .into_iter()
        .find(|r| r.contains("<sip:u1@"))
        .expect("a REGISTER for u1");
    let m = Msg::parse(&first.replace('\n', "\r\n"));
    assert_eq!(m.first, format!("REGISTER sip:127.0.0.1:{p} SIP/2.0"));
    assert_eq!(angle_uri(m.hdr("To")), format!("sip:alice@127.0.0.1:{p}"));
    assert_eq!(angle_uri(m.hdr("From")), format!("sip:alice@127.0.0.1:{p}"));
    assert_eq!(m.hdr("Contact"), format!("<sip:u1@127.0.0.1:{}>", n.k.port));
    assert_eq!(m.hdr("Expires"), "60");

    // granted 6 s of the 60 asked: refreshed (with a new challenge answered)
    // before it expires
    let info = n.info("u1");
    assert_eq!(field(&info, "flags"), "20", "{info}");
    assert_eq!(field(&info, "expires"), "60");
    let diff: i64 = field(&info, "diff_expires").parse().unwrap();
    assert!((0..=6).contains(&diff), "{info}");
    let authed = |r: &Vec<String>| {
        r.iter()
            .filter(|x| x.contains("<sip:u1@") && x.contains("Authorization: Digest"))
            .count()
    };
    wait_until(12, "a refresh of u1", || authed(&reg.registers()) >= 2);
    assert_eq!(n.stat("regactive"), 2, "still registered while refreshing");
    assert_eq!(n.kamcmd(&["uac.reg_dump"]).matches("l_uuid:").count(), 2);
}

thread_local! {
    /// Via branches already seen: UDP retransmissions are not new requests.
    static SEEN: std::cell::RefCell<std::collections::HashSet<String>> = Default::default();
}

/// A scripted registrar: the test answers each REGISTER itself.
fn expect_register(peer: &Peer, what: &str) -> Msg {
    loop {
        let m = peer
            .recv_within(12)
            .unwrap_or_else(|| panic!("no REGISTER ({what})"));
        assert_eq!(m.method(), "REGISTER", "{what}: {}", m.raw);
        if SEEN.with(|s| s.borrow_mut().insert(m.hdr("Via").to_string())) {
            return m;
        }
    }
}

fn ok_for(req: &Msg, granted: u32) -> String {
    format!("Contact: {};expires={granted}\r\n", req.hdr("Contact"))
}

#[test]
fn interval_too_brief_failure_retry_and_rpc() {
    let peer = Peer::new();
    let p = peer.port;
    let n = start(
        &our_module(),
        &[row("u1", "alice", p)],
        &["\"reg_retry_interval\", 1", "\"reg_timer_interval\", 1"],
    );
    // the registrar is down (no answer): tm's 408, retried as a new request
    let r = expect_register(&peer, "first");
    let first_callid = r.hdr("Call-ID").to_string();
    let r = expect_register(&peer, "retry after no answer");
    assert_ne!(r.hdr("Call-ID"), first_callid);
    // 423 with Min-Expires: asked again with it
    assert_eq!(r.hdr("Expires"), "60");
    reply_with(&peer, &r, 423, "Min-Expires: 120\r\n");
    let r = expect_register(&peer, "after 423");
    assert_eq!(r.hdr("Expires"), "120");
    // a failure: retried after reg_retry_interval, doubled for the second
    // failure in a row
    reply_with(&peer, &r, 503, "");
    let t503 = Instant::now();
    let r = expect_register(&peer, "retry after 503");
    assert!(t503.elapsed() >= Duration::from_millis(900));
    // the challenge, answered with the row's password (checked here)
    reply_with(
        &peer,
        &r,
        401,
        "WWW-Authenticate: Digest realm=\"peer.test\", nonce=\"n0nce1\", qop=\"auth\"\r\n",
    );
    let r2 = expect_register(&peer, "with credentials");
    assert_eq!(r2.hdr("Call-ID"), r.hdr("Call-ID"));
    let a = r2.hdr("Authorization").to_string();
    let uri = format!("sip:127.0.0.1:{p}");
    let want = md5_qop_auth_response(&a, "alice:peer.test:secret", "REGISTER", &uri, "n0nce1");
    assert_eq!(auth_param(&a, "response"), want, "{a}");
    assert_eq!(auth_param(&a, "uri"), format!("sip:127.0.0.1:{p}"));
    // a 200 without Contact is a failure: retried
    reply_with(&peer, &r2, 200, "");
    let r = expect_register(&peer, "retry after a 200 without Contact");
    // a broken challenge (no nonce) is a failure: retried
    reply_with(
        &peer,
        &r,
        401,
        "WWW-Authenticate: Digest realm=\"peer.test\"\r\n",
    );
    let r = expect_register(&peer, "retry after a broken challenge");
    assert!(r.all("Authorization").is_empty());
    reply_with(&peer, &r, 200, &ok_for(&r, 100));
    n.wait_stat("regactive", 1, 5);
    let info = n.info("u1");
    assert_eq!(field(&info, "flags"), "20", "{info}");
    assert_eq!(field(&info, "expires"), "120");

    // RPC faults as stock
    assert!(n.kamcmd(&["uac.reg_info", "foo", "bar"]).contains("400"));
    assert!(n
        .kamcmd(&["uac.reg_info", "l_uuid", "nope"])
        .contains("404"));
    assert!(n.kamcmd(&["uac.reg_info", "l_uuid"]).contains("error"));
    assert!(n.kamcmd(&["uac.reg_remove"]).contains("error"));
    // by another index
    assert_eq!(
        field(
            &n.kamcmd(&["uac.reg_info", "r_username", "alice"]),
            "l_uuid"
        ),
        "u1"
    );
    assert_eq!(
        field(
            &n.kamcmd(&["uac.reg_info", "l_username", "alice"]),
            "l_uuid"
        ),
        "u1"
    );

    // disable / enable
    n.kamcmd(&["uac.reg_disable", "l_uuid", "u1"]);
    assert_eq!(n.stat("regdisabled"), 1);
    assert_eq!(field(&n.info("u1"), "flags").parse::<i32>().unwrap() & 1, 1);
    n.kamcmd(&["uac.reg_enable", "l_uuid", "u1"]);
    assert_eq!(n.stat("regdisabled"), 0);
    let r = expect_register(&peer, "after reg_enable");
    reply_with(&peer, &r, 200, &ok_for(&r, 100));

    // unregister
    n.kamcmd(&["uac.reg_unregister", "l_uuid", "u1"]);
    let r = expect_register(&peer, "unregister");
    assert_eq!(r.hdr("Expires"), "0");
    reply_with(&peer, &r, 200, "");
    n.wait_stat("regactive", 0, 5);

    // add and remove over RPC (kamcmd), info over jsonrpcs
    let reg_dom = format!("127.0.0.1:{p}");
    let proxy = format!("sip:127.0.0.1:{p}");
    let add_u7 = [
        "uac.reg_add",
        "u7",
        "carol",
        "local.test",
        "carol",
        &reg_dom,
        "x.test",
        "carol",
        "pw7",
        ".",
        &proxy,
        "60",
        "0",
        "0",
        ".",
        ".",
    ];
    let out = n.kamcmd(&add_u7);
    assert!(!out.contains("error"), "{out}");
    // the same again: the uuid is taken
    assert!(n.kamcmd(&add_u7).contains("409"));
    let r = expect_register(&peer, "added record");
    assert!(r.hdr("Contact").contains("<sip:u7@"));
    reply_with(&peer, &r, 200, &ok_for(&r, 100));
    n.wait_stat("regactive", 1, 5);
    assert_eq!(n.stat("regtotal"), 2);
    let j = n.jsonrpc("uac.reg_info", "[\"l_uuid\",\"u7\"]");
    assert!(j.contains("\"l_uuid\":\"u7\""), "{j}");
    assert!(j.contains("\"flags\""), "{j}");
    let j = n.jsonrpc("uac.reg_info", "[\"l_uuid\",\"nope\"]");
    assert!(j.contains("404"), "{j}");
    n.kamcmd(&["uac.reg_remove", "u7"]);
    assert_eq!(n.stat("regtotal"), 1);
    assert_eq!(n.stat("regactive"), 0);
    let out = n.kamcmd(&["uac.reg_active", "0"]);
    assert_eq!(field(&out, "omode"), "1");
    assert_eq!(field(&out, "nmode"), "0");
    let j = n.jsonrpc("uac.reg_active", "[1]");
    assert!(j.contains("omode"), "{j}");
    assert!(peer.quiet(500));
}

#[test]
fn reload_keeps_unchanged_rows_and_unregisters_removed_ones() {
    let peer = Peer::new();
    let p = peer.port;
    let rows = [row("u1", "a1", p), row("u2", "a2", p), row("u3", "a3", p)];
    let n = start(&our_module(), &rows, &["\"reg_timer_interval\", 1"]);
    for _ in 0..3 {
        let r = expect_register(&peer, "initial");
        reply_with(&peer, &r, 200, &ok_for(&r, 600));
    }
    n.wait_stat("regactive", 3, 5);
    sqlite(
        &n.db(),
        &format!(
            "UPDATE uacreg SET expires=300 WHERE l_uuid='u1'; DELETE FROM uacreg WHERE l_uuid='u2';\n{}",
            insert_sql(&row("u4", "a4", p))
        ),
    );
    let out = n.kamcmd(&["uac.reg_reload"]);
    assert!(!out.contains("error"), "{out}");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = expect_register(&peer, "after reload");
        let c = angle_uri(r.hdr("Contact")).to_string();
        seen.push(format!("{c} {}", r.hdr("Expires")));
        reply_with(&peer, &r, 200, &ok_for(&r, 600));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            format!("sip:u1@127.0.0.1:{} 300", n.k.port),
            format!("sip:u2@127.0.0.1:{} 0", n.k.port),
            format!("sip:u4@127.0.0.1:{} 60", n.k.port),
        ]
    );
    assert!(peer.quiet(1500), "u3 unchanged: not sent again");
    assert_eq!(n.stat("regtotal"), 3);
    n.wait_stat("regactive", 3, 5);
    // uac.reg_refresh: one row again from the DB
    sqlite(&n.db(), "UPDATE uacreg SET expires=200 WHERE l_uuid='u3';");
    n.kamcmd(&["uac.reg_refresh", "u3"]);
    let r = expect_register(&peer, "after reg_refresh");
    assert_eq!(r.hdr("Expires"), "200");
    reply_with(&peer, &r, 200, &ok_for(&r, 600));
    assert!(n.kamcmd(&["uac.reg_refresh", "nope"]).contains("404"));
}

fn options(peer: &Peer, kport: u16, user: &str, extra: &[String]) -> Msg {
    let cid = format!("c{}", rand_tag());
    peer.send(
        kport,
        &request(
            "OPTIONS",
            &format!("sip:{user}@127.0.0.1:{kport}"),
            peer.port,
            &format!("<sip:t@127.0.0.1:{}>;tag={}", peer.port, rand_tag()),
            &format!("<sip:{user}@127.0.0.1:{kport}>"),
            &cid,
            1,
            extra,
        ),
    );
    loop {
        let m = peer.recv();
        if m.status().is_some() && m.hdr("Call-ID") == cid {
            return m;
        }
    }
}

/// An OPTIONS to `function`@kamailio: tests/fixtures/uacreg.cfg runs the
/// uac_reg_* function its $rU names, with the (header, value) pairs as arguments.
fn script_fn(peer: &Peer, kport: u16, function: &str, args: &[(&str, &str)]) -> Msg {
    let extra: Vec<String> = args.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    options(peer, kport, function, &extra)
}

/// uac_reg_lookup(uuid), uac_reg_lookup_uri(uri) and uac_reg_status(uuid): the
/// reply's X-A, X-B and X-S ("<result> <rc>", "<result> <rc>", "<rc>").
fn lookup(peer: &Peer, kport: u16, uuid: &str, uri: &str) -> Msg {
    script_fn(peer, kport, "lookup", &[("X-Uuid", uuid), ("X-Uri", uri)])
}

/// uac_reg_request_to(value, mode): the reply's X-R (rc), X-RU ($ru), X-DU
/// ($du) and X-AR/X-AU/X-AP (the credential AVPs).
fn request_to(peer: &Peer, kport: u16, value: &str, mode: &str) -> Msg {
    script_fn(
        peer,
        kport,
        "requestto",
        &[("X-Uuid", value), ("X-Mode", mode)],
    )
}

#[test]
fn script_functions() {
    let reg = Peer::new();
    let p = reg.port;
    let mut r1 = row("u1", "alice", p);
    r1.realm = "realm.test";
    r1.ruser = "ralice";
    let n = start(&our_module(), &[r1], &["\"reg_timer_interval\", 1"]);
    let r = expect_register(&reg, "initial");
    reply_with(&reg, &r, 200, &ok_for(&r, 600));
    n.wait_stat("regactive", 1, 5);
    let ua = Peer::new();
    let kp = n.k.port;
    let m = lookup(&ua, kp, "u1", "sip:alice@local.test");
    assert_eq!(m.hdr("X-A"), "sip:alice@local.test 1");
    assert_eq!(m.hdr("X-B"), "u1 1");
    assert_eq!(m.hdr("X-S"), "1");
    let m = lookup(&ua, kp, "nope", "sip:nobody@x");
    assert_eq!(m.hdr("X-A"), "none -1");
    assert_eq!(m.hdr("X-B"), "none -1");
    assert_eq!(m.hdr("X-S"), "-1");
    let m = request_to(&ua, kp, "u1", "0");
    assert_eq!(m.hdr("X-R"), "1");
    assert_eq!(m.hdr("X-RU"), format!("sip:ralice@127.0.0.1:{p}"));
    assert_eq!(m.hdr("X-DU"), format!("sip:127.0.0.1:{p}"));
    assert_eq!(m.hdr("X-AR"), "realm.test");
    assert_eq!(m.hdr("X-AU"), "alice");
    assert_eq!(m.hdr("X-AP"), "secret");
    let m = request_to(&ua, kp, "alice", "1");
    assert_eq!(m.hdr("X-R"), "1");
    let m = request_to(&ua, kp, "nope", "0");
    assert_eq!(m.hdr("X-R"), "-1");
    let m = script_fn(&ua, kp, "disable", &[("X-Attr", "l_uuid"), ("X-Val", "u1")]);
    assert_eq!(m.hdr("X-R"), "1");
    assert_eq!(n.stat("regdisabled"), 1);
    let m = lookup(&ua, kp, "u1", "sip:alice@x");
    // still registered at the registrar until it expires
    assert_eq!(m.hdr("X-S"), "1");
    let m = script_fn(
        &ua,
        kp,
        "disable",
        &[("X-Attr", "l_uuid"), ("X-Val", "nope")],
    );
    assert_eq!(m.hdr("X-R"), "-2");
    let m = script_fn(&ua, kp, "disable", &[("X-Attr", "bogus"), ("X-Val", "u1")]);
    assert_eq!(m.hdr("X-R"), "-3");
    let m = script_fn(&ua, kp, "enable", &[("X-Attr", "l_uuid"), ("X-Val", "u1")]);
    assert_eq!(m.hdr("X-R"), "1");
    assert_eq!(n.stat("regdisabled"), 0);
    let r = expect_register(&reg, "after uac_reg_enable");
    reply_with(&reg, &r, 200, &ok_for(&r, 600));
    let m = script_fn(&ua, kp, "refresh", &[("X-Uuid", "nope")]);
    assert_eq!(m.hdr("X-R"), "-1");
    let m = script_fn(&ua, kp, "refresh", &[("X-Uuid", "u1")]);
    assert_eq!(m.hdr("X-R"), "1");
}

/// The RPC output of reg_info and reg_dump has the stock field names in the
/// stock order, and the same flags after a registration.
#[test]
fn rpc_output_shape_matches_stock() {
    let mut outs = Vec::new();
    for module in [our_module(), stock_module()] {
        let peer = Peer::new();
        let n = start(
            &module,
            &[row("u1", "alice", peer.port), row("u2", "bob", peer.port)],
            &["\"reg_timer_interval\", 1"],
        );
        for _ in 0..2 {
            let r = expect_register(&peer, &module);
            reply_with(&peer, &r, 200, &ok_for(&r, 600));
        }
        wait_until(5, "flags 20", || field(&n.info("u1"), "flags") == "20");
        let info = n.info("u1");
        let dump = n.kamcmd(&["uac.reg_dump"]);
        outs.push((
            field_names(&info),
            field_names(&dump),
            field(&info, "flags"),
        ));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0].0.len(), 18);
}

fn sha256_hex(s: &str) -> String {
    use sha2::Sha256;
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stock registrar (registrar + auth + auth_db) in a second Kamailio.
fn stock_registrar(algorithm: &str) -> (Kamailio, String) {
    stock_registrar_with(algorithm, "secret")
}

/// `stock_registrar` with alice's `password`.
fn stock_registrar_with(algorithm: &str, password: &str) -> (Kamailio, String) {
    let port = free_port();
    let dir = kdir(port);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let db = dir.join("auth.db");
    let mut sql = host().schema("db_sqlite/standard-create.sql");
    sql += &host().schema("db_sqlite/auth_db-create.sql");
    // SHA-256: the stored HA1 (auth_db computes MD5 only from a password)
    let (calc, col) = if algorithm == "MD5" {
        ("1", "password")
    } else {
        ("0", "ha1")
    };
    sql += &format!(
        "INSERT INTO subscriber (username, domain, password, ha1) VALUES ('alice', 'registrar.test', {}, '{}');\n",
        q(password),
        sha256_hex(&format!("alice:registrar.test:{password}"))
    );
    sqlite(&db, &sql);
    let ctl = dir.join("ctl.sock").display().to_string();
    let cfg = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registrar.cfg"),
    )
    .unwrap()
    .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
    .replace("MPATH", mpath())
    .replace("CTL_SOCK", &ctl)
    .replace("ALGORITHM", algorithm)
    .replace("DB_URL", &format!("sqlite://{}", db.display()))
    .replace("CALC_HA1", calc)
    .replace("PASSWORD_COLUMN", col);
    (Kamailio::start_with(&cfg, port), format!("unix:{ctl}"))
}

#[test]
fn stock_registrar_md5_with_ha1_and_sha256_with_password() {
    let (md5_reg, md5_ctl) = stock_registrar("MD5");
    let (sha_reg, sha_ctl) = stock_registrar("SHA-256");
    let mut a = row("u1", "alice", md5_reg.port);
    a.password = "";
    let ha1 = md5_hex("alice:registrar.test:secret").to_uppercase();
    a.ha1 = &ha1;
    let b = row("u2", "alice", sha_reg.port);
    let n = start(&our_module(), &[a, b], &["\"reg_timer_interval\", 1"]);
    n.wait_stat("regactive", 2, 10);
    for (ctl, uuid) in [(&md5_ctl, "u1"), (&sha_ctl, "u2")] {
        let out = Command::new(&host().kamcmd)
            .args(["-s", ctl, "ul.dump"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.contains(&format!("sip:{uuid}@127.0.0.1:{}", n.k.port)),
            "{uuid} not in the registrar's location table:\n{out}"
        );
    }
    assert_eq!(field(&n.info("u1"), "flags"), "20");
    assert_eq!(field(&n.info("u2"), "flags"), "20");
}

/// Rows stock uac.so registers that the schema's varchar sizes would refuse:
/// a 600-byte auth_password (an API token), expires 2147483647, an l_uuid,
/// l_username and auth_proxy longer than their columns. Ours and stock both
/// register them at the stock registrar, which verifies the password; ours
/// clamps the expires to one year with one warning naming the row. Rows that
/// cannot work (a control character, a non-URI proxy, an l_uuid too long for
/// a Contact URI) are skipped by ours with one line each.
#[test]
fn long_password_huge_expires_and_long_columns_register_as_with_stock() {
    let token: String = (0..600).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let (registrar, ctl) = stock_registrar_with("MD5", &token);
    let rp = registrar.port;
    let long_uuid = format!("long-{}", "u".repeat(195));
    let long_user = "l".repeat(100);
    let long_proxy = format!("sip:127.0.0.1:{rp};lr;x={}", "p".repeat(300));
    let over = "o".repeat(1025);
    let mut rows = Vec::new();
    for (uuid, user) in [
        ("lpw", "lpw"),
        ("hexp", "hexp"),
        (long_uuid.as_str(), long_user.as_str()),
    ] {
        let mut r = row(uuid, user, rp);
        r.ruser = "alice";
        r.password = &token;
        rows.push(r);
    }
    rows[1].expires = 2147483647;
    rows[2].proxy = long_proxy;
    let mut bad_ctl = row("bad_ctl", "bc", rp);
    bad_ctl.realm = "registrar\u{1}test";
    let mut bad_proxy = row("bad_proxy", "bp", rp);
    bad_proxy.proxy = "http://nowhere".into();
    rows.extend([bad_ctl, bad_proxy, row(&over, "bo", rp)]);
    let registered = [("lpw", "lpw"), ("hexp", "hexp"), (&long_uuid, &long_user)];
    for module in [our_module(), stock_module()] {
        let n = start(&module, &rows, &["\"reg_timer_interval\", 1"]);
        wait_until(15, &format!("{module}: the three rows registered"), || {
            let out = Command::new(&host().kamcmd)
                .args(["-s", &ctl, "ul.dump"])
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&out.stdout);
            registered
                .iter()
                .all(|(u, _)| out.contains(&format!("sip:{u}@127.0.0.1:{}", n.k.port)))
        });
        for (uuid, user) in registered {
            let info = n.info(uuid);
            assert_eq!(field(&info, "flags"), "20", "{module} {uuid}: {info}");
            assert_eq!(field(&info, "l_username"), user);
            assert_eq!(field(&info, "auth_password"), token);
        }
        if module == stock_module() {
            assert_eq!(field(&n.info("hexp"), "expires"), "2147483647");
            continue;
        }
        assert_eq!(field(&n.info("hexp"), "expires"), "31536000");
        assert_eq!(
            field(&n.info(&long_uuid), "auth_proxy"),
            format!("sip:127.0.0.1:{rp};lr;x={}", "p".repeat(300))
        );
        assert_eq!(n.stat("regtotal"), 3);
        let log = n.k.log();
        assert_eq!(
            log.matches("uacreg record l_uuid 'hexp': expires 2147483647 above 31536000, registering with 31536000")
                .count(),
            1,
            "{log}"
        );
        for (u, why) in [
            ("bad_ctl", "control character in column realm"),
            ("bad_proxy", "column auth_proxy: not a sip: or sips: URI"),
            (over.as_str(), "column l_uuid longer than 1024 bytes"),
        ] {
            let line = format!("l_uuid '{}' skipped: {why}", &u[..u.len().min(1024)]);
            assert_eq!(log.matches(&line).count(), 1, "one line for {why}:\n{log}");
        }
        assert!(log.contains("6 rows read, 3 loaded, 3 skipped"), "{log}");
    }
}

/// examples/uac-reg.cfg with examples/uacreg-rows.sql (the `make run
/// EXAMPLE=reg` setup), the registrar moved to a test peer: the enabled rows
/// register, the disabled one does not, and a call to a trunk's l_username goes
/// out through uac_reg_request_to and is authenticated by uac_auth.
#[test]
fn example_cfg_registers_and_routes_through_a_trunk() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reg = Peer::new();
    let p = reg.port;
    let port = free_port();
    let dir = kdir(port);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let db = dir.join("uac.db");
    let mut sql = host().schema("db_sqlite/standard-create.sql");
    sql += &host().schema("db_sqlite/uac-create.sql");
    sql += &fs::read_to_string(root.join("examples/uacreg-rows.sql"))
        .unwrap()
        .replace("127.0.0.1:5080", &format!("127.0.0.1:{p}"));
    sqlite(&db, &sql);
    let ctl = dir.join("kamailio_ctl").display().to_string();
    let cfg = fs::read_to_string(root.join("examples/uac-reg.cfg"))
        .unwrap()
        .replace("\"UAC_MODULE\"", &format!("\"{}\"", our_module()))
        .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
        .replace("MPATH", mpath())
        .replace("DB_URL", &format!("sqlite://{}", db.display()))
        .replace("CONTACT_ADDR", &format!("127.0.0.1:{port}"))
        .replace("CTL_SOCK", &ctl);
    let k = Kamailio::start_with(&cfg, port);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = expect_register(&reg, "example rows");
        seen.push(angle_uri(r.hdr("Contact")).to_string());
        reply_with(&reg, &r, 200, &ok_for(&r, 300));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            format!("sip:trunk1@127.0.0.1:{port}"),
            format!("sip:trunk2@127.0.0.1:{port}")
        ]
    );
    let dump = Command::new(&host().kamcmd)
        .args(["-s", &format!("unix:{ctl}"), "uac.reg_dump"])
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout).to_string();
    assert_eq!(dump.matches("l_uuid:").count(), 3, "{dump}");
    assert!(reg.quiet(500), "the disabled row is not registered");

    // a call to trunk1's local user
    let ua = Peer::new();
    let cid = format!("call-{}", rand_tag());
    ua.send(
        port,
        &request(
            "INVITE",
            "sip:alice@local.example",
            ua.port,
            &format!("<sip:caller@127.0.0.1:{}>;tag={}", ua.port, rand_tag()),
            "<sip:alice@local.example>",
            &cid,
            1,
            &[],
        ),
    );
    let inv = reg.recv();
    assert_eq!(inv.method(), "INVITE");
    assert_eq!(inv.first, format!("INVITE sip:alice@127.0.0.1:{p} SIP/2.0"));
    let chal = reg
        .reply(&inv, 407, "t407", false)
        .replace(
            "Content-Length: 0\r\n",
            "Proxy-Authenticate: Digest realm=\"trunk.test\", nonce=\"abc123\"\r\nContent-Length: 0\r\n",
        );
    reg.send(port, &chal);
    let mut inv2 = reg.recv();
    while inv2.method() == "ACK" {
        inv2 = reg.recv();
    }
    assert_eq!(inv2.method(), "INVITE");
    let a = inv2.hdr("Proxy-Authorization").to_string();
    assert_eq!(auth_param(&a, "username"), "alice");
    let ha1 = md5_hex("alice:trunk.test:secret");
    let ha2 = md5_hex(&format!("INVITE:sip:alice@127.0.0.1:{p}"));
    assert_eq!(
        auth_param(&a, "response"),
        md5_hex(&format!("{ha1}:abc123:{ha2}"))
    );
    drop(k);
}

/// The same uacreg loading through db_postgres (which has fetch_result): good
/// rows register, a bad one is skipped, reload and reg_refresh work.
#[test]
fn postgres_uacreg() {
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE kam;");
    let mut sql = host().schema("postgres/standard-create.sql");
    sql += &host().schema("postgres/uac-create.sql");
    let peer = Peer::new();
    let p = peer.port;
    let mut bad = row("pgbad", "x", p);
    bad.proxy = "nonsense".into();
    for r in [row("u1", "a1", p), row("u2", "a2", p), bad] {
        sql += &insert_sql(&r);
    }
    // NULLs and an l_uuid twice, which the stock schema's constraints forbid
    sql += "ALTER TABLE uacreg ALTER COLUMN l_username DROP NOT NULL;\n\
            ALTER TABLE uacreg ALTER COLUMN expires DROP NOT NULL;\n\
            ALTER TABLE uacreg DROP CONSTRAINT uacreg_l_uuid_idx;\n";
    sql += &insert_sql(&row("pgnull", "x", p));
    sql += "UPDATE uacreg SET l_username = NULL WHERE l_uuid = 'pgnull';\n";
    sql += &insert_sql(&row("u1", "again", p));
    pg.psql("kam", &sql);
    let port = free_port();
    let _ = fs::remove_dir_all(kdir(port));
    let n = start_with_db(
        &our_module(),
        port,
        "db_postgres.so",
        &format!("postgres://postgres@127.0.0.1:{}/kam", pg.port),
        &["\"reg_timer_interval\", 1"],
    );
    for _ in 0..2 {
        let r = expect_register(&peer, "postgres rows");
        reply_with(&peer, &r, 200, &ok_for(&r, 600));
    }
    n.wait_stat("regactive", 2, 5);
    let log = n.k.log();
    assert!(log.contains("l_uuid 'pgbad' skipped"), "{log}");
    assert!(
        log.contains("l_uuid 'pgnull' skipped: empty value not allowed for column l_username"),
        "{log}"
    );
    assert!(
        log.contains("l_uuid 'u1' skipped: l_uuid appears twice"),
        "{log}"
    );
    assert!(log.contains("5 rows read, 2 loaded, 3 skipped"), "{log}");
    pg.psql(
        "kam",
        &format!(
            "UPDATE uacreg SET expires=120 WHERE l_uuid='u2';\n{}",
            insert_sql(&row("u3", "a3", p))
        ),
    );
    let out = n.kamcmd(&["uac.reg_reload"]);
    assert!(!out.contains("error"), "{out}");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = expect_register(&peer, "after reload");
        seen.push(format!(
            "{} {}",
            angle_uri(r.hdr("Contact")),
            r.hdr("Expires")
        ));
        reply_with(&peer, &r, 200, &ok_for(&r, 600));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            format!("sip:u2@127.0.0.1:{port} 120"),
            format!("sip:u3@127.0.0.1:{port} 60")
        ]
    );
    pg.psql("kam", "UPDATE uacreg SET expires=90 WHERE l_uuid='u1';");
    assert!(!n.kamcmd(&["uac.reg_refresh", "u1"]).contains("error"));
    let r = expect_register(&peer, "after reg_refresh");
    assert_eq!(r.hdr("Expires"), "90");
    reply_with(&peer, &r, 200, &ok_for(&r, 600));
    assert_eq!(n.stat("regtotal"), 3);
}

/// reg_refresh_percent (beyond stock): refreshed at that share of the granted
/// expiry (30% of 10 s here, where the stock rule would wait 6 s).
#[test]
fn refresh_at_a_percentage_of_the_granted_expiry() {
    let peer = Peer::new();
    let n = start(
        &our_module(),
        &[row("u1", "alice", peer.port)],
        &["\"reg_timer_interval\", 1", "\"reg_refresh_percent\", 30"],
    );
    let r = expect_register(&peer, "initial");
    reply_with(&peer, &r, 200, &ok_for(&r, 10));
    let t = Instant::now();
    let r = expect_register(&peer, "refresh");
    assert!(
        t.elapsed() < Duration::from_millis(5500),
        "{:?}",
        t.elapsed()
    );
    assert!(r.hdr("Contact").contains("<sip:u1@"));
    reply_with(&peer, &r, 200, &ok_for(&r, 10));
    n.wait_stat("regactive", 1, 3);
}

/// The KEMI exports KSR.uac.uac_reg_* (JavaScript, app_jsdt).
#[test]
fn kemi_reg_functions() {
    let reg = Peer::new();
    let p = reg.port;
    let port = free_port();
    let dir = kdir(port);
    let _ = fs::remove_dir_all(&dir);
    let db = make_db(&dir, &[row("u1", "alice", p)]);
    let js = dir.join("uacreg-kemi.js");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uacreg-kemi.js"),
        &js,
    )
    .unwrap();
    // the request_route block of the fixture is unused with a KEMI engine
    let tail = format!(
        "loadmodule \"app_jsdt.so\"\nmodparam(\"app_jsdt\", \"load\", \"{}\")\ncfgengine \"jsdt\"\n",
        js.display()
    );
    let n = start_cfg(
        "uacreg.cfg",
        &tail,
        &our_module(),
        port,
        "db_sqlite.so",
        &format!("sqlite://{}", db.display()),
        &["\"reg_timer_interval\", 1"],
    );
    let r = expect_register(&reg, "initial");
    reply_with(&reg, &r, 200, &ok_for(&r, 600));
    n.wait_stat("regactive", 1, 5);
    let ua = Peer::new();
    let m = options(&ua, port, "kemi", &["X-Uuid: u1".to_string()]);
    assert_eq!(
        m.hdr("X-K"),
        format!("1 1 sip:alice@local.test 1 u1 1 sip:alice@127.0.0.1:{p} -1 1 1 1 1")
    );
}

/// The number of a request's CSeq.
fn cseq_of(m: &Msg) -> u32 {
    m.hdr("CSeq")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no CSeq number in:\n{}", m.raw))
}

/// Challenges the next REGISTER and accepts the authenticated one for
/// `granted` s. (the first, the authenticated one)
fn challenge_then_accept(peer: &Peer, what: &str, granted: u32) -> (Msg, Msg) {
    let r = expect_register(peer, what);
    assert!(r.all("Authorization").is_empty(), "{what}: {}", r.raw);
    reply_with(
        peer,
        &r,
        401,
        "WWW-Authenticate: Digest realm=\"peer.test\", nonce=\"n0nce\", qop=\"auth\"\r\n",
    );
    let a = expect_register(peer, &format!("{what}, with credentials"));
    assert!(!a.all("Authorization").is_empty(), "{what}: {}", a.raw);
    // the answer goes in the challenge's Call-ID, one CSeq on
    assert_eq!(a.hdr("Call-ID"), r.hdr("Call-ID"), "{what}");
    assert_eq!(cseq_of(&a), cseq_of(&r) + 1, "{what}");
    reply_with(peer, &a, 200, &ok_for(&a, granted));
    (r, a)
}

/// reg_keep_callid 1: a refresh goes in the Call-ID of the last 200 with the
/// next CSeq (RFC 3261 10.2.4), challenged or not; after a failure a new
/// Call-ID starts.
#[test]
fn keep_callid_refreshes_in_the_same_call_id_with_rising_cseq() {
    let peer = Peer::new();
    let n = start(
        &our_module(),
        &[row("u1", "alice", peer.port)],
        &[
            "\"reg_keep_callid\", 1",
            "\"reg_timer_interval\", 1",
            "\"reg_retry_interval\", 1",
        ],
    );
    // granted 4 s: refreshed after 2
    let (_, a1) = challenge_then_accept(&peer, "first", 4);
    let (r2, a2) = challenge_then_accept(&peer, "first refresh", 4);
    assert_eq!(r2.hdr("Call-ID"), a1.hdr("Call-ID"), "{}", r2.raw);
    assert_eq!(cseq_of(&r2), cseq_of(&a1) + 1);
    // a refresh accepted without a challenge
    let r3 = expect_register(&peer, "second refresh");
    assert_eq!(r3.hdr("Call-ID"), a2.hdr("Call-ID"));
    assert_eq!(cseq_of(&r3), cseq_of(&a2) + 1);
    assert!(r3.all("Authorization").is_empty());
    reply_with(&peer, &r3, 200, &ok_for(&r3, 4));
    let r4 = expect_register(&peer, "third refresh");
    assert_eq!(r4.hdr("Call-ID"), r3.hdr("Call-ID"));
    assert_eq!(cseq_of(&r4), cseq_of(&r3) + 1);
    assert!(!angle_uri(r4.hdr("From")).is_empty() && !r4.tag("From").is_empty());
    // a failure: the retry is a new registration (new Call-ID)
    reply_with(&peer, &r4, 503, "");
    let (r5, _) = challenge_then_accept(&peer, "retry after 503", 600);
    assert_ne!(r5.hdr("Call-ID"), r4.hdr("Call-ID"));
    n.wait_stat("regactive", 1, 5);
}

/// reg_keep_callid 0 (stock): every refresh is a new tm request, so a new
/// Call-ID and tm's first CSeq again.
#[test]
fn without_keep_callid_each_refresh_has_a_new_call_id() {
    let peer = Peer::new();
    let n = start(
        &our_module(),
        &[row("u1", "alice", peer.port)],
        &["\"reg_timer_interval\", 1"],
    );
    let (r1, a1) = challenge_then_accept(&peer, "first", 4);
    let (r2, a2) = challenge_then_accept(&peer, "first refresh", 4);
    assert_ne!(r2.hdr("Call-ID"), a1.hdr("Call-ID"));
    assert_eq!(cseq_of(&r2), cseq_of(&r1), "{}", r2.raw);
    let r3 = expect_register(&peer, "second refresh");
    assert_ne!(r3.hdr("Call-ID"), a2.hdr("Call-ID"));
    assert_ne!(r3.hdr("Call-ID"), r2.hdr("Call-ID"));
    assert_eq!(cseq_of(&r3), cseq_of(&r1));
    reply_with(&peer, &r3, 200, &ok_for(&r3, 600));
    n.wait_stat("regactive", 1, 5);
}

/// reg_use_domain: uac_reg_lookup_uri and uac_reg_request_to (mode 1) tell
/// two rows with the same l_username apart by l_domain; without it they
/// match the l_username alone (request_to: the bare l_username).
#[test]
fn use_domain_lookups_by_username_and_domain() {
    let reg = Peer::new();
    let p = reg.port;
    let mut a = row("ua", "alice", p);
    a.domain = "a.test";
    a.ruser = "ra";
    let mut b = row("ub", "alice", p);
    b.domain = "b.test";
    b.ruser = "rb";
    let ua = Peer::new();
    {
        let n = start(
            &our_module(),
            &[a, b],
            &["\"reg_use_domain\", 1", "\"reg_active\", 0"],
        );
        let kp = n.k.port;
        for (uuid, uri, want_a, want_b) in [
            ("ua", "sip:alice@a.test", "sip:alice@a.test 1", "ua 1"),
            ("ub", "sip:alice@b.test", "sip:alice@b.test 1", "ub 1"),
            (
                "ub",
                "sip:alice@b.test:5060;transport=udp",
                "sip:alice@b.test 1",
                "ub 1",
            ),
            ("nope", "sip:alice@c.test", "none -1", "none -1"),
            ("nope", "sip:bob@a.test", "none -1", "none -1"),
        ] {
            let m = lookup(&ua, kp, uuid, uri);
            assert_eq!(m.hdr("X-A"), want_a, "{uuid}");
            assert_eq!(m.hdr("X-B"), want_b, "{uri}");
        }
        for (src, want_r, want_ru) in [
            ("sip:alice@a.test", "1", format!("sip:ra@127.0.0.1:{p}")),
            ("sip:alice@b.test", "1", format!("sip:rb@127.0.0.1:{p}")),
            ("sip:alice@c.test", "-1", String::new()),
            ("alice", "-2", String::new()),
        ] {
            let m = request_to(&ua, kp, src, "1");
            assert_eq!(m.hdr("X-R"), want_r, "{src}");
            if want_r == "1" {
                assert_eq!(m.hdr("X-RU"), want_ru, "{src}");
            }
        }
        assert!(reg.quiet(300), "reg_active 0: nothing sent");
    }
    let mut a = row("ua", "alice", p);
    a.domain = "a.test";
    let n = start(&our_module(), &[a], &["\"reg_active\", 0"]);
    let kp = n.k.port;
    // the domain is not compared
    let m = lookup(&ua, kp, "ua", "sip:alice@c.test");
    assert_eq!(m.hdr("X-B"), "ua 1");
    // request_to mode 1 takes the value as the l_username itself
    let m = request_to(&ua, kp, "alice", "1");
    assert_eq!(m.hdr("X-R"), "1");
    let m = request_to(&ua, kp, "sip:alice@a.test", "1");
    assert_eq!(m.hdr("X-R"), "-1");
}

/// reg_delay: a row's first REGISTER does not leave before its delay;
/// reg_random_delay gives rows without one a random delay below it (shown
/// by uac.reg_info), and leaves the explicit one alone.
#[test]
fn reg_delay_and_random_delay_hold_the_first_register_back() {
    let peer = Peer::new();
    let p = peer.port;
    let mut d = row("delayed", "d", p);
    d.reg_delay = 4;
    let rows = [
        d,
        row("r1", "a1", p),
        row("r2", "a2", p),
        row("r3", "a3", p),
    ];
    let t0 = Instant::now();
    let n = start(
        &our_module(),
        &rows,
        &["\"reg_random_delay\", 100000", "\"reg_timer_interval\", 1"],
    );
    assert_eq!(field(&n.info("delayed"), "reg_delay"), "4");
    let delays: Vec<i64> = ["r1", "r2", "r3"]
        .iter()
        .map(|u| field(&n.info(u), "reg_delay").parse().unwrap())
        .collect();
    assert!(delays.iter().all(|d| (0..100000).contains(d)), "{delays:?}");
    assert!(delays.iter().any(|&d| d != delays[0]), "random: {delays:?}");
    // the load second is at or after t0's: due 4 s later, so not before 3 s
    let r = expect_register(&peer, "the delayed row");
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "sent after {:?}",
        t0.elapsed()
    );
    assert!(r.hdr("Contact").contains("<sip:delayed@"), "{}", r.raw);
    reply_with(&peer, &r, 200, &ok_for(&r, 600));
    n.wait_stat("regactive", 1, 5);
    let soonest = *delays.iter().min().unwrap() as u64;
    if soonest > 8 {
        assert!(peer.quiet(2000), "the random-delay rows wait");
        assert_eq!(field(&n.info("r1"), "flags"), "0");
    }
}

/// A registrar answering 200 with an absurd expiry: 0, negative or
/// unreadable is a failure (retried after reg_retry_interval); a huge one is
/// clamped to what was asked. The other account is not touched.
#[test]
fn absurd_expires_in_200_fails_or_clamps_and_retries() {
    let peer = Peer::new();
    let p = peer.port;
    let n = start(
        &our_module(),
        &[row("good", "g", p), row("victim", "v", p)],
        &["\"reg_retry_interval\", 1", "\"reg_timer_interval\", 1"],
    );
    // (what, Contact parameters, extra header)
    let steps = [
        ("expires=0", ";expires=0", ""),
        ("expires=-5", ";expires=-5", ""),
        ("Expires: never", "", "Expires: never\r\n"),
        ("Expires: -1", "", "Expires: -1\r\n"),
        (
            "expires=99999999999999999999",
            ";expires=99999999999999999999",
            "",
        ),
    ];
    let mut good = 0;
    let mut step = 0;
    while step < steps.len() {
        let r = expect_register(&peer, steps[step].0);
        if r.hdr("Contact").contains("<sip:good@") {
            good += 1;
            reply_with(&peer, &r, 200, &ok_for(&r, 600));
            continue;
        }
        assert!(r.hdr("Contact").contains("<sip:victim@"), "{}", r.raw);
        assert_eq!(r.hdr("Expires"), "60");
        let (what, params, extra) = steps[step];
        let body = format!("Contact: {}{params}\r\n{extra}", r.hdr("Contact"));
        reply_with(&peer, &r, 200, &body);
        step += 1;
        if step < steps.len() {
            let log = "registration of 'victim' failed";
            let want = step;
            wait_until(5, what, || n.k.log().matches(log).count() >= want);
            let flags: i32 = field(&n.info("victim"), "flags").parse().unwrap();
            assert_eq!(flags & 4, 0, "{what}: not registered");
            assert_eq!(n.stat("regactive"), 1, "{what}");
        }
    }
    assert_eq!(good, 1, "the good account registered once, not again");
    // the huge one: registered, for no more than was asked
    n.wait_stat("regactive", 2, 5);
    let info = n.info("victim");
    assert_eq!(field(&info, "flags"), "20", "{info}");
    let diff: i64 = field(&info, "diff_expires").parse().unwrap();
    assert!((0..=60).contains(&diff), "{info}");
    assert_eq!(field(&n.info("good"), "flags"), "20");
    assert_eq!(n.stat("regdisabled"), 0);
    assert!(peer.quiet(1500), "nothing else sent");
}

/// SQLite pages carry the text columns packed into one value: NULLs, empty
/// values and values with quotes, colons and the packing's own letters come
/// through as they are in the table.
#[test]
fn sqlite_rows_with_nulls_and_odd_text_load_as_they_are() {
    let port = free_port();
    let dir = kdir(port);
    let _ = fs::remove_dir_all(&dir);
    let mut odd = row("u1", "alice", 9);
    odd.realm = "re:al'm T3:xN";
    // the Debian schema without its NOT NULL constraints (as an old or
    // hand-made table may be)
    fs::create_dir_all(&dir).unwrap();
    let db = dir.join("uac.db");
    let mut sql = host().schema("db_sqlite/standard-create.sql");
    sql += &host()
        .schema("db_sqlite/uac-create.sql")
        .replace("NOT NULL", "");
    for r in [
        odd,
        row("u2", "bob", 9),
        row("u3", "carol", 9),
        row("u4", "dave", 9),
    ] {
        sql += &insert_sql(&r);
    }
    sqlite(&db, &sql);
    sqlite(
        &db,
        "UPDATE uacreg SET realm=NULL, auth_ha1=NULL, contact_addr=NULL, socket=NULL WHERE l_uuid='u2';\n\
         UPDATE uacreg SET l_username=NULL WHERE l_uuid='u3';\n\
         UPDATE uacreg SET r_username=42 WHERE l_uuid='u4';\n",
    );
    let n = start_with_db(
        &our_module(),
        port,
        "db_sqlite.so",
        &format!("sqlite://{}", db.display()),
        &["\"reg_active\", 0"],
    );
    n.wait_stat("regtotal", 3, 5);
    let i1 = n.info("u1");
    assert_eq!(field(&i1, "realm"), "re:al'm T3:xN", "{i1}");
    assert_eq!(field(&i1, "l_username"), "alice");
    assert_eq!(field(&i1, "auth_password"), "secret");
    assert_eq!(field(&i1, "expires"), "60");
    let i2 = n.info("u2");
    assert_eq!(field(&i2, "realm"), "", "{i2}");
    assert_eq!(field(&i2, "contact_addr"), format!("127.0.0.1:{port}"));
    assert_eq!(field(&i2, "r_domain"), "127.0.0.1:9");
    assert_eq!(field(&n.info("u4"), "r_username"), "42");
    let log = n.k.log();
    assert_eq!(
        log.matches("l_uuid 'u3' skipped").count(),
        1,
        "one line for the NULL l_username:\n{log}"
    );
}

// ---- Kamailio 6.x: send now, uac.reg_register, reload_delta ----

/// The modules a 6.x item is compared on: ours, and on 6.1 the stock one
/// (5.6.3's has none of them; ours exports them on 5.6 too).
fn ours_and_stock_61() -> Vec<String> {
    let mut m = vec![our_module()];
    if host().is_61() {
        m.push(stock_module());
    }
    m
}

/// uac_reg_send_register / uac_reg_send_unregister send at once (with
/// reg_active 0 nothing else leaves), find the row by a filter, return 1 or
/// -1; the unregister's expires 0 stays (stock's quirk: the next send
/// unregisters again); uac.reg_register sends too and gives stock's faults.
#[test]
fn send_register_now_and_reg_register() {
    for module in ours_and_stock_61() {
        let reg = Peer::new();
        let a = Peer::new();
        let n = start(
            &module,
            &[row("u1", "alice", reg.port)],
            &["\"reg_active\", 0", "#!define WITH_SEND_NOW"],
        );
        assert!(
            reg.quiet(400),
            "{module}: reg_active 0, yet a REGISTER left"
        );
        let send = |what: &str, attr: &str, val: &str| {
            let r = options(
                &a,
                n.k.port,
                what,
                &[format!("X-Attr: {attr}"), format!("X-Val: {val}")],
            );
            r.hdr("X-R").to_string()
        };
        assert_eq!(send("sendreg", "l_uuid", "u1"), "1", "{module}");
        let m = expect_register(&reg, "uac_reg_send_register");
        assert_eq!(m.hdr("Expires"), "60", "{module}");
        reply_with(&reg, &m, 200, &ok_for(&m, 60));
        assert_eq!(send("sendunreg", "r_username", "alice"), "1", "{module}");
        let m = expect_register(&reg, "uac_reg_send_unregister");
        assert_eq!(m.hdr("Expires"), "0", "{module}");
        reply_with(&reg, &m, 200, "");
        assert_eq!(send("sendreg", "l_uuid", "nope"), "-1", "{module}");
        assert_eq!(send("sendreg", "realm", "x"), "-1", "{module}");
        assert_eq!(n.k.wait_log("Record not found", 1), 1, "{module}");
        assert_eq!(
            n.k.wait_log("Unsupported filter attribute", 1),
            1,
            "{module}"
        );
        // uac.reg_register: faults, then a REGISTER, still with expires 0
        assert!(n
            .kamcmd(&["uac.reg_register", "l_uuid", "nope"])
            .contains("404"));
        assert!(n.kamcmd(&["uac.reg_register", "foo", "u1"]).contains("400"));
        assert!(n.kamcmd(&["uac.reg_register", "l_uuid"]).contains("error"));
        let out = n.kamcmd(&["uac.reg_register", "l_uuid", "u1"]);
        assert!(!out.contains("error"), "{module}: {out}");
        let m = expect_register(&reg, "uac.reg_register");
        assert_eq!(
            m.hdr("Expires"),
            "0",
            "{module}: the unregister's expires stays"
        );
        reply_with(&reg, &m, 200, "");
        assert!(reg.quiet(300), "{module}");
    }
}

/// uac.reg_reload twice in a row: 6.x (stock and ours) refuse the second
/// within reload_delta (default 30 s) with stock's fault, 0 lifts the
/// limit; on 5.6 ours has no limit unless reload_delta is set.
#[test]
fn reload_delta_limits_reloads() {
    let reload_twice = |module: &str, extra: &[&str]| {
        let reg = Peer::new();
        let n = start(module, &[row("u1", "alice", reg.port)], extra);
        let first = n.kamcmd(&["uac.reg_reload"]);
        assert!(!first.contains("error"), "{module}: {first}");
        n.kamcmd(&["uac.reg_reload"])
    };
    for module in ours_and_stock_61() {
        let second = reload_twice(&module, &[]);
        if host().is_61() {
            assert!(
                second.contains("500") && second.contains("Failed to shift records"),
                "{module}: {second}"
            );
        } else {
            assert!(!second.contains("error"), "{module}: {second}");
        }
        if host().is_61() {
            let second = reload_twice(&module, &["\"reload_delta\", 0"]);
            assert!(!second.contains("error"), "{module}: {second}");
        }
    }
    let second = reload_twice(&our_module(), &["\"reload_delta\", 30"]);
    assert!(second.contains("Failed to shift records"), "{second}");
}
