//! OpenSIPS 3.6.8's `auth` module, ours beside stock: the stock auth_db
//! over a SQLite subscriber table bound to each, driven by a digest client
//! in the test (every algorithm, replays, hostile headers); the mixed pair
//! (stock issues, ours verifies, and back); two nodes sharing the nonce
//! index through the clusterer; stock msrp_relay's AUTH through ours; stock
//! auth_aaa through ours against a real FreeRADIUS.

mod common;

use common::opensips::{memory_over_rounds, module, sqlite_db, start_fails, Opensips};
use common::{auth_result as result, challenges, free_port, Msg, Peer};
use std::path::Path;
use uac::digest::challenge::{parse_header, Algorithm, Challenge, Qop};
use uac::digest::response::{answer, authorization_header, hash_hex, RequestInfo, Secret};

const REALM: &str = "sip.test";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A SQLite subscriber table (with an rpid column for load_credentials):
/// alice (E.164 rpid) and bob.
fn db(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mut sql =
        "ALTER TABLE subscriber ADD COLUMN rpid CHAR(64) DEFAULT '' NOT NULL;\n".to_string();
    for (u, pw, rpid) in [
        ("alice", "alicepw", format!("<sip:+4930123@{REALM}>")),
        ("bob", "bobpw", format!("sip:bob@{REALM}")),
    ] {
        let a1 = format!("{u}:{REALM}:{pw}");
        let h = |a| hash_hex(a, a1.as_bytes());
        sql += &format!(
            "INSERT INTO subscriber (username, domain, password, ha1, ha1_sha256, ha1_sha512t256, rpid) \
             VALUES ('{u}', '{REALM}', '{pw}', '{}', '{}', '{}', '{rpid}');\n",
            h(Algorithm::Md5),
            h(Algorithm::Sha256),
            h(Algorithm::Sha512_256)
        );
    }
    sqlite_db(dir, &["auth_db"], &sql).display().to_string()
}

/// The registrar/proxy cfg: REGISTER and INVITE through auth_db, the result
/// of the check in X-Auth-Result, INVITE forwarded to `next` after
/// consume_credentials() and append_rpid_hf(); challenges with `qop` (and
/// the algorithm list `algs`, when given).
fn cfg(stock: bool, db_url: &str, next: u16, auth_params: &str, qop: &str, algs: &str) -> String {
    let challenge_args = if algs.is_empty() {
        format!("\"\", \"{qop}\"")
    } else {
        format!("\"\", \"{qop}\", \"{algs}\"")
    };
    format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "db_sqlite.so"
loadmodule "{auth}"
loadmodule "auth_db.so"
modparam("auth", "secret", "{SECRET}")
{auth_params}
modparam("auth_db", "db_url", "sqlite://{db_url}")
{db_params}
modparam("auth_db", "load_credentials", "rpid")
route {{
    if (is_method("REGISTER")) {{
        if (!www_authorize("", "subscriber")) {{
            $var(r) = $rc;
            append_to_reply("X-Auth-Result: $var(r)\r\n");
            www_challenge({challenge_args});
            exit;
        }}
        append_to_reply("X-Auth-Result: 1\r\n");
        if (is_rpid_user_e164())
            append_to_reply("X-E164: yes\r\n");
        sl_send_reply(200, "OK");
        exit;
    }}
    if (is_method("INVITE")) {{
        if (!proxy_authorize("", "subscriber")) {{
            $var(r) = $rc;
            append_to_reply("X-Auth-Result: $var(r)\r\n");
            proxy_challenge({challenge_args});
            exit;
        }}
        consume_credentials();
        if ($hdr(X-Rpid) == "framed")
            append_rpid_hf("Caller <", ">;x=1");
        else
            append_rpid_hf();
        $du = "sip:127.0.0.1:{next}";
        t_relay();
        exit;
    }}
    sl_send_reply(405, "No");
}}
"#,
        auth = module("auth", stock),
        db_params = if auth_params.contains("HA1_MODE") {
            "modparam(\"auth_db\", \"calculate_ha1\", 0)"
        } else {
            "modparam(\"auth_db\", \"calculate_ha1\", 1)\nmodparam(\"auth_db\", \"password_column\", \"password\")"
        },
    )
}

/// The auth_db parameters of HA1 mode: the ha1, ha1_sha256 and
/// ha1_sha512t256 columns, calculate_ha1 0.
const HA1_MODE: &str = "# HA1_MODE";

struct Server {
    o: Opensips,
    stock: bool,
}

fn server(stock: bool, next: u16, auth_params: &str, algs: &str) -> Server {
    server_qop(stock, next, auth_params, "auth", algs)
}

/// A server whose challenges offer `qop`.
fn server_qop(stock: bool, next: u16, auth_params: &str, qop: &str, algs: &str) -> Server {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("osips-auth-db-{}-{port}", std::process::id()));
    let url = db(&dir);
    Server {
        o: Opensips::start(port, &cfg(stock, &url, next, auth_params, qop, algs)),
        stock,
    }
}

fn request(p: &Peer, method: &str, user: &str, call: &str, cseq: u32, extra: &[String]) -> String {
    request_body(p, method, user, call, cseq, extra, "")
}

/// A request with a body (an SDP offer for an INVITE).
fn request_body(
    p: &Peer,
    method: &str,
    user: &str,
    call: &str,
    cseq: u32,
    extra: &[String],
    body: &str,
) -> String {
    let (ruri, to) = if method == "REGISTER" {
        (format!("sip:{REALM}"), format!("<sip:{user}@{REALM}>"))
    } else {
        (format!("sip:bob@{REALM}"), format!("<sip:bob@{REALM}>"))
    };
    let mut r = format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK{}{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{user}@{REALM}>;tag={call}f\r\nTo: {to}\r\n\
         Call-ID: {call}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{user}@127.0.0.1:{}>\r\n",
        p.port,
        common::rand_tag(),
        p.port
    );
    for e in extra {
        r += e;
        r += "\r\n";
    }
    if !body.is_empty() {
        r += "Content-Type: application/sdp\r\n";
    }
    r + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// The credentials header answering `ch` (its own algorithm and qop).
fn authz(ch: &Challenge, method: &str, user: &str, pw: &str) -> String {
    authz_body(ch, method, user, pw, "")
}

/// The same over a body (what qop auth-int hashes).
fn authz_body(ch: &Challenge, method: &str, user: &str, pw: &str, body: &str) -> String {
    let uri = if method == "REGISTER" {
        format!("sip:{REALM}")
    } else {
        format!("sip:bob@{REALM}")
    };
    let r = RequestInfo {
        method: method.as_bytes(),
        uri: uri.as_bytes(),
        body: body.as_bytes(),
    };
    let a = answer(
        ch,
        user.as_bytes(),
        Secret::Password(pw.as_bytes()),
        &r,
        "0a4f113b",
    )
    .unwrap();
    let h = authorization_header(
        method != "REGISTER",
        user.as_bytes(),
        ch,
        uri.as_bytes(),
        &a,
    )
    .unwrap();
    String::from_utf8(h).unwrap().trim_end().to_string()
}

/// A REGISTER without credentials; the challenge and the reply.
fn challenged(p: &Peer, port: u16, user: &str, call: &str) -> (Msg, Vec<Challenge>) {
    p.send(port, &request(p, "REGISTER", user, call, 1, &[]));
    let r = p.recv();
    let c = challenges(&r);
    (r, c)
}

fn register_with(p: &Peer, port: u16, user: &str, call: &str, cseq: u32, auth: &str) -> Msg {
    p.send(
        port,
        &request(p, "REGISTER", user, call, cseq, &[auth.to_string()]),
    );
    p.recv()
}

/// REGISTER and INVITE through auth_db: the same codes, challenges and
/// results with ours as with stock; plain-text passwords (calculate_ha1),
/// the rpid AVP that load_credentials filled (is_rpid_user_e164,
/// append_rpid_hf with and without prefix and suffix), and
/// consume_credentials (the forwarded INVITE carries
/// no Proxy-Authorization).
#[test]
fn register_and_invite_through_auth_db_as_stock() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let next = Peer::new();
        let s = server(stock, next.port, "", "");
        let p = Peer::new();
        let mut run = Vec::new();
        let (r, c) = challenged(&p, s.o.port, "alice", "reg1");
        assert_eq!(c.len(), 1, "{}", r.raw);
        assert_eq!(c[0].qop, Ok(Some(Qop::Auth)));
        assert_eq!(c[0].realm, REALM);
        assert!(c[0].nonce.len() == 44, "{}", c[0].nonce);
        run.push((r.status(), result(&r), String::new()));
        // wrong password: -2 and a new challenge
        let r = register_with(
            &p,
            s.o.port,
            "alice",
            "reg1",
            2,
            &authz(&c[0], "REGISTER", "alice", "nope"),
        );
        run.push((r.status(), result(&r), String::new()));
        // unknown user: -1
        let r = register_with(
            &p,
            s.o.port,
            "carol",
            "reg1",
            3,
            &authz(&c[0], "REGISTER", "carol", "x"),
        );
        run.push((r.status(), result(&r), String::new()));
        // right (a fresh challenge: stock burnt the first on the wrong answer)
        let (_, c) = challenged(&p, s.o.port, "alice", "reg2");
        let r = register_with(
            &p,
            s.o.port,
            "alice",
            "reg2",
            2,
            &authz(&c[0], "REGISTER", "alice", "alicepw"),
        );
        run.push((r.status(), result(&r), r.all("X-E164").join("")));
        // INVITE: 407, then relayed without credentials, with Remote-Party-ID
        p.send(s.o.port, &request(&p, "INVITE", "alice", "inv1", 1, &[]));
        let r = p.recv();
        let c = challenges(&r);
        run.push((r.status(), result(&r), c[0].realm.clone()));
        p.send(
            s.o.port,
            &request(
                &p,
                "INVITE",
                "alice",
                "inv1",
                2,
                &[authz(&c[0], "INVITE", "alice", "alicepw")],
            ),
        );
        let fwd = next.recv();
        assert_eq!(fwd.method(), "INVITE", "{}", fwd.raw);
        assert!(fwd.all("Proxy-Authorization").is_empty(), "{}", fwd.raw);
        run.push((None, fwd.all("Remote-Party-ID").join(""), String::new()));
        // append_rpid_hf(prefix, suffix)
        p.send(s.o.port, &request(&p, "INVITE", "alice", "inv2", 1, &[]));
        let c = challenges(&p.recv());
        let framed = [
            authz(&c[0], "INVITE", "alice", "alicepw"),
            "X-Rpid: framed".to_string(),
        ];
        p.send(
            s.o.port,
            &request(&p, "INVITE", "alice", "inv2", 2, &framed),
        );
        let fwd = next.recv();
        run.push((None, fwd.all("Remote-Party-ID").join(""), String::new()));
        assert!(
            s.o.log().matches("CRITICAL").count() == 0,
            "stock={}",
            s.stock
        );
        seen.push(run);
    }
    assert_eq!(seen[0], seen[1]);
    let ours = &seen[1];
    assert_eq!(ours[0], (Some(401), "-4".into(), String::new()));
    assert_eq!(ours[1], (Some(401), "-2".into(), String::new()));
    assert_eq!(ours[2], (Some(401), "-1".into(), String::new()));
    assert_eq!(ours[3], (Some(200), "1".into(), "yes".into()));
    assert_eq!(ours[4].0, Some(407));
    assert_eq!(
        ours[5].1,
        format!("<sip:+4930123@{REALM}>;party=calling;id-type=subscriber;screen=yes")
    );
    assert_eq!(ours[6].1, format!("Caller <<sip:+4930123@{REALM}>>;x=1"));
}

/// Stock issues, ours verifies, and back: two nodes with the same secret
/// and disable_nonce_check (what OpenSIPS tells a cluster to run), a client
/// challenged by one and answering the other, with MD5 and with SHA-256
/// challenges.
#[test]
fn mixed_pair_stock_issues_ours_verifies_and_back() {
    let params = "modparam(\"auth\", \"disable_nonce_check\", 1)";
    let p = Peer::new();
    for algs in ["MD5", "SHA-256"] {
        let stock = server(true, 9, params, algs);
        let ours = server(false, 9, params, algs);
        for (issuer, verifier, call) in [(&stock, &ours, "m1"), (&ours, &stock, "m2")] {
            let call = format!("{call}-{algs}");
            let (_, c) = challenged(&p, issuer.o.port, "alice", &call);
            let what = format!(
                "{algs}: issued by stock={}, verified by stock={}",
                issuer.stock, verifier.stock
            );
            assert_eq!(
                c[0].algorithm.as_ref().map(|a| a.name()),
                Ok(algs),
                "{what}"
            );
            let answer = |cseq, pw| {
                let h = authz(&c[0], "REGISTER", "alice", pw);
                register_with(&p, verifier.o.port, "alice", &call, cseq, &h)
            };
            let r = answer(2, "alicepw");
            assert_eq!(
                (r.status(), result(&r)),
                (Some(200), "1".to_string()),
                "{what}"
            );
            // a wrong password stays wrong across the pair
            assert_eq!(result(&answer(3, "x")), "-2", "{what}");
        }
    }
}

/// The nonce index. Right after start, a replay is refused (stale) by ours
/// and accepted by stock (its index ring is not primed: HOST-DEFECTS).
/// Once stock's ring is primed (challenges for longer than nonce_expire),
/// a wrong response uses up stock's index, so the right answer to the same
/// challenge is refused; ours burns nothing on a wrong response.
#[test]
fn replay_refused_and_a_wrong_answer_burns_nothing() {
    let mut out = Vec::new();
    for stock in [true, false] {
        let s = server(stock, 9, "modparam(\"auth\", \"nonce_expire\", 3)", "");
        let p = Peer::new();
        let (_, c) = challenged(&p, s.o.port, "alice", "rp1");
        let a = authz(&c[0], "REGISTER", "alice", "alicepw");
        let first = register_with(&p, s.o.port, "alice", "rp1", 2, &a);
        assert_eq!(first.status(), Some(200));
        let replay = register_with(&p, s.o.port, "alice", "rp1", 3, &a);
        let stale = challenges(&replay).first().is_some_and(|c| c.stale);
        // prime stock's ring: challenges over more than nonce_expire + 1 s
        for i in 0..10 {
            challenged(&p, s.o.port, "alice", &format!("prime{i}"));
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let (_, c) = challenged(&p, s.o.port, "alice", "rp2");
        let bad = register_with(
            &p,
            s.o.port,
            "alice",
            "rp2",
            2,
            &authz(&c[0], "REGISTER", "alice", "x"),
        );
        let good = register_with(
            &p,
            s.o.port,
            "alice",
            "rp2",
            3,
            &authz(&c[0], "REGISTER", "alice", "alicepw"),
        );
        let again = register_with(
            &p,
            s.o.port,
            "alice",
            "rp2",
            4,
            &authz(&c[0], "REGISTER", "alice", "alicepw"),
        );
        out.push((
            replay.status(),
            result(&replay),
            stale,
            result(&bad),
            result(&good),
            result(&again),
        ));
    }
    let s = |v: &str| v.to_string();
    // stock: the early replay passes; after priming, the right answer after
    // a wrong one is stale
    assert_eq!(
        out[0].0,
        Some(200),
        "stock refused the early replay: {:?}",
        out[0]
    );
    assert_eq!(
        (out[0].3.as_str(), out[0].4.as_str()),
        ("-2", "-3"),
        "{:?}",
        out[0]
    );
    // ours: the replay refused with stale=true; the right answer after a
    // wrong one passes, and its replay is refused
    assert_eq!(out[1], (Some(401), s("-3"), true, s("-2"), s("1"), s("-3")));
}

/// Every algorithm with -sess, several challenges in one reply (RFC 8760,
/// strongest first), each answered through auth_db (calc_HA1 and
/// check_response of the API); stock orders the lines the same way.
#[test]
fn every_algorithm_through_auth_db() {
    let algs = "MD5,MD5-sess,SHA-256,SHA-256-sess,SHA-512-256,SHA-512-256-sess";
    let mut orders = Vec::new();
    for (stock, mode) in [(true, ""), (false, ""), (false, HA1_MODE)] {
        let s = server(stock, 9, mode, algs);
        let p = Peer::new();
        let (_, c) = challenged(&p, s.o.port, "alice", "alg0");
        let order: Vec<String> = c
            .iter()
            .map(|c| c.algorithm.as_ref().unwrap().name().to_string())
            .collect();
        orders.push(order);
        if stock {
            continue;
        }
        for (i, ch) in c.iter().enumerate() {
            let call = format!("alg{i}");
            let (_, fresh) = challenged(&p, s.o.port, "alice", &call);
            assert_eq!(fresh[i].algorithm, ch.algorithm);
            let r = register_with(
                &p,
                s.o.port,
                "alice",
                &call,
                2,
                &authz(&fresh[i], "REGISTER", "alice", "alicepw"),
            );
            assert_eq!(
                (r.status(), result(&r)),
                (Some(200), "1".into()),
                "{:?}",
                ch.algorithm
            );
        }
    }
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[1], orders[2]);
    assert_eq!(
        orders[1],
        [
            "SHA-512-256-sess",
            "SHA-512-256",
            "SHA-256-sess",
            "SHA-256",
            "MD5-sess",
            "MD5"
        ]
    );
}

/// Hostile credentials: one log line, the stock return code, no crash.
#[test]
fn hostile_credentials_fail_cleanly() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let mut s = server(stock, 9, "", "");
        let p = Peer::new();
        let (_, c) = challenged(&p, s.o.port, "alice", "h0");
        let good = authz(&c[0], "REGISTER", "alice", "alicepw");
        let nonce = c[0].nonce.clone();
        let big = "a".repeat(4096);
        let cases = [
            "Authorization: Digest username=\"alice\", realm=\"sip.test\"".to_string(),
            good.replace(&nonce, "abc"),
            good.replace(&nonce, &nonce[..40]),
            good.replace(&nonce, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
            good.replace(&nonce, "6itGmkUU4YZh6Cvtpy9fsQNf9oMzQEgipcZjrLpjCn8A"),
            good.replace("response=\"", "response=\"zz"),
            good.replace("uri=\"", &format!("uri=\"{big}")),
            good.replace("username=\"alice\"", &format!("username=\"{big}\"")),
            good.replace("algorithm=MD5", "algorithm=SHA-1"),
            good.replace("qop=auth", "qop=auth-conf"),
            format!("{good}, nonce=\"{nonce}\""),
        ];
        let mut codes = Vec::new();
        for (i, h) in cases.iter().enumerate() {
            let r = register_with(&p, s.o.port, "alice", &format!("h{i}"), 2, h);
            codes.push((r.status(), result(&r)));
        }
        // each on a fresh nonce: a folded header (CRLF and a space, LWS
        // between parameters: still the right answer), control characters
        // inside quoted values
        let edits: [fn(&str) -> String; 4] = [
            |g| g.replace(", realm=", ",\r\n realm="),
            |g| g.replace("username=\"alice\"", "username=\"al\x01ice\""),
            |g| g.replace("cnonce=\"", "cnonce=\"\x7f\x08"),
            |g| g.replace("uri=\"", "uri=\"\t"),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let call = format!("f{i}");
            let (_, c) = challenged(&p, s.o.port, "alice", &call);
            let h = edit(&authz(&c[0], "REGISTER", "alice", "alicepw"));
            let r = register_with(&p, s.o.port, "alice", &call, 2, &h);
            codes.push((r.status(), result(&r)));
        }
        assert!(s.o.alive(), "opensips died (stock={stock})");
        if !stock {
            // round after round of them loses no pkg or shm
            let round = || {
                for (i, h) in cases.iter().enumerate() {
                    register_with(&p, s.o.port, "alice", &format!("m{i}"), 2, h);
                }
            };
            let (before, after) = memory_over_rounds(&s.o, &round);
            assert_eq!(before, after, "pkg/shm before {before:?} after {after:?}");
        }
        seen.push(codes);
    }
    assert_eq!(seen[0], seen[1]);
    // the folded header is still the right answer, for both
    assert_eq!(seen[1][11].0, Some(200), "{:?}", seen[1]);
}

/// Bad parameters stop start-up with one line, as stock.
#[test]
fn bad_parameters_stop_start_up() {
    let ours = module("auth", false);
    for (param, want) in [
        (
            "modparam(\"auth\", \"secret\", \"short\")",
            "bad secret length",
        ),
        ("modparam(\"auth\", \"rpid_avp\", \"$ru\")", "AVP"),
        (
            "modparam(\"auth\", \"username_spec\", \"$nope(x\")",
            "username spec",
        ),
    ] {
        let log = start_fails(&format!(
            "loadmodule \"sl.so\"\nloadmodule \"signaling.so\"\nloadmodule \"{ours}\"\n{param}\n\
             route {{ exit; }}"
        ));
        assert!(log.contains(want), "{param}: {log}");
    }
}

/// A long run of authenticated REGISTERs: pkg and shm come back to where
/// they were (the index keeps uses only until they expire).
#[test]
fn memory_stable_over_authenticated_registers() {
    let s = server(false, 9, "modparam(\"auth\", \"nonce_expire\", 2)", "");
    let p = Peer::new();
    let round = || {
        for i in 0..200 {
            let call = format!("mem{i}");
            let (_, c) = challenged(&p, s.o.port, "alice", &call);
            let r = register_with(
                &p,
                s.o.port,
                "alice",
                &call,
                2,
                &authz(&c[0], "REGISTER", "alice", "alicepw"),
            );
            assert_eq!(r.status(), Some(200));
        }
        // the uses expire, and a few more REGISTERs sweep them
        std::thread::sleep(std::time::Duration::from_secs(3));
    };
    let (before, after) = memory_over_rounds(&s.o, &round);
    assert_eq!(before, after, "pkg/shm before {before:?} after {after:?}");
}

/// A node of a two-node cluster: ours with `cluster_id` (or without, the
/// control), clusterer over proto_bin on loopback. Node 1 is the seed: it
/// counts as synced one second after its start when no other node is up,
/// and so can give a node that joins its snapshot (a cluster without a
/// seed node never syncs).
fn cluster_node(me: (u32, u16), other: (u32, u16), shared: bool) -> Server {
    let extra = format!(
        "socket=bin:127.0.0.1:{mp}\nloadmodule \"proto_bin.so\"\nloadmodule \"clusterer.so\"\n\
         modparam(\"clusterer\", \"db_mode\", 0)\n\
         modparam(\"clusterer\", \"my_node_id\", {mi})\n\
         modparam(\"clusterer\", \"my_node_info\", \"cluster_id=1, url=bin:127.0.0.1:{mp}{seed}\")\n\
         modparam(\"clusterer\", \"seed_fallback_interval\", 1)\n\
         modparam(\"clusterer\", \"neighbor_node_info\", \"cluster_id=1, node_id={oi}, url=bin:127.0.0.1:{op}\")\n\
         modparam(\"clusterer\", \"ping_interval\", 1)\n{cid}",
        mi = me.0,
        mp = me.1,
        oi = other.0,
        op = other.1,
        seed = if me.0 == 1 { ", flags=seed" } else { "" },
        cid = if shared {
            "modparam(\"auth\", \"cluster_id\", 1)"
        } else {
            ""
        }
    );
    server(false, 9, &extra, "")
}

/// Waits up to `secs` until the node sees the other one up (MI
/// clusterer_list).
fn link_up_within(s: &Server, secs: u32) -> bool {
    let mut l = String::new();
    for _ in 0..secs * 5 {
        l = s.o.mi("clusterer_list", "[]");
        if l.contains("\"Up\"") {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!("clusterer_list: {l:?}");
    false
}

/// Waits until both nodes see each other up; the node `b` is started again
/// when its link is stuck. The clusterer of 3.6.8 can leave a link in its
/// transient LS_TEMP state for good (a pong that crosses a second ping; its
/// timer has no case for that state): `clusterer_list` shows "Probe" and
/// nothing is sent until that node starts again.
fn linked(a: &Server, b: &mut Server) -> bool {
    for _ in 0..3 {
        if link_up_within(b, 8) && link_up_within(a, 8) {
            return true;
        }
        b.o.restart();
    }
    false
}

/// Replay protection across two OpenSIPS nodes: with `cluster_id`, a use on
/// node A reaches node B through the clusterer and B refuses the replay
/// (stale); without it (the control) B accepts the replay once.
#[test]
fn two_nodes_share_the_nonce_index_through_the_clusterer() {
    let mut results = Vec::new();
    for shared in [true, false] {
        let (pa, pb) = (free_port(), free_port());
        let a = cluster_node((1, pa), (2, pb), shared);
        let mut b = cluster_node((2, pb), (1, pa), shared);
        assert!(linked(&a, &mut b), "cluster link not up:\n{}", a.o.log());
        let p = Peer::new();
        let (_, c) = challenged(&p, a.o.port, "alice", "cl1");
        let auth = authz(&c[0], "REGISTER", "alice", "alicepw");
        let first = register_with(&p, a.o.port, "alice", "cl1", 2, &auth);
        assert_eq!(first.status(), Some(200), "{}", first.raw);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let replay = register_with(&p, b.o.port, "alice", "cl1", 3, &auth);
        // and the other way: B's own challenge, used on B, replayed on A
        let (_, c) = challenged(&p, b.o.port, "alice", "cl2");
        let auth = authz(&c[0], "REGISTER", "alice", "alicepw");
        let on_b = register_with(&p, b.o.port, "alice", "cl2", 2, &auth);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let back = register_with(&p, a.o.port, "alice", "cl2", 3, &auth);
        results.push((result(&replay), result(&on_b), result(&back)));
    }
    assert_eq!(
        results[0],
        ("-3".to_string(), "1".to_string(), "-3".to_string())
    );
    assert_eq!(
        results[1],
        ("1".to_string(), "1".to_string(), "1".to_string())
    );
}

// ---- msrp_relay (RFC 4976) through ours ----

mod msrp {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    /// An MSRP client over TCP: AUTH and SEND frames, replies read whole.
    pub struct Client {
        s: TcpStream,
        pub relay: String,
        pub me: String,
        n: u32,
    }

    pub fn read_frame(s: &mut TcpStream) -> String {
        try_read_frame(s).expect("no MSRP frame (timeout or connection closed)")
    }

    /// A whole frame; None when the connection closes or times out first.
    pub fn try_read_frame(s: &mut TcpStream) -> Option<String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(tid) = text.split_whitespace().nth(1) {
                if text.contains(&format!("-------{tid}$\r\n")) {
                    return Some(text);
                }
            }
            match s.read(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => return None,
            }
        }
    }

    impl Client {
        pub fn connect(port: u16, name: &str) -> Client {
            let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            Client {
                s,
                relay: format!("msrp://127.0.0.1:{port};tcp"),
                me: format!("msrp://127.0.0.1:9/{name};tcp"),
                n: 0,
            }
        }

        pub fn frame(
            &mut self,
            method: &str,
            to_path: &str,
            extra: &[String],
            body: &str,
        ) -> String {
            self.try_frame(method, to_path, extra, body)
                .expect("no MSRP reply (timeout or connection closed)")
        }

        /// A frame sent; the reply, or None when the relay closed the
        /// connection or did not answer.
        pub fn try_frame(
            &mut self,
            method: &str,
            to_path: &str,
            extra: &[String],
            body: &str,
        ) -> Option<String> {
            self.n += 1;
            let tid = format!("t{}x{}", std::process::id(), self.n);
            let mut f = format!(
                "MSRP {tid} {method}\r\nTo-Path: {to_path}\r\nFrom-Path: {}\r\n",
                self.me
            );
            for e in extra {
                f += e;
                f += "\r\n";
            }
            if method == "SEND" {
                f += &format!("Message-ID: m{}\r\nByte-Range: 1-{}/{}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n", self.n, body.len(), body.len());
            }
            f += &format!("-------{tid}$\r\n");
            self.s.write_all(f.as_bytes()).ok()?;
            try_read_frame(&mut self.s)
        }

        pub fn auth(&mut self, extra: &[String]) -> String {
            let to = self.relay.clone();
            self.frame("AUTH", &to, extra, "")
        }
    }

    /// A peer listening for what the relay forwards.
    pub fn listener() -> (TcpListener, u16) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        (l, p)
    }

    pub fn status(frame: &str) -> u16 {
        frame
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn header<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
        frame.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
    }
}

fn msrp_relay(stock: bool) -> (Opensips, u16) {
    let mport = free_port();
    let body = format!(
        r#"socket=msrp:127.0.0.1:{mport}
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "signaling.so"
loadmodule "proto_msrp.so"
loadmodule "{auth}"
loadmodule "msrp_relay.so"
modparam("auth", "secret", "{SECRET}")
modparam("msrp_relay", "auth_route", "msrp_auth")
modparam("msrp_relay", "my_uri", "msrp://127.0.0.1:{mport};tcp")
modparam("msrp_relay", "auth_realm", "msrp.test")
modparam("msrp_relay", "calculate_ha1", 1)
modparam("msrp_relay", "auth_min_expires", 60)
modparam("msrp_relay", "auth_max_expires", 3600)
modparam("msrp_relay", "auth_expires", 600)
route[msrp_auth] {{
    if ($var(username) == "alice" || $var(username) == "bob")
        $var(password) = "msrp-pw";
}}
route {{ exit; }}
"#,
        auth = module("auth", stock)
    );
    (Opensips::start_free(&body), mport)
}

/// The Authorization of an MSRP AUTH answering the 401 in `frame`.
fn msrp_authz(c: &msrp::Client, frame: &str, user: &str, pw: &str) -> String {
    let v = msrp::header(frame, "WWW-Authenticate").expect("no WWW-Authenticate");
    let ch = parse_header(v.as_bytes()).unwrap().remove(0).unwrap();
    assert_eq!(ch.realm, "msrp.test");
    let req = RequestInfo {
        method: b"AUTH",
        uri: c.relay.as_bytes(),
        body: b"",
    };
    let a = answer(
        &ch,
        user.as_bytes(),
        Secret::Password(pw.as_bytes()),
        &req,
        "cn0",
    )
    .unwrap();
    let h = authorization_header(false, user.as_bytes(), &ch, c.relay.as_bytes(), &a).unwrap();
    String::from_utf8(h).unwrap().trim_end().to_string()
}

/// Stock msrp_relay's AUTH through our auth API (build_auth_hf over its
/// nonce context, check_response, build_auth_info_hf), side by side with
/// stock: 401 with a challenge, 200 with Use-Path, Expires in bounds and
/// Authentication-Info, 403 for a wrong password, 423 out of bounds; then
/// a SEND from an authenticated client relayed to its peer.
#[test]
fn msrp_relay_auth_and_send_through_ours() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let (o, port) = msrp_relay(stock);
        let mut a = msrp::Client::connect(port, "alice");
        let r = a.auth(&[]);
        let mut run = vec![msrp::status(&r)];
        let wrong = msrp_authz(&a, &r, "alice", "nope");
        let r2 = a.auth(&[wrong]);
        run.push(msrp::status(&r2));
        let first = a.auth(&[]);
        let right = msrp_authz(&a, &first, "alice", "msrp-pw");
        let r3 = a.auth(&[right.clone(), "Expires: 10".into()]);
        run.push(msrp::status(&r3));
        let ok = a.auth(&[right, "Expires: 900".into()]);
        run.push(msrp::status(&ok));
        assert_eq!(msrp::header(&ok, "Expires"), Some("900"), "{ok}");
        let use_path = msrp::header(&ok, "Use-Path").expect("Use-Path").to_string();
        assert!(
            use_path.starts_with(&format!("msrp://127.0.0.1:{port}/")),
            "{use_path}"
        );
        let info = msrp::header(&ok, "Authentication-Info").expect("Authentication-Info");
        if stock {
            // stock's field separator leaves a stray quote after nc, and its
            // rspauth hashes a cnonce of its own
            assert!(
                info.starts_with("qop=auth, cnonce=\"cn0\", nc=00000001\", rspauth=\""),
                "{info}"
            );
        } else {
            // ours: well formed, rspauth over the client's cnonce and nc
            let v = msrp::header(&first, "WWW-Authenticate").unwrap();
            let nonce = parse_header(v.as_bytes()).unwrap().remove(0).unwrap().nonce;
            let md5 = |s: String| hash_hex(Algorithm::Md5, s.as_bytes());
            let ha1 = md5("alice:msrp.test:msrp-pw".to_string());
            let ha2 = md5(format!(":{}", a.relay));
            let rsp = md5(format!("{ha1}:{nonce}:00000001:cn0:auth:{ha2}"));
            assert_eq!(
                info,
                format!("qop=auth, cnonce=\"cn0\", nc=00000001, rspauth=\"{rsp}\"")
            );
        }
        // SEND through the relay to a peer that listens
        let (peer, pport) = msrp::listener();
        let to_path = format!("{use_path} msrp://127.0.0.1:{pport}/bob;tcp");
        let sent = a.frame("SEND", &to_path, &[], "hello bob");
        run.push(msrp::status(&sent));
        peer.set_nonblocking(false).unwrap();
        let (mut conn, _) = peer.accept().expect("the relay did not connect");
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let fwd = msrp::read_frame(&mut conn);
        assert!(
            fwd.contains(" SEND\r\n") && fwd.contains("hello bob"),
            "{fwd}"
        );
        assert!(o.log().matches("CRITICAL").count() == 0);
        seen.push(run);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], [401, 403, 423, 200, 200]);
}

/// pv_www_authorize with username_spec / password_spec (plain-text password,
/// calculate_ha1): no credentials -4, right 1, wrong password -2, another
/// user in the variable -1, as stock; the replay: stale with ours.
#[test]
fn pv_www_authorize_as_stock() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let body = format!(
            r#"loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "{auth}"
modparam("auth", "secret", "{SECRET}")
modparam("auth", "username_spec", "$var(user)")
modparam("auth", "password_spec", "$var(pw)")
modparam("auth", "calculate_ha1", 1)
route {{
    $var(user) = $hdr(X-User);
    $var(pw) = "alicepw";
    if (!pv_www_authorize("")) {{
        $var(r) = $rc;
        append_to_reply("X-Auth-Result: $var(r)\r\n");
        www_challenge("", "auth");
        exit;
    }}
    append_to_reply("X-Auth-Result: 1\r\n");
    sl_send_reply(200, "OK");
}}
"#,
            auth = module("auth", stock)
        );
        let o = Opensips::start_free(&body);
        let p = Peer::new();
        let send = |call: &str, cseq: u32, user: &str, auth: Option<&str>| {
            let mut extra = vec![format!("X-User: {user}")];
            extra.extend(auth.map(str::to_string));
            p.send(
                o.port,
                &request(&p, "REGISTER", "alice", call, cseq, &extra),
            );
            p.recv()
        };
        let r = send("pv1", 1, "alice", None);
        let c = challenges(&r);
        let mut run = vec![result(&r)];
        let good = authz(&c[0], "REGISTER", "alice", "alicepw");
        run.push(result(&send("pv1", 2, "bob", Some(&good))));
        run.push(result(&send(
            "pv1",
            3,
            "alice",
            Some(&authz(&c[0], "REGISTER", "alice", "x")),
        )));
        let (_, c) = challenged(&p, o.port, "alice", "pv2");
        let good = authz(&c[0], "REGISTER", "alice", "alicepw");
        run.push(result(&send("pv2", 2, "alice", Some(&good))));
        let replay = result(&send("pv2", 3, "alice", Some(&good)));
        seen.push((run, replay));
    }
    assert_eq!(seen[0].0, seen[1].0);
    assert_eq!(seen[1].0, ["-4", "-1", "-2", "1"]);
    assert_eq!(seen[1].1, "-3");
}

// ---- qop auth-int over an INVITE body ----

const SDP: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const OTHER_SDP: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 10.6.6.6\r\nt=0 0\r\nm=audio 6666 RTP/AVP 0\r\n";

/// An INVITE from alice with `body` (and credentials); the reply, or the
/// request forwarded to `next` when the proxy relayed it.
fn invite(
    s: &Server,
    p: &Peer,
    next: &Peer,
    call: &str,
    cseq: u32,
    body: &str,
    auth: Option<String>,
) -> Msg {
    let extra: Vec<String> = auth.into_iter().collect();
    p.send(
        s.o.port,
        &request_body(p, "INVITE", "alice", call, cseq, &extra, body),
    );
    if cseq > 1 {
        if let Some(m) = forwarded(next, call) {
            return m;
        }
    }
    p.recv()
}

/// The INVITE of this call as `next` receives it (tm's retransmissions of
/// earlier calls skipped); None within a second.
fn forwarded(next: &Peer, call: &str) -> Option<Msg> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        if let Some(m) = next.recv_within(1) {
            if m.hdr("Call-ID") == call {
                return Some(m);
            }
        }
    }
    None
}

/// The challenge as answered with `qop` (an offer of both may be answered
/// either way).
fn with_qop(ch: &Challenge, qop: Qop) -> Challenge {
    Challenge {
        qop: Ok(Some(qop)),
        ..ch.clone()
    }
}

/// What a reply or a forwarded request shows: the status (0: forwarded),
/// X-Auth-Result, and the forwarded body.
fn outcome(m: &Msg) -> (u16, String, String) {
    match m.status() {
        Some(code) => (code, result(m), String::new()),
        None => (
            0,
            String::new(),
            m.raw.split_once("\r\n\r\n").map_or("", |b| b.1).to_string(),
        ),
    }
}

/// qop auth-int through auth_db, ours beside stock: the response is checked
/// over the INVITE's real body (a response computed over another body is
/// refused, as is the right response on a request whose body was changed);
/// a `qop="auth,auth-int"` challenge answered with auth and with auth-int.
#[test]
fn auth_int_over_the_invite_body_as_stock() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let next = Peer::new();
        let p = Peer::new();
        let mut run = Vec::new();
        // A fresh challenge on `call`, answered (with `qop`, when the offer
        // has both) over `hashed`, sent with the body `sent`.
        let once = |s: &Server, call: &str, qop: Option<Qop>, hashed: &str, sent: &str| {
            let c = challenges(&invite(s, &p, &next, call, 1, SDP, None));
            let ch = qop.map_or_else(|| c[0].clone(), |q| with_qop(&c[0], q));
            let a = authz_body(&ch, "INVITE", "alice", "alicepw", hashed);
            outcome(&invite(s, &p, &next, call, 2, sent, Some(a)))
        };
        // auth-int alone: an answer over another body refused, then the
        // right one on the same challenge taken; the right answer on a
        // changed body refused
        let s = server_qop(stock, next.port, "", "auth-int", "");
        let r = invite(&s, &p, &next, "ai1", 1, SDP, None);
        run.push((
            r.status().unwrap_or(0),
            auth_param_of(&r, "qop"),
            String::new(),
        ));
        let c = challenges(&r);
        assert_eq!(c[0].qop, Ok(Some(Qop::AuthInt)), "{}", r.raw);
        for (cseq, hashed) in [(2, OTHER_SDP), (3, SDP)] {
            let a = authz_body(&c[0], "INVITE", "alice", "alicepw", hashed);
            run.push(outcome(&invite(&s, &p, &next, "ai1", cseq, SDP, Some(a))));
        }
        run.push(once(&s, "ai2", None, SDP, OTHER_SDP));
        drop(s);
        // auth,auth-int: either answer; auth-int still over the real body
        let s = server_qop(stock, next.port, "", "auth,auth-int", "");
        let r = invite(&s, &p, &next, "ab1", 1, SDP, None);
        run.push((
            r.status().unwrap_or(0),
            auth_param_of(&r, "qop"),
            String::new(),
        ));
        run.push(once(&s, "ab2", Some(Qop::Auth), SDP, SDP));
        run.push(once(&s, "ab3", Some(Qop::AuthInt), SDP, SDP));
        run.push(once(&s, "ab4", Some(Qop::AuthInt), SDP, OTHER_SDP));
        assert!(s.o.log().matches("CRITICAL").count() == 0);
        seen.push(run);
    }
    assert_eq!(seen[0], seen[1], "stock / ours");
    let s = |v: &str| v.to_string();
    assert_eq!(
        seen[1],
        [
            (407, s("\"auth-int\""), s("")),
            (407, s("-2"), s("")),
            (0, s(""), s(SDP)),
            (407, s("-2"), s("")),
            // stock prints its "auth,auth-int" the other way round
            (407, s("\"auth-int,auth\""), s("")),
            (0, s(""), s(SDP)),
            (0, s(""), s(SDP)),
            (407, s("-2"), s("")),
        ]
    );
}

/// A parameter of the first challenge header, as written.
fn auth_param_of(m: &Msg, name: &str) -> String {
    let h = m
        .all("Proxy-Authenticate")
        .into_iter()
        .chain(m.all("WWW-Authenticate"))
        .next()
        .unwrap_or_default()
        .to_string();
    h.split(", ")
        .flat_map(|p| p.split(' '))
        .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_string))
        .unwrap_or_default()
}

/// A node that joins the cluster late, and one that restarts: it gets the
/// other's nonce index (the live uses and since when the donor knows every
/// use) through the clusterer's sync, so it refuses a replay of a nonce used
/// on the other node before it joined, and takes (once) a nonce issued then
/// but not used. The control (no `cluster_id`): the new node refuses both
/// as issued before its start (it cannot know), and the other node takes
/// the replay of the nonce the new node used.
#[test]
fn a_node_that_joins_gets_the_nonce_index() {
    let mut results = Vec::new();
    for shared in [true, false] {
        let (pa, pb) = (free_port(), free_port());
        let a = cluster_node((1, pa), (2, pb), shared);
        if shared {
            let seeded = "falling back to synced state";
            assert_eq!(a.o.wait_log(seeded, 1, 10), 1, "{}", a.o.log());
        }
        let p = Peer::new();
        // on A alone: one nonce used, one only issued
        let (_, c) = challenged(&p, a.o.port, "alice", "j1");
        let used = authz(&c[0], "REGISTER", "alice", "alicepw");
        let first = register_with(&p, a.o.port, "alice", "j1", 2, &used);
        assert_eq!(result(&first), "1", "{}", first.raw);
        let (_, c) = challenged(&p, a.o.port, "alice", "j2");
        let unused = authz(&c[0], "REGISTER", "alice", "alicepw");
        // B starts in a later second than both nonces were issued
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let mut b = cluster_node((2, pb), (1, pa), shared);
        assert!(linked(&a, &mut b), "cluster link not up:\n{}", b.o.log());
        let synced = "Received all sync packets for capability";
        if shared {
            assert!(b.o.wait_log(synced, 1, 10) >= 1, "{}", b.o.log());
        }
        let mut run = vec![
            result(&register_with(&p, b.o.port, "alice", "j1", 3, &used)),
            result(&register_with(&p, b.o.port, "alice", "j2", 2, &unused)),
            result(&register_with(&p, b.o.port, "alice", "j2", 3, &unused)),
        ];
        std::thread::sleep(std::time::Duration::from_millis(300));
        run.push(result(&register_with(
            &p, a.o.port, "alice", "j2", 4, &unused,
        )));
        // B restarts: a nonce it issued and used before, and one it issued
        // only, come back through A's snapshot
        let (_, c) = challenged(&p, b.o.port, "alice", "j3");
        let used_b = authz(&c[0], "REGISTER", "alice", "alicepw");
        run.push(result(&register_with(
            &p, b.o.port, "alice", "j3", 2, &used_b,
        )));
        let (_, c) = challenged(&p, b.o.port, "alice", "j4");
        let unused_b = authz(&c[0], "REGISTER", "alice", "alicepw");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let syncs = b.o.log().matches(synced).count();
        b.o.restart();
        assert!(linked(&a, &mut b), "cluster link not up:\n{}", b.o.log());
        if shared {
            let n = syncs + 1;
            assert!(b.o.wait_log(synced, n, 10) >= n, "{}", b.o.log());
        }
        run.push(result(&register_with(
            &p, b.o.port, "alice", "j3", 3, &used_b,
        )));
        run.push(result(&register_with(
            &p, b.o.port, "alice", "j4", 2, &unused_b,
        )));
        for o in [&a.o, &b.o] {
            assert_eq!(o.log().matches("CRITICAL").count(), 0);
        }
        results.push(run);
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // shared: the replays stale, the unused nonces taken once
    assert_eq!(results[0], s(&["-3", "1", "-3", "-3", "1", "-3", "1"]));
    // alone: B refuses what was issued before its start, A takes the replay
    assert_eq!(results[1], s(&["-3", "-3", "-3", "1", "1", "-3", "-3"]));
}

// ---- auth_aaa through a real FreeRADIUS ----

/// Debian's FreeRADIUS 3.2 on loopback (tests/fixtures/freeradius/radiusd.conf
/// in a folder of its own, a free port), with alice's password in its users
/// file; stopped on drop.
struct Radius {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Radius {
    fn start() -> Radius {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("osips-radius-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freeradius");
        // radcli refuses a long $INCLUDE path (measured: a 60-byte path read,
        // a 69-byte one made aaa_radius fail to read its config): the
        // dictionary OpenSIPS ships is copied next to the other files, whose
        // paths are short wherever the checkout is.
        let opensips_dict = dir.join("dictionary.opensips");
        std::fs::copy(
            common::opensips::prefix().join("etc/opensips/dictionary.opensips"),
            &opensips_dict,
        )
        .unwrap();
        let fill = |name: &str| {
            let t = std::fs::read_to_string(fx.join(name)).unwrap();
            let t = t
                .replace("@DIR@", &dir.display().to_string())
                .replace("@PORT@", &port.to_string())
                .replace("@OPENSIPS_DICT@", &opensips_dict.display().to_string());
            std::fs::write(dir.join(name), t).unwrap();
        };
        for f in [
            "radiusd.conf",
            "dictionary",
            "radiusclient.conf",
            "radcli-dictionary",
        ] {
            fill(f);
        }
        std::fs::write(dir.join("servers"), "127.0.0.1\ttesting123\n").unwrap();
        std::fs::write(
            dir.join("users"),
            "\"alice@sip.test\" Cleartext-Password := \"alicepw\"\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("radiusd.log")).unwrap();
        let child = std::process::Command::new("freeradius")
            .args(["-f", "-X", "-d"])
            .arg(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start freeradius (make setup installs it)");
        let r = Radius { child, dir, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !r.log().contains("Ready to process requests") {
            assert!(
                std::time::Instant::now() < deadline,
                "freeradius not ready:\n{}",
                r.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        r
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("radiusd.log")).unwrap_or_default()
    }

    fn client_conf(&self) -> String {
        self.dir.join("radiusclient.conf").display().to_string()
    }
}

impl Drop for Radius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- freeradius log (port {}) ----\n{}",
                self.port,
                self.log()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The stock auth_aaa (over aaa_radius) bound to `auth`: REGISTER checked
/// by aaa_www_authorize against the RADIUS server, INVITE by
/// aaa_proxy_authorize; the result in X-Auth-Result.
fn aaa_cfg(stock: bool, radius: &Radius) -> String {
    format!(
        r#"loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "{auth}"
loadmodule "aaa_radius.so"
loadmodule "auth_aaa.so"
modparam("auth", "secret", "{SECRET}")
modparam("auth_aaa", "aaa_url", "radius:{conf}")
route {{
    if (is_method("REGISTER")) {{
        if (!aaa_www_authorize("{REALM}")) {{
            $var(r) = $rc;
            append_to_reply("X-Auth-Result: $var(r)\r\n");
            www_challenge("{REALM}", "auth");
            exit;
        }}
    }} else if (!aaa_proxy_authorize("{REALM}")) {{
        $var(r) = $rc;
        append_to_reply("X-Auth-Result: $var(r)\r\n");
        proxy_challenge("{REALM}", "auth");
        exit;
    }}
    append_to_reply("X-Auth-Result: 1\r\n");
    sl_send_reply(200, "OK");
}}
"#,
        auth = module("auth", stock),
        conf = radius.client_conf()
    )
}

/// The stock auth_aaa bound to our auth.so (and, side by side, to stock's)
/// authenticates through a real FreeRADIUS: challenged REGISTER and INVITE,
/// the right password accepted (Access-Accept), a wrong one refused
/// (Access-Reject), the same codes as stock; the replay of the used
/// credentials is refused by ours (stale) before any RADIUS request, while
/// stock, in its first nonce_expire seconds, sends it to the RADIUS server
/// and accepts it.
#[test]
fn auth_aaa_through_freeradius_as_stock() {
    let radius = Radius::start();
    let mut seen = Vec::new();
    for stock in [true, false] {
        let o = Opensips::start_free(&aaa_cfg(stock, &radius));
        let p = Peer::new();
        let mut run = Vec::new();
        for (method, call) in [("REGISTER", "aaa1"), ("INVITE", "aaa2")] {
            p.send(o.port, &request(&p, method, "alice", call, 1, &[]));
            let r = p.recv();
            run.push(format!("{} {}", r.status().unwrap_or(0), result(&r)));
            let c = challenges(&r);
            assert_eq!(c.len(), 1, "{}", r.raw);
            let wrong = authz(&c[0], method, "alice", "nope");
            p.send(o.port, &request(&p, method, "alice", call, 2, &[wrong]));
            run.push(result(&p.recv()));
            let right = authz(&c[0], method, "alice", "alicepw");
            p.send(
                o.port,
                &request(&p, method, "alice", call, 3, std::slice::from_ref(&right)),
            );
            let ok = p.recv();
            run.push(format!("{} {}", ok.status().unwrap_or(0), result(&ok)));
            let before = radius.log().matches("Received Access-Request").count();
            p.send(o.port, &request(&p, method, "alice", call, 4, &[right]));
            let replay = result(&p.recv());
            std::thread::sleep(std::time::Duration::from_millis(200));
            let asked = radius.log().matches("Received Access-Request").count() - before;
            seen.push((stock, method, replay, asked));
        }
        assert_eq!(o.log().matches("CRITICAL").count(), 0);
        assert!(!o.log().contains("ERROR:aaa_radius"), "{}", o.log());
        seen.push((stock, "run", run.join("|"), 0));
    }
    let log = radius.log();
    assert!(log.contains("Sent Access-Accept"), "{log}");
    assert!(log.contains("Sent Access-Reject"), "{log}");
    let run = |stock: bool| {
        seen.iter()
            .find(|s| s.0 == stock && s.1 == "run")
            .unwrap()
            .2
            .clone()
    };
    assert_eq!(run(true), run(false), "stock / ours");
    let replays: Vec<_> = seen.iter().filter(|s| s.1 != "run").cloned().collect();
    assert_eq!(
        replays,
        [
            (true, "REGISTER", "1".to_string(), 1),
            (true, "INVITE", "1".to_string(), 1),
            (false, "REGISTER", "-3".to_string(), 0),
            (false, "INVITE", "-3".to_string(), 0),
        ]
    );
    assert_eq!(run(false), "401 -4|-5|200 1|407 -4|-5|200 1");
}

/// `good` with `from` replaced by `to` (which must be in it: a case that
/// did not change would test the good header).
fn swap(good: &str, from: &str, to: &str) -> String {
    assert!(good.contains(from), "{from:?} not in {good}");
    good.replacen(from, to, 1)
}

/// Hostile MSRP AUTH frames to the stock msrp_relay bound to ours, side by
/// side with stock: missing fields, duplicates, 4 KB values, bad hex, an
/// unknown algorithm or qop, foreign, truncated and non-base64 nonces. Each
/// gets stock's status (no 200 but for a wrong value followed by the right
/// one: the core's parser keeps the last), nothing crashes, and the relay still
/// challenges and authenticates a client afterwards. Last, a non-Digest
/// Authorization: the stock msrp_relay itself crashes on it, with stock's
/// auth.so as with ours, before it calls the auth API (msrp_relay/auth.c
/// takes parse_credentials' "not Digest" return, 1, for parsed and reads
/// the freed credentials).
#[test]
fn msrp_relay_hostile_auth_frames_as_stock() {
    let mut seen = Vec::new();
    for stock in [true, false] {
        let (mut o, port) = msrp_relay(stock);
        let mut a = msrp::Client::connect(port, "alice");
        let r = a.auth(&[]);
        assert_eq!(msrp::status(&r), 401, "{r}");
        let good = msrp_authz(&a, &r, "alice", "msrp-pw");
        let v = msrp::header(&r, "WWW-Authenticate").unwrap();
        let nonce = parse_header(v.as_bytes()).unwrap().remove(0).unwrap().nonce;
        let response = good
            .split("response=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let big = "a".repeat(4096);
        let foreign = "6itGmkUU4YZh6Cvtpy9fsQNf9oMzQEgipcZjrLpjCn8A";
        let cases = [
            "Authorization: Digest username=\"alice\", realm=\"msrp.test\"".to_string(),
            swap(&good, "response=", "xresponse="),
            swap(&good, "nonce=", "xnonce="),
            // duplicates: another value after the right one, and the
            // wrong one first
            format!("{good}, nonce=\"{foreign}\""),
            format!("{good}, response=\"{}\"", "0".repeat(32)),
            swap(
                &good,
                "response=",
                &format!("response=\"{}\", response=", "0".repeat(32)),
            ),
            swap(&good, "username=\"alice\"", &format!("username=\"{big}\"")),
            swap(&good, "realm=\"msrp.test\"", &format!("realm=\"{big}\"")),
            swap(&good, "cnonce=\"cn0\"", &format!("cnonce=\"{big}\"")),
            swap(&good, &response, &"zz".repeat(16)),
            swap(&good, &response, &response[..20]),
            format!("{good}, algorithm=SHA-1"),
            swap(&good, "qop=auth", "qop=auth-conf"),
            swap(&good, &nonce, foreign),
            swap(&good, &nonce, &nonce[..40]),
            swap(&good, &nonce, &"!".repeat(44)),
            swap(&good, &nonce, "abc"),
            swap(&good, &nonce, &big),
        ];
        let mut codes = Vec::new();
        let send = |o: &mut Opensips, name: &str, h: &str| {
            // each on a connection of its own: a closed one is an outcome
            let mut c = msrp::Client::connect(port, name);
            let to = c.relay.clone();
            let st = c
                .try_frame("AUTH", &to, &[h.to_string()], "")
                .map_or(0, |f| msrp::status(&f) as i32);
            std::thread::sleep(std::time::Duration::from_millis(100));
            if o.alive() {
                st
            } else {
                o.restart();
                -1
            }
        };
        for (i, h) in cases.iter().enumerate() {
            codes.push(send(&mut o, &format!("h{i}"), h));
        }
        assert!(o.alive(), "opensips died (stock={stock})");
        assert_eq!(o.log().matches("CRITICAL").count(), 0, "{}", o.log());
        if !stock {
            // ours loses no memory over rounds of them (one connection; not
            // the one that authenticates: msrp_relay keeps its session)
            let c = std::cell::RefCell::new(msrp::Client::connect(port, "mem"));
            let refused: Vec<&String> = cases
                .iter()
                .zip(&codes)
                .filter(|(_, &st)| st != 200)
                .map(|(h, _)| h)
                .collect();
            let round = || {
                for _ in 0..3 {
                    for h in &refused {
                        let mut c = c.borrow_mut();
                        let to = c.relay.clone();
                        let f = c.frame("AUTH", &to, &[h.to_string()], "");
                        assert_ne!(msrp::status(&f), 0);
                    }
                }
            };
            let (before, after) = memory_over_rounds(&o, &round);
            assert_eq!(before, after, "pkg/shm before {before:?} after {after:?}");
        }
        // msrp_relay's own crash on a non-Digest scheme
        codes.push(send(
            &mut o,
            "basic",
            "Authorization: Basic YWxpY2U6bXNycC1wdw==",
        ));
        // still serving: challenged, then authenticated
        let mut b = msrp::Client::connect(port, "bob");
        let r = b.auth(&[]);
        codes.push(msrp::status(&r) as i32);
        let right = msrp_authz(&b, &r, "bob", "msrp-pw");
        codes.push(msrp::status(&b.auth(&[right])) as i32);
        seen.push(codes);
    }
    assert_eq!(seen[0], seen[1], "stock / ours");
    assert_eq!(
        seen[1],
        [
            400, 400, 400, // missing fields
            400, 403, 200, // duplicates: the last value counts
            403, 400, 403, // 4 KB username, realm, cnonce
            403, 403, // bad hex, short response
            400, 403, // unknown algorithm, unknown qop
            400, 400, 400, 400, 400, // foreign, truncated, non-base64, short, 4 KB nonces
            -1,  // Basic: stock msrp_relay crashes
            401, 200
        ]
    );
}
