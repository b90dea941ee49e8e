//! Fuzz target for the Digest challenge path: the bytes of a WWW-Authenticate /
//! Proxy-Authenticate header value go through
//! `parse_header` -> `select` -> `answer` -> `authorization_header`,
//! exactly as `src/kamailio/uac/auth.rs` chains them, and invariants are checked at
//! every step. Nothing here may panic; any assertion failure is a finding.
//!
//! Environment knob (read once): `UAC_FUZZ_ALLOW_CRLF=1` relaxes the "no CR/LF
//! inside the generated header" check to "CR/LF inside the header only where the
//! challenge's own realm/nonce/opaque carried them", so that the fuzzer can keep
//! exploring past that known finding (see fuzz/README.md). Unset = strict.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uac::digest::challenge::{
    parse_header, Algorithm, Challenge, ParseError, MAX_HEADER_LEN, MAX_VALUE_LEN,
};
use uac::digest::credentials::{select, SelectError};
use uac::digest::response::{
    answer, authorization_header, hash_hex, hex_len, Answer, AnswerError, RequestInfo, Secret,
};

const USER: &[u8] = b"alice";
const PASSWORD: &[u8] = b"s3cr3t";
const CNONCE: &str = "0a4f113b";
const REQ: RequestInfo<'static> = RequestInfo {
    method: b"INVITE",
    uri: b"sip:bob@sip.example.com",
    body: b"v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n",
};

fn allow_crlf() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("UAC_FUZZ_ALLOW_CRLF").is_some_and(|v| v == "1"))
}

fn has_crlf(b: &[u8]) -> bool {
    b.iter().any(|&c| c == b'\r' || c == b'\n')
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fuzz_target!(|data: &[u8]| {
    let parsed = match parse_header(data) {
        Ok(v) => v,
        Err(e) => {
            // Whole-header errors: only these kinds can come back for the header.
            assert!(
                matches!(
                    e,
                    ParseError::TooLong
                        | ParseError::Empty
                        | ParseError::UnbalancedQuote
                        | ParseError::ValueTooLong(_)
                        | ParseError::ControlChar(_)
                        | ParseError::Malformed(_)
                ),
                "unexpected header-level error {e:?}"
            );
            if let ParseError::Malformed(at) = e {
                assert!(at <= data.len(), "Malformed({at}) past the end ({})", data.len());
            }
            if e == ParseError::TooLong {
                assert!(data.len() > MAX_HEADER_LEN);
            }
            let _ = e.to_string();
            return;
        }
    };
    assert!(data.len() <= MAX_HEADER_LEN);
    assert!(!parsed.is_empty(), "Ok with no challenge");

    for c in &parsed {
        match c {
            Ok(c) => check_challenge(c),
            Err(e) => {
                // Per-challenge errors only.
                assert!(
                    matches!(
                        e,
                        ParseError::Repeated(_) | ParseError::Missing(_) | ParseError::NotDigest(_)
                    ),
                    "unexpected per-challenge error {e:?}"
                );
                let _ = e.to_string();
            }
        }
    }

    // What select() must pick when a credential exists for every realm: the
    // topmost well-formed challenge with an algorithm and a qop we implement.
    let expected = parsed
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .find(|c| c.algorithm.is_ok() && c.qop.is_ok())
        .cloned();

    // With no credential at all, select() must never succeed.
    match select(parsed.clone(), |_: &Challenge| None::<()>) {
        Ok(_) => panic!("select succeeded without any credential"),
        Err(SelectError::NoCredentials(realms)) => {
            assert!(expected.is_some(), "NoCredentials but nothing was answerable");
            assert_eq!(realms[0], expected.as_ref().unwrap().realm);
        }
        Err(e) => {
            assert!(expected.is_none(), "{e:?} although a challenge was answerable");
            let _ = e.to_string();
        }
    }

    // A lookup that finds a credential for any realm.
    let (ch, who) = match select(parsed, |c: &Challenge| Some(c.realm.clone())) {
        Ok(v) => v,
        Err(e) => {
            assert!(expected.is_none(), "select failed with {e:?} on {expected:?}");
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(Some(&ch), expected.as_ref(), "select picked another challenge");
    assert_eq!(who, ch.realm, "lookup value not passed through");
    let alg = ch.algorithm.clone().expect("selected challenge has unsupported algorithm");
    let qop = ch.qop.clone().expect("selected challenge has unsupported qop");

    // The password answer.
    let a = answer(&ch, USER, Secret::Password(PASSWORD), &REQ, CNONCE)
        .expect("answer failed on a selected challenge");
    assert_eq!(a.algorithm, alg);
    assert_eq!(a.qop, qop);
    assert_eq!(a.nc, "00000001");
    assert_eq!(a.cnonce, CNONCE);
    assert_eq!(a.response.len(), hex_len(alg), "response length for {alg:?}");
    assert!(is_lower_hex(&a.response), "response not lowercase hex: {}", a.response);

    // The same secret given as HA1 (lower- and upper-case) gives the same answer.
    let mut ha1_input = USER.to_vec();
    ha1_input.push(b':');
    ha1_input.extend_from_slice(ch.realm.as_bytes());
    ha1_input.push(b':');
    ha1_input.extend_from_slice(PASSWORD);
    let ha1 = hash_hex(alg, &ha1_input);
    assert_eq!(ha1.len(), hex_len(alg));
    let b = answer(&ch, USER, Secret::Ha1(ha1.as_bytes()), &REQ, CNONCE)
        .expect("answer with a valid HA1 failed");
    assert_eq!(a, b, "HA1 answer differs from the password answer");
    let upper = ha1.to_ascii_uppercase();
    let b = answer(&ch, USER, Secret::Ha1(upper.as_bytes()), &REQ, CNONCE)
        .expect("answer with an upper-case HA1 failed");
    assert_eq!(a, b, "upper-case HA1 answer differs");

    // HA1 taken from the input (32 and 64 bytes): accepted iff it is hex of the
    // right length for the algorithm, otherwise BadHa1 with the right numbers.
    for n in [32usize, 64] {
        let h = &data[..n.min(data.len())];
        match answer(&ch, USER, Secret::Ha1(h), &REQ, CNONCE) {
            Ok(x) => {
                assert!(h.len() == hex_len(alg) && h.iter().all(u8::is_ascii_hexdigit));
                assert_eq!(x.response.len(), hex_len(alg));
                check_header(&ch, &x);
            }
            Err(AnswerError::BadHa1 { expected, got }) => {
                assert_eq!((expected, got), (hex_len(alg), h.len()));
                assert!(h.len() != hex_len(alg) || !h.iter().all(u8::is_ascii_hexdigit));
            }
            Err(e) => panic!("unexpected answer error {e:?}"),
        }
    }

    check_header(&ch, &a);
});

fn check_challenge(c: &Challenge) {
    assert!(!c.nonce.is_empty(), "challenge with an empty nonce");
    assert!(c.realm.len() <= 3 * MAX_VALUE_LEN);
    assert!(c.nonce.len() <= 3 * MAX_VALUE_LEN);
    if let Ok(a) = c.algorithm {
        assert_eq!(Algorithm::parse(a.name()), Some(a), "algorithm name round trip");
        assert_eq!(hash_hex(a, b"").len(), hex_len(a));
    }
}

/// The Authorization / Proxy-Authorization line for `ch` and `a`.
fn check_header(ch: &Challenge, a: &Answer) {
    for proxy in [false, true] {
        // The parser refuses control characters, so every parsed challenge
        // must build a header.
        let h = authorization_header(proxy, USER, ch, REQ.uri, a)
            .expect("a parsed challenge always builds a header");
        let prefix: &[u8] = if proxy {
            b"Proxy-Authorization: Digest "
        } else {
            b"Authorization: Digest "
        };
        assert!(h.starts_with(prefix), "header prefix: {:?}", String::from_utf8_lossy(&h));
        assert!(h.ends_with(b"\r\n"), "header does not end with CRLF");
        let line = &h[..h.len() - 2];
        let values_crlf = has_crlf(ch.realm.as_bytes())
            || has_crlf(ch.nonce.as_bytes())
            || ch.opaque.as_deref().is_some_and(|o| has_crlf(o.as_bytes()));
        if has_crlf(line) {
            assert!(
                allow_crlf() && values_crlf,
                "CR/LF inside the generated header line: {:?}",
                String::from_utf8_lossy(&h)
            );
        }
        let resp = format!("response=\"{}\"", a.response);
        assert!(
            h.windows(resp.len()).any(|w| w == resp.as_bytes()),
            "response missing from header"
        );
        let alg = format!(", algorithm={}\r\n", a.algorithm.name());
        assert!(h.ends_with(alg.as_bytes()), "algorithm not last");

        // Round trip: the header's value has the challenge grammar, so our own
        // parser must read back the same realm, nonce and opaque (quoting and
        // escaping must be right). Skipped where size limits would refuse it.
        let value = &h[prefix.len() - b"Digest ".len()..h.len() - 2];
        let short = |s: &str| s.len() <= MAX_VALUE_LEN;
        if value.len() <= MAX_HEADER_LEN
            && short(&ch.realm)
            && short(&ch.nonce)
            && ch.opaque.as_deref().map_or(true, short)
        {
            let back = parse_header(value)
                .unwrap_or_else(|e| panic!("own header does not parse back: {e:?}"));
            assert_eq!(back.len(), 1, "own header parsed as {} challenges", back.len());
            let b = back[0].as_ref().expect("own header is not a valid challenge");
            assert_eq!(b.realm, ch.realm, "realm round trip");
            assert_eq!(b.nonce, ch.nonce, "nonce round trip");
            assert_eq!(b.opaque, ch.opaque, "opaque round trip");
        }
    }
}
