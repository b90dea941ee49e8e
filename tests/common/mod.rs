//! Test harness: starts the real `kamailio` with a config from `examples/`, and a
//! minimal SIP peer on UDP loopback that sends and receives whole messages.
#![allow(dead_code)]

pub mod dialog;

use std::fs;
use std::io::Read;
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Kamailio the integration tests run against, chosen by
/// `UAC_TEST_HOST`: `5.6` (default) is Debian 12's 5.6.3 with our modules of
/// build/kamailio/; `6.1` is the 6.1 build scripts/setup-kamailio61 made in
/// .cache/kamailio61 with ours of build/kamailio-<its version>/. Everything a
/// test takes from the host (binary, kamcmd, stock modules, schemas, our
/// modules) comes from here, so the same test code runs on both.
pub struct Host {
    /// `5.6` or `6.1`, as UAC_TEST_HOST names it.
    pub line: &'static str,
    /// The core's version, e.g. `6.1.4`.
    pub version: String,
    pub bin: PathBuf,
    pub kamcmd: PathBuf,
    /// The stock module folder (for `mpath`), with a trailing `/`.
    pub mpath: String,
    /// The folder of the SQL schemas (`db_sqlite/`, `postgres/`).
    pub schemas: PathBuf,
    /// The folder of our modules built for this version.
    pub ours: PathBuf,
}

impl Host {
    fn debian() -> Host {
        Host {
            line: "5.6",
            version: core_version(Path::new("kamailio")),
            bin: PathBuf::from("kamailio"),
            kamcmd: PathBuf::from("kamcmd"),
            mpath: "/usr/lib/x86_64-linux-gnu/kamailio/modules/".into(),
            schemas: PathBuf::from("/usr/share/kamailio"),
            ours: Path::new(env!("CARGO_MANIFEST_DIR")).join("build/kamailio"),
        }
    }

    fn k61() -> Host {
        let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/kamailio61/install");
        let bin = prefix.join("sbin/kamailio");
        assert!(
            bin.exists(),
            "{} missing: run scripts/setup-kamailio61",
            bin.display()
        );
        let version = core_version(&bin);
        Host {
            line: "6.1",
            bin,
            kamcmd: prefix.join("sbin/kamcmd"),
            mpath: format!("{}/", prefix.join("lib64/kamailio/modules").display()),
            schemas: prefix.join("share/kamailio"),
            ours: Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("build/kamailio-{version}")),
            version,
        }
    }

    /// Is this host of release line 6.1 or later (the 6.1 surface)?
    pub fn is_61(&self) -> bool {
        self.line == "6.1"
    }

    /// The stock module `name` (`uac.so`) of this host.
    pub fn stock(&self, name: &str) -> String {
        format!("{}{name}", self.mpath)
    }

    /// Our module `name` (`uac.so`, `auth.so`) built for this host.
    pub fn our(&self, name: &str) -> String {
        let p = self.ours.join(name);
        assert!(p.exists(), "{} missing: run `make` first", p.display());
        p.display().to_string()
    }

    /// A schema file of this host (`db_sqlite/uac-create.sql`).
    pub fn schema(&self, rel: &str) -> String {
        let p = self.schemas.join(rel);
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}

/// `6.1.4` of `kamailio -v`'s first line (`version: kamailio 6.1.4 (x86_64/linux)`).
fn core_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("-v")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} -v: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("{} -v printed no version: {text}", bin.display()))
        .to_string()
}

/// The host of this test run (UAC_TEST_HOST).
pub fn host() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| match std::env::var("UAC_TEST_HOST").as_deref() {
        Err(_) | Ok("") | Ok("5.6") => Host::debian(),
        Ok("6.1") => Host::k61(),
        Ok(other) => panic!("UAC_TEST_HOST={other}: 5.6 or 6.1"),
    })
}

/// The stock uac module of the test host.
pub fn stock_module() -> String {
    host().stock("uac.so")
}

/// The stock module folder of the test host (for `mpath`).
pub fn mpath() -> &'static str {
    &host().mpath
}

pub fn our_module() -> String {
    // UAC_TEST_MODULE=stock runs a test against the stock module (for comparing).
    if std::env::var("UAC_TEST_MODULE").as_deref() == Ok("stock") {
        return stock_module();
    }
    host().our("uac.so")
}

/// Our auth module for the test host.
pub fn our_auth() -> String {
    host().our("auth.so")
}

/// A free UDP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Settings substituted into examples/uac-replace.cfg.
pub struct CfgOpts<'a> {
    pub module: &'a str,
    pub restore_mode: &'a str,
    pub passwd: &'a str,
    pub next_hop: u16,
    /// Extra lines put at the top (`#!define WITH_DIALOG`, modparams...).
    pub defines: &'a [&'a str],
}

pub fn render_cfg(opts: &CfgOpts, port: u16) -> String {
    render_example("uac-replace.cfg", opts, port)
}

/// Fills the placeholders of a file in examples/ (or tests/fixtures/ for a
/// name starting with "fixtures/").
pub fn render_example(name: &str, opts: &CfgOpts, port: u16) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = match name.strip_prefix("fixtures/") {
        Some(f) => root.join("tests/fixtures").join(f),
        None => root.join("examples").join(name),
    };
    let tpl = fs::read_to_string(path).unwrap();
    let body = tpl
        .replace("\"UAC_MODULE\"", &format!("\"{}\"", opts.module))
        .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
        .replace("NEXT_HOP", &format!("sip:127.0.0.1:{}", opts.next_hop))
        .replace("MPATH", mpath())
        .replace("RESTORE_MODE", opts.restore_mode)
        .replace("RESTORE_PASSWD", opts.passwd);
    let (first, rest) = body.split_once('\n').unwrap();
    format!("{first}\n{}\n{rest}", opts.defines.join("\n"))
}

/// A running kamailio; stopped on drop, its log printed if the test failed.
pub struct Kamailio {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: PathBuf,
}

impl Kamailio {
    pub fn start(opts: &CfgOpts) -> Kamailio {
        Self::start_on(opts, free_port())
    }

    pub fn start_on(opts: &CfgOpts, port: u16) -> Kamailio {
        Self::start_with(&render_cfg(opts, port), port)
    }

    /// Starts the test host's kamailio with a rendered config text.
    pub fn start_with(cfg_text: &str, port: u16) -> Kamailio {
        Self::start_bin(&host().bin, cfg_text, port)
    }

    /// Starts the kamailio binary `bin` (the test host's, or another build)
    /// with a config text.
    pub fn start_bin(bin: &Path, cfg_text: &str, port: u16) -> Kamailio {
        let dir = std::env::temp_dir().join(format!("uac-test-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("kamailio.cfg");
        fs::write(&cfg, cfg_text).unwrap();
        let log = dir.join("kamailio.log");
        let child = Command::new(bin)
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
            .arg(&cfg)
            .arg("-Y")
            .arg(&dir)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("cannot start kamailio");
        let mut k = Kamailio {
            child,
            port,
            dir,
            log,
        };
        k.wait_ready();
        k
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        // The port is taken once the SIP workers have bound it.
        while UdpSocket::bind(("127.0.0.1", self.port)).is_ok() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("kamailio exited at start-up ({st}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "kamailio not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("kamailio exited at start-up ({st}):\n{}", self.log());
        }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits up to 3 s for `pattern` to appear `n` times in the log; the count.
    pub fn wait_log(&self, pattern: &str, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let c = self.log().matches(pattern).count();
            if c >= n || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn stop(&mut self) {
        // SAFETY-free: plain signal to the main process; it stops its children.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        kill_group(self.child.id());
        // Wait for the port to be free again (for restart tests).
        let deadline = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// SIGKILLs what is left of a server's process group (the server was
/// started as its leader): a child that hangs in the core's signal handler
/// at shutdown (seen under load with Kamailio's slow timer and TCP main
/// processes, stuck on a futex) would otherwise keep the test's port.
pub fn kill_group(leader: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "---- kamailio log ({}) ----\n{}",
                self.log.display(),
                self.log()
            );
        }
    }
}

/// A parsed SIP message, as received.
#[derive(Debug, Clone)]
pub struct Msg {
    pub raw: String,
    pub first: String,
    pub headers: Vec<(String, String)>,
}

impl Msg {
    pub fn parse(raw: &str) -> Msg {
        let head = raw.split("\r\n\r\n").next().unwrap();
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Msg {
            raw: raw.to_string(),
            first,
            headers,
        }
    }
    /// All values of a header (case-insensitive name).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn hdr(&self, name: &str) -> &str {
        self.all(name)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no {name} header in:\n{}", self.raw))
    }
    pub fn status(&self) -> Option<u16> {
        self.first
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r[..3].parse().ok())
    }
    pub fn method(&self) -> &str {
        self.first.split(' ').next().unwrap()
    }
    /// The tag parameter of From or To.
    pub fn tag(&self, name: &str) -> String {
        let v = self.hdr(name);
        v.split(';')
            .find_map(|p| p.trim().strip_prefix("tag="))
            .unwrap_or("")
            .to_string()
    }
}

/// A SIP user agent on a UDP loopback socket.
pub struct Peer {
    pub sock: UdpSocket,
    pub port: u16,
}

impl Peer {
    pub fn new() -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        Peer { sock, port }
    }

    pub fn send(&self, to: u16, msg: &str) {
        self.sock
            .send_to(msg.as_bytes(), ("127.0.0.1", to))
            .unwrap();
    }

    /// The next message that is not a provisional reply, within `secs`.
    pub fn recv_within(&self, secs: u64) -> Option<Msg> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut buf = vec![0u8; 65535];
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let m = Msg::parse(&String::from_utf8_lossy(&buf[..n]));
                if m.status().is_some_and(|s| s < 200) {
                    continue;
                }
                return Some(m);
            }
        }
        None
    }

    /// Reads and drops whatever is queued, until 200 ms pass without a message.
    pub fn drain(&self) {
        let mut buf = vec![0u8; 65535];
        while self.sock.recv_from(&mut buf).is_ok() {}
    }

    pub fn recv(&self) -> Msg {
        self.recv_within(5)
            .expect("no SIP message received within 5 s")
    }

    /// Nothing arrives within `ms` (provisional replies ignored).
    pub fn quiet(&self, ms: u64) -> bool {
        let deadline = Instant::now() + Duration::from_millis(ms);
        let mut buf = vec![0u8; 65535];
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let m = Msg::parse(&String::from_utf8_lossy(&buf[..n]));
                if m.status().is_none_or(|s| s >= 200) {
                    return false;
                }
            }
        }
        true
    }

    /// A reply to `req` that copies Via, From, To (adding `to_tag`), Call-ID, CSeq
    /// and Record-Route, as a UAS does.
    pub fn reply(&self, req: &Msg, code: u16, to_tag: &str, contact: bool) -> String {
        let mut r = format!(
            "SIP/2.0 {code} {}\r\n",
            if code == 200 { "OK" } else { "Reply" }
        );
        for v in req.all("Via") {
            r += &format!("Via: {v}\r\n");
        }
        for v in req.all("Record-Route") {
            r += &format!("Record-Route: {v}\r\n");
        }
        r += &format!("From: {}\r\n", req.hdr("From"));
        let to = req.hdr("To");
        if req.tag("To").is_empty() && !to_tag.is_empty() {
            r += &format!("To: {to};tag={to_tag}\r\n");
        } else {
            r += &format!("To: {to}\r\n");
        }
        r += &format!(
            "Call-ID: {}\r\nCSeq: {}\r\n",
            req.hdr("Call-ID"),
            req.hdr("CSeq")
        );
        if contact {
            r += &format!("Contact: <sip:peer@127.0.0.1:{}>\r\n", self.port);
        }
        r += "Content-Length: 0\r\n\r\n";
        r
    }
}

impl Default for Peer {
    fn default() -> Self {
        Self::new()
    }
}

/// MD5 as lowercase hex, for checking digest answers in the tests.
pub fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A parameter of a digest header value (`Digest a="b", c=d`), unquoted;
/// empty when absent.
pub fn auth_param(h: &str, name: &str) -> String {
    h.split(',')
        .find_map(|p| {
            let p = p.trim().trim_start_matches("Digest ").trim();
            p.strip_prefix(&format!("{name}="))
        })
        .unwrap_or("")
        .trim_matches('"')
        .to_string()
}

/// The MD5 `response` a qop=auth digest answer must carry: `ha1_input` is
/// `user:realm:password`; nc and cnonce are taken from `authorization` itself.
pub fn md5_qop_auth_response(
    authorization: &str,
    ha1_input: &str,
    method: &str,
    uri: &str,
    nonce: &str,
) -> String {
    let ha1 = md5_hex(ha1_input);
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    md5_hex(&format!(
        "{ha1}:{nonce}:{}:{}:auth:{ha2}",
        auth_param(authorization, "nc"),
        auth_param(authorization, "cnonce")
    ))
}

/// `kamcmd` (the binary `bin`) on the ctl socket `ctl` (`unix:/path`): its
/// output, stderr after stdout.
pub fn kamcmd_at(bin: &Path, ctl: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("-s")
        .arg(ctl)
        .args(args)
        .output()
        .expect("kamcmd");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The value of `name: v` in kamcmd's structure output.
pub fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
        .trim()
        .to_string()
}

/// `peer`'s reply `code` to `req` (To tag "regtag", `extra` header lines
/// added), sent to the port of the request's top Via.
pub fn reply_with(peer: &Peer, req: &Msg, code: u16, extra: &str) {
    let r = peer.reply(req, code, "regtag", false).replace(
        "Content-Length: 0\r\n",
        &format!("{extra}Content-Length: 0\r\n"),
    );
    let via = req.hdr("Via");
    let port: u16 = via
        .split(';')
        .next()
        .and_then(|h| h.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap();
    peer.send(port, &r);
}

/// Builds a request from A. `route` and `to_tag` for in-dialog requests.
#[allow(clippy::too_many_arguments)]
pub fn request(
    method: &str,
    ruri: &str,
    from_port: u16,
    from: &str,
    to: &str,
    call_id: &str,
    cseq: u32,
    extra: &[String],
) -> String {
    let branch = format!("z9hG4bK{}{}{}", call_id.len(), cseq, rand_tag());
    let mut r = format!("{method} {ruri} SIP/2.0\r\n");
    r += &format!("Via: SIP/2.0/UDP 127.0.0.1:{from_port};branch={branch};rport\r\n");
    r += "Max-Forwards: 70\r\n";
    r += &format!("From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n");
    r += &format!("Contact: <sip:peer@127.0.0.1:{from_port}>\r\n");
    for e in extra {
        r += e;
        r += "\r\n";
    }
    r += "Content-Length: 0\r\n\r\n";
    r
}

pub fn rand_tag() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    format!(
        "{:x}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The URI inside `<...>` of a Contact or Record-Route value.
pub fn angle_uri(v: &str) -> &str {
    let s = v.find('<').map_or(0, |i| i + 1);
    let e = v[s..].find('>').map_or(v.len(), |i| s + i);
    &v[s..e]
}

/// A sipp UAS running a scenario from the repository for one call; killed on drop.
pub struct SippUas {
    child: Child,
}

impl SippUas {
    /// `scenario` is relative to the repository (e.g. "bench/uas-options.xml").
    pub fn start(scenario: &str, port: u16) -> SippUas {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario);
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(&path)
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
            .args(["-timeout", "20s", "-nostdin"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start sipp (package sip-tester)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "sipp did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SippUas { child }
    }

    /// Waits up to 10 s for sipp to finish its call; true when the scenario
    /// succeeded. (sipp's own -timeout does not always end it.)
    pub fn succeeded(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for SippUas {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
/// The challenges of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate).
pub fn challenges(m: &Msg) -> Vec<uac::digest::challenge::Challenge> {
    let name = if m.status() == Some(407) {
        "Proxy-Authenticate"
    } else {
        "WWW-Authenticate"
    };
    m.all(name)
        .iter()
        .map(|v| {
            uac::digest::challenge::parse_header(v.as_bytes())
                .unwrap()
                .remove(0)
                .unwrap()
        })
        .collect()
}

/// The X-Auth-Result header the test cfgs add (empty when the reply has none).
pub fn auth_result(m: &Msg) -> String {
    m.all("X-Auth-Result")
        .first()
        .copied()
        .unwrap_or("")
        .to_string()
}

pub mod opensips;
pub mod postgres;

/// Kamailio with `example` (a file of examples/, or "fixtures/..." for
/// tests/fixtures/) rendered for `module` with `restore_mode`, `passwd` and
/// `defines`, relaying to `next_hop`, on a free port.
pub fn start_example(
    example: &str,
    module: &str,
    restore_mode: &str,
    passwd: &str,
    next_hop: u16,
    defines: &[&str],
) -> Kamailio {
    let opts = CfgOpts {
        module,
        restore_mode,
        passwd,
        next_hop,
        defines,
    };
    let port = free_port();
    Kamailio::start_with(&render_example(example, &opts, port), port)
}

/// tests/fixtures/challenger.cfg (the stock auth module challenging with
/// `algorithm` and the qop flags `qop_flags`) for `port`, relaying to `next_hop`.
pub fn challenger_cfg(port: u16, next_hop: u16, algorithm: &str, qop_flags: &str) -> String {
    let opts = CfgOpts {
        module: "",
        restore_mode: "",
        passwd: "",
        next_hop,
        defines: &[],
    };
    render_example("fixtures/challenger.cfg", &opts, port)
        .replace("ALGORITHM", algorithm)
        .replace("QOPFLAGS", qop_flags)
}

/// A MESSAGE to sip:send@ the proxy at port `k`, which examples/uac-send.cfg
/// and tests/fixtures/fidelity.cfg turn into a uac_req_send() as its X-*
/// `headers` say; the proxy's reply to it.
pub fn send_trigger(a: &Peer, k: u16, headers: &[String]) -> Msg {
    let req = request(
        "MESSAGE",
        &format!("sip:send@127.0.0.1:{k}"),
        a.port,
        &format!("<sip:tester@127.0.0.1>;tag={}", rand_tag()),
        "<sip:send@127.0.0.1>",
        &format!("trigger-{}", rand_tag()),
        1,
        headers,
    );
    a.send(k, &req);
    a.recv()
}
