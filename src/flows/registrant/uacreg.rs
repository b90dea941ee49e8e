//! Kamailio uac's `uacreg` table (5.6 schema, version 5) and its records as
//! `uac.reg_dump` / `uac.reg_info` print them (stock's fields, in stock's
//! order, `none` for an empty secret, proxy or contact).

use super::Table;
use crate::ports::db::Cell;
use crate::ports::rpc::Record;
use crate::registration::account::{
    AccountData, Field, RowError, RowWarning, COLUMNS, INT_COLUMNS,
};
use crate::registration::registry::Entry;
use allocator_api2::alloc::Allocator;

/// The uacreg schema version of Kamailio 5.6.
pub const TABLE_VERSION: u32 = 5;

/// The `uacreg` table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uacreg;

impl Table for Uacreg {
    fn name(&self) -> &'static str {
        "uacreg"
    }

    fn version(&self) -> u32 {
        TABLE_VERSION
    }

    fn columns(&self) -> &[&str] {
        &COLUMNS
    }

    fn int_columns(&self) -> &[&str] {
        &INT_COLUMNS
    }

    fn account(
        &self,
        cells: &[Cell],
        default_contact: &[u8],
    ) -> Result<(AccountData, Option<RowWarning>), RowError> {
        AccountData::from_row(cells, default_contact)
    }

    fn record<A: Allocator + Clone>(&self, e: &Entry<A>, now: i64) -> Record {
        let t = |f: Field| e.get(f);
        let or_none = |f: Field| {
            let s = e.get(f);
            if s.is_empty() {
                &b"none"[..]
            } else {
                s
            }
        };
        Record::new()
            .str("l_uuid", t(Field::LUuid))
            .str("l_username", t(Field::LUsername))
            .str("l_domain", t(Field::LDomain))
            .str("r_username", t(Field::RUsername))
            .str("r_domain", t(Field::RDomain))
            .str("realm", t(Field::Realm))
            .str("auth_username", t(Field::AuthUsername))
            .str("auth_password", or_none(Field::AuthPassword))
            .str("auth_ha1", or_none(Field::AuthHa1))
            .str("auth_proxy", or_none(Field::AuthProxy))
            .int("expires", e.expires as i64)
            .int("flags", e.flags as i64)
            .int("diff_expires", e.timer_expires() - now)
            .int("timer_expires", e.timer_expires())
            .int("reg_init", e.reg_init())
            .int("reg_delay", e.reg_delay as i64)
            .str("contact_addr", or_none(Field::ContactAddr))
            .str("socket", t(Field::Socket))
    }
}
