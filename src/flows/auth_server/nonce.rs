//! Server nonces behind one trait, so that the auth-server flow is written
//! once whatever the format: [`NonceScheme`] issues the nonces of a
//! challenge, checks the nonce of an answer without using anything up, and
//! commits the one-time / nonce-count part once the password matched (a
//! wrong password burns nothing).
//!
//! [`KamailioNonces`] is Kamailio 5.6.3's format (`digest::nonce`: MD5 over
//! the secret, optional request binding, nonce ids with nc bytes and
//! one-time bits in shared memory). OpenSIPS's format (AES over the secret,
//! the algorithm and qop bound in the nonce, a nonce index) is a second
//! implementation of the same trait (`opensips_nonces.rs`).

use super::QopOffer;
use crate::digest::challenge::Algorithm;
use crate::digest::nonce::{self, CheckCtx, CheckedParts, NonceError, Secrets, State, Verified};
use crate::digest::verify::Creds;
use crate::ports::credentials::{AuthRequest, Method};
use crate::ports::message::Which;
use crate::ports::process::Process;
use crate::ports::shm::ShmAllocator;
use std::sync::atomic::AtomicU32;

/// How the server answers a refused nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceClass {
    /// Ours but no longer good (expired, from before start or the future,
    /// bound to other request parts, a used-up nonce count): challenge
    /// again with stale=true.
    Stale,
    /// A one-time nonce used again.
    Reused,
    /// Not a nonce of ours: another secret, tampered, truncated, not
    /// decodable.
    Invalid,
}

/// A refused nonce: its class, and the format's own check number for the
/// log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceRefused {
    pub class: NonceClass,
    pub code: i32,
}

/// A nonce format with its replay state.
pub trait NonceScheme {
    /// What a nonce that passed [`NonceScheme::check`] carries to
    /// [`NonceScheme::commit`].
    type Checked: Copy + std::fmt::Debug;

    /// The nonces of one challenge, one per offered algorithm (`algs`, None:
    /// a line that names no algorithm), for `req` (None: a challenge built
    /// without a request, bound to nothing). A format that binds no
    /// algorithm gives the same nonce for each.
    fn issue<M: AuthRequest>(
        &self,
        req: Option<&M>,
        algs: &[Option<Algorithm>],
        qop: QopOffer,
    ) -> Result<Vec<Vec<u8>>, String>;

    /// Checks the nonce of `creds` for `req` without using anything up.
    fn check<M: AuthRequest>(
        &self,
        req: Option<&M>,
        creds: &Creds,
    ) -> Result<Self::Checked, NonceRefused>;

    /// Uses up what [`NonceScheme::check`] only looked at (the nonce count,
    /// the one-time slot), once the response matched. Err when another
    /// request with the same nonce got there first.
    fn commit(&self, checked: &Self::Checked) -> Result<(), NonceRefused>;

    /// Every nonce is good for one answer: Authentication-Info gives a
    /// fresh `nextnonce`.
    fn one_time(&self) -> bool;

    /// Replays are refused (nonce count or one-time nonces): a response
    /// checked without a checked nonce (check_response without pre_auth)
    /// cannot be committed and is refused.
    fn replay_protected(&self) -> bool;

    /// The nonce names the algorithm of its challenge line and check()
    /// refuses an answer in another: check_response then takes any
    /// algorithm the crate implements (OpenSIPS's nonces).
    fn binds_algorithm(&self) -> bool {
        false
    }
}

// ---- Kamailio 5.6.3 ----

/// The parameters of Kamailio 5.6.3's nonces.
#[derive(Debug, Clone)]
pub struct KamailioNonceConfig {
    pub secrets: Secrets,
    /// `nonce_expire`, seconds.
    pub expire: u32,
    /// `nonce_auth_max_drift`, seconds.
    pub max_drift: u32,
    /// `auth_checks_register`, `auth_checks_no_dlg`, `auth_checks_in_dlg`.
    pub checks_reg: u32,
    pub checks_ood: u32,
    pub checks_ind: u32,
    /// `nonce_count`, `one_time_nonce`.
    pub nc: bool,
    pub otn: bool,
    /// `nid_pool_no` (a power of two), `nc_array_size`, `otn_in_flight_no`.
    pub pools: u32,
    pub nc_size: u32,
    pub otn_size: u32,
}

/// Kamailio 5.6.3's nonces, compatible with stock nodes of the same secret;
/// the nonce ids, nc bytes and one-time bits live in shared memory
/// (allocated by [`KamailioNonces::new`] before the workers fork). A clone
/// shares that state (a second server of another policy over the same
/// nonces).
#[derive(Clone)]
pub struct KamailioNonces<P: Process> {
    cfg: KamailioNonceConfig,
    state: Option<State<'static>>,
    process: P,
}

pub(super) fn shm_array<A: ShmAllocator>(
    n: usize,
    init: impl Fn(usize) -> u32,
) -> Result<&'static [AtomicU32], String> {
    if n == 0 {
        return Ok(&[]);
    }
    let mut v = allocator_api2::vec::Vec::<AtomicU32, A>::new_in(A::default());
    v.try_reserve_exact(n)
        .map_err(|_| format!("out of shared memory for {n} nonce slots"))?;
    v.extend((0..n).map(|i| AtomicU32::new(init(i))));
    // Lives until the process ends; every process uses it through this
    // pointer, copied at fork.
    Ok(v.leak())
}

impl<P: Process> KamailioNonces<P> {
    /// Allocates the state the configuration asks for with `A` (nothing when
    /// neither nonce_count nor one_time_nonce is on).
    pub fn new<A: ShmAllocator>(
        cfg: KamailioNonceConfig,
        process: P,
    ) -> Result<KamailioNonces<P>, String> {
        let state = if cfg.nc || cfg.otn {
            use rand::RngCore;
            let mut r = rand::rngs::OsRng;
            let seeds: Vec<u32> = (0..cfg.pools).map(|_| r.next_u32()).collect();
            let nid = shm_array::<A>(cfg.pools as usize, |i| seeds[i])?;
            // every nc at its maximum and every one-time bit set: nonces from
            // before a restart are refused until their slot is handed out again
            let nc = shm_array::<A>((cfg.nc_size as usize).div_ceil(4), |_| u32::MAX)?;
            let otn = shm_array::<A>((cfg.otn_size as usize).div_ceil(32), |_| u32::MAX)?;
            Some(State {
                nid,
                nc,
                nc_size: cfg.nc_size,
                otn,
                otn_size: cfg.otn_size,
            })
        } else {
            None
        };
        Ok(KamailioNonces {
            cfg,
            state,
            process,
        })
    }

    pub fn config(&self) -> &KamailioNonceConfig {
        &self.cfg
    }

    /// The process port the nonces read the clock and process number from.
    pub fn process(&self) -> &P {
        &self.process
    }

    /// auth_checks_* for this request (REGISTER, in-dialog, out-of-dialog).
    fn checks<M: AuthRequest>(&self, req: Option<&M>) -> u32 {
        let c = &self.cfg;
        let Some(m) = req else { return 0 };
        if c.checks_reg | c.checks_ood | c.checks_ind == 0 {
            return 0;
        }
        if m.method_kind() == Method::Register {
            return c.checks_reg;
        }
        if m.tag(Which::To).is_some_and(|t| !t.is_empty()) {
            c.checks_ind
        } else {
            c.checks_ood
        }
    }
}

/// The request parts the auth_checks bits select.
fn parts<M: AuthRequest>(req: Option<&M>, checks: u32) -> CheckedParts<'_> {
    let Some(m) = req.filter(|_| checks != 0) else {
        return CheckedParts::default();
    };
    CheckedParts {
        ruri: (checks & nonce::AUTH_CHECK_FULL_URI != 0).then(|| m.ruri()),
        callid: (checks & nonce::AUTH_CHECK_CALLID != 0)
            .then(|| m.callid())
            .flatten(),
        from_tag: (checks & nonce::AUTH_CHECK_FROMTAG != 0)
            .then(|| m.tag(Which::From))
            .flatten(),
        src_ip: (checks & nonce::AUTH_CHECK_SRC_IP != 0)
            .then(|| m.src_ip())
            .flatten(),
    }
}

fn refused(e: NonceError) -> NonceRefused {
    let class = match e {
        NonceError::ExtraChecks | NonceError::Stale => NonceClass::Stale,
        NonceError::Reused => NonceClass::Reused,
        _ => NonceClass::Invalid,
    };
    NonceRefused {
        class,
        code: e.code(),
    }
}

impl<P: Process> NonceScheme for KamailioNonces<P> {
    type Checked = Verified;

    /// One nonce (calc_new_nonce) for every line: the format binds no
    /// algorithm or qop.
    fn issue<M: AuthRequest>(
        &self,
        req: Option<&M>,
        algs: &[Option<Algorithm>],
        _qop: QopOffer,
    ) -> Result<Vec<Vec<u8>>, String> {
        let c = &self.cfg;
        let checks = self.checks(req);
        let t = self.process.now();
        let nid = self.state.as_ref().map(|st| {
            let pool = self.process.process_no() & (c.pools - 1);
            let id = st.new_id(pool, c.nc, c.otn);
            let mut pf = pool as u8;
            if c.nc {
                pf |= nonce::NF_VALID_NC_ID;
            }
            if c.otn {
                pf |= nonce::NF_VALID_OT_ID;
            }
            (id, pf)
        });
        let n = nonce::build(
            checks,
            t,
            t.wrapping_add(c.expire),
            nid,
            &c.secrets,
            &parts(req, checks),
        )
        .into_bytes();
        Ok(vec![n; algs.len().max(1)])
    }

    fn check<M: AuthRequest>(
        &self,
        req: Option<&M>,
        creds: &Creds,
    ) -> Result<Verified, NonceRefused> {
        let c = &self.cfg;
        let checks = self.checks(req);
        let ctx = CheckCtx {
            cfg: checks,
            secrets: &c.secrets,
            parts: parts(req, checks),
            now: self.process.now(),
            up_since: self.process.up_since(),
            max_drift: c.max_drift,
            nc_enabled: c.nc,
            otn_enabled: c.otn,
            nc: Some(creds.nc),
        };
        nonce::check(creds.nonce, &ctx, self.state.as_ref()).map_err(refused)
    }

    fn commit(&self, v: &Verified) -> Result<(), NonceRefused> {
        nonce::commit(v, self.state.as_ref()).map_err(|e| NonceRefused {
            // a used-up one-time slot is a reuse; anything else (a used nc)
            // makes the credentials stale
            class: if e == NonceError::Reused {
                NonceClass::Reused
            } else {
                NonceClass::Stale
            },
            code: e.code(),
        })
    }

    fn one_time(&self) -> bool {
        self.cfg.otn
    }

    fn replay_protected(&self) -> bool {
        self.cfg.nc || self.cfg.otn
    }
}
