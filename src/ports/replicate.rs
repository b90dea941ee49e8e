//! The replication port: small records a node sends to every other node of
//! its cluster, and the records it receives from them (OpenSIPS's clusterer
//! with its BIN protocol). A node that joins asks one of the others for
//! what it missed (a snapshot of the live records).
//!
//! Records are opaque bytes to the host; the flow that sends them reads
//! them back.

/// Sending to the other nodes.
pub trait Replicate {
    /// Sends one record to every other node that is up (best effort: a node
    /// that is down misses it and asks for a snapshot when it comes back).
    fn send_all(&self, record: &[u8]) -> Result<(), String>;
}

/// What a node does with the others' records: a handler type the host
/// calls from its callbacks (in whichever process receives them).
pub trait OnReplicated: 'static {
    /// One record from another node.
    fn received(record: &[u8]);

    /// The records a joining node needs, pushed one by one (`push` false:
    /// stop, the host could not take more).
    fn snapshot(push: &mut dyn FnMut(&[u8]) -> bool);
}

/// No cluster: nothing is sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReplication;

impl Replicate for NoReplication {
    fn send_all(&self, _record: &[u8]) -> Result<(), String> {
        Ok(())
    }
}
