//! Checks on the script's arguments before anything in the message changes.

use super::rr_codec::MAX_URI_SIZE;

/// Display names longer than this are refused (a From/To header has no use for more).
pub const MAX_DISPLAY_SIZE: usize = 512;

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
    fn displays() {
        assert!(check_display(b"\"Alice Smith\"").is_ok());
        assert!(check_display(b"Anonymous").is_ok());
        assert!(check_display(b"\"a \\\" b\"").is_ok());
        assert!(check_display(b"\"open").is_err());
        assert!(check_display(b"a\r\nX: evil").is_err());
        assert!(check_display(b"x <sip:evil>").is_err());
    }
}
