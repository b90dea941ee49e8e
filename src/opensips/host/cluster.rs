//! The cluster port on OpenSIPS: sharing tags of the clusterer module
//! (`load_clusterer`, `shtag_get`).

use super::ffi;
use crate::ports::cluster::Cluster;

/// The clusterer's sharing tags; without clusterer no tag is active here.
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
