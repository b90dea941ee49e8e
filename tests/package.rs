//! `make deb` (scripts/make-deb): the package's fields and files, its modules
//! and example cfgs loaded by the real kamailio from a temporary root
//! (`dpkg-deb -x`), no file of Debian's kamailio packages replaced, and
//! lintian without errors.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODDIR: &str = "usr/lib/x86_64-linux-gnu/kamailio/uac-rs";
const DOCDIR: &str = "usr/share/doc/kamailio-uac-rs-modules";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A temporary folder, removed on drop unless the test failed.
struct Tmp(PathBuf);

impl Drop for Tmp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Builds the package into a temporary folder; (folder, .deb path).
fn build_deb() -> (Tmp, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = Tmp(std::env::temp_dir().join(format!("uac-deb-{}", std::process::id())));
    let _ = fs::remove_dir_all(&tmp.0);
    fs::create_dir_all(&tmp.0).unwrap();
    let out = run(Command::new(root.join("scripts/make-deb")).env("DEB_OUT", tmp.0.join("out")));
    let deb = PathBuf::from(out.trim());
    assert!(deb.exists(), "make-deb printed {out:?}");
    (tmp, deb)
}

fn field(deb: &Path, name: &str) -> String {
    run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_string()
}

/// Every file Debian's installed kamailio packages own.
fn kamailio_package_files() -> Vec<String> {
    let pkgs = run(Command::new("dpkg-query").args(["-W", "-f", "${Package}\n", "kamailio*"]));
    let mut files = Vec::new();
    for p in pkgs.lines().filter(|p| !p.is_empty()) {
        let out = Command::new("dpkg-query").args(["-L", p]).output().unwrap();
        files.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    files
}

#[test]
fn deb_holds_the_modules_docs_and_examples_and_depends_on_this_kamailio() {
    let (_tmp, deb) = build_deb();
    assert_eq!(field(&deb, "Package"), "kamailio-uac-rs-modules");
    assert_eq!(field(&deb, "Architecture"), "amd64");
    assert_eq!(field(&deb, "Version"), env!("CARGO_PKG_VERSION"));
    let kver = run(Command::new("dpkg-query").args(["-W", "-f", "${Version}", "kamailio"]));
    let depends = field(&deb, "Depends");
    assert!(
        depends.starts_with(&format!("kamailio (= {kver}), ")),
        "Depends: {depends}"
    );
    assert!(depends.contains("libc6"), "Depends: {depends}");

    // file list: "-rw-r--r-- root/root  size date time ./path"
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let files: Vec<String> = listing
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| l.rsplit_once(" ./").unwrap().1.to_string())
        .collect();
    for want in [
        format!("{MODDIR}/uac.so"),
        format!("{MODDIR}/auth.so"),
        format!("{DOCDIR}/uac.md.gz"),
        format!("{DOCDIR}/auth.md.gz"),
        format!("{DOCDIR}/copyright"),
        format!("{DOCDIR}/changelog.gz"),
        format!("{DOCDIR}/README.Debian"),
        format!("{DOCDIR}/examples/uac-reg.cfg"),
        format!("{DOCDIR}/examples/registrar.cfg"),
        format!("{DOCDIR}/examples/uacreg-rows.sql"),
        format!("{DOCDIR}/examples/auth-db.cfg"),
    ] {
        assert!(
            files.contains(&want),
            "{want} not in the package:\n{listing}"
        );
    }
    // outside our two folders: nothing
    for f in &files {
        assert!(
            f.starts_with(&format!("{MODDIR}/")) || f.starts_with(&format!("{DOCDIR}/")),
            "{f} outside the package's folders"
        );
    }
    // no file of Debian's kamailio packages is replaced
    let theirs = kamailio_package_files();
    assert!(
        theirs.len() > 100,
        "dpkg lists {} kamailio files",
        theirs.len()
    );
    for f in &files {
        assert!(
            !theirs.contains(&format!("/{f}")),
            "{f} belongs to Debian's kamailio"
        );
    }
}

#[test]
fn unpacked_modules_and_example_cfgs_load_in_kamailio() {
    let (tmp, deb) = build_deb();
    let root = tmp.0.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    // Installed, the modules' RUNPATH $ORIGIN/.. is Debian's kamailio folder,
    // where its private libsrdb1.so.1 is: the temporary root gets the same
    // neighbour (a link to it), nothing else.
    let rpath = run(Command::new("readelf")
        .arg("-d")
        .arg(root.join(MODDIR).join("uac.so")));
    assert!(rpath.contains("[$ORIGIN/..]"), "{rpath}");
    let lib = "usr/lib/x86_64-linux-gnu/kamailio/libsrdb1.so.1";
    std::os::unix::fs::symlink(Path::new("/").join(lib), root.join(lib)).unwrap();
    let installed = format!("/{MODDIR}/");
    let unpacked = format!("{}/", root.join(MODDIR).display());

    // Our modules first, before any module that could bring libsrdb1 in.
    let first = format!(
        "#!KAMAILIO\nlisten=udp:127.0.0.1:{}\nloadmodule \"{installed}auth.so\"\n\
         loadmodule \"{installed}uac.so\"\nmpath=\"{}\"\nloadmodule \"sl.so\"\n\
         loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nrequest_route {{ exit; }}\n",
        common::free_port(),
        common::mpath()
    );
    let mut cfgs = vec![("first.cfg".to_string(), first)];
    // The packaged example cfgs that load our modules, as a user fills them in.
    let ex = root.join(DOCDIR).join("examples");
    for name in [
        "uac-reg.cfg",
        "registrar.cfg",
        "auth-db.cfg",
        "uac-replace.cfg",
    ] {
        let text = fs::read_to_string(ex.join(name)).unwrap();
        assert!(
            text.contains(&installed),
            "{name} does not load {installed}"
        );
        assert!(!text.contains("MPATH"), "{name}: mpath not filled in");
        cfgs.push((name.to_string(), text));
    }
    for (name, text) in cfgs {
        let cfg = text
            .replace(&installed, &unpacked)
            .replace("LISTEN", &format!("udp:127.0.0.1:{}", common::free_port()))
            .replace("DB_URL", &format!("sqlite://{}/none.db", tmp.0.display()))
            .replace("CTL_SOCK", &format!("{}/ctl", tmp.0.display()))
            .replace("CONTACT_ADDR", "127.0.0.1:5060")
            .replace("AUTH_SECRET", "s3cret")
            .replace("NEXT_HOP", "sip:127.0.0.1:5080")
            .replace("RESTORE_MODE", "auto")
            .replace("RESTORE_PASSWD", "")
            .replace("REALM", "registrar.example");
        let path = tmp.0.join(&name);
        fs::write(&path, &cfg).unwrap();
        let out = Command::new("kamailio")
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kamailio -c {name}:\n{log}\n{cfg}");
        assert!(log.contains("config file ok"), "{name}: {log}");
        assert!(
            !log.contains(&installed),
            "{name} loaded the installed path: {log}"
        );
    }
}

#[test]
fn lintian_finds_no_error() {
    let (_tmp, deb) = build_deb();
    let out = Command::new("lintian")
        .args(["--fail-on", "error"])
        .arg(&deb)
        .output()
        .expect("lintian (package lintian, installed by scripts/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "lintian:\n{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("E:")),
        "lintian:\n{text}"
    );
}
