//! From/To replacement as the stock OpenSIPS 3.6 `uac` module edits the
//! message, as pure functions over the message bytes and the positions the
//! core's parser found: which bytes are deleted and what is inserted where,
//! in the order the stock module makes its lumps (the core applies lumps at
//! one offset in the order they were made). No host types.

/// Where the parts of a From/To header are (offsets into the message).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ident {
    pub name_end: usize,
    pub body_start: usize,
    pub body_end: usize,
    pub uri_start: usize,
    pub uri_len: usize,
    pub display_start: usize,
    pub display_len: usize,
    pub tag_start: usize,
    pub tag_len: usize,
}

impl Ident {
    pub fn uri_end(&self) -> usize {
        self.uri_start + self.uri_len
    }
}

/// One change to the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Delete `len` bytes at `off` and put `data` in their place.
    Replace {
        off: usize,
        len: usize,
        data: Vec<u8>,
    },
    /// Insert `data` at `off`.
    Insert { off: usize, data: Vec<u8> },
}

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

/// The edits of uac_replace_from/to(display, uri): `display` None leaves the
/// display name alone (Some(empty) removes it, already quoted by
/// [`quote_display`]); `uri` None or empty leaves the URI alone. Returns the
/// edits and the new URI as written (`<uri>`), which the Record-Route
/// parameter encodes.
pub fn replace_edits(
    buf: &[u8],
    id: &Ident,
    display: Option<&[u8]>,
    uri: Option<&[u8]>,
) -> (Vec<Edit>, Option<Vec<u8>>) {
    let mut edits = Vec::new();
    let uri = uri.filter(|u| !u.is_empty());
    if let Some(d) = display {
        if id.display_len > 0 {
            edits.push(Edit::Replace {
                off: id.display_start,
                len: id.display_len,
                data: d.to_vec(),
            });
        } else if !d.is_empty() {
            let mut data = d.to_vec();
            // Is the URI in angle brackets already?
            let enclosed = (id.name_end..id.uri_start)
                .rev()
                .any(|p| buf.get(p) == Some(&b'<'));
            if enclosed {
                data.push(b' ');
                edits.push(Edit::Insert {
                    off: id.uri_start - 1,
                    data,
                });
            } else if uri.is_none() {
                // the URI stays: put it in angle brackets behind the name
                edits.push(Edit::Insert {
                    off: id.uri_end(),
                    data: b">".to_vec(),
                });
                data.extend_from_slice(b" <");
                edits.push(Edit::Insert {
                    off: id.uri_start,
                    data,
                });
            } else {
                edits.push(Edit::Insert {
                    off: id.uri_start,
                    data,
                });
            }
        }
    }
    let Some(u) = uri else {
        return (edits, None);
    };
    let mut new = Vec::with_capacity(u.len() + 2);
    new.push(b'<');
    new.extend_from_slice(u);
    new.push(b'>');
    let (s, l) = expand_aquotes(buf, id.uri_start, id.uri_len, id.name_end, id.body_end);
    edits.push(Edit::Replace {
        off: s,
        len: l,
        data: new.clone(),
    });
    (edits, Some(new))
}

/// Applies edits to a copy of `buf` (for tests: what the core makes of them).
pub fn apply(buf: &[u8], edits: &[Edit]) -> Vec<u8> {
    // Sort by offset, keeping the creation order among equal offsets.
    let mut ordered: Vec<(usize, usize, &Edit)> = edits
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Edit::Replace { off, .. } | Edit::Insert { off, .. } => (*off, i, e),
        })
        .collect();
    ordered.sort_by_key(|(o, i, _)| (*o, *i));
    let mut out = Vec::new();
    let mut pos = 0;
    for (off, _, e) in ordered {
        if off > pos {
            out.extend_from_slice(&buf[pos..off]);
            pos = off;
        }
        match e {
            Edit::Insert { data, .. } => out.extend_from_slice(data),
            Edit::Replace { len, data, .. } => {
                out.extend_from_slice(data);
                pos = pos.max(off + len);
            }
        }
    }
    out.extend_from_slice(&buf[pos.min(buf.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positions of a `From:` header in `m` as the core's parser reports them.
    fn ident(m: &[u8], uri: &str, display: &str) -> Ident {
        let s = std::str::from_utf8(m).unwrap();
        let name_start = s.find("From").unwrap();
        let name_end = name_start + 4;
        let body_start =
            name_end + 1 + s[name_end + 1..].len() - s[name_end + 1..].trim_start().len();
        let body_end = s[name_end..].find("\r\n").unwrap() + name_end;
        let uri_start = s[body_start..].find(uri).unwrap() + body_start;
        let (display_start, display_len) = if display.is_empty() {
            (0, 0)
        } else {
            (
                s[body_start..].find(display).unwrap() + body_start,
                display.len(),
            )
        };
        Ident {
            name_end,
            body_start,
            body_end,
            uri_start,
            uri_len: uri.len(),
            display_start,
            display_len,
            tag_start: 0,
            tag_len: 1,
        }
    }

    fn run(m: &str, uri: &str, disp: &str, d: Option<&str>, u: Option<&str>) -> String {
        let id = ident(m.as_bytes(), uri, disp);
        let dq = d.map(|d| quote_display(d.as_bytes()));
        let (e, _) = replace_edits(m.as_bytes(), &id, dq.as_deref(), u.map(str::as_bytes));
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
