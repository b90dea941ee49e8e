//! Reading our parameter from the parameters of the Route URI that routed a
//! request to us (`;lr;ftag=...;vsf=...`).

/// The values of every `name=value` parameter in `params`, in order, unquoted.
pub fn param_values<'a>(params: &'a [u8], name: &[u8]) -> Vec<&'a [u8]> {
    split_params(params)
        .filter_map(|p| {
            let (n, v) = match p.iter().position(|&c| c == b'=') {
                Some(eq) => (trim(&p[..eq]), trim(&p[eq + 1..])),
                None => (trim(p), &p[p.len()..]),
            };
            (n == name).then_some(unquote(v))
        })
        .collect()
}

/// The parameters that follow a value inside a Route URI: `rest` starts right
/// after the value (as rr's get_route_param() returned it) and runs on through
/// the message; the URI ends at `>`, `,`, `?` or a line break.
pub fn rest_of_uri_params(rest: &[u8]) -> &[u8] {
    let rest = match rest.first() {
        Some(b'"' | b'\'') => &rest[1..], // the closing quote of a quoted value
        _ => rest,
    };
    let end = rest
        .iter()
        .position(|c| b">,?\r\n".contains(c))
        .unwrap_or(rest.len());
    &rest[..end]
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
    fn finds_values_in_order() {
        let p = b";lr;ftag=abc;vsf=AAAA--;vst=BBBB;vsf=CCCC";
        assert_eq!(param_values(p, b"vsf"), vec![&b"AAAA--"[..], b"CCCC"]);
        assert_eq!(param_values(p, b"vst"), vec![&b"BBBB"[..]]);
        assert!(param_values(p, b"vs").is_empty());
        assert_eq!(param_values(p, b"lr"), vec![&b""[..]]);
        assert_eq!(
            param_values(b"lr; vsf = \"x;y\" ;vsf=second", b"vsf"),
            vec![&b"x;y"[..], b"second"]
        );
    }

    #[test]
    fn rest_stops_at_the_end_of_the_uri() {
        let rest = b";vsf=second>;foo=bar\r\nMax-Forwards: 70\r\n";
        assert_eq!(rest_of_uri_params(rest), b";vsf=second");
        assert_eq!(rest_of_uri_params(b"\";vsf=x>"), b";vsf=x");
        assert_eq!(rest_of_uri_params(b">, <sip:b;vsf=y>"), b"");
    }
}
