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
            ("binding_params", q(";reg-id=1;+sip.instance=\"<urn:uuid:1>\"")),
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
    assert!(!o.log().contains("ERROR"), "{what}:\n{}", o.log());
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
    assert!(ours[0].starts_with("REGISTER sip:registrar.example.com SIP/2.0\n"), "{}", ours[0]);
    assert!(ours[0].contains("\nFrom: <sip:admin@example.com>;tag=<tag>\n"), "{}", ours[0]);
    assert!(ours[0].contains("\nTo: <sip:alice@example.com>\n"), "{}", ours[0]);
    assert!(
        ours[0].contains(
            "\nContact: <sip:alice@127.0.0.1:<ua>>;reg-id=1;+sip.instance=\"<urn:uuid:1>\";expires=3600\n"
        ),
        "{}",
        ours[0]
    );
    assert!(ours[0].contains("\nVia: SIP/2.0/UDP 127.0.0.1:<ua>\n"), "forced socket: {}", ours[0]);
    for (i, m) in ours.iter().enumerate() {
        assert!(m.contains(&format!("\nCSeq: {} REGISTER\n", i + 1)), "{m}");
    }
    assert!(ours[1].contains("\nAuthorization: Digest username=\"alice\", realm=\"example.com\""), "{}", ours[1]);
    assert!(ours[1].contains("uri=\"sip:registrar.example.com\""), "{}", ours[1]);
    for (i, g) in got.iter().enumerate().skip(1) {
        assert_eq!(ours, g, "run {i} differs from ours with our uac_auth");
    }
}
