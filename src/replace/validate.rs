//! Checks on the script's arguments before anything in the message changes.

/// Kamailio's MAX_URI_SIZE: the stock module refuses longer URIs (the
/// Record-Route codec in rr_codec.rs holds to the same limit).
pub const MAX_URI_SIZE: usize = 1024;

/// Display names longer than this are refused. The stock module has no limit of
/// its own: what bounds it is Kamailio's largest SIP message (BUF_SIZE, 65535
/// bytes), so a display that could fit in a message is accepted.
pub const MAX_DISPLAY_SIZE: usize = 65535;

/// A URI for a From/To header: `scheme:rest`, printable, no white space, no `<>`
/// that would break the header, at most MAX_URI_SIZE bytes.
pub fn check_uri(uri: &[u8]) -> Result<(), String> {
    if uri.len() > MAX_URI_SIZE {
        return Err(format!(
            "uri too long ({} > {MAX_URI_SIZE} bytes)",
            uri.len()
        ));
    }
    let colon = uri
        .iter()
        .position(|&c| c == b':')
        .ok_or("uri has no scheme")?;
    let scheme = &uri[..colon];
    let scheme_ok = !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c));
    if !scheme_ok || colon + 1 == uri.len() {
        return Err("uri is not scheme:value".into());
    }
    if let Some(p) = uri
        .iter()
        .position(|&c| !(0x21..0x7f).contains(&c) || c == b'<' || c == b'>')
    {
        return Err(format!("uri has a forbidden character at position {p}"));
    }
    Ok(())
}

/// A URI that a restore would write into From/To: it must be a URI by syntax
/// (RFC 3986 characters, `scheme:rest`), and for `sip:`/`sips:` a SIP URI by
/// structure (RFC 3261 section 19.1: `[userinfo@]host[:port][;params][?headers]`
/// with a non-empty host). A tampered Record-Route parameter decodes to bytes
/// that are mostly `restore_passwd` (XOR is all the codec does): refusing what
/// is not a URI keeps those bytes from being forwarded.
pub fn check_restored_uri(uri: &[u8]) -> Result<(), String> {
    check_uri(uri).map_err(|e| format!("restored value is not a URI: {e}"))?;
    let bad = |p: usize| format!("restored value is not a URI (character at position {p})");
    let mut i = 0;
    while i < uri.len() {
        let c = uri[i];
        if c == b'%' {
            let hex = uri.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return Err(bad(i));
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return Err(bad(i));
        }
        i += 1;
    }
    let colon = uri.iter().position(|&c| c == b':').unwrap_or(0);
    let scheme = uri[..colon].to_ascii_lowercase();
    if scheme == b"sip" || scheme == b"sips" {
        check_sip_hostport(&uri[colon + 1..])?;
    }
    Ok(())
}

/// The host part of a SIP URI after its scheme: a host name, IPv4 address or
/// bracketed IPv6 reference, then an optional numeric port.
fn check_sip_hostport(rest: &[u8]) -> Result<(), String> {
    let end = rest.iter().position(|&c| c == b'?').unwrap_or(rest.len());
    let rest = &rest[..end];
    // the user part may hold ';' (user-unreserved); the host starts after its '@'
    let host_start = rest.iter().rposition(|&c| c == b'@').map_or(0, |a| a + 1);
    let hostport = &rest[host_start..];
    let hostport = &hostport[..hostport
        .iter()
        .position(|&c| c == b';')
        .unwrap_or(hostport.len())];
    let (host, port) = if hostport.first() == Some(&b'[') {
        let close = hostport
            .iter()
            .position(|&c| c == b']')
            .ok_or("restored value is not a URI: unclosed IPv6 reference")?;
        let inner = &hostport[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|c| c.is_ascii_hexdigit() || b":.".contains(c))
        {
            return Err("restored value is not a URI: malformed IPv6 reference".into());
        }
        (&hostport[..=close], &hostport[close + 1..])
    } else {
        match hostport.iter().position(|&c| c == b':') {
            Some(p) => (&hostport[..p], &hostport[p..]),
            None => (hostport, &hostport[hostport.len()..]),
        }
    };
    if host.is_empty() {
        return Err("restored value is not a URI: SIP URI without host".into());
    }
    if host[0] != b'['
        && !host
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-.".contains(c))
    {
        return Err("restored value is not a URI: malformed SIP host".into());
    }
    if let Some(digits) = port.strip_prefix(b":") {
        if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
            return Err("restored value is not a URI: malformed port".into());
        }
    } else if !port.is_empty() {
        return Err("restored value is not a URI: malformed SIP host".into());
    }
    Ok(())
}

/// A display name: a token list or one quoted string, no line breaks, no `<>`
/// outside quotes, quotes balanced.
pub fn check_display(d: &[u8]) -> Result<(), String> {
    if d.len() > MAX_DISPLAY_SIZE {
        return Err(format!(
            "display name too long ({} > {MAX_DISPLAY_SIZE} bytes)",
            d.len()
        ));
    }
    let mut quoted = false;
    let mut escaped = false;
    for (i, &c) in d.iter().enumerate() {
        if c == b'\r' || c == b'\n' || c == 0 {
            return Err(format!(
                "display name has a control character at position {i}"
            ));
        }
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'<' | b'>' | b',' | b';' if !quoted => {
                return Err(format!("display name has '{}' outside quotes", c as char))
            }
            _ => {}
        }
    }
    if quoted {
        return Err("display name has an unbalanced quote".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert!(check_uri(b"sip:alice@example.com;user=phone").is_ok());
        assert!(check_uri(b"tel:+4930123").is_ok());
        assert!(check_uri(b"alice@example.com").is_err());
        assert!(check_uri(b"sip:").is_err());
        assert!(check_uri(b"sip:a b@x").is_err());
        assert!(check_uri(b"sip:a@x>\r\nX: y").is_err());
        assert!(check_uri(&[b"sip:".as_slice(), &[b'a'; 1100]].concat()).is_err());
    }

    #[test]
    fn restored_uris() {
        for ok in [
            &b"sip:alice@a.example.com"[..],
            b"sips:bob@10.0.0.1:5061;transport=tls",
            b"sip:alice;day=tue@[2001:db8::1]:5060;lr?subject=hi",
            b"sip:example.com",
            b"sip:%61lice@x",
            b"tel:+49-30-123;phone-context=example.com",
            b"urn:service:sos",
        ] {
            assert!(
                check_restored_uri(ok).is_ok(),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b"]ecretsecretsecret"[..],
            b"sip:",
            b"sip:alice@",
            b"sip:alice@host:port",
            b"sip:alice@ho st",
            b"sip:alice@[::1",
            b"sip:al\\ice@x",
            b"sip:alice@x%zz",
            b"sip:a@b\"c",
            b"s{p:a@b",
        ] {
            assert!(
                check_restored_uri(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn displays() {
        assert!(check_display(b"\"Alice Smith\"").is_ok());
        assert!(check_display(b"Anonymous").is_ok());
        assert!(check_display(b"\"a \\\" b\"").is_ok());
        assert!(check_display(b"\"open").is_err());
        assert!(check_display(b"a\r\nX: evil").is_err());
        assert!(check_display(b"x <sip:evil>").is_err());
        // as long as a SIP message allows, as the stock module
        assert!(check_display(&[b'a'; 4000]).is_ok());
        assert!(check_display(&[b'a'; 70000]).is_err());
    }
}
