//! The DB port: a table read in pages (private memory stays bounded whatever
//! the table's size), rows by key, and the one update a registrant writes
//! back (OpenSIPS's `registrant.state`). Each host binds its DB layer
//! (Kamailio's srdb1, OpenSIPS's db API) by URL, so every driver the host has
//! works.

pub use crate::registration::account::Cell;

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

    /// Calls `row` for the rows whose first column equals `key`.
    fn rows_by_key(
        &self,
        cols: &[&str],
        key: &[u8],
        row: &mut dyn FnMut(Vec<Cell>),
    ) -> Result<usize, String>;

    /// Sets `column` to `value` in the rows where every key column equals
    /// its text.
    fn update(&self, keys: &[(&str, &[u8])], column: &str, value: &Cell) -> Result<(), String>;
}
