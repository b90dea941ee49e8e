//! The KEMI exports (KSR.uac.*) through a JavaScript routing script (app_jsdt).

mod common;
use common::dialog::Call;
use common::*;

#[test]
fn kemi_replace_from_and_auto_restore() {
    let (a, b) = (Peer::new(), Peer::new());
    let m = our_module();
    let port = free_port();
    let opts = CfgOpts {
        module: &m,
        restore_mode: "auto",
        passwd: "",
        next_hop: b.port,
        defines: &[],
    };
    let dir = std::env::temp_dir().join(format!("uac-kemi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let js = dir.join("uac-kemi.js");
    std::fs::write(&js, render_example("uac-kemi.js", &opts, port)).unwrap();
    let cfg = render_example("uac-kemi.cfg", &opts, port)
        .replace("KEMI_SCRIPT", &js.display().to_string());
    let k = Kamailio::start_with(&cfg, port);
    let alice = "\"Alice\" <sip:alice@a.example.com>";
    let mut call = Call::invite(k.port, &a, &b, alice, "<sip:bob@b.example.com>", &[]);
    assert!(
        call.invite_at_b
            .hdr("From")
            .starts_with("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag="),
        "{}",
        call.invite_at_b.hdr("From")
    );
    assert_eq!(call.ok_at_a.hdr("From"), call.a_from);
    call.ack();
    let (bye, ok) = call.send_from_b("BYE");
    assert_eq!(angle_uri(bye.hdr("To")), "sip:alice@a.example.com");
    assert_eq!(angle_uri(ok.hdr("To")), "sip:anonymous@anonymous.invalid");
}
