//! What the export tables of both hosts share, below the host layers: the
//! storage a host writes through a module's parameter table ([`ParamCell`]),
//! the tables a module hands to its host ([`Table`]), and [`table!`], which
//! sizes a table by its entries and ends it with the all-zero entry, as a C
//! module's `cmd_export_t cmds[] = {..., {0, 0, 0}}` is.
//!
//! The entries themselves are host types, built by each host's `exports.rs`
//! (`src/kamailio/exports.rs`, `src/opensips/exports.rs`). No `static mut`:
//! the statics are plain `static`s of these two `Sync` wrappers.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::os::raw::c_char;

/// The storage of a module parameter: the host writes it through the pointer
/// its parameter table holds ([`ParamCell::as_ptr`]) while it reads the
/// config; the module reads it in mod_init with [`ParamCell::get`] (or a
/// reader for the value's kind).
///
/// Also fits other start-up data that C reads through a pointer we give it
/// (Kamailio auth's `qop` in the `bind_auth_s` API): written only while the
/// process starts, read afterwards.
#[repr(transparent)]
pub struct ParamCell<T>(UnsafeCell<T>);

// SAFETY: the hosts write a parameter only while they parse the config, in the
// main process, from its one thread, before mod_init (Kamailio and OpenSIPS
// run the config parser single-threaded and fork the workers after mod_init);
// other writers (the `unsafe` blocks that use `as_ptr`) keep to the same rule.
// Afterwards the value is only read, and each forked process reads its own
// copy. Readers copy the value out and keep no reference into the cell across
// a write, so no read ever overlaps a write.
unsafe impl<T> Sync for ParamCell<T> {}

impl<T> ParamCell<T> {
    /// A parameter with its default value.
    pub const fn new(v: T) -> Self {
        ParamCell(UnsafeCell::new(v))
    }

    /// The address the host writes the parameter to.
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

impl<T: Copy> ParamCell<T> {
    /// The value as the host left it (or the default).
    pub fn get(&self) -> T {
        // SAFETY: no write overlaps a read (see the Sync impl); the cell
        // always holds a valid T (the default, or what the host stored, which
        // has the type the parameter table declares for this cell).
        unsafe { *self.0.get() }
    }
}

impl ParamCell<*mut c_char> {
    /// A `char*` string parameter (Kamailio PARAM_STRING, OpenSIPS
    /// STR_PARAM): None while it is NULL.
    pub fn c_str(&self) -> Option<&'static [u8]> {
        let p = self.get();
        // SAFETY: a non-NULL value is our static default or the NUL-terminated
        // copy of the config's value that the host allocated and never frees.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
    }
}

/// A table handed to the host: script functions, parameters, KEMI, RPC, the
/// `exports` struct. Built at compile time; from then on Rust only passes its
/// address (the host's API takes `T*`, not `const T*`). The `UnsafeCell`
/// makes that `*mut` honest and keeps the table in writable memory, where a C
/// module's table is.
#[repr(transparent)]
pub struct Table<T>(UnsafeCell<T>);

// SAFETY: Rust never reads or writes the contents after compile time; only
// the host does, through the address, from the thread it runs module code on
// (the tables hold raw pointers to static strings, functions and cells, which
// is why the auto trait does not apply).
unsafe impl<T> Sync for Table<T> {}

impl<T> Table<T> {
    pub const fn new(v: T) -> Self {
        Table(UnsafeCell::new(v))
    }

    /// The address to hand to the host.
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// The all-zero entry that ends a host table (`{0, 0, 0}` in C).
pub trait End {
    const END: Self;
}

/// Declares a host table as a `static` [`Table`] sized by its entries and
/// ended by the type's [`End::END`]:
///
/// ```ignore
/// table! {
///     static PARAMS: [param_export_t] = [
///         param!("restore_dlg", PARAM_INT, RESTORE_DLG),
///     ];
/// }
/// ```
macro_rules! table {
    ($(#[$m:meta])* $vis:vis static $name:ident: [$t:ty] = [$($e:expr),* $(,)?];) => {
        $(#[$m])*
        $vis static $name: $crate::exports::Table<[$t; [$(stringify!($e)),*].len() + 1]> =
            $crate::exports::Table::new([$($e,)* <$t as $crate::exports::End>::END]);
    };
}
pub(crate) use table;

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    #[derive(Clone, Copy)]
    struct Entry(*mut c_char);
    impl End for Entry {
        const END: Entry = Entry(null_mut());
    }
    const X: *mut c_char = c"x".as_ptr() as *mut c_char;
    static NAME: ParamCell<*mut c_char> = ParamCell::new(c"vsf".as_ptr() as *mut c_char);
    static UNSET: ParamCell<*mut c_char> = ParamCell::new(null_mut());
    table! {
        static ENTRIES: [Entry] = [Entry(X), Entry(X)];
    }

    #[test]
    fn table_is_sized_and_terminated() {
        // SAFETY: a test table nobody else touches.
        let t = unsafe { &*ENTRIES.as_ptr() };
        assert_eq!(t.len(), 3);
        assert!(!t[1].0.is_null());
        assert!(t[2].0.is_null());
    }

    #[test]
    fn string_parameters() {
        assert_eq!(NAME.c_str(), Some(&b"vsf"[..]));
        assert_eq!(UNSET.c_str(), None);
    }
}
