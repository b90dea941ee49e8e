//! Remote-Party-ID from the rpid AVP (OpenSIPS auth's `append_rpid_hf` and
//! `is_rpid_user_e164`): the AVP is what auth_db's `load_credentials` (or
//! the script) put there after an authentication.

use crate::ports::message::EditMessage;
use crate::ports::values::Avps;
use crate::{dbg, err};

/// `Remote-Party-ID: <prefix><rpid><suffix>` with its CRLF.
pub fn rpid_header(prefix: &[u8], rpid: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut h = b"Remote-Party-ID: ".to_vec();
    for p in [prefix, rpid, suffix, b"\r\n"] {
        h.extend_from_slice(p);
    }
    h
}

/// The rpid AVP's value, when the AVP is configured and holds a string.
fn rpid_value<P: Avps>(p: &P, avp: Option<&P::Name>) -> Result<Option<Vec<u8>>, ()> {
    let Some(name) = avp else {
        err!("rpid avp not defined");
        return Err(());
    };
    let v = p.first_avp(name).filter(|v| !v.is_empty());
    if v.is_none() {
        dbg!("no rpid AVP, or an empty or non-string one");
    }
    Ok(v)
}

/// append_rpid_hf([prefix, suffix]): appends the header built from the rpid
/// AVP (the module's rpid_prefix/rpid_suffix unless given). False when
/// there is no AVP or the header cannot be added.
pub fn append_rpid_hf<P: Avps>(
    p: &P,
    msg: &P::Msg,
    avp: Option<&P::Name>,
    prefix: &[u8],
    suffix: &[u8],
) -> bool {
    let Ok(Some(rpid)) = rpid_value(p, avp) else {
        return false;
    };
    if let Err(e) = msg.append_header(&rpid_header(prefix, &rpid, suffix)) {
        err!("can't insert lump: {e}");
        return false;
    }
    true
}

/// is_rpid_user_e164(): the user of the rpid AVP's URI (a name-addr's URI,
/// or the value itself) is `+` and 2 to 15 digits.
pub fn is_rpid_user_e164<P: Avps>(p: &P, avp: Option<&P::Name>) -> bool {
    let Ok(Some(rpid)) = rpid_value(p, avp) else {
        return false;
    };
    match uri_user(&rpid) {
        Some(u) => is_e164(u),
        None => {
            err!("failed to parse RPID URI");
            false
        }
    }
}

/// The URI of a name-addr (`"Name" <uri>`: a `<` outside quotes), or the
/// value itself.
fn addr_uri(v: &[u8]) -> Option<&[u8]> {
    let mut quoted = false;
    for (i, &c) in v.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'<' if !quoted => {
                let rest = &v[i + 1..];
                let end = rest.iter().position(|&c| c == b'>')?;
                return Some(&rest[..end]);
            }
            _ => {}
        }
    }
    Some(v.trim_ascii())
}

/// The user part of a sip:, sips: or tel: URI (tel: the number).
pub fn uri_user(v: &[u8]) -> Option<&[u8]> {
    let uri = addr_uri(v)?;
    let colon = uri.iter().position(|&c| c == b':')?;
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    let rest_end = rest
        .iter()
        .position(|&c| c == b';' || c == b'?')
        .unwrap_or(rest.len());
    if scheme.eq_ignore_ascii_case(b"tel") {
        return Some(&rest[..rest_end]);
    }
    if !scheme.eq_ignore_ascii_case(b"sip") && !scheme.eq_ignore_ascii_case(b"sips") {
        return None;
    }
    let Some(at) = rest.iter().position(|&c| c == b'@') else {
        return Some(&[]);
    };
    let userinfo = &rest[..at];
    Some(userinfo.split(|&c| c == b':').next().unwrap_or(userinfo))
}

/// `+` then 2 to 15 digits (the core's is_e164).
pub fn is_e164(user: &[u8]) -> bool {
    match user.split_first() {
        Some((b'+', d)) => (2..=15).contains(&d.len()) && d.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::mock::MockMsg;
    use crate::ports::mock_proxy::MockProxy;
    use crate::ports::values::Avps;

    #[test]
    fn users_and_e164() {
        assert_eq!(
            uri_user(b"sip:+4930123@a.b;user=phone"),
            Some(&b"+4930123"[..])
        );
        assert_eq!(
            uri_user(b"\"A <x>\" <sips:+12:pw@h>;party=calling"),
            Some(&b"+12"[..])
        );
        assert_eq!(uri_user(b"tel:+4930123;ext=1"), Some(&b"+4930123"[..]));
        assert_eq!(uri_user(b"sip:host.only"), Some(&b""[..]));
        assert_eq!(uri_user(b"mailto:x@y"), None);
        assert!(is_e164(b"+12"));
        assert!(is_e164(b"+123456789012345"));
        assert!(!is_e164(b"+1"));
        assert!(!is_e164(b"+1234567890123456"));
        assert!(!is_e164(b"4930123"));
        assert!(!is_e164(b"+49a0"));
        assert_eq!(
            rpid_header(b"", b"<sip:+49@x>", b";party=calling"),
            b"Remote-Party-ID: <sip:+49@x>;party=calling\r\n"
        );
    }

    #[test]
    fn from_the_avp() {
        let p = MockProxy::default();
        let name = "rpid";
        let m = MockMsg::new("INVITE sip:b@h SIP/2.0\r\nFrom: <sip:a@h>;tag=1\r\n\r\n");
        // no AVP module parameter, no value: false, nothing added
        assert!(!append_rpid_hf(&p, &m, None, b"", b""));
        assert!(!append_rpid_hf(&p, &m, Some(&name), b"", b""));
        assert!(!is_rpid_user_e164(&p, Some(&name)));
        p.add_avp(&name, b"<sip:+4930123@h>");
        assert!(is_rpid_user_e164(&p, Some(&name)));
        assert!(append_rpid_hf(
            &p,
            &m,
            Some(&name),
            b"\"Alice\" ",
            b";screen=yes"
        ));
        assert!(m
            .sent()
            .contains("Remote-Party-ID: \"Alice\" <sip:+4930123@h>;screen=yes\r\n"));
        p.add_avp(&name, b"sip:alice@h");
        assert!(!is_rpid_user_e164(&p, Some(&name)));
    }
}
