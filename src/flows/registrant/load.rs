//! Rows -> the registry: the whole table in pages (at start and on reload),
//! or one row again (refresh).

use super::{RegHost, Registrant, Table};
use crate::ports::db::{Databases, DbConn};
use crate::registration::account::{AccountData, Shape};
use crate::registration::registry::{InsertError, Upsert};
use crate::{err, info, warn};

/// Rows read per DB page (private memory stays bounded).
pub const DB_PAGE: usize = 1000;
/// Accounts stored per lock hold.
const STORE_BATCH: usize = 256;

impl<H: RegHost> Registrant<H> {
    /// Loads (or, with `reload`, diff-swaps) every row: a reload keeps the
    /// accounts whose data did not change as they are, registers changed and
    /// new ones, and unregisters the ones gone. Returns (loaded, skipped).
    pub fn load(&self, reload: bool) -> Result<(usize, usize), String> {
        if reload && !self.lock().begin_reload() {
            return Err("a reload is already in progress".into());
        }
        let r = self.load_rows(reload);
        if r.is_err() && reload {
            self.lock().abort_reload();
        }
        r
    }

    fn load_rows(&self, reload: bool) -> Result<(usize, usize), String> {
        let (cfg, table) = (&self.cfg, &self.table);
        let mut db = self.db.connect(&cfg.db_url, &cfg.db_table)?;
        db.check_version(&cfg.db_table, table.version())?;
        let (mut ok, mut bad) = (0usize, 0usize);
        let mut page: Vec<AccountData> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let read = db.scan(
            &cfg.db_table,
            table.columns(),
            table.int_columns(),
            DB_PAGE,
            &mut |cells| match table.account(&cells, &cfg.contact_addr) {
                Ok((d, warning)) => {
                    if let Some(w) = warning {
                        warn!("{w}");
                    }
                    // an identity twice in one load (the reload diff cannot tell)
                    let shape = table.shape();
                    if !seen.insert(d.key(shape).concat()) {
                        bad += 1;
                        match shape {
                            Shape::Uacreg => err!(
                                "{} record l_uuid '{}' skipped: l_uuid appears twice",
                                table.name(),
                                d.l_uuid_lossy()
                            ),
                            Shape::Registrant => err!(
                                "{} record '{}' skipped: (aor, binding, registrar) appears twice",
                                table.name(),
                                d.name(shape)
                            ),
                        }
                        return;
                    }
                    page.push(d);
                    if page.len() >= STORE_BATCH {
                        self.store(&mut page, reload, &mut ok, &mut bad);
                    }
                }
                Err(e) => {
                    bad += 1;
                    err!("{e}");
                }
            },
        )?;
        self.store(&mut page, reload, &mut ok, &mut bad);
        if reload {
            let gone = self.lock().end_reload();
            for j in gone {
                // the account is gone: the reply finds nothing, which is fine
                if let Err(e) = self.send(&j, None) {
                    warn!(
                        "cannot unregister removed record [{}]: {e}",
                        String::from_utf8_lossy(&j.l_uuid)
                    );
                }
            }
        }
        info!(
            "{}: {read} rows read, {ok} loaded, {bad} skipped",
            table.name()
        );
        Ok((ok, bad))
    }

    /// Stores a page of checked rows under one lock hold.
    fn store(&self, page: &mut Vec<AccountData>, reload: bool, ok: &mut usize, bad: &mut usize) {
        let mut r = self.lock();
        let now = H::now();
        for d in page.drain(..) {
            let res = if reload {
                r.upsert(&d, now, H::rand()).map(|u| u != Upsert::Unchanged)
            } else {
                r.insert(&d, now, H::rand()).map(|_| true)
            };
            let why = match res {
                Ok(_) => {
                    *ok += 1;
                    continue;
                }
                Err(InsertError::Duplicate) => "l_uuid already loaded",
                Err(InsertError::NoMemory) => "out of shared memory",
                Err(InsertError::Invalid) => "a NUL byte in a column",
            };
            *bad += 1;
            match self.table.shape() {
                Shape::Uacreg => err!(
                    "{} record l_uuid '{}' skipped: {why}",
                    self.table.name(),
                    d.l_uuid_lossy()
                ),
                s => err!(
                    "{} record '{}' skipped: {why}",
                    self.table.name(),
                    d.name(s)
                ),
            }
        }
    }

    /// Reloads one row from the DB (uac_reg_refresh, uac.reg_refresh).
    /// Ok(false) when the DB has no such row.
    pub fn refresh_one(&self, l_uuid: &[u8]) -> Result<bool, String> {
        self.refresh_key(&[l_uuid])
    }

    /// Reloads the row whose identity (the table's key columns) is `key`;
    /// the first when the DB has several. Ok(false) when it has none.
    pub fn refresh_key(&self, key: &[&[u8]]) -> Result<bool, String> {
        let cfg = &self.cfg;
        let db = self.db.connect(&cfg.db_url, &cfg.db_table)?;
        let mut rows = Vec::new();
        let keys: Vec<(&str, &[u8])> = self
            .table
            .key_columns()
            .iter()
            .copied()
            .zip(key.iter().copied())
            .collect();
        db.rows_by_key(self.table.columns(), &keys, &mut |c| rows.push(c))?;
        let Some(cells) = rows.into_iter().next() else {
            return Ok(false);
        };
        let (d, warning) = self
            .table
            .account(&cells, &cfg.contact_addr)
            .map_err(|e| e.to_string())?;
        if let Some(w) = warning {
            warn!("{w}");
        }
        self.lock()
            .upsert(&d, H::now(), H::rand())
            .map_err(|e| format!("cannot store the record: {e:?}"))?;
        Ok(true)
    }
}
