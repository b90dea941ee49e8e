//! MSRP AUTH (RFC 4976) through the msrp module's documented flow with our
//! auth.so: an MSRP client over TCP in the test, AUTH without and with
//! credentials, Expires in and out of bounds (examples/auth-msrp.cfg).

mod common;

use common::{free_port, host, mpath, our_auth, Kamailio};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uac::digest::challenge::{parse_header, Challenge};
use uac::digest::response::{answer, RequestInfo, Secret};

fn start(module: &str) -> (Kamailio, u16) {
    let port = free_port();
    let tpl = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/auth-msrp.cfg"),
    )
    .unwrap();
    let cfg = tpl
        .replace("MSRPADDR", &format!("tcp:127.0.0.1:{port}"))
        .replace("\"AUTH_MODULE\"", &format!("\"{module}\""))
        .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
        .replace("MPATH", mpath())
        .replace("AUTH_SECRET", "msrp-secret");
    (Kamailio::start_with(&cfg, port), port)
}

struct Client {
    s: TcpStream,
    to_path: String,
    n: u32,
}

/// One MSRP transaction: sends an AUTH frame, returns the reply frame.
impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client {
            s,
            to_path: format!("msrp://127.0.0.1:{port};tcp"),
            n: 0,
        }
    }

    fn auth(&mut self, extra: &[String]) -> String {
        self.n += 1;
        let tid = format!("t{}x{}", std::process::id(), self.n);
        let mut f = format!(
            "MSRP {tid} AUTH\r\nTo-Path: {}\r\nFrom-Path: msrp://127.0.0.1:9/c{};tcp\r\n",
            self.to_path, self.n
        );
        for e in extra {
            f += e;
            f += "\r\n";
        }
        f += &format!("-------{tid}$\r\n");
        self.s.write_all(f.as_bytes()).unwrap();
        let end = format!("-------{tid}$\r\n");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(&end) {
            let n = self.s.read(&mut buf).expect("no MSRP reply");
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    }
}

fn status(frame: &str) -> u16 {
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

fn header<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    frame.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    })
}

fn challenge(frame: &str) -> Challenge {
    let v = header(frame, "WWW-Authenticate").expect("no WWW-Authenticate");
    parse_header(v.as_bytes()).unwrap().remove(0).unwrap()
}

fn authorization(c: &mut Client, pw: &str) -> String {
    let first = c.auth(&[]);
    assert_eq!(status(&first), 401, "{first}");
    let ch = challenge(&first);
    assert_eq!(ch.realm, "msrp.test");
    let req = RequestInfo {
        method: b"AUTH",
        uri: c.to_path.as_bytes(),
        body: b"",
    };
    let a = answer(&ch, b"alice", Secret::Password(pw.as_bytes()), &req, "cn0").unwrap();
    let h =
        uac::digest::response::authorization_header(false, b"alice", &ch, c.to_path.as_bytes(), &a)
            .unwrap();
    String::from_utf8(h).unwrap().trim_end().to_string()
}

#[test]
fn msrp_auth_flow() {
    let module = PathBuf::from(our_auth());
    let (k, port) = start(&module.display().to_string());
    let mut c = Client::connect(port);
    // no credentials: 401 with a qop=auth challenge
    let r = c.auth(&[]);
    assert_eq!(status(&r), 401, "{r}");
    assert!(challenge(&r).qop.clone().unwrap().is_some());
    // wrong password: 401 again
    let a = authorization(&mut c, "nope");
    let r = c.auth(&[a]);
    assert_eq!(status(&r), 401, "{r}");
    // right password, no Expires: 200 with Use-Path and the maximum Expires
    let a = authorization(&mut c, "msrp-pw");
    let r = c.auth(std::slice::from_ref(&a));
    assert_eq!(status(&r), 200, "{r}");
    let up = header(&r, "Use-Path").expect("Use-Path");
    assert!(
        up.starts_with(&format!("msrp://127.0.0.1:{port}/s.")) && up.ends_with(";tcp"),
        "{up}"
    );
    assert_eq!(header(&r, "Expires"), Some("3600"));
    // the same credentials again: nonce_count refuses the replay
    let r = c.auth(&[a]);
    assert_eq!(status(&r), 401, "{r}");
    assert!(
        challenge(&r).stale,
        "a replayed nc is re-challenged stale: {r}"
    );
    // Expires in bounds
    let a = authorization(&mut c, "msrp-pw");
    let r = c.auth(&[a, "Expires: 1800".into()]);
    assert_eq!(
        (status(&r), header(&r, "Expires")),
        (200, Some("1800")),
        "{r}"
    );
    // below and above the bounds: 423
    let a = authorization(&mut c, "msrp-pw");
    let r = c.auth(&[a, "Expires: 10".into()]);
    assert_eq!(
        (status(&r), header(&r, "Min-Expires")),
        (423, Some("60")),
        "{r}"
    );
    let a = authorization(&mut c, "msrp-pw");
    let r = c.auth(&[a, "Expires: 7200".into()]);
    assert_eq!(
        (status(&r), header(&r, "Max-Expires")),
        (423, Some("3600")),
        "{r}"
    );
    assert!(k.log().contains("MSRP-AUTH 1 au=alice"));
}

/// The flow's outcome, step by step, with the parts that do not depend on
/// the nonce or the time; the `stale` of the replay's challenge apart.
fn transcript(module: &str) -> (Vec<String>, bool) {
    let (k, port) = start(module);
    let mut c = Client::connect(port);
    let mut t = Vec::new();
    let desc = |r: &str| {
        let mut d = format!("{}", status(r));
        if let Some(v) = header(r, "WWW-Authenticate") {
            let ch = parse_header(v.as_bytes()).unwrap().remove(0).unwrap();
            d += &format!(
                " realm={} qop={:?} alg={:?} opaque={}",
                ch.realm,
                ch.qop,
                ch.algorithm,
                ch.opaque.is_some()
            );
        }
        if let Some(up) = header(r, "Use-Path") {
            d += &format!(
                " use-path-ok={}",
                up.starts_with(&format!("msrp://127.0.0.1:{port}/s.")) && up.ends_with(";tcp")
            );
        }
        for h in ["Expires", "Min-Expires", "Max-Expires"] {
            if let Some(v) = header(r, h) {
                d += &format!(" {h}={v}");
            }
        }
        d
    };
    let r = c.auth(&[]);
    t.push(format!("none: {}", desc(&r)));
    let a = authorization(&mut c, "nope");
    t.push(format!("wrong: {}", desc(&c.auth(&[a]))));
    let a = authorization(&mut c, "msrp-pw");
    t.push(format!(
        "right: {}",
        desc(&c.auth(std::slice::from_ref(&a)))
    ));
    let r = c.auth(&[a]);
    let stale = header(&r, "WWW-Authenticate").is_some() && challenge(&r).stale;
    t.push(format!("replay: {}", status(&r)));
    for e in ["1800", "10", "7200"] {
        let a = authorization(&mut c, "msrp-pw");
        let r = c.auth(&[a, format!("Expires: {e}")]);
        t.push(format!("expires {e}: {}", desc(&r)));
    }
    // credentials for another realm, and without a response
    let a = authorization(&mut c, "msrp-pw");
    t.push(format!(
        "other realm: {}",
        desc(&c.auth(&[a.replace("realm=\"msrp.test\"", "realm=\"other.test\"")]))
    ));
    let a = authorization(&mut c, "msrp-pw");
    let i = a.find("response=\"").unwrap();
    let j = i + a[i..].find("\", ").map(|x| x + 3).unwrap_or(a.len() - i);
    let cut = format!("{}{}", &a[..i], &a[j..]);
    t.push(format!("no response: {}", desc(&c.auth(&[cut]))));
    // the return codes the cfg logged, in order
    let log = k.log();
    let codes: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("MSRP-AUTH ").map(|x| x.1))
        .collect();
    t.push(format!("codes: {}", codes.join(", ")));
    (t, stale)
}

/// The same cfg and client against the stock auth.so: the same replies and
/// return codes, except that ours marks the replay's challenge stale=true
/// (stock does so only with flag 16; HOST-DEFECTS.md).
#[test]
fn msrp_differential_against_stock() {
    let ours = PathBuf::from(our_auth());
    let (stock, stock_stale) = transcript(&host().stock("auth.so"));
    let (ours, ours_stale) = transcript(&ours.display().to_string());
    eprintln!("{}", ours.join("\n"));
    assert_eq!(stock, ours);
    assert!(
        ours.iter()
            .any(|l| l == "right: 200 use-path-ok=true Expires=3600"),
        "{ours:?}"
    );
    assert!(ours.iter().any(|l| l == "replay: 401"), "{ours:?}");
    assert!(ours_stale);
    assert!(!stock_stale);
}
