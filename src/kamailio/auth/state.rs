//! Nonce ids, nonce-count bytes and one-time bits in shared memory: allocated
//! in mod_init (before fork) with [`ShmAlloc`], reached afterwards through
//! per-process copies of the pointers, changed only with atomic operations
//! (the logic is `digest::nonce::State`).

use super::params::Config;
use crate::digest::nonce::State;
use crate::kamailio::host::shm::ShmAlloc;
use allocator_api2::boxed::Box as ShmBox;
use once_cell::sync::OnceCell;
use std::sync::atomic::AtomicU32;

struct Shared {
    nid: &'static [AtomicU32],
    nc: &'static [AtomicU32],
    otn: &'static [AtomicU32],
    nc_size: u32,
    otn_size: u32,
}

static SHARED: OnceCell<Shared> = OnceCell::new();

fn shm_array(n: usize, init: impl Fn(usize) -> u32) -> Result<&'static [AtomicU32], String> {
    if n == 0 {
        return Ok(&[]);
    }
    let mut b = ShmBox::<[AtomicU32], ShmAlloc>::try_new_uninit_slice_in(n, ShmAlloc::new())
        .map_err(|_| format!("out of shared memory for {n} nonce slots"))?;
    for (i, slot) in b.iter_mut().enumerate() {
        slot.write(AtomicU32::new(init(i)));
    }
    // SAFETY: every element was written just above.
    let b = unsafe { b.assume_init() };
    // Lives until the process ends; every process uses it through this pointer.
    Ok(ShmBox::leak(b))
}

/// Allocates the state the configuration asks for (nothing when neither
/// nonce_count nor one_time_nonce is on).
pub fn init(cfg: &Config) -> Result<(), String> {
    if !cfg.nc && !cfg.otn {
        return Ok(());
    }
    use rand::RngCore;
    let mut r = rand::rngs::OsRng;
    let seeds: Vec<u32> = (0..cfg.nid_pools).map(|_| r.next_u32()).collect();
    let nid = shm_array(cfg.nid_pools as usize, |i| seeds[i])?;
    // every nc at its maximum and every one-time bit set: nonces from before
    // a restart are refused until their slot is handed out again
    let nc = shm_array((cfg.nc_size as usize).div_ceil(4), |_| u32::MAX)?;
    let otn = shm_array((cfg.otn_size as usize).div_ceil(32), |_| u32::MAX)?;
    SHARED
        .set(Shared {
            nid,
            nc,
            otn,
            nc_size: cfg.nc_size,
            otn_size: cfg.otn_size,
        })
        .map_err(|_| "auth shared state initialised twice".to_string())
}

/// The shared state, when nonce_count or one_time_nonce is on.
pub fn get() -> Option<State<'static>> {
    SHARED.get().map(|s| State {
        nid: s.nid,
        nc: s.nc,
        nc_size: s.nc_size,
        otn: s.otn,
        otn_size: s.otn_size,
    })
}
