//! OpenSIPS's DB API (db_bind_mod by URL: db_sqlite, db_postgres, ...) as
//! the DB port, through the glue (the db_* structs are filled in C). The
//! paging is the port's (`ports::db::scan`): both drivers OpenSIPS builds
//! here hand results over in pages (fetch_result).

use super::ffi;
use crate::ports::db::{Cell, Databases, Keys, Rows, Sql, SqlApi};
use std::os::raw::{c_char, c_int, c_void};

/// One open connection on one table (the glue's handle) and the column
/// count of a fetch query under way; closed on drop.
pub struct OsDb(std::ptr::NonNull<c_void>, std::cell::Cell<usize>);

/// Pointers and lengths of texts for the glue.
fn texts<'a>(v: impl Iterator<Item = &'a [u8]>) -> (Vec<*const c_char>, Vec<c_int>) {
    v.map(|b| (b.as_ptr() as *const c_char, b.len() as c_int))
        .unzip()
}

impl OsDb {
    fn h(&self) -> *mut c_void {
        self.0.as_ptr()
    }

    /// The rows of a result (cells in column order), then frees it.
    fn rows(&self, res: *mut c_void, row: &mut dyn FnMut(Vec<Cell>), ncols: usize) -> usize {
        // SAFETY: a result of this connection (or NULL: no rows).
        let n = unsafe { ffi::osg_db_rows(res) }.max(0) as usize;
        for i in 0..n {
            let cells = (0..ncols)
                .map(|c| {
                    let (mut iv, mut s, mut len) = (0i64, std::ptr::null(), 0);
                    // SAFETY: row i of n, column c (the glue checks it
                    // against the row's width).
                    match unsafe {
                        ffi::osg_db_cell(res, i as c_int, c as c_int, &mut iv, &mut s, &mut len)
                    } {
                        1 => Cell::Int(iv),
                        // SAFETY: the driver's text, alive with the result.
                        2 => Cell::Text(unsafe { super::copy_out(s, len) }.unwrap_or_default()),
                        _ => Cell::Null,
                    }
                })
                .collect();
            row(cells);
        }
        n
    }
}

impl Drop for OsDb {
    fn drop(&mut self) {
        // SAFETY: our handle, closed once.
        unsafe { ffi::osg_db_close(self.h()) }
    }
}

/// The DB API as the port's connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsDatabases;

impl Databases for OsDatabases {
    type Conn = Sql<OsDb>;

    fn connect(&self, url: &[u8], table: &[u8]) -> Result<Sql<OsDb>, String> {
        // SAFETY: the glue copies the table name and binds the driver of url
        // (which copies what it keeps).
        let h = unsafe {
            ffi::osg_db_open(
                url.as_ptr() as *const c_char,
                url.len() as c_int,
                table.as_ptr() as *const c_char,
                table.len() as c_int,
            )
        };
        std::ptr::NonNull::new(h)
            .map(|h| Sql(OsDb(h, std::cell::Cell::new(0))))
            .ok_or_else(|| "unable to bind to or connect to the database".into())
    }
}

impl SqlApi for OsDb {
    fn can_fetch(&self) -> bool {
        // SAFETY: an open handle.
        unsafe { ffi::osg_db_can_fetch(self.h()) != 0 }
    }

    /// Keyset pages need a unique first column, which the registrant table
    /// has not: without fetch_result the table is read in one query.
    fn can_raw(&self) -> bool {
        false
    }

    fn is_sqlite(&self) -> bool {
        false
    }

    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String> {
        // SAFETY: an open handle.
        if unsafe { ffi::osg_db_check_version(self.h(), version) } < 0 {
            return Err(format!(
                "invalid table version for {} (expected {version})",
                String::from_utf8_lossy(table)
            ));
        }
        Ok(())
    }

    fn query(&self, cols: &[&str], keys: Keys, row: Rows) -> Result<usize, String> {
        let (c, cl) = texts(cols.iter().map(|c| c.as_bytes()));
        let (k, kl) = texts(keys.iter().map(|(k, _)| k.as_bytes()));
        let (v, vl) = texts(keys.iter().map(|(_, v)| *v));
        let mut res = std::ptr::null_mut();
        // SAFETY: the arrays live through the call; res is ours afterwards.
        let r = unsafe {
            ffi::osg_db_query(
                self.h(),
                c.as_ptr() as *mut _,
                cl.as_ptr(),
                cols.len() as c_int,
                k.as_ptr() as *mut _,
                kl.as_ptr(),
                v.as_ptr() as *mut _,
                vl.as_ptr(),
                keys.len() as c_int,
                0,
                &mut res,
            )
        };
        if r < 0 {
            return Err("error while querying the database".into());
        }
        let n = self.rows(res, row, cols.len());
        // SAFETY: the result of this query, freed once.
        unsafe { ffi::osg_db_free(self.h(), res) };
        Ok(n)
    }

    fn query_fetch(&self, cols: &[&str]) -> Result<(), String> {
        let (c, cl) = texts(cols.iter().map(|c| c.as_bytes()));
        self.1.set(cols.len());
        let mut res = std::ptr::null_mut();
        // SAFETY: as in query; with fetch the driver keeps the result.
        let r = unsafe {
            ffi::osg_db_query(
                self.h(),
                c.as_ptr() as *mut _,
                cl.as_ptr(),
                cols.len() as c_int,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null(),
                0,
                1,
                &mut res,
            )
        };
        if r < 0 {
            return Err("error while querying (fetch) the database".into());
        }
        Ok(())
    }

    fn fetch(&self, page: usize, row: Rows) -> Result<usize, String> {
        let mut res = std::ptr::null_mut();
        // SAFETY: the fetch query of this handle; the page stays the glue's.
        if unsafe { ffi::osg_db_fetch(self.h(), page as c_int, &mut res) } < 0 {
            return Err("fetching rows failed".into());
        }
        Ok(self.rows(res, row, self.1.get()))
    }

    fn raw(&self, _sql: &str, _row: Rows) -> Result<usize, String> {
        Err("raw queries are not used on OpenSIPS".into())
    }

    fn update(&self, keys: Keys, column: &str, value: &Cell) -> Result<(), String> {
        let (k, kl) = texts(keys.iter().map(|(k, _)| k.as_bytes()));
        let (v, vl) = texts(keys.iter().map(|(_, v)| *v));
        let (null, iv) = match value {
            Cell::Int(i) => (0, *i),
            _ => (1, 0),
        };
        // SAFETY: the arrays and the column name live through the call.
        let r = unsafe {
            ffi::osg_db_update(
                self.h(),
                k.as_ptr() as *mut _,
                kl.as_ptr(),
                v.as_ptr() as *mut _,
                vl.as_ptr(),
                keys.len() as c_int,
                column.as_ptr() as *const c_char,
                column.len() as c_int,
                null,
                iv,
            )
        };
        if r < 0 {
            return Err(format!("failed to update column {column}"));
        }
        Ok(())
    }
}
