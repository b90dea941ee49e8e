//! Applying [`Edit`]s to a message as Kamailio lumps, and taking them back.

use super::ffi::{self, lump};
use super::msg::SipMsg;
use super::pkg_dup;
use crate::ports::message::{EditMessage, Mark};
use crate::replace::header::Edit;

/// A top-level lump we added to `msg->add_rm`, remembered so that a later
/// `uac_replace_*` on the same request can remove it before it applies its own.
/// It is found again by what it does, not by its address: tm works on a copy of
/// the lump list for each branch (branch_route, TMCB_REQUEST_FWDED).
#[derive(Debug, Clone)]
pub struct OwnLump {
    op: u32,
    offset: i32,
    len: i32,
    text: Option<Vec<u8>>,
}

/// Applies the edits in order. On failure the lumps already added stay in
/// `added` so the caller can remove them.
pub fn apply(msg: &SipMsg, edits: &[Edit], added: &mut Vec<OwnLump>) -> Result<(), String> {
    for e in edits {
        let (offset, len, text) = match e {
            Edit::Replace { offset, len, text } => (*offset, *len, Some(&text[..])),
            Edit::Delete { offset, len } => (*offset, *len, None),
            Edit::Insert { offset, text } => (*offset, 0, Some(&text[..])),
        };
        let (offset, len) = (offset as i32, len as i32);
        // SAFETY: msg is valid; offset/len come from spans inside its buffer.
        let l = unsafe {
            if matches!(e, Edit::Insert { .. }) {
                ffi::anchor_lump(msg.raw(), offset, 0, 0)
            } else {
                ffi::del_lump(msg.raw(), offset, len, 0)
            }
        };
        if l.is_null() {
            return Err("cannot create lump".into());
        }
        // SAFETY: l is the lump just created.
        let op = unsafe { (*l).op };
        added.push(OwnLump {
            op,
            offset,
            len,
            text: text.map(<[u8]>::to_vec),
        });
        if let Some(text) = text {
            let p = pkg_dup(text);
            if p.is_null() {
                return Err("out of pkg memory".into());
            }
            // SAFETY: l is valid; on success the lump owns p (freed with pkg_free).
            if unsafe { ffi::insert_new_lump_after(l, p, text.len() as i32, 0) }.is_null() {
                // SAFETY: p was not taken by a lump.
                unsafe { ffi::uacg_pkg_free(p as *mut _) };
                return Err("cannot insert lump".into());
            }
        }
    }
    Ok(())
}

/// Removes lumps we added earlier to this message where they are still present
/// (in a branch they may be tm's copies; after a branch, tm has dropped them).
pub fn remove(msg: &SipMsg, own: &[OwnLump]) {
    for o in own {
        // SAFETY: we walk the message's live lump list; remove_lump unlinks and
        // frees the one we found (a copy's value stays with its original, as
        // free_lump skips LUMPFLAG_DUPED values).
        unsafe {
            let mut t = (*msg.raw()).add_rm;
            while !t.is_null() && !is_ours(t, o) {
                t = (*t).next;
            }
            if !t.is_null() {
                ffi::remove_lump(msg.raw(), t);
            }
        }
    }
}

/// # Safety
/// `t` must be a live lump.
unsafe fn is_ours(t: *const lump, o: &OwnLump) -> bool {
    // SAFETY: caller contract; `after` is NULL or a live lump.
    unsafe {
        if (*t).op != o.op || (*t).u.offset != o.offset || (*t).len != o.len {
            return false;
        }
        let a = (*t).after;
        match &o.text {
            None => a.is_null(),
            Some(text) => {
                !a.is_null()
                    && (*a).op == ffi::lump_op_LUMP_ADD
                    && (*a).len as usize == text.len()
                    && !(*a).u.value.is_null()
                    && std::slice::from_raw_parts((*a).u.value as *const u8, text.len())
                        == &text[..]
            }
        }
    }
}

/// Empties every added text equal to `text` anywhere in the message's lumps
/// (also inside the before/after chains where the rr module keeps Record-Route
/// parameters); returns how many. The lump stays in place with length 0, so
/// its owner frees it as usual and nothing of it reaches the wire.
pub fn blank_added_text(msg: &SipMsg, text: &[u8]) -> usize {
    // SAFETY: we walk the message's live lump tree; every pointer is NULL or a
    // live lump; we only shorten a LUMP_ADD's length, which the core reads
    // when it builds the message.
    unsafe {
        let mut n = 0;
        let mut t = (*msg.raw()).add_rm;
        while !t.is_null() {
            n += blank_chain((*t).before, text) + blank_chain((*t).after, text);
            t = (*t).next;
        }
        n
    }
}

/// # Safety
/// `l` is NULL or the head of a live before/after lump chain.
unsafe fn blank_chain(mut l: *mut lump, text: &[u8]) -> usize {
    let mut n = 0;
    // SAFETY: caller contract; each link is NULL or a live lump.
    unsafe {
        while !l.is_null() {
            if (*l).op == ffi::lump_op_LUMP_ADD
                && (*l).len as usize == text.len()
                && !(*l).u.value.is_null()
                && std::slice::from_raw_parts((*l).u.value as *const u8, text.len()) == text
            {
                (*l).len = 0;
                n += 1;
            }
            // a chain continues through both directions of nested anchors
            n += blank_chain((*l).after, text);
            l = (*l).before;
        }
    }
    n
}

// ---- the message port's edits (src/ports/message.rs) ----

impl EditMessage for SipMsg {
    type Lump = OwnLump;

    fn apply_edits(&self, edits: &[Edit], applied: &mut Vec<Self::Lump>) -> Result<(), String> {
        apply(self, edits, applied)
    }

    fn remove_edits(&self, lumps: &[Self::Lump]) {
        remove(self, lumps)
    }

    /// Adds a whole header line (CRLF included) after the last header.
    fn append_header(&self, line: &[u8]) -> Result<(), String> {
        // SAFETY: headers parsed to the end gives msg->unparsed at the end of
        // the header block; the lump takes ownership of the pkg copy.
        unsafe {
            if ffi::uacg_parse_all_headers(self.raw()) < 0 {
                return Err("failed to parse message".into());
            }
            let off = (*self.raw()).unparsed.offset_from((*self.raw()).buf) as i32;
            let anchor = ffi::anchor_lump(self.raw(), off, 0, 0);
            if anchor.is_null() {
                return Err("failed to get anchor".into());
            }
            let p = pkg_dup(line);
            if p.is_null() {
                return Err("out of pkg memory".into());
            }
            if ffi::insert_new_lump_before(anchor, p, line.len() as i32, 0).is_null() {
                ffi::uacg_pkg_free(p as *mut _);
                return Err("failed to insert lump".into());
            }
        }
        Ok(())
    }

    fn set_ruri(&self, uri: &[u8]) -> Result<(), String> {
        self.rewrite_uri(uri)
    }

    fn set_mark(&self, m: Mark) {
        self.set_flag(super::msg::mark_bit(m))
    }
}
