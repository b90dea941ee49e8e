//! Harness for the OpenSIPS tests: starts the real `opensips` (built by
//! scripts/setup-opensips into .cache/opensips) in the foreground (`-F`; it
//! has no pid-file option) with a config in a temp dir, on a free loopback
//! port, and stops it on drop (its log printed if the test failed). MI goes
//! through mi_fifo (JSON-RPC over a FIFO; reply FIFO names without dots).
#![allow(dead_code)]

use super::free_port;
use std::fs;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn prefix() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/opensips")
}

pub fn bin() -> PathBuf {
    let b = prefix().join("sbin/opensips");
    assert!(
        b.exists(),
        "{} missing: run scripts/setup-opensips",
        b.display()
    );
    b
}

pub fn mpath() -> String {
    format!("{}/", prefix().join("lib64/opensips/modules").display())
}

/// Our build of an OpenSIPS module (build/opensips/<name>.so), or the stock
/// one from the OpenSIPS build with `stock`.
pub fn module(name: &str, stock: bool) -> String {
    if stock {
        return format!("{}{name}.so", mpath());
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("build/opensips/{name}.so"));
    assert!(p.exists(), "{} missing: run `make` first", p.display());
    p.display().to_string()
}

/// A running opensips; stopped on drop.
pub struct Opensips {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    log: PathBuf,
    cfg: String,
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Opensips {
    /// Starts opensips on `port` with the global settings (logging, one UDP
    /// socket, module path, mi_fifo in the temp dir) followed by `body`.
    pub fn start(port: u16, body: &str) -> Opensips {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("osips-test-{}-{port}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cfg = format!(
            "log_level={lvl}\nstderror_enabled=yes\nsyslog_enabled=no\nudp_workers=2\n\
             socket=udp:127.0.0.1:{port}\nmpath=\"{mpath}\"\n\
             loadmodule \"proto_udp.so\"\nloadmodule \"mi_fifo.so\"\n\
             modparam(\"mi_fifo\", \"fifo_name\", \"{dir}/fifo\")\n\
             modparam(\"mi_fifo\", \"reply_dir\", \"{dir}/\")\n{body}\n",
            mpath = mpath(),
            dir = dir.display(),
            // OSIPS_LOG_LEVEL=4 for debugging a test
            lvl = std::env::var("OSIPS_LOG_LEVEL").unwrap_or_else(|_| "3".into())
        );
        let mut o = Opensips {
            child: None,
            port,
            log: dir.join("opensips.log"),
            dir,
            cfg,
        };
        o.launch();
        o
    }

    /// Starts opensips on `port` with a whole config of its own: `render`
    /// gets the temp dir (for the FIFO) and gives the config text.
    pub fn start_full(port: u16, render: impl FnOnce(&Path) -> String) -> Opensips {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("osips-test-{}-{port}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cfg = render(&dir);
        let mut o = Opensips {
            child: None,
            port,
            log: dir.join("opensips.log"),
            dir,
            cfg,
        };
        o.launch();
        o
    }

    /// A free port and a started server.
    pub fn start_free(body: &str) -> Opensips {
        Self::start(free_port(), body)
    }

    fn launch(&mut self) {
        let cfg = self.dir.join("opensips.cfg");
        fs::write(&cfg, &self.cfg).unwrap();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(bin())
            .args(["-F", "-m", "64", "-M", "8", "-w"])
            .arg(&self.dir)
            .arg("-f")
            .arg(&cfg)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start opensips");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stops and starts again with the same config (a restart mid-dialog).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while UdpSocket::bind(("127.0.0.1", self.port)).is_ok() || !self.dir.join("fifo").exists() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("opensips exited at start-up ({st}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "opensips not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
            panic!("opensips exited at start-up ({st}):\n{}", self.log());
        }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits up to `secs` for `pattern` to appear `n` times in the log.
    pub fn wait_log(&self, pattern: &str, n: usize, secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let c = self.log().matches(pattern).count();
            if c >= n || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// An MI command through mi_fifo; the JSON-RPC reply text.
    pub fn mi(&self, method: &str, params: &str) -> String {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply_name = format!("reply_{n}");
        let reply = self.dir.join(&reply_name);
        let _ = fs::remove_file(&reply);
        let st = Command::new("mkfifo").arg(&reply).status().unwrap();
        assert!(st.success());
        let req = format!(
            ":{reply_name}:{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\",\"params\":{params},\"id\":{n}}}\n"
        );
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("fifo"))
            .unwrap();
        f.write_all(req.as_bytes()).unwrap();
        drop(f);
        // Read the reply in a thread so a missing answer cannot hang the test.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = reply.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Ok(mut f) = fs::File::open(&path) {
                let _ = f.read_to_string(&mut s);
            }
            let _ = tx.send(s);
        });
        let out = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
            // unblock the reader thread
            let _ = fs::OpenOptions::new().write(true).open(&reply);
            String::new()
        });
        let _ = fs::remove_file(&reply);
        out
    }

    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        super::kill_group(child.id());
        let _ = fs::remove_file(self.dir.join("fifo"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Opensips {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "---- opensips log ({}) ----\n{}",
                self.log.display(),
                self.log()
            );
        }
    }
}

/// A SQLite database in `dir` with the OpenSIPS schemas for `tables`
/// (standard-create.sql first) and the given SQL run after them.
pub fn sqlite_db(dir: &Path, schemas: &[&str], sql: &str) -> PathBuf {
    let db = dir.join("opensips.sqlite");
    let _ = fs::remove_file(&db);
    let sq = prefix().join("share/opensips/sqlite");
    let mut script = fs::read_to_string(sq.join("standard-create.sql")).unwrap();
    for s in schemas {
        script += &fs::read_to_string(sq.join(format!("{s}-create.sql"))).unwrap();
    }
    script += sql;
    let mut child = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sqlite3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sqlite3 failed");
    db
}

/// tests/fixtures/challenger.py (verifies answers with Python's hashlib) on a
/// free port, challenging with `code` and the given header values; killed on
/// drop.
pub struct PyChallenger {
    child: Child,
    pub port: u16,
    /// What it printed, read by a thread (a full pipe would stall it).
    out: std::sync::Arc<std::sync::Mutex<String>>,
}

impl PyChallenger {
    pub fn start(code: u16, challenges: &[&str]) -> PyChallenger {
        use std::io::BufRead;
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/challenger.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                port.to_string(),
                code.to_string(),
                "alice".into(),
                "secret".into(),
            ])
            .args(challenges)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut rd = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        rd.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            for l in rd.lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&l);
                s.push('\n');
            }
        });
        PyChallenger { child, port, out }
    }

    /// Stops it and returns what it printed (one line per verified answer).
    pub fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.out.lock().unwrap().clone()
    }
}

impl Drop for PyChallenger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// pkg and shm use of a running opensips (MI get_statistics), in bytes:
/// (shmem:used_size, sum of pkmem:*-used_size over the processes).
pub fn memory(o: &Opensips) -> (u64, u64) {
    let shm = o.mi("get_statistics", "[[\"shmem:\"]]");
    let pkg = o.mi("get_statistics", "[[\"pkmem:\"]]");
    let num_after = |text: &str, key: &str| -> Vec<u64> {
        text.match_indices(key)
            .filter_map(|(i, _)| {
                let rest = &text[i..];
                let colon = rest.find("\":")?;
                let v: String = rest[colon + 2..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                v.parse().ok()
            })
            .collect()
    };
    let s = num_after(&shm, "\"shmem:used_size");
    // the SIP workers' pkg (the MI process's own use moves with each command)
    // Process 1 is the MI FIFO process (mi_fifo is loaded first): its own
    // use moves with the MI commands that read these numbers, so it is left out.
    let p = num_after(&pkg.replace("\"pkmem:1-", "\"mi:"), "-used_size");
    assert!(
        !s.is_empty() && !p.is_empty(),
        "no memory statistics: {shm} / {pkg}"
    );
    (s[0], p.iter().sum())
}

/// Waits (up to 15 s: tm frees a finished transaction after its wait timer)
/// for pkg/shm use to come back to `want`; the last reading.
pub fn memory_settles_to(o: &Opensips, want: (u64, u64)) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = memory(o);
        if m == want || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The memory use once it stopped moving (two equal readings 3 s apart:
/// longer than tm's wait timer, which memory tests set to 2 s).
pub fn memory_steady(o: &Opensips) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = memory(o);
    loop {
        std::thread::sleep(Duration::from_secs(3));
        let m = memory(o);
        if m == last || Instant::now() > deadline {
            return m;
        }
        last = m;
    }
}

/// Starts opensips with `body` expecting it to refuse to start; its log.
pub fn start_fails(body: &str) -> String {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("osips-fail-{}-{port}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("opensips.cfg");
    fs::write(
        &cfg,
        format!(
            "log_level=3\nstderror_enabled=yes\nsyslog_enabled=no\nudp_workers=1\n\
             socket=udp:127.0.0.1:{port}\nmpath=\"{}\"\nloadmodule \"proto_udp.so\"\n{body}\n",
            mpath()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin())
        .args(["-F", "-m", "32", "-M", "4", "-w"])
        .arg(&dir)
        .arg("-f")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start opensips");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            assert!(!st.success(), "opensips exited 0");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("opensips started although the config is bad:\n{body}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut s = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut s);
    s
}

/// Runs `round` (after one warm-up round) and returns the pkg/shm use before
/// and after it. A loss grows with every round; a one-off allocation of the
/// core (a worker taking a code path for the first time) happens once: when
/// the first measured round moved the figures, a second one is measured and
/// it must not move them.
pub fn memory_over_rounds(o: &Opensips, round: &dyn Fn()) -> ((u64, u64), (u64, u64)) {
    round();
    let before = memory_steady(o);
    round();
    let after = memory_settles_to(o, before);
    if after == before {
        return (before, after);
    }
    let before = memory_steady(o);
    round();
    (before, memory_settles_to(o, before))
}
