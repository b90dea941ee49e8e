//! Applying [`Edit`]s to a message as Kamailio lumps, and taking them back.

use super::ffi::{self, lump};
use super::msg::SipMsg;
use super::pkg_dup;
use crate::replace::header::Edit;

/// A top-level lump we added to `msg->add_rm`, remembered so that a second
/// `uac_replace_*` on the same request can remove it before it applies its own.
#[derive(Debug, Clone, Copy)]
pub struct OwnLump {
    ptr: *mut lump,
    op: u32,
    offset: i32,
    len: i32,
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
            ptr: l,
            op,
            offset,
            len,
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

/// Removes lumps we added earlier to this message, if they are still there
/// unchanged (after a branch route, tm has already dropped them).
pub fn remove(msg: &SipMsg, own: &[OwnLump]) {
    for o in own {
        // SAFETY: remove_lump only dereferences o.ptr after finding it in the
        // message's lump list, where it is a live lump; we check it is still
        // the one we made before removing it.
        unsafe {
            let mut t = (*msg.raw()).add_rm;
            while !t.is_null() && t != o.ptr {
                t = (*t).next;
            }
            if t.is_null() {
                continue;
            }
            if (*t).op == o.op && (*t).u.offset == o.offset && (*t).len == o.len {
                ffi::remove_lump(msg.raw(), t);
            }
        }
    }
}
