//! How a configured password is read when it may hold a precomputed HA1
//! (OpenSIPS `uac_auth` convention: `0x` followed by the algorithm's HA1 in
//! lowercase hex), and hex decoding of a response for hosts that keep the
//! binary hash. Pure Rust, no host types.

use super::challenge::Algorithm;
use super::credentials::Credential;
use super::response::{hex_len, Secret};

/// `0x` + exactly the algorithm's hex length of `[0-9a-f]` is an HA1; anything
/// else is the plain password (as the stock OpenSIPS module decides it).
pub fn secret_of(password: &[u8], alg: Algorithm) -> Secret<'_> {
    match password.strip_prefix(b"0x") {
        Some(h)
            if h.len() == hex_len(alg)
                && h.iter()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)) =>
        {
            Secret::Ha1(h)
        }
        _ => Secret::Password(password),
    }
}

/// Decodes lowercase or uppercase hex; None for an odd length or a non-hex digit.
pub fn from_hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Parses `user:realm:password` as OpenSIPS's `uac_auth` does: white space is
/// allowed around each part and around the colons, none inside user and realm;
/// the password runs to the next white space, and only white space may follow.
/// Err gives the byte offset where parsing stopped (the stock log says
/// "parse error in <...> around N").
pub fn parse_credential_strict(s: &[u8]) -> Result<Credential, usize> {
    let mut p = 0;
    let at = |p: usize| s.get(p).copied();
    let skip_ws = |p: &mut usize| {
        while at(*p).is_some_and(|c| c.is_ascii_whitespace()) {
            *p += 1;
        }
    };
    let token = |p: &mut usize, stop_colon: bool| -> Vec<u8> {
        let start = *p;
        while at(*p).is_some_and(|c| !c.is_ascii_whitespace() && (!stop_colon || c != b':')) {
            *p += 1;
        }
        s[start..*p].to_vec()
    };
    let colon = |p: &mut usize| -> Result<(), usize> {
        skip_ws(p);
        if at(*p) != Some(b':') {
            return Err(*p);
        }
        *p += 1;
        skip_ws(p);
        if at(*p).is_none() {
            return Err(*p);
        }
        Ok(())
    };
    skip_ws(&mut p);
    let user = token(&mut p, true);
    if user.is_empty() || at(p).is_none() {
        return Err(p);
    }
    colon(&mut p)?;
    let realm = token(&mut p, true);
    if realm.is_empty() || at(p).is_none() {
        return Err(p);
    }
    colon(&mut p)?;
    let password = token(&mut p, false);
    if password.is_empty() {
        return Err(p);
    }
    skip_ws(&mut p);
    if at(p).is_some() {
        return Err(p);
    }
    Ok(Credential {
        user,
        realm,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_strict() {
        let c = parse_credential_strict(b" alice : sip.example.com : s3cr3t ").unwrap();
        assert_eq!(
            (c.user, c.realm, c.password),
            (
                b"alice".to_vec(),
                b"sip.example.com".to_vec(),
                b"s3cr3t".to_vec()
            )
        );
        // a colon in the password is kept
        assert_eq!(
            parse_credential_strict(b"a:r:p:q").unwrap().password,
            b"p:q"
        );
        assert_eq!(parse_credential_strict(b"alice:realm"), Err(11));
        assert_eq!(parse_credential_strict(b":realm:pw"), Err(0));
        assert_eq!(parse_credential_strict(b"alice::pw"), Err(6));
        assert_eq!(parse_credential_strict(b"alice:realm:"), Err(12));
        assert_eq!(parse_credential_strict(b"alice:realm:pw extra"), Err(15));
        assert_eq!(parse_credential_strict(b"al ice:realm:pw"), Err(3));
        assert_eq!(parse_credential_strict(b""), Err(0));
    }

    #[test]
    fn ha1_or_password() {
        let md5_ha1 = b"0x0123456789abcdef0123456789abcdef";
        assert!(matches!(secret_of(md5_ha1, Algorithm::Md5), Secret::Ha1(h) if h.len() == 32));
        // the length must match the algorithm's hash
        assert!(matches!(
            secret_of(md5_ha1, Algorithm::Sha256),
            Secret::Password(_)
        ));
        // uppercase hex is a password, as in the stock module
        assert!(matches!(
            secret_of(b"0x0123456789ABCDEF0123456789abcdef", Algorithm::Md5),
            Secret::Password(_)
        ));
        assert!(matches!(
            secret_of(b"secret", Algorithm::Md5),
            Secret::Password(b"secret")
        ));
    }

    #[test]
    fn hex() {
        assert_eq!(from_hex(b"00ff10Ab"), Some(vec![0, 255, 16, 0xab]));
        assert_eq!(from_hex(b"0"), None);
        assert_eq!(from_hex(b"zz"), None);
        assert_eq!(from_hex(b""), Some(vec![]));
    }
}
