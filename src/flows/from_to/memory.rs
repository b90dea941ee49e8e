//! What the flow remembers about the request a process is handling: the
//! uac_replace_*() calls made on it (so that a later call can undo them) and
//! the headers a dialog hook has handled. Per process (each worker handles
//! its own messages, one at a time); forgotten when the next message comes.

use crate::ports::message::{MsgKey, Which};
use std::any::Any;
use std::cell::RefCell;

/// One uac_replace_*() call on the request being processed. `L` is the
/// host's edit handle.
#[derive(Debug, Clone)]
pub(super) struct Call<L> {
    pub which: Which,
    pub display: Vec<L>,
    pub uri: Vec<L>,
    /// The form of each edit (display edits, then the URI's).
    pub forms: Vec<(u8, usize, usize, bool)>,
    /// The Record-Route parameter it added (`;vsf=...`).
    pub rr_param: Option<Vec<u8>>,
}

struct Entry {
    key: MsgKey,
    call: Box<dyn Any>,
}

thread_local! {
    static CALLS: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// (message, header) pairs a dialog hook has handled.
    static DIALOG_DONE: RefCell<Vec<(MsgKey, Which)>> = const { RefCell::new(Vec::new()) };
}

/// The earlier calls for `which` on message `key`, first first.
pub(super) fn calls<L: Clone + 'static>(key: MsgKey, which: Which) -> Vec<Call<L>> {
    CALLS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|e| e.key == key);
        c.iter()
            .filter_map(|e| e.call.downcast_ref::<Call<L>>())
            .filter(|x| x.which == which)
            .cloned()
            .collect()
    })
}

pub(super) fn push<L: 'static>(key: MsgKey, call: Call<L>) {
    CALLS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|e| e.key == key);
        c.push(Entry {
            key,
            call: Box::new(call),
        });
    })
}

/// Changes the first call for `which` on message `key`.
pub(super) fn update_first<L: 'static>(key: MsgKey, which: Which, f: impl FnOnce(&mut Call<L>)) {
    CALLS.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(x) = c
            .iter_mut()
            .filter(|e| e.key == key)
            .filter_map(|e| e.call.downcast_mut::<Call<L>>())
            .find(|x| x.which == which)
        {
            f(x)
        }
    })
}

/// True the first time a dialog hook sees header `which` of message `key`
/// (the dialog module may run the hooks of one request twice).
pub(super) fn first_dialog_visit(key: MsgKey, which: Which) -> bool {
    DIALOG_DONE.with(|d| {
        let mut d = d.borrow_mut();
        d.retain(|(k, _)| *k == key);
        let seen = d.contains(&(key, which));
        if !seen {
            d.push((key, which));
        }
        !seen
    })
}
