//! From/To replacement and restore: pure logic, no host types.
//!
//! - `header`: where a From/To header's parts are ([`header::Ident`]), the
//!   [`header::Edit`]s every host turns into lumps, Kamailio's display edits.
//! - `name_addr`: the OpenSIPS form of the edits (`<uri>`, quoted display).
//! - `rr_codec`: the Record-Route parameter that carries the URI pair.
//! - `route_params`: reading that parameter from a Route URI.
//! - `validate`: checks on new and restored URIs and display names.

pub mod header;
pub mod name_addr;
pub mod route_params;
pub mod rr_codec;
pub mod validate;
