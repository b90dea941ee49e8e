//! The ports on plain Rust values, for the flows' unit tests: a message is
//! its text, edits and marks are recorded, and `apply` shows what the host
//! would send. The request, DB, RPC, statistics, timer and event ports are
//! in `mock/io.rs`.

pub mod io;

use super::credentials::{AuthRequest, CredKind, Method, UriOf};
use super::message::{Edit, EditMessage, Header, Ident, Mark, MsgKey, SipMessage, Which};
use super::process::Process;
use super::reply::{Reply, Sending};
use super::transaction::{FailedBranch, Transactions};
use crate::digest::verify::Creds;
use std::cell::{Cell, RefCell};

/// A message given as text (CRLF line ends). What a flow changes is recorded.
#[derive(Debug, Default)]
pub struct MockMsg {
    pub text: Vec<u8>,
    pub id: u32,
    pub edits: RefCell<Vec<Edit>>,
    pub appended: RefCell<Vec<Vec<u8>>>,
    pub ruri: RefCell<Option<Vec<u8>>>,
    pub marks: RefCell<Vec<Mark>>,
    // ---- the auth server's view (credentials, replies) ----
    /// Credentials headers (by value offset) marked stale.
    pub stale: RefCell<Vec<usize>>,
    /// The credentials header marked authorized (by value offset).
    pub authorized: Cell<Option<usize>>,
    /// Header lines added to the reply to come.
    pub reply_headers: RefCell<Vec<Vec<u8>>>,
    /// Replies sent.
    pub replies: RefCell<Vec<SentReply>>,
    /// The source IP (nonces may be bound to it).
    pub src_ip: Vec<u8>,
    /// As in a failure route: the credentials cannot be read here.
    pub in_failure_route: bool,
}

/// A reply the flow sent: with the reply headers added before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReply {
    pub code: u16,
    pub reason: String,
    pub how: Sending,
    pub headers: String,
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
        self.header_lines()
            .into_iter()
            .map(|(_, n, v, off)| (n, v, off))
            .collect()
    }

    /// The header block's lines (offset of the line, name, value, offset of
    /// the value).
    fn header_lines(&self) -> Vec<(usize, &[u8], &[u8], usize)> {
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
                    out.push((pos, line[..c].trim_ascii(), &line[v..], pos + v));
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

// ---- the auth server's ports: credentials parsed from the text ----

/// The directives of a `Digest k=v, k="v"` value (quotes removed); None
/// when it is not Digest credentials or a quote is open.
fn digest_params(v: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let v = v.trim_ascii();
    if v.len() < 7 || !v[..7].eq_ignore_ascii_case(b"Digest ") {
        return None;
    }
    let mut rest = &v[7..];
    let mut out = Vec::new();
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            return Some(out);
        }
        let eq = rest.iter().position(|&c| c == b'=')?;
        let name = rest[..eq].trim_ascii();
        rest = rest[eq + 1..].trim_ascii_start();
        let (val, after) = if rest.first() == Some(&b'"') {
            let close = rest[1..].iter().position(|&c| c == b'"')? + 1;
            (&rest[1..close], &rest[close + 1..])
        } else {
            let end = rest.iter().position(|&c| c == b',').unwrap_or(rest.len());
            (rest[..end].trim_ascii(), &rest[end..])
        };
        out.push((name, val));
        rest = after.trim_ascii_start();
        rest = rest.strip_prefix(b",").unwrap_or(rest);
    }
}

/// `sip:user@host:port;params` -> (user, host).
fn user_host(uri: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = uri.iter().position(|&c| c == b':')?;
    let rest = &uri[colon + 1..];
    let (user, host) = match rest.iter().position(|&c| c == b'@') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&b""[..], rest),
    };
    let end = host
        .iter()
        .position(|&c| c == b':' || c == b';' || c == b'>')
        .unwrap_or(host.len());
    Some((user, &host[..end]))
}

impl MockMsg {
    /// The value of the credentials header whose value starts at `h`.
    fn cred_value(&self, h: usize) -> &[u8] {
        self.headers()
            .into_iter()
            .find(|(_, _, off)| *off == h)
            .map_or(&[][..], |(_, v, _)| v)
    }

    fn cred_params(&self, h: usize) -> Vec<(&[u8], &[u8])> {
        digest_params(self.cred_value(h)).unwrap_or_default()
    }

    /// The request line's URI.
    fn request_uri(&self) -> &[u8] {
        let line = self.text.split(|&c| c == b'\r').next().unwrap_or(&[]);
        line.split(|&c| c == b' ').nth(1).unwrap_or(&[])
    }
}

impl AuthRequest for MockMsg {
    /// The offset of the header's value in the text.
    type Cred = usize;

    fn method_kind(&self) -> Method {
        match self.method() {
            b"" => Method::None,
            b"ACK" => Method::Ack,
            b"CANCEL" => Method::Cancel,
            b"PRACK" => Method::Prack,
            b"REGISTER" => Method::Register,
            b"PUBLISH" => Method::Publish,
            _ => Method::Other,
        }
    }

    fn find_credentials(&self, realm: &[u8], kind: CredKind) -> Result<Option<usize>, String> {
        for (n, v, off) in self.headers() {
            if !n.eq_ignore_ascii_case(kind.name().as_bytes()) {
                continue;
            }
            let p = digest_params(v).ok_or("failed to parse credentials")?;
            if p.iter()
                .any(|(k, r)| k.eq_ignore_ascii_case(b"realm") && r.eq_ignore_ascii_case(realm))
            {
                return Ok(Some(off));
            }
        }
        Ok(None)
    }

    fn creds(&self, h: usize) -> Creds<'_> {
        let mut c = Creds::default();
        for (k, v) in self.cred_params(h) {
            let slot = match k.to_ascii_lowercase().as_slice() {
                b"username" => &mut c.username,
                b"realm" => &mut c.realm,
                b"nonce" => &mut c.nonce,
                b"uri" => &mut c.uri,
                b"response" => &mut c.response,
                b"algorithm" => &mut c.algorithm,
                b"qop" => &mut c.qop,
                b"cnonce" => &mut c.cnonce,
                b"nc" => &mut c.nc,
                _ => continue,
            };
            *slot = v;
        }
        c
    }

    fn cred_user(&self, h: usize) -> &[u8] {
        let u = self.creds(h).username;
        u.split(|&c| c == b'@').next().unwrap_or(u)
    }

    /// As the cores' check_dig_cred: the directives are there (maybe empty).
    fn creds_complete(&self, h: usize) -> bool {
        let p = self.cred_params(h);
        let has = |n: &[u8]| p.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        let qop = p
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"qop"))
            .is_some_and(|(_, v)| {
                v.eq_ignore_ascii_case(b"auth") || v.eq_ignore_ascii_case(b"auth-int")
            });
        [&b"username"[..], b"realm", b"nonce", b"uri", b"response"]
            .iter()
            .all(|n| has(n))
            && (!qop || (has(b"cnonce") && has(b"nc")))
    }

    fn is_stale(&self, h: usize) -> bool {
        self.stale.borrow().contains(&h)
    }

    fn set_stale(&self, h: usize) {
        self.stale.borrow_mut().push(h);
    }

    fn mark_authorized(&self, h: usize) -> Result<(), String> {
        self.authorized.set(Some(h));
        Ok(())
    }

    fn authorized(&self) -> Option<usize> {
        self.authorized.get()
    }

    fn authorized_of(&self, kind: CredKind) -> Option<usize> {
        let h = self.authorized.get()?;
        self.headers()
            .into_iter()
            .any(|(n, _, off)| off == h && n.eq_ignore_ascii_case(kind.name().as_bytes()))
            .then_some(h)
    }

    /// A delete edit over the whole line, CRLF included.
    fn remove_credentials(&self, h: usize) -> Result<(), String> {
        let (start, _, v, off) = self
            .header_lines()
            .into_iter()
            .find(|(_, _, _, off)| *off == h)
            .ok_or("no such header")?;
        self.edits.borrow_mut().push(Edit::Delete {
            offset: start,
            len: off + v.len() + 2 - start,
        });
        Ok(())
    }

    fn credentials_readable(&self) -> bool {
        !self.in_failure_route
    }

    fn ruri(&self) -> &[u8] {
        self.request_uri()
    }

    fn callid(&self) -> Option<&[u8]> {
        self.header_values(Header::CallId).ok()?.first().copied()
    }

    fn tag(&self, which: Which) -> Option<&[u8]> {
        let t = self.ident(which).ok()?.tag?;
        Some(&self.text[t.0..t.0 + t.1])
    }

    fn src_ip(&self) -> Option<&[u8]> {
        (!self.src_ip.is_empty()).then_some(self.src_ip.as_slice())
    }

    fn uri_user_host(&self, which: UriOf) -> Option<(&[u8], &[u8])> {
        let uri = match which {
            UriOf::Request => self.request_uri(),
            UriOf::From | UriOf::To => {
                let w = if which == UriOf::From {
                    Which::From
                } else {
                    Which::To
                };
                let i = self.ident(w).ok()?;
                &self.text[i.uri.0..i.uri_end()]
            }
        };
        user_host(uri)
    }
}

impl Reply for MockMsg {
    fn add_reply_header(&self, lines: &[u8]) -> Result<(), String> {
        self.reply_headers.borrow_mut().push(lines.to_vec());
        Ok(())
    }

    fn send_reply(&self, code: u16, reason: &str, how: Sending) -> Result<(), String> {
        let hdrs: Vec<u8> = self
            .reply_headers
            .borrow_mut()
            .drain(..)
            .flatten()
            .collect();
        self.replies.borrow_mut().push(SentReply {
            code,
            reason: reason.to_string(),
            how,
            headers: String::from_utf8_lossy(&hdrs).into_owned(),
        });
        Ok(())
    }
}

/// A process whose clock the test sets.
#[derive(Debug)]
pub struct MockProcess {
    pub no: u32,
    pub up_since: u32,
    pub now: Cell<u32>,
}

impl MockProcess {
    /// Process 1, started 100 s before `now`.
    pub fn at(now: u32) -> MockProcess {
        MockProcess {
            no: 1,
            up_since: now - 100,
            now: Cell::new(now),
        }
    }
}

impl Process for MockProcess {
    fn process_no(&self) -> u32 {
        self.no
    }
    fn up_since(&self) -> u32 {
        self.up_since
    }
    fn now(&self) -> u32 {
        self.now.get()
    }
    fn now_us(&self) -> u64 {
        self.now.get() as u64 * 1_000_000
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
