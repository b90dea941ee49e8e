//! From/To replacement and restore: pure logic, no host types.

pub mod header;
pub mod route_params;
pub mod rr_codec;
pub mod validate;
