//! The DB port: a table read in pages (private memory stays bounded whatever
//! the table's size), rows by key, and the one update a registrant writes
//! back (OpenSIPS's `registrant.state`). Each host binds its DB layer
//! (Kamailio's srdb1, OpenSIPS's db API) by URL, so every driver the host has
//! works.
//!
//! The hosts' DB layers are alike (a driver bound by URL; query, fetch_result,
//! raw_query, update): a host implements the small [`SqlApi`] over its own,
//! and [`Sql`] turns it into a [`DbConn`] with the paging strategy written
//! once here ([`scan`]).

pub use crate::registration::account::Cell;
use crate::registration::packed::{packed_expr, unpack};

/// What a query calls for each row (its cells in column order).
pub type Rows<'a> = &'a mut dyn FnMut(Vec<Cell>);

/// Key columns and their texts (`WHERE k1 = v1 AND ...`).
pub type Keys<'a> = &'a [(&'a str, &'a [u8])];

/// Opens connections.
pub trait Databases {
    type Conn: DbConn;

    /// Binds the driver of `url`, connects and selects `table`.
    fn connect(&self, url: &[u8], table: &[u8]) -> Result<Self::Conn, String>;
}

/// One open connection on one table; closed when dropped.
pub trait DbConn {
    /// Checks the table's schema version (the `version` table).
    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String>;

    /// Calls `row` for every row of `cols` (cells in `cols` order), at most
    /// `page` rows in memory at a time. `ints` names the integer columns.
    /// Returns the number of rows read.
    fn scan(
        &self,
        table: &[u8],
        cols: &[&str],
        ints: &[&str],
        page: usize,
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String>;

    /// Calls `row` for the rows where every key column equals its text.
    fn rows_by_key(
        &self,
        cols: &[&str],
        keys: &[(&str, &[u8])],
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String>;

    /// Sets `column` to `value` in the rows where every key column equals
    /// its text.
    fn update(&self, keys: &[(&str, &[u8])], column: &str, value: &Cell) -> Result<(), String>;
}

/// A host's SQL layer on one open connection and table, as [`scan`] uses it.
pub trait SqlApi {
    /// The driver can hand a result over in pages (fetch_result).
    fn can_fetch(&self) -> bool;
    /// The driver takes raw SQL.
    fn can_raw(&self) -> bool;
    /// The driver is db_sqlite (its keyset pages pack the text columns).
    fn is_sqlite(&self) -> bool;

    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String>;

    /// `SELECT cols WHERE keys` (none: every row), all rows at once.
    fn query(&self, cols: &[&str], keys: Keys, row: Rows) -> Result<usize, String>;

    /// Starts `SELECT cols` for [`SqlApi::fetch`].
    fn query_fetch(&self, cols: &[&str]) -> Result<(), String>;

    /// The next page of at most `page` rows of the query begun by
    /// [`SqlApi::query_fetch`]; 0 at the end.
    fn fetch(&self, page: usize, row: Rows) -> Result<usize, String>;

    /// Raw SQL returning rows.
    fn raw(&self, sql: &str, row: Rows) -> Result<usize, String>;

    fn update(&self, keys: Keys, column: &str, value: &Cell) -> Result<(), String>;
}

/// A host's [`SqlApi`] as the port's connection.
pub struct Sql<S>(pub S);

impl<S: SqlApi> DbConn for Sql<S> {
    fn check_version(&mut self, table: &[u8], version: u32) -> Result<(), String> {
        self.0.check_version(table, version)
    }

    fn scan(
        &self,
        table: &[u8],
        cols: &[&str],
        ints: &[&str],
        page: usize,
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String> {
        scan(&self.0, table, cols, ints, page, row)
    }

    fn rows_by_key(
        &self,
        cols: &[&str],
        keys: &[(&str, &[u8])],
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String> {
        self.0.query(cols, keys, row)
    }

    fn update(&self, keys: &[(&str, &[u8])], column: &str, value: &Cell) -> Result<(), String> {
        self.0.update(keys, column, value)
    }
}

/// Every row of `cols` in `table`, at most `page` rows in memory at a time:
/// fetch_result where the driver has it, else keyset pages on the first
/// column through raw SQL (db_sqlite: the text columns packed), else one
/// query. Returns the number of rows read.
pub fn scan<S: SqlApi>(
    db: &S,
    table: &[u8],
    cols: &[&str],
    ints: &[&str],
    page: usize,
    row: &mut dyn FnMut(Vec<Cell>),
) -> Result<usize, String> {
    if db.can_fetch() {
        db.query_fetch(cols)?;
        let mut total = 0;
        loop {
            let n = db.fetch(page, row)?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
    let idents = safe_ident(table) && cols.iter().all(|c| safe_ident(c.as_bytes()));
    if db.can_raw() && idents && !cols.is_empty() {
        if db.is_sqlite() {
            return scan_keyset_packed(db, table, cols, ints, page, row);
        }
        return scan_keyset(db, table, cols, page, row);
    }
    db.query(cols, &[], row)
}

/// Keyset pages on `cols[0]` (the key) through raw SQL.
fn scan_keyset<S: SqlApi>(
    db: &S,
    table: &[u8],
    cols: &[&str],
    page: usize,
    row: &mut dyn FnMut(Vec<Cell>),
) -> Result<usize, String> {
    let table = String::from_utf8_lossy(table);
    let mut last: Option<Vec<u8>> = None;
    let mut total = 0;
    loop {
        let cond = match &last {
            None => String::new(),
            Some(k) => format!(" WHERE {} > '{}'", cols[0], sql_quote(k)),
        };
        let sql = format!(
            "SELECT {} FROM {table}{cond} ORDER BY {} LIMIT {page}",
            cols.join(","),
            cols[0]
        );
        let mut page_last = None;
        let n = db.raw(&sql, &mut |cells: Vec<Cell>| {
            if let Some(Cell::Text(k)) = cells.first() {
                page_last = Some(k.clone());
            }
            row(cells)
        })?;
        total += n;
        if n < page {
            return Ok(total);
        }
        match page_last {
            Some(k) => last = Some(k),
            None => return Ok(total),
        }
    }
}

/// scan_keyset for db_sqlite: `SELECT key, <the other text columns packed>,
/// <ints>`, so that the driver copies three values per row into private
/// memory instead of one per column; the cells are handed over in `cols`
/// order as scan_keyset would.
fn scan_keyset_packed<S: SqlApi>(
    db: &S,
    table: &[u8],
    cols: &[&str],
    ints: &[&str],
    page: usize,
    row: &mut dyn FnMut(Vec<Cell>),
) -> Result<usize, String> {
    let texts: Vec<&str> = cols[1..]
        .iter()
        .copied()
        .filter(|c| !ints.contains(c))
        .collect();
    let int_cols: Vec<&str> = cols[1..]
        .iter()
        .copied()
        .filter(|c| ints.contains(c))
        .collect();
    let mut sel = vec![cols[0].to_string(), packed_expr(&texts)];
    sel.extend(int_cols.iter().map(|c| c.to_string()));
    let sel: Vec<&str> = sel.iter().map(|c| c.as_str()).collect();
    scan_keyset(db, table, &sel, page, &mut |cells: Vec<Cell>| {
        let mut it = cells.into_iter();
        let key = it.next().unwrap_or(Cell::Null);
        let mut vals = match it.next() {
            Some(Cell::Text(p)) => unpack(&p, texts.len()),
            _ => None,
        }
        .unwrap_or_else(|| vec![None; texts.len()])
        .into_iter();
        let mut ivals = it;
        let out = std::iter::once(key)
            .chain(cols[1..].iter().map(|c| {
                if ints.contains(c) {
                    ivals.next().unwrap_or(Cell::Null)
                } else {
                    vals.next().flatten().map_or(Cell::Null, Cell::Text)
                }
            }))
            .collect();
        row(out)
    })
}

/// A table or column name we put into SQL text as is.
pub fn safe_ident(t: &[u8]) -> bool {
    !t.is_empty()
        && t.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
}

/// A string literal's content: quotes doubled (SQL standard; SQLite and
/// PostgreSQL with standard_conforming_strings), NUL refused by the caller's data.
fn sql_quote(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .replace('\'', "''")
        .replace('\0', "")
}
