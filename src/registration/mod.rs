//! Remote registrations (the `uacreg` table): pure logic, no host types.
//! - `account`: one row checked field by field, and the REGISTER text;
//! - `reply`: what a registrar's reply means, refresh and retry times;
//! - `registry`: all accounts, their indexes and the schedule, generic over
//!   the allocator (Kamailio shared memory in the module).

pub mod account;
pub mod registry;
pub mod reply;
