//! The cluster port: which sharing tags are active on this node (OpenSIPS's
//! clusterer). A clustered registrant registers an account only where the
//! account's tag is active; the other nodes keep it parked.

/// The host's view of its cluster.
pub trait Cluster {
    /// Whether sharing tag `tag` of cluster `cluster` is active here.
    fn tag_active(&self, tag: &[u8], cluster: i32) -> bool;
}

/// No cluster: no tag is ever active here (a table without tags never asks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCluster;

impl Cluster for NoCluster {
    fn tag_active(&self, _tag: &[u8], _cluster: i32) -> bool {
        false
    }
}
