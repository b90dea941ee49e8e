//! The `ffi` module of a host: what bindgen generated from that host's
//! headers (build.rs / build_opensips.rs write it to OUT_DIR), with the lint
//! exemptions generated code needs, written once for both hosts.

/// `bindings!("file.rs")` declares `pub mod ffi` holding `OUT_DIR/file.rs`.
#[macro_export]
macro_rules! bindings {
    ($file:literal) => {
        // Generated code: the crate's lints (Cargo.toml [lints]) are for ours.
        // Both cores export some functions under the same C name (del_lump,
        // parse_to_header...) with their own struct types; a build with both
        // host layers (clippy --all-features) declares both, while a module
        // has one and a process only ever runs one core.
        #[allow(
            non_upper_case_globals,
            non_camel_case_types,
            non_snake_case,
            dead_code,
            clashing_extern_declarations,
            unsafe_op_in_unsafe_fn,
            clippy::undocumented_unsafe_blocks,
            clippy::all
        )]
        pub mod ffi {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}
