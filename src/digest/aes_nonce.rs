//! Server nonces in the format of OpenSIPS 3.6's `auth` module
//! (lib/digest_auth/dauth_nonce.c), so that a nonce issued by a stock node
//! verifies here with the same 32-byte `secret`, and the other way round.
//!
//! `base64(AES-256-ECB(secret, iv(16) | (payload(12) | 0(4)) XOR iv) | 0x00)`:
//! 44 characters. `iv` is random; the payload is the packed C struct
//! `{ int index; uint64 qop:3, alg:3, expires_sec:34, expires_usec:20 }`
//! (little-endian, bit fields from the low bit). A decoder refuses anything
//! whose length, base64, trailing zero byte, microseconds or zero tail is
//! wrong: only the holder of the secret makes a nonce that decodes.
//!
//! `qop` and `alg` are OpenSIPS's `qop_type_t` and `alg_t` numbers: the
//! nonce binds the algorithm and qop of the challenge line it was issued for.

use super::challenge::Algorithm;
use super::nonce::{b64_decode, b64_encode};
use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;

/// Characters of a nonce.
pub const NONCE_LEN: usize = 44;
/// Bytes of the secret (an AES-256 key).
pub const SECRET_LEN: usize = 32;

/// `qop_type_t`: the qop a challenge line offered.
pub const QOP_UNSPEC: u8 = 0;
pub const QOP_AUTH: u8 = 1;
pub const QOP_AUTHINT: u8 = 2;
/// Both qops: either answer is good. Stock prints QOP_AUTHINT_AUTH as
/// `qop="auth,auth-int"` and QOP_AUTH_AUTHINT as `qop="auth-int,auth"`.
pub const QOP_AUTHINT_AUTH: u8 = 3;
pub const QOP_AUTH_AUTHINT: u8 = 4;

/// `alg_t` of an algorithm (ALG_UNSPEC is 0: a line without `algorithm`,
/// whose nonces carry MD5); None for one OpenSIPS 3.6 has no number for
/// (SHA-512, a Kamailio 6.1 name: its parser makes it ALG_OTHER).
pub fn alg_number(a: Algorithm) -> Option<u8> {
    match a {
        Algorithm::Md5 => Some(1),
        Algorithm::Md5Sess => Some(2),
        Algorithm::Sha256 => Some(3),
        Algorithm::Sha256Sess => Some(4),
        Algorithm::Sha512_256 => Some(5),
        Algorithm::Sha512_256Sess => Some(6),
        Algorithm::Sha512 | Algorithm::Sha512Sess => None,
    }
}

/// What a nonce carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NonceParams {
    /// When it stops being good: seconds (34 bits) and microseconds.
    pub expires_sec: u64,
    pub expires_usec: u32,
    /// The nonce index (0 with `disable_nonce_check`).
    pub index: i32,
    /// `qop_type_t` (3 bits).
    pub qop: u8,
    /// `alg_t` (3 bits).
    pub alg: u8,
}

impl NonceParams {
    /// The expiry in microseconds since the epoch.
    pub fn expires_us(&self) -> u64 {
        self.expires_sec * 1_000_000 + self.expires_usec as u64
    }

    fn pack(&self) -> [u8; 12] {
        let bits = (self.qop as u64 & 7)
            | (self.alg as u64 & 7) << 3
            | (self.expires_sec & ((1 << 34) - 1)) << 6
            | (self.expires_usec as u64 & ((1 << 20) - 1)) << 40;
        let mut p = [0u8; 12];
        p[..4].copy_from_slice(&self.index.to_le_bytes());
        p[4..].copy_from_slice(&bits.to_le_bytes());
        p
    }

    fn unpack(p: &[u8]) -> NonceParams {
        let index = i32::from_le_bytes(p[..4].try_into().unwrap_or_default());
        let bits = u64::from_le_bytes(p[4..12].try_into().unwrap_or_default());
        NonceParams {
            index,
            qop: (bits & 7) as u8,
            alg: (bits >> 3 & 7) as u8,
            expires_sec: bits >> 6 & ((1 << 34) - 1),
            expires_usec: (bits >> 40 & ((1 << 20) - 1)) as u32,
        }
    }
}

/// A decoded nonce: its parameters and its random block, which tells one
/// nonce from every other (the one-time index keys on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub params: NonceParams,
    pub iv: [u8; 16],
}

/// The AES key schedule of a secret.
#[derive(Clone)]
pub struct NonceKey(Aes256);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// None unless the secret is exactly 32 bytes (stock refuses to start
    /// with another length).
    pub fn new(secret: &[u8]) -> Option<NonceKey> {
        (secret.len() == SECRET_LEN)
            .then(|| NonceKey(Aes256::new(GenericArray::from_slice(secret))))
    }

    /// The nonce for `p` with the random block `iv`.
    pub fn encode(&self, iv: [u8; 16], p: &NonceParams) -> String {
        let mut d = [0u8; 33];
        d[..16].copy_from_slice(&iv);
        d[16..28].copy_from_slice(&p.pack());
        for i in 0..16 {
            d[16 + i] ^= iv[i];
        }
        for block in d[..32].chunks_exact_mut(16) {
            self.0.encrypt_block(GenericArray::from_mut_slice(block));
        }
        b64_encode(&d)
    }

    /// A fresh nonce for `p`: the random block from the process's CSPRNG
    /// (ChaCha seeded from the OS, reseeded after fork), as stock takes it
    /// from OpenSSL's.
    pub fn issue(&self, p: &NonceParams) -> String {
        use rand::RngCore;
        let mut iv = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut iv);
        self.encode(iv, p)
    }

    /// Decodes a nonce made with this secret; None for anything else.
    pub fn decode(&self, nonce: &[u8]) -> Option<Decoded> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let mut d = b64_decode(nonce)?;
        if d.len() != 33 || d[32] != 0 {
            return None;
        }
        for block in d[..32].chunks_exact_mut(16) {
            self.0.decrypt_block(GenericArray::from_mut_slice(block));
        }
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&d[..16]);
        for i in 0..16 {
            d[16 + i] ^= iv[i];
        }
        let params = NonceParams::unpack(&d[16..28]);
        if params.expires_usec >= 1_000_000 || d[28..32] != [0; 4] {
            return None;
        }
        Some(Decoded { params, iv })
    }
}

/// Stale as stock's is_nonce_stale: expired, or expiring further ahead than
/// a nonce issued now would (`now_us`, `expire` in seconds).
pub fn is_stale(p: &NonceParams, now_us: u64, expire: u32) -> bool {
    let exp = p.expires_us();
    now_us >= exp || now_us + expire as u64 * 1_000_000 < exp
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn iv() -> [u8; 16] {
        std::array::from_fn(|i| (i * 17 + 3) as u8)
    }

    fn params() -> NonceParams {
        NonceParams {
            expires_sec: 1_700_000_030,
            expires_usec: 123_456,
            index: 77,
            qop: QOP_AUTH,
            alg: 3,
        }
    }

    /// The C struct's bytes, as gcc packs it on x86_64 (captured from a
    /// probe compiled with the stock declaration).
    #[test]
    fn payload_layout_is_the_c_structs() {
        let p = NonceParams {
            index: 0x0102_0304,
            qop: 4,
            alg: 5,
            expires_sec: 1_700_000_123,
            expires_usec: 999_999,
        };
        assert_eq!(
            p.pack(),
            [0x04, 0x03, 0x02, 0x01, 0xec, 0x5e, 0xfc, 0x54, 0x19, 0x3f, 0x42, 0x0f]
        );
        assert_eq!(NonceParams::unpack(&p.pack()), p);
    }

    /// A nonce made by OpenSSL's EVP AES-256-ECB the way dauth_nonce.c
    /// does, with a fixed random block: byte for byte the same, and it
    /// decodes back.
    #[test]
    fn matches_the_stock_encoding() {
        let k = NonceKey::new(SECRET).unwrap();
        let n = k.encode(iv(), &params());
        assert_eq!(n, "6itGmkUU4YZh6Cvtpy9fsQNf9oMzQEgipcZjrLpjCn8A");
        assert_eq!(n.len(), NONCE_LEN);
        let d = k.decode(n.as_bytes()).unwrap();
        assert_eq!(d.params, params());
        assert_eq!(d.iv, iv());
        // fresh nonces differ (random block) and decode to the same params
        let (a, b) = (k.issue(&params()), k.issue(&params()));
        assert_ne!(a, b);
        assert_eq!(k.decode(a.as_bytes()).unwrap().params, params());
    }

    #[test]
    fn refuses_what_the_secret_did_not_make() {
        let k = NonceKey::new(SECRET).unwrap();
        let n = k.encode(iv(), &params());
        let other = NonceKey::new(b"fedcba9876543210fedcba9876543210").unwrap();
        assert_eq!(other.decode(n.as_bytes()), None);
        assert_eq!(k.decode(&n.as_bytes()[..43]), None);
        assert_eq!(k.decode(format!("{n}A").as_bytes()), None);
        assert_eq!(
            k.decode(b"not base64 at all, not base64 at all, nope!!"),
            None
        );
        // two equal cipher blocks decode to an all-zero payload (as with
        // stock): expired since 1970, so stale
        let zero = k.decode(&[b'A'; 44]).unwrap();
        assert_eq!(zero.params, NonceParams::default());
        assert!(is_stale(&zero.params, 1_700_000_000_000_000, 30));
        // every single-character change is refused
        for i in 0..NONCE_LEN {
            let mut t = n.clone().into_bytes();
            t[i] = if t[i] == b'B' { b'C' } else { b'B' };
            assert_eq!(k.decode(&t), None, "changed at {i}");
        }
        assert!(NonceKey::new(b"short").is_none());
    }

    #[test]
    fn stale_window() {
        let p = params();
        let exp = p.expires_us();
        assert!(!is_stale(&p, exp - 1, 30));
        assert!(is_stale(&p, exp, 30));
        // issued further ahead than nonce_expire from now: refused
        assert!(is_stale(&p, exp - 30_000_001, 30));
        assert!(!is_stale(&p, exp - 30_000_000, 30));
    }
}
