//! What differs between the hosts ([`Policy`]), the module's parameters
//! ([`Settings`]), how a module hands both to the flow ([`Module`]), and the
//! small helpers the flow's parts share.

use crate::ports::dialog::{Dialogs, DlgEvents, Watch};
use crate::ports::message::{Edit, Ident, Which};
use crate::ports::replies::Replies;
use crate::ports::rr::{Direction, RecordRoute};
use crate::ports::values::{Avps, BranchValues};
use crate::ports::Proxy;
use crate::replace::header::{display_edits, display_edits_trimmed, uri_enclosed};
use crate::replace::name_addr;
use crate::replace::rr_codec::{self, CodecError};

/// How replaced URIs are restored later in the dialog (`restore_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMode {
    /// Never.
    None,
    /// Replies automatically; requests by uac_restore_*() in the script.
    Manual,
    /// Requests and replies, automatically.
    Auto,
}

impl RestoreMode {
    /// As both stock modules read it (case-insensitive).
    pub fn parse(s: &[u8]) -> Result<RestoreMode, String> {
        match s.to_ascii_lowercase().as_slice() {
            b"none" => Ok(RestoreMode::None),
            b"manual" => Ok(RestoreMode::Manual),
            b"auto" => Ok(RestoreMode::Auto),
            _ => Err(format!(
                "unsupported value '{}' for restore_mode",
                String::from_utf8_lossy(s)
            )),
        }
    }
}

/// How the URI and display name are written into the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Kamailio: the bare URI over the old one; the display as given.
    Bare,
    /// Kamailio 6.1: as `Bare`, but a removed display name takes the spaces
    /// after it along, and a new URI with parameters over a URI without
    /// `<>` is written as `<uri>` (its parameters would otherwise become
    /// the header's). What the Record-Route parameter and the dialog keep is
    /// the bare URI, as with `Bare`.
    BareEnclosing,
    /// OpenSIPS: `<uri>` over the old URI and its angle brackets; a display
    /// that is not a token is quoted. The Record-Route parameter and the
    /// dialog hold the new URI as written, so the side of a later request
    /// that carries it is widened to its brackets.
    NameAddr,
}

impl Form {
    pub(super) fn display(self, d: &[u8]) -> Vec<u8> {
        match self {
            Form::Bare | Form::BareEnclosing => d.to_vec(),
            Form::NameAddr => name_addr::quote_display(d),
        }
    }

    pub(super) fn display_edits(
        self,
        buf: &[u8],
        id: &Ident,
        display: &[u8],
        uri_changes: bool,
    ) -> Vec<Edit> {
        match self {
            Form::Bare => display_edits(buf, id, display),
            Form::BareEnclosing => display_edits_trimmed(buf, id, display),
            Form::NameAddr => name_addr::display_edits(buf, id, display, uri_changes),
        }
    }

    /// The URI edit and the new URI as kept (written, or without the
    /// brackets `BareEnclosing` adds). `display` is the new display name of
    /// the same call, if any: one added before a URI without `<>` brings its
    /// own brackets.
    pub(super) fn uri_edit(
        self,
        buf: &[u8],
        id: &Ident,
        uri: &[u8],
        display: Option<&[u8]>,
    ) -> (Edit, Vec<u8>) {
        let adds_brackets = display.is_some_and(|d| !d.is_empty())
            && id.display.is_none_or(|(_, l)| l == 0)
            && !uri_enclosed(buf, id);
        match self {
            Form::BareEnclosing
                if !adds_brackets && !uri_enclosed(buf, id) && uri.contains(&b';') =>
            {
                (
                    Edit::Replace {
                        offset: id.uri.0,
                        len: id.uri.1,
                        text: name_addr::bracket(uri),
                    },
                    uri.to_vec(),
                )
            }
            Form::Bare | Form::BareEnclosing => (
                Edit::Replace {
                    offset: id.uri.0,
                    len: id.uri.1,
                    text: uri.to_vec(),
                },
                uri.to_vec(),
            ),
            Form::NameAddr => {
                let e = name_addr::uri_edit(buf, id, uri);
                let new = e.text().to_vec();
                (e, new)
            }
        }
    }

    /// The header's URI, with its brackets where `wide` and the form writes
    /// `<uri>`.
    pub(super) fn span(self, buf: &[u8], id: &Ident, wide: bool) -> (usize, usize) {
        match (self, wide) {
            (Form::NameAddr, true) => name_addr::bracketed_uri(buf, id),
            _ => id.uri,
        }
    }

    pub(super) fn decode(
        self,
        param: &[u8],
        current: &[u8],
        passwd: &[u8],
    ) -> Result<Vec<u8>, CodecError> {
        match self {
            Form::Bare | Form::BareEnclosing => rr_codec::decode(param, current, passwd),
            Form::NameAddr => rr_codec::decode_name_addr(param, current, passwd),
        }
    }

    /// A URI value from the dialog without the brackets this form adds.
    pub(super) fn inner(self, v: &[u8]) -> &[u8] {
        match self {
            Form::Bare | Form::BareEnclosing => v,
            Form::NameAddr => v
                .strip_prefix(b"<")
                .and_then(|v| v.strip_suffix(b">"))
                .unwrap_or(v),
        }
    }
}

/// Where the dialog keeps the URIs, under the stock modules' names (so that
/// a dialog begun under the stock module is continued by ours, also after a
/// restart with the dialog module's database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogStore {
    /// Kamailio: four variables per header, the URIs and the display names
    /// (`_uac_fu`, `_uac_funew`, `_uac_fdp`, `_uac_fdpnew`; `_uac_to`...),
    /// stored at once; restored on REQ_WITHIN, CONFIRMED and TERMINATED.
    Vars,
    /// OpenSIPS: the original URI under the Record-Route parameter's name
    /// (`vsf`/`vst`; from a branch route through a branch AVP that the
    /// branch's 2xx moves into the dialog), the new one as written under
    /// `739823`/`739824`; restored on REQ_WITHIN and TERMINATED.
    Values,
}

/// How a second uac_replace_*() of one header on one request undoes the
/// first (stock Kamailio and OpenSIPS refuse it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Kamailio: the parts the new call sets (display, URI) replace every
    /// earlier call's edits of that part where they are still present (in a
    /// branch route, tm's copies of the request route's); an earlier
    /// Record-Route parameter is taken out where rr has it in a lump and the
    /// new one is added.
    PerPart,
    /// OpenSIPS: a call of the same form (display and URI given or not, as
    /// the first) writes its values into the first call's edits and
    /// Record-Route parameter; another form is refused.
    SameForm,
}

/// What the host's stock module does, as far as the wire shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub form: Form,
    pub dialog: DialogStore,
    pub repeat: Repeat,
    /// A restore puts the parameter back into Record-Route (for the case the
    /// request is record-routed again).
    pub keep_param: bool,
    /// Each replace checks rr's `append_fromtag` (OpenSIPS checks it at
    /// start-up only).
    pub fromtag_per_call: bool,
}

impl Policy {
    pub const KAMAILIO: Policy = Policy {
        form: Form::Bare,
        dialog: DialogStore::Vars,
        repeat: Repeat::PerPart,
        keep_param: true,
        fromtag_per_call: true,
    };

    /// Kamailio 6.1's uac: 5.6's, with the URI and display changes of
    /// [`Form::BareEnclosing`].
    pub const KAMAILIO_61: Policy = Policy {
        form: Form::BareEnclosing,
        ..Policy::KAMAILIO
    };

    pub const OPENSIPS: Policy = Policy {
        form: Form::NameAddr,
        dialog: DialogStore::Values,
        repeat: Repeat::SameForm,
        keep_param: false,
        fromtag_per_call: false,
    };
}

/// The module's parameters the flow reads, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings<A> {
    pub mode: RestoreMode,
    /// rr_from_store_param / rr_to_store_param.
    pub from_param: Vec<u8>,
    pub to_param: Vec<u8>,
    /// restore_passwd.
    pub passwd: Vec<u8>,
    /// restore_from_avp / restore_to_avp (Kamailio): the original header for
    /// the replies.
    pub from_avp: Option<A>,
    pub to_avp: Option<A>,
    /// The dialog API is loaded and keeps the URIs of requests that have a
    /// dialog (Kamailio: restore_dlg in auto mode; OpenSIPS: the dialog
    /// module in auto mode, or uac_auth() in the script).
    pub dialog: bool,
    /// force_dialog (OpenSIPS): a replace creates the dialog.
    pub force_dialog: bool,
}

impl<A> Settings<A> {
    pub fn param(&self, which: Which) -> &[u8] {
        match which {
            Which::From => &self.from_param,
            Which::To => &self.to_param,
        }
    }

    pub fn avp(&self, which: Which) -> Option<&A> {
        match which {
            Which::From => self.from_avp.as_ref(),
            Which::To => self.to_avp.as_ref(),
        }
    }
}

/// What the flow needs of a proxy.
pub trait Ports: RecordRoute + Dialogs + Replies + Avps + BranchValues {}
impl<P: RecordRoute + Dialogs + Replies + Avps + BranchValues> Ports for P {}

/// A module that serves these functions: its host, policy and parameters.
/// The hooks the flow registers find them through it.
pub trait Module: 'static {
    type P: Ports;
    const POLICY: Policy;
    fn settings() -> &'static Settings<<Self::P as Avps>::Name>;
}

pub(super) type Msg<F> = <<F as Module>::P as Proxy>::Msg;

/// The header a value for `which` is restored into: From travels as To in
/// requests of the other direction.
pub(super) fn target(which: Which, dir: Option<Direction>) -> Which {
    match (which, dir) {
        (Which::From, Some(Direction::Upstream)) | (Which::To, Some(Direction::Downstream)) => {
            Which::To
        }
        _ => Which::From,
    }
}

/// The registration parameter of a header's hooks.
fn param_of(which: Which) -> u32 {
    match which {
        Which::From => 0,
        Which::To => 1,
    }
}

pub(super) fn which_of(param: u32) -> Which {
    if param == 0 {
        Which::From
    } else {
        Which::To
    }
}

/// `;name=value`.
pub(super) fn param_text(name: &[u8], value: &[u8]) -> Vec<u8> {
    [b";", name, b"=", value].concat()
}

/// What the in-dialog hook of header `which` watches.
pub(super) fn watch(store: DialogStore, which: Which) -> Watch {
    Watch {
        events: events(store),
        param: param_of(which),
    }
}

/// The in-dialog events a dialog store restores.
fn events(store: DialogStore) -> DlgEvents {
    match store {
        DialogStore::Vars => DlgEvents::WITHIN
            .with(DlgEvents::CONFIRMED)
            .with(DlgEvents::TERMINATED),
        DialogStore::Values => DlgEvents::WITHIN.with(DlgEvents::TERMINATED),
    }
}
