//! Module parameters of Kamailio 5.6.3's `auth`, with the same names, types,
//! defaults and start-up checks, plus `algorithms` (RFC 8760: several
//! challenges at once). C-layout storage the core writes during `modparam`;
//! [`init`] checks it in mod_init (before fork) and fixes a [`Config`]: the
//! auth-server flow's policy and nonce configuration, and what only this
//! module uses.

use crate::digest::challenge::{Algorithm, Qop};
use crate::digest::nonce::{Secrets, MAX_NID_POOL_SIZE, NID_INC};
use crate::exports::ParamCell;
use crate::flows::auth_server::nonce::KamailioNonceConfig;
use crate::flows::auth_server::{HostRules, Policy};
use crate::kamailio::host::ffi::str_;
use crate::ports::reply::Sending;
use crate::{info, warn};
use once_cell::sync::OnceCell;
use std::os::raw::{c_char, c_int};

const fn lit(s: &'static [u8]) -> str_ {
    str_ {
        s: s.as_ptr() as *mut c_char,
        len: s.len() as c_int,
    }
}

// Storage the core writes through the param table, only while it reads the
// config, before mod_init.
pub static SECRET: ParamCell<*mut c_char> = ParamCell::new(std::ptr::null_mut());
pub static NONCE_EXPIRE: ParamCell<c_int> = ParamCell::new(300);
pub static NONCE_AUTH_MAX_DRIFT: ParamCell<c_int> = ParamCell::new(3);
/// Accepted for compatibility; 5.6.3 reads it nowhere either.
pub static PROTECT_CONTACTS: ParamCell<c_int> = ParamCell::new(0);
pub static CHALLENGE_ATTR: ParamCell<str_> = ParamCell::new(lit(b"$digest_challenge"));
pub static PROXY_CHALLENGE_HEADER: ParamCell<str_> = ParamCell::new(lit(b"Proxy-Authenticate"));
pub static WWW_CHALLENGE_HEADER: ParamCell<str_> = ParamCell::new(lit(b"WWW-Authenticate"));
pub static QOP: ParamCell<str_> = ParamCell::new(lit(b"auth"));
pub static AUTH_CHECKS_REGISTER: ParamCell<c_int> = ParamCell::new(0);
pub static AUTH_CHECKS_NO_DLG: ParamCell<c_int> = ParamCell::new(0);
pub static AUTH_CHECKS_IN_DLG: ParamCell<c_int> = ParamCell::new(0);
pub static NONCE_COUNT: ParamCell<c_int> = ParamCell::new(0);
pub static NC_ARRAY_SIZE: ParamCell<c_int> = ParamCell::new(0);
pub static NC_ARRAY_ORDER: ParamCell<c_int> = ParamCell::new(0);
pub static ONE_TIME_NONCE: ParamCell<c_int> = ParamCell::new(0);
pub static OTN_IN_FLIGHT_NO: ParamCell<c_int> = ParamCell::new(0);
pub static OTN_IN_FLIGHT_ORDER: ParamCell<c_int> = ParamCell::new(0);
pub static NID_POOL_NO: ParamCell<c_int> = ParamCell::new(0);
pub static FORCE_STATELESS_REPLY: ParamCell<c_int> = ParamCell::new(0);
pub static REALM_PREFIX: ParamCell<*mut c_char> = ParamCell::new(std::ptr::null_mut());
pub static USE_DOMAIN: ParamCell<c_int> = ParamCell::new(0);
pub static ALGORITHM: ParamCell<str_> = ParamCell::new(lit(b""));
pub static ADD_AUTHINFO_HDR: ParamCell<c_int> = ParamCell::new(0);
/// Not in 5.6.3: a comma-separated list of algorithms to challenge with, one
/// header each in the order given (RFC 8760). Empty: the stock behaviour.
pub static ALGORITHMS: ParamCell<str_> = ParamCell::new(lit(b""));
/// Not in 5.6.3, a test aid: 1 makes `auth_panic_probe()` panic, and the API's
/// pre_auth panic for the realm [`PANIC_PROBE_REALM`], inside their guards.
pub static PANIC_PROBE: ParamCell<c_int> = ParamCell::new(0);

/// Kamailio 6.x's auth turns an empty `algorithm` into "MD5" at start-up
/// (for `auth_algorithm()`), so its challenges print `algorithm=MD5`; 5.6's
/// print no algorithm directive.
const DEFAULT_PRINTS_MD5: bool = cfg!(kamailio_ge = "6.0");

/// The realm for which pre_auth panics when `panic_probe` is 1.
pub const PANIC_PROBE_REALM: &[u8] = b"panic.probe";

pub const DEFAULT_NC_ARRAY_SIZE: u32 = 1024 * 1024;
pub const DEFAULT_OTN_IN_FLIGHT: u32 = 1024 * 1024;
const RAND_SECRET_LEN: usize = 32;

/// The checked parameters: the flow's policy and nonce configuration, and
/// what only this module uses.
pub struct Config {
    pub policy: Policy,
    pub nonces: KamailioNonceConfig,
    pub challenge_attr: Vec<u8>,
    /// The `qop` parameter as written (the API's `qop`).
    pub qop_str: Vec<u8>,
    /// `panic_probe` (a test aid).
    pub panic_probe: bool,
}

static CONFIG: OnceCell<Config> = OnceCell::new();

pub fn config() -> &'static Config {
    CONFIG.get().expect("auth config read before mod_init")
}

pub fn try_config() -> Option<&'static Config> {
    CONFIG.get()
}

/// The nearest power of two at or below `v` (v > 0), as the stock module rounds.
fn round_down_pow2(v: u32) -> u32 {
    1 << (31 - v.leading_zeros())
}

fn parse_qop(q: &[u8]) -> Result<Option<Qop>, String> {
    match q {
        b"" => Ok(None),
        b"auth" => Ok(Some(Qop::Auth)),
        b"auth-int" => Ok(Some(Qop::AuthInt)),
        _ => Err("Unsupported qop parameter value".into()),
    }
}

fn parse_alg(a: &[u8]) -> Option<Algorithm> {
    std::str::from_utf8(a).ok().and_then(Algorithm::parse)
}

/// Reads and checks the parameters; errors are the reasons start-up stops.
pub fn init() -> Result<&'static Config, String> {
    // mod_init: the core has written the parameters.
    let c = {
        let s = |v: &ParamCell<str_>| v.bytes().to_vec();
        let secret = SECRET.c_str().map(<[u8]>::to_vec);
        let checks_reg = AUTH_CHECKS_REGISTER.get() as u32;
        let checks_ood = AUTH_CHECKS_NO_DLG.get() as u32;
        let checks_ind = AUTH_CHECKS_IN_DLG.get() as u32;
        let any_checks = checks_reg | checks_ood | checks_ind != 0;
        let secrets = match secret {
            Some(sec) => {
                let s = Secrets::from_param(&sec, any_checks);
                if any_checks && s.s2.len() < 16 {
                    warn!("consider a longer secret when extra auth checks are enabled (the config secret is divided in 2!)");
                }
                s
            }
            None => {
                // random printable secrets, as the stock module (32 chars each)
                use rand::Rng;
                let mut r = rand::rngs::OsRng;
                let mut g = || {
                    (0..RAND_SECRET_LEN)
                        .map(|_| r.gen_range(32u8..127))
                        .collect::<Vec<u8>>()
                };
                Secrets { s1: g(), s2: g() }
            }
        };
        let challenge_attr = s(&CHALLENGE_ATTR);
        if challenge_attr.first() != Some(&b'$') || challenge_attr.len() < 2 {
            return Err("Invalid value of challenge_attr module parameter".into());
        }
        let qop_str = s(&QOP);
        let qop = parse_qop(&qop_str)?;
        let mut nc = NONCE_COUNT.get() != 0;
        let otn = ONE_TIME_NONCE.get() != 0;
        if nc && qop.is_none() {
            warn!("nonce-count support enabled, but qop not set");
            nc = false;
        } else if !nc && qop.is_some() {
            info!("qop set, but nonce-count (nonce_count) support disabled");
        }
        // nid pools: 1 by default, at most 64, rounded down to 2^k
        let mut pools = if NID_POOL_NO.get() <= 0 {
            1
        } else {
            NID_POOL_NO.get() as u32
        };
        if pools > MAX_NID_POOL_SIZE {
            warn!("nid_pool_no too big, truncating to {MAX_NID_POOL_SIZE}");
            pools = MAX_NID_POOL_SIZE;
        }
        let p2 = round_down_pow2(pools);
        if p2 != pools {
            info!("nid_pool_no rounded down to {p2}");
        }
        pools = p2;
        let sized = |size: c_int, order: c_int, default: u32, what: &str| -> Result<u32, String> {
            let v = if order > 0 && order < 32 {
                1u32 << order
            } else if size > 0 {
                round_down_pow2(size as u32)
            } else {
                default
            };
            if size > 0 && v != size as u32 {
                info!("{what} rounded down to {v}");
            }
            Ok(v)
        };
        let nc_size = if nc {
            let v = sized(
                NC_ARRAY_SIZE.get(),
                NC_ARRAY_ORDER.get(),
                DEFAULT_NC_ARRAY_SIZE,
                "nc_array_size",
            )?;
            if pools >= v {
                return Err(format!(
                    "nid_pool_no ({pools}) too high for the configured nc_array_size ({v})"
                ));
            }
            if v / pools >= u32::MAX / NID_INC {
                return Err("nc_array_size too big, try decreasing it or increasing the number of pools/partitions".into());
            }
            v.max(4)
        } else {
            0
        };
        let otn_size = if otn {
            let v = sized(
                OTN_IN_FLIGHT_NO.get(),
                OTN_IN_FLIGHT_ORDER.get(),
                DEFAULT_OTN_IN_FLIGHT,
                "otn_in_flight_no",
            )?;
            if pools >= v / 32 {
                return Err(format!(
                    "nid_pool_no ({pools}) too high for the configured otn_in_flight_no ({v})"
                ));
            }
            if v / pools >= u32::MAX / NID_INC {
                return Err("otn_in_flight_no too big, try decreasing it or increasing the number of pools/partitions".into());
            }
            v
        } else {
            0
        };
        let mut algorithm_str = s(&ALGORITHM);
        if algorithm_str.is_empty() && DEFAULT_PRINTS_MD5 {
            // 6.x's mod_init makes "" "MD5": challenges say algorithm=MD5
            algorithm_str = b"MD5".to_vec();
        }
        let algorithm = if algorithm_str.is_empty() {
            None
        } else {
            Some(parse_alg(&algorithm_str).ok_or(
                "Invalid algorithm provided. Possible values are \"\", \"MD5\", \"SHA-256\", \"SHA-512-256\", \"SHA-512\" and their -sess forms",
            )?)
        };
        let mut algorithms = Vec::new();
        for a in s(&ALGORITHMS).split(|&b| b == b',') {
            let a = a.trim_ascii();
            if a.is_empty() {
                continue;
            }
            algorithms.push(parse_alg(a).ok_or_else(|| {
                format!(
                    "Invalid value in algorithms: '{}'",
                    String::from_utf8_lossy(a)
                )
            })?);
        }
        if NONCE_EXPIRE.get() <= 0 {
            let v = NONCE_EXPIRE.get();
            return Err(format!("invalid nonce_expire {v}"));
        }
        Config {
            policy: Policy {
                realm_prefix: REALM_PREFIX.c_str().unwrap_or_default().to_vec(),
                www_header: s(&WWW_CHALLENGE_HEADER),
                proxy_header: s(&PROXY_CHALLENGE_HEADER),
                algorithm,
                algorithm_str,
                algorithms,
                qop,
                sending: if FORCE_STATELESS_REPLY.get() != 0 {
                    Sending::Stateless
                } else {
                    Sending::Auto
                },
                use_domain: USE_DOMAIN.get() != 0,
                authinfo: ADD_AUTHINFO_HDR.get() != 0,
                rules: HostRules::KAMAILIO,
            },
            nonces: KamailioNonceConfig {
                secrets,
                expire: NONCE_EXPIRE.get() as u32,
                max_drift: NONCE_AUTH_MAX_DRIFT.get().max(0) as u32,
                checks_reg,
                checks_ood,
                checks_ind,
                nc,
                otn,
                pools,
                nc_size,
                otn_size,
            },
            challenge_attr,
            qop_str,
            panic_probe: PANIC_PROBE.get() != 0,
        }
    };
    CONFIG
        .set(c)
        .map_err(|_| "auth mod_init ran twice".to_string())?;
    Ok(config())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pow2() {
        assert_eq!(super::round_down_pow2(1), 1);
        assert_eq!(super::round_down_pow2(3), 2);
        assert_eq!(super::round_down_pow2(1024), 1024);
        assert_eq!(super::round_down_pow2(1500), 1024);
    }
}
