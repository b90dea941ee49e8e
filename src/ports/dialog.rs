//! The dialog port: the dialog the dialog module keeps for a request, its
//! named string values (kept in shared memory and, with a database, across
//! restarts), flows run for its in-dialog requests, and the CSeq fields
//! OpenSIPS's uac_auth() shifts.

use super::rr::Direction;
use super::Proxy;

/// The in-dialog events a flow is run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlgEvents(u8);

impl DlgEvents {
    /// A request within the confirmed dialog (DLGCB_REQ_WITHIN).
    pub const WITHIN: DlgEvents = DlgEvents(1);
    /// The ACK that confirms the dialog (DLGCB_CONFIRMED; Kamailio's
    /// REQ_WITHIN does not see it).
    pub const CONFIRMED: DlgEvents = DlgEvents(2);
    /// The BYE that ends it (DLGCB_TERMINATED).
    pub const TERMINATED: DlgEvents = DlgEvents(4);

    pub const fn with(self, o: DlgEvents) -> DlgEvents {
        DlgEvents(self.0 | o.0)
    }

    pub fn has(self, o: DlgEvents) -> bool {
        self.0 & o.0 == o.0
    }
}

/// What a flow watches in a dialog: the events, and an integer the dialog
/// module hands back to the flow with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    pub events: DlgEvents,
    pub param: u32,
}

pub trait Dialogs: Proxy {
    /// A dialog the dialog module owns, for as long as the call that got it.
    type Dialog;

    /// The dialog of this request, when the dialog module tracks one.
    fn dialog(&self, msg: &Self::Msg) -> Option<Self::Dialog>;

    /// Creates the dialog of this initial request (OpenSIPS's force_dialog).
    fn create_dialog(&self, msg: &Self::Msg) -> Result<Self::Dialog, String>;

    /// A copy of the value `name`.
    fn value(&self, d: &Self::Dialog, name: &[u8]) -> Option<Vec<u8>>;

    /// Sets the value `name`; None deletes it.
    fn set_value(&self, d: &Self::Dialog, name: &[u8], v: Option<&[u8]>) -> Result<(), String>;

    /// Runs `H` for the dialog's requests of `w.events` (not for a request
    /// whose direction the dialog module cannot tell), with `w.param`.
    fn on_requests<H: OnDialogRequest<Self>>(
        &self,
        d: &Self::Dialog,
        w: Watch,
    ) -> Result<(), String>;

    /// Runs `H` for every dialog read back from the database at start-up
    /// (registered once, at start-up).
    fn on_loaded<H: OnDialogLoaded<Self>>(&self) -> Result<(), String>;
}

/// A flow run for an in-dialog request.
pub trait OnDialogRequest<P: Dialogs> {
    fn on_request(p: &P, d: &P::Dialog, msg: &P::Msg, dir: Direction, param: u32);
}

/// A flow run for a dialog loaded at start-up.
pub trait OnDialogLoaded<P: Dialogs> {
    fn on_loaded(p: &P, d: &P::Dialog);
}

/// The CSeq bookkeeping of OpenSIPS's dialog module, which uac_auth() uses
/// to shift the CSeq of a dialog's later requests.
pub trait DialogCseq: Dialogs {
    /// The leg a request with To tag `ttag` belongs to.
    fn leg(&self, d: &Self::Dialog, ttag: &[u8]) -> i32;
    /// The dialog module renumbers CSeq (DLG_FLAG_CSEQ_ENFORCE).
    fn cseq_enforced(&self, d: &Self::Dialog) -> bool;
    fn enforce_cseq(&self, d: &Self::Dialog);
    /// The last CSeq the dialog module generated for a leg.
    fn last_cseq(&self, d: &Self::Dialog, leg: i32) -> u32;
    fn set_last_cseq(&self, d: &Self::Dialog, leg: i32, v: u32);
}
