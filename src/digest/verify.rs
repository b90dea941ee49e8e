//! Server side: checking the credentials a client sent (RFC 2617, RFC 7616,
//! RFC 8760) with the hashing of [`super::response`]. The algorithm and qop come
//! from the credentials of each request, and the algorithm must be one the
//! server offers ([`Offered`], [`check_offered`]); the response is compared in
//! constant time and hex case-insensitively.

use super::challenge::{Algorithm, Qop};
use super::nonce::ct_eq;
use super::response::{hash_hex, hex_len};

/// The fields of one Authorization / Proxy-Authorization header the
/// verification uses (as the core's digest parser found them).
#[derive(Debug, Clone, Default)]
pub struct Creds<'a> {
    pub username: &'a [u8],
    pub realm: &'a [u8],
    pub nonce: &'a [u8],
    pub uri: &'a [u8],
    pub response: &'a [u8],
    /// The algorithm parameter as sent (empty when absent).
    pub algorithm: &'a [u8],
    /// The qop parameter as sent (empty when absent).
    pub qop: &'a [u8],
    pub cnonce: &'a [u8],
    pub nc: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredError {
    /// An algorithm we do not implement.
    Algorithm,
    /// An algorithm this server does not offer.
    NotOffered(Algorithm),
    /// A qop other than auth / auth-int.
    Qop,
    /// A required field is missing (username, realm, nonce, uri, response;
    /// cnonce and nc with qop; cnonce with a -sess algorithm).
    Missing(&'static str),
    /// The response has the wrong length or is not hex.
    BadResponse,
    /// Control characters or an over-long value.
    Malformed(&'static str),
}

impl std::fmt::Display for CredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredError::Algorithm => write!(f, "unsupported algorithm"),
            CredError::NotOffered(a) => write!(f, "algorithm {} not offered", a.name()),
            CredError::Qop => write!(f, "unsupported qop"),
            CredError::Missing(w) => write!(f, "missing {w}"),
            CredError::BadResponse => write!(f, "malformed response value"),
            CredError::Malformed(w) => write!(f, "malformed {w}"),
        }
    }
}

/// Longest value of any credentials field we accept.
pub const MAX_FIELD_LEN: usize = 1024;

/// The algorithms a server verifies answers with: those it offers in its
/// challenges. An answer naming any other is refused, so that a server
/// restricted to SHA-256 cannot be answered in MD5 (no downgrade).
#[derive(Debug, Clone, Copy)]
pub struct Offered<'a> {
    /// The algorithm of credentials without an `algorithm` directive.
    pub default: Algorithm,
    /// The algorithms offered; None: every algorithm this crate implements
    /// (a server configured with none, whose challenges name none).
    pub only: Option<&'a [Algorithm]>,
}

impl Offered<'_> {
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.only.is_none_or(|l| l.contains(&alg))
    }
}

/// How a refused answer is reported, in the two classes of Kamailio 5.6.3's
/// auth API (auth_db turns them into `$rc` -1 and -2), so that a script sees
/// what it sees with the stock module for the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Credentials that cannot be checked as sent (BAD_CREDENTIALS, -1): a
    /// missing or empty field, an algorithm not offered or unknown (stock
    /// refuses an answer in another hash by its length), a response of the
    /// wrong length.
    Unverifiable,
    /// An answer that cannot be right (NOT_AUTHENTICATED, -2, what stock's
    /// comparison gives): a response that is not hex, an unknown qop, control
    /// characters in a value.
    Wrong,
}

/// A refusal: why, and how it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub error: CredError,
    pub code: Refusal,
}

/// Fields over [`MAX_FIELD_LEN`]: refused before the user is looked up or
/// anything is hashed.
pub fn check_lengths(c: &Creds) -> Result<(), CredError> {
    for (name, v) in fields(c) {
        if v.len() > MAX_FIELD_LEN {
            return Err(CredError::Malformed(name));
        }
    }
    Ok(())
}

fn fields<'a>(c: &Creds<'a>) -> [(&'static str, &'a [u8]); 9] {
    [
        ("username", c.username),
        ("realm", c.realm),
        ("nonce", c.nonce),
        ("uri", c.uri),
        ("response", c.response),
        ("algorithm", c.algorithm),
        ("qop", c.qop),
        ("cnonce", c.cnonce),
        ("nc", c.nc),
    ]
}

/// [`check_creds`] with the algorithm restricted to those `offered`: the
/// checks an answer passes before its response is compared, and the class of
/// the refusal when it does not.
pub fn check_offered(c: &Creds, offered: &Offered) -> Result<(Algorithm, Option<Qop>), Refused> {
    let (alg, qop) = check_creds(c, offered.default).map_err(|error| {
        let code = match error {
            CredError::Algorithm | CredError::Missing(_) => Refusal::Unverifiable,
            CredError::BadResponse
                if algorithm_of(c, offered.default)
                    .is_ok_and(|a| c.response.len() != hex_len(a)) =>
            {
                Refusal::Unverifiable
            }
            _ => Refusal::Wrong,
        };
        Refused { error, code }
    })?;
    if !offered.allows(alg) {
        return Err(Refused {
            error: CredError::NotOffered(alg),
            code: Refusal::Unverifiable,
        });
    }
    Ok((alg, qop))
}

/// The algorithm of the credentials: absent means `default` (the module's
/// `algorithm` parameter, MD5 unless set).
pub fn algorithm_of(c: &Creds, default: Algorithm) -> Result<Algorithm, CredError> {
    if c.algorithm.is_empty() {
        return Ok(default);
    }
    std::str::from_utf8(c.algorithm)
        .ok()
        .and_then(Algorithm::parse)
        .ok_or(CredError::Algorithm)
}

pub fn qop_of(c: &Creds) -> Result<Option<Qop>, CredError> {
    match c.qop.to_ascii_lowercase().as_slice() {
        b"" => Ok(None),
        b"auth" => Ok(Some(Qop::Auth)),
        b"auth-int" => Ok(Some(Qop::AuthInt)),
        _ => Err(CredError::Qop),
    }
}

/// Checks the credentials are complete and sane before any hashing.
pub fn check_creds(c: &Creds, default: Algorithm) -> Result<(Algorithm, Option<Qop>), CredError> {
    check_lengths(c)?;
    for (name, v) in fields(c) {
        if v.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(CredError::Malformed(name));
        }
    }
    for (name, v) in [
        ("username", c.username),
        ("nonce", c.nonce),
        ("uri", c.uri),
        ("response", c.response),
    ] {
        if v.is_empty() {
            return Err(CredError::Missing(name));
        }
    }
    let alg = algorithm_of(c, default)?;
    let qop = qop_of(c)?;
    if qop.is_some() {
        if c.cnonce.is_empty() {
            return Err(CredError::Missing("cnonce"));
        }
        if c.nc.is_empty() {
            return Err(CredError::Missing("nc"));
        }
    }
    // -sess: H(A1) covers the cnonce, with or without qop (RFC 7616 §3.4.2);
    // without one there is nothing to verify against (the client's own
    // cnonce would be unknown here), so refuse rather than assume it empty.
    if alg.is_sess() && c.cnonce.is_empty() {
        return Err(CredError::Missing("cnonce"));
    }
    if c.response.len() != hex_len(alg) || !c.response.iter().all(u8::is_ascii_hexdigit) {
        return Err(CredError::BadResponse);
    }
    Ok((alg, qop))
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

/// H(A1) = H(username:realm:password) with the algorithm's hash, as hex.
pub fn ha1(alg: Algorithm, user: &[u8], realm: &[u8], password: &[u8]) -> String {
    hash_hex(alg, &join(&[user, realm, password]))
}

/// The -sess form of a plain H(A1): H(HA1:nonce:cnonce).
pub fn sess_ha1(alg: Algorithm, ha1: &[u8], nonce: &[u8], cnonce: &[u8]) -> String {
    hash_hex(alg, &join(&[&ha1.to_ascii_lowercase(), nonce, cnonce]))
}

/// The expected response for credentials `c` given the plain H(A1) (the
/// -sess step is applied here for -sess algorithms) and the request's method
/// and body (the body only for auth-int).
pub fn expected_response(
    alg: Algorithm,
    qop: Option<Qop>,
    c: &Creds,
    ha1: &[u8],
    method: &[u8],
    body: &[u8],
) -> String {
    let key = if alg.is_sess() {
        sess_ha1(alg, ha1, c.nonce, c.cnonce)
    } else {
        String::from_utf8_lossy(ha1).to_ascii_lowercase()
    };
    expected_response_key(alg, qop, c, key.as_bytes(), method, body)
}

/// The expected response given the key itself: the -sess key for -sess
/// algorithms, else the plain H(A1) (OpenSIPS's API hands check_response
/// what its calc_HA1 made, the -sess step included).
pub fn expected_response_key(
    alg: Algorithm,
    qop: Option<Qop>,
    c: &Creds,
    key: &[u8],
    method: &[u8],
    body: &[u8],
) -> String {
    let key = key.to_ascii_lowercase();
    let ha2 = match qop {
        Some(Qop::AuthInt) => {
            hash_hex(alg, &join(&[method, c.uri, hash_hex(alg, body).as_bytes()]))
        }
        _ => hash_hex(alg, &join(&[method, c.uri])),
    };
    match qop {
        Some(q) => hash_hex(
            alg,
            &join(&[
                &key,
                c.nonce,
                c.nc,
                c.cnonce,
                q.name().as_bytes(),
                ha2.as_bytes(),
            ]),
        ),
        None => hash_hex(alg, &join(&[&key, c.nonce, ha2.as_bytes()])),
    }
}

/// rspauth for Authentication-Info (RFC 7616 §3.5): A2 without the method.
pub fn rspauth(alg: Algorithm, qop: Option<Qop>, c: &Creds, ha1: &[u8], body: &[u8]) -> String {
    expected_response(alg, qop, c, ha1, b"", body)
}

/// True when the response in `c` is right: constant time, case-insensitive.
pub fn response_matches(
    alg: Algorithm,
    qop: Option<Qop>,
    c: &Creds,
    ha1: &[u8],
    method: &[u8],
    body: &[u8],
) -> bool {
    if ha1.len() != hex_len(alg) {
        return false;
    }
    let want = expected_response(alg, qop, c, ha1, method, body);
    ct_eq(want.as_bytes(), &c.response.to_ascii_lowercase())
}

/// [`response_matches`] with the key given ([`expected_response_key`]).
pub fn response_matches_key(
    alg: Algorithm,
    qop: Option<Qop>,
    c: &Creds,
    key: &[u8],
    method: &[u8],
    body: &[u8],
) -> bool {
    if key.len() != hex_len(alg) {
        return false;
    }
    let want = expected_response_key(alg, qop, c, key, method, body);
    ct_eq(want.as_bytes(), &c.response.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(alg: &'a [u8], qop: &'a [u8], response: &'a [u8]) -> Creds<'a> {
        Creds {
            username: b"Mufasa",
            realm: b"http-auth@example.org",
            nonce: b"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            uri: b"/dir/index.html",
            response,
            algorithm: alg,
            qop,
            cnonce: b"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            nc: b"00000001",
        }
    }

    /// RFC 7616 §3.9.1, MD5 and SHA-256, verified from the server side.
    #[test]
    fn rfc7616_vectors() {
        for (alg_s, alg, resp) in [
            (
                &b"MD5"[..],
                Algorithm::Md5,
                &b"8ca523f5e9506fed4657c9700eebdbec"[..],
            ),
            (
                b"SHA-256",
                Algorithm::Sha256,
                b"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let c = creds(alg_s, b"auth", resp);
            let (a, q) = check_creds(&c, Algorithm::Md5).unwrap();
            assert_eq!((a, q), (alg, Some(Qop::Auth)));
            let h = ha1(a, c.username, c.realm, b"Circle of Life");
            assert!(response_matches(a, q, &c, h.as_bytes(), b"GET", b""));
            // upper-case hex is the same response
            let up = resp.to_ascii_uppercase();
            let c2 = creds(alg_s, b"auth", &up);
            assert!(response_matches(a, q, &c2, h.as_bytes(), b"GET", b""));
            // and upper-case HA1 too
            assert!(response_matches(
                a,
                q,
                &c2,
                h.to_uppercase().as_bytes(),
                b"GET",
                b""
            ));
            // wrong password, wrong method
            let bad = ha1(a, c.username, c.realm, b"circle of life");
            assert!(!response_matches(a, q, &c, bad.as_bytes(), b"GET", b""));
            assert!(!response_matches(a, q, &c, h.as_bytes(), b"PUT", b""));
        }
    }

    /// RFC 2617 §3.5 (MD5, qop=auth) with the algorithm absent.
    #[test]
    fn rfc2617_vector() {
        let c = Creds {
            username: b"Mufasa",
            realm: b"testrealm@host.com",
            nonce: b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
            uri: b"/dir/index.html",
            response: b"6629fae49393a05397450978507c4ef1",
            qop: b"auth",
            cnonce: b"0a4f113b",
            nc: b"00000001",
            ..Default::default()
        };
        let (a, q) = check_creds(&c, Algorithm::Md5).unwrap();
        let h = ha1(a, c.username, c.realm, b"Circle Of Life");
        assert!(response_matches(a, q, &c, h.as_bytes(), b"GET", b""));
    }

    /// A field of an Authorization header line: `name="v"` or `name=v`.
    fn field<'a>(h: &'a str, name: &str) -> &'a str {
        let pat = format!(" {name}=");
        let Some(i) = h.find(&pat) else {
            return "";
        };
        let v = &h[i + pat.len()..];
        match v.strip_prefix('"') {
            Some(q) => &q[..q.find('"').unwrap()],
            None => v.split([',', '\r']).next().unwrap(),
        }
    }

    /// The client side of this crate answers and builds the header; the
    /// server side, reading only what the header carries, accepts every
    /// algorithm, -sess, auth-int with its body, and no qop (-sess without
    /// qop included: the client sends the cnonce it hashed).
    #[test]
    fn agrees_with_client_side() {
        use crate::digest::challenge::parse_header;
        use crate::digest::response::{answer, authorization_header, RequestInfo, Secret};
        let body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";
        for alg in [
            "MD5",
            "MD5-sess",
            "SHA-256",
            "SHA-256-sess",
            "SHA-512-256",
            "SHA-512-256-sess",
        ] {
            for qop in ["", "auth", "auth-int"] {
                let q = if qop.is_empty() {
                    String::new()
                } else {
                    format!(", qop=\"{qop}\"")
                };
                let h =
                    format!("Digest realm=\"sip.example\", nonce=\"abcdefg\", algorithm={alg}{q}");
                let ch = parse_header(h.as_bytes()).unwrap().remove(0).unwrap();
                let req = RequestInfo {
                    method: b"INVITE",
                    uri: b"sip:bob@sip.example",
                    body,
                };
                let a = answer(&ch, b"alice", Secret::Password(b"pw"), &req, "cn1").unwrap();
                let hdr = authorization_header(false, b"alice", &ch, req.uri, &a).unwrap();
                let hdr = String::from_utf8(hdr).unwrap();
                let c = Creds {
                    username: field(&hdr, "username").as_bytes(),
                    realm: field(&hdr, "realm").as_bytes(),
                    nonce: field(&hdr, "nonce").as_bytes(),
                    uri: field(&hdr, "uri").as_bytes(),
                    response: field(&hdr, "response").as_bytes(),
                    algorithm: field(&hdr, "algorithm").as_bytes(),
                    qop: field(&hdr, "qop").as_bytes(),
                    cnonce: field(&hdr, "cnonce").as_bytes(),
                    nc: field(&hdr, "nc").as_bytes(),
                };
                assert_eq!(c.qop, qop.as_bytes(), "{hdr}");
                let sent_cnonce: &[u8] = if qop.is_empty() && !alg.ends_with("-sess") {
                    b""
                } else {
                    b"cn1"
                };
                assert_eq!(c.cnonce, sent_cnonce, "{hdr}");
                let (ra, rq) = check_creds(&c, Algorithm::Md5).unwrap();
                let plain = Algorithm::parse(alg.trim_end_matches("-sess")).unwrap();
                let h1 = ha1(plain, b"alice", b"sip.example", b"pw");
                assert!(
                    response_matches(ra, rq, &c, h1.as_bytes(), b"INVITE", body),
                    "{alg} {qop}"
                );
                if qop == "auth-int" {
                    // another body: refused
                    assert!(!response_matches(
                        ra,
                        rq,
                        &c,
                        h1.as_bytes(),
                        b"INVITE",
                        b"x"
                    ));
                }
                if alg.ends_with("-sess") {
                    // another cnonce than the one hashed: refused
                    let mut other = c.clone();
                    other.cnonce = b"cn2";
                    assert!(!response_matches(
                        ra,
                        rq,
                        &other,
                        h1.as_bytes(),
                        b"INVITE",
                        body
                    ));
                }
            }
        }
    }

    /// -sess needs the cnonce also without qop; plain algorithms without qop
    /// need none (RFC 2069 compatibility).
    #[test]
    fn sess_without_qop_needs_cnonce() {
        let resp = b"8ca523f5e9506fed4657c9700eebdbec";
        let mut c = creds(b"MD5-sess", b"", resp);
        c.nc = b"";
        c.cnonce = b"";
        assert_eq!(
            check_creds(&c, Algorithm::Md5),
            Err(CredError::Missing("cnonce"))
        );
        // absent algorithm with an MD5-sess default: the same
        c.algorithm = b"";
        assert_eq!(
            check_creds(&c, Algorithm::Md5Sess),
            Err(CredError::Missing("cnonce"))
        );
        c.cnonce = b"0a4f113b";
        assert_eq!(
            check_creds(&c, Algorithm::Md5Sess),
            Ok((Algorithm::Md5Sess, None))
        );
        let mut c = creds(b"MD5", b"", resp);
        c.nc = b"";
        c.cnonce = b"";
        assert_eq!(check_creds(&c, Algorithm::Md5), Ok((Algorithm::Md5, None)));
    }

    /// Only offered algorithms verify: an MD5 answer to a SHA-256 server (the
    /// downgrade), a SHA-256 one to a list without it, another algorithm to
    /// an MD5 one; credentials without `algorithm` take the default, which
    /// must be offered too. Without a restriction every algorithm passes.
    #[test]
    fn only_offered_algorithms() {
        let md5 = creds(b"MD5", b"auth", b"8ca523f5e9506fed4657c9700eebdbec");
        let sha = creds(
            b"SHA-256",
            b"auth",
            b"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        );
        let refused = |a| Refused {
            error: CredError::NotOffered(a),
            code: Refusal::Unverifiable,
        };
        let sha_only = Offered {
            default: Algorithm::Sha256,
            only: Some(&[Algorithm::Sha256]),
        };
        assert_eq!(check_offered(&md5, &sha_only), Err(refused(Algorithm::Md5)));
        assert_eq!(
            check_offered(&sha, &sha_only),
            Ok((Algorithm::Sha256, Some(Qop::Auth)))
        );
        let list = Offered {
            default: Algorithm::Md5,
            only: Some(&[Algorithm::Sha512_256, Algorithm::Sha256]),
        };
        assert_eq!(check_offered(&md5, &list), Err(refused(Algorithm::Md5)));
        let mut no_alg = md5.clone();
        no_alg.algorithm = b"";
        assert_eq!(check_offered(&no_alg, &list), Err(refused(Algorithm::Md5)));
        assert!(check_offered(&sha, &list).is_ok());
        let md5_only = Offered {
            default: Algorithm::Md5,
            only: Some(&[Algorithm::Md5]),
        };
        assert_eq!(
            check_offered(&sha, &md5_only),
            Err(refused(Algorithm::Sha256))
        );
        let mut sess = md5.clone();
        sess.algorithm = b"MD5-sess";
        assert_eq!(
            check_offered(&sess, &md5_only),
            Err(refused(Algorithm::Md5Sess))
        );
        assert!(check_offered(&md5, &md5_only).is_ok());
        let any = Offered {
            default: Algorithm::Md5,
            only: None,
        };
        for c in [&md5, &sha, &sess, &no_alg] {
            assert!(check_offered(c, &any).is_ok());
        }
    }

    /// The class of each refusal, as stock 5.6.3 reports the same request:
    /// -1 for what cannot be checked as sent, -2 for what cannot match.
    #[test]
    fn refusal_classes() {
        let ok = creds(b"MD5", b"auth", b"8ca523f5e9506fed4657c9700eebdbec");
        let any = Offered {
            default: Algorithm::Md5,
            only: None,
        };
        let sess_no_cnonce = |c: &mut Creds<'static>| {
            c.algorithm = b"MD5-sess";
            (c.qop, c.nc, c.cnonce) = (b"", b"", b"");
        };
        type Damage = fn(&mut Creds<'static>);
        let cases: [(Damage, Refusal); 8] = [
            (
                |c| c.response = b"8ca523f5e9506fed4657c9700eebdbeg",
                Refusal::Wrong,
            ),
            (
                |c| c.response = b"8ca523f5e9506fed4657c9700eebdbe",
                Refusal::Unverifiable,
            ),
            (|c| c.qop = b"auth-conf", Refusal::Wrong),
            (|c| c.uri = b"sip:a\x01b", Refusal::Wrong),
            (|c| c.cnonce = b"a\x01", Refusal::Wrong),
            (|c| c.algorithm = b"SHA-1", Refusal::Unverifiable),
            (|c| c.cnonce = b"", Refusal::Unverifiable),
            (sess_no_cnonce, Refusal::Unverifiable),
        ];
        for (i, (damage, want)) in cases.into_iter().enumerate() {
            let mut c = ok.clone();
            damage(&mut c);
            assert_eq!(check_offered(&c, &any).unwrap_err().code, want, "case {i}");
        }
        // too long: refused by the length check alone
        let big = vec![b'a'; MAX_FIELD_LEN + 1];
        let mut c = ok.clone();
        c.username = &big;
        assert_eq!(check_lengths(&c), Err(CredError::Malformed("username")));
        c.username = &big[..MAX_FIELD_LEN];
        assert_eq!(check_lengths(&c), Ok(()));
    }

    #[test]
    fn bad_credentials() {
        let ok = creds(b"MD5", b"auth", b"8ca523f5e9506fed4657c9700eebdbec");
        assert!(check_creds(&ok, Algorithm::Md5).is_ok());
        let mut c = ok.clone();
        c.algorithm = b"SHA-1";
        assert_eq!(check_creds(&c, Algorithm::Md5), Err(CredError::Algorithm));
        let mut c = ok.clone();
        c.qop = b"auth-conf";
        assert_eq!(check_creds(&c, Algorithm::Md5), Err(CredError::Qop));
        let mut c = ok.clone();
        c.cnonce = b"";
        assert_eq!(
            check_creds(&c, Algorithm::Md5),
            Err(CredError::Missing("cnonce"))
        );
        let mut c = ok.clone();
        c.response = b"8ca523f5e9506fed4657c9700eebdbe";
        assert_eq!(check_creds(&c, Algorithm::Md5), Err(CredError::BadResponse));
        let mut c = ok.clone();
        c.response = b"8ca523f5e9506fed4657c9700eebdbeg";
        assert_eq!(check_creds(&c, Algorithm::Md5), Err(CredError::BadResponse));
        let mut c = ok.clone();
        c.username = b"a\r\nb";
        assert_eq!(
            check_creds(&c, Algorithm::Md5),
            Err(CredError::Malformed("username"))
        );
        let big = vec![b'a'; 5000];
        let mut c = ok.clone();
        c.uri = &big;
        assert_eq!(
            check_creds(&c, Algorithm::Md5),
            Err(CredError::Malformed("uri"))
        );
        let mut c = ok.clone();
        c.nonce = b"";
        assert_eq!(
            check_creds(&c, Algorithm::Md5),
            Err(CredError::Missing("nonce"))
        );
        // a SHA-256-length response for MD5
        let mut c = ok;
        c.response = b"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";
        assert_eq!(check_creds(&c, Algorithm::Md5), Err(CredError::BadResponse));
    }
}
