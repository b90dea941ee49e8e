//! Where the registry keeps the accounts' text fields, in as few bytes of
//! shared memory as we can: with 100,000 accounts in OpenSIPS's default
//! 32 MB, every byte an account does not take is room for tm's transactions,
//! and so speed (the registrant paces its REGISTERs by free memory).
//!
//! - Texts live in chunks of [`TEXT_CHUNK`] bytes filled one after the other
//!   (one allocation per 64 KiB, not one per account: the host allocator's
//!   per-block overhead would cost more than the texts); a chunk whose texts
//!   are all gone is freed.
//! - An account's fields are joined by NUL bytes (no field may hold one),
//!   trailing empty fields left out, the shared ones (below) not there at all.
//! - The fields most accounts share with others (the registrar, the proxy,
//!   the socket, the domain: the [`Shape`]'s shared set) are kept once per
//!   distinct combination, a *profile*, counted by reference; an account
//!   keeps its own fields and the number of its profile. A table of one
//!   carrier has one profile.

use super::account::{Shape, TEXT_FIELDS};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec as AVec;
use hashbrown::HashTable;
use std::hash::BuildHasher;

// A field set is a u16 bit set.
const _: () = assert!(TEXT_FIELDS <= 16);

/// Bytes of the chunks the texts are kept in.
pub const TEXT_CHUNK: usize = 64 * 1024;

/// Why texts could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextsError {
    /// The allocator refused (or 65,536 chunks are in use).
    NoMemory,
    /// Longer than 65,535 bytes (the row checks bound them far below).
    TooLong,
}

/// Where one account's texts are: 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRef {
    /// chunk << 16 | offset in the chunk.
    at: u32,
    len: u16,
    /// 1-based profile number; 0: none (every field is in the own text).
    profile: u16,
}

/// One distinct combination of shared fields.
struct Profile {
    at: u32,
    len: u16,
    /// Accounts naming it; 0: a free place.
    refs: u32,
}

/// An account's texts as the registry reads them.
#[derive(Clone, Copy)]
pub struct TextView<'a> {
    own: &'a [u8],
    shared: &'a [u8],
    /// Which fields come from `shared` (bit i: field i).
    mask: u16,
}

impl<'a> TextView<'a> {
    /// Field `i` (empty when not set): the n-th of the shared or of the
    /// own fields.
    pub fn field(&self, i: usize) -> &'a [u8] {
        let below = (1u16 << i) - 1;
        let (from, n) = if self.mask & (1 << i) != 0 {
            (self.shared, self.mask & below)
        } else {
            (self.own, !self.mask & below)
        };
        from.split(|&b| b == 0)
            .nth(n.count_ones() as usize)
            .unwrap_or_default()
    }
}

pub struct Texts<A: Allocator + Clone> {
    chunks: AVec<AVec<u8, A>, A>,
    /// Bytes of live texts per chunk.
    live: AVec<u32, A>,
    /// The chunk being filled.
    cur: usize,
    profiles: AVec<Profile, A>,
    /// Profile numbers by their text.
    by_text: HashTable<u16, A>,
    /// Which fields the profiles hold.
    mask: u16,
    hasher: foldhash::fast::FixedState,
}

/// `parts` joined by NULs, trailing empty parts left out.
fn joined<'a>(parts: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut nuls = 0;
    for p in parts {
        if !p.is_empty() {
            out.resize(out.len() + nuls, 0);
            nuls = 0;
            out.extend_from_slice(p);
        }
        nuls += 1;
    }
    out
}

fn slice<A: Allocator + Clone>(chunks: &[AVec<u8, A>], at: u32, len: u16) -> &[u8] {
    let (c, o) = ((at >> 16) as usize, (at & 0xffff) as usize);
    chunks
        .get(c)
        .and_then(|c| c.get(o..o + len as usize))
        .unwrap_or_default()
}

/// The text of profile `n` (1-based).
fn text_of<'a, A: Allocator + Clone>(
    chunks: &'a [AVec<u8, A>],
    profiles: &[Profile],
    n: u16,
) -> &'a [u8] {
    profiles
        .get((n as usize).wrapping_sub(1))
        .map_or(&[][..], |q| slice(chunks, q.at, q.len))
}

impl<A: Allocator + Clone> Texts<A> {
    pub fn new_in(shape: Shape, alloc: A) -> Texts<A> {
        Texts {
            chunks: AVec::new_in(alloc.clone()),
            live: AVec::new_in(alloc.clone()),
            cur: 0,
            profiles: AVec::new_in(alloc.clone()),
            by_text: HashTable::new_in(alloc),
            mask: shape.shared_fields(),
            hasher: foldhash::fast::FixedState::with_seed(0x7e57_5eed_u64),
        }
    }

    pub fn view(&self, r: TextRef) -> TextView<'_> {
        let own = slice(&self.chunks, r.at, r.len);
        match self.profiles.get((r.profile as usize).wrapping_sub(1)) {
            Some(p) => TextView {
                own,
                shared: slice(&self.chunks, p.at, p.len),
                mask: self.mask,
            },
            None => TextView {
                own,
                shared: &[],
                mask: 0,
            },
        }
    }

    /// Stores an account's fields.
    pub fn put(&mut self, text: &[Vec<u8>; TEXT_FIELDS], alloc: &A) -> Result<TextRef, TextsError> {
        let mask = self.mask;
        let shared = |i: usize| mask & (1 << i) != 0;
        let pick = |keep: bool| {
            joined(
                text.iter()
                    .enumerate()
                    .filter(move |&(i, _)| shared(i) == keep)
                    .map(|(_, t)| &t[..]),
            )
        };
        let profile = match pick(true) {
            p if p.is_empty() => 0,
            p => self.profile_for(&p, alloc)?,
        };
        let own = if profile == 0 {
            joined(text.iter().map(|t| &t[..]))
        } else {
            pick(false)
        };
        match self.store(&own, alloc) {
            Ok((at, len)) => Ok(TextRef { at, len, profile }),
            Err(e) => {
                self.unref(profile, alloc);
                Err(e)
            }
        }
    }

    /// The texts of `r` are gone.
    pub fn release(&mut self, r: TextRef, alloc: &A) {
        self.free_bytes(r.at, r.len, alloc);
        self.unref(r.profile, alloc);
    }

    /// Live profiles (for the tests and the size report).
    pub fn profiles(&self) -> usize {
        self.profiles.iter().filter(|p| p.refs > 0).count()
    }

    /// Bytes held in the allocator (its per-block overhead not counted).
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        self.chunks.capacity() * size_of::<AVec<u8, A>>()
            + self.chunks.iter().map(|c| c.capacity()).sum::<usize>()
            + self.live.capacity() * size_of::<u32>()
            + self.profiles.capacity() * size_of::<Profile>()
            + self.by_text.allocation_size()
    }

    /// Chunks holding texts.
    pub fn chunks(&self) -> usize {
        self.chunks.iter().filter(|c| c.capacity() > 0).count()
    }

    /// The number of the profile whose text is `p`, made when new; 0 when
    /// there is no room for another (the account keeps every field itself).
    fn profile_for(&mut self, p: &[u8], alloc: &A) -> Result<u16, TextsError> {
        let h = self.hasher.hash_one(p);
        if let Some(&n) = self.by_text.find(h, |&n| self.profile_text(n) == p) {
            self.profiles[n as usize - 1].refs += 1;
            return Ok(n);
        }
        self.with_index(|t, rehash| t.try_reserve(1, rehash))
            .map_err(|_| TextsError::NoMemory)?;
        let place = match self.profiles.iter().position(|q| q.refs == 0) {
            Some(i) => i,
            None if self.profiles.len() < u16::MAX as usize => {
                self.profiles
                    .try_reserve(1)
                    .map_err(|_| TextsError::NoMemory)?;
                self.profiles.push(Profile {
                    at: 0,
                    len: 0,
                    refs: 0,
                });
                self.profiles.len() - 1
            }
            None => return Ok(0),
        };
        let (at, len) = self.store(p, alloc)?;
        self.profiles[place] = Profile { at, len, refs: 1 };
        let n = place as u16 + 1;
        self.with_index(|t, rehash| {
            t.insert_unique(h, n, rehash);
        });
        Ok(n)
    }

    /// Runs `f` on the profile index with the hash of an entry (what the
    /// index needs when it grows).
    fn with_index<R>(
        &mut self,
        f: impl FnOnce(&mut HashTable<u16, A>, &dyn Fn(&u16) -> u64) -> R,
    ) -> R {
        let Texts {
            chunks,
            profiles,
            by_text,
            hasher,
            ..
        } = self;
        f(by_text, &|&n| hasher.hash_one(text_of(chunks, profiles, n)))
    }

    fn profile_text(&self, n: u16) -> &[u8] {
        text_of(&self.chunks, &self.profiles, n)
    }

    fn unref(&mut self, n: u16, alloc: &A) {
        let Some(p) = self.profiles.get_mut((n as usize).wrapping_sub(1)) else {
            return;
        };
        p.refs = p.refs.saturating_sub(1);
        if p.refs > 0 {
            return;
        }
        let (at, len) = (p.at, p.len);
        let h = self.hasher.hash_one(self.profile_text(n));
        if let Ok(o) = self.by_text.find_entry(h, |&m| m == n) {
            o.remove();
        }
        self.free_bytes(at, len, alloc);
    }

    /// Copies `t` into the chunk being filled (a new one when it is full):
    /// (chunk << 16 | offset, length).
    fn store(&mut self, t: &[u8], alloc: &A) -> Result<(u32, u16), TextsError> {
        let len = u16::try_from(t.len()).map_err(|_| TextsError::TooLong)?;
        if len == 0 {
            // nothing to keep (and a full chunk's end would not fit 16 bits)
            return Ok((0, 0));
        }
        let fits = |c: &AVec<u8, A>| c.capacity() > 0 && c.capacity() - c.len() >= t.len();
        if !self.chunks.get(self.cur).is_some_and(fits) {
            // an emptied chunk's place, or a new one
            let i = self
                .chunks
                .iter()
                .position(|c| c.capacity() == 0)
                .unwrap_or(self.chunks.len());
            if i > u16::MAX as usize {
                return Err(TextsError::NoMemory);
            }
            let mut c = AVec::new_in(alloc.clone());
            c.try_reserve_exact(TEXT_CHUNK)
                .map_err(|_| TextsError::NoMemory)?;
            if i == self.chunks.len() {
                self.chunks
                    .try_reserve(1)
                    .map_err(|_| TextsError::NoMemory)?;
                self.live.try_reserve(1).map_err(|_| TextsError::NoMemory)?;
                self.chunks.push(c);
                self.live.push(0);
            } else {
                self.chunks[i] = c;
            }
            self.cur = i;
        }
        let c = &mut self.chunks[self.cur];
        let off = c.len();
        c.extend_from_slice(t);
        self.live[self.cur] += t.len() as u32;
        Ok(((self.cur as u32) << 16 | off as u32, len))
    }

    /// `len` bytes at `at` are no longer used; their chunk is freed once
    /// empty (but the one being filled).
    fn free_bytes(&mut self, at: u32, len: u16, alloc: &A) {
        if len == 0 {
            return;
        }
        let i = (at >> 16) as usize;
        let Some(l) = self.live.get_mut(i) else {
            return;
        };
        *l = l.saturating_sub(len as u32);
        if *l == 0 && i != self.cur {
            self.chunks[i] = AVec::new_in(alloc.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::account::{Field, RegField};
    use super::*;
    use allocator_api2::alloc::Global;

    fn row(fields: &[(usize, &str)]) -> [Vec<u8>; TEXT_FIELDS] {
        let mut t: [Vec<u8>; TEXT_FIELDS] = Default::default();
        for &(i, v) in fields {
            t[i] = v.as_bytes().to_vec();
        }
        t
    }

    fn all(t: &Texts<Global>, r: TextRef) -> Vec<Vec<u8>> {
        let v = t.view(r);
        (0..TEXT_FIELDS).map(|i| v.field(i).to_vec()).collect()
    }

    #[test]
    fn joined_leaves_out_trailing_empty_parts() {
        let j = |p: &[&str]| joined(p.iter().map(|s| s.as_bytes()));
        assert_eq!(j(&["a", "", "b", "", ""]), b"a\0\0b");
        assert_eq!(j(&["", "", "c"]), b"\0\0c");
        assert_eq!(j(&["", ""]), b"");
        assert_eq!(j(&[]), b"");
    }

    #[test]
    fn fields_read_back_whichever_store_holds_them() {
        let mut t = Texts::new_in(Shape::Registrant, Global);
        let d = row(&[
            (RegField::Registrar as usize, "sip:reg.example"),
            (RegField::Aor as usize, "sip:a@example"),
            (RegField::Password as usize, "pw"),
            (RegField::Socket as usize, "udp:127.0.0.1:5060"),
        ]);
        let r = t.put(&d, &Global).unwrap();
        assert_eq!(all(&t, r), d.to_vec());
        assert_eq!(t.profiles(), 1);
    }

    #[test]
    fn accounts_of_one_carrier_share_one_profile() {
        let mut t = Texts::new_in(Shape::Uacreg, Global);
        let mut refs = Vec::new();
        for i in 0..1000 {
            let d = row(&[
                (Field::LUuid as usize, &format!("u{i}")),
                (Field::RDomain as usize, "carrier.example"),
                (Field::Realm as usize, "carrier.example"),
                (Field::AuthProxy as usize, "sip:10.0.0.1"),
            ]);
            refs.push((t.put(&d, &Global).unwrap(), d));
        }
        assert_eq!(t.profiles(), 1);
        for (r, d) in &refs {
            assert_eq!(all(&t, *r), d.to_vec());
        }
        // the own text is the l_uuid alone, the profile's the three shared fields
        assert_eq!(refs[7].0.len as usize, "u7".len());
        assert_eq!(
            t.view(refs[7].0).shared,
            b"\0carrier.example\0carrier.example\0sip:10.0.0.1"
        );
        for (r, _) in refs.drain(..) {
            t.release(r, &Global);
        }
        assert_eq!(t.profiles(), 0);
        let d = row(&[(Field::RDomain as usize, "other.example")]);
        let r = t.put(&d, &Global).unwrap();
        assert_eq!(all(&t, r), d.to_vec());
        assert_eq!(t.profiles(), 1, "a freed profile's place is taken again");
    }

    #[test]
    fn no_shared_field_set_means_no_profile() {
        let mut t = Texts::new_in(Shape::Registrant, Global);
        let d = row(&[(RegField::Aor as usize, "sip:a@example")]);
        let r = t.put(&d, &Global).unwrap();
        assert_eq!(r.profile, 0);
        assert_eq!(all(&t, r), d.to_vec());
    }

    #[test]
    fn distinct_profiles_each_read_back() {
        let mut t = Texts::new_in(Shape::Registrant, Global);
        let rows: Vec<_> = (0..300)
            .map(|i| {
                row(&[
                    (
                        RegField::Registrar as usize,
                        &format!("sip:reg{}.example", i % 7),
                    ),
                    (RegField::Aor as usize, &format!("sip:a{i}@example")),
                ])
            })
            .collect();
        let refs: Vec<_> = rows.iter().map(|d| t.put(d, &Global).unwrap()).collect();
        assert_eq!(t.profiles(), 7);
        for (r, d) in refs.iter().zip(&rows) {
            assert_eq!(all(&t, *r), d.to_vec());
        }
    }
}
