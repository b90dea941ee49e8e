//! Parsing WWW-Authenticate / Proxy-Authenticate header values (RFC 7235 §4.1,
//! RFC 7616 §3.3): one or more challenges, each a scheme and auth-params.

use std::fmt;

/// Longest header value we parse; beyond it the header is refused.
pub const MAX_HEADER_LEN: usize = 8192;
/// Longest single parameter value.
pub const MAX_VALUE_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    Sha512_256,
    Sha512_256Sess,
    /// SHA-512 (128 hex digits): not an RFC 8760 name; Kamailio 6.1's auth
    /// offers it (`algorithm = "SHA-512"`).
    Sha512,
    Sha512Sess,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Algorithm> {
        Some(match s.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "MD5-SESS" => Algorithm::Md5Sess,
            "SHA-256" => Algorithm::Sha256,
            "SHA-256-SESS" => Algorithm::Sha256Sess,
            "SHA-512-256" => Algorithm::Sha512_256,
            "SHA-512-256-SESS" => Algorithm::Sha512_256Sess,
            "SHA-512" => Algorithm::Sha512,
            "SHA-512-SESS" => Algorithm::Sha512Sess,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Sha512 => "SHA-512",
            Algorithm::Sha512Sess => "SHA-512-sess",
        }
    }
    pub fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess
                | Algorithm::Sha256Sess
                | Algorithm::Sha512_256Sess
                | Algorithm::Sha512Sess
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    Auth,
    AuthInt,
}

impl Qop {
    pub fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// One Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// `Err(name)` for an algorithm we do not implement.
    pub algorithm: Result<Algorithm, String>,
    /// The qop we answer with: `auth` preferred over `auth-int`; None when the
    /// challenge has no qop (RFC 2069). `Err` when it offers only unknown values.
    pub qop: Result<Option<Qop>, String>,
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    TooLong,
    Empty,
    UnbalancedQuote,
    ValueTooLong(String),
    Repeated(String),
    Malformed(usize),
    Missing(&'static str),
    NotDigest(String),
    /// A control character (CR, LF, NUL, ...) in a parameter value: it would
    /// end up in our Authorization header (header injection).
    ControlChar(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLong => write!(f, "challenge header longer than {MAX_HEADER_LEN} bytes"),
            ParseError::Empty => write!(f, "empty challenge header"),
            ParseError::UnbalancedQuote => write!(f, "unbalanced quotes in challenge"),
            ParseError::ValueTooLong(n) => {
                write!(f, "parameter '{n}' longer than {MAX_VALUE_LEN} bytes")
            }
            ParseError::Repeated(n) => write!(f, "parameter '{n}' repeated in one challenge"),
            ParseError::Malformed(at) => write!(f, "malformed challenge at byte {at}"),
            ParseError::Missing(n) => write!(f, "challenge has no {n}"),
            ParseError::NotDigest(s) => write!(f, "scheme '{s}' is not Digest"),
            ParseError::ControlChar(n) => write!(f, "control character in parameter '{n}'"),
        }
    }
}

/// Parses one header value into its challenges, in order. A challenge of another
/// scheme (Basic, ...) comes back as `Err(NotDigest)` in its place.
pub fn parse_header(value: &[u8]) -> Result<Vec<Result<Challenge, ParseError>>, ParseError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(ParseError::TooLong);
    }
    let items = split_challenges(value)?;
    if items.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(items
        .into_iter()
        .map(|(scheme, params)| build(scheme, params))
        .collect())
}

type RawParams = Vec<(String, String)>;

/// Tokenizes `scheme a=b, c="d", scheme2 e=f` into challenges.
fn split_challenges(v: &[u8]) -> Result<Vec<(String, RawParams)>, ParseError> {
    let mut out: Vec<(String, RawParams)> = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < v.len() && matches!(v[*i], b' ' | b'\t' | b'\r' | b'\n') {
            *i += 1;
        }
    };
    let is_tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    loop {
        skip_ws(&mut i);
        while i < v.len() && v[i] == b',' {
            i += 1;
            skip_ws(&mut i);
        }
        if i >= v.len() {
            break;
        }
        // A token: either a new scheme or a parameter name.
        let start = i;
        while i < v.len() && is_tchar(v[i]) {
            i += 1;
        }
        if start == i {
            return Err(ParseError::Malformed(i));
        }
        let token = String::from_utf8_lossy(&v[start..i]).to_string();
        skip_ws(&mut i);
        if i < v.len() && v[i] == b'=' {
            // name=value, belonging to the current challenge
            i += 1;
            skip_ws(&mut i);
            let value = if i < v.len() && v[i] == b'"' {
                i += 1;
                let mut s = Vec::new();
                loop {
                    match v.get(i) {
                        None => return Err(ParseError::UnbalancedQuote),
                        Some(b'\\') => {
                            let c = *v.get(i + 1).ok_or(ParseError::UnbalancedQuote)?;
                            s.push(c);
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                s
            } else {
                let vs = i;
                // a token; '/' and '=' too, for base64 nonces sent unquoted
                while i < v.len() && (is_tchar(v[i]) || v[i] == b'/' || v[i] == b'=') {
                    i += 1;
                }
                v[vs..i].to_vec()
            };
            if value.len() > MAX_VALUE_LEN {
                return Err(ParseError::ValueTooLong(token));
            }
            if value.iter().any(|&c| c < 0x20 && c != b'\t' || c == 0x7f) {
                return Err(ParseError::ControlChar(token));
            }
            let Some(cur) = out.last_mut() else {
                return Err(ParseError::Malformed(start));
            };
            cur.1.push((
                token.to_ascii_lowercase(),
                String::from_utf8_lossy(&value).to_string(),
            ));
            skip_ws(&mut i);
            if i < v.len() && v[i] != b',' {
                return Err(ParseError::Malformed(i));
            }
        } else {
            // a token not followed by '=' is a scheme: a new challenge starts
            out.push((token, Vec::new()));
        }
    }
    Ok(out)
}

fn build(scheme: String, params: RawParams) -> Result<Challenge, ParseError> {
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(ParseError::NotDigest(scheme));
    }
    for (i, (n, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(m, _)| m == n) {
            return Err(ParseError::Repeated(n.clone()));
        }
    }
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let realm = get("realm").ok_or(ParseError::Missing("realm"))?;
    let nonce = get("nonce")
        .filter(|n| !n.is_empty())
        .ok_or(ParseError::Missing("nonce"))?;
    let algorithm = match get("algorithm") {
        None => Ok(Algorithm::Md5),
        Some(a) => Algorithm::parse(&a).ok_or(a),
    };
    let qop = match get("qop") {
        None => Ok(None),
        Some(list) => {
            let opts: Vec<String> = list
                .split(',')
                .map(|q| q.trim().to_ascii_lowercase())
                .collect();
            if opts.iter().any(|q| q == "auth") {
                Ok(Some(Qop::Auth))
            } else if opts.iter().any(|q| q == "auth-int") {
                Ok(Some(Qop::AuthInt))
            } else {
                Err(list)
            }
        }
    };
    Ok(Challenge {
        realm,
        nonce,
        opaque: get("opaque"),
        algorithm,
        qop,
        stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Challenge {
        let mut v = parse_header(s.as_bytes()).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0).unwrap()
    }

    #[test]
    fn rfc7616_challenge() {
        let c = one(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        );
        assert_eq!(c.realm, "http-auth@example.org");
        assert_eq!(c.algorithm, Ok(Algorithm::Sha256));
        assert_eq!(c.qop, Ok(Some(Qop::Auth)));
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert!(!c.stale);
    }

    #[test]
    fn defaults_and_variants() {
        let c = one("Digest realm=\"sip.example\", nonce=\"abc\"");
        assert_eq!(c.algorithm, Ok(Algorithm::Md5));
        assert_eq!(c.qop, Ok(None));
        let c = one("digest nonce=abc,realm=r,qop=auth-int,stale=TRUE,algorithm=md5-sess");
        assert_eq!(c.qop, Ok(Some(Qop::AuthInt)));
        assert!(c.stale);
        assert_eq!(c.algorithm, Ok(Algorithm::Md5Sess));
        let c = one("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1");
        assert_eq!(c.algorithm, Err("SHA-1".into()));
        let c = one("Digest realm=\"r\", nonce=\"n\", qop=\"foo\"");
        assert!(c.qop.is_err());
        let c = one("Digest realm=\"a \\\"quoted\\\" realm\", nonce=\"n\"");
        assert_eq!(c.realm, "a \"quoted\" realm");
    }

    #[test]
    fn several_challenges_in_one_value() {
        let v = parse_header(
            b"Digest realm=\"r\", nonce=\"1\", algorithm=SHA-256, Digest realm=\"r\", nonce=\"2\", Basic realm=\"x\"",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].as_ref().unwrap().algorithm, Ok(Algorithm::Sha256));
        assert_eq!(v[1].as_ref().unwrap().nonce, "2");
        assert_eq!(v[2], Err(ParseError::NotDigest("Basic".into())));
    }

    #[test]
    fn bad_input() {
        assert_eq!(parse_header(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_header(b"Digest realm=\"r, nonce=n"),
            Err(ParseError::UnbalancedQuote)
        );
        assert_eq!(
            parse_header(b"Digest realm=\"r, nonce=\"n\""),
            Err(ParseError::Malformed(24))
        );
        assert_eq!(
            parse_header(&vec![b'a'; MAX_HEADER_LEN + 1]),
            Err(ParseError::TooLong)
        );
        let v = parse_header(b"Digest realm=\"r\", nonce=\"n\", realm=\"s\"").unwrap();
        assert_eq!(v[0], Err(ParseError::Repeated("realm".into())));
        let v = parse_header(b"Digest realm=\"r\"").unwrap();
        assert_eq!(v[0], Err(ParseError::Missing("nonce")));
        let v = parse_header(b"Digest nonce=\"n\"").unwrap();
        assert_eq!(v[0], Err(ParseError::Missing("realm")));
        assert!(parse_header(b"realm=\"r\"").is_err());
        assert!(parse_header(b"Digest realm=\"r\" nonce=\"n\"").is_err());
        // found by the fuzzer: CR/LF in a quoted value, also escaped
        assert_eq!(
            parse_header(b"Digest realm=\"s\r\",nonce=\"8\""),
            Err(ParseError::ControlChar("realm".into()))
        );
        assert_eq!(
            parse_header(b"Digest realm=\"s\", nonce=\"a\\\nb\""),
            Err(ParseError::ControlChar("nonce".into()))
        );
        let long = format!(
            "Digest realm=\"r\", nonce=\"{}\"",
            "n".repeat(MAX_VALUE_LEN + 1)
        );
        assert_eq!(
            parse_header(long.as_bytes()),
            Err(ParseError::ValueTooLong("nonce".into()))
        );
    }
}
