//! What a registrar's reply to our REGISTER means for the account, and when the
//! next attempt is due. Pure: the host layer extracts the header values.

use super::account::{Field, RegField, Shape, MAX_EXPIRES};

/// The parts of a reply the decision needs (header bodies as received).
#[derive(Debug, Default, Clone)]
pub struct ReplyInfo<'a> {
    pub code: i32,
    pub contacts: Vec<&'a [u8]>,
    pub expires: Option<&'a [u8]>,
    pub min_expires: Option<&'a [u8]>,
    pub callid: &'a [u8],
    pub cseq: u32,
    /// Where the request went (None: not known, or no reply came).
    pub dst: Option<std::net::SocketAddr>,
    /// The socket it left from (empty: not known).
    pub socket: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 200 with our Contact: registered for this many seconds.
    Registered(u32),
    /// 200 to an unregister (expires 0).
    Unregistered,
    /// 401/407 to a request without credentials: answer the challenge.
    Answer,
    /// 423: try again with this expires.
    IntervalTooBrief(u32),
    /// Anything else: failed for this reason; retry later.
    Failed(String),
}

/// Splits a Contact header body into its contacts (commas inside quotes or
/// angle brackets do not split).
pub fn split_contacts(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => {
                out.push(trim(&body[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(trim(&body[start.min(body.len())..]));
    out.retain(|c| !c.is_empty());
    out
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &v[s..e]
}

/// (uri, params) of one contact.
fn contact_parts(c: &[u8]) -> (&[u8], &[u8]) {
    if let Some(lt) = c.iter().position(|&b| b == b'<') {
        let gt = c[lt..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(c.len(), |g| lt + g);
        (&c[lt + 1..gt], c.get(gt + 1..).unwrap_or(&[]))
    } else {
        let sc = c.iter().position(|&b| b == b';').unwrap_or(c.len());
        (&c[..sc], &c[sc..])
    }
}

/// The user part of a sip:/sips: URI.
pub fn uri_user(uri: &[u8]) -> Option<&[u8]> {
    let rest = uri
        .strip_prefix(b"sip:")
        .or_else(|| uri.strip_prefix(b"sips:"))?;
    let at = rest.iter().position(|&b| b == b'@')?;
    Some(&rest[..at])
}

/// (scheme, user info, host, port) of a SIP URI.
type UriParts<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// The parts of a SIP URI that name a binding, parameters and headers left
/// out.
fn uri_parts(uri: &[u8]) -> Option<UriParts<'_>> {
    let colon = uri.iter().position(|&b| b == b':')?;
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    let end = rest
        .iter()
        .position(|&b| b == b';' || b == b'?')
        .unwrap_or(rest.len());
    let rest = &rest[..end];
    let (user, hostport) = match rest.iter().rposition(|&b| b == b'@') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&[][..], rest),
    };
    let (host, port) = match hostport.iter().rposition(|&b| b == b':') {
        Some(i) if !hostport[i + 1..].contains(&b']') => (&hostport[..i], &hostport[i + 1..]),
        _ => (hostport, &[][..]),
    };
    (!host.is_empty()).then_some((scheme, user, host, port))
}

/// Whether two SIP URIs name the same binding (RFC 3261 19.1.4 as far as a
/// registrar's echo of a contact needs): scheme and host case-insensitive,
/// user info exact, the same port (an absent port only equals an absent
/// one); parameters and headers are not compared.
pub fn same_uri(a: &[u8], b: &[u8]) -> bool {
    match (uri_parts(trim(a)), uri_parts(trim(b))) {
        (Some((sa, ua, ha, pa)), Some((sb, ub, hb, pb))) => {
            sa.eq_ignore_ascii_case(sb) && ua == ub && ha.eq_ignore_ascii_case(hb) && pa == pb
        }
        _ => false,
    }
}

fn param<'a>(params: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    params.split(|&b| b == b';').find_map(|p| {
        let p = trim(p);
        let eq = p.iter().position(|&b| b == b'=')?;
        trim(&p[..eq])
            .eq_ignore_ascii_case(name)
            .then(|| trim(&p[eq + 1..]))
    })
}

/// A delta-seconds value (Expires, Min-Expires, the expires parameter):
/// `1*DIGIT` of any length (RFC 3261 25.1), a value beyond 2^32-1 taken as
/// 2^32-1 (a registrar granting "forever" did register us; the caller clamps
/// it to what was asked). Anything else (sign, letters, empty) is None.
pub fn delta_seconds(v: &[u8]) -> Option<u32> {
    let v = trim(v);
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, &d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

/// Whether a contact URI of a 200 is the account's own binding: the one
/// whose user part is the l_uuid (uacreg), the binding URI (registrant).
pub fn is_ours<'a>(shape: Shape, get: impl Fn(usize) -> &'a [u8], uri: &[u8]) -> bool {
    match shape {
        Shape::Uacreg => uri_user(uri) == Some(get(Field::LUuid as usize)),
        Shape::Registrant => same_uri(uri, get(RegField::Binding as usize)),
    }
}

/// How many bindings a reply lists (every contact of every Contact header).
pub fn binding_count(r: &ReplyInfo) -> usize {
    r.contacts.iter().map(|b| split_contacts(b).len()).sum()
}

/// Decides what a final reply means. `requested` is the expires we asked for;
/// `auth_sent` says whether this request already carried credentials. Our
/// contact is the one whose user part is `l_uuid` (uacreg).
pub fn decide(r: &ReplyInfo, l_uuid: &[u8], requested: u32, auth_sent: bool) -> Decision {
    decide_with(r, |uri| uri_user(uri) == Some(l_uuid), requested, auth_sent)
}

/// [`decide`] with `ours` telling which contact URI of a 200 is ours.
pub fn decide_with(
    r: &ReplyInfo,
    ours: impl Fn(&[u8]) -> bool,
    requested: u32,
    auth_sent: bool,
) -> Decision {
    match r.code {
        200..=299 => {
            if requested == 0 {
                return Decision::Unregistered;
            }
            let all: Vec<&[u8]> = r.contacts.iter().flat_map(|b| split_contacts(b)).collect();
            if all.is_empty() {
                return Decision::Failed(format!("{} without Contact", r.code));
            }
            for c in all {
                let (uri, params) = contact_parts(c);
                if !ours(uri) {
                    continue;
                }
                let granted = match param(params, b"expires") {
                    Some(v) => delta_seconds(v),
                    None => r.expires.and_then(delta_seconds),
                };
                return match granted {
                    None => Decision::Failed("no usable expires for our Contact".into()),
                    Some(0) => Decision::Failed("registrar granted expires 0".into()),
                    // A registrar may shorten the interval, not lengthen it
                    // (RFC 3261 10.3 step 7); a larger value is not trusted.
                    Some(g) => Decision::Registered(g.min(requested).min(MAX_EXPIRES)),
                };
            }
            Decision::Failed(format!("{} does not list our Contact", r.code))
        }
        401 | 407 => {
            if auth_sent {
                Decision::Failed("authentication failed".into())
            } else {
                Decision::Answer
            }
        }
        423 => {
            let min = r.min_expires.and_then(delta_seconds);
            match min {
                Some(m) if m > requested && m <= MAX_EXPIRES => Decision::IntervalTooBrief(m),
                Some(m) => Decision::Failed(format!("423 with unusable Min-Expires {m}")),
                None => {
                    Decision::IntervalTooBrief(requested.saturating_mul(2).clamp(1, MAX_EXPIRES))
                }
            }
        }
        c => Decision::Failed(format!("got sip response {c}")),
    }
}

/// When to refresh a registration granted `granted` seconds at `sent`. With
/// `percent` 1..99: at that fraction of the granted time. Else (0, the
/// default) as stock: `reg_timer_interval + 3` seconds before it expires, but
/// never in the first half of the interval (stock re-sends at every tick then).
pub fn refresh_at(sent: i64, granted: u32, timer_interval: u32, percent: u32) -> i64 {
    if (1..=99).contains(&percent) {
        return sent + (granted as i64 * percent as i64 / 100).max(1);
    }
    let margin = (timer_interval as i64 + 3).min(granted as i64 / 2);
    sent + granted as i64 - margin
}

/// Delay before retry number `fails` (1 = first failure): `retry` seconds
/// doubled with each further failure up to 32x (at least 300 s apart at most
/// once reached), plus up to a quarter of jitter drawn from `rand`, so that
/// accounts that failed together do not come back together.
pub fn backoff(retry: u32, fails: u32, rand: u32) -> u32 {
    let exp = fails.clamp(1, 6) - 1;
    let cap = (retry as u64 * 32).min((retry as u64).max(300));
    let base = ((retry as u64) << exp).min(cap).max(retry as u64);
    let jitter = if base >= 4 {
        rand as u64 % (base / 4 + 1)
    } else {
        0
    };
    (base + jitter).min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(contacts: &[&'static [u8]], expires: Option<&'static [u8]>) -> ReplyInfo<'static> {
        ReplyInfo {
            code: 200,
            contacts: contacts.to_vec(),
            expires,
            min_expires: None,
            ..Default::default()
        }
    }

    #[test]
    fn granted_expiry() {
        let r = ok(
            &[b"<sip:other@h>;expires=10, \"a,b\" <sip:u1@10.0.0.1:5060>;expires=120"],
            None,
        );
        assert_eq!(decide(&r, b"u1", 3600, false), Decision::Registered(120));
        let r = ok(&[b"<sip:u1@10.0.0.1>"], Some(b" 300 "));
        assert_eq!(decide(&r, b"u1", 3600, false), Decision::Registered(300));
        let r = ok(&[b"sip:u1@10.0.0.1;expires=60"], Some(b"300"));
        assert_eq!(decide(&r, b"u1", 3600, false), Decision::Registered(60));
        // more than asked: not trusted
        let r = ok(&[b"<sip:u1@h>;expires=4000000000"], None);
        assert_eq!(decide(&r, b"u1", 3600, false), Decision::Registered(3600));
        // beyond 2^32-1 (any number of digits): still a grant, clamped
        let r = ok(&[b"<sip:u1@h>;expires=99999999999999999999999"], None);
        assert_eq!(decide(&r, b"u1", 3600, false), Decision::Registered(3600));
        let r = ok(&[b"<sip:u1@h>"], Some(b"99999999999"));
        assert_eq!(decide(&r, b"u1", 60, false), Decision::Registered(60));
    }

    #[test]
    fn same_uri_compares_the_binding() {
        let b = b"sip:alice@127.0.0.1:5060";
        assert!(same_uri(b"sip:alice@127.0.0.1:5060", b));
        assert!(same_uri(b"SIP:alice@127.0.0.1:5060;transport=udp", b));
        assert!(same_uri(b"sip:alice@LOCALHOST", b"sip:alice@localhost"));
        assert!(!same_uri(b"sip:Alice@127.0.0.1:5060", b));
        assert!(!same_uri(b"sip:alice@127.0.0.1", b));
        assert!(!same_uri(b"sip:alice@127.0.0.2:5060", b));
        assert!(!same_uri(b"sip:bob@127.0.0.1:5060", b));
        assert!(!same_uri(b"garbage", b));
        assert!(same_uri(b"sip:[::1]:5070", b"sip:[::1]:5070"));
        assert!(!same_uri(b"sip:[::1]", b"sip:[::1]:5070"));
        let r = ReplyInfo {
            code: 200,
            contacts: vec![b"<sip:alice@127.0.0.1:5060>;expires=60"],
            ..Default::default()
        };
        assert_eq!(
            decide_with(&r, |u| same_uri(u, b), 120, false),
            Decision::Registered(60)
        );
    }

    #[test]
    fn delta_seconds_values() {
        assert_eq!(delta_seconds(b" 0 "), Some(0));
        assert_eq!(delta_seconds(b"4294967295"), Some(u32::MAX));
        assert_eq!(delta_seconds(b"4294967296"), Some(u32::MAX));
        assert_eq!(delta_seconds(b"000000000000000000042"), Some(42));
        for bad in [
            &b""[..],
            b" ",
            b"-1",
            b"+5",
            b"1.5",
            b"abc",
            b"12 3",
            b"0x10",
        ] {
            assert_eq!(delta_seconds(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn bad_200s_fail() {
        for r in [
            ok(&[], Some(b"60")),
            ok(&[b"<sip:other@h>;expires=60"], None),
            ok(&[b"<sip:u1@h>"], None),
            ok(&[b"<sip:u1@h>;expires=abc"], None),
            ok(&[b"<sip:u1@h>;expires=0"], None),
            ok(&[b"<sip:u1@h>;expires=-5"], None),
            ok(&[b"<sip:u1@h>"], Some(b"-1")),
            ok(&[b"<sip:u1@h>"], Some(b"0")),
            ok(&[b"<sip:u1@h>"], Some(b"never")),
        ] {
            assert!(
                matches!(decide(&r, b"u1", 60, false), Decision::Failed(_)),
                "{r:?}"
            );
        }
        assert_eq!(
            decide(&ok(&[], None), b"u1", 0, false),
            Decision::Unregistered
        );
    }

    #[test]
    fn challenges_and_423() {
        let r = ReplyInfo {
            code: 401,
            ..Default::default()
        };
        assert_eq!(decide(&r, b"u", 60, false), Decision::Answer);
        assert!(matches!(decide(&r, b"u", 60, true), Decision::Failed(_)));
        let r = ReplyInfo {
            code: 423,
            min_expires: Some(b"1800"),
            ..Default::default()
        };
        assert_eq!(
            decide(&r, b"u", 60, false),
            Decision::IntervalTooBrief(1800)
        );
        let r = ReplyInfo {
            code: 423,
            ..Default::default()
        };
        assert_eq!(decide(&r, b"u", 60, false), Decision::IntervalTooBrief(120));
        let r = ReplyInfo {
            code: 423,
            min_expires: Some(b"30"),
            ..Default::default()
        };
        assert!(matches!(decide(&r, b"u", 60, false), Decision::Failed(_)));
        // a Min-Expires beyond a year (or beyond 2^32-1) is not followed
        let r = ReplyInfo {
            code: 423,
            min_expires: Some(b"99999999999999"),
            ..Default::default()
        };
        assert!(matches!(decide(&r, b"u", 60, false), Decision::Failed(_)));
        let r = ReplyInfo {
            code: 503,
            ..Default::default()
        };
        assert!(matches!(decide(&r, b"u", 60, false), Decision::Failed(_)));
    }

    #[test]
    fn refresh_and_backoff() {
        assert_eq!(refresh_at(1000, 3600, 90, 0), 1000 + 3600 - 93);
        assert_eq!(refresh_at(1000, 10, 90, 0), 1005);
        assert_eq!(refresh_at(1000, 3600, 90, 80), 1000 + 2880);
        assert_eq!(refresh_at(1000, 1, 90, 50), 1001);
        assert_eq!(refresh_at(1000, 3600, 90, 100), 1000 + 3600 - 93);
        assert_eq!(backoff(10, 1, 0), 10);
        assert_eq!(backoff(10, 2, 0), 20);
        assert_eq!(backoff(10, 9, 0), 300);
        assert_eq!(backoff(1000, 9, 0), 1000);
        for r in 0..100 {
            let b = backoff(10, 1, r);
            assert!((10..=12).contains(&b));
        }
        assert!(
            (0..50)
                .map(|r| backoff(100, 1, r * 7))
                .collect::<std::collections::HashSet<_>>()
                .len()
                > 5
        );
    }
}
