//! `$uac_req(...)`: the request the script composes for uac_req_send(). Pure
//! Rust: keys, limits, checks, and the flat form that travels in shared memory
//! to whichever process receives the reply.

use crate::replace::rr_codec::MAX_URI_SIZE;

/// Flag bit: `apasswd` holds HA1.
pub const FL_HA1: u32 = 1;

/// The keys, numbered as in the stock module (its PV name numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    All = 0,
    Ruri = 1,
    Turi = 2,
    Furi = 3,
    Hdrs = 4,
    Body = 5,
    Ouri = 6,
    Method = 7,
    Evroute = 8,
    Auser = 9,
    Apasswd = 10,
    Callid = 11,
    Sock = 12,
    Evparam = 14,
    Evcode = 15,
    Evtype = 16,
    Flags = 17,
    /// Kamailio 6.1: the CSeq of the request (tm's default when 0).
    Cseqno = 18,
    /// Kamailio 6.1: the transaction's final-response timers, in tm's units
    /// (timer ticks of 1/16 s, as the stock module passes them), 0 = tm's.
    FrTimeout = 19,
    FrInvTimeout = 20,
    /// Kamailio 6.1: kept and readable, never sent (as the stock module).
    Ftag = 21,
    Ttag = 22,
}

/// What `$uac_req(all) = $null` keeps: Kamailio 5.6's module keeps `sock`
/// (with `auser` and `apasswd`), 6.1's clears it with the keys it added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetAll {
    KeepSock,
    ClearSock,
}

impl Key {
    pub fn parse(name: &[u8]) -> Option<Key> {
        Some(match name {
            b"all" => Key::All,
            b"ruri" => Key::Ruri,
            b"turi" => Key::Turi,
            b"furi" => Key::Furi,
            b"hdrs" => Key::Hdrs,
            b"body" => Key::Body,
            b"ouri" => Key::Ouri,
            b"method" => Key::Method,
            b"evroute" => Key::Evroute,
            b"auser" => Key::Auser,
            b"apasswd" => Key::Apasswd,
            b"callid" => Key::Callid,
            b"sock" => Key::Sock,
            b"evparam" => Key::Evparam,
            b"evcode" => Key::Evcode,
            b"evtype" => Key::Evtype,
            b"flags" => Key::Flags,
            b"cseqno" => Key::Cseqno,
            b"fr_timeout" => Key::FrTimeout,
            b"fr_inv_timeout" => Key::FrInvTimeout,
            b"ftag" => Key::Ftag,
            b"ttag" => Key::Ttag,
            _ => return None,
        })
    }

    pub fn from_number(n: i32) -> Option<Key> {
        const ALL: [Key; 22] = [
            Key::All,
            Key::Ruri,
            Key::Turi,
            Key::Furi,
            Key::Hdrs,
            Key::Body,
            Key::Ouri,
            Key::Method,
            Key::Evroute,
            Key::Auser,
            Key::Apasswd,
            Key::Callid,
            Key::Sock,
            Key::Evparam,
            Key::Evcode,
            Key::Evtype,
            Key::Flags,
            Key::Cseqno,
            Key::FrTimeout,
            Key::FrInvTimeout,
            Key::Ftag,
            Key::Ttag,
        ];
        ALL.into_iter().find(|k| *k as i32 == n)
    }

    /// Longest value accepted for a string key. The stock module's limits are
    /// 32 (method), 128 (callid, auser, evparam), 64 (apasswd), MAX_URI_SIZE,
    /// 2048 (hdrs), 32768 (body) and 128 (6.1's ftag, ttag); ours are at
    /// least as large.
    pub fn max_len(self) -> usize {
        match self {
            Key::Method => 32,
            Key::Callid => 255,
            Key::Auser | Key::Evparam | Key::Ftag | Key::Ttag => 255,
            Key::Apasswd => 255,
            Key::Hdrs => 16384,
            Key::Body => 65536,
            _ => MAX_URI_SIZE,
        }
    }

    pub fn is_int(self) -> bool {
        matches!(
            self,
            Key::Evroute
                | Key::Evcode
                | Key::Evtype
                | Key::Flags
                | Key::All
                | Key::Cseqno
                | Key::FrTimeout
                | Key::FrInvTimeout
        )
    }
}

/// A value set from the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Int(u32),
    Str(&'a [u8]),
}

/// What a key reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<'a> {
    Null,
    Int(u32),
    Str(&'a [u8]),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UacReq {
    pub method: Vec<u8>,
    pub ruri: Vec<u8>,
    pub turi: Vec<u8>,
    pub furi: Vec<u8>,
    pub ouri: Vec<u8>,
    pub hdrs: Vec<u8>,
    pub body: Vec<u8>,
    pub callid: Vec<u8>,
    pub sock: Vec<u8>,
    pub auser: Vec<u8>,
    pub apasswd: Vec<u8>,
    pub evparam: Vec<u8>,
    pub flags: u32,
    pub evroute: u32,
    pub evcode: u32,
    pub evtype: u32,
    pub cseqno: u32,
    pub fr_timeout: u32,
    pub fr_inv_timeout: u32,
    pub ftag: Vec<u8>,
    pub ttag: Vec<u8>,
}

impl UacReq {
    fn field(&mut self, k: Key) -> Option<&mut Vec<u8>> {
        Some(match k {
            Key::Method => &mut self.method,
            Key::Ruri => &mut self.ruri,
            Key::Turi => &mut self.turi,
            Key::Furi => &mut self.furi,
            Key::Ouri => &mut self.ouri,
            Key::Hdrs => &mut self.hdrs,
            Key::Body => &mut self.body,
            Key::Callid => &mut self.callid,
            Key::Sock => &mut self.sock,
            Key::Auser => &mut self.auser,
            Key::Apasswd => &mut self.apasswd,
            Key::Evparam => &mut self.evparam,
            Key::Ftag => &mut self.ftag,
            Key::Ttag => &mut self.ttag,
            _ => return None,
        })
    }

    fn int(&mut self, k: Key) -> Option<&mut u32> {
        Some(match k {
            Key::Flags | Key::All => &mut self.flags,
            Key::Evroute => &mut self.evroute,
            Key::Evcode => &mut self.evcode,
            Key::Evtype => &mut self.evtype,
            Key::Cseqno => &mut self.cseqno,
            Key::FrTimeout => &mut self.fr_timeout,
            Key::FrInvTimeout => &mut self.fr_inv_timeout,
            _ => return None,
        })
    }

    pub fn get(&mut self, k: Key) -> Read<'_> {
        if let Some(i) = self.int(k) {
            return Read::Int(*i);
        }
        match self.field(k) {
            Some(v) if !v.is_empty() => Read::Str(v),
            _ => Read::Null,
        }
    }

    /// Sets a key. `$uac_req(all) = $null` resets everything except auser,
    /// apasswd and sock, as Kamailio 5.6's module does.
    pub fn set(&mut self, k: Key, v: Value) -> Result<(), String> {
        self.set_with(k, v, ResetAll::KeepSock)
    }

    /// Sets a key; `reset` says what `$uac_req(all) = $null` keeps besides
    /// auser and apasswd.
    pub fn set_with(&mut self, k: Key, v: Value, reset: ResetAll) -> Result<(), String> {
        if k == Key::All {
            if v != Value::Null {
                return Ok(()); // the stock module ignores a non-null value here
            }
            let keep = (
                std::mem::take(&mut self.auser),
                std::mem::take(&mut self.apasswd),
                std::mem::take(&mut self.sock),
            );
            *self = UacReq {
                auser: keep.0,
                apasswd: keep.1,
                sock: if reset == ResetAll::KeepSock {
                    keep.2
                } else {
                    Vec::new()
                },
                ..UacReq::default()
            };
            return Ok(());
        }
        if let Some(i) = self.int(k) {
            *i = match v {
                Value::Null => 0,
                Value::Int(n) => n,
                Value::Str(_) => {
                    return Err(format!(
                        "$uac_req({k:?}): invalid value type (integer expected)"
                    ))
                }
            };
            return Ok(());
        }
        let max = k.max_len();
        let f = self.field(k).ok_or("unknown key")?;
        match v {
            Value::Null => f.clear(),
            Value::Int(_) => {
                return Err(format!(
                    "$uac_req({k:?}): invalid value type (string expected)"
                ))
            }
            Value::Str(s) => {
                if s.len() > max {
                    return Err(format!(
                        "$uac_req({k:?}): value too big ({} > {max} bytes)",
                        s.len()
                    ));
                }
                // A copy first: `$uac_req(ruri) = $uac_req(ruri)` hands us a slice
                // of this very buffer.
                *f = s.to_vec();
            }
        }
        Ok(())
    }

    /// What must hold before sending, and the one change made to what is sent:
    /// `hdrs` without its final CRLF gets one (tm sends the header block as
    /// given, so a missing CRLF would run into the next header).
    pub fn prepare_for_send(&mut self) -> Result<(), String> {
        if self.method.is_empty() {
            return Err("$uac_req(method) is not set".into());
        }
        if self.ruri.is_empty() {
            return Err("$uac_req(ruri) is not set".into());
        }
        if !self
            .method
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(c))
        {
            return Err("$uac_req(method) is not a SIP token".into());
        }
        for (name, uri) in [("ruri", &self.ruri), ("ouri", &self.ouri)] {
            if !uri.is_empty() {
                check_uri(uri).map_err(|e| format!("$uac_req({name}): {e}"))?;
            }
        }
        for (name, v) in [("furi", &self.furi), ("turi", &self.turi)] {
            if !v.is_empty() {
                check_uri_or_name_addr(v).map_err(|e| format!("$uac_req({name}): {e}"))?;
            }
        }
        if !self.callid.is_empty() {
            check_callid(&self.callid)?;
        }
        check_hdrs(&self.hdrs)?;
        if !self.hdrs.is_empty() && !self.hdrs.ends_with(b"\r\n") {
            self.hdrs.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    /// A flat byte form for shared memory: each string as (u32 length, bytes),
    /// then the integers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let strs = self.strings();
        let mut out = Vec::with_capacity(strs.iter().map(|s| s.len() + 4).sum::<usize>() + 16);
        for s in strs {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s);
        }
        for i in self.ints() {
            out.extend_from_slice(&i.to_le_bytes());
        }
        out
    }

    fn ints(&self) -> [u32; 7] {
        [
            self.flags,
            self.evroute,
            self.evcode,
            self.evtype,
            self.cseqno,
            self.fr_timeout,
            self.fr_inv_timeout,
        ]
    }

    pub fn from_bytes(b: &[u8]) -> Option<UacReq> {
        let mut r = UacReq::default();
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = b.get(at..at.checked_add(n)?)?;
            at += n;
            Some(s)
        };
        let mut strs: Vec<Vec<u8>> = Vec::with_capacity(14);
        for _ in 0..14 {
            let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            strs.push(take(len)?.to_vec());
        }
        let mut ints = [0u32; 7];
        for i in &mut ints {
            *i = u32::from_le_bytes(take(4)?.try_into().ok()?);
        }
        let mut it = strs.into_iter();
        for f in [
            &mut r.method,
            &mut r.ruri,
            &mut r.turi,
            &mut r.furi,
            &mut r.ouri,
            &mut r.hdrs,
            &mut r.body,
            &mut r.callid,
            &mut r.sock,
            &mut r.auser,
            &mut r.apasswd,
            &mut r.evparam,
            &mut r.ftag,
            &mut r.ttag,
        ] {
            *f = it.next()?;
        }
        [
            r.flags,
            r.evroute,
            r.evcode,
            r.evtype,
            r.cseqno,
            r.fr_timeout,
            r.fr_inv_timeout,
        ] = ints;
        Some(r)
    }

    fn strings(&self) -> [&Vec<u8>; 14] {
        [
            &self.method,
            &self.ruri,
            &self.turi,
            &self.furi,
            &self.ouri,
            &self.hdrs,
            &self.body,
            &self.callid,
            &self.sock,
            &self.auser,
            &self.apasswd,
            &self.evparam,
            &self.ftag,
            &self.ttag,
        ]
    }
}

/// A Call-ID goes on the wire as given, so refuse only what would break the
/// message: line breaks, NUL and white space (Kamailio's parser takes the rest,
/// e.g. `=`, which RFC 3261's word does not allow).
pub fn check_callid(c: &[u8]) -> Result<(), String> {
    match c
        .iter()
        .position(|&ch| matches!(ch, b'\r' | b'\n' | 0 | b' ' | b'\t'))
    {
        None => Ok(()),
        Some(p) => Err(format!(
            "$uac_req(callid) has a line break, NUL or white space at position {p}"
        )),
    }
}

/// Extra headers: whole lines separated by CRLF. Refused: NUL, a CR or LF that
/// is not part of a CRLF, and an empty line (it would end the header block and
/// turn the rest into the body: an injection).
pub fn check_hdrs(h: &[u8]) -> Result<(), String> {
    if let Some(p) = h.iter().position(|&c| c == 0) {
        return Err(format!("$uac_req(hdrs) has a NUL at position {p}"));
    }
    let mut line_start = 0;
    let mut i = 0;
    while i < h.len() {
        match h[i] {
            b'\r' if h.get(i + 1) == Some(&b'\n') => {
                if i == line_start {
                    return Err(format!(
                        "$uac_req(hdrs) has an empty line at position {i} (it would end the headers)"
                    ));
                }
                i += 2;
                line_start = i;
            }
            b'\r' | b'\n' => {
                return Err(format!(
                    "$uac_req(hdrs) has a line break that is not CRLF at position {i}"
                ))
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// A From/To value as tm takes it: a URI, or a name-addr (`"Alice" <sip:a@x>`,
/// `<sip:a@x>`), which tm writes as given when it ends with `>`.
fn check_uri_or_name_addr(v: &[u8]) -> Result<(), String> {
    if !v.ends_with(b">") {
        return check_uri(v);
    }
    let open = v
        .iter()
        .rposition(|&c| c == b'<')
        .ok_or("name-addr has '>' without '<'")?;
    let display = v[..open].trim_ascii();
    if !display.is_empty() {
        crate::replace::validate::check_display(display)?;
    }
    check_uri(&v[open + 1..v.len() - 1])
}

fn check_uri(u: &[u8]) -> Result<(), String> {
    crate::replace::validate::check_uri(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_limits() {
        assert_eq!(Key::parse(b"ruri"), Some(Key::Ruri));
        assert_eq!(Key::parse(b"evparam"), Some(Key::Evparam));
        assert_eq!(Key::parse(b"nope"), None);
        assert_eq!(Key::from_number(12), Some(Key::Sock));
        assert_eq!(Key::from_number(13), None);
        // Kamailio 6.1's numbers
        assert_eq!(Key::parse(b"cseqno"), Some(Key::Cseqno));
        assert_eq!(Key::from_number(18), Some(Key::Cseqno));
        assert_eq!(Key::from_number(19), Some(Key::FrTimeout));
        assert_eq!(Key::from_number(20), Some(Key::FrInvTimeout));
        assert_eq!(Key::from_number(21), Some(Key::Ftag));
        assert_eq!(Key::from_number(22), Some(Key::Ttag));
        assert!(Key::FrTimeout.is_int() && !Key::Ftag.is_int());
        let mut r = UacReq::default();
        assert!(
            r.set(Key::Body, Value::Str(&vec![b'x'; 32768])).is_ok(),
            "stock limit is 32768"
        );
        assert!(r
            .set(Key::Body, Value::Str(&vec![b'x'; 65537]))
            .unwrap_err()
            .contains("too big"));
        assert!(
            r.set(Key::Hdrs, Value::Str(&vec![b'x'; 4096])).is_ok(),
            "stock limit is 2048"
        );
        assert!(r.set(Key::Method, Value::Int(3)).is_err());
        assert!(r.set(Key::Evroute, Value::Str(b"1")).is_err());
    }

    #[test]
    fn reset_keeps_credentials_like_stock() {
        let mut r = UacReq::default();
        r.set(Key::Method, Value::Str(b"OPTIONS")).unwrap();
        r.set(Key::Auser, Value::Str(b"alice")).unwrap();
        r.set(Key::Evroute, Value::Int(1)).unwrap();
        r.set(Key::All, Value::Null).unwrap();
        assert_eq!(r.get(Key::Method), Read::Null);
        assert_eq!(r.get(Key::Evroute), Read::Int(0));
        assert_eq!(r.get(Key::Auser), Read::Str(b"alice"));
    }

    #[test]
    fn reset_of_61_clears_sock_and_its_keys() {
        let fill = |r: &mut UacReq| {
            r.set(Key::Sock, Value::Str(b"udp:127.0.0.1:5060")).unwrap();
            r.set(Key::Auser, Value::Str(b"alice")).unwrap();
            r.set(Key::Ftag, Value::Str(b"ft")).unwrap();
            r.set(Key::Cseqno, Value::Int(7)).unwrap();
            r.set(Key::FrTimeout, Value::Int(48)).unwrap();
        };
        let mut r = UacReq::default();
        fill(&mut r);
        r.set_with(Key::All, Value::Null, ResetAll::ClearSock)
            .unwrap();
        assert_eq!(r.get(Key::Sock), Read::Null);
        assert_eq!(r.get(Key::Ftag), Read::Null);
        assert_eq!(r.get(Key::Cseqno), Read::Int(0));
        assert_eq!(r.get(Key::FrTimeout), Read::Int(0));
        assert_eq!(r.get(Key::Auser), Read::Str(b"alice"));
        let mut r = UacReq::default();
        fill(&mut r);
        r.set_with(Key::All, Value::Null, ResetAll::KeepSock)
            .unwrap();
        assert_eq!(r.get(Key::Sock), Read::Str(b"udp:127.0.0.1:5060"));
        assert_eq!(r.get(Key::Ftag), Read::Null);
    }

    #[test]
    fn callid_and_sendable() {
        assert!(check_callid(b"abc-123@host.example").is_ok());
        assert!(
            check_callid(b"key=value@host").is_ok(),
            "Kamailio accepts '='"
        );
        assert!(check_callid(b"a b").is_err());
        assert!(check_callid(b"a\tb").is_err());
        assert!(check_callid(b"x\r\nY: z").is_err());
        assert!(check_callid(b"x\0y").is_err());
        let mut r = UacReq::default();
        assert!(r.prepare_for_send().unwrap_err().contains("method"));
        r.set(Key::Method, Value::Str(b"OPTIONS")).unwrap();
        assert!(r.prepare_for_send().unwrap_err().contains("ruri"));
        r.set(Key::Ruri, Value::Str(b"sip:x@127.0.0.1")).unwrap();
        assert!(r.prepare_for_send().is_ok());
        // a bad Call-ID is kept but refused at send time
        r.set(Key::Callid, Value::Str(b"bad id")).unwrap();
        assert!(r.prepare_for_send().unwrap_err().contains("white space"));
        r.set(Key::Callid, Value::Null).unwrap();
        r.set(Key::Ruri, Value::Str(b"not a uri")).unwrap();
        assert!(r.prepare_for_send().is_err());
    }

    #[test]
    fn hdrs_completed_and_injection_refused() {
        let mut r = UacReq::default();
        r.set(Key::Method, Value::Str(b"OPTIONS")).unwrap();
        r.set(Key::Ruri, Value::Str(b"sip:x@127.0.0.1")).unwrap();
        r.set(Key::Hdrs, Value::Str(b"Subject: hi")).unwrap();
        r.prepare_for_send().unwrap();
        assert_eq!(r.hdrs, b"Subject: hi\r\n");
        r.prepare_for_send().unwrap();
        assert_eq!(r.hdrs, b"Subject: hi\r\n", "a complete block is left alone");
        for bad in [
            &b"X: 1\r\n\r\nY: 2\r\n"[..],
            b"\r\nX: 1\r\n",
            b"X: 1\nY: 2\r\n",
            b"X: 1\rY: 2",
            b"X: \0\r\n",
        ] {
            r.set(Key::Hdrs, Value::Str(bad)).unwrap();
            assert!(r.prepare_for_send().is_err(), "{:?}", bad);
        }
    }

    #[test]
    fn from_to_as_name_addr() {
        assert!(check_uri_or_name_addr(b"sip:alice@example.com").is_ok());
        assert!(check_uri_or_name_addr(b"\"Alice\" <sip:alice@example.com>").is_ok());
        assert!(check_uri_or_name_addr(b"<sip:bob@example.net>").is_ok());
        assert!(check_uri_or_name_addr(b"Alice <sip:alice@example.com>").is_ok());
        assert!(check_uri_or_name_addr(b"sip:a@x>").is_err());
        assert!(check_uri_or_name_addr(b"<not a uri>").is_err());
        assert!(check_uri_or_name_addr(b"\"A\r\nX: y\" <sip:a@x>").is_err());
    }

    #[test]
    fn flat_form_roundtrip() {
        let mut r = UacReq::default();
        r.set(Key::Method, Value::Str(b"MESSAGE")).unwrap();
        r.set(Key::Ruri, Value::Str(b"sip:bob@x")).unwrap();
        r.set(Key::Body, Value::Str(b"hello")).unwrap();
        r.set(Key::Evroute, Value::Int(1)).unwrap();
        r.set(Key::Flags, Value::Int(FL_HA1)).unwrap();
        r.set(Key::Ttag, Value::Str(b"tt")).unwrap();
        r.set(Key::FrInvTimeout, Value::Int(160)).unwrap();
        r.set(Key::Cseqno, Value::Int(42)).unwrap();
        let b = r.to_bytes();
        assert_eq!(UacReq::from_bytes(&b), Some(r));
        assert_eq!(UacReq::from_bytes(&b[..b.len() - 1]), None);
    }
}
