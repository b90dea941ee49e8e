//! The server's credentials checks (`uac::digest::verify`): any field values
//! never panic; accepted credentials have a known algorithm and a hex
//! response of its length; the verification agrees with the client side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uac::digest::challenge::Algorithm;
use uac::digest::verify::*;

fuzz_target!(|data: &[u8]| {
    let f: Vec<&[u8]> = data.splitn(9, |&b| b == 0xff).collect();
    let g = |i: usize| *f.get(i).unwrap_or(&&b""[..]);
    let c = Creds {
        username: g(0),
        realm: g(1),
        nonce: g(2),
        uri: g(3),
        response: g(4),
        algorithm: g(5),
        qop: g(6),
        cnonce: g(7),
        nc: g(8),
    };
    match check_creds(&c, Algorithm::Md5) {
        Ok((alg, qop)) => {
            assert!(c.response.iter().all(u8::is_ascii_hexdigit));
            assert_eq!(c.response.len(), uac::digest::response::hex_len(alg));
            assert!(qop.is_none() || (!c.cnonce.is_empty() && !c.nc.is_empty()));
            let h1 = ha1(alg, c.username, c.realm, b"pw");
            let want = expected_response(alg, qop, &c, h1.as_bytes(), b"INVITE", b"body");
            // the right response (either case) matches, a changed one does not
            let mut good = c.clone();
            good.response = want.as_bytes();
            assert!(response_matches(alg, qop, &good, h1.as_bytes(), b"INVITE", b"body"));
            let up = want.to_ascii_uppercase();
            good.response = up.as_bytes();
            assert!(response_matches(alg, qop, &good, h1.as_bytes(), b"INVITE", b"body"));
            let matches = response_matches(alg, qop, &c, h1.as_bytes(), b"INVITE", b"body");
            assert_eq!(matches, c.response.eq_ignore_ascii_case(want.as_bytes()));
        }
        Err(_) => {}
    }
});
