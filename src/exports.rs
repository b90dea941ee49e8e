//! What the export tables of both hosts share, below the host layers: the
//! storage a host writes through a module's parameter table ([`ParamCell`]),
//! the tables a module hands to its host ([`Table`]), and [`table!`], which
//! sizes a table by its entries and ends it with the all-zero entry, as a C
//! module's `cmd_export_t cmds[] = {..., {0, 0, 0}}` is.
//!
//! Also the pieces whose layout both hosts share: a parameter entry
//! ([`Param`], built by [`param!`] from a host's kind markers) and the
//! compile-time layout check of such a mirror against the host's own type
//! ([`same_layout!`]). The entries of the other tables are host types, built
//! by each host's `exports.rs` (`src/kamailio/exports.rs`,
//! `src/opensips/exports.rs`). No `static mut`: the statics are plain
//! `static`s of the two `Sync` wrappers.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::ptr::{null, null_mut};

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

/// A `"name"` literal as the NUL-terminated bytes a table entry points at.
macro_rules! cname {
    ($s:literal) => {
        concat!($s, "\0").as_bytes()
    };
}
pub(crate) use cname;

/// A NUL-terminated literal as the `char*` a table holds.
pub const fn cstr(s: &'static [u8]) -> *const c_char {
    assert!(!s.is_empty() && s[s.len() - 1] == 0);
    s.as_ptr() as *const c_char
}

/// A fixed-size C array (KEMI parameter types, OpenSIPS command parameters)
/// from the entries given, the rest `fill`.
pub const fn padded<T: Copy, const N: usize>(items: &[T], fill: T) -> [T; N] {
    assert!(items.len() <= N);
    let mut out = [fill; N];
    let mut i = 0;
    while i < items.len() {
        out[i] = items[i];
        i += 1;
    }
    out
}

/// A host's kind of parameter (Kamailio `PARAM_INT`, OpenSIPS `INT_PARAM`...)
/// as a marker type for [`param!`]: the flag the table carries and the C type
/// the core then writes into the parameter's storage. Each host declares its
/// markers with [`param_kinds!`].
pub trait ParamKind {
    type Value;
    const KIND: u32;
}

/// A host's USE_FUNC flag as a marker type for [`param!`].
pub trait UseFunc {
    const FLAG: u32;
}

/// Declares a host's [`ParamKind`] and [`UseFunc`] markers, named after the
/// host's constants so that `param!` entries read like the C table, and
/// checks that [`Param`] has the layout of the host's `param_export_t`.
macro_rules! param_kinds {
    (
        $entry:ty;
        $($kind:ident: $value:ty = $flag:expr),+;
        $use_func:ident = $uf:expr $(,)?
    ) => {
        $crate::exports::same_layout!($crate::exports::Param = $entry {
            name,
            kind = type_,
            pointer = param_pointer,
        });
        $(
            #[allow(non_camel_case_types)]
            pub enum $kind {}
            impl $crate::exports::ParamKind for $kind {
                type Value = $value;
                const KIND: u32 = $flag;
            }
        )+
        #[allow(non_camel_case_types)]
        pub enum $use_func {}
        impl $crate::exports::UseFunc for $use_func {
            const FLAG: u32 = $uf;
        }
    };
}
pub(crate) use param_kinds;

/// A function the core calls with each value of a USE_FUNC parameter
/// (`modparam_t` is `unsigned int` on both hosts).
pub type ParamFn = unsafe extern "C" fn(c_uint, *mut c_void) -> c_int;

/// One `param_export_t` (`{char *name; modparam_t type; void *param_pointer}`
/// on both hosts; each host checks it with [`same_layout!`], which is why the
/// fields are visible in the crate: build entries with [`param!`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Param {
    pub(crate) name: *const c_char,
    pub(crate) kind: c_uint,
    pub(crate) pointer: *mut c_void,
}

impl Param {
    /// A parameter the core writes into `cell`, which must hold what `K`
    /// makes it write.
    pub const fn cell<K: ParamKind>(
        name: &'static [u8],
        cell: &'static ParamCell<K::Value>,
    ) -> Param {
        Param {
            name: cstr(name),
            kind: K::KIND,
            pointer: cell.as_ptr() as *mut c_void,
        }
    }

    /// A USE_FUNC parameter: the core calls `f` with each value.
    pub const fn func<K: ParamKind, U: UseFunc>(name: &'static [u8], f: ParamFn) -> Param {
        Param {
            name: cstr(name),
            kind: K::KIND | U::FLAG,
            pointer: f as *const c_void as *mut c_void,
        }
    }
}

impl End for Param {
    const END: Param = Param {
        name: null(),
        kind: 0,
        pointer: null_mut(),
    };
}

/// One `modparam`, as in the C table `{"restore_dlg", PARAM_INT, &restore_dlg}`:
/// `param!(name, KIND, cell)` or `param!(name, KIND | USE_FUNC, function)`,
/// with the host's markers ([`param_kinds!`]) in scope.
macro_rules! param {
    ($name:literal, $kind:ident | $use_func:ident, $f:expr $(,)?) => {
        $crate::exports::Param::func::<$kind, $use_func>($crate::exports::cname!($name), $f)
    };
    ($name:literal, $kind:ident, $cell:expr $(,)?) => {
        $crate::exports::Param::cell::<$kind>($crate::exports::cname!($name), &$cell)
    };
}
pub(crate) use param;

/// Checks at compile time that `ours` (a mirror built here) has the size,
/// alignment and field offsets of the host's C type `theirs`; a field named
/// otherwise there is written `ours = theirs`:
/// `same_layout!(Param = param_export_t { name, kind = type_, pointer = param_pointer });`
macro_rules! same_layout {
    (@offset $t:ty, $a:ident) => { ::std::mem::offset_of!($t, $a) };
    (@offset $t:ty, $a:ident = $b:ident) => { ::std::mem::offset_of!($t, $b) };
    ($ours:ty = $theirs:ty { $($a:ident $(= $b:ident)?),+ $(,)? }) => {
        const _: () = {
            use ::std::mem::{align_of, offset_of, size_of};
            assert!(size_of::<$ours>() == size_of::<$theirs>());
            assert!(align_of::<$ours>() == align_of::<$theirs>());
            $(assert!(
                offset_of!($ours, $a) == $crate::exports::same_layout!(@offset $theirs, $a $(= $b)?)
            );)+
        };
    };
}
pub(crate) use same_layout;

/// Declares a host table as a `static` [`Table`] sized by its entries and
/// ended by the type's [`End::END`]:
///
/// ```text
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
