//! Server nonces in the exact format of Kamailio 5.6.3's `auth` module, so a
//! nonce issued by a stock node verifies here with the same `secret` and back.
//!
//! `base64(expire(4) | since(4) | MD5(expire | since [| nid | pf] | secret1)
//!   [| MD5(checked request parts | secret2)] [| nid(4) | pf(1)])`, integers in
//! network order. `pf`: bit 7 = valid for nonce-count, bit 6 = valid for one-time
//! nonce, bits 5..0 = the pool. The nid and pf are present (and covered by the
//! first MD5) only when nonce-count or one-time nonces are on.
//!
//! The shared state (per-pool nonce ids, nc bytes, one-time bits) is handled
//! here over plain atomics, so the same code runs over shared memory in the
//! module and over a `Vec` in the unit tests. Checking never changes state:
//! the nc or one-time slot is used up only by [`commit`], after the response
//! has been verified (the stock module burns it before the password check).

use md5::{Digest, Md5};
use std::sync::atomic::{AtomicU32, Ordering};

pub const NF_VALID_NC_ID: u8 = 128;
pub const NF_VALID_OT_ID: u8 = 64;
pub const NF_POOL_NO_MASK: u8 = 63;
/// Added to a pool's id for each nonce (as the stock module, to spread ids).
pub const NID_INC: u32 = 257;
pub const MAX_NID_POOL_SIZE: u32 = 64;
/// Shortest binary nonce: expire, since, one MD5.
pub const MIN_BIN_NONCE_LEN: usize = 24;
/// Longest binary nonce the stock decoder accepts (sizeof its padded union).
pub const MAX_BIN_NONCE_DECODED: usize = 48;

/// `auth_checks_*` bits: what of the request the second MD5 covers.
pub const AUTH_CHECK_FULL_URI: u32 = 1;
pub const AUTH_CHECK_CALLID: u32 = 2;
pub const AUTH_CHECK_FROMTAG: u32 = 4;
pub const AUTH_CHECK_SRC_IP: u32 = 8;

/// The two secrets derived from the `secret` parameter as the stock module does.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub s1: Vec<u8>,
    pub s2: Vec<u8>,
}

impl Secrets {
    /// With any auth_checks_* on, the configured secret is split in two halves
    /// (the second half is `len/2` bytes); else all of it is secret1.
    pub fn from_param(secret: &[u8], any_checks: bool) -> Secrets {
        if any_checks {
            let l2 = secret.len() / 2;
            let l1 = secret.len() - l2;
            Secrets {
                s1: secret[..l1].to_vec(),
                s2: secret[l1..].to_vec(),
            }
        } else {
            Secrets {
                s1: secret.to_vec(),
                s2: Vec::new(),
            }
        }
    }
}

/// The request parts the auth_checks_* bits select (already picked per bit
/// by the caller: None when the bit is off or the part is missing).
#[derive(Default, Clone, Debug)]
pub struct CheckedParts<'a> {
    pub ruri: Option<&'a [u8]>,
    pub callid: Option<&'a [u8]>,
    pub from_tag: Option<&'a [u8]>,
    pub src_ip: Option<&'a [u8]>,
}

/// Standard base64 with padding (the core's `base64_enc`).
pub fn b64_encode(src: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(src.len().div_ceil(3) * 4);
    for ch in src.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if ch.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if ch.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Strict standard base64 decoding; None for anything malformed.
pub fn b64_decode(src: &[u8]) -> Option<Vec<u8>> {
    if src.len() < 4 || !src.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let pad = src.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let body = &src[..src.len() - pad];
    for ch in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in ch.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if ch.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if ch.len() > 3 {
            out.push(n as u8);
        }
        if ch.len() == 1 {
            return None;
        }
    }
    Some(out)
}

fn md5_1(expire: u32, since: u32, nid: Option<(u32, u8)>, s1: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(expire.to_be_bytes());
    h.update(since.to_be_bytes());
    if let Some((id, pf)) = nid {
        h.update(id.to_be_bytes());
        h.update([pf]);
    }
    h.update(s1);
    h.finalize().into()
}

fn md5_2(parts: &CheckedParts, s2: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in [parts.ruri, parts.callid, parts.from_tag, parts.src_ip]
        .into_iter()
        .flatten()
    {
        h.update(p);
    }
    h.update(s2);
    h.finalize().into()
}

/// Builds a nonce. `cfg` is the auth_checks value for this request (0: none);
/// `nid` is (id, pf) when nonce-count or one-time nonces are on.
pub fn build(
    cfg: u32,
    since: u32,
    expire: u32,
    nid: Option<(u32, u8)>,
    secrets: &Secrets,
    parts: &CheckedParts,
) -> String {
    let nid = nid.filter(|(_, pf)| pf & (NF_VALID_NC_ID | NF_VALID_OT_ID) != 0);
    let mut b = Vec::with_capacity(45);
    b.extend_from_slice(&expire.to_be_bytes());
    b.extend_from_slice(&since.to_be_bytes());
    b.extend_from_slice(&md5_1(expire, since, nid, &secrets.s1));
    if cfg != 0 {
        b.extend_from_slice(&md5_2(parts, &secrets.s2));
    }
    if let Some((id, pf)) = nid {
        b.extend_from_slice(&id.to_be_bytes());
        b.push(pf);
    }
    b64_encode(&b)
}

/// What a nonce that passed [`check`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub expire: u32,
    pub since: u32,
    pub nid: u32,
    pub pf: u8,
    /// The nc to record in [`commit`] (nonce-count applies to this request).
    pub nc: Option<u32>,
    /// The one-time slot to use up in [`commit`].
    pub otn: bool,
}

/// Why a nonce was refused; the numbers are the stock check_nonce's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceError {
    /// -1: missing or not decodable.
    Invalid,
    /// 1: shorter than the shortest nonce.
    TooShort,
    /// 2: not made with our secret, or truncated.
    NoMatch,
    /// 3: made with our secret, but for other request parts (auth_checks).
    ExtraChecks,
    /// 4: expired, from before start, from the future, or a used-up nc.
    Stale,
    /// 5: an nc that is not 8 hex digits.
    BadNc,
    /// 6: a one-time nonce used again.
    Reused,
}

impl NonceError {
    pub fn code(self) -> i32 {
        match self {
            NonceError::Invalid => -1,
            NonceError::TooShort => 1,
            NonceError::NoMatch => 2,
            NonceError::ExtraChecks => 3,
            NonceError::Stale => 4,
            NonceError::BadNc => 5,
            NonceError::Reused => 6,
        }
    }
}

/// Nonce-count and one-time-nonce state over atomics (shared memory in the
/// module). Sizes are powers of two, as the stock module rounds them. A copy
/// is another handle on the same atomics.
#[derive(Clone, Copy)]
pub struct State<'a> {
    /// One counter per pool.
    pub nid: &'a [AtomicU32],
    /// nc bytes, four per word (empty when nonce_count is off).
    pub nc: &'a [AtomicU32],
    /// nc array size in bytes (2^k).
    pub nc_size: u32,
    /// One-time bits, 32 per word (empty when one_time_nonce is off).
    pub otn: &'a [AtomicU32],
    /// Number of one-time slots (2^k).
    pub otn_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    InvalidPool,
    IdOverflow,
    TooBig,
    Replay,
}

impl State<'_> {
    fn pools(&self) -> u32 {
        self.nid.len() as u32
    }
    fn partition(&self, size: u32) -> u32 {
        size / self.pools()
    }
    /// Draws a new id in `pool` and resets its nc / one-time slots.
    pub fn new_id(&self, pool: u32, nc_on: bool, otn_on: bool) -> u32 {
        let pool = pool % self.pools();
        let id = self.nid[pool as usize]
            .fetch_add(NID_INC, Ordering::AcqRel)
            .wrapping_add(NID_INC);
        if nc_on {
            let (w, sh) = self.nc_pos(id, pool);
            self.nc[w].fetch_and(!(0xffu32 << sh), Ordering::AcqRel);
        }
        if otn_on {
            let (w, bit) = self.otn_pos(id, pool);
            self.otn[w].fetch_and(!(1u32 << bit), Ordering::AcqRel);
        }
        id
    }
    fn overflow(&self, id: u32, pool: u32, size: u32) -> bool {
        let cur = self.nid[pool as usize].load(Ordering::Acquire);
        cur.wrapping_sub(id) >= NID_INC.wrapping_mul(self.partition(size))
    }
    fn nc_pos(&self, id: u32, pool: u32) -> (usize, u32) {
        let part = self.partition(self.nc_size);
        let n = (id & (part - 1)) + pool * part;
        ((n / 4) as usize, (n % 4) * 8)
    }
    fn otn_pos(&self, id: u32, pool: u32) -> (usize, u32) {
        let part = self.partition(self.otn_size);
        let n = (id & (part - 1)) + pool * part;
        ((n / 32) as usize, n % 32)
    }
    /// Would `nc` be accepted for (id, pool)? Changes nothing.
    pub fn nc_peek(&self, id: u32, pool: u32, nc: u32) -> Result<(), SlotError> {
        if pool >= self.pools() || self.nc.is_empty() {
            return Err(SlotError::InvalidPool);
        }
        if self.overflow(id, pool, self.nc_size) {
            return Err(SlotError::IdOverflow);
        }
        if nc >= 256 {
            return Err(SlotError::TooBig);
        }
        let (w, sh) = self.nc_pos(id, pool);
        let cur = (self.nc[w].load(Ordering::Acquire) >> sh) & 0xff;
        if cur >= nc {
            return Err(SlotError::Replay);
        }
        Ok(())
    }
    /// Records `nc` for (id, pool) if it is still greater than the stored one.
    pub fn nc_commit(&self, id: u32, pool: u32, nc: u32) -> Result<(), SlotError> {
        self.nc_peek(id, pool, nc)?;
        let (w, sh) = self.nc_pos(id, pool);
        let cell = &self.nc[w];
        let mut v = cell.load(Ordering::Acquire);
        loop {
            if (v >> sh) & 0xff >= nc {
                return Err(SlotError::Replay);
            }
            let new = (v & !(0xff << sh)) | (nc << sh);
            match cell.compare_exchange_weak(v, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(cur) => v = cur,
            }
        }
    }
    /// Is the one-time slot of (id, pool) still unused? Changes nothing.
    pub fn otn_peek(&self, id: u32, pool: u32) -> Result<(), SlotError> {
        if pool >= self.pools() || self.otn.is_empty() {
            return Err(SlotError::InvalidPool);
        }
        if self.overflow(id, pool, self.otn_size) {
            return Err(SlotError::IdOverflow);
        }
        let (w, bit) = self.otn_pos(id, pool);
        if self.otn[w].load(Ordering::Acquire) & (1 << bit) != 0 {
            return Err(SlotError::Replay);
        }
        Ok(())
    }
    /// Uses up the one-time slot; Err when another request got it first.
    pub fn otn_commit(&self, id: u32, pool: u32) -> Result<(), SlotError> {
        self.otn_peek(id, pool)?;
        let (w, bit) = self.otn_pos(id, pool);
        if self.otn[w].fetch_or(1 << bit, Ordering::AcqRel) & (1 << bit) != 0 {
            return Err(SlotError::Replay);
        }
        Ok(())
    }
}

/// What [`check`] needs besides the nonce.
pub struct CheckCtx<'a> {
    pub cfg: u32,
    pub secrets: &'a Secrets,
    pub parts: CheckedParts<'a>,
    pub now: u32,
    pub up_since: u32,
    pub max_drift: u32,
    pub nc_enabled: bool,
    pub otn_enabled: bool,
    /// The nc field of the credentials, if any.
    pub nc: Option<&'a [u8]>,
}

fn parse_nc(s: &[u8]) -> Option<u32> {
    if s.len() != 8 {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    if !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(t, 16).ok()
}

/// Checks a nonce as the stock check_nonce does, in the same order, without
/// changing any state (the nc and one-time slot are only peeked at).
pub fn check(nonce: &[u8], ctx: &CheckCtx, state: Option<&State>) -> Result<Verified, NonceError> {
    if nonce.is_empty() {
        return Err(NonceError::Invalid);
    }
    if nonce.len() < MIN_BIN_NONCE_LEN.div_ceil(3) * 4 {
        return Err(NonceError::TooShort);
    }
    let b = b64_decode(nonce).ok_or(NonceError::Invalid)?;
    if b.len() < MIN_BIN_NONCE_LEN || b.len() > MAX_BIN_NONCE_DECODED {
        return Err(NonceError::Invalid);
    }
    let be = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let (expire, since) = (be(0), be(4));
    let now = ctx.now;
    // signed as the stock module's int/time_t comparisons
    if (since as i32) < (ctx.up_since.min(now) as i32) && (since as i32) < now as i32 {
        return Err(NonceError::Stale);
    }
    if since as i32 > now as i32 && (since as i32 - now as i32) as u32 > ctx.max_drift {
        return Err(NonceError::Stale);
    }
    // where nid|pf sit: after the 2nd MD5 with auth checks, else after the 1st
    let nid_off = if ctx.cfg != 0 { 40 } else { 24 };
    let (nid, pf) = if b.len() >= nid_off + 5 {
        (be(nid_off), b[nid_off + 4])
    } else if b.len() >= nid_off + 4 {
        (be(nid_off), 0)
    } else {
        (0, 0)
    };
    let flagged = pf & (NF_VALID_NC_ID | NF_VALID_OT_ID) != 0;
    let want = md5_1(expire, since, flagged.then_some((nid, pf)), &ctx.secrets.s1);
    if !ct_eq(&b[8..24], &want) {
        return Err(NonceError::NoMatch);
    }
    let pool = (pf & NF_POOL_NO_MASK) as u32;
    let mut v = Verified {
        expire,
        since,
        nid,
        pf,
        nc: None,
        otn: false,
    };
    let mut nc_ok = false;
    if let (true, true, Some(ncs)) = (
        ctx.nc_enabled,
        pf & NF_VALID_NC_ID != 0,
        ctx.nc.filter(|s| !s.is_empty()),
    ) {
        let nc = parse_nc(ncs).ok_or(NonceError::BadNc)?;
        let st = state.ok_or(NonceError::Stale)?;
        st.nc_peek(nid, pool, nc).map_err(|_| NonceError::Stale)?;
        v.nc = Some(nc);
        nc_ok = true;
    }
    if !nc_ok {
        if ctx.otn_enabled && pf & NF_VALID_OT_ID != 0 {
            let st = state.ok_or(NonceError::Reused)?;
            st.otn_peek(nid, pool).map_err(|_| NonceError::Reused)?;
            v.otn = true;
        }
        if ctx.cfg != 0 {
            let expect_len = 40 + if flagged { 5 } else { 0 };
            if b.len() != expect_len {
                return Err(NonceError::NoMatch);
            }
            if !ct_eq(&b[24..40], &md5_2(&ctx.parts, &ctx.secrets.s2)) {
                return Err(NonceError::ExtraChecks);
            }
        }
    }
    if (expire as i32) < now as i32 {
        return Err(NonceError::Stale);
    }
    Ok(v)
}

/// Uses up what [`check`] only peeked at, once the response is verified.
/// Err(Stale) for a used-up nc, Err(Reused) for a used-up one-time slot (a
/// concurrent request with the same credentials won).
pub fn commit(v: &Verified, state: Option<&State>) -> Result<(), NonceError> {
    let pool = (v.pf & NF_POOL_NO_MASK) as u32;
    if let Some(nc) = v.nc {
        let st = state.ok_or(NonceError::Stale)?;
        st.nc_commit(v.nid, pool, nc)
            .map_err(|_| NonceError::Stale)?;
    } else if v.otn {
        let st = state.ok_or(NonceError::Reused)?;
        st.otn_commit(v.nid, pool).map_err(|_| NonceError::Reused)?;
    }
    Ok(())
}

/// Constant-time equality of two byte strings of the same length.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atomics(n: usize, v: u32) -> Vec<AtomicU32> {
        (0..n).map(|_| AtomicU32::new(v)).collect()
    }

    fn ctx<'a>(s: &'a Secrets, now: u32) -> CheckCtx<'a> {
        CheckCtx {
            cfg: 0,
            secrets: s,
            parts: CheckedParts::default(),
            now,
            up_since: now - 100,
            max_drift: 3,
            nc_enabled: false,
            otn_enabled: false,
            nc: None,
        }
    }

    #[test]
    fn base64_roundtrip_and_strictness() {
        for n in 0..50 {
            let v: Vec<u8> = (0..n as u8).map(|x| x.wrapping_mul(37)).collect();
            let e = b64_encode(&v);
            if n > 0 {
                assert_eq!(b64_decode(e.as_bytes()).unwrap(), v);
            }
        }
        assert_eq!(b64_encode(b"Man"), "TWFu");
        assert_eq!(b64_encode(b"Ma"), "TWE=");
        assert!(b64_decode(b"TW=u").is_none());
        assert!(b64_decode(b"TWF").is_none());
        assert!(b64_decode(b"TW\x00u").is_none());
        assert!(b64_decode(b"T===").is_none());
    }

    /// The stock 5.6.3 layout, byte by byte (nonce.h): base64 of
    /// expire|since|MD5(expire|since|secret1) [|MD5(parts|secret2)] [|nid|pf].
    /// (That stock nodes accept ours and back is shown by the integration test
    /// mixed_pair_shares_nonces.)
    #[test]
    fn stock_layout() {
        let s = Secrets::from_param(b"s3cr3t", false);
        let n = build(0, 1000, 1300, None, &s, &CheckedParts::default());
        assert_eq!(n.len(), 32);
        let b = b64_decode(n.as_bytes()).unwrap();
        assert_eq!(&b[0..4], &1300u32.to_be_bytes());
        assert_eq!(&b[4..8], &1000u32.to_be_bytes());
        let mut h = Md5::new();
        h.update(&b[0..8]);
        h.update(b"s3cr3t");
        assert_eq!(&b[8..24], h.finalize().as_slice());
        // with nc: 29 bytes = 40 base64 chars, nid|pf covered by the md5
        let n = build(
            0,
            1000,
            1300,
            Some((7, NF_VALID_NC_ID | 2)),
            &s,
            &CheckedParts::default(),
        );
        assert_eq!(n.len(), 40);
        // with auth checks and nc: 45 bytes = 60 chars
        let s2 = Secrets::from_param(b"0123456789abcdefXYZ", true);
        assert_eq!((s2.s1.len(), s2.s2.len()), (10, 9));
        let n = build(
            1,
            1000,
            1300,
            Some((7, NF_VALID_NC_ID)),
            &s2,
            &CheckedParts::default(),
        );
        assert_eq!(n.len(), 60);
    }

    #[test]
    fn check_expiry_drift_secret_truncation() {
        let s = Secrets::from_param(b"secret", false);
        let now = 1_700_000_000;
        let p = CheckedParts::default();
        let good = build(0, now, now + 300, None, &s, &p);
        assert!(check(good.as_bytes(), &ctx(&s, now + 10), None).is_ok());
        // expired
        assert_eq!(
            check(good.as_bytes(), &ctx(&s, now + 301), None),
            Err(NonceError::Stale)
        );
        // from before start
        let mut c = ctx(&s, now + 10);
        c.up_since = now + 5;
        assert_eq!(check(good.as_bytes(), &c, None), Err(NonceError::Stale));
        // from the future beyond the drift
        let fut = build(0, now + 10, now + 310, None, &s, &p);
        assert_eq!(
            check(fut.as_bytes(), &ctx(&s, now), None),
            Err(NonceError::Stale)
        );
        let fut = build(0, now + 3, now + 303, None, &s, &p);
        assert!(check(fut.as_bytes(), &ctx(&s, now), None).is_ok());
        // another secret
        let o = Secrets::from_param(b"other", false);
        assert_eq!(
            check(good.as_bytes(), &ctx(&o, now), None),
            Err(NonceError::NoMatch)
        );
        // tampered expire
        let mut b = b64_decode(good.as_bytes()).unwrap();
        b[3] ^= 1;
        let t = b64_encode(&b);
        assert_eq!(
            check(t.as_bytes(), &ctx(&s, now), None),
            Err(NonceError::NoMatch)
        );
        // truncated / garbage / empty
        assert_eq!(
            check(&good.as_bytes()[..28], &ctx(&s, now), None),
            Err(NonceError::TooShort)
        );
        assert_eq!(check(b"", &ctx(&s, now), None), Err(NonceError::Invalid));
        assert_eq!(
            check(&[b'!'; 40], &ctx(&s, now), None),
            Err(NonceError::Invalid)
        );
        assert_eq!(
            check(&[b'A'; 400], &ctx(&s, now), None),
            Err(NonceError::Invalid)
        );
    }

    #[test]
    fn auth_checks() {
        let s = Secrets::from_param(b"0123456789abcdef0123456789abcdef", true);
        let now = 1_700_000_000;
        let p = CheckedParts {
            callid: Some(b"call-1"),
            ..Default::default()
        };
        let n = build(2, now, now + 300, None, &s, &p);
        let mut c = ctx(&s, now);
        c.cfg = 2;
        c.parts = p.clone();
        assert!(check(n.as_bytes(), &c, None).is_ok());
        c.parts.callid = Some(b"call-2");
        assert_eq!(check(n.as_bytes(), &c, None), Err(NonceError::ExtraChecks));
    }

    #[test]
    fn nonce_count_and_one_time() {
        let nid = atomics(2, 5);
        let nc = atomics(1024 / 4, u32::MAX);
        let otn = atomics(1024 / 32, u32::MAX);
        let st = State {
            nid: &nid,
            nc: &nc,
            nc_size: 1024,
            otn: &otn,
            otn_size: 1024,
        };
        let s = Secrets::from_param(b"k", false);
        let now = 1_700_000_000;
        let id = st.new_id(1, true, false);
        let n = build(
            0,
            now,
            now + 30,
            Some((id, NF_VALID_NC_ID | 1)),
            &s,
            &CheckedParts::default(),
        );
        let mut c = ctx(&s, now);
        c.nc_enabled = true;
        c.nc = Some(b"00000001");
        let v = check(n.as_bytes(), &c, Some(&st)).unwrap();
        assert_eq!(v.nc, Some(1));
        // a check alone uses nothing up
        assert!(check(n.as_bytes(), &c, Some(&st)).is_ok());
        commit(&v, Some(&st)).unwrap();
        // replayed nc: stale; the next nc is fine
        assert_eq!(check(n.as_bytes(), &c, Some(&st)), Err(NonceError::Stale));
        assert_eq!(commit(&v, Some(&st)), Err(NonceError::Stale));
        c.nc = Some(b"0000000A");
        assert!(check(n.as_bytes(), &c, Some(&st)).is_ok());
        c.nc = Some(b"0000001");
        assert_eq!(check(n.as_bytes(), &c, Some(&st)), Err(NonceError::BadNc));
        c.nc = Some(b"00000100");
        assert_eq!(check(n.as_bytes(), &c, Some(&st)), Err(NonceError::Stale));
        // a nonce id from before start (slots all set) is refused
        let n2 = build(
            0,
            now,
            now + 30,
            Some((id + NID_INC, NF_VALID_NC_ID | 1)),
            &s,
            &CheckedParts::default(),
        );
        c.nc = Some(b"00000001");
        assert_eq!(check(n2.as_bytes(), &c, Some(&st)), Err(NonceError::Stale));

        // one-time nonce
        let id = st.new_id(0, false, true);
        let n = build(
            0,
            now,
            now + 30,
            Some((id, NF_VALID_OT_ID)),
            &s,
            &CheckedParts::default(),
        );
        let mut c = ctx(&s, now);
        c.otn_enabled = true;
        let v = check(n.as_bytes(), &c, Some(&st)).unwrap();
        assert!(v.otn);
        assert!(check(n.as_bytes(), &c, Some(&st)).is_ok());
        commit(&v, Some(&st)).unwrap();
        assert_eq!(check(n.as_bytes(), &c, Some(&st)), Err(NonceError::Reused));
        assert_eq!(commit(&v, Some(&st)), Err(NonceError::Reused));
        // an id older than a whole partition has overflowed
        for _ in 0..600 {
            st.new_id(0, false, true);
        }
        assert_eq!(st.otn_peek(id, 0), Err(SlotError::IdOverflow));
        assert_eq!(st.otn_peek(id, 5), Err(SlotError::InvalidPool));
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
