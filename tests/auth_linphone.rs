//! linphonec (Debian linphone-cli, belle-sip) registers with SHA-256 against
//! stock auth_db bound to our auth.so offering "SHA-256,MD5" (RFC 8760), and,
//! for comparison, against the stock auth.so with algorithm=SHA-256.

mod common;

use common::{free_port, host, mpath, our_auth, Kamailio};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn server(module: &str, modparam: &str, port: u16, dir: &Path) -> Kamailio {
    let db = dir.join("kamailio.sqlite");
    let _ = std::fs::remove_file(&db);
    let mut sql = String::new();
    for f in [
        "standard-create.sql",
        "auth_db-create.sql",
        "group-create.sql",
    ] {
        sql += &std::fs::read_to_string(host().schemas.join("db_sqlite").join(f)).unwrap();
    }
    sql += "INSERT INTO subscriber (username, domain, password) VALUES ('alice', 'sip.test', 'alicepw');\n";
    assert!(Command::new("sqlite3")
        .arg(&db)
        .arg(&sql)
        .status()
        .unwrap()
        .success());
    let tpl =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/auth-db.cfg"))
            .unwrap();
    let body = tpl
        .replace("\"AUTH_MODULE\"", &format!("\"{module}\""))
        .replace("LISTEN", &format!("udp:127.0.0.1:{port}"))
        .replace("MPATH", mpath())
        .replace("DB_URL", &format!("sqlite://{}", db.display()))
        .replace("AUTH_SECRET", "lp-secret")
        .replace(
            "# EXTRA_MODPARAMS (the tests put nonce_count, one_time_nonce... here)",
            modparam,
        );
    let (first, rest) = body.split_once('\n').unwrap();
    Kamailio::start_with(&format!("{first}\n#!define WITH_RESULT_HDR\n{rest}"), port)
}

/// Runs linphonec registering alice; returns once the server logged an
/// authenticated REGISTER (or after 20 s).
fn register_with_linphonec(k: &Kamailio, dir: &Path) -> bool {
    let lport = free_port();
    let rc = dir.join("linphonerc");
    std::fs::write(
        &rc,
        format!(
            "[sip]\nipv6=0\nbind_address=127.0.0.1\nsip_port={lport}\nsip_tcp_port=-1\nsip_tls_port=-1\ndefault_proxy=0\n\
             [sound]\ncapture_dev_id=Null\nplayback_dev_id=Null\nringer_dev_id=Null\n\
             [proxy_0]\nreg_proxy=<sip:127.0.0.1:{};transport=udp>\nreg_identity=sip:alice@sip.test\n\
             reg_expires=60\nreg_sendregister=1\npublish=0\n\
             [auth_info_0]\nusername=alice\npasswd=alicepw\nrealm=sip.test\n",
            k.port
        ),
    )
    .unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".local/share/linphone")).unwrap();
    let mut lp = Command::new("linphonec")
        .arg("-c")
        .arg(&rc)
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("linphonec (package linphone-cli)");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ok = false;
    while Instant::now() < deadline {
        if k.log().contains("AUTH-RESULT REGISTER 1 au=alice") {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(mut i) = lp.stdin.take() {
        let _ = i.write_all(b"quit\n");
    }
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if let Ok(Some(_)) = lp.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = lp.kill();
    let _ = lp.wait();
    ok
}

#[test]
fn linphonec_registers_with_sha256() {
    let ours = PathBuf::from(our_auth());
    for (module, modparam) in [
        (
            ours.display().to_string(),
            "modparam(\"auth\", \"algorithms\", \"SHA-256,MD5\")",
        ),
        (
            host().stock("auth.so"),
            "modparam(\"auth\", \"algorithm\", \"SHA-256\")",
        ),
    ] {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("auth-linphone-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = server(&module, modparam, port, &dir);
        assert!(
            register_with_linphonec(&k, &dir),
            "{module}: linphonec did not register:\n{}",
            k.log()
        );
        let log = k.log();
        let cred = log
            .lines()
            .find(|l| l.contains("CRED REGISTER"))
            .expect("no credentials logged");
        assert!(cred.contains("algorithm=SHA-256"), "{module}: {cred}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
