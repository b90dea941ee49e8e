//! The uac_auth module's API (`load_uac_auth`), whichever uac_auth is loaded
//! (stock or ours): the `uac` module asks it for credentials.

use super::ffi;

pub fn load() -> Result<(), String> {
    // SAFETY: find_export + load_uac_auth fill the glue's static api (main process).
    if unsafe { ffi::osg_uac_auth_load() } != 0 {
        return Err("can't load UAC_AUTH API, needed for uac_auth()".into());
    }
    Ok(())
}

/// (user, password) for a realm.
pub fn lookup(realm: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (mut u, mut ul, mut p, mut pl) = (std::ptr::null(), 0, std::ptr::null(), 0);
    // SAFETY: the credential's strings live at least while the message is
    // processed (list entries for the process, AVPs for the message).
    unsafe {
        if ffi::osg_uac_auth_lookup(
            realm.as_ptr() as *const _,
            realm.len() as i32,
            &mut u,
            &mut ul,
            &mut p,
            &mut pl,
        ) != 0
        {
            return None;
        }
        let b = |s: *const std::os::raw::c_char, l: i32| {
            if s.is_null() || l <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(s as *const u8, l as usize).to_vec()
            }
        };
        Some((b(u, ul), b(p, pl)))
    }
}
