//! OpenSIPS 3.6's nonces behind the [`NonceScheme`] trait: the AES format of
//! `digest::aes_nonce` (compatible both ways with stock nodes of the same
//! secret), one nonce per challenge line binding its algorithm and qop,
//! stock's staleness rule, and the one-time [`NonceIndex`] (or, with
//! `disable_nonce_check`, stock's rule that the index must be 0).
//!
//! Every refusal is stale, as stock's pre_auth answers (the client is
//! challenged again with stale=true).

use super::index::{MarkError, NonceIndex};
use super::nonce::{shm_array, NonceClass, NonceRefused, NonceScheme};
use super::QopOffer;
use crate::digest::aes_nonce::{self as aes, NonceKey, NonceParams};
use crate::digest::challenge::{Algorithm, Qop};
use crate::digest::verify::{self, Creds};
use crate::ports::credentials::AuthRequest;
use crate::ports::process::Process;
use crate::ports::replicate::Replicate;
use crate::ports::shm::RawLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Stock's index ring size: our index values stay below it, so a stock
/// node that reads one of our nonces finds an index it can look at.
pub const MAX_NONCE_INDEX: u32 = 100_000;

/// The nonce parameters of the auth module.
#[derive(Debug, Clone)]
pub struct OpensipsNonceConfig {
    /// The 32-byte `secret` (an AES-256 key).
    pub secret: Vec<u8>,
    /// `nonce_expire`, seconds.
    pub expire: u32,
    /// The one-time index (`disable_nonce_check` = 0).
    pub index: bool,
}

/// What a checked nonce carries to the commit: its random block and expiry
/// (None without the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AesChecked {
    pub key: u128,
    pub expires_us: u64,
}

/// Why a nonce was refused (the code in the log line).
pub mod refused {
    pub const UNDECODABLE: i32 = 1;
    pub const ALGORITHM: i32 = 2;
    pub const QOP: i32 = 3;
    pub const EXPIRED: i32 = 4;
    pub const INDEX_NOT_ZERO: i32 = 5;
    pub const BEFORE_START: i32 = 6;
    pub const USED: i32 = 7;
    pub const NO_MEMORY: i32 = 8;
}

fn stale(code: i32) -> NonceRefused {
    NonceRefused {
        class: NonceClass::Stale,
        code,
    }
}

/// OpenSIPS's nonces and their one-time index.
pub struct OpensipsNonces<P: Process, L: RawLock, R: Replicate> {
    key: NonceKey,
    expire: u32,
    process: P,
    index: Option<NonceIndex<L, R>>,
    counter: &'static [AtomicU32],
}

impl<P: Process, L: RawLock, R: Replicate> OpensipsNonces<P, L, R> {
    /// Allocates the index (with the config's `index`) in shared memory;
    /// uses are sent through `replicate`.
    pub fn new(
        cfg: &OpensipsNonceConfig,
        process: P,
        replicate: R,
    ) -> Result<OpensipsNonces<P, L, R>, String> {
        let key = NonceKey::new(&cfg.secret).ok_or_else(|| {
            format!(
                "bad secret length, must be exactly 32 bytes (256-bit AES key), given: {}",
                cfg.secret.len()
            )
        })?;
        let (index, counter) = if cfg.index {
            (
                Some(NonceIndex::new(replicate)?),
                shm_array::<L::Alloc>(1, |_| 0)?,
            )
        } else {
            (None, &[][..])
        };
        Ok(OpensipsNonces {
            key,
            expire: cfg.expire,
            process,
            index,
            counter,
        })
    }

    /// The index, when on.
    pub fn index(&self) -> Option<&NonceIndex<L, R>> {
        self.index.as_ref()
    }

    /// This node's start, in microseconds.
    fn start_us(&self) -> u64 {
        self.process.up_since() as u64 * 1_000_000
    }

    /// A record from another node of the cluster (nothing without the index).
    pub fn apply_record(&self, rec: &[u8]) -> Result<(), String> {
        match &self.index {
            Some(ix) => ix.apply(rec, self.process.now_us()),
            None => Ok(()),
        }
    }

    /// What a node that joins the cluster needs: the live uses and the
    /// horizon since which this node knows every use.
    pub fn snapshot(&self, push: &mut dyn FnMut(&[u8]) -> bool) {
        if let Some(ix) = &self.index {
            ix.snapshot(self.process.now_us(), self.start_us(), push);
        }
    }

    pub fn process(&self) -> &P {
        &self.process
    }

    pub fn expire(&self) -> u32 {
        self.expire
    }

    /// The nonce for explicit parameters with another secret (the API's
    /// build_auth_hf: msrp_relay passes its own).
    pub fn encode_with(secret: &[u8], p: &NonceParams) -> Option<String> {
        NonceKey::new(secret).map(|k| k.issue(p))
    }

    fn next_index(&self) -> i32 {
        match self.counter.first() {
            Some(c) => (c.fetch_add(1, Ordering::Relaxed) % MAX_NONCE_INDEX) as i32,
            None => 0,
        }
    }
}

/// `qop_type_t` of what a challenge line offers, as stock numbers what it
/// prints (get_qop_param: QOP_AUTHINT_AUTH_D is `qop="auth,auth-int"`,
/// QOP_AUTH_AUTHINT_D `qop="auth-int,auth"`).
pub fn qop_number(q: QopOffer) -> u8 {
    match q {
        QopOffer::None => aes::QOP_UNSPEC,
        QopOffer::Auth => aes::QOP_AUTH,
        QopOffer::AuthInt => aes::QOP_AUTHINT,
        QopOffer::AuthIntAuth => aes::QOP_AUTH_AUTHINT,
        QopOffer::AuthAuthInt => aes::QOP_AUTHINT_AUTH,
    }
}

/// Stock's rule: an answer without qop to a challenge with one counts as
/// auth (RFC 8760); a challenge with both accepts either.
fn qop_fits(offered: u8, creds: &Creds) -> bool {
    let sent = match verify::qop_of(creds) {
        Ok(None) if offered != aes::QOP_UNSPEC => aes::QOP_AUTH,
        Ok(None) => aes::QOP_UNSPEC,
        Ok(Some(Qop::Auth)) => aes::QOP_AUTH,
        Ok(Some(Qop::AuthInt)) => aes::QOP_AUTHINT,
        Err(_) => return false,
    };
    sent == offered
        || (matches!(offered, aes::QOP_AUTHINT_AUTH | aes::QOP_AUTH_AUTHINT)
            && matches!(sent, aes::QOP_AUTH | aes::QOP_AUTHINT))
}

impl<P: Process, L: RawLock, R: Replicate> NonceScheme for OpensipsNonces<P, L, R> {
    type Checked = Option<AesChecked>;

    /// One nonce per line, each with the line's algorithm (none printed:
    /// MD5) and the challenge's qop; one index for the challenge.
    fn issue<M: AuthRequest>(
        &self,
        _req: Option<&M>,
        algs: &[Option<Algorithm>],
        qop: QopOffer,
    ) -> Result<Vec<Vec<u8>>, String> {
        let exp = self.process.now_us() + self.expire as u64 * 1_000_000;
        let p = NonceParams {
            expires_sec: exp / 1_000_000,
            expires_usec: (exp % 1_000_000) as u32,
            index: self.next_index(),
            qop: qop_number(qop),
            alg: 0,
        };
        let lines = if algs.is_empty() { &[None][..] } else { algs };
        lines
            .iter()
            .map(|a| {
                let a = a.unwrap_or(Algorithm::Md5);
                let alg = aes::alg_number(a)
                    .ok_or_else(|| format!("no OpenSIPS nonce for algorithm {}", a.name()))?;
                Ok(self.key.issue(&NonceParams { alg, ..p }).into_bytes())
            })
            .collect()
    }

    /// Stock's checks in stock's order (decodes, algorithm, qop, expiry,
    /// index), but the index is only looked at: the use is recorded by
    /// [`NonceScheme::commit`]. Beyond stock: a nonce issued before this
    /// node knows the uses (its start, or the horizon of a cluster
    /// snapshot) is refused: nothing says whether it was used.
    fn check<M: AuthRequest>(
        &self,
        _req: Option<&M>,
        creds: &Creds,
    ) -> Result<Option<AesChecked>, NonceRefused> {
        let d = self
            .key
            .decode(creds.nonce)
            .ok_or(stale(refused::UNDECODABLE))?;
        let sent_alg = match verify::algorithm_of(creds, Algorithm::Md5) {
            Ok(a) => aes::alg_number(a).unwrap_or(u8::MAX),
            Err(_) => u8::MAX,
        };
        if d.params.alg != sent_alg {
            return Err(stale(refused::ALGORITHM));
        }
        if !qop_fits(d.params.qop, creds) {
            return Err(stale(refused::QOP));
        }
        let now = self.process.now_us();
        if aes::is_stale(&d.params, now, self.expire) {
            return Err(stale(refused::EXPIRED));
        }
        let Some(ix) = &self.index else {
            return if d.params.index != 0 {
                Err(stale(refused::INDEX_NOT_ZERO))
            } else {
                Ok(None)
            };
        };
        let issued = d
            .params
            .expires_us()
            .saturating_sub(self.expire as u64 * 1_000_000);
        if issued < ix.known_since(self.start_us()) {
            return Err(stale(refused::BEFORE_START));
        }
        let key = u128::from_le_bytes(d.iv);
        if ix.is_used(key) {
            return Err(stale(refused::USED));
        }
        Ok(Some(AesChecked {
            key,
            expires_us: d.params.expires_us(),
        }))
    }

    fn commit(&self, checked: &Option<AesChecked>) -> Result<(), NonceRefused> {
        let (Some(c), Some(ix)) = (checked, &self.index) else {
            return Ok(());
        };
        ix.mark(c.key, c.expires_us, self.process.now_us())
            .map_err(|e| match e {
                MarkError::Used => stale(refused::USED),
                MarkError::Full => stale(refused::NO_MEMORY),
            })
    }

    /// No nextnonce: OpenSIPS's Authentication-Info has none.
    fn one_time(&self) -> bool {
        false
    }

    fn replay_protected(&self) -> bool {
        self.index.is_some()
    }

    fn binds_algorithm(&self) -> bool {
        true
    }
}
