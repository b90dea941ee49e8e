//! Where the bytes of a From/To header change when its display name or URI is
//! replaced, computed on the raw message buffer. The host layer turns each
//! [`Edit`] into its lumps, in the order given.

/// Where the parts of a parsed From/To header are: offsets into the message
/// buffer (`display` and `tag` are None when the header has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ident {
    /// End of the header name (`From`), where a search back for `<` stops.
    pub name_end: usize,
    /// Start of the header body (after `From:` and white space).
    pub body_start: usize,
    /// End of the header body (before CRLF).
    pub body_end: usize,
    /// The URI (offset, length).
    pub uri: (usize, usize),
    /// The display name as the parser saw it, quotes included.
    pub display: Option<(usize, usize)>,
    /// The tag parameter's value.
    pub tag: Option<(usize, usize)>,
}

impl Ident {
    pub fn uri_end(&self) -> usize {
        self.uri.0 + self.uri.1
    }

    /// The header body from its start through the URI and a closing `>`
    /// (see [`through_uri_len`]): what a reply gets back.
    pub fn through_uri<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        let len = through_uri_len(buf, self.body_start, self.uri_end());
        &buf[self.body_start..(self.body_start + len).min(buf.len())]
    }
}

/// One change of the message, applied as a host lump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Delete `len` bytes at `offset` and put `text` in their place.
    Replace {
        offset: usize,
        len: usize,
        text: Vec<u8>,
    },
    /// Delete `len` bytes at `offset`.
    Delete { offset: usize, len: usize },
    /// Insert `text` at `offset`.
    Insert { offset: usize, text: Vec<u8> },
}

impl Edit {
    pub fn offset(&self) -> usize {
        match self {
            Edit::Replace { offset, .. }
            | Edit::Delete { offset, .. }
            | Edit::Insert { offset, .. } => *offset,
        }
    }

    /// The new bytes (empty for a deletion).
    pub fn text(&self) -> &[u8] {
        match self {
            Edit::Replace { text, .. } | Edit::Insert { text, .. } => text,
            Edit::Delete { .. } => &[],
        }
    }

    /// The edit without its new bytes: two edits of one form change the
    /// same bytes (a host can put new text into the lumps of the first).
    pub fn form(&self) -> (u8, usize, usize, bool) {
        match self {
            Edit::Replace { offset, len, text } => (0, *offset, *len, text.is_empty()),
            Edit::Delete { offset, len } => (1, *offset, *len, true),
            Edit::Insert { offset, text } => (2, *offset, 0, text.is_empty()),
        }
    }
}

/// What the host sends for `buf` changed by `edits`: sorted by offset, the
/// order made among equal offsets (as the hosts apply their lumps). For
/// tests and the ports' mock.
pub fn apply(buf: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut ordered: Vec<(usize, usize, &Edit)> = edits
        .iter()
        .enumerate()
        .map(|(i, e)| (e.offset(), i, e))
        .collect();
    ordered.sort_by_key(|(o, i, _)| (*o, *i));
    let mut out = Vec::new();
    let mut pos = 0;
    for (off, _, e) in ordered {
        if off > pos {
            out.extend_from_slice(&buf[pos..off.min(buf.len())]);
            pos = off;
        }
        match e {
            Edit::Insert { text, .. } => out.extend_from_slice(text),
            Edit::Replace { len, text, .. } => {
                out.extend_from_slice(text);
                pos = pos.max(off + len);
            }
            Edit::Delete { len, .. } => pos = pos.max(off + len),
        }
    }
    out.extend_from_slice(&buf[pos.min(buf.len())..]);
    out
}

/// The edits that set the display name, as the stock module makes them:
/// an empty `display` removes the old one; a new one takes the old one's place,
/// or goes before `<`, or turns a bare URI into `display <uri>`.
pub fn display_edits(buf: &[u8], h: &Ident, display: &[u8]) -> Vec<Edit> {
    let mut edits = Vec::new();
    let old = h.display.filter(|&(_, len)| len > 0);
    match (old, display.is_empty()) {
        (Some((offset, len)), true) => edits.push(Edit::Delete { offset, len }),
        (Some((offset, len)), false) => edits.push(Edit::Replace {
            offset,
            len,
            text: display.to_vec(),
        }),
        (None, true) => {}
        (None, false) => match laquot_before_uri(buf, h) {
            Some(lt) => {
                let mut text = display.to_vec();
                text.push(b' ');
                edits.push(Edit::Insert { offset: lt, text });
            }
            None => {
                let (uri_off, uri_len) = h.uri;
                // The stock module adds `>` first, then `display <` at the URI.
                edits.push(Edit::Insert {
                    offset: uri_off + uri_len,
                    text: b">".to_vec(),
                });
                let mut text = display.to_vec();
                text.extend_from_slice(b" <");
                edits.push(Edit::Insert {
                    offset: uri_off,
                    text,
                });
            }
        },
    }
    edits
}

/// As [`display_edits`], with Kamailio 6.1's change: removing a display name
/// also removes the spaces after it (5.6 left `From:  <sip:...`).
pub fn display_edits_trimmed(buf: &[u8], h: &Ident, display: &[u8]) -> Vec<Edit> {
    let mut edits = display_edits(buf, h, display);
    for e in &mut edits {
        if let Edit::Delete { offset, len } = e {
            let spaces = buf[(*offset + *len).min(buf.len())..]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            *len += spaces;
        }
    }
    edits
}

/// Does the URI sit in `<>` (Kamailio's `TBS_URI_ENCLOSED`)?
pub fn uri_enclosed(buf: &[u8], h: &Ident) -> bool {
    laquot_before_uri(buf, h).is_some()
}

/// The position of the `<` that opens the URI, if the URI is enclosed.
fn laquot_before_uri(buf: &[u8], h: &Ident) -> Option<usize> {
    let start = h.name_end.min(h.uri.0);
    buf[start..h.uri.0]
        .iter()
        .rposition(|&c| c == b'<')
        .map(|p| start + p)
}

/// The length of the header body from its start through the URI, the white space
/// after it and a closing `>`: the part that restoring a reply swaps, leaving the
/// tag and other parameters alone.
pub fn through_uri_len(buf: &[u8], body_start: usize, uri_end: usize) -> usize {
    let rest = &buf[uri_end.min(buf.len())..];
    let ws = rest
        .iter()
        .take_while(|c| c.is_ascii_whitespace() || **c == 0x0b)
        .count();
    let close = usize::from(rest.get(ws) == Some(&b'>'));
    uri_end - body_start + if close == 1 { ws + 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(buf: &[u8], name: &str) -> Ident {
        let s = std::str::from_utf8(buf).unwrap();
        let name_end = s.find(name).unwrap() + name.len();
        let body_start = name_end + 2;
        let uri_off = s.find("sip:").unwrap();
        let uri_end = s[uri_off..]
            .find(['>', ';', '\r'])
            .map(|e| uri_off + e)
            .unwrap();
        let display = s[body_start..uri_off].find('"').map(|d| {
            (
                body_start + d,
                s[body_start + d + 1..].find('"').unwrap() + 2,
            )
        });
        Ident {
            name_end,
            body_start,
            body_end: s[body_start..].find("\r\n").unwrap() + body_start,
            uri: (uri_off, uri_end - uri_off),
            display,
            tag: None,
        }
    }

    #[test]
    fn replace_existing_display() {
        let b = b"From: \"Alice\" <sip:a@x>;tag=1\r\n";
        let h = spans(b, "From");
        assert_eq!(
            display_edits(b, &h, b"\"Bob\""),
            vec![Edit::Replace {
                offset: 6,
                len: 7,
                text: b"\"Bob\"".to_vec()
            }]
        );
        assert_eq!(
            display_edits(b, &h, b""),
            vec![Edit::Delete { offset: 6, len: 7 }]
        );
    }

    #[test]
    fn add_display_before_laquot() {
        let b = b"From: <sip:a@x>;tag=1\r\n";
        let h = spans(b, "From");
        assert_eq!(
            display_edits(b, &h, b"Bob"),
            vec![Edit::Insert {
                offset: 6,
                text: b"Bob ".to_vec()
            }]
        );
    }

    #[test]
    fn add_display_to_bare_uri() {
        let b = b"From: sip:a@x;tag=1\r\n";
        let h = spans(b, "From");
        assert_eq!(
            display_edits(b, &h, b"Bob"),
            vec![
                Edit::Insert {
                    offset: 13,
                    text: b">".to_vec()
                },
                Edit::Insert {
                    offset: 6,
                    text: b"Bob <".to_vec()
                },
            ]
        );
    }

    #[test]
    fn span_through_uri() {
        let b = b"To: <sip:b@y >;tag=2\r\n";
        assert_eq!(through_uri_len(b, 4, 12), 10); // "<sip:b@y >"
        let b = b"To: sip:b@y;tag=2\r\n";
        assert_eq!(through_uri_len(b, 4, 11), 7);
    }
}
