//! The nonce index of OpenSIPS-format nonces: each nonce is good for one
//! authentication. Stock OpenSIPS reserves a bit in a ring of 100,000 per
//! challenge; here a challenge costs nothing, and the nonces that *were
//! used* are kept (in shared memory, by their random block) until they
//! expire:
//!
//! - replays are refused from the first second (no ring to prime);
//! - no ceiling on challenges: an unauthenticated flood of requests cannot
//!   exhaust it; memory grows with successful authentications within one
//!   `nonce_expire` (about 32 bytes each) and is reused as they expire;
//! - a nonce is looked up by pre_auth and recorded only once the response
//!   matched (a wrong password burns nothing).
//!
//! In a cluster, each use is also sent to the other nodes (`Replicate`),
//! which record it too: a nonce used on one node is refused on the others
//! once the record has arrived (a replay within that delay, about a
//! network round trip, still passes on another node).

use crate::ports::replicate::Replicate;
use crate::ports::shm::{RawLock, ShmMutex};
use foldhash::fast::FixedState;

/// Nonces used (by random block), with their expiry in microseconds.
type Used<A> = hashbrown::HashMap<u128, u64, FixedState, A>;

/// Why a nonce cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkError {
    /// It was used already (here, or on another node).
    Used,
    /// Shared memory is exhausted: refused rather than left unprotected.
    Full,
}

/// One use as a record for the other nodes: the random block and the
/// expiry, little-endian.
pub const RECORD_LEN: usize = 24;

pub fn record(key: u128, expires_us: u64) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..16].copy_from_slice(&key.to_le_bytes());
    r[16..].copy_from_slice(&expires_us.to_le_bytes());
    r
}

pub fn parse_record(r: &[u8]) -> Option<(u128, u64)> {
    if r.len() != RECORD_LEN {
        return None;
    }
    let key = u128::from_le_bytes(r[..16].try_into().ok()?);
    let exp = u64::from_le_bytes(r[16..].try_into().ok()?);
    Some((key, exp))
}

/// The used nonces, in shared memory behind the host's lock; the handle is
/// copied into every process at fork.
pub struct NonceIndex<L: RawLock, R: Replicate> {
    used: ShmMutex<Used<L::Alloc>, L>,
    replicate: R,
}

impl<L: RawLock, R: Replicate> NonceIndex<L, R> {
    /// Allocates the (empty) index; in mod_init, before the workers fork.
    pub fn new(replicate: R) -> Result<NonceIndex<L, R>, String> {
        let map = Used::with_hasher_in(FixedState::with_seed(0x6e6f6e6365), L::Alloc::default());
        Ok(NonceIndex {
            used: ShmMutex::new(map)?,
            replicate,
        })
    }

    /// Whether the nonce with this random block was used.
    pub fn is_used(&self, key: u128) -> bool {
        self.used.lock().contains_key(&key)
    }

    /// Records a use here (without sending it): expired entries make room
    /// first, so that memory follows the live uses.
    fn insert(&self, key: u128, expires_us: u64, now_us: u64) -> Result<(), MarkError> {
        let mut m = self.used.lock();
        if m.contains_key(&key) {
            return Err(MarkError::Used);
        }
        if m.len() >= m.capacity() {
            m.retain(|_, exp| *exp > now_us);
        }
        if m.try_reserve(1).is_err() {
            return Err(MarkError::Full);
        }
        m.insert(key, expires_us);
        Ok(())
    }

    /// Records a use after a matching response, and tells the other nodes.
    pub fn mark(&self, key: u128, expires_us: u64, now_us: u64) -> Result<(), MarkError> {
        self.insert(key, expires_us, now_us)?;
        if let Err(e) = self.replicate.send_all(&record(key, expires_us)) {
            crate::warn!("nonce use not sent to the cluster: {e}");
        }
        Ok(())
    }

    /// A use another node recorded (ignored when expired or known).
    pub fn apply(&self, rec: &[u8], now_us: u64) -> Result<(), String> {
        let (key, exp) = parse_record(rec).ok_or("malformed nonce-index record")?;
        if exp <= now_us {
            return Ok(());
        }
        match self.insert(key, exp, now_us) {
            Ok(()) | Err(MarkError::Used) => Ok(()),
            Err(MarkError::Full) => Err("out of shared memory for the nonce index".into()),
        }
    }

    /// Every live use, for a node that joins.
    pub fn snapshot(&self, now_us: u64, push: &mut dyn FnMut(&[u8]) -> bool) {
        let live: Vec<(u128, u64)> = {
            let m = self.used.lock();
            m.iter()
                .filter(|(_, exp)| **exp > now_us)
                .map(|(k, e)| (*k, *e))
                .collect()
        };
        for (k, e) in live {
            if !push(&record(k, e)) {
                break;
            }
        }
    }

    /// How many uses are kept (live or not yet swept).
    pub fn len(&self) -> usize {
        self.used.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::mock::MockLock;
    use crate::ports::replicate::NoReplication;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A cluster bus on plain values: what one node sends, the test hands
    /// to the other.
    #[derive(Clone, Default)]
    struct Bus(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Replicate for Bus {
        fn send_all(&self, r: &[u8]) -> Result<(), String> {
            self.0.borrow_mut().push(r.to_vec());
            Ok(())
        }
    }

    #[test]
    fn once_each_and_memory_follows_the_live_uses() {
        let ix = NonceIndex::<MockLock, _>::new(NoReplication).unwrap();
        assert!(!ix.is_used(7));
        assert_eq!(ix.mark(7, 2_000, 1_000), Ok(()));
        assert!(ix.is_used(7));
        assert_eq!(ix.mark(7, 2_000, 1_000), Err(MarkError::Used));
        // many uses, then all expire: the next insert past capacity sweeps
        for k in 100..10_100u128 {
            ix.mark(k, 5_000, 1_000).unwrap();
        }
        assert_eq!(ix.len(), 10_001);
        let mut k = 20_000u128;
        let mut last = ix.len();
        loop {
            ix.mark(k, 90_000, 10_000).unwrap();
            k += 1;
            if ix.len() < last {
                break;
            }
            last = ix.len();
            assert!(k < 60_000, "expired uses never swept");
        }
        // what is swept is only what expired: the live uses all stay
        assert_eq!(ix.len() as u128, k - 20_000);
        assert!(!ix.is_used(7) && !ix.is_used(100));
        assert!(ix.is_used(20_000) && ix.is_used(k - 1));
    }

    /// Two nodes on one bus: a use on A is refused on B once the record
    /// arrived; a snapshot brings a joining node up to date; expired and
    /// malformed records change nothing.
    #[test]
    fn uses_travel_between_nodes() {
        let bus = Bus::default();
        let a = NonceIndex::<MockLock, _>::new(bus.clone()).unwrap();
        let b = NonceIndex::<MockLock, _>::new(NoReplication).unwrap();
        a.mark(42, 9_000, 1_000).unwrap();
        a.mark(43, 1_500, 1_000).unwrap();
        assert!(!b.is_used(42));
        for r in bus.0.borrow().iter() {
            b.apply(r, 1_000).unwrap();
        }
        assert!(b.is_used(42) && b.is_used(43));
        assert!(b.apply(b"short", 1_000).is_err());
        b.apply(&record(44, 900), 1_000).unwrap();
        assert!(!b.is_used(44));
        // a node that joins later: the live uses only
        let c = NonceIndex::<MockLock, _>::new(NoReplication).unwrap();
        a.snapshot(2_000, &mut |r| c.apply(r, 2_000).is_ok());
        assert!(c.is_used(42) && !c.is_used(43));
    }
}
