//! The server nonce parser and checks (`uac::digest::nonce`): any bytes as a
//! nonce never panic, never change state, and only our own nonces pass;
//! nonces we build always pass with the same context and never with
//! another secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU32, Ordering};
use uac::digest::nonce::*;

fn atomics(n: usize, v: u32) -> Vec<AtomicU32> {
    (0..n).map(|_| AtomicU32::new(v)).collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, rest) = data.split_at(8);
    let cfg = (head[0] & 15) as u32;
    let nc_on = head[1] & 1 != 0;
    let otn_on = head[1] & 2 != 0;
    let now = 1_700_000_000u32.wrapping_add(u32::from_le_bytes([head[2], head[3], 0, 0]));
    let secrets = Secrets::from_param(b"fuzz-secret-0123456789", cfg != 0);
    let nid = atomics(2, u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let nc = atomics(1024 / 4, u32::MAX);
    let otn = atomics(1024 / 32, u32::MAX);
    let st = State { nid: &nid, nc: &nc, nc_size: 1024, otn: &otn, otn_size: 1024 };
    let parts = CheckedParts { callid: Some(b"call"), ruri: Some(b"sip:x"), ..Default::default() };
    let (nonce_in, nc_in) = match rest.iter().position(|&b| b == b'|') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let ctx = CheckCtx {
        cfg,
        secrets: &secrets,
        parts: parts.clone(),
        now,
        up_since: now - 1000,
        max_drift: 3,
        nc_enabled: nc_on,
        otn_enabled: otn_on,
        nc: nc_in,
    };
    let snapshot = |s: &State| -> Vec<u32> {
        s.nid.iter().chain(s.nc.iter()).chain(s.otn.iter()).map(|a| a.load(Ordering::Relaxed)).collect()
    };
    let before = snapshot(&st);
    // 1. arbitrary input: no panic, no state change; an accepted nonce decodes
    if let Ok(v) = check(nonce_in, &ctx, Some(&st)) {
        let b = b64_decode(nonce_in).expect("accepted nonce must be base64");
        assert!(b.len() >= MIN_BIN_NONCE_LEN);
        assert!(v.expire as i32 >= now as i32);
    }
    assert_eq!(before, snapshot(&st), "check changed state");
    // 2. a nonce we build passes, once per slot; another secret never passes
    let pool = (head[4] & 1) as u32;
    let mut pf = pool as u8;
    if nc_on {
        pf |= NF_VALID_NC_ID;
    }
    if otn_on {
        pf |= NF_VALID_OT_ID;
    }
    let id = (nc_on || otn_on).then(|| st.new_id(pool, nc_on, otn_on));
    let n = build(cfg, now, now + 30, id.map(|i| (i, pf)), &secrets, &parts);
    let ctx2 = CheckCtx { nc: Some(b"00000001"), ..ctx };
    let v = check(n.as_bytes(), &ctx2, Some(&st)).expect("own nonce refused");
    commit(&v, Some(&st)).expect("first commit refused");
    if nc_on || otn_on {
        assert!(check(n.as_bytes(), &ctx2, Some(&st)).is_err(), "replay accepted");
    }
    let other = Secrets::from_param(b"another-secret-abcdefgh", cfg != 0);
    let ctx3 = CheckCtx { secrets: &other, ..ctx2 };
    assert!(check(n.as_bytes(), &ctx3, Some(&st)).is_err(), "foreign secret accepted");
});
