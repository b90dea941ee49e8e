//! Kamailio's DB layer (srdb1) as the DB port: bind a driver by URL, read a
//! table in pages so that private memory stays bounded whatever the table's
//! size, rows by key, an update.

use super::ffi::{self, db1_con_t, db1_res_t, db_func_t, db_val_t, str_};
use super::str_bytes;
use crate::registration::account::Cell;

/// One open connection; closed on drop.
pub struct Db {
    dbf: db_func_t,
    con: *mut db1_con_t,
    /// The driver keeps a pointer to the table name's str (use_table): both
    /// live as long as the connection.
    _table: Box<(Vec<u8>, str_)>,
    /// db_sqlite: its keyset pages pack the text columns into one value.
    sqlite: bool,
    /// A fetch_result query under way: its column count and current page.
    fetched: std::cell::Cell<(usize, *mut db1_res_t)>,
}

fn s(b: &[u8]) -> str_ {
    super::str_of(b)
}

impl Db {
    /// Binds the driver of `url`, connects and selects `table`.
    pub fn connect(url: &[u8], table: &[u8]) -> Result<Db, String> {
        let mut dbf = db_func_t::default();
        let u = s(url);
        // SAFETY: db_bind_mod fills dbf from the driver module named in url.
        if unsafe { ffi::db_bind_mod(&u, &mut dbf) } != 0 {
            return Err("database module not found".into());
        }
        let init = dbf.init.ok_or("database module has no init")?;
        // SAFETY: the driver copies the URL it keeps.
        let con = unsafe { init(&u) };
        if con.is_null() {
            return Err("failed to connect to the database".into());
        }
        let mut tb = Box::new((table.to_vec(), s(b"")));
        tb.1 = s(&tb.0);
        let db = Db {
            dbf,
            con,
            _table: tb,
            sqlite: url.starts_with(b"sqlite:"),
            fetched: std::cell::Cell::new((0, std::ptr::null_mut())),
        };
        let use_table = db.dbf.use_table.ok_or("database module has no use_table")?;
        // SAFETY: open connection; the driver keeps the str pointer, which
        // lives in the box as long as the connection.
        if unsafe { use_table(db.con, &db._table.1) } < 0 {
            return Err("failed to use_table".into());
        }
        Ok(db)
    }

    fn cap(&self, c: u32) -> bool {
        // SAFETY: reads the capability vector of our dbf copy.
        unsafe { ffi::uacg_db_cap(&self.dbf as *const _ as *mut _, c) != 0 }
    }

    fn keys(cols: &[&str]) -> (Vec<str_>, Vec<*mut str_>) {
        let mut names: Vec<str_> = cols.iter().map(|c| s(c.as_bytes())).collect();
        let ptrs = names.iter_mut().map(|n| n as *mut str_).collect();
        (names, ptrs)
    }

    fn query_where(
        &self,
        cols: &[&str],
        keys: &[(&str, &[u8])],
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String> {
        let query = self.dbf.query.ok_or("database module has no query")?;
        let (_names, mut ptrs) = Self::keys(cols);
        let knames: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        let (_kn, mut kptrs) = Self::keys(&knames);
        let mut kvals: Vec<db_val_t> = keys.iter().map(|(_, v)| text_val(v)).collect();
        let keyed = !keys.is_empty();
        let mut res: *mut db1_res_t = std::ptr::null_mut();
        // SAFETY: arrays of column names, key names and key values, alive
        // during the call (NULL when there are no keys).
        let r = unsafe {
            query(
                self.con,
                if keyed {
                    kptrs.as_mut_ptr()
                } else {
                    std::ptr::null_mut()
                },
                std::ptr::null_mut(),
                if keyed {
                    kvals.as_mut_ptr()
                } else {
                    std::ptr::null_mut()
                },
                ptrs.as_mut_ptr(),
                keys.len() as i32,
                cols.len() as i32,
                std::ptr::null_mut(),
                &mut res,
            )
        };
        if r != 0 {
            self.free(res);
            return Err("error while querying the database".into());
        }
        let n = self.rows(res, cols.len(), row);
        self.free(res);
        Ok(n)
    }

    fn rows(&self, res: *mut db1_res_t, ncols: usize, row: &mut dyn FnMut(Vec<Cell>)) -> usize {
        if res.is_null() {
            return 0;
        }
        // SAFETY: a result of the driver: n rows of at least ncols values.
        unsafe {
            let n = (*res).n.max(0) as usize;
            for i in 0..n {
                let r = &*(*res).rows.add(i);
                let m = (r.n.max(0) as usize).min(ncols);
                let cells = (0..m).map(|c| cell(&*r.values.add(c))).collect();
                row(cells);
            }
            n
        }
    }

    fn free(&self, res: *mut db1_res_t) {
        if res.is_null() {
            return;
        }
        if let Some(f) = self.dbf.free_result {
            // SAFETY: a result of this connection, freed once.
            unsafe { f(self.con, res) };
        }
    }
}

/// A text value for a key or an update.
fn text_val(v: &[u8]) -> db_val_t {
    let mut d = db_val_t {
        type_: ffi::db_type_t_DB1_STR,
        ..Default::default()
    };
    d.val.str_val = s(v);
    d
}

// ---- the DB port (src/ports/db.rs) ----

use crate::ports::db::{Databases, Keys, Rows, Sql, SqlApi};

/// Kamailio's DB layer as the port's connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct KamDb;

impl Databases for KamDb {
    type Conn = Sql<Db>;

    fn connect(&self, url: &[u8], table: &[u8]) -> Result<Sql<Db>, String> {
        Db::connect(url, table).map(Sql)
    }
}

impl SqlApi for Db {
    fn can_fetch(&self) -> bool {
        self.cap(ffi::db_cap_DB_CAP_FETCH)
    }

    fn can_raw(&self) -> bool {
        self.cap(ffi::db_cap_DB_CAP_RAW_QUERY)
    }

    fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// Checks the table's schema version in the `version` table.
    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String> {
        let t = s(table);
        // SAFETY: open connection and bound functions.
        if unsafe { ffi::db_check_table_version(&mut self.dbf, self.con, &t, version) } < 0 {
            return Err(format!(
                "invalid table version for {} (expected {version}; use kamdbctl to migrate)",
                String::from_utf8_lossy(table)
            ));
        }
        // The check selected the `version` table on this connection: back to ours.
        let use_table = self
            .dbf
            .use_table
            .ok_or("database module has no use_table")?;
        // SAFETY: open connection; the table str lives with it.
        if unsafe { use_table(self.con, &self._table.1) } < 0 {
            return Err("failed to use_table".into());
        }
        Ok(())
    }

    fn query(&self, cols: &[&str], keys: Keys, row: Rows) -> Result<usize, String> {
        self.query_where(cols, keys, row)
    }

    fn query_fetch(&self, cols: &[&str]) -> Result<(), String> {
        let query = self.dbf.query.ok_or("database module has no query")?;
        let (_names, mut ptrs) = Self::keys(cols);
        // SAFETY: column name array alive during the call; a NULL result
        // pointer asks the driver to keep the result for fetch_result.
        let r = unsafe {
            query(
                self.con,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                ptrs.as_mut_ptr(),
                0,
                cols.len() as i32,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err("error while querying the database".into());
        }
        self.fetched.set((cols.len(), std::ptr::null_mut()));
        Ok(())
    }

    fn fetch(&self, page: usize, row: Rows) -> Result<usize, String> {
        let fetch = self.dbf.fetch_result.ok_or("no fetch_result")?;
        let (ncols, mut res) = self.fetched.get();
        // SAFETY: res is NULL or the previous page, which the driver frees
        // or reuses.
        if unsafe { fetch(self.con, &mut res, page as i32) } < 0 {
            self.free(res);
            self.fetched.set((0, std::ptr::null_mut()));
            return Err("error while fetching rows".into());
        }
        let n = self.rows(res, ncols, row);
        if n == 0 {
            self.free(res);
            res = std::ptr::null_mut();
        }
        self.fetched.set((ncols, res));
        Ok(n)
    }

    fn raw(&self, sql: &str, row: Rows) -> Result<usize, String> {
        let raw = self.dbf.raw_query.ok_or("no raw_query")?;
        let q = s(sql.as_bytes());
        let mut res: *mut db1_res_t = std::ptr::null_mut();
        // SAFETY: the SQL text lives during the call; the result is ours
        // until free_result.
        if unsafe { raw(self.con, &q, &mut res) } != 0 {
            self.free(res);
            return Err("error while querying the database".into());
        }
        let n = self.rows(res, usize::MAX, row);
        self.free(res);
        Ok(n)
    }

    /// Sets `column` to `value` in the rows where every key column equals
    /// its text.
    fn update(&self, keys: Keys, column: &str, value: &Cell) -> Result<(), String> {
        let update = self.dbf.update.ok_or("database module has no update")?;
        let mut knames: Vec<str_> = keys.iter().map(|(k, _)| s(k.as_bytes())).collect();
        let kptrs: Vec<*mut str_> = knames.iter_mut().map(|n| n as *mut str_).collect();
        let kvals: Vec<db_val_t> = keys.iter().map(|(_, v)| text_val(v)).collect();
        let mut uname = s(column.as_bytes());
        let uptr = [&mut uname as *mut str_];
        let uval = match value {
            Cell::Null => db_val_t {
                type_: ffi::db_type_t_DB1_INT,
                nul: 1,
                ..Default::default()
            },
            Cell::Int(i) => {
                let mut d = db_val_t {
                    type_: ffi::db_type_t_DB1_BIGINT,
                    ..Default::default()
                };
                d.val.ll_val = *i;
                d
            }
            Cell::Text(t) => text_val(t),
        };
        // SAFETY: the key names, key values, the column name and its value
        // live through the call; NULL operators mean "=".
        let r = unsafe {
            update(
                self.con,
                kptrs.as_ptr(),
                std::ptr::null(),
                kvals.as_ptr(),
                uptr.as_ptr(),
                &uval,
                keys.len() as i32,
                1,
            )
        };
        if r < 0 {
            return Err(format!("failed to update column {column}"));
        }
        Ok(())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.free(self.fetched.get().1);
        if let Some(c) = self.dbf.close {
            // SAFETY: our connection, closed once.
            unsafe { c(self.con) };
        }
    }
}

/// A value copied out of the driver's result.
///
/// # Safety
/// `v` is a value of a live result.
unsafe fn cell(v: &db_val_t) -> Cell {
    if v.nul != 0 {
        return Cell::Null;
    }
    // SAFETY: the union member read is the one the type names.
    unsafe {
        match v.type_ {
            ffi::db_type_t_DB1_INT => Cell::Int(v.val.int_val as i64),
            ffi::db_type_t_DB1_BIGINT => Cell::Int(v.val.ll_val),
            ffi::db_type_t_DB1_UINT | ffi::db_type_t_DB1_BITMAP => Cell::Int(v.val.uint_val as i64),
            ffi::db_type_t_DB1_UBIGINT => Cell::Int(v.val.ull_val.min(i64::MAX as u64) as i64),
            ffi::db_type_t_DB1_DATETIME => Cell::Int(v.val.time_val),
            ffi::db_type_t_DB1_DOUBLE => Cell::Int(v.val.double_val as i64),
            ffi::db_type_t_DB1_STRING => {
                let p = v.val.string_val;
                if p.is_null() {
                    Cell::Null
                } else {
                    Cell::Text(std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
                }
            }
            ffi::db_type_t_DB1_STR => Cell::Text(str_bytes(&v.val.str_val).to_vec()),
            ffi::db_type_t_DB1_BLOB => Cell::Text(str_bytes(&v.val.blob_val).to_vec()),
            _ => Cell::Null,
        }
    }
}
