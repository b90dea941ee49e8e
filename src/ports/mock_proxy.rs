//! The proxy ports (rr, dialog, replies, values) on plain Rust values, for
//! the flows' unit tests: what a flow adds, stores and registers is
//! recorded; a test plays the proxy's part by firing the registered hooks
//! (`fire_routed`, `fire_replies`, `fire_dialog`, `fire_loaded`).

use super::dialog::{DialogCseq, Dialogs, DlgEvents, OnDialogLoaded, OnDialogRequest, Watch};
use super::message::{CseqMessage, CseqSpans, Mark, SipMessage, Which};
use super::mock::MockMsg;
use super::replies::{Replies, ReplyEvent, ReplyHook, StoredRequest};
use super::rr::{Direction, OnRouted, RecordRoute};
use super::values::{Avps, BranchSet, BranchValues};
use super::Proxy;
use crate::replace::route_params::param_values;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

type RoutedFn = fn(&MockProxy, &MockMsg);
type ReplyFn = fn(&MockProxy, &MockStored, &MockMsg);
type DlgFn = fn(&MockProxy, &MockDialog, &MockMsg, Direction, u32);
type LoadedFn = fn(&MockProxy, &MockDialog);

/// A proxy with rr, dialog and tm loaded, handling one request at a time.
#[derive(Default)]
pub struct MockProxy {
    pub append_fromtag: Cell<bool>,
    /// Parameters added to the Record-Route, in order (a rewrite changes
    /// one in place; an empty one is gone).
    pub rr_params: RefCell<Vec<Vec<u8>>>,
    /// The parameters of the Route URI that routed the current request
    /// (`;lr;ftag=a1;vsf=...`).
    pub route: RefCell<Vec<u8>>,
    pub direction: Cell<Option<Direction>>,
    /// The current request's dialog.
    pub dialog: RefCell<Option<MockDialog>>,
    /// create_dialog() works (the dialog module is loaded).
    pub can_create: Cell<bool>,
    pub routed: RefCell<Vec<RoutedFn>>,
    pub loaded: RefCell<Vec<LoadedFn>>,
    pub replies: RefCell<Vec<(ReplyEvent, ReplyFn)>>,
    pub in_transaction: Cell<bool>,
    /// Marks on the transaction's copy of the request.
    pub tx_marks: RefCell<Vec<Mark>>,
    pub avps: RefCell<Vec<(&'static str, Vec<u8>)>>,
    /// The script runs in a branch route (branch values can be set).
    pub in_branch: Cell<bool>,
    pub branch_values: RefCell<Vec<(Which, Vec<u8>)>>,
}

/// A dialog: its values, the hooks registered on it, its CSeq fields.
#[derive(Clone, Default)]
pub struct MockDialog(pub Rc<DlgState>);

#[derive(Default)]
pub struct DlgState {
    pub values: RefCell<BTreeMap<Vec<u8>, Vec<u8>>>,
    pub hooks: RefCell<Vec<(DlgEvents, u32, DlgFn)>>,
    pub cseq_enforced: Cell<bool>,
    /// last generated CSeq of the caller (0) and callee (1) legs
    pub last_cseq: Cell<[u32; 2]>,
    /// the caller's tag (leg 0); any other To tag is the callee's
    pub caller_tag: RefCell<Vec<u8>>,
}

impl MockDialog {
    pub fn value(&self, name: &str) -> Option<String> {
        self.0
            .values
            .borrow()
            .get(name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

impl MockProxy {
    pub fn new() -> MockProxy {
        MockProxy {
            append_fromtag: Cell::new(true),
            in_transaction: Cell::new(true),
            can_create: Cell::new(true),
            ..Default::default()
        }
    }

    /// The Record-Route parameters as text.
    pub fn rr(&self) -> Vec<String> {
        self.rr_params
            .borrow()
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    }

    /// Starts a new dialog for the current request.
    pub fn new_dialog(&self) -> MockDialog {
        let d = MockDialog::default();
        *self.dialog.borrow_mut() = Some(d.clone());
        d
    }

    /// The transaction's copy of the request `text` (as it arrived), with
    /// the marks set on the transaction.
    pub fn stored(&self, text: &str) -> MockStored {
        let m = MockMsg::new(text);
        *m.marks.borrow_mut() = self.tx_marks.borrow().clone();
        MockStored(m)
    }

    /// rr routes `msg` by our Record-Route (loose_route()).
    pub fn fire_routed(&self, msg: &MockMsg) {
        let hooks = self.routed.borrow().clone();
        for h in hooks {
            h(self, msg);
        }
    }

    /// The reply hooks of `when` run for `rpl`; how many ran.
    pub fn fire_replies(&self, req: &MockStored, rpl: &MockMsg, when: ReplyEvent) -> usize {
        let hooks: Vec<ReplyFn> = self
            .replies
            .borrow()
            .iter()
            .filter(|(w, _)| *w == when)
            .map(|(_, f)| *f)
            .collect();
        for h in &hooks {
            h(self, req, rpl);
        }
        hooks.len()
    }

    /// The dialog module sees `msg` within `d` (as event `ev`); how many
    /// hooks ran.
    pub fn fire_dialog(
        &self,
        d: &MockDialog,
        msg: &MockMsg,
        ev: DlgEvents,
        dir: Direction,
    ) -> usize {
        let hooks: Vec<(u32, DlgFn)> =
            d.0.hooks
                .borrow()
                .iter()
                .filter(|(e, _, _)| e.has(ev))
                .map(|(_, p, f)| (*p, *f))
                .collect();
        for (p, h) in &hooks {
            h(self, d, msg, dir, *p);
        }
        hooks.len()
    }

    /// The dialog module loads `d` from its database at start-up.
    pub fn fire_loaded(&self, d: &MockDialog) {
        let hooks = self.loaded.borrow().clone();
        for h in hooks {
            h(self, d);
        }
    }
}

impl Proxy for MockProxy {
    type Msg = MockMsg;
}

impl RecordRoute for MockProxy {
    fn append_fromtag(&self) -> bool {
        self.append_fromtag.get()
    }

    fn add_param(&self, _msg: &MockMsg, param: &[u8]) -> Result<(), String> {
        self.rr_params.borrow_mut().push(param.to_vec());
        Ok(())
    }

    fn rewrite_param(&self, _msg: &MockMsg, old: &[u8], new: &[u8]) -> Result<usize, String> {
        let mut n = 0;
        for p in self.rr_params.borrow_mut().iter_mut().filter(|p| *p == old) {
            *p = new.to_vec();
            n += 1;
        }
        Ok(n)
    }

    fn route_param_values(&self, _msg: &MockMsg, name: &[u8]) -> Vec<Vec<u8>> {
        param_values(&self.route.borrow(), name)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn direction(&self, _msg: &MockMsg) -> Option<Direction> {
        self.direction.get()
    }

    fn on_routed<H: OnRouted<Self>>(&self) -> Result<(), String> {
        self.routed.borrow_mut().push(H::on_routed);
        Ok(())
    }
}

impl Dialogs for MockProxy {
    type Dialog = MockDialog;

    fn dialog(&self, _msg: &MockMsg) -> Option<MockDialog> {
        self.dialog.borrow().clone()
    }

    fn create_dialog(&self, _msg: &MockMsg) -> Result<MockDialog, String> {
        if !self.can_create.get() {
            return Err("cannot create dialog".into());
        }
        Ok(self.new_dialog())
    }

    fn value(&self, d: &MockDialog, name: &[u8]) -> Option<Vec<u8>> {
        d.0.values.borrow().get(name).cloned()
    }

    fn set_value(&self, d: &MockDialog, name: &[u8], v: Option<&[u8]>) -> Result<(), String> {
        let mut vals = d.0.values.borrow_mut();
        match v {
            Some(v) => vals.insert(name.to_vec(), v.to_vec()),
            None => vals.remove(name),
        };
        Ok(())
    }

    fn on_requests<H: OnDialogRequest<Self>>(
        &self,
        d: &MockDialog,
        w: Watch,
    ) -> Result<(), String> {
        d.0.hooks
            .borrow_mut()
            .push((w.events, w.param, H::on_request));
        Ok(())
    }

    fn on_loaded<H: OnDialogLoaded<Self>>(&self) -> Result<(), String> {
        self.loaded.borrow_mut().push(H::on_loaded);
        Ok(())
    }
}

impl DialogCseq for MockProxy {
    fn leg(&self, d: &MockDialog, ttag: &[u8]) -> i32 {
        i32::from(*d.0.caller_tag.borrow() != ttag)
    }

    fn cseq_enforced(&self, d: &MockDialog) -> bool {
        d.0.cseq_enforced.get()
    }

    fn enforce_cseq(&self, d: &MockDialog) {
        d.0.cseq_enforced.set(true)
    }

    fn last_cseq(&self, d: &MockDialog, leg: i32) -> u32 {
        d.0.last_cseq.get()[leg as usize]
    }

    fn set_last_cseq(&self, d: &MockDialog, leg: i32, v: u32) {
        let mut l = d.0.last_cseq.get();
        l[leg as usize] = v;
        d.0.last_cseq.set(l);
    }
}

impl Replies for MockProxy {
    type Stored = MockStored;

    fn on_replies<H: ReplyHook<Self>>(
        &self,
        _msg: &MockMsg,
        when: ReplyEvent,
    ) -> Result<(), String> {
        self.replies.borrow_mut().push((when, H::on_reply));
        Ok(())
    }

    fn has_transaction(&self) -> bool {
        self.in_transaction.get()
    }

    fn mark_request(&self, m: Mark) {
        self.tx_marks.borrow_mut().push(m);
    }

    fn request_has_mark(&self, m: Mark) -> bool {
        self.tx_marks.borrow().contains(&m)
    }
}

impl Avps for MockProxy {
    type Name = &'static str;

    fn add_avp(&self, name: &&'static str, v: &[u8]) {
        self.avps.borrow_mut().push((name, v.to_vec()));
    }

    fn first_avp(&self, name: &&'static str) -> Option<Vec<u8>> {
        self.avps
            .borrow()
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

impl BranchValues for MockProxy {
    fn set_branch_value(&self, _msg: &MockMsg, which: Which, v: &[u8]) -> BranchSet {
        if !self.in_branch.get() {
            return BranchSet::NotInBranch;
        }
        self.branch_values.borrow_mut().push((which, v.to_vec()));
        BranchSet::Set
    }

    fn branch_value(&self, _msg: &MockMsg, which: Which) -> Option<Vec<u8>> {
        self.branch_values
            .borrow()
            .iter()
            .rev()
            .find(|(w, _)| *w == which)
            .map(|(_, v)| v.clone())
    }
}

/// The transaction's copy of a request.
pub struct MockStored(pub MockMsg);

impl StoredRequest for MockStored {
    fn has_mark(&self, m: Mark) -> bool {
        self.0.has_mark(m)
    }

    fn ident_through_uri(&self, which: Which) -> Option<Vec<u8>> {
        let id = self.0.ident(which).ok()?;
        Some(id.through_uri(&self.0.text).to_vec())
    }

    fn cseq_number(&self) -> Option<u32> {
        self.0.cseq_number()
    }
}

impl CseqMessage for MockMsg {
    fn cseq_spans(&self) -> Option<CseqSpans> {
        let base = self.text.as_ptr() as usize;
        let (name, v, off) = self
            .headers()
            .into_iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(b"CSeq"))?;
        let name_end = name.as_ptr() as usize - base + name.len();
        let num_len = v.iter().position(|&c| c == b' ').unwrap_or(v.len());
        Some(CseqSpans {
            number: (off, num_len),
            after_name: (name_end, off + v.len() - name_end),
        })
    }
}
