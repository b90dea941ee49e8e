//! Loading through db_sqlite costs one private-memory allocation per text
//! value (the driver copies each into pkg memory, and Kamailio's q_malloc
//! walks its free lists for every one): for a 15-column row that is most of
//! the load's CPU. The keyset pages therefore ask SQLite for the text columns
//! after the key packed into one value, which the driver copies once, and
//! unpack it here. Each column is `N` (NULL) or `T<bytes>:<value>`, so any
//! byte may appear in a value. Pure: no host types.

/// The SQL expression that packs `cols` (trusted identifiers) into one text
/// value.
pub fn packed_expr(cols: &[&str]) -> String {
    let parts: Vec<String> = cols
        .iter()
        .map(|c| {
            format!(
                "(CASE WHEN {c} IS NULL THEN 'N' ELSE 'T'||length(CAST({c} AS BLOB))||':'||{c} END)"
            )
        })
        .collect();
    if parts.is_empty() {
        "''".into()
    } else {
        parts.join("||")
    }
}

/// Unpacks what [`packed_expr`] made of `n` columns: None for a NULL, else
/// the value's bytes. None when `p` is not such a value (then the row is
/// taken as all NULL and skipped by the row checks).
pub fn unpack(mut p: &[u8], n: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match p.split_first()? {
            (b'N', rest) => {
                out.push(None);
                p = rest;
            }
            (b'T', rest) => {
                let colon = rest.iter().position(|&b| b == b':')?;
                let digits = &rest[..colon];
                if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let len: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
                let v = rest.get(colon + 1..colon + 1 + len)?;
                out.push(Some(v.to_vec()));
                p = &rest[colon + 1 + len..];
            }
            _ => return None,
        }
    }
    p.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let p = b"T5:aliceNT0:T3:a:bT4:x\0'y";
        assert_eq!(
            unpack(p, 5),
            Some(vec![
                Some(b"alice".to_vec()),
                None,
                Some(vec![]),
                Some(b"a:b".to_vec()),
                Some(b"x\0'y".to_vec()),
            ])
        );
        assert_eq!(unpack(b"", 0), Some(vec![]));
        // too short, too long, bad length, trailing bytes, wrong count
        for bad in [&b"T9:abc"[..], b"T3abc", b"Tx:a", b"T:a", b"X", b"T1:aT1:b"] {
            assert_eq!(unpack(bad, 1), None, "{:?}", bad);
        }
        assert_eq!(unpack(b"N", 2), None);
        let e = packed_expr(&["realm", "socket"]);
        assert!(e.starts_with("(CASE WHEN realm IS NULL THEN 'N'"), "{e}");
        assert!(e.contains("||(CASE WHEN socket IS NULL"), "{e}");
        assert_eq!(packed_expr(&[]), "''");
    }
}
