//! From/To replace and restore, written once for Kamailio's and OpenSIPS's
//! `uac`: uac_replace_from/to(), uac_restore_from/to(), the automatic
//! restore of loose-routed requests (restore_mode "auto"), of replies, and
//! of in-dialog requests from values kept in the dialog.
//!
//! The original URI travels with the dialog in one of two places:
//! - a Record-Route parameter (`;vsf=...`, `;vst=...`): the old and the new
//!   URI XORed together (src/replace/rr_codec.rs); a later request carries
//!   one of the pair in the header, which gives back the other;
//! - the dialog (when the dialog module tracks the request and the module
//!   was told to use it).
//!
//! What the two stock modules do differently on the wire is a [`Policy`]:
//! - [`Form`]: the URI as written (Kamailio: bare; OpenSIPS: `<uri>` over
//!   the old URI and its brackets, quoted display names), hence what the
//!   Record-Route parameter encodes and which span a restore replaces;
//! - [`DialogStore`]: the names and number of the dialog values (Kamailio:
//!   four variables with display names; OpenSIPS: two values, the original
//!   URI via a branch AVP from a branch route);
//! - [`Repeat`]: how a second uac_replace_*() on one request undoes the
//!   first (both go beyond stock, which refuses it);
//! - whether a restore puts the parameter back into Record-Route, and
//!   whether `append_fromtag` is checked per call.
//!
//! The module passes its policy and parameters as a [`Module`] type; the
//! handler types ([`Routed`], [`ReplyRestore`], [`InDialog`], [`Loaded`],
//! [`MoveBranch`]) are what the hosts' callbacks run.

mod dialog;
mod memory;
mod policy;
mod replace;
mod restore;

#[cfg(test)]
mod tests;

pub use dialog::{InDialog, Loaded, MoveBranch};
pub use policy::{DialogStore, Form, Module, Policy, Ports, Repeat, RestoreMode, Settings};
pub use replace::replace;
pub use restore::{restore, ReplyRestore, Routed};
