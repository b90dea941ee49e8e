//! Where the bytes of a From/To header change when its display name or URI is
//! replaced, computed on the raw message buffer. The host layer turns each
//! [`Edit`] into Kamailio lumps, in the order given.

/// Offsets into the SIP message buffer of one parsed From/To header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderSpans {
    /// End of the header name (`From`), where the search for `<` stops.
    pub name_end: usize,
    /// Start of the header body (after `From:` and spaces).
    pub body_start: usize,
    /// The display name as the parser saw it (quotes included), if any.
    pub display: Option<(usize, usize)>,
    /// The URI (offset, length).
    pub uri: (usize, usize),
}

/// One change of the message, applied as a Kamailio lump.
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

/// The edits that set the display name, as the stock module makes them:
/// an empty `display` removes the old one; a new one takes the old one's place,
/// or goes before `<`, or turns a bare URI into `display <uri>`.
pub fn display_edits(buf: &[u8], h: &HeaderSpans, display: &[u8]) -> Vec<Edit> {
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

/// The position of the `<` that opens the URI, if the URI is enclosed.
fn laquot_before_uri(buf: &[u8], h: &HeaderSpans) -> Option<usize> {
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

    fn spans(buf: &[u8], name: &str) -> HeaderSpans {
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
        HeaderSpans {
            name_end,
            body_start,
            display,
            uri: (uri_off, uri_end - uri_off),
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
