//! Reading our parameter from the parameters of the Route URI that the rr module
//! matched (`;lr;ftag=...;vsf=...`).

/// The value of the last `name=value` parameter, unquoted. The last one wins so
/// that a second `uac_replace_*` on the same request, which adds a newer parameter
/// after the first, is the one restored. Messages written by the stock module carry
/// a single parameter, for which first and last are the same.
pub fn last_param_value<'a>(params: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    split_params(params)
        .filter_map(|p| {
            let (n, v) = match p.iter().position(|&c| c == b'=') {
                Some(eq) => (trim(&p[..eq]), trim(&p[eq + 1..])),
                None => (trim(p), &p[p.len()..]),
            };
            (n == name).then_some(unquote(v))
        })
        .last()
}

fn split_params(params: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    let mut prev = 0u8;
    params
        .split(move |&c| {
            if (c == b'"' || c == b'\'') && prev != b'\\' {
                quoted = !quoted;
            }
            prev = c;
            c == b';' && !quoted
        })
        .filter(|p| !p.is_empty())
}

fn trim(s: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| *c == b' ' || *c == b'\t';
    let start = s.iter().position(|c| !is_ws(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !is_ws(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [q, inner @ .., q2] if (*q == b'"' || *q == b'\'') && q == q2 => inner,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_value() {
        let p = b";lr;ftag=abc;vsf=AAAA--;vst=BBBB";
        assert_eq!(last_param_value(p, b"vsf"), Some(&b"AAAA--"[..]));
        assert_eq!(last_param_value(p, b"vst"), Some(&b"BBBB"[..]));
        assert_eq!(last_param_value(p, b"vs"), None);
        assert_eq!(last_param_value(p, b"lr"), Some(&b""[..]));
    }

    #[test]
    fn last_wins_and_quotes() {
        let p = b"lr; vsf = \"x;y\" ;vsf=second";
        assert_eq!(last_param_value(p, b"vsf"), Some(&b"second"[..]));
        assert_eq!(
            last_param_value(b"lr;vsf=\"x;y\"", b"vsf"),
            Some(&b"x;y"[..])
        );
    }
}
