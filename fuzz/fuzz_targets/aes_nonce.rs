//! OpenSIPS's nonce decoder (`uac::digest::aes_nonce`): any bytes as a nonce
//! never panic; whatever decodes re-encodes to the same nonce with its
//! random block (only the secret's holder makes a nonce that decodes); a
//! nonce built from the input's parameters decodes back to them, and never
//! with another secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uac::digest::aes_nonce::*;

fuzz_target!(|data: &[u8]| {
    let key = NonceKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
    // 1. arbitrary input
    if let Some(d) = key.decode(data) {
        assert_eq!(data.len(), NONCE_LEN);
        assert!(d.params.expires_usec < 1_000_000);
        assert_eq!(key.encode(d.iv, &d.params).as_bytes(), data, "decode/encode differ");
        let _ = is_stale(&d.params, 1_700_000_000_000_000, 30);
    }
    // 2. parameters from the input: the round trip holds
    if data.len() >= 28 {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&data[..16]);
        let p = NonceParams {
            expires_sec: u64::from_le_bytes(data[16..24].try_into().unwrap()) & ((1 << 34) - 1),
            expires_usec: u32::from_le_bytes(data[24..28].try_into().unwrap()) % 1_000_000,
            index: i32::from_le_bytes(data[20..24].try_into().unwrap()),
            qop: data[0] & 7,
            alg: data[1] & 7,
        };
        let n = key.encode(iv, &p);
        assert_eq!(n.len(), NONCE_LEN);
        let d = key.decode(n.as_bytes()).expect("own nonce refused");
        assert_eq!((d.params, d.iv), (p, iv));
        let other = NonceKey::new(b"fedcba9876543210fedcba9876543210").unwrap();
        if let Some(o) = other.decode(n.as_bytes()) {
            // only the all-equal-blocks case decodes under any key
            assert_eq!(o.params, NonceParams::default(), "foreign secret accepted");
        }
    }
});
