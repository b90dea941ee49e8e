//! From/To replacement as the stock OpenSIPS 3.6 `uac` module edits the
//! header: the new URI goes in as `<uri>` over the old URI widened to its
//! angle brackets, the display name is quoted unless it is a token. Which
//! bytes are deleted and what is inserted where, in the order the stock
//! module makes its lumps (the core applies lumps at one offset in the order
//! they were made). Kamailio's form (the bare URI, the display as given) is
//! [`super::header::display_edits`] and a plain URI replacement.

use super::header::{Edit, Ident};

/// The display name as the stock fixup stores it: kept when already quoted
/// or a token (or empty: "remove the display name"), else put in quotes.
pub fn quote_display(d: &[u8]) -> Vec<u8> {
    let token = |c: &u8| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(c);
    if d.is_empty()
        || (d.len() >= 2 && d[0] == b'"' && d[d.len() - 1] == b'"')
        || d.iter().all(token)
    {
        return d.to_vec();
    }
    let mut q = Vec::with_capacity(d.len() + 2);
    q.push(b'"');
    q.extend_from_slice(d);
    q.push(b'"');
    q
}

/// The URI span widened to the `<` before it and the `>` after it, when the
/// URI is in angle brackets (searching back no further than `llim`, forward
/// to `rlim`), as the stock expand_aquotes().
pub fn expand_aquotes(
    buf: &[u8],
    start: usize,
    len: usize,
    llim: usize,
    rlim: usize,
) -> (usize, usize) {
    let mut p = start as isize;
    while p >= llim as isize {
        if buf.get(p as usize) == Some(&b'<') {
            let s = p as usize;
            let mut l = len + (start - s);
            let mut q = s + l - 1;
            while q < rlim {
                if buf.get(q) == Some(&b'>') {
                    return (s, l);
                }
                q += 1;
                l += 1;
            }
            return (s, l);
        }
        p -= 1;
    }
    (start, len)
}

/// The header's URI with its angle brackets (if any): what `<uri>` replaces.
pub fn bracketed_uri(buf: &[u8], id: &Ident) -> (usize, usize) {
    expand_aquotes(buf, id.uri.0, id.uri.1, id.name_end, id.body_end)
}

/// The URI as uac_replace_*() writes it: `<uri>`.
pub fn bracket(uri: &[u8]) -> Vec<u8> {
    let mut new = Vec::with_capacity(uri.len() + 2);
    new.push(b'<');
    new.extend_from_slice(uri);
    new.push(b'>');
    new
}

/// The edits that set the display name `display` (already quoted by
/// [`quote_display`]; empty removes it); `uri_changes` tells whether the
/// URI is replaced as well (its `<uri>` then brings the brackets).
pub fn display_edits(buf: &[u8], id: &Ident, display: &[u8], uri_changes: bool) -> Vec<Edit> {
    let mut edits = Vec::new();
    if let Some((offset, len)) = id.display.filter(|&(_, l)| l > 0) {
        edits.push(Edit::Replace {
            offset,
            len,
            text: display.to_vec(),
        });
        return edits;
    }
    if display.is_empty() {
        return edits;
    }
    let mut text = display.to_vec();
    // Is the URI in angle brackets already?
    let enclosed = (id.name_end..id.uri.0)
        .rev()
        .any(|p| buf.get(p) == Some(&b'<'));
    if enclosed {
        text.push(b' ');
        edits.push(Edit::Insert {
            offset: id.uri.0 - 1,
            text,
        });
    } else if !uri_changes {
        // the URI stays: put it in angle brackets behind the name
        edits.push(Edit::Insert {
            offset: id.uri_end(),
            text: b">".to_vec(),
        });
        text.extend_from_slice(b" <");
        edits.push(Edit::Insert {
            offset: id.uri.0,
            text,
        });
    } else {
        edits.push(Edit::Insert {
            offset: id.uri.0,
            text,
        });
    }
    edits
}

/// The edit that sets the URI: `<uri>` over the old URI and its brackets.
pub fn uri_edit(buf: &[u8], id: &Ident, uri: &[u8]) -> Edit {
    let (offset, len) = bracketed_uri(buf, id);
    Edit::Replace {
        offset,
        len,
        text: bracket(uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replace::header::apply;

    /// Positions of a `From:` header in `m` as the core's parser reports them.
    fn ident(m: &[u8], uri: &str, display: &str) -> Ident {
        let s = std::str::from_utf8(m).unwrap();
        let name_start = s.find("From").unwrap();
        let name_end = name_start + 4;
        let body_start =
            name_end + 1 + s[name_end + 1..].len() - s[name_end + 1..].trim_start().len();
        let body_end = s[name_end..].find("\r\n").unwrap() + name_end;
        let uri_start = s[body_start..].find(uri).unwrap() + body_start;
        let display = (!display.is_empty()).then(|| {
            (
                s[body_start..].find(display).unwrap() + body_start,
                display.len(),
            )
        });
        Ident {
            name_end,
            body_start,
            body_end,
            uri: (uri_start, uri.len()),
            display,
            tag: None,
        }
    }

    fn run(m: &str, uri: &str, disp: &str, d: Option<&str>, u: Option<&str>) -> String {
        let id = ident(m.as_bytes(), uri, disp);
        let mut e = Vec::new();
        if let Some(d) = d {
            e = display_edits(m.as_bytes(), &id, &quote_display(d.as_bytes()), u.is_some());
        }
        if let Some(u) = u {
            e.push(uri_edit(m.as_bytes(), &id, u.as_bytes()));
        }
        String::from_utf8(apply(m.as_bytes(), &e)).unwrap()
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_display(b"batman"), b"batman");
        assert_eq!(quote_display(b"Bat Man"), b"\"Bat Man\"");
        assert_eq!(quote_display(b"\"Bat Man\""), b"\"Bat Man\"");
        assert_eq!(quote_display(b""), b"");
    }

    #[test]
    fn replace_uri_and_display() {
        let m = "From: \"Alice\" <sip:alice@a.com>;tag=1\r\n";
        assert_eq!(
            run(
                m,
                "sip:alice@a.com",
                "\"Alice\"",
                Some("Anon"),
                Some("sip:anon@x.invalid")
            ),
            "From: Anon <sip:anon@x.invalid>;tag=1\r\n"
        );
        assert_eq!(
            run(m, "sip:alice@a.com", "\"Alice\"", None, Some("sip:b@c")),
            "From: \"Alice\" <sip:b@c>;tag=1\r\n"
        );
        assert_eq!(
            run(m, "sip:alice@a.com", "\"Alice\"", Some(""), None),
            "From:  <sip:alice@a.com>;tag=1\r\n"
        );
    }

    #[test]
    fn display_added() {
        let m = "From: <sip:alice@a.com>;tag=1\r\n";
        assert_eq!(
            run(m, "sip:alice@a.com", "", Some("Bob Smith"), Some("sip:b@c")),
            "From: \"Bob Smith\" <sip:b@c>;tag=1\r\n"
        );
        let bare = "From: sip:alice@a.com;tag=1\r\n";
        assert_eq!(
            run(bare, "sip:alice@a.com", "", Some("Bob"), None),
            "From: Bob <sip:alice@a.com>;tag=1\r\n"
        );
        assert_eq!(
            run(bare, "sip:alice@a.com", "", None, Some("sip:b@c")),
            "From: <sip:b@c>;tag=1\r\n"
        );
    }

    #[test]
    fn aquotes() {
        let b = b"From: < sip:a@b >;tag=1";
        let uri_start = 8;
        assert_eq!(expand_aquotes(b, uri_start, 7, 4, b.len()), (6, 11));
        assert_eq!(expand_aquotes(b"From: sip:a@b", 6, 7, 4, 13), (6, 7));
    }
}
