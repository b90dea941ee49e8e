//! Remote registrations (the `uacreg` table): pure logic, no host types.
//! - `account`: one row checked field by field, and the REGISTER text;
//! - `packed`: text columns packed into one value for db_sqlite pages;
//! - `reply`: what a registrar's reply means, refresh and retry times;
//! - `registry`: all accounts, their indexes and the schedule, generic over
//!   the allocator (the host's shared memory in the module);
//! - `texts`: where the registry keeps the accounts' text fields (shared
//!   fields such as the registrar once per distinct combination).

pub mod account;
pub mod packed;
pub mod registry;
pub mod reply;
pub mod texts;
