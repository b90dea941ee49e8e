//! `make run` and `make run-opensips` as a user runs them, headless: the real
//! make targets in their own process group, on free ports, in a temporary
//! RUN_DIR. Within a time limit every enabled trunk is registered (the run's
//! own lines, and the registrar's location table asked directly), `make call`
//! is challenged with 407, authenticated and answered (the registrar's log for
//! that Call-ID), neither log has a warning or an error, and Ctrl-C (SIGINT to
//! the process group, as a terminal sends it) leaves no process, port, socket
//! or FIFO behind.

mod common;

use common::free_port;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `make <target>` with the test's environment (no jobserver of an outer
/// make: its file descriptors are not passed on).
fn make(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new("make");
    c.arg("--no-print-directory")
        .args(args)
        .current_dir(root())
        .env("RUN_DIR", dir)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    c
}

/// A running `make run...`, its terminal output collected.
struct Run {
    child: Child,
    out: Arc<Mutex<String>>,
    dir: PathBuf,
    ports: [u16; 2],
}

impl Run {
    fn start(target: &str) -> Run {
        let (port, registrar) = (free_port(), free_port());
        let dir =
            std::env::temp_dir().join(format!("uac-run-{}-{target}-{port}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut child = make(&[target], &dir)
            .env("PORT", port.to_string())
            .env("REGISTRAR_PORT", registrar.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // its own process group, as a shell job: Ctrl-C reaches all of it
            .process_group(0)
            .spawn()
            .expect("make");
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Run {
            child,
            out,
            dir,
            ports: [port, registrar],
        }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits up to `secs` for `pattern` in the output (false if the run ended
    /// or time ran out first).
    fn wait_output(&mut self, pattern: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.output().contains(pattern) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                return self.output().contains(pattern);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Ctrl-C: SIGINT to the whole process group; waits up to 20 s for make
    /// to exit.
    fn ctrl_c(&mut self) -> bool {
        // SAFETY: kill(2) on our own child's process group.
        unsafe { libc::kill(-self.pgid(), libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // the output threads read to the end of the pipes
                std::thread::sleep(Duration::from_millis(300));
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn log(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // whatever is left of the process group (nothing when the test
        // passed; while one member lives, no other group can have its id)
        let running = matches!(self.child.try_wait(), Ok(None));
        if running || !leftovers(self.pgid(), None).is_empty() {
            // SAFETY: kill(2) on our own child's process group.
            unsafe { libc::kill(-self.pgid(), libc::SIGKILL) };
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- terminal ----\n{}", self.output());
            for f in ["uac.log", "trunks.log", "registrar.log"] {
                let l = self.log(f);
                if !l.is_empty() {
                    eprintln!("---- {f} ----\n{l}");
                }
            }
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Processes still in the process group `pgid`, or whose command line names
/// `dir` when given (pid and command line each).
fn leftovers(pgid: i32, dir: Option<&Path>) -> Vec<String> {
    let dir = dir.map(|d| d.display().to_string());
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        // stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let pgrp = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(pgid) || dir.as_ref().is_some_and(|d| cmd.contains(d)) {
            found.push(format!("{pid} {cmd}"));
        }
    }
    found
}

/// Lines of a server log that are warnings or errors.
fn problems(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            ["WARNING", "ERROR", "CRITICAL", "ALERT", "BUG"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect()
}

/// `make call` (or call-opensips) to `user`: its output; asserts it succeeded
/// and that the registrar logged, for the Call-ID it used, the 407 and then
/// the authenticated INVITE answered with 200.
fn call(run: &Run, target: &str, user: &str, registrar_log: &str) -> String {
    let out = make(&[target, &format!("TO={user}")], &run.dir)
        .output()
        .expect("make call");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "make {target} TO={user}:\n{text}");
    assert!(text.contains("<- 200 OK"), "{text}");
    let call_id = text
        .split("Call-ID ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the call's Call-ID in the output")
        .to_string();
    let log = run.log(registrar_log);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&call_id)).collect();
    let challenged = lines
        .iter()
        .position(|l| l.contains("no credentials, challenged with 407"));
    let answered = lines.iter().position(|l| {
        l.contains(&format!("authenticated as {user}: answered 200 OK"))
            && l.contains(&format!("INVITE sip:{user}@127.0.0.1:{}", run.ports[1]))
    });
    assert!(
        matches!((challenged, answered), (Some(c), Some(a)) if c < a),
        "registrar log for {call_id}: {lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("ended (BYE")), "{lines:#?}");
    text
}

/// Ctrl-C and what must be gone afterwards.
fn stop_and_check_nothing_left(run: &mut Run, names: &str, files: &[&str]) {
    let pgid = run.pgid();
    assert!(run.ctrl_c(), "make still running 20 s after Ctrl-C");
    let out = run.output();
    assert!(out.contains(&format!("stopped ({names})")), "{out}");
    let left = leftovers(pgid, Some(&run.dir));
    assert!(left.is_empty(), "left running after Ctrl-C: {left:#?}");
    for p in run.ports {
        assert!(
            UdpSocket::bind(("127.0.0.1", p)).is_ok(),
            "udp:127.0.0.1:{p} still bound after Ctrl-C"
        );
    }
    for f in files {
        assert!(
            !run.dir.join(f).exists(),
            "{f} left in the run folder after Ctrl-C"
        );
    }
}

/// What differs between the two run examples.
struct Flow<'a> {
    run: &'a str,
    call: &'a str,
    /// lines the terminal must show, given the registrar's port
    shows: fn(u16) -> Vec<String>,
    /// the registrar's location table, as text
    location: fn(&Run) -> String,
    /// each server's log and a line every start writes there
    logs: [(&'a str, &'a str); 2],
    /// what Ctrl-C must remove from the run folder
    removed: &'a [&'a str],
}

/// One run example end to end: registered, asked, called twice (alice, bob),
/// logs clean, stopped with nothing left.
fn check_flow(f: Flow) {
    // make checks the set-up and the modules first, then the two servers
    let mut run = Run::start(f.run);
    // the last line of the hints, printed once the registrations are done
    assert!(run.wait_output("Ctrl-C stops both.", 90), "run not ready");
    let [port, registrar] = run.ports;
    let out = run.output();
    let mut shows = (f.shows)(registrar);
    shows.extend(
        [
            "all 2 enabled trunks registered",
            "trunk3  disabled in its row",
            &format!("make {}", f.call),
        ]
        .map(String::from),
    );
    for want in shows {
        assert!(out.contains(&want), "no {want:?} in:\n{out}");
    }
    assert!(!out.contains("trunk3  registered"), "{out}");

    // the registrar's own view: its location table holds the two trunks
    let ul = (f.location)(&run);
    for t in ["trunk1", "trunk2"] {
        assert!(
            ul.contains(&format!("sip:{t}@127.0.0.1:{port}")),
            "{t} not in the registrar's location table:\n{ul}"
        );
    }
    assert!(!ul.contains("trunk3"), "{ul}");

    call(&run, f.call, "alice", "registrar.log");
    call(&run, f.call, "bob", "registrar.log");

    for (log, always) in f.logs {
        let l = run.log(log);
        assert!(l.contains(always), "{log} has no {always:?}");
        assert!(problems(&l).is_empty(), "{log}: {:#?}", problems(&l));
    }
    stop_and_check_nothing_left(&mut run, "registrar trunks", f.removed);
}

fn output_of(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&cmd.output().expect("run").stdout).to_string()
}

#[test]
fn make_run_registers_every_trunk_and_authenticates_a_call() {
    check_flow(Flow {
        run: "run",
        call: "call",
        // trunk1 answers with its password, trunk2 with its HA1
        shows: |r| {
            vec![
                format!("trunk1  registered  alice@127.0.0.1:{r} (password"),
                format!("trunk2  registered  bob@127.0.0.1:{r} (HA1"),
                "uac.reg_dump".into(),
                "uac.reg_info".into(),
            ]
        },
        location: |run| {
            output_of(
                Command::new("kamcmd")
                    .arg("-s")
                    .arg(format!("unix:{}", run.dir.join("registrar_ctl").display()))
                    .arg("ul.dump"),
            )
        },
        logs: [("uac.log", "INFO"), ("registrar.log", "INFO")],
        removed: &["uac_ctl", "registrar_ctl", "ports", "uac.log.pipe"],
    });
}

#[test]
fn make_run_opensips_registers_every_trunk_and_authenticates_a_call() {
    check_flow(Flow {
        run: "run-opensips",
        call: "call-opensips",
        shows: |r| {
            vec![
                format!("trunk1  registered  alice@127.0.0.1:{r}"),
                format!("trunk2  registered  bob@127.0.0.1:{r}"),
                "reg_list".into(),
            ]
        },
        location: |run| {
            output_of(
                Command::new(root().join("scripts/opensips-mi"))
                    .arg(run.dir.join("registrar-mi/fifo"))
                    .arg("ul_dump"),
            )
        },
        logs: [
            ("trunks.log", "NOTICE:core:main"),
            ("registrar.log", "NOTICE:core:main"),
        ],
        removed: &[
            "registrar-mi/fifo",
            "trunks-mi/fifo",
            "ports",
            "trunks.log.pipe",
        ],
    });
}
