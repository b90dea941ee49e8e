//! Computing the digest response and building the Authorization header.

use super::challenge::{Algorithm, Challenge, Qop};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha512, Sha512_256};

/// Lowercase hex of bytes (a table, not core::fmt: this runs for every answer).
pub fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(b.len() * 2);
    for &x in b {
        out.push(DIGITS[(x >> 4) as usize]);
        out.push(DIGITS[(x & 15) as usize]);
    }
    // only ASCII hex digits were pushed, so this never fails
    String::from_utf8(out).unwrap_or_default()
}

/// H() of the challenge's algorithm, as lowercase hex.
pub fn hash_hex(alg: Algorithm, data: &[u8]) -> String {
    match alg {
        Algorithm::Md5 | Algorithm::Md5Sess => to_hex(&Md5::digest(data)),
        Algorithm::Sha256 | Algorithm::Sha256Sess => to_hex(&Sha256::digest(data)),
        Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => to_hex(&Sha512_256::digest(data)),
        Algorithm::Sha512 | Algorithm::Sha512Sess => to_hex(&Sha512::digest(data)),
    }
}

/// Length of a hex digest for the algorithm (for checking a stored HA1).
pub fn hex_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::Md5 | Algorithm::Md5Sess => 32,
        Algorithm::Sha512 | Algorithm::Sha512Sess => 128,
        _ => 64,
    }
}

/// What the client knows: the password, or HA1 = H(user:realm:password) precomputed.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    Password(&'a [u8]),
    Ha1(&'a [u8]),
}

/// The request being authenticated.
pub struct RequestInfo<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    /// Message body, for qop=auth-int.
    pub body: &'a [u8],
}

/// The values of one answer: everything the Authorization header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub algorithm: Algorithm,
    pub qop: Option<Qop>,
    pub nc: String,
    pub cnonce: String,
    pub response: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    UnsupportedAlgorithm(String),
    UnsupportedQop(String),
    BadHa1 {
        expected: usize,
        got: usize,
    },
    /// A control character in a value that goes into the header.
    ControlChar(&'static str),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm '{a}'"),
            AnswerError::UnsupportedQop(q) => write!(f, "unsupported qop '{q}'"),
            AnswerError::ControlChar(field) => write!(f, "control character in the {field}"),
            AnswerError::BadHa1 { expected, got } => {
                write!(f, "HA1 in the password must be {expected} hex digits for this algorithm, got {got}")
            }
        }
    }
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            v.push(b':');
        }
        v.extend_from_slice(p);
    }
    v
}

/// Computes the response to `ch` for `user` (RFC 7616 §3.4.1), with the given
/// cnonce (the caller draws it from a CSPRNG) and nc 00000001: each challenge is
/// answered once, with its fresh nonce. A -sess algorithm uses the cnonce in
/// H(A1) also without qop ([`authorization_header`] then sends it too).
pub fn answer(
    ch: &Challenge,
    user: &[u8],
    secret: Secret,
    req: &RequestInfo,
    cnonce: &str,
) -> Result<Answer, AnswerError> {
    let alg = ch
        .algorithm
        .clone()
        .map_err(AnswerError::UnsupportedAlgorithm)?;
    let qop = ch.qop.clone().map_err(AnswerError::UnsupportedQop)?;
    let nonce = ch.nonce.as_bytes();
    let nc = "00000001";
    let mut ha1 = match secret {
        Secret::Password(pw) => hash_hex(alg, &join(&[user, ch.realm.as_bytes(), pw])),
        Secret::Ha1(h) => {
            if h.len() != hex_len(alg) || !h.iter().all(u8::is_ascii_hexdigit) {
                return Err(AnswerError::BadHa1 {
                    expected: hex_len(alg),
                    got: h.len(),
                });
            }
            String::from_utf8_lossy(h).to_ascii_lowercase()
        }
    };
    if alg.is_sess() {
        ha1 = hash_hex(alg, &join(&[ha1.as_bytes(), nonce, cnonce.as_bytes()]));
    }
    let ha2 = match qop {
        Some(Qop::AuthInt) => hash_hex(
            alg,
            &join(&[req.method, req.uri, hash_hex(alg, req.body).as_bytes()]),
        ),
        _ => hash_hex(alg, &join(&[req.method, req.uri])),
    };
    let response = match qop {
        Some(q) => hash_hex(
            alg,
            &join(&[
                ha1.as_bytes(),
                nonce,
                nc.as_bytes(),
                cnonce.as_bytes(),
                q.name().as_bytes(),
                ha2.as_bytes(),
            ]),
        ),
        None => hash_hex(alg, &join(&[ha1.as_bytes(), nonce, ha2.as_bytes()])),
    };
    Ok(Answer {
        algorithm: alg,
        qop,
        nc: nc.into(),
        cnonce: cnonce.into(),
        response,
    })
}

/// The whole header line, CRLF included, in the stock module's field order:
/// `Authorization: Digest username="..", realm="..", nonce="..", uri="..",
/// opaque="..", qop=.., nc=.., cnonce="..", response="..", algorithm=..`.
/// Without qop there is no qop, nc or cnonce, except that a -sess algorithm
/// still sends the cnonce its H(A1) was computed with.
/// Refuses control characters in any field, so that no value (a username from
/// an AVP, a hostile challenge) can end the header line early.
pub fn authorization_header(
    proxy: bool,
    user: &[u8],
    ch: &Challenge,
    uri: &[u8],
    a: &Answer,
) -> Result<Vec<u8>, AnswerError> {
    let ctl = |v: &[u8]| v.iter().any(|&c| c < 0x20 && c != b'\t' || c == 0x7f);
    for (field, v) in [
        ("username", user),
        ("realm", ch.realm.as_bytes()),
        ("nonce", ch.nonce.as_bytes()),
        ("uri", uri),
        ("opaque", ch.opaque.as_deref().unwrap_or("").as_bytes()),
        ("cnonce", a.cnonce.as_bytes()),
    ] {
        if ctl(v) {
            return Err(AnswerError::ControlChar(field));
        }
    }
    let mut h = Vec::with_capacity(256 + ch.nonce.len() + uri.len());
    h.extend_from_slice(if proxy {
        b"Proxy-Authorization: Digest "
    } else {
        b"Authorization: Digest "
    });
    let quoted = |h: &mut Vec<u8>, name: &str, v: &[u8], first: bool| {
        if !first {
            h.extend_from_slice(b", ");
        }
        h.extend_from_slice(name.as_bytes());
        h.extend_from_slice(b"=\"");
        for &c in v {
            if c == b'"' || c == b'\\' {
                h.push(b'\\');
            }
            h.push(c);
        }
        h.push(b'"');
    };
    quoted(&mut h, "username", user, true);
    quoted(&mut h, "realm", ch.realm.as_bytes(), false);
    quoted(&mut h, "nonce", ch.nonce.as_bytes(), false);
    quoted(&mut h, "uri", uri, false);
    if let Some(o) = &ch.opaque {
        quoted(&mut h, "opaque", o.as_bytes(), false);
    }
    if let Some(q) = a.qop {
        h.extend_from_slice(format!(", qop={}, nc={}", q.name(), a.nc).as_bytes());
        quoted(&mut h, "cnonce", a.cnonce.as_bytes(), false);
    } else if a.algorithm.is_sess() {
        // -sess without qop: H(A1) covers the cnonce (RFC 7616 §3.4.2), so the
        // server needs it; RFC 2617 leaves this case contradictory, and a
        // cnonce the server cannot see would make every answer wrong.
        quoted(&mut h, "cnonce", a.cnonce.as_bytes(), false);
    }
    quoted(&mut h, "response", a.response.as_bytes(), false);
    h.extend_from_slice(format!(", algorithm={}\r\n", a.algorithm.name()).as_bytes());
    Ok(h)
}

/// A fresh cnonce: 16 random bytes from the operating system, as hex.
pub fn new_cnonce() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    to_hex(&b)
}

#[cfg(test)]
mod tests {
    use super::super::challenge::parse_header;
    use super::*;

    fn ch(s: &str) -> Challenge {
        parse_header(s.as_bytes()).unwrap().remove(0).unwrap()
    }

    /// RFC 2617 §3.5: Mufasa, qop=auth, MD5.
    #[test]
    fn rfc2617_example() {
        let c = ch("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                    nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
        let req = RequestInfo {
            method: b"GET",
            uri: b"/dir/index.html",
            body: b"",
        };
        let a = answer(
            &c,
            b"Mufasa",
            Secret::Password(b"Circle Of Life"),
            &req,
            "0a4f113b",
        )
        .unwrap();
        assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 §3.9.1: the same request with MD5 and with SHA-256.
    #[test]
    fn rfc7616_examples() {
        let req = RequestInfo {
            method: b"GET",
            uri: b"/dir/index.html",
            body: b"",
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let base = "realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
                    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let md5 = ch(&format!("Digest {base}, algorithm=MD5"));
        let a = answer(
            &md5,
            b"Mufasa",
            Secret::Password(b"Circle of Life"),
            &req,
            cnonce,
        )
        .unwrap();
        assert_eq!(a.response, "8ca523f5e9506fed4657c9700eebdbec");
        let sha = ch(&format!("Digest {base}, algorithm=SHA-256"));
        let a = answer(
            &sha,
            b"Mufasa",
            Secret::Password(b"Circle of Life"),
            &req,
            cnonce,
        )
        .unwrap();
        assert_eq!(
            a.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        // HA1 given instead of the password gives the same answer.
        let ha1 = hash_hex(
            Algorithm::Sha256,
            b"Mufasa:http-auth@example.org:Circle of Life",
        );
        let b = answer(&sha, b"Mufasa", Secret::Ha1(ha1.as_bytes()), &req, cnonce).unwrap();
        assert_eq!(a, b);
    }

    /// SHA-512 (Kamailio 6.1's auth): parse, name, length, the FIPS vector.
    #[test]
    fn sha512_for_kamailio_61() {
        // FIPS 180-2's "abc" vector; Kamailio 6.1's auth names it SHA-512
        assert_eq!(
            hash_hex(Algorithm::Sha512, b"abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(hex_len(Algorithm::Sha512Sess), 128);
        assert_eq!(Algorithm::parse("sha-512"), Some(Algorithm::Sha512));
        assert_eq!(
            Algorithm::parse("SHA-512-sess"),
            Some(Algorithm::Sha512Sess)
        );
        assert!(Algorithm::Sha512Sess.is_sess() && !Algorithm::Sha512.is_sess());
        assert_eq!(Algorithm::Sha512.name(), "SHA-512");
    }

    /// SHA-512/256 computed independently (Python hashlib: sha512_256).
    #[test]
    fn sha512_256_independent() {
        assert_eq!(
            hash_hex(Algorithm::Sha512_256, b"abc"),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
    }

    /// -sess with qop=auth-int, and RFC 2069 (no qop) with SHA-512-256; the
    /// expected values were computed independently with Python's hashlib.
    #[test]
    fn sess_auth_int_and_no_qop_independent() {
        let req = RequestInfo {
            method: b"INVITE",
            uri: b"sip:bob@sip.example",
            body: b"v=0\r\n",
        };
        for (alg, want) in [
            ("MD5-sess", "6ef37702384ec92a39f861abab1a7faf"),
            (
                "SHA-256-sess",
                "4609da202563750acce1b77cb59aa076586d325f36973825794e0b61589abb52",
            ),
            (
                "SHA-512-256-sess",
                "5a331dddd03f45369b0e433191cad10a5ae3fcca5f9e1f828bace94add32ba3e",
            ),
        ] {
            let c = ch(&format!("Digest realm=\"sip.example\", nonce=\"nonce123\", qop=\"auth-int\", algorithm={alg}"));
            let a = answer(&c, b"alice", Secret::Password(b"pw"), &req, "cn456").unwrap();
            assert_eq!(a.response, want, "{alg}");
            assert_eq!(a.qop, Some(Qop::AuthInt));
        }
        let c = ch("Digest realm=\"sip.example\", nonce=\"nonce123\", algorithm=SHA-512-256");
        let a = answer(&c, b"alice", Secret::Password(b"pw"), &req, "unused").unwrap();
        assert_eq!(
            a.response,
            "cd5431991c04fec35332627aa954ad80b4a92fb42283106ba425efe6d2863281"
        );
        assert_eq!(a.qop, None);
    }

    /// -sess without qop: H(A1) covers the cnonce, and the header sends it
    /// (no qop, no nc); without -sess and qop no cnonce. The expected values
    /// were computed independently with Python's hashlib.
    #[test]
    fn sess_without_qop_sends_the_cnonce() {
        let req = RequestInfo {
            method: b"INVITE",
            uri: b"sip:bob@sip.example",
            body: b"",
        };
        for (alg, want) in [
            ("MD5-sess", "8f27ae1891f0c3e74b82bf32a1ce1310"),
            (
                "SHA-256-sess",
                "44e8bb109e130c39744416c05a0c69b0c47086fa23f9c4a37604800493d9412e",
            ),
        ] {
            let c = ch(&format!(
                "Digest realm=\"sip.example\", nonce=\"nonce123\", algorithm={alg}"
            ));
            let a = answer(&c, b"alice", Secret::Password(b"pw"), &req, "cn456").unwrap();
            assert_eq!(a.response, want, "{alg}");
            let h = authorization_header(false, b"alice", &c, req.uri, &a).unwrap();
            assert_eq!(
                String::from_utf8(h).unwrap(),
                format!(
                    "Authorization: Digest username=\"alice\", realm=\"sip.example\", \
                     nonce=\"nonce123\", uri=\"sip:bob@sip.example\", cnonce=\"cn456\", \
                     response=\"{want}\", algorithm={alg}\r\n"
                )
            );
        }
        let c = ch("Digest realm=\"sip.example\", nonce=\"nonce123\", algorithm=MD5");
        let a = answer(&c, b"alice", Secret::Password(b"pw"), &req, "cn456").unwrap();
        let h = authorization_header(false, b"alice", &c, req.uri, &a).unwrap();
        let h = String::from_utf8(h).unwrap();
        assert!(
            !h.contains("cnonce") && !h.contains("nc=") && !h.contains("qop"),
            "{h}"
        );
    }

    #[test]
    fn header_format_and_errors() {
        let c = ch("Digest realm=\"sip.example\", nonce=\"n1\", opaque=\"o\", qop=auth");
        let req = RequestInfo {
            method: b"INVITE",
            uri: b"sip:bob@sip.example",
            body: b"",
        };
        let a = answer(&c, b"alice", Secret::Password(b"pw"), &req, "cn").unwrap();
        let h = authorization_header(true, b"alice", &c, b"sip:bob@sip.example", &a).unwrap();
        let h = String::from_utf8(h).unwrap();
        assert_eq!(
            authorization_header(true, b"alice\r\nX-Evil: 1", &c, b"sip:bob@sip.example", &a),
            Err(AnswerError::ControlChar("username"))
        );
        assert_eq!(
            h,
            format!(
                "Proxy-Authorization: Digest username=\"alice\", realm=\"sip.example\", nonce=\"n1\", \
                 uri=\"sip:bob@sip.example\", opaque=\"o\", qop=auth, nc=00000001, cnonce=\"cn\", \
                 response=\"{}\", algorithm=MD5\r\n",
                a.response
            )
        );
        let bad = answer(&c, b"alice", Secret::Ha1(b"abc"), &req, "cn");
        assert_eq!(
            bad,
            Err(AnswerError::BadHa1 {
                expected: 32,
                got: 3
            })
        );
        let c = ch("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1");
        assert!(matches!(
            answer(&c, b"a", Secret::Password(b"p"), &req, "c"),
            Err(AnswerError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(new_cnonce().len(), 32);
        assert_ne!(new_cnonce(), new_cnonce());
    }
}
