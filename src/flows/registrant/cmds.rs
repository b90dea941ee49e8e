//! The script functions over the registry: uac_reg_lookup(_uri),
//! uac_reg_status, uac_reg_enable/disable, uac_reg_request_to,
//! uac_reg_refresh, and the unregister the RPC asks for. Return codes are
//! the stock module's.

use super::{Guard, RegHost, Registrant, Table};
use crate::ports::db::{Databases, DbConn};
use crate::registration::account::{Field, FL_DISABLED, FL_ONGOING, FL_ONLINE};
use crate::registration::registry::{Filter, Registry};
use crate::registration::reply::uri_user;
use crate::{dbg, err, warn};
use allocator_api2::alloc::Allocator;

/// A filter name other than l_uuid, l_username, r_username, auth_username.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownFilter;

/// Finds an account by a filter name and value (RPC and
/// uac_reg_enable/disable).
pub fn find_by<A: Allocator + Clone>(
    r: &Registry<A>,
    attr: &[u8],
    val: &[u8],
) -> Result<Option<u32>, UnknownFilter> {
    let f = Filter::parse(attr).ok_or(UnknownFilter)?;
    Ok(r.find(f, val))
}

/// (user, host) of a SIP URI.
fn uri_user_host(uri: &[u8]) -> Option<(&[u8], &[u8])> {
    let user = uri_user(uri)?;
    let rest = &uri[uri.iter().position(|&c| c == b'@')? + 1..];
    let end = rest
        .iter()
        .position(|&c| c == b':' || c == b';' || c == b'?' || c == b'>')
        .unwrap_or(rest.len());
    Some((user, &rest[..end]))
}

/// What uac_reg_request_to sets on the request: R-URI, destination URI and
/// the auth values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTo {
    pub ruri: Vec<u8>,
    pub proxy: Vec<u8>,
    pub realm: Vec<u8>,
    pub user: Vec<u8>,
    pub password: Vec<u8>,
}

impl<H: RegHost> Registrant<H> {
    /// uac_reg_lookup (mode 0: by l_uuid, gives sip:l_username@l_domain) and
    /// uac_reg_lookup_uri (mode 1: by a URI's user [and host], gives the
    /// l_uuid). Err: the return code.
    pub fn lookup(&self, src: &[u8], mode: i32) -> Result<Vec<u8>, i32> {
        let r = self.lock();
        if mode == 0 {
            let e = r.find_uuid(src).and_then(|s| r.entry(s)).ok_or(-1)?;
            Ok([
                b"sip:".as_slice(),
                e.get(Field::LUsername),
                b"@",
                e.get(Field::LDomain),
            ]
            .concat())
        } else {
            let (user, host) = uri_user_host(src).ok_or(-2)?;
            let dom = r.settings.use_domain.then_some(host);
            let s = r.find_user(user, dom).ok_or(-1)?;
            Ok(r.entry(s).ok_or(-1)?.get(Field::LUuid).to_vec())
        }
    }

    /// uac_reg_status: 1 registered, -2 ongoing, -3 disabled, -99 other, -1
    /// none.
    pub fn status(&self, uuid: &[u8]) -> i32 {
        let r = self.lock();
        let Some(e) = r.find_uuid(uuid).and_then(|s| r.entry(s)) else {
            return -1;
        };
        if e.flags & FL_ONLINE != 0 && e.timer_expires() > H::now() {
            1
        } else if e.flags & FL_ONGOING != 0 {
            -2
        } else if e.flags & FL_DISABLED != 0 {
            -3
        } else {
            -99
        }
    }

    /// Enables (due in a second) or disables (no more REGISTERs) the account
    /// in `slot`, found under the lock `r`; a table with a state column gets
    /// it written back (after the lock is released).
    pub fn enable_found(&self, r: Guard<'_, H>, slot: u32, enable: bool) {
        self.switch_found(r, slot, enable, false)
    }

    /// [`Registrant::enable_found`]; with `unregister`, disabling a
    /// registered account also unregisters it now (OpenSIPS's reg_disable).
    pub fn switch_found(&self, mut r: Guard<'_, H>, slot: u32, enable: bool, unregister: bool) {
        let mut job = None;
        if enable {
            r.enable(slot, H::now());
        } else if unregister {
            job = r.disable_unregister(slot, H::now());
        } else {
            r.disable(slot, H::now());
        }
        let update = r.entry(slot).and_then(|e| self.table.state_update(&e));
        drop(r);
        if let Some(j) = job {
            self.send_or_fail(&j);
        }
        let Some(u) = update else { return };
        let keys: Vec<(&str, &[u8])> = u.keys.iter().map(|(k, v)| (*k, &v[..])).collect();
        let written = self
            .db
            .connect(&self.cfg.db_url, &self.cfg.db_table)
            .and_then(|db| db.update(&keys, u.column, &u.value));
        if let Err(e) = written {
            err!(
                "failed to update the {} state in the database: {e}",
                self.table.name()
            );
        }
    }

    /// uac_reg_enable / uac_reg_disable: 1, -2 not found, -3 unsupported
    /// filter, -1 bad values.
    pub fn set_enabled(&self, attr: &[u8], val: &[u8], enable: bool) -> i32 {
        if attr.is_empty() || val.is_empty() {
            err!("bad parameter values");
            return -1;
        }
        let r = self.lock();
        match find_by(&r, attr, val) {
            Err(UnknownFilter) => -3,
            Ok(None) => -2,
            Ok(Some(s)) => {
                self.enable_found(r, s, enable);
                1
            }
        }
    }

    /// uac_reg_request_to: the account found by l_uuid (mode bit 0 = 0) or
    /// l_username (bit 0 = 1); mode bit 1 gives auth_ha1 instead of
    /// auth_password. Err: the return code (logged).
    pub fn request_to(&self, src: &[u8], mode: i32) -> Result<RequestTo, i32> {
        if !(0..=3).contains(&mode) {
            err!("invalid mode");
            return Err(-1);
        }
        let r = self.lock();
        let slot = if mode & 1 == 0 {
            r.find_uuid(src)
        } else if r.settings.use_domain {
            let Some((u, h)) = uri_user_host(src) else {
                err!("failed to parse uri");
                return Err(-2);
            };
            r.find_user(u, Some(h))
        } else {
            r.find_user(src, None)
        };
        let Some(e) = slot.and_then(|s| r.entry(s)) else {
            dbg!("no user: {}", String::from_utf8_lossy(src));
            return Err(-1);
        };
        let pw = if mode & 2 != 0 {
            Field::AuthHa1
        } else {
            Field::AuthPassword
        };
        Ok(RequestTo {
            ruri: [
                b"sip:".as_slice(),
                e.get(Field::RUsername),
                b"@",
                e.get(Field::RDomain),
            ]
            .concat(),
            proxy: e.get(Field::AuthProxy).to_vec(),
            realm: e.get(Field::Realm).to_vec(),
            user: e.get(Field::AuthUsername).to_vec(),
            password: e.get(pw).to_vec(),
        })
    }

    /// uac_reg_refresh: 1, or -1 (not found / failed).
    pub fn refresh(&self, uuid: &[u8]) -> i32 {
        if uuid.is_empty() {
            err!("invalid parameters");
            return -1;
        }
        match self.refresh_one(uuid) {
            Ok(true) => 1,
            Ok(false) => {
                warn!("record not found: {}", String::from_utf8_lossy(uuid));
                -1
            }
            Err(e) => {
                warn!(
                    "failed to refresh record: {} - {e}",
                    String::from_utf8_lossy(uuid)
                );
                -1
            }
        }
    }

    /// uac.reg_unregister: a REGISTER with expires 0, now.
    pub fn unregister(&self, slot: u32) -> Result<(), String> {
        let job = self
            .lock()
            .unregister(slot, H::now())
            .ok_or("no such record")?;
        self.send_job(&job)
    }

    /// uac_reg_send_register / uac.reg_register (Kamailio 6.x): a REGISTER
    /// with the account's expires, now, whatever its state.
    pub fn register_now(&self, slot: u32) -> Result<(), String> {
        let job = self
            .lock()
            .register_now(slot, H::now())
            .ok_or("no such record")?;
        self.send_job(&job)
    }

    fn send_job(&self, job: &crate::registration::registry::SendJob) -> Result<(), String> {
        self.send(job, None).inspect_err(|_| {
            self.lock()
                .send_failed(job.slot, job.gen, job.attempt, H::now(), H::rand());
        })
    }

    /// uac_reg_send_register(filter, value) and uac_reg_send_unregister
    /// (`unregister`: expires 0 from now on, as stock): 1, or -1 when the
    /// filter is unknown or finds nothing (logged as stock does).
    pub fn send_by(&self, attr: &[u8], val: &[u8], unregister: bool) -> i32 {
        let found = find_by(&self.lock(), attr, val);
        let slot = match found {
            Err(UnknownFilter) => {
                err!("Unsupported filter attribute");
                return -1;
            }
            Ok(None) => {
                err!("Record not found");
                return -1;
            }
            Ok(Some(s)) => s,
        };
        let sent = if unregister {
            self.unregister(slot)
        } else {
            self.register_now(slot)
        };
        if let Err(e) = sent {
            // as stock: the attempt is retried by the timer, the call succeeds
            err!("failed to send the REGISTER: {e}");
        }
        1
    }
}
