//! The cluster and replication ports on OpenSIPS: sharing tags of the
//! clusterer module (`load_clusterer`, `shtag_get`; uac_registrant) and one
//! capability's records sent to the other nodes (auth's nonce index).

use super::ffi;
use crate::ports::cluster::Cluster;
use crate::ports::replicate::{OnReplicated, Replicate};
use std::os::raw::{c_char, c_int};

/// The clusterer: its sharing tags (without clusterer no tag is active
/// here) and the records of the capability joined by [`join_cluster`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Clusterer;

/// In mod_init: binds the clusterer API.
pub fn load() -> Result<(), String> {
    // SAFETY: find_export + load_clusterer fill the glue's binds (main process).
    if unsafe { ffi::osg_cl_load() } != 0 {
        return Err("failed to find clusterer API - is clusterer module loaded?".into());
    }
    Ok(())
}

impl Cluster for Clusterer {
    fn tag_active(&self, tag: &[u8], cluster: i32) -> bool {
        // SAFETY: the clusterer reads its shm tag list under its own lock;
        // the name is copied when the tag is new.
        unsafe {
            ffi::osg_cl_shtag_active(tag.as_ptr() as *const _, tag.len() as i32, cluster) != 0
        }
    }
}

/// The clusterer as the replication port: one capability of one cluster
/// (the auth module's nonce index).
impl Replicate for Clusterer {
    fn send_all(&self, record: &[u8]) -> Result<(), String> {
        // SAFETY: the glue copies the record into a BIN packet.
        let r =
            unsafe { ffi::osg_clu_send(record.as_ptr() as *const c_char, record.len() as c_int) };
        match r {
            0 => Ok(()),
            1 => Err("this node is disabled in the cluster".into()),
            -1 => Err("every other node is down".into()),
            r => Err(format!("clusterer send failed ({r})")),
        }
    }
}

unsafe extern "C" fn on_record<H: OnReplicated>(data: *const c_char, len: c_int) {
    crate::log::guarded("cluster record", (), || {
        if data.is_null() || len < 0 {
            return;
        }
        // SAFETY: the glue passes the str it popped from the packet, valid
        // for this call.
        H::received(unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) })
    })
}

unsafe extern "C" fn on_sync<H: OnReplicated>(node_id: c_int) {
    crate::log::guarded("cluster sync", (), || {
        H::snapshot(&mut |rec| {
            // SAFETY: the glue copies the record into the sync packet.
            unsafe {
                ffi::osg_clu_sync_push(node_id, rec.as_ptr() as *const c_char, rec.len() as c_int)
                    == 0
            }
        })
    })
}

/// Joins cluster `cluster_id` under capability `cap` (mod_init): records
/// and sync requests go to `H`; a sync is asked for at once.
pub fn join_cluster<H: OnReplicated>(
    cluster_id: i32,
    cap: &'static std::ffi::CStr,
) -> Result<(), String> {
    // SAFETY: in mod_init; the glue keeps cap (static) and the callbacks.
    let r = unsafe {
        ffi::osg_clu_init(
            cluster_id,
            cap.as_ptr(),
            Some(on_record::<H>),
            Some(on_sync::<H>),
        )
    };
    match r {
        0 => Ok(()),
        -1 => Err("failed to load the clusterer API - is the clusterer module loaded?".into()),
        -2 => Err("cannot register the nonce-index capability with the clusterer".into()),
        _ => Err("nonce-index sync request failed".into()),
    }
}
