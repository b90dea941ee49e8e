//! The ports on plain Rust values, for the flows' unit tests: a message is
//! its text, edits and marks are recorded, and `apply` shows what the host
//! would send. The request, DB, RPC, statistics, timer and event ports are
//! in `mock/io.rs`.

pub mod io;

use super::message::{Edit, EditMessage, Header, Ident, Mark, MsgKey, SipMessage, Which};
use super::transaction::{FailedBranch, Transactions};
use std::cell::RefCell;

/// A message given as text (CRLF line ends). What a flow changes is recorded.
#[derive(Debug, Default)]
pub struct MockMsg {
    pub text: Vec<u8>,
    pub id: u32,
    pub edits: RefCell<Vec<Edit>>,
    pub appended: RefCell<Vec<Vec<u8>>>,
    pub ruri: RefCell<Option<Vec<u8>>>,
    pub marks: RefCell<Vec<Mark>>,
}

impl MockMsg {
    /// A message with an id of its own (as a host numbers the messages a
    /// process receives).
    pub fn new(text: &str) -> MockMsg {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        MockMsg {
            text: text.as_bytes().to_vec(),
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ..Default::default()
        }
    }

    /// The header block's lines (name, value, offset of the value).
    pub(crate) fn headers(&self) -> Vec<(&[u8], &[u8], usize)> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut first = true;
        while pos < self.text.len() {
            let end = self.text[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(self.text.len(), |p| pos + p);
            let line = &self.text[pos..end];
            if line.is_empty() {
                break;
            }
            if !first {
                if let Some(c) = line.iter().position(|&b| b == b':') {
                    let mut v = c + 1;
                    while line.get(v) == Some(&b' ') {
                        v += 1;
                    }
                    out.push((line[..c].trim_ascii(), &line[v..], pos + v));
                }
            }
            first = false;
            pos = end + 2;
        }
        out
    }

    /// The text with every recorded edit applied (offsets of the original;
    /// equal offsets in the order made), then the appended headers.
    pub fn sent(&self) -> String {
        let out = crate::replace::header::apply(&self.text, &self.edits.borrow());
        let mut s = String::from_utf8_lossy(&out).into_owned();
        if let Some(p) = s.find("\r\n\r\n") {
            let extra: String = self
                .appended
                .borrow()
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect();
            s.insert_str(p + 2, &extra);
        }
        s
    }
}

fn name_matches(h: Header, name: &[u8]) -> bool {
    let compact: &[u8] = match h {
        Header::Contact => b"m",
        Header::CallId => b"i",
        _ => b"",
    };
    name.eq_ignore_ascii_case(h.name().as_bytes())
        || (!compact.is_empty() && name.eq_ignore_ascii_case(compact))
}

impl SipMessage for MockMsg {
    fn buf(&self) -> &[u8] {
        &self.text
    }

    fn is_request(&self) -> bool {
        !self.text.starts_with(b"SIP/2.0 ")
    }

    fn method(&self) -> &[u8] {
        if !self.is_request() {
            return b"";
        }
        let sp = self.text.iter().position(|&c| c == b' ').unwrap_or(0);
        &self.text[..sp]
    }

    fn header_values(&self, h: Header) -> Result<Vec<&[u8]>, String> {
        Ok(self
            .headers()
            .into_iter()
            .filter(|(n, _, _)| name_matches(h, n))
            .map(|(_, v, _)| v)
            .collect())
    }

    fn body(&self) -> Result<&[u8], String> {
        Ok(self
            .text
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(&[][..], |p| &self.text[p + 4..]))
    }

    /// `Name: ["display"] <uri>;tag=x` or `Name: uri;tag=x`.
    fn ident(&self, which: Which) -> Result<Ident, String> {
        let want: &[u8] = match which {
            Which::From => b"From",
            Which::To => b"To",
        };
        let (name, v, start) = self
            .headers()
            .into_iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(want))
            .ok_or_else(|| format!("failed to find/parse {} hdr", which.upper()))?;
        let name_start = start - (v.as_ptr() as usize - name.as_ptr() as usize);
        let name_end = name_start + name.len();
        let (uri, display) = match v.iter().position(|&c| c == b'<') {
            Some(lt) => {
                let gt = v.iter().position(|&c| c == b'>').ok_or("no '>'")?;
                let d = v[..lt].trim_ascii_end();
                let display = (!d.is_empty()).then_some((start, d.len()));
                ((start + lt + 1, gt - lt - 1), display)
            }
            None => {
                let end = v.iter().position(|&c| c == b';').unwrap_or(v.len());
                ((start, end), None)
            }
        };
        let tag = v
            .windows(5)
            .position(|w| w.eq_ignore_ascii_case(b";tag="))
            .map(|p| {
                let s = p + 5;
                let e = v[s..]
                    .iter()
                    .position(|&c| c == b';')
                    .map_or(v.len(), |x| s + x);
                (start + s, e - s)
            });
        Ok(Ident {
            name_end,
            body_start: start,
            body_end: start + v.len(),
            uri,
            display,
            tag,
        })
    }

    fn cseq_number(&self) -> Option<u32> {
        let h = self.headers();
        let (_, v, _) = h.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(b"CSeq"))?;
        std::str::from_utf8(v.split(|&c| c == b' ').next()?)
            .ok()?
            .parse()
            .ok()
    }

    fn key(&self) -> MsgKey {
        MsgKey {
            id: self.id,
            pid: 1,
        }
    }

    fn has_mark(&self, m: Mark) -> bool {
        self.marks.borrow().contains(&m)
    }
}

impl EditMessage for MockMsg {
    /// The index of the edit in `edits`.
    type Lump = usize;

    fn apply_edits(&self, edits: &[Edit], applied: &mut Vec<usize>) -> Result<(), String> {
        let mut e = self.edits.borrow_mut();
        for x in edits {
            applied.push(e.len());
            e.push(x.clone());
        }
        Ok(())
    }

    /// Removed edits become empty inserts, so indexes stay valid.
    fn remove_edits(&self, lumps: &[usize]) {
        let mut e = self.edits.borrow_mut();
        for &i in lumps {
            if let Some(x) = e.get_mut(i) {
                *x = Edit::Insert {
                    offset: 0,
                    text: Vec::new(),
                };
            }
        }
    }

    /// In place, as OpenSIPS does: the handles stay.
    fn rewrite_edits(&self, lumps: &[usize], edits: &[Edit]) -> Result<Vec<usize>, String> {
        let mut e = self.edits.borrow_mut();
        if lumps.len() != edits.len() || lumps.iter().any(|&i| i >= e.len()) {
            return Err("rewrite of edits of another form".into());
        }
        for (&i, x) in lumps.iter().zip(edits) {
            e[i] = x.clone();
        }
        Ok(lumps.to_vec())
    }

    fn append_header(&self, line: &[u8]) -> Result<(), String> {
        self.appended.borrow_mut().push(line.to_vec());
        Ok(())
    }

    fn set_ruri(&self, uri: &[u8]) -> Result<(), String> {
        *self.ruri.borrow_mut() = Some(uri.to_vec());
        Ok(())
    }

    fn set_mark(&self, m: Mark) {
        self.marks.borrow_mut().push(m);
    }
}

/// A transaction whose failed branch got `reply`.
pub struct MockTx {
    pub reply: Option<String>,
    pub code: i32,
    pub uri: Vec<u8>,
    pub sent: Vec<u8>,
    pub marks: RefCell<Vec<Mark>>,
}

impl MockTx {
    /// A failed branch to `uri` whose reply is `reply` (its status code is read
    /// from the first line), sent as `sent`.
    pub fn failed(reply: &str, uri: &str, sent: &str) -> MockTx {
        let code = reply
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        MockTx {
            reply: Some(reply.to_string()),
            code,
            uri: uri.as_bytes().to_vec(),
            sent: sent.as_bytes().to_vec(),
            marks: RefCell::new(Vec::new()),
        }
    }
}

impl Transactions for MockTx {
    type Msg = MockMsg;

    fn failed_branch(&self) -> Result<FailedBranch<'_, MockMsg>, String> {
        Ok(FailedBranch {
            reply: self.reply.as_deref().map(MockMsg::new),
            code: self.code,
            uri: self.uri.clone(),
            sent: &self.sent,
        })
    }

    fn mark_request(&self, m: Mark) {
        self.marks.borrow_mut().push(m);
    }
}

// ---- shared memory: one process, so the global heap serves ----

use super::shm::{RawLock, ShmAllocator};
use allocator_api2::alloc::Global;
use std::sync::atomic::{AtomicBool, Ordering};

// SAFETY: the tests run in one process, which is everyone that shares it.
unsafe impl ShmAllocator for Global {}

/// A spin lock on the global heap.
#[derive(Debug, Clone, Copy)]
pub struct MockLock(&'static AtomicBool);

impl RawLock for MockLock {
    type Alloc = Global;

    fn create() -> Option<MockLock> {
        Some(MockLock(Box::leak(Box::new(AtomicBool::new(false)))))
    }

    fn acquire(&self) {
        while self
            .0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    fn release(&self) {
        self.0.store(false, Ordering::Release);
    }

    unsafe fn destroy(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::shm::ShmMutex;
    use allocator_api2::vec::Vec as AVec;

    #[test]
    fn shm_mutex_guards_a_shared_collection() {
        let m: ShmMutex<AVec<u32, Global>, MockLock> = ShmMutex::new(AVec::new_in(Global)).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..1000 {
                        m.lock().push(i);
                    }
                });
            }
        });
        assert_eq!(m.lock().len(), 4000);
        // SAFETY: no other user is left.
        unsafe { m.destroy() };
    }
}

/// The host functions over the C heap, for testing what `ports::shm` builds
/// on them.
#[derive(Debug, Clone, Copy, Default)]
pub struct MallocShm;

// SAFETY: tests run in one process; libc's malloc aligns to 16 bytes.
unsafe impl super::shm::RawShm for MallocShm {
    const MIN_ALIGN: usize = 16;

    fn malloc(size: usize) -> *mut u8 {
        // SAFETY: plain malloc.
        unsafe { libc::malloc(size) as *mut u8 }
    }

    unsafe fn free(p: *mut u8) {
        // SAFETY: the caller's contract: a block of malloc, freed once.
        unsafe { libc::free(p as *mut _) }
    }

    fn usage() -> (u64, u64) {
        (10, 100)
    }
}

#[cfg(test)]
mod host_shm_tests {
    use super::MallocShm;
    use crate::ports::shm::{HostShm, ShmBlob, ShmPool};
    use allocator_api2::vec::Vec as AVec;

    #[repr(align(64))]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Wide(u64);

    #[test]
    fn over_aligned_blocks_and_blobs() {
        let a = HostShm::<MallocShm>::new();
        let mut v: AVec<Wide, _> = AVec::new_in(a);
        for i in 0..100 {
            v.push(Wide(i));
        }
        assert_eq!(v.as_ptr() as usize % 64, 0);
        assert_eq!(v[99], Wide(99));
        let mut small: AVec<u8, _> = AVec::new_in(a);
        small.extend_from_slice(b"abc");
        assert_eq!(&small[..], b"abc");
        // 10 of 100 bytes free: below a sixth, not below a twentieth
        assert!(HostShm::<MallocShm>::low(6));
        assert!(!HostShm::<MallocShm>::low(20));

        let b = ShmBlob::<MallocShm>::put(b"state").unwrap();
        assert_eq!(b.bytes(), b"state");
        let raw = b.into_raw();
        // SAFETY: from into_raw just above, taken back once.
        let back = unsafe { ShmBlob::<MallocShm>::from_raw(raw) }.unwrap();
        assert_eq!(back.bytes(), b"state");
        let empty = ShmBlob::<MallocShm>::put(b"").unwrap();
        assert_eq!(empty.bytes(), b"");
    }
}
