//! uac_auth([algorithms]) and uac_inc_cseq(n): the digest client
//! (src/flows/digest_client.rs) answers the picked branch's 401/407 with
//! credentials from whichever uac_auth module is loaded; the CSeq flow
//! (src/flows/cseq.rs) shifts CSeq as the stock module does.

use super::config;
use crate::dbg;
use crate::digest::challenge::{Algorithm, Challenge};
use crate::flows::cseq;
use crate::flows::digest_client::{self, BodyOf, ClientError, Creds, Order, Policy, Stored};
use crate::opensips::host::msg::SipMsg;
use crate::opensips::host::tm::Tm;
use crate::opensips::host::{uac_auth_api, Opensips};

/// The algorithm list of uac_auth("MD5,SHA-256").
pub fn parse_algorithms(s: &str) -> Result<Vec<Algorithm>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| Algorithm::parse(a).ok_or_else(|| format!("unsupported digest algorithm '{a}'")))
        .collect()
}

/// uac_inc_cseq(n).
pub fn inc_cseq(msg: &SipMsg, by: i32) -> Result<(), String> {
    cseq::inc_cseq(&Opensips, msg, by)
}

/// uac_auth([algorithms]) in a failure route.
pub fn uac_auth(msg: &SipMsg, allowed: Option<&[Algorithm]>) -> Result<(), String> {
    let policy = Policy {
        order: Order::StrongestFirst,
        allowed,
        sess_needs_qop: true,
        sent: None,
    };
    let lookup = |c: &Challenge| {
        uac_auth_api::lookup(c.realm.as_bytes()).map(|(user, secret)| Creds {
            user,
            secret: Stored::PasswordOrHexHa1(secret),
        })
    };
    let a = digest_client::uac_auth(&Tm, msg, &policy, BodyOf::Request, lookup).map_err(
        |e| match e {
            ClientError::NotChallenge(c) => {
                format!("Unable to extract a compatible authentication challenge (reply {c})")
            }
            ClientError::NoHeader(_) | ClientError::Refused(_) => {
                format!("Unable to extract a compatible authentication challenge: {e}")
            }
            e => e.to_string(),
        },
    )?;
    dbg!(
        "auth_hdr is <{}>",
        String::from_utf8_lossy(&a.header).trim_end()
    );
    // CSeq: the answered request is a new one for the server.
    cseq::after_auth(&Opensips, msg, config().dialog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_lists() {
        assert_eq!(
            parse_algorithms("MD5, SHA-256").unwrap(),
            vec![Algorithm::Md5, Algorithm::Sha256]
        );
        assert!(parse_algorithms("MD5,SHA-1").is_err());
    }
}
