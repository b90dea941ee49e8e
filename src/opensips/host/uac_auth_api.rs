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

/// The Authorization (or Proxy-Authorization) line answering challenge
/// `rpl` (`code` 401/407) for REGISTER to `uri`, as the loaded uac_auth
/// module builds it (stock uac_registrant's way).
pub fn answer(
    rpl: &super::msg::SipMsg,
    code: i32,
    uri: &[u8],
    user: &[u8],
    password: &[u8],
) -> Result<Vec<u8>, String> {
    let p = |b: &[u8]| (b.as_ptr() as *const std::os::raw::c_char, b.len() as i32);
    let (mut h, mut hl) = (std::ptr::null_mut(), 0);
    // SAFETY: the reply of a tm callback, valid during it; the texts live
    // through the call; on success *h is pkg memory we copy and free.
    let r = unsafe {
        ffi::osg_uac_auth_answer(
            rpl.raw(),
            code,
            p(uri).0,
            p(uri).1,
            p(user).0,
            p(user).1,
            p(password).0,
            p(password).1,
            &mut h,
            &mut hl,
        )
    };
    match r {
        0 => {
            // SAFETY: the header the API built (pkg), copied then freed once.
            let v = unsafe { super::copy_out(h, hl) }.unwrap_or_default();
            // SAFETY: as above.
            unsafe { ffi::osg_pkg_free(h as *mut _) };
            Ok(v)
        }
        -1 => Err("the uac_auth API is not loaded".into()),
        -2 => Err("Unable to extract authentication info".into()),
        -3 => Err("No realm found".into()),
        _ => Err("Failed in do_uac_auth()".into()),
    }
}
