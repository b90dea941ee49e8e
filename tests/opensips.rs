//! The OpenSIPS modules through the real `opensips` 3.6.8 (built by
//! scripts/setup-opensips): our uac_auth.so under the stock uac and
//! uac_registrant, answering a second OpenSIPS that challenges with the stock
//! auth + auth_db modules on SQLite, for every algorithm and qop; hostile
//! challenges; ours beside stock on the wire.

mod common;
use common::dialog::Call;
use common::opensips::{
    memory_over_rounds, module, sqlite_db, start_fails, Opensips, PyChallenger,
};
use common::*;

const ALGS: [&str; 6] = [
    "MD5",
    "MD5-sess",
    "SHA-256",
    "SHA-256-sess",
    "SHA-512-256",
    "SHA-512-256-sess",
];
const QOPS: [&str; 3] = ["", "auth", "auth-int"];

/// A second opensips with the stock auth/auth_db on SQLite: challenges every
/// request (407, or 401 with X-Www) with the algorithm and qop named in the
/// request's X-Alg / X-Qop headers (the challenge functions take literals,
/// so the route has one branch per pair), and answers a verified request
/// with 200 carrying `X-Verified: <alg> <qop>` and the credentials it got.
/// REGISTERs are challenged with www_challenge (MD5, qop auth) and saved.
fn challenger() -> Opensips {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("osips-chal-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = sqlite_db(
        &dir,
        &["auth_db"],
        "INSERT INTO subscriber (username, domain, password) VALUES ('alice', 'example.com', 'secret');\n",
    );
    let mut branches = String::new();
    for a in ALGS {
        for q in QOPS {
            // No qop: only the one-argument form (MD5) challenges without
            // qop (stock auth adds qop=auth to every algorithm list).
            let args = if q.is_empty() {
                "\"example.com\"".to_string()
            } else {
                format!("\"example.com\", \"{q}\", \"{a}\"")
            };
            branches += &format!(
                "    if ($hdr(X-Alg) == \"{a}\" && $hdr(X-Qop) == \"{q}\") {{\n\
                 \x20       if (is_present_hf(\"X-Www\")) www_challenge({args});\n\
                 \x20       else proxy_challenge({args});\n\
                 \x20       exit;\n    }}\n"
            );
        }
    }
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth_db", "db_url", "sqlite:/{db}")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("usrloc", "working_mode_preset", "single-instance-no-db")

route {{
    if (is_method("ACK")) exit;
    if (is_method("REGISTER")) {{
        if (!www_authorize("example.com", "subscriber")) {{
            www_challenge("example.com", "auth", "MD5");
            exit;
        }}
        save("location");
        exit;
    }}
    if (has_totag()) {{ sl_send_reply(200, "OK"); exit; }}
    if (is_present_hf("Proxy-Authorization") || is_present_hf("Authorization")) {{
        if (is_present_hf("X-Www")) $var(r) = www_authorize("example.com", "subscriber");
        else $var(r) = proxy_authorize("example.com", "subscriber");
        if ($var(r) > 0) {{
            append_to_reply("X-Verified: $auth.alg $auth.qop\r\n");
            if (is_present_hf("X-Www")) append_to_reply("X-Got-Auth: $hdr(Authorization)\r\n");
            else append_to_reply("X-Got-Auth: $hdr(Proxy-Authorization)\r\n");
            sl_send_reply(200, "Verified");
        }} else {{
            xlog("L_NOTICE", "CHALLENGER: refused ($var(r))\n");
            sl_send_reply(403, "Refused");
        }}
        exit;
    }}
{branches}    sl_send_reply(500, "No Such Challenge");
}}
"#,
        db = db.display()
    );
    Opensips::start(port, &body)
}

/// An opensips proxy with the stock uac and the given uac_auth module,
/// relaying everything to `next` and answering 401/407 with uac_auth().
fn auth_proxy(uac_auth: &str, next: u16, extra: &str) -> Opensips {
    auth_proxy_with(uac_auth, &module("uac", true), "uac_auth()", next, extra)
}

/// The same with a given uac module and uac_auth() call.
fn auth_proxy_with(uac_auth: &str, uac: &str, call: &str, next: u16, extra: &str) -> Opensips {
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "maxfwd.so"
loadmodule "{uac_auth}"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac_auth", "credential", "bob:other.net:nope")
modparam("uac_auth", "credential", "alice:example.com:secret")
{extra}
route {{
    if (has_totag()) {{ if (loose_route()) t_relay(); exit; }}
    record_route();
    if (is_present_hf("X-Inc-Cseq")) {{ t_newtran(); uac_inc_cseq(5); }}
    if (is_present_hf("X-Avp-Cred")) {{
        $avp(arealm) = "avp.realm"; $avp(auser) = "alice"; $avp(apass) = "secret";
    }}
    t_on_failure("auth");
    $du = "sip:127.0.0.1:{next}";
    t_relay();
    exit;
}}

failure_route[auth] {{
    if (t_check_status("401|407")) {{
        if ({call}) {{ $du = "sip:127.0.0.1:{next}"; t_relay(); exit; }}
        xlog("L_NOTICE", "PROXY: uac_auth failed\n");
    }}
}}
"#
    );
    Opensips::start_free(&body)
}

/// A MESSAGE with a body (what qop=auth-int hashes) from `a` via `proxy`.
fn message(a: &Peer, alg: &str, qop: &str, www: bool) -> String {
    let body = "Hello from alice";
    format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{t};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag={t}\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: msg-{t}\r\n\
         CSeq: 1 MESSAGE\r\n\
         X-Alg: {alg}\r\nX-Qop: {qop}\r\n{www}\
         Content-Type: text/plain\r\n\
         Content-Length: {len}\r\n\r\n{body}",
        p = a.port,
        t = rand_tag(),
        www = if www { "X-Www: 1\r\n" } else { "" },
        len = body.len(),
    )
}

/// The Authorization value with the values that differ per run (nonce,
/// cnonce, response) blanked: what must be the same for ours and stock.
fn shape(auth: &str) -> String {
    let mut out = Vec::new();
    for part in auth.split(", ") {
        let (k, _) = part.split_once('=').unwrap_or((part, ""));
        let k = k.trim();
        if ["nonce", "cnonce", "response"].contains(&k) || k.ends_with(" nonce") {
            out.push(format!("{k}=*"));
        } else {
            out.push(part.to_string());
        }
    }
    out.join(", ")
}

/// Sends one authenticated MESSAGE per (algorithm, qop) through the proxy;
/// returns the Authorization shapes the challenger verified.
fn every_algorithm_and_qop(stock: bool, www: bool) -> Vec<String> {
    every_algorithm_and_qop_with(stock, true, www)
}

fn every_algorithm_and_qop_with(stock: bool, stock_uac: bool, www: bool) -> Vec<String> {
    let chal = challenger();
    let proxy = auth_proxy_with(
        &module("uac_auth", stock),
        &module("uac", stock_uac),
        "uac_auth()",
        chal.port,
        "",
    );
    let a = Peer::new();
    let mut shapes = Vec::new();
    for alg in ALGS {
        for qop in QOPS {
            if alg != "MD5" && qop.is_empty() {
                continue; // stock auth challenges only MD5 without qop
            }
            a.send(proxy.port, &message(&a, alg, qop, www));
            let r = a.recv();
            assert_eq!(r.status(), Some(200), "{alg}/{qop}: {}", r.raw);
            let want_qop = if qop.is_empty() { "<null>" } else { qop };
            let verified = r.hdr("X-Verified");
            assert_eq!(verified, format!("{alg} {want_qop}"), "{alg}/{qop}");
            let got = r.hdr("X-Got-Auth");
            if !stock {
                // our cnonce: 32 hex digits from the OS random source
                if !qop.is_empty() {
                    let c = got.split("cnonce=\"").nth(1).unwrap();
                    let c = &c[..c.find('"').unwrap()];
                    assert_eq!(c.len(), 32, "{got}");
                    assert!(c.bytes().all(|b| b.is_ascii_hexdigit()), "{got}");
                }
            }
            shapes.push(shape(got));
        }
    }
    assert!(!proxy.log().contains("CRITICAL"), "{}", proxy.log());
    shapes
}

#[test]
fn stock_uac_with_our_uac_auth_answers_every_algorithm_and_qop() {
    let ours = every_algorithm_and_qop(false, false);
    assert_eq!(ours.len(), 13);
    eprintln!("{ours:#?}");
}

#[test]
fn www_authenticate_401_is_answered_with_authorization() {
    let shapes = every_algorithm_and_qop(false, true);
    assert!(
        shapes
            .iter()
            .all(|s| s.starts_with("Digest username=\"alice\"")),
        "{shapes:?}"
    );
}

#[test]
fn authorization_headers_match_stock_apart_from_cnonce() {
    let ours = every_algorithm_and_qop(false, false);
    let stock = every_algorithm_and_qop(true, false);
    assert_eq!(ours, stock);
}

/// The stock uac_registrant registers through our uac_auth against the
/// challenging registrar (www_challenge, auth_db on SQLite, save() into
/// usrloc); MI reg_list shows the record registered.
#[test]
fn stock_uac_registrant_registers_with_our_uac_auth() {
    let chal = challenger();
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("osips-reg-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = sqlite_db(
        &dir,
        &["registrant"],
        &format!(
            "INSERT INTO registrant (registrar, aor, username, password, binding_URI, expiry) \
             VALUES ('sip:127.0.0.1:{}', 'sip:alice@example.com', 'alice', 'secret', \
             'sip:alice@127.0.0.1:{port}', 120);\n",
            chal.port
        ),
    );
    let body = format!(
        r#"loadmodule "tm.so"
loadmodule "db_sqlite.so"
loadmodule "{uac_auth}"
loadmodule "uac_registrant.so"
modparam("uac_registrant", "db_url", "sqlite:/{db}")
modparam("uac_registrant", "timer_interval", 10)
route {{ exit; }}
"#,
        uac_auth = module("uac_auth", false),
        db = db.display()
    );
    let reg = Opensips::start(port, &body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
    let mut list = String::new();
    while std::time::Instant::now() < deadline {
        list = reg.mi("reg_list", "{}");
        if list.contains("REGISTERED_STATE") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(
        list.contains("REGISTERED_STATE"),
        "reg_list: {list}\nregistrar log:\n{}",
        chal.log()
    );
    assert!(list.contains("sip:alice@example.com"), "{list}");
    // the registrar challenges every unauthenticated REGISTER: it was answered
    assert!(!reg.log().contains("ERROR:uac_auth"), "{}", reg.log());
}

/// Hostile or unusable challenges relayed to our uac_auth through the stock
/// uac: each fails cleanly (the 407 reaches the caller, one log line), the
/// workers live on and shared/private memory is where it started.
#[test]
fn hostile_challenges_fail_cleanly() {
    let big = "n".repeat(3000);
    let cases: Vec<(String, &str)> = vec![
        // -sess without qop: no cnonce to hash (stock dereferences NULL)
        (
            "Digest realm=\"example.com\", nonce=\"abc\", algorithm=MD5-sess".into(),
            "MD5-sess challenge without qop",
        ),
        // unknown algorithm: the core finds no supported challenge
        (
            "Digest realm=\"example.com\", nonce=\"abc\", algorithm=SHA-1".into(),
            "uac_auth failed",
        ),
        // no nonce
        (
            "Digest realm=\"example.com\", qop=\"auth\"".into(),
            "uac_auth failed",
        ),
        // a realm we have no credential for
        (
            "Digest realm=\"nowhere.net\", nonce=\"abc\"".into(),
            "uac_auth failed",
        ),
        // oversized nonce: answered (verified by the challenger), nothing lost
        (
            format!("Digest realm=\"example.com\", nonce=\"{big}\", qop=\"auth\""),
            "",
        ),
    ];
    for (ch, expect_log) in cases {
        eprintln!("CASE {}", &ch[..ch.len().min(80)]);
        let py = PyChallenger::start(407, &[&ch]);
        let proxy = auth_proxy(
            &module("uac_auth", false),
            py.port,
            "modparam(\"tm\", \"wt_timer\", 2)",
        );
        let a = Peer::new();
        let call = || {
            a.send(proxy.port, &message(&a, "MD5", "auth", false));
            let r = a.recv();
            let want = if expect_log.is_empty() { 200 } else { 407 };
            assert_eq!(r.status(), Some(want), "{ch}: {}", r.raw);
        };
        // Two rounds: memory after the second is where the first left it
        // (a one-off allocation of the core in the first round is no loss).
        let (before, after) = memory_over_rounds(&proxy, &|| {
            for _ in 0..20 {
                call();
            }
        });
        if !expect_log.is_empty() {
            assert!(
                proxy.wait_log(expect_log, 1, 3) >= 1,
                "{ch}: no '{expect_log}' in log:\n{}",
                proxy.log()
            );
        }
        let log = proxy.log();
        assert!(
            !log.contains("CRITICAL") && !log.contains("internal error"),
            "{log}"
        );
        assert_eq!(before, after, "{ch}: memory (shm, pkg) changed");
        drop(proxy);
        let out = py.finish();
        assert!(!out.contains("verified=False"), "{out}");
    }
}

/// A long run of authenticated calls (SHA-256, qop auth) ends with the
/// proxy's pkg and shm use where it started, ours beside stock.
#[test]
fn memory_stable_over_authenticated_calls_ours_and_stock() {
    // (our uac_auth under stock uac), (stock pair), (our pair)
    for (stock, stock_uac) in [(false, true), (true, true), (false, false)] {
        let chal = challenger();
        let proxy = auth_proxy_with(
            &module("uac_auth", stock),
            &module("uac", stock_uac),
            "uac_auth()",
            chal.port,
            "modparam(\"tm\", \"wt_timer\", 2)",
        );
        let a = Peer::new();
        let round = || {
            for _ in 0..100 {
                a.send(proxy.port, &message(&a, "SHA-256", "auth", false));
                let r = a.recv();
                assert_eq!(r.status(), Some(200), "{}", r.raw);
            }
        };
        let (before, after) = memory_over_rounds(&proxy, &|| {
            round();
            round();
        });
        eprintln!(
            "{} uac_auth, {} uac: shm {} -> {}, pkg {} -> {} after 200 authenticated calls",
            if stock { "stock" } else { "ours" },
            if stock_uac { "stock" } else { "ours" },
            before.0,
            after.0,
            before.1,
            after.1
        );
        assert_eq!(
            before, after,
            "memory (shm, pkg) changed, stock={stock}/{stock_uac}"
        );
    }
}

// ---- our uac.so: From/To replacement and restore ----

const ALICE: &str = "\"Alice\" <sip:alice@a.example.com>";
const BOB: &str = "<sip:bob@b.example.com>";

/// A proxy with `uac` (ours or stock) replacing From and To of initial
/// INVITEs and restoring them in the dialog (`mode` manual or auto).
fn replace_proxy(port: u16, stock: bool, mode: &str, passwd: &str) -> Opensips {
    replace_proxy_with(port, stock, mode, passwd, "")
}

/// The same with more module lines (e.g. the dialog module).
fn replace_proxy_with(port: u16, stock: bool, mode: &str, passwd: &str, more: &str) -> Opensips {
    replace_proxy_cfg(port, stock, mode, passwd, more, "")
}

/// The same with script lines run before the replacement (create_dialog()).
fn replace_proxy_cfg(
    port: u16,
    stock: bool,
    mode: &str,
    passwd: &str,
    more: &str,
    before: &str,
) -> Opensips {
    // the uac's own modparam lines must follow its loadmodule
    let (uac_more, more): (Vec<&str>, Vec<&str>) =
        more.lines().partition(|l| l.contains("modparam(\"uac\""));
    let (uac_more, more) = (uac_more.join("\n"), more.join("\n"));
    let restore = if mode == "manual" {
        "uac_restore_from(); uac_restore_to();"
    } else {
        ""
    };
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
{more}
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac", "restore_mode", "{mode}")
modparam("uac", "restore_passwd", "{passwd}")
{uac_more}
route {{
    if (has_totag()) {{
        if (loose_route()) {{ {restore} t_relay(); }}
        exit;
    }}
    record_route();
    if (is_method("INVITE")) {{
        {before}
        uac_replace_from("Anonymous", "sip:anonymous@anonymous.invalid");
        uac_replace_to(, "sip:hidden@b.invalid");
    }}
    t_relay();
}}
"#,
        uac = module("uac", stock)
    );
    Opensips::start(port, &body)
}

/// The value of a Record-Route parameter ("" when absent).
fn rr_param(rr: &str, name: &str) -> String {
    rr.split(';')
        .find_map(|p| p.trim_end_matches('>').strip_prefix(&format!("{name}=")))
        .unwrap_or("")
        .to_string()
}

/// What reaches each end of one call through the proxy, tags left out:
/// (From/To at B for the INVITE, the vsf/vst values, From/To at A for the
/// 200, From/To at B for an INFO from A, From/To at A for an INFO from B).
fn call_through(port: u16) -> Vec<String> {
    let a = Peer::new();
    let b = Peer::new();
    let mut call = Call::invite(port, &a, &b, ALICE, BOB, &[]);
    let strip = |v: &str| v.split(";tag=").next().unwrap().to_string();
    let inv = &call.invite_at_b;
    let rr = inv.hdr("Record-Route").to_string();
    let mut seen = vec![
        strip(inv.hdr("From")),
        strip(inv.hdr("To")),
        rr_param(&rr, "vsf"),
        rr_param(&rr, "vst"),
        strip(call.ok_at_a.hdr("From")),
        strip(call.ok_at_a.hdr("To")),
    ];
    call.ack();
    let (at_b, _) = call.send_from_a("INFO");
    seen.push(strip(at_b.hdr("From")));
    seen.push(strip(at_b.hdr("To")));
    let (at_a, _) = call.send_from_b("INFO");
    seen.push(strip(at_a.hdr("From")));
    seen.push(strip(at_a.hdr("To")));
    // ends the dialog (the dialog module frees it)
    let (at_b, _) = call.send_from_a("BYE");
    seen.push(strip(at_b.hdr("From")));
    // how many parameters the Record-Route carries (one per header at most)
    seen.push(format!(
        "vsf x{} vst x{}",
        rr.matches(";vsf=").count(),
        rr.matches(";vst=").count()
    ));
    seen
}

/// `call_through` a proxy started by `start(stock)`, ours then stock; each
/// proxy's log free of errors.
fn ours_then_stock(start: impl Fn(bool) -> Opensips) -> Vec<Vec<String>> {
    [false, true]
        .into_iter()
        .map(|stock| {
            let p = start(stock);
            let seen = call_through(p.port);
            assert!(!p.log().contains("ERROR"), "{}", p.log());
            seen
        })
        .collect()
}

/// What `call_through` saw with our proxy replacing From and To: the new
/// values in the INVITE, the caller's own in the 200, the URIs (only) changed
/// both ways inside the dialog; `in_dialog`: no vsf/vst in Record-Route.
fn assert_replaced_call(ours: &[String], in_dialog: bool, what: &str) {
    assert_eq!(
        ours[0], "Anonymous <sip:anonymous@anonymous.invalid>",
        "{what}"
    );
    assert_eq!(ours[1], "<sip:hidden@b.invalid>", "{what}");
    if in_dialog {
        assert_eq!(
            (ours[2].as_str(), ours[3].as_str()),
            ("", ""),
            "the dialog keeps the URIs, not Record-Route ({what})"
        );
        assert_eq!(ours[11], "vsf x0 vst x0", "{what}");
    } else {
        assert_eq!(ours[11], "vsf x1 vst x1", "{what}");
    }
    assert_eq!(ours[4], ALICE, "reply From restored ({what})");
    assert_eq!(ours[5], BOB, "reply To restored ({what})");
    // in the dialog only the URIs change (the display stays as sent)
    assert_eq!(
        angle_uri(&ours[6]),
        "sip:anonymous@anonymous.invalid",
        "{what}"
    );
    assert_eq!(angle_uri(&ours[7]), "sip:hidden@b.invalid", "{what}");
    assert_eq!(angle_uri(&ours[8]), "sip:bob@b.example.com", "{what}");
    assert_eq!(angle_uri(&ours[9]), "sip:alice@a.example.com", "{what}");
}

#[test]
fn replace_and_restore_match_stock_on_the_wire() {
    // with and without the dialog module loaded (no dialog created: both
    // keep the URIs in Record-Route)
    for (mode, dialog) in [
        ("auto", ""),
        ("manual", ""),
        ("auto", "loadmodule \"dialog.so\""),
    ] {
        for passwd in ["", "s3cr3t"] {
            let got = ours_then_stock(|stock| {
                replace_proxy_with(free_port(), stock, mode, passwd, dialog)
            });
            assert_replaced_call(&got[0], false, mode);
            assert_eq!(
                got[0], got[1],
                "ours vs stock, mode {mode}, passwd {passwd:?}"
            );
        }
    }
}

/// A dialog whose From/To a stock node replaced is restored by ours after a
/// restart in the middle of the dialog, and the other way round; with and
/// without the dialog module loaded (no dialog created: Record-Route keeps
/// the URIs; with a dialog see restart_mid_dialog_with_the_dialog_in_a_database).
#[test]
fn restart_mid_dialog_between_stock_and_ours() {
    for dialog in ["", "loadmodule \"dialog.so\""] {
        for (first_stock, mode) in [
            (true, "auto"),
            (false, "auto"),
            (true, "manual"),
            (false, "manual"),
        ] {
            let port = free_port();
            let a = Peer::new();
            let b = Peer::new();
            let mut p = replace_proxy_with(port, first_stock, mode, "pw", dialog);
            let mut call = Call::invite(port, &a, &b, ALICE, BOB, &[]);
            call.ack();
            p.stop();
            drop(p);
            let p2 = replace_proxy_with(port, !first_stock, mode, "pw", dialog);
            let what = format!("{mode}, stock first: {first_stock}, {dialog:?}");
            assert_restored_both_ways(&mut call, &what);
            assert!(!p2.log().contains("ERROR"), "{}", p2.log());
        }
    }
}

/// An INFO from A reaches B with the replaced URIs; one from B reaches A
/// with the original ones.
fn assert_restored_both_ways(call: &mut Call, what: &str) {
    let (at_b, _) = call.send_from_a("INFO");
    assert_eq!(
        angle_uri(at_b.hdr("From")),
        "sip:anonymous@anonymous.invalid",
        "{what}"
    );
    assert_eq!(angle_uri(at_b.hdr("To")), "sip:hidden@b.invalid", "{what}");
    let (at_a, _) = call.send_from_b("INFO");
    assert_eq!(
        angle_uri(at_a.hdr("To")),
        "sip:alice@a.example.com",
        "{what}"
    );
    assert_eq!(
        angle_uri(at_a.hdr("From")),
        "sip:bob@b.example.com",
        "{what}"
    );
}

/// With a dialog (the script's create_dialog(), or force_dialog making one)
/// the replaced URIs live in the dialog, not in Record-Route: the far ends
/// see what stock shows them, in the INVITE, its reply and requests both ways.
#[test]
fn replace_with_a_dialog_matches_stock_on_the_wire() {
    let dialog = "loadmodule \"dialog.so\"";
    let forced = format!("{dialog}\nmodparam(\"uac\", \"force_dialog\", 1)");
    for (what, more, before) in [
        ("create_dialog()", dialog.to_string(), "create_dialog();"),
        ("force_dialog", forced, ""),
    ] {
        let got = ours_then_stock(|stock| {
            replace_proxy_cfg(free_port(), stock, "auto", "pw", &more, before)
        });
        assert_replaced_call(&got[0], true, what);
        assert_eq!(got[0], got[1], "ours vs stock ({what})");
    }
}

/// uac_replace_*() in a branch route with a dialog: the original URIs wait
/// in branch AVPs and move into the dialog with the 2xx; the same as stock.
#[test]
fn replace_in_a_branch_route_with_a_dialog_matches_stock() {
    let got = ours_then_stock(|stock| {
        let body = format!(
            r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "dialog.so"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac", "restore_mode", "auto")
route {{
    if (has_totag()) {{
        if (loose_route()) t_relay();
        exit;
    }}
    record_route();
    create_dialog();
    t_on_branch("rep");
    t_relay();
}}
branch_route[rep] {{
    uac_replace_from("Anonymous", "sip:anonymous@anonymous.invalid");
    uac_replace_to(, "sip:hidden@b.invalid");
}}
"#,
            uac = module("uac", stock)
        );
        Opensips::start_free(&body)
    });
    assert_replaced_call(&got[0], true, "branch route");
    assert_eq!(got[0], got[1], "ours vs stock");
}

/// Manual mode with uac_auth() in the script (which loads the dialog API)
/// and a dialog: stock has no branch AVP spec outside auto mode, so it logs
/// "cannot store branch avp" and keeps only the new URIs: a request from the
/// callee keeps the replaced URI in To. Ours keeps both and restores it.
#[test]
fn manual_mode_with_uac_auth_and_a_dialog_keeps_the_original_uri() {
    let mut seen = Vec::new();
    for stock in [false, true] {
        let more = format!(
            "loadmodule \"dialog.so\"\nloadmodule \"{}\"",
            module("uac_auth", false)
        );
        let p = replace_proxy_cfg(
            free_port(),
            stock,
            "manual",
            "",
            &more,
            "create_dialog(); if (0) uac_auth();",
        );
        let got = call_through(p.port);
        let log = p.log();
        seen.push((got, log.contains("cannot store branch avp")));
    }
    let (ours, ours_err) = &seen[0];
    let (stock, stock_err) = &seen[1];
    assert!(!ours_err);
    assert_eq!(angle_uri(&ours[9]), "sip:alice@a.example.com", "{ours:?}");
    assert!(stock_err, "stock defect no longer seen");
    assert_eq!(
        angle_uri(&stock[9]),
        "sip:anonymous@anonymous.invalid",
        "{stock:?}"
    );
}

/// force_dialog without the dialog module stops start-up (as stock).
#[test]
fn force_dialog_without_the_dialog_module_stops_start_up() {
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac", "force_dialog", 1)
route {{ uac_replace_from(, "sip:x@y.invalid"); }}
"#,
        uac = module("uac", false)
    );
    let log = start_fails(&body);
    assert!(
        log.contains("cannot force dialog. dialog module not loaded"),
        "{log}"
    );
}

/// The dialog module keeping its dialogs in SQLite (db_mode 1): a dialog
/// whose URIs the stock module put in the dialog is continued by ours after
/// a restart, and the other way round.
#[test]
fn restart_mid_dialog_with_the_dialog_in_a_database() {
    for first_stock in [true, false] {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("osips-dlgdb-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = sqlite_db(&dir, &["dialog"], "");
        let more = format!(
            "loadmodule \"db_sqlite.so\"\nloadmodule \"dialog.so\"\n\
             modparam(\"dialog\", \"db_mode\", 1)\n\
             modparam(\"dialog\", \"db_url\", \"sqlite:/{}\")",
            db.display()
        );
        let what = format!("stock first: {first_stock}");
        let a = Peer::new();
        let b = Peer::new();
        let mut p = replace_proxy_cfg(port, first_stock, "auto", "pw", &more, "create_dialog();");
        let mut call = Call::invite(port, &a, &b, ALICE, BOB, &[]);
        call.ack();
        let rr = call.invite_at_b.hdr("Record-Route").to_string();
        assert_eq!(rr_param(&rr, "vsf"), "", "URIs in the dialog ({what})");
        p.stop();
        drop(p);
        let vars = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg("SELECT hex(vars) FROM dialog")
            .output()
            .unwrap();
        let vars = String::from_utf8_lossy(&vars.stdout).to_string();
        // "739823" and "739824" (the new URIs' names) in hex
        assert!(
            vars.contains("373339383233") && vars.contains("373339383234"),
            "dialog values saved ({what}): {vars}"
        );
        let p2 = replace_proxy_cfg(port, !first_stock, "auto", "pw", &more, "create_dialog();");
        assert_restored_both_ways(&mut call, &what);
        let (at_b, _) = call.send_from_a("BYE");
        assert_eq!(
            angle_uri(at_b.hdr("From")),
            "sip:anonymous@anonymous.invalid",
            "BYE ({what})"
        );
        assert!(!p2.log().contains("ERROR"), "{}", p2.log());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Beyond stock: a dialog value that is not a URI (here changed in the
/// dialog database while OpenSIPS was down) is not written into a request:
/// one log line, the header stays as it came.
#[test]
fn tampered_dialog_value_is_not_restored() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("osips-dlgbad-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = sqlite_db(&dir, &["dialog"], "");
    let more = format!(
        "loadmodule \"db_sqlite.so\"\nloadmodule \"dialog.so\"\n\
         modparam(\"dialog\", \"db_mode\", 1)\n\
         modparam(\"dialog\", \"db_url\", \"sqlite:/{}\")",
        db.display()
    );
    let (a, b) = (Peer::new(), Peer::new());
    let mut p = replace_proxy_cfg(port, false, "auto", "", &more, "create_dialog();");
    let mut call = Call::invite(port, &a, &b, ALICE, BOB, &[]);
    call.ack();
    p.stop();
    drop(p);
    // same length, so the stored record stays well-formed
    let sql = "UPDATE dialog SET vars = CAST(replace(CAST(vars AS TEXT), \
               'sip:alice@a.example.com', 'sip:alice@a.exa\"\r\nX: 1') AS BLOB);";
    let st = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(sql)
        .status()
        .unwrap();
    assert!(st.success());
    let p2 = replace_proxy_cfg(port, false, "auto", "", &more, "create_dialog();");
    let (at_a, _) = call.send_from_b("INFO");
    // To (A's From as B uses it) is not restored to the tampered value
    assert_eq!(angle_uri(at_a.hdr("To")), "sip:anonymous@anonymous.invalid");
    assert!(!at_a.raw.contains("X: 1"), "{}", at_a.raw);
    // (one line per registered callback: the dialog module may hand a
    // loaded dialog to the load callback twice, for stock as for ours)
    assert!(p2.wait_log("is not a URI", 1, 5) >= 1, "{}", p2.log());
    // the other direction still gets the new URI
    let (at_b, _) = call.send_from_a("INFO");
    assert_eq!(
        angle_uri(at_b.hdr("From")),
        "sip:anonymous@anonymous.invalid"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// restore_mode none: replaced one way, nothing in Record-Route, nothing
/// restored; the same as stock.
#[test]
fn restore_mode_none_matches_stock() {
    let got = ours_then_stock(|stock| replace_proxy(free_port(), stock, "none", ""));
    assert_eq!(got[0][0], "Anonymous <sip:anonymous@anonymous.invalid>");
    assert_eq!((got[0][2].as_str(), got[0][3].as_str()), ("", ""));
    assert_eq!(got[0], got[1]);
}

/// Bad input to our uac: a tampered or truncated Record-Route parameter, a
/// bad URI or display from the script, a second replace, a malformed From.
/// Each fails with one log line, the message goes on untouched, the workers
/// live on and memory is where it started.
#[test]
fn uac_bad_input_fails_cleanly() {
    let port = free_port();
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac", "restore_mode", "manual")
modparam("tm", "wt_timer", 2)
route {{
    if (has_totag()) {{
        if (loose_route()) {{
            if (!uac_restore_from()) xlog("L_NOTICE", "RESTORE-FROM failed\n");
            t_relay();
        }}
        exit;
    }}
    if ($hdr(X-Case) == "bad-uri") {{
        if (!uac_replace_from("Anon", "not a uri")) xlog("L_NOTICE", "CASE failed\n");
    }} else if ($hdr(X-Case) == "bad-display") {{
        if (!uac_replace_from("A\"B", "sip:a@b")) xlog("L_NOTICE", "CASE failed\n");
    }} else if ($hdr(X-Case) == "replace") {{
        if (!uac_replace_from("Anon", "sip:anon@x.invalid")) xlog("L_NOTICE", "CASE failed\n");
    }} else if ($hdr(X-Case) == "twice") {{
        uac_replace_from("One", "sip:one@x.invalid");
        if (!uac_replace_from("Two", "sip:two@x.invalid")) xlog("L_NOTICE", "CASE failed\n");
    }}
    t_relay();
}}
"#,
        uac = module("uac", false)
    );
    let p = Opensips::start(port, &body);
    let a = Peer::new();
    let b = Peer::new();
    let send = |case: &str, from: &str, route: Option<&str>| -> Msg {
        let mut extra = vec![format!("X-Case: {case}")];
        if let Some(r) = route {
            extra.push(format!("Route: {r}"));
        }
        let to = if route.is_some() {
            format!("{BOB};tag=b1")
        } else {
            BOB.to_string()
        };
        let req = request(
            "MESSAGE",
            &format!("sip:bob@127.0.0.1:{}", b.port),
            a.port,
            from,
            &to,
            &format!("bad-{}", rand_tag()),
            1,
            &extra,
        );
        a.send(port, &req);
        let at_b = b.recv();
        b.send(port, &b.reply(&at_b, 200, "b1", false));
        let r = a.recv();
        assert_eq!(r.status(), Some(200), "{case}: {}", r.raw);
        at_b
    };
    let from = format!("{ALICE};tag=a1");
    let rr = |v: &str| format!("<sip:127.0.0.1:{port};lr;ftag=a1;vsf={v}>");
    let run = |n: usize| {
        for _ in 0..n {
            for case in ["bad-uri", "bad-display"] {
                let at_b = send(case, &from, None);
                assert_eq!(at_b.hdr("From"), from, "{case}: message changed");
            }
            // a From the core cannot parse
            let bad_from = "\"Alice <sip:alice@a.example.com>;tag=a1";
            let at_b = send("replace", bad_from, None);
            assert_eq!(
                at_b.hdr("From"),
                bad_from,
                "malformed From: message changed"
            );
            // beyond stock: the second call's values win
            let at_b = send("twice", &from, None);
            assert_eq!(
                at_b.hdr("From").split(";tag=").next().unwrap(),
                "Two <sip:two@x.invalid>"
            );
            for v in ["!!!!garbage", "AAAA", "", "QUJD", &"A".repeat(3000)] {
                let at_b = send("none", &from, Some(&rr(v)));
                assert_eq!(at_b.hdr("From"), from, "vsf={v}: message changed");
            }
        }
    };
    let (before, after) = memory_over_rounds(&p, &|| run(3));
    assert_eq!(before, after, "memory (shm, pkg) changed");
    let log = p.log();
    assert!(log.contains("bad new URI"), "{log}");
    assert!(log.contains("bad display name"), "{log}");
    assert!(log.contains("failed to decode uri"), "{log}");
    assert!(log.contains("failed to find/parse FROM hdr"), "{log}");
    assert!(
        !log.contains("CRITICAL") && !log.contains("internal error"),
        "{log}"
    );
}

/// examples/opensips-uac.cfg (what `make run-opensips` runs) starts with our
/// modules and anonymises a call.
#[test]
fn example_cfg_runs() {
    let port = free_port();
    let b = Peer::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = std::fs::read_to_string(format!("{root}/examples/opensips-uac.cfg"))
        .unwrap()
        .replace("UAC_AUTH_MODULE", &module("uac_auth", false))
        .replace("UAC_MODULE", &module("uac", false))
        .replace("NEXT_HOP", &format!("sip:127.0.0.1:{}", b.port))
        .replace("RESTORE_MODE", "auto")
        .replace("RESTORE_PASSWD", "");
    // the harness adds the global settings and mi_fifo itself
    let body: String = cfg
        .lines()
        .filter(|l| {
            !l.starts_with("log_level")
                && !l.starts_with("stderror_enabled")
                && !l.starts_with("syslog_enabled")
                && !l.starts_with("udp_workers")
                && !l.starts_with("socket=")
                && !l.starts_with("mpath=")
                && !l.contains("proto_udp.so")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let p = Opensips::start(port, &body);
    let a = Peer::new();
    let call = Call::invite(p.port, &a, &b, ALICE, BOB, &[]);
    assert_eq!(
        angle_uri(call.invite_at_b.hdr("From")),
        "sip:anonymous@anonymous.invalid"
    );
    assert_eq!(
        angle_uri(call.ok_at_a.hdr("From")),
        "sip:alice@a.example.com"
    );
}

// ---- uac_auth() and uac_inc_cseq() of our uac ----

#[test]
fn our_uac_with_our_uac_auth_answers_every_algorithm_and_qop() {
    let ours = every_algorithm_and_qop_with(false, false, false);
    let www = every_algorithm_and_qop_with(false, false, true);
    assert_eq!((ours.len(), www.len()), (13, 13));
    // same header fields as the stock pair
    assert_eq!(ours, every_algorithm_and_qop(true, false));
}

/// Several challenges in one reply: ours answers the strongest it supports
/// (stock takes the first), within uac_auth()'s algorithm list.
#[test]
fn our_uac_answers_the_strongest_of_several_challenges() {
    let chs = [
        "Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\", algorithm=MD5",
        "Digest realm=\"example.com\", nonce=\"n2\", qop=\"auth-int\", algorithm=SHA-512-256-sess",
        "Digest realm=\"example.com\", nonce=\"n3\", qop=\"auth\", algorithm=SHA-256",
    ];
    for (call, want) in [
        (
            "uac_auth()",
            "algorithm=SHA-512-256-sess qop=auth-int nonce=n2",
        ),
        (
            "uac_auth(\"MD5,SHA-256\")",
            "algorithm=SHA-256 qop=auth nonce=n3",
        ),
        ("uac_auth(\"MD5\")", "algorithm=MD5 qop=auth nonce=n1"),
    ] {
        let py = PyChallenger::start(407, &chs);
        let proxy = auth_proxy_with(
            &module("uac_auth", false),
            &module("uac", false),
            call,
            py.port,
            "",
        );
        let a = Peer::new();
        a.send(proxy.port, &message(&a, "", "", false));
        let r = a.recv();
        assert_eq!(r.status(), Some(200), "{call}: {}", r.raw);
        drop(proxy);
        let out = py.finish();
        assert!(
            out.contains(&format!("verified=True {want}")),
            "{call}: {out}"
        );
    }
}

/// uac_inc_cseq(5): the next hop sees CSeq + 5, the caller gets its own back.
#[test]
fn uac_inc_cseq_raises_cseq_and_restores_it_in_the_reply() {
    for stock in [false, true] {
        let b = Peer::new();
        let uac = module("uac", stock);
        let proxy = auth_proxy_with(&module("uac_auth", false), &uac, "uac_auth()", b.port, "");
        let a = Peer::new();
        let mut m = message(&a, "", "", false);
        m = m.replacen("CSeq: 1 MESSAGE", "CSeq: 7 MESSAGE\r\nX-Inc-Cseq: 1", 1);
        a.send(proxy.port, &m);
        let at_b = b.recv();
        assert_eq!(at_b.hdr("CSeq"), "12 MESSAGE", "stock={stock}");
        b.send(proxy.port, &b.reply(&at_b, 200, "b1", false));
        let r = a.recv();
        assert_eq!(r.hdr("CSeq"), "7 MESSAGE", "stock={stock}");
    }
}

/// The stock modules that bind to uac_auth load against ours unchanged
/// (uac, uac_registrant, b2b_entities, msrp_ua with a relay).
#[test]
fn stock_modules_bind_to_our_uac_auth() {
    let port = free_port();
    let msrp = free_port();
    let dir = std::env::temp_dir().join(format!("osips-bind-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = sqlite_db(&dir, &["registrant"], "");
    let body = format!(
        r#"loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "db_sqlite.so"
loadmodule "{uac_auth}"
loadmodule "uac.so"
loadmodule "uac_registrant.so"
loadmodule "b2b_entities.so"
loadmodule "proto_msrp.so"
loadmodule "msrp_ua.so"
socket=msrp:127.0.0.1:{msrp}
modparam("msrp_ua", "my_uri", "msrp://127.0.0.1:{msrp};tcp")
modparam("msrp_ua", "relay_uri", "msrp://127.0.0.1:{msrp};tcp")
modparam("rr", "append_fromtag", 1)
modparam("uac_registrant", "db_url", "sqlite:/{db}")
route {{ if (uac_auth()) exit; }}
"#,
        uac_auth = module("uac_auth", false),
        db = db.display()
    );
    let mut o = Opensips::start(port, &body);
    assert!(o.alive());
    let log = o.log();
    // (stock uac logs "Can't load dlg API" without the dialog module: harmless)
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| (l.contains("ERROR") || l.contains("CRITICAL")) && !l.contains("dlg API"))
        .collect();
    assert!(bad.is_empty(), "{log}");
}

/// A panic inside our module is caught at the entry point: logged, the
/// function fails, the worker goes on serving.
#[test]
fn panic_never_reaches_opensips() {
    let b = Peer::new();
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "{uac}"
modparam("uac", "panic_probe", 1)
modparam("uac", "restore_mode", "none")
route {{
    if (!uac_panic_probe()) xlog("L_NOTICE", "PROBE returned false\n");
    $du = "sip:127.0.0.1:{b}";
    t_relay();
}}
"#,
        uac = module("uac", false),
        b = b.port
    );
    let mut p = Opensips::start_free(&body);
    let a = Peer::new();
    for _ in 0..4 {
        a.send(p.port, &message(&a, "", "", false));
        let at_b = b.recv();
        b.send(p.port, &b.reply(&at_b, 200, "b1", false));
        assert_eq!(a.recv().status(), Some(200));
    }
    assert!(p.alive());
    assert_eq!(
        p.wait_log("internal error in uac_panic_probe", 4, 3),
        4,
        "{}",
        p.log()
    );
    assert_eq!(p.wait_log("PROBE returned false", 4, 3), 4);
}

/// Beyond stock: uac_replace_from/to twice for one request: the second
/// values reach the far end and the dialog restores against them, in both
/// restore modes and directions, and with a dialog keeping the URIs.
#[test]
fn replace_twice_for_one_request() {
    for (mode, dialog) in [("auto", false), ("manual", false), ("auto", true)] {
        let (more, create) = if dialog {
            ("loadmodule \"dialog.so\"", "create_dialog();")
        } else {
            ("", "")
        };
        // a first replacement; replace_proxy_cfg's own is the second
        let first = format!(
            "{create}\n        uac_replace_from(\"First\", \"sip:first@x.invalid\");\n        \
             uac_replace_to(, \"sip:first-to@x.invalid\");"
        );
        let p = replace_proxy_cfg(free_port(), false, mode, "pw", more, &first);
        let what = format!("{mode}, dialog: {dialog}");
        assert_replaced_call(&call_through(p.port), dialog, &what);
        let log = p.log();
        assert!(!log.contains("ERROR"), "{log}");
    }
}

/// Hostile 401/407 challenges to our uac's uac_auth() (our parser sees the
/// raw headers): each fails with one log line, the 407 reaches the caller,
/// workers live on, memory is where it started.
#[test]
fn our_uac_refuses_hostile_challenges_cleanly() {
    let big = "n".repeat(3000);
    let cases: Vec<(String, &str)> = vec![
        (
            "Digest realm=\"example.com\", nonce=\"a\", nonce=\"b\", qop=\"auth\"".into(),
            "repeated",
        ),
        (
            format!("Digest realm=\"example.com\", nonce=\"{big}\", qop=\"auth\""),
            "longer than",
        ),
        (
            "Digest realm=\"example.com\", nonce=\"abc\", algorithm=SHA-1".into(),
            "no supported challenge",
        ),
        (
            "Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth-conf\"".into(),
            "no supported challenge",
        ),
        (
            "Digest realm=\"example.com\", qop=\"auth\"".into(),
            "challenge has no nonce",
        ),
        (
            "Digest realm=\"example.com\", nonce=\"abc, qop=\"auth\"".into(),
            "malformed",
        ),
        (
            "Digest realm=\"example.com\", nonce=\"abc\", algorithm=MD5-sess".into(),
            "without qop",
        ),
        (
            "Basic realm=\"example.com\"".into(),
            "no supported challenge",
        ),
    ];
    for (ch, expect_log) in cases {
        let py = PyChallenger::start(407, &[&ch]);
        let proxy = auth_proxy_with(
            &module("uac_auth", false),
            &module("uac", false),
            "uac_auth()",
            py.port,
            "modparam(\"tm\", \"wt_timer\", 2)",
        );
        let a = Peer::new();
        let call = || {
            a.send(proxy.port, &message(&a, "", "", false));
            let r = a.recv();
            assert_eq!(r.status(), Some(407), "{ch}: {}", r.raw);
        };
        let (before, after) = memory_over_rounds(&proxy, &|| {
            for _ in 0..10 {
                call();
            }
        });
        assert!(
            proxy.wait_log(expect_log, 1, 3) >= 1,
            "{ch}: no '{expect_log}' in log:\n{}",
            proxy.log()
        );
        let log = proxy.log();
        assert!(
            !log.contains("CRITICAL") && !log.contains("internal error"),
            "{log}"
        );
        assert_eq!(
            before,
            after,
            "{}: memory (shm, pkg) changed",
            &ch[..ch.len().min(60)]
        );
    }
}

/// Calls with From/To replaced and restored both ways leave pkg and shm use
/// where they started.
#[test]
fn memory_stable_over_replaced_calls() {
    // Record-Route parameters, then the URIs in a dialog
    let dialog = "modparam(\"tm\", \"wt_timer\", 2)\nloadmodule \"dialog.so\"";
    for (more, before_replace) in [
        ("modparam(\"tm\", \"wt_timer\", 2)", ""),
        (dialog, "create_dialog();"),
    ] {
        let p = replace_proxy_cfg(free_port(), false, "auto", "pw", more, before_replace);
        let round = || {
            for _ in 0..10 {
                call_through(p.port);
            }
        };
        let (before, after) = memory_over_rounds(&p, &|| {
            round();
            round();
        });
        eprintln!(
            "our uac ({before_replace}): shm {} -> {}, pkg {} -> {} after 20 calls",
            before.0, after.0, before.1, after.1
        );
        assert_eq!(
            before, after,
            "memory (shm, pkg) changed ({before_replace})"
        );
    }
}

/// Bad module parameters stop start-up with the stock error lines.
#[test]
fn bad_parameters_stop_start_up() {
    let ua = module("uac_auth", false);
    let uac = module("uac", false);
    let cases: Vec<(String, &str)> = vec![
        (
            format!("loadmodule \"{ua}\"\nmodparam(\"uac_auth\", \"credential\", \"alice:example.com\")"),
            "parse error in <alice:example.com> around 17",
        ),
        (
            format!("loadmodule \"{ua}\"\nmodparam(\"uac_auth\", \"auth_username_avp\", \"$avp(u)\")"),
            "partial definition of auth AVP!",
        ),
        (
            format!(
                "loadmodule \"{ua}\"\nmodparam(\"uac_auth\", \"auth_username_avp\", \"$avp(u)\")\n\
                 modparam(\"uac_auth\", \"auth_password_avp\", \"$avp(p)\")\n\
                 modparam(\"uac_auth\", \"auth_realm_avp\", \"$avp(r\")"
            ),
            "malformed or non AVP realm AVP definition",
        ),
        (
            format!(
                "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"{uac}\"\n\
                 modparam(\"uac\", \"restore_mode\", \"sometimes\")\nroute {{ exit; }}"
            ),
            "unsupported value 'sometimes' for restore_mode",
        ),
        (
            format!(
                "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"{uac}\"\n\
                 modparam(\"rr\", \"append_fromtag\", 0)\n\
                 route {{ uac_replace_from(\"a\", \"sip:a@b\"); }}"
            ),
            "'append_fromtag' RR param is not enabled!",
        ),
        (
            format!(
                "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"{uac}\"\n\
                 modparam(\"rr\", \"append_fromtag\", 1)\nmodparam(\"uac\", \"rr_from_store_param\", \"\")\n\
                 route {{ uac_replace_from(\"a\", \"sip:a@b\"); }}"
            ),
            "rr_store_param cannot be empty if FROM is restoreable",
        ),
        (
            format!(
                "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"{ua}\"\nloadmodule \"{uac}\"\n\
                 modparam(\"rr\", \"append_fromtag\", 1)\n\
                 failure_route[x] {{ uac_auth(\"MD5,SHA-1\"); }}\nroute {{ exit; }}"
            ),
            "unsupported digest algorithm 'SHA-1'",
        ),
        (
            format!("loadmodule \"{uac}\"\nroute {{ exit; }}"),
            "tm",
        ),
    ];
    for (body, want) in cases {
        let log = start_fails(&body);
        assert!(log.contains(want), "want '{want}' for\n{body}\nlog:\n{log}");
    }
}

/// auth_*_avp: a realm with no `credential` line is answered from the AVPs
/// the script set (our uac_auth under the stock uac and under ours).
#[test]
fn credentials_from_avps() {
    let avps = "modparam(\"uac_auth\", \"auth_username_avp\", \"$avp(auser)\")\n\
                modparam(\"uac_auth\", \"auth_password_avp\", \"$avp(apass)\")\n\
                modparam(\"uac_auth\", \"auth_realm_avp\", \"$avp(arealm)\")";
    for stock_uac in [true, false] {
        let py = PyChallenger::start(
            401,
            &["Digest realm=\"avp.realm\", nonce=\"n1\", qop=\"auth\""],
        );
        let proxy = auth_proxy_with(
            &module("uac_auth", false),
            &module("uac", stock_uac),
            "uac_auth()",
            py.port,
            avps,
        );
        let a = Peer::new();
        // without the AVPs: no credential for the realm
        a.send(proxy.port, &message(&a, "", "", false));
        assert_eq!(a.recv().status(), Some(401));
        let m = message(&a, "", "", false).replacen("X-Alg:", "X-Avp-Cred: 1\r\nX-Alg:", 1);
        a.send(proxy.port, &m);
        let r = a.recv();
        assert_eq!(r.status(), Some(200), "stock uac {stock_uac}: {}", r.raw);
        drop(proxy);
        let out = py.finish();
        assert!(out.contains("verified=True"), "{out}");
    }
}

/// One call through a proxy that answers B's 407 to the INVITE with
/// uac_auth(), in a dialog the script created: what B and A see (the
/// Record-Route B got, the CSeqs of the answered INVITE, of two INFOs from A
/// at B and their replies at A, of an INFO from B at A).
fn auth_call_in_dialog(stock_uac: bool) -> Vec<String> {
    let body = format!(
        r#"loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "dialog.so"
loadmodule "{uac_auth}"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac_auth", "credential", "alice:example.com:secret")
route {{
    if (has_totag()) {{
        if (loose_route()) {{ t_on_failure("auth"); t_relay(); }}
        exit;
    }}
    record_route();
    create_dialog();
    t_on_failure("auth");
    t_relay();
}}
failure_route[auth] {{
    if (t_check_status("407") && uac_auth()) t_relay();
}}
"#,
        uac_auth = module("uac_auth", false),
        uac = module("uac", stock_uac)
    );
    let p = Opensips::start_free(&body);
    let (a, b) = (Peer::new(), Peer::new());
    let call_id = format!("dlg-auth-{}", rand_tag());
    let a_from = format!("{ALICE};tag=a{}", rand_tag());
    let ruri = format!("sip:bob@127.0.0.1:{}", b.port);
    a.send(
        p.port,
        &request("INVITE", &ruri, a.port, &a_from, BOB, &call_id, 1, &[]),
    );
    let first = b.recv();
    let challenge = "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"n1\", \
                     qop=\"auth\", algorithm=MD5\r\nContent-Length";
    b.send(
        p.port,
        &b.reply(&first, 407, "b407", false)
            .replacen("Content-Length", challenge, 1),
    );
    // tm acknowledges the 407 hop by hop, then sends the answered INVITE
    let mut inv = b.recv();
    if inv.method() == "ACK" {
        inv = b.recv();
    }
    assert_eq!(inv.method(), "INVITE", "{}", inv.raw);
    assert!(inv.hdr("Proxy-Authorization").contains("nonce=\"n1\""));
    let b_tag = format!("b{}", rand_tag());
    b.send(p.port, &b.reply(&inv, 200, &b_tag, true));
    let ok = a.recv();
    assert_eq!(ok.status(), Some(200), "{}", ok.raw);
    let mut call = Call {
        k: p.port,
        a: &a,
        b: &b,
        call_id,
        a_from,
        a_to: ok.hdr("To").to_string(),
        b_from: format!("{};tag={b_tag}", inv.hdr("To")),
        b_to: inv.hdr("From").to_string(),
        route: ok
            .all("Record-Route")
            .iter()
            .map(|s| s.to_string())
            .collect(),
        a_cseq: 1,
        b_cseq: 0,
        invite_at_b: inv.clone(),
        ok_at_a: ok.clone(),
    };
    // the Record-Route parameters' names (values differ per run)
    let rr_names: Vec<&str> = inv
        .hdr("Record-Route")
        .trim_end_matches('>')
        .split(';')
        .skip(1)
        .map(|p| p.split('=').next().unwrap())
        .collect();
    let mut seen = vec![
        rr_names.join(";"),
        inv.hdr("CSeq").to_string(),
        ok.hdr("CSeq").to_string(),
        call.ack().hdr("CSeq").to_string(),
    ];
    for _ in 0..2 {
        let (at_b, at_a) = call.send_from_a("INFO");
        seen.push(at_b.hdr("CSeq").to_string());
        seen.push(at_a.hdr("CSeq").to_string());
    }
    let (at_a, _) = call.send_from_b("INFO");
    seen.push(at_a.hdr("CSeq").to_string());
    // an INFO from A challenged by B: answered inside the dialog
    let info = call.request_from_a("INFO");
    a.send(p.port, &info);
    let first = b.recv();
    seen.push(first.hdr("CSeq").to_string());
    b.send(
        p.port,
        &b.reply(&first, 407, "", false)
            .replacen("Content-Length", challenge, 1),
    );
    let answered = b.recv();
    assert!(answered.hdr("Proxy-Authorization").contains("nonce=\"n1\""));
    seen.push(answered.hdr("CSeq").to_string());
    b.send(p.port, &b.reply(&answered, 200, "", true));
    seen.push(a.recv().hdr("CSeq").to_string());
    let (at_b, at_a) = call.send_from_a("INFO");
    seen.push(at_b.hdr("CSeq").to_string());
    seen.push(at_a.hdr("CSeq").to_string());
    assert!(!p.log().contains("ERROR"), "{}", p.log());
    seen
}

/// uac_auth() in a dialog: no `aci` mark in Record-Route; the dialog module
/// shifts the caller's later CSeqs (and gives the caller its own back in the
/// replies); the same as stock.
#[test]
fn uac_auth_in_a_dialog_shifts_cseq_through_the_dialog_as_stock() {
    let ours = auth_call_in_dialog(false);
    let stock = auth_call_in_dialog(true);
    assert_eq!(ours[0], "lr;ftag;did", "no aci mark: {ours:?}");
    assert_eq!(ours[1], "2 INVITE");
    assert_eq!(ours[2], "1 INVITE", "the caller gets its CSeq back");
    assert_eq!(
        &ours[4..8],
        ["3 INFO", "2 INFO", "4 INFO", "3 INFO"],
        "{ours:?}"
    );
    assert_eq!(ours[8], "1 INFO", "B's requests untouched");
    // A's INFO 4 challenged in the dialog: shifted to 5, answered as 6,
    // A gets 4 back; the next one (5) goes on at 7
    assert_eq!(
        &ours[9..],
        ["5 INFO", "6 INFO", "4 INFO", "7 INFO", "5 INFO"],
        "{ours:?}"
    );
    assert_eq!(ours, stock);
}
