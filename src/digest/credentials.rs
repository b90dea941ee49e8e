//! The `credential` parameter (`username:realm:password`, as the stock module
//! parses it) and choosing which challenge to answer.

use super::challenge::{Challenge, ParseError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: Vec<u8>,
    pub realm: Vec<u8>,
    pub password: Vec<u8>,
}

/// Parses `user:realm:password`; white space is allowed around the parts, not
/// inside user and realm; the password runs to the next white space.
pub fn parse_credential(s: &str) -> Result<Credential, String> {
    let err = |what: &str| Err(format!("parse error in <{s}>: {what}"));
    let t = s.trim();
    let Some((user, rest)) = t.split_once(':') else {
        return err("missing ':' after the username");
    };
    let Some((realm, password)) = rest.split_once(':') else {
        return err("missing ':' after the realm");
    };
    let (user, realm, password) = (user.trim(), realm.trim(), password.trim());
    if user.is_empty() || user.contains(char::is_whitespace) {
        return err("missing or bad username");
    }
    if realm.is_empty() || realm.contains(char::is_whitespace) {
        return err("missing or bad realm");
    }
    if password.is_empty() || password.contains(char::is_whitespace) {
        return err("missing or bad password");
    }
    Ok(Credential {
        user: user.into(),
        realm: realm.into(),
        password: password.into(),
    })
}

/// Why no challenge could be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    NoChallenge,
    /// Every challenge was malformed (the first reason).
    Malformed(ParseError),
    /// Well-formed, but none with an algorithm and qop we implement.
    Unsupported(String),
    /// Supported, but no credentials for any of their realms.
    NoCredentials(Vec<String>),
}

impl std::fmt::Display for SelectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SelectError::NoChallenge => write!(f, "reply has no challenge header"),
            SelectError::Malformed(e) => write!(f, "malformed challenge: {e}"),
            SelectError::Unsupported(w) => write!(f, "no supported challenge ({w})"),
            SelectError::NoCredentials(r) => {
                write!(f, "no credential for realm \"{}\"", r.join("\", \""))
            }
        }
    }
}

/// RFC 8760 §2.4: the topmost challenge whose algorithm and qop we support and for
/// whose realm `lookup` finds credentials. Returns it with what `lookup` found.
pub fn select<T>(
    challenges: Vec<Result<Challenge, ParseError>>,
    mut lookup: impl FnMut(&Challenge) -> Option<T>,
) -> Result<(Challenge, T), SelectError> {
    let mut first_err = None;
    let mut unsupported = Vec::new();
    let mut realms = Vec::new();
    for c in challenges {
        match c {
            Err(ParseError::NotDigest(s)) => unsupported.push(format!("scheme {s}")),
            Err(e) => {
                first_err.get_or_insert(e);
            }
            Ok(c) => {
                if let Err(a) = &c.algorithm {
                    unsupported.push(format!("algorithm {a}"));
                } else if let Err(q) = &c.qop {
                    unsupported.push(format!("qop {q}"));
                } else if let Some(t) = lookup(&c) {
                    return Ok((c, t));
                } else {
                    realms.push(c.realm.clone());
                }
            }
        }
    }
    if !realms.is_empty() {
        Err(SelectError::NoCredentials(realms))
    } else if !unsupported.is_empty() {
        Err(SelectError::Unsupported(unsupported.join(", ")))
    } else if let Some(e) = first_err {
        Err(SelectError::Malformed(e))
    } else {
        Err(SelectError::NoChallenge)
    }
}

#[cfg(test)]
mod tests {
    use super::super::challenge::{parse_header, Algorithm};
    use super::*;

    #[test]
    fn credentials() {
        let c = parse_credential(" alice : sip.example.com : s3cr3t ").unwrap();
        assert_eq!(c.user, b"alice");
        assert_eq!(c.realm, b"sip.example.com");
        assert_eq!(c.password, b"s3cr3t");
        assert!(parse_credential("alice:realm").is_err());
        assert!(parse_credential(":realm:pw").is_err());
        assert!(parse_credential("alice::pw").is_err());
        assert!(parse_credential("alice:realm:").is_err());
        assert!(parse_credential("alice:realm:pw extra").is_err());
    }

    #[test]
    fn topmost_supported_with_credentials() {
        let mut all = parse_header(b"Digest realm=\"a\", nonce=\"1\", algorithm=SHA-1").unwrap();
        all.extend(parse_header(b"Digest realm=\"b\", nonce=\"2\", algorithm=SHA-256").unwrap());
        all.extend(parse_header(b"Digest realm=\"a\", nonce=\"3\", algorithm=SHA-256").unwrap());
        all.extend(parse_header(b"Digest realm=\"a\", nonce=\"4\"").unwrap());
        let (c, who) = select(all, |c| (c.realm == "a").then_some("alice")).unwrap();
        assert_eq!((c.nonce.as_str(), who), ("3", "alice"));
        assert_eq!(c.algorithm, Ok(Algorithm::Sha256));
    }

    #[test]
    fn reasons() {
        let only_sha1 = parse_header(b"Digest realm=\"a\", nonce=\"1\", algorithm=SHA-1").unwrap();
        assert!(matches!(
            select(only_sha1, |_| Some(())),
            Err(SelectError::Unsupported(_))
        ));
        let no_creds = parse_header(b"Digest realm=\"a\", nonce=\"1\"").unwrap();
        assert_eq!(
            select(no_creds, |_| None::<()>),
            Err(SelectError::NoCredentials(vec!["a".into()]))
        );
        let broken = parse_header(b"Digest realm=\"a\"").unwrap();
        assert!(matches!(
            select(broken, |_| Some(())),
            Err(SelectError::Malformed(_))
        ));
        assert_eq!(
            select(Vec::new(), |_| Some(())),
            Err(SelectError::NoChallenge)
        );
    }
}
