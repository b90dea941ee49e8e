//! The digest client: answering a 401/407. Every place that answers a
//! challenge goes through here: uac_auth() in a failure route (Kamailio and
//! OpenSIPS uac), a remote registration's challenged REGISTER, a request sent
//! with uac_req_send(), and OpenSIPS's uac_auth API for other modules.
//!
//! The steps: read the challenges of the reply, order them by the caller's
//! policy, take the first we implement and hold credentials for, refuse a
//! challenge that repeats a nonce the request already answered, compute the
//! response and build the (Proxy-)Authorization line.

use crate::digest::challenge::{parse_header, Algorithm, Challenge, ParseError, Qop};
use crate::digest::credentials::select;
use crate::digest::response::{answer, authorization_header, new_cnonce, RequestInfo, Secret};
use crate::digest::stored_secret::secret_of;
use crate::ports::message::{EditMessage, Header, SipMessage};
use crate::ports::transaction::Transactions;

/// Which challenge of several is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// RFC 8760 §2.4: the topmost one we support (Kamailio).
    AsOffered,
    /// The strongest algorithm first, the server's order among equals
    /// (OpenSIPS uac_auth()).
    StrongestFirst,
}

/// How a caller wants challenges answered.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub order: Order,
    /// Only these algorithms (OpenSIPS `uac_auth("MD5,SHA-256")`); None: all.
    pub allowed: Option<&'a [Algorithm]>,
    /// Refuse a -sess challenge without qop (OpenSIPS: stock crashes on it,
    /// we refuse it with a log line).
    pub sess_needs_qop: bool,
    /// The request as it went out: a challenge that repeats a (realm, nonce)
    /// this request already answered means the credentials were refused, and
    /// answering again would loop on them.
    pub sent: Option<&'a [u8]>,
}

impl Policy<'_> {
    /// Kamailio's uac: topmost supported, any algorithm.
    pub const AS_OFFERED: Policy<'static> = Policy {
        order: Order::AsOffered,
        allowed: None,
        sess_needs_qop: false,
        sent: None,
    };
}

/// The secret of a credential as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Password(Vec<u8>),
    Ha1(Vec<u8>),
    /// OpenSIPS's convention: `0x<HA1 in hex>` is an HA1 (for the challenge's
    /// algorithm), anything else the password.
    PasswordOrHexHa1(Vec<u8>),
}

/// What the lookup gives for a challenge's realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub user: Vec<u8>,
    pub secret: Stored,
}

/// An answered challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The whole header line, CRLF included.
    pub header: Vec<u8>,
    pub realm: String,
    /// The challenge said stale=true.
    pub stale: bool,
    pub proxy: bool,
    pub qop: Option<Qop>,
}

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The reply is not a 401/407.
    NotChallenge(i32),
    /// A 401/407 without any challenge header.
    NoHeader(&'static str),
    /// The message's headers could not be read.
    Message(String),
    /// No challenge could be picked: none supported, none with credentials,
    /// all malformed (the reason).
    Refused(String),
    /// The picked challenge could not be answered (the reason).
    Unanswerable(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotChallenge(c) => write!(f, "reply is not an auth request (code {c})"),
            ClientError::NoHeader(h) => write!(f, "reply has no auth hdr ({h})"),
            ClientError::Message(e) | ClientError::Refused(e) | ClientError::Unanswerable(e) => {
                f.write_str(e)
            }
        }
    }
}

/// Every challenge of the header values, in order (a value may hold several).
pub fn challenges(values: &[&[u8]]) -> Vec<Result<Challenge, ParseError>> {
    let mut out = Vec::new();
    for v in values {
        match parse_header(v) {
            Ok(list) => out.extend(list),
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

fn rank(a: Algorithm) -> u8 {
    match a {
        Algorithm::Sha512 | Algorithm::Sha512Sess => 4,
        Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        Algorithm::Md5 | Algorithm::Md5Sess => 1,
    }
}

/// The challenges in the order they are tried: algorithms outside `allowed`
/// become unsupported (kept for the failure reason), and with
/// [`Order::StrongestFirst`] the strongest algorithm goes first (a stable
/// sort: the server's order among equals).
pub fn ordered(
    mut all: Vec<Result<Challenge, ParseError>>,
    policy: &Policy,
) -> Vec<Result<Challenge, ParseError>> {
    if let Some(list) = policy.allowed {
        for c in all.iter_mut().flatten() {
            if let Ok(a) = &c.algorithm {
                if !list.contains(a) {
                    c.algorithm = Err(format!("{} (not in the uac_auth() list)", a.name()));
                }
            }
        }
    }
    if policy.order == Order::StrongestFirst {
        all.sort_by_key(|c| match c {
            Ok(Challenge {
                algorithm: Ok(a), ..
            }) => std::cmp::Reverse(rank(*a)),
            _ => std::cmp::Reverse(0),
        });
    }
    all
}

/// The (realm, nonce) pairs the request already answered: its Authorization
/// and Proxy-Authorization headers (their values have a challenge's shape).
pub fn answered_nonces(sent: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let head = sent
        .split(|&c| c == b'\n')
        .take_while(|l| !l.is_empty() && *l != b"\r");
    head.filter_map(|line| {
        let colon = line.iter().position(|&c| c == b':')?;
        let name = line[..colon].trim_ascii();
        if !name.eq_ignore_ascii_case(b"authorization")
            && !name.eq_ignore_ascii_case(b"proxy-authorization")
        {
            return None;
        }
        let mut parsed = parse_header(&line[colon + 1..]).ok()?;
        parsed
            .pop()?
            .ok()
            .map(|c| (c.realm.into_bytes(), c.nonce.into_bytes()))
    })
    .collect()
}

/// The body of a request as it was sent (what auth-int hashes).
pub fn sent_body(sent: &[u8]) -> &[u8] {
    sent.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[], |p| &sent[p + 4..])
}

/// Answers the challenges in `values` (the challenge headers of a 401, or of
/// a 407 when `proxy`) for the request `req`.
pub fn answer_values(
    values: &[&[u8]],
    proxy: bool,
    policy: &Policy,
    mut lookup: impl FnMut(&Challenge) -> Option<Creds>,
    req: &RequestInfo,
) -> Result<Answered, ClientError> {
    let all = ordered(challenges(values), policy);
    let (ch, creds) =
        select(all, |c| lookup(c)).map_err(|e| ClientError::Refused(e.to_string()))?;
    let alg = ch.algorithm.clone().map_err(ClientError::Unanswerable)?;
    if policy.sess_needs_qop && alg.is_sess() && !matches!(ch.qop, Ok(Some(_))) {
        return Err(ClientError::Unanswerable(format!(
            "{} challenge without qop",
            alg.name()
        )));
    }
    if let Some(sent) = policy.sent {
        let pair = (ch.realm.as_bytes().to_vec(), ch.nonce.as_bytes().to_vec());
        if answered_nonces(sent).contains(&pair) {
            return Err(ClientError::Unanswerable(format!(
                "credentials for realm \"{}\" were rejected (challenged again with the nonce already answered)",
                ch.realm
            )));
        }
    }
    let secret = match &creds.secret {
        Stored::Password(p) => Secret::Password(p),
        Stored::Ha1(h) => Secret::Ha1(h),
        Stored::PasswordOrHexHa1(p) => secret_of(p, alg),
    };
    // auth-int hashes the body; other qops must not see one
    let body = if matches!(ch.qop, Ok(Some(Qop::AuthInt))) {
        req.body
    } else {
        b""
    };
    let req = RequestInfo { body, ..*req };
    let a = answer(&ch, &creds.user, secret, &req, &new_cnonce())
        .map_err(|e| ClientError::Unanswerable(e.to_string()))?;
    let header = authorization_header(proxy, &creds.user, &ch, req.uri, &a)
        .map_err(|e| ClientError::Unanswerable(e.to_string()))?;
    Ok(Answered {
        header,
        realm: ch.realm.clone(),
        stale: ch.stale,
        proxy,
        qop: a.qop,
    })
}

/// Answers a 401/407 reply for the request `req`.
pub fn answer_reply<M: SipMessage>(
    reply: &M,
    code: i32,
    policy: &Policy,
    lookup: impl FnMut(&Challenge) -> Option<Creds>,
    req: &RequestInfo,
) -> Result<Answered, ClientError> {
    let h = Header::challenge_of(code).ok_or(ClientError::NotChallenge(code))?;
    let values = reply.header_values(h).map_err(ClientError::Message)?;
    if values.is_empty() {
        return Err(ClientError::NoHeader(h.name()));
    }
    answer_values(&values, code == 407, policy, lookup, req)
}

/// Where the body that auth-int hashes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyOf {
    /// The request as the branch sent it (Kamailio keeps the send buffer).
    Sent,
    /// The request being processed in the failure route (OpenSIPS).
    Request,
}

/// uac_auth() in a failure route: answers the failed branch's challenge and
/// prepares the request for the next relay (the branch's URI, the new
/// header). What a host does after it (CSeq handling, marks) is its own.
pub fn uac_auth<T: Transactions, M: EditMessage>(
    tx: &T,
    msg: &M,
    policy: &Policy,
    body_of: BodyOf,
    lookup: impl FnMut(&Challenge) -> Option<Creds>,
) -> Result<Answered, ClientError> {
    let br = tx.failed_branch().map_err(ClientError::Message)?;
    let reply = br.reply.as_ref().ok_or_else(|| {
        ClientError::Message(
            "cannot process a FAKED reply (or empty reply on picked branch)".into(),
        )
    })?;
    // The request's body is only needed for auth-int: an unreadable one
    // fails the answer only then.
    let (body, body_err) = match body_of {
        BodyOf::Sent => (sent_body(br.sent), None),
        BodyOf::Request => match msg.body() {
            Ok(b) => (b, None),
            Err(e) => (&b""[..], Some(e)),
        },
    };
    let policy = Policy {
        sent: policy.sent.or((!br.sent.is_empty()).then_some(br.sent)),
        ..*policy
    };
    let req = RequestInfo {
        method: msg.method(),
        uri: &br.uri,
        body,
    };
    let a = answer_reply(reply, br.code, &policy, lookup, &req)?;
    if let (Some(Qop::AuthInt), Some(e)) = (a.qop, body_err) {
        return Err(ClientError::Message(e));
    }
    msg.set_ruri(&br.uri).map_err(ClientError::Message)?;
    msg.append_header(&a.header).map_err(ClientError::Message)?;
    Ok(a)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::digest::verify;
    use crate::ports::mock::{MockMsg, MockTx};

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nFrom: <sip:alice@a.example>;tag=1\r\nTo: <sip:bob@b.example>\r\nCSeq: 1 INVITE\r\nContent-Length: 3\r\n\r\nabc";

    fn reply(code: u16, hdrs: &[&str]) -> String {
        let name = if code == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let mut r = format!("SIP/2.0 {code} Auth\r\nVia: SIP/2.0/UDP a\r\nCSeq: 1 INVITE\r\n");
        for h in hdrs {
            r.push_str(&format!("{name}: {h}\r\n"));
        }
        r + "\r\n"
    }

    fn alice(_: &Challenge) -> Option<Creds> {
        Some(Creds {
            user: b"alice".to_vec(),
            secret: Stored::Password(b"secret".to_vec()),
        })
    }

    /// The header's parameters (name -> value without quotes).
    fn params(h: &[u8]) -> Vec<(String, String)> {
        let s = String::from_utf8_lossy(h);
        let v = s.split_once("Digest ").unwrap().1.trim_end();
        v.split(", ")
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap();
                (n.to_string(), v.trim_matches('"').to_string())
            })
            .collect()
    }

    /// Verifies an answer as a server would, for user alice, password secret.
    pub(crate) fn verifies(header: &[u8], method: &[u8], body: &[u8]) -> bool {
        let p = params(header);
        let get = |n: &str| {
            p.iter()
                .find(|(k, _)| k == n)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        let (user, realm, nonce, uri, resp) = (
            get("username"),
            get("realm"),
            get("nonce"),
            get("uri"),
            get("response"),
        );
        let (alg_s, qop_s, cnonce, nc) = (get("algorithm"), get("qop"), get("cnonce"), get("nc"));
        let c = verify::Creds {
            username: user.as_bytes(),
            realm: realm.as_bytes(),
            nonce: nonce.as_bytes(),
            uri: uri.as_bytes(),
            response: resp.as_bytes(),
            algorithm: alg_s.as_bytes(),
            qop: qop_s.as_bytes(),
            cnonce: cnonce.as_bytes(),
            nc: nc.as_bytes(),
        };
        let (alg, qop) = verify::check_creds(&c, Algorithm::Md5).unwrap();
        let ha1 = verify::ha1(alg, b"alice", realm.as_bytes(), b"secret");
        verify::response_matches(alg, qop, &c, ha1.as_bytes(), method, body)
    }

    #[test]
    fn nonces_answered_by_sent_request() {
        let sent = b"INVITE sip:b@x SIP/2.0\r\nVia: x\r\nProxy-Authorization: Digest username=\"a\", realm=\"carrier.net\", nonce=\"n\", uri=\"sip:b@x\", response=\"r\"\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            answered_nonces(sent),
            vec![(b"carrier.net".to_vec(), b"n".to_vec())]
        );
        assert_eq!(sent_body(sent), b"abc");
        assert!(answered_nonces(b"INVITE sip:b@x SIP/2.0\r\nVia: x\r\n\r\n").is_empty());
    }

    #[test]
    fn strongest_allowed_first() {
        let all = challenges(&[
            b"Digest realm=\"r\", nonce=\"1\", algorithm=MD5",
            b"Digest realm=\"r\", nonce=\"2\", algorithm=SHA-512-256",
            b"Digest realm=\"r\", nonce=\"3\", algorithm=SHA-256",
        ]);
        let strongest = Policy {
            order: Order::StrongestFirst,
            ..Policy::AS_OFFERED
        };
        let nonces: Vec<_> = ordered(all.clone(), &strongest)
            .iter()
            .map(|c| c.as_ref().unwrap().nonce.clone())
            .collect();
        assert_eq!(nonces, ["2", "3", "1"]);
        let as_offered: Vec<_> = ordered(all.clone(), &Policy::AS_OFFERED)
            .iter()
            .map(|c| c.as_ref().unwrap().nonce.clone())
            .collect();
        assert_eq!(as_offered, ["1", "2", "3"]);
        let allowed = [Algorithm::Md5, Algorithm::Sha256];
        let limited = Policy {
            allowed: Some(&allowed),
            ..strongest
        };
        let (c, _) = select(ordered(all, &limited), |_| Some(())).unwrap();
        assert_eq!(c.nonce, "3");
    }

    /// uac_auth() on a failed branch: the answer verifies, goes to the branch's
    /// URI, and a Proxy-Authorization header is added.
    #[test]
    fn uac_auth_answers_the_failed_branch() {
        let msg = MockMsg::new(INVITE);
        let rpl = reply(
            407,
            &["Digest realm=\"b.example\", nonce=\"n1\", qop=\"auth\""],
        );
        let tx = MockTx::failed(&rpl, "sip:bob@10.0.0.2", INVITE);
        let a = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, alice).unwrap();
        assert!(a.proxy && a.header.starts_with(b"Proxy-Authorization: Digest "));
        assert_eq!(msg.ruri.borrow().as_deref(), Some(&b"sip:bob@10.0.0.2"[..]));
        assert_eq!(
            msg.appended.borrow().as_slice(),
            std::slice::from_ref(&a.header)
        );
        assert!(verifies(&a.header, b"INVITE", b""));
        assert!(params(&a.header).contains(&("uri".into(), "sip:bob@10.0.0.2".into())));
    }

    /// auth-int hashes the body: the sent one (Kamailio) or the request's
    /// (OpenSIPS); a wrong body would not verify.
    #[test]
    fn auth_int_hashes_the_right_body() {
        let rpl = reply(
            401,
            &["Digest realm=\"b.example\", nonce=\"n1\", qop=\"auth-int\""],
        );
        let sent = INVITE.replace("abc", "xyz");
        for (body_of, body) in [(BodyOf::Sent, &b"xyz"[..]), (BodyOf::Request, b"abc")] {
            let msg = MockMsg::new(INVITE);
            let tx = MockTx::failed(&rpl, "sip:bob@b.example", &sent);
            let a = uac_auth(&tx, &msg, &Policy::AS_OFFERED, body_of, alice).unwrap();
            assert_eq!(a.qop, Some(Qop::AuthInt));
            assert!(verifies(&a.header, b"INVITE", body));
            let other: &[u8] = if body == b"abc" { b"xyz" } else { b"abc" };
            assert!(!verifies(&a.header, b"INVITE", other));
        }
    }

    /// Challenged again with the nonce the branch already answered: refused,
    /// and the request is left alone.
    #[test]
    fn repeated_nonce_is_refused() {
        let msg = MockMsg::new(INVITE);
        let rpl = reply(407, &["Digest realm=\"b.example\", nonce=\"n1\""]);
        let sent = INVITE.replace(
            "CSeq: 1 INVITE\r\n",
            "CSeq: 2 INVITE\r\nProxy-Authorization: Digest username=\"alice\", realm=\"b.example\", nonce=\"n1\", uri=\"sip:bob@b.example\", response=\"00\"\r\n",
        );
        let tx = MockTx::failed(&rpl, "sip:bob@b.example", &sent);
        let e = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, alice).unwrap_err();
        assert!(e.to_string().contains("were rejected"), "{e}");
        assert!(msg.appended.borrow().is_empty() && msg.ruri.borrow().is_none());
    }

    #[test]
    fn what_cannot_be_answered() {
        let msg = MockMsg::new(INVITE);
        let tx = MockTx::failed(&reply(403, &[]), "sip:b@x", INVITE);
        let e = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, alice);
        assert_eq!(e, Err(ClientError::NotChallenge(403)));
        let tx = MockTx::failed(&reply(401, &[]), "sip:b@x", INVITE);
        let e = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, alice).unwrap_err();
        assert_eq!(e.to_string(), "reply has no auth hdr (WWW-Authenticate)");
        let tx = MockTx::failed(
            &reply(401, &["Digest realm=\"r\", nonce=\"1\", algorithm=SHA-1"]),
            "sip:b@x",
            INVITE,
        );
        let e = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, alice).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no supported challenge (algorithm SHA-1)",
            "{e:?}"
        );
        let tx = MockTx::failed(
            &reply(401, &["Digest realm=\"r\", nonce=\"1\""]),
            "sip:b@x",
            INVITE,
        );
        let e = uac_auth(&tx, &msg, &Policy::AS_OFFERED, BodyOf::Sent, |_| None).unwrap_err();
        assert_eq!(e.to_string(), "no credential for realm \"r\"");
        let sess = Policy {
            sess_needs_qop: true,
            ..Policy::AS_OFFERED
        };
        let tx = MockTx::failed(
            &reply(
                401,
                &["Digest realm=\"r\", nonce=\"1\", algorithm=MD5-sess"],
            ),
            "sip:b@x",
            INVITE,
        );
        let e = uac_auth(&tx, &msg, &sess, BodyOf::Sent, alice).unwrap_err();
        assert_eq!(
            e,
            ClientError::Unanswerable("MD5-sess challenge without qop".into())
        );
        assert!(msg.appended.borrow().is_empty());
    }

    /// Secrets as stored: HA1, and OpenSIPS's `0x<HA1>` password.
    #[test]
    fn stored_secrets() {
        let ha1 = verify::ha1(Algorithm::Sha256, b"alice", b"r", b"secret");
        let values: [&[u8]; 1] = [b"Digest realm=\"r\", nonce=\"1\", algorithm=SHA-256"];
        let req = RequestInfo {
            method: b"REGISTER",
            uri: b"sip:r",
            body: b"",
        };
        for secret in [
            Stored::Ha1(ha1.clone().into_bytes()),
            Stored::PasswordOrHexHa1(format!("0x{ha1}").into_bytes()),
            Stored::PasswordOrHexHa1(b"secret".to_vec()),
        ] {
            let creds = Creds {
                user: b"alice".to_vec(),
                secret,
            };
            let a = answer_values(
                &values,
                false,
                &Policy::AS_OFFERED,
                |_| Some(creds.clone()),
                &req,
            )
            .unwrap();
            assert!(verifies(&a.header, b"REGISTER", b""), "{creds:?}");
        }
    }
}
