//! The Record-Route parameter that carries a replaced From/To URI through a dialog.
//!
//! Wire format (byte for byte what Kamailio's stock `uac` module writes, so that a
//! dialog begun under one module is restored by the other):
//! 1. take the longer of the original and the new URI, XOR the shorter one over its
//!    first bytes;
//! 2. XOR the result with `restore_passwd`, repeated;
//! 3. encode it with the standard base64 alphabet, padding with `-` instead of `=`
//!    (`=` would end a URI parameter value).
//!
//! Restoring XORs the decoded value with the URI seen in the in-dialog request:
//! seeing one of the pair yields the other.

use std::fmt;

pub use super::validate::MAX_URI_SIZE;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD: u8 = b'-';

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// A URI longer than MAX_URI_SIZE.
    UriTooLong { which: &'static str, len: usize },
    /// A character outside the alphabet in the parameter.
    InvalidChar { pos: usize },
    /// The parameter is empty, only padding, or decodes to more than MAX_URI_SIZE.
    BadLength { len: usize },
    /// The decoded value is shorter than the URI in the request: not our pair.
    ShorterThanCurrent { decoded: usize, current: usize },
    /// The restored URI would be empty.
    Empty,
    /// The restored URI has a non-printable byte at `pos` (tampered or altered URI).
    NotPrintable { pos: usize },
    /// The restored value is printable but not a URI (tampered parameter).
    NotUri(String),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::UriTooLong { which, len } => {
                write!(f, "{which} URI too long ({len} > {MAX_URI_SIZE} bytes)")
            }
            CodecError::InvalidChar { pos } => {
                write!(f, "invalid character at position {pos} of the parameter")
            }
            CodecError::BadLength { len } => write!(f, "parameter of unusable length {len}"),
            CodecError::ShorterThanCurrent { decoded, current } => write!(
                f,
                "decoded value ({decoded} bytes) shorter than the URI in the request ({current} bytes)"
            ),
            CodecError::Empty => write!(f, "restored URI is empty"),
            CodecError::NotUri(why) => write!(f, "{why} (parameter tampered or URI altered)"),
            CodecError::NotPrintable { pos } => write!(
                f,
                "restored URI has a non-printable byte at position {pos} (URI altered by an end point or parameter tampered)"
            ),
        }
    }
}

impl std::error::Error for CodecError {}

/// Builds the parameter value stored in Record-Route when `original` is replaced by
/// `new`.
pub fn encode(original: &[u8], new: &[u8], passwd: &[u8]) -> Result<String, CodecError> {
    if original.len() > MAX_URI_SIZE {
        return Err(CodecError::UriTooLong {
            which: "old",
            len: original.len(),
        });
    }
    if new.len() > MAX_URI_SIZE {
        return Err(CodecError::UriTooLong {
            which: "new",
            len: new.len(),
        });
    }
    let (long, short) = if original.len() > new.len() {
        (original, new)
    } else {
        (new, original)
    };
    let mut buf = long.to_vec();
    xor_prefix(&mut buf, short);
    xor_password(&mut buf, passwd);
    Ok(base64_dash(&buf))
}

/// Restores the other URI of the pair from the parameter value and the URI that the
/// in-dialog request carries now.
pub fn decode(param: &[u8], current: &[u8], passwd: &[u8]) -> Result<Vec<u8>, CodecError> {
    let buf = decode_printable(param, current, passwd)?;
    // Beyond the stock module: only a URI is ever written back (see
    // validate::check_restored_uri for why).
    super::validate::check_restored_uri(&buf).map_err(CodecError::NotUri)?;
    Ok(buf)
}

/// As [`decode`], for the OpenSIPS `uac` module, whose stock version encodes the
/// new URI as it writes it into the header, in angle brackets: the restored
/// value is a URI, or one URI in `<...>`.
pub fn decode_name_addr(
    param: &[u8],
    current: &[u8],
    passwd: &[u8],
) -> Result<Vec<u8>, CodecError> {
    let buf = decode_printable(param, current, passwd)?;
    let inner = buf
        .strip_prefix(b"<")
        .and_then(|b| b.strip_suffix(b">"))
        .unwrap_or(&buf);
    super::validate::check_restored_uri(inner).map_err(CodecError::NotUri)?;
    Ok(buf)
}

/// The decoded value, XORed with `current`, checked printable.
fn decode_printable(param: &[u8], current: &[u8], passwd: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut buf = unbase64_dash(param)?;
    xor_password(&mut buf, passwd);
    if buf.len() < current.len() {
        return Err(CodecError::ShorterThanCurrent {
            decoded: buf.len(),
            current: current.len(),
        });
    }
    for (i, c) in current.iter().enumerate() {
        buf[i] ^= c;
        if buf[i] == 0 {
            buf.truncate(i);
            break;
        }
    }
    if buf.is_empty() {
        return Err(CodecError::Empty);
    }
    if let Some(pos) = buf.iter().position(|&c| !(0x20..0x7f).contains(&c)) {
        return Err(CodecError::NotPrintable { pos });
    }
    Ok(buf)
}

fn xor_prefix(buf: &mut [u8], with: &[u8]) {
    for (b, w) in buf.iter_mut().zip(with) {
        *b ^= w;
    }
}

fn xor_password(buf: &mut [u8], passwd: &[u8]) {
    if passwd.is_empty() {
        return;
    }
    for (b, p) in buf.iter_mut().zip(passwd.iter().cycle()) {
        *b ^= p;
    }
}

fn base64_dash(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len().div_ceil(3) * 4);
    for chunk in src.chunks(3) {
        let block = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        let sextet = |shift: u32| ALPHABET[((block >> shift) & 0x3f) as usize] as char;
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 {
            sextet(6)
        } else {
            PAD as char
        });
        out.push(if chunk.len() > 2 {
            sextet(0)
        } else {
            PAD as char
        });
    }
    out
}

fn sextet_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as u32),
        b'a'..=b'z' => Some((c - b'a' + 26) as u32),
        b'0'..=b'9' => Some((c - b'0' + 52) as u32),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes like the stock module: trailing `-` are dropped and shorten the output;
/// a value whose length is not a multiple of four decodes what its characters hold.
fn unbase64_dash(src: &[u8]) -> Result<Vec<u8>, CodecError> {
    let pads = src.iter().rev().take_while(|&&c| c == PAD).count();
    let data = &src[..src.len() - pads];
    let out_len = (src.len() * 6 / 8).saturating_sub(pads);
    if data.is_empty() || out_len == 0 || out_len > MAX_URI_SIZE {
        return Err(CodecError::BadLength { len: src.len() });
    }
    let mut out = Vec::with_capacity(out_len);
    for (g, group) in data.chunks(4).enumerate() {
        let mut block = 0u32;
        for (j, &c) in group.iter().enumerate() {
            let v = sextet_value(c).ok_or(CodecError::InvalidChar { pos: g * 4 + j })?;
            block |= v << (18 - 6 * j);
        }
        // Every group yields three bytes, as far as out_len allows; with out_len
        // derived from the input length, the groups always cover it.
        for j in 0..3 {
            if out.len() < out_len {
                out.push((block >> (16 - 8 * j)) as u8);
            }
        }
    }
    debug_assert_eq!(out.len(), out_len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters written by the stock Kamailio 5.6.3 uac module (captured with
    /// tests/differential.rs): (original, new, restore_passwd, parameter).
    const STOCK_VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "sip:alice@a.example.com",
            "sip:anonymous@anonymous.invalid",
            "s3cr3t",
            "czNjcjN2dT5/Xz0vZQtjcSx2b3BvaC1aGl0VE18dFw--",
        ),
        ("sip:alice@a.example.com", "sip:a@b", "", "AAAAAAAsC2NlQGEuZXhhbXBsZS5jb20-"),
        (
            "sip:alice@a.example.com",
            "sip:a-much-longer-user-name+tag@a-much-longer-domain.example.org;user=phone",
            "",
            "AAAAAABBBBYGKExCChYGCAJBEF0GHUBuYW1lK3RhZ0BhLW11Y2gtbG9uZ2VyLWRvbWFpbi5leGFtcGxlLm9yZzt1c2VyPXBob25l",
        ),
        ("sip:alice@a.example.com", "sip:x@y.example", "pw", "cHdwd2lbYDpwT3A0ZWN0GgAbFVkTGB0-"),
        ("sip:bob@b.example.com", "sip:carrier@c.example.net", "pw", "cHdwd3F5YEV7PGdPcjRlY3Q0Y3R4WR4SBA--"),
    ];

    #[test]
    fn matches_stock_module_vectors() {
        for (orig, new, pw, param) in STOCK_VECTORS {
            let (orig, new, pw) = (orig.as_bytes(), new.as_bytes(), pw.as_bytes());
            assert_eq!(encode(orig, new, pw).unwrap(), *param);
            assert_eq!(decode(param.as_bytes(), orig, pw).unwrap(), new);
            assert_eq!(decode(param.as_bytes(), new, pw).unwrap(), orig);
        }
    }

    #[test]
    fn roundtrip_both_directions() {
        let orig = b"sip:alice@example.com";
        let new = b"sip:anonymous@anonymous.invalid";
        for pw in [&b""[..], b"secret"] {
            let p = encode(orig, new, pw).unwrap();
            assert_eq!(decode(p.as_bytes(), orig, pw).unwrap(), new);
            assert_eq!(decode(p.as_bytes(), new, pw).unwrap(), orig);
            let p = encode(new, orig, pw).unwrap();
            assert_eq!(decode(p.as_bytes(), orig, pw).unwrap(), new);
            assert_eq!(decode(p.as_bytes(), new, pw).unwrap(), orig);
        }
    }

    #[test]
    fn equal_length_uris() {
        let p = encode(b"sip:a@x", b"sip:b@y", b"").unwrap();
        assert_eq!(decode(p.as_bytes(), b"sip:a@x", b"").unwrap(), b"sip:b@y");
    }

    #[test]
    fn padding_uses_dash() {
        // 7 bytes -> 2 full groups + 1 byte: "==" becomes "--"
        let s = base64_dash(b"abcdefg");
        assert_eq!(s, "YWJjZGVmZw--");
        assert_eq!(unbase64_dash(s.as_bytes()).unwrap(), b"abcdefg");
        assert_eq!(base64_dash(b"ab"), "YWI-");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(unbase64_dash(b""), Err(CodecError::BadLength { len: 0 }));
        assert_eq!(
            unbase64_dash(b"----"),
            Err(CodecError::BadLength { len: 4 })
        );
        assert_eq!(
            unbase64_dash(b"ab=d"),
            Err(CodecError::InvalidChar { pos: 2 })
        );
        let long = vec![b'A'; 2000];
        assert!(matches!(
            unbase64_dash(&long),
            Err(CodecError::BadLength { .. })
        ));
        assert!(matches!(
            encode(&[b'a'; 1025], b"sip:x", b""),
            Err(CodecError::UriTooLong { .. })
        ));
        // truncated parameter: decoded value shorter than the request's URI
        let p = encode(b"sip:alice@example.com", b"sip:bob@example.com", b"").unwrap();
        assert!(matches!(
            decode(&p.as_bytes()[..8], b"sip:alice@example.com", b""),
            Err(CodecError::ShorterThanCurrent { .. })
        ));
        // a URI the pair does not know gives garbage, refused as non-printable or shorter
        assert!(decode(p.as_bytes(), b"sip:zzzzz@zzzzzzz.zzz", b"").is_err());
    }

    /// OpenSIPS pairs: the new URI is encoded as `<uri>`; restoring it gives it
    /// back with its brackets, restoring the old one gives the bare URI.
    #[test]
    fn name_addr_pairs() {
        let old = b"sip:alice@a.example.com";
        let new = b"<sip:anonymous@anonymous.invalid>";
        let p = encode(old, new, b"pw").unwrap();
        assert_eq!(decode_name_addr(p.as_bytes(), old, b"pw").unwrap(), new);
        assert_eq!(decode_name_addr(p.as_bytes(), new, b"pw").unwrap(), old);
        // plain decode refuses the bracketed value
        assert!(decode(p.as_bytes(), old, b"pw").is_err());
        // two pairs of brackets, or one unbalanced, are not a URI
        let p2 = encode(old, b"<<sip:x@y>>", b"").unwrap();
        assert!(decode_name_addr(p2.as_bytes(), old, b"").is_err());
    }

    /// A crafted parameter of zero bytes decodes to restore_passwd itself: the
    /// stock module writes that into From; we refuse it.
    #[test]
    fn tampered_parameter_never_yields_the_password() {
        let pw = b"Sup3rS3cretPassw0rd";
        let zeros = base64_dash(&[0u8; 48]);
        assert!(matches!(
            decode(zeros.as_bytes(), b".", pw),
            Err(CodecError::NotUri(_))
        ));
        let all_a = vec![b'A'; 64];
        assert!(decode(&all_a, b".", pw).is_err());
    }
}
