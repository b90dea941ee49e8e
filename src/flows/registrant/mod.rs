//! The registrant: remote registrations kept alive for the rows of a table
//! (Kamailio uac's `uacreg`; OpenSIPS's `registrant` reuses it with its own
//! mapping and MI). Written once over the ports:
//!
//! - `load`: rows -> the shared registry, in pages; reload keeps what did
//!   not change; one row again (refresh);
//! - `run`: the timer's tick (what is due, in batches, held back past the
//!   in-flight cap or when shared memory runs low), REGISTERs sent with a
//!   continuation, the reply (401/407 answered through the digest client,
//!   failures and backoff decided by the registry), the counters;
//! - `cmds`: the script functions (lookup, status, enable/disable,
//!   request_to, refresh, unregister);
//! - `rpc`: the management commands over the RPC port;
//! - `uacreg`: Kamailio's table and record shape, the one [`Table`] policy
//!   the uac module passes;
//! - `registrant_table`: OpenSIPS's `registrant` table (uac_registrant), its
//!   [`Table`] policy and its MI records;
//! - `mi`: uac_registrant's MI commands over the RPC port.
//!
//! The registry (`crate::registration::registry`) is pure: this flow puts it
//! in shared memory behind the host's lock, and never holds that lock while
//! it calls the host (a send may run a continuation at once).

pub mod cmds;
pub mod load;
pub mod mi;
pub mod registrant_table;
pub mod rpc;
pub mod run;
pub mod uacreg;

#[cfg(test)]
mod tests;

use crate::ports::cluster::Cluster;
use crate::ports::db::{Cell, Databases};
use crate::ports::request::Requests;
use crate::ports::rpc::Record;
use crate::ports::shm::{RawLock, ShmAllocator, ShmGuard, ShmMutex, ShmPool};
use crate::registration::account::{AccountData, RowError, RowWarning, Shape};
use crate::registration::registry::{AuthJob, Entry, Registry, Settings};
use allocator_api2::alloc::Allocator;

/// What differs between the tables (and management outputs) of the hosts'
/// registrant modules.
pub trait Table {
    /// The table's name in log lines (`uacreg`).
    fn name(&self) -> &'static str;

    /// The schema version the `version` table must show.
    fn version(&self) -> u32;

    /// The columns read, in the order [`Table::account`] takes them.
    fn columns(&self) -> &[&str];

    /// Which of them are integers.
    fn int_columns(&self) -> &[&str];

    /// The columns that identify a row, in the order of the shape's key
    /// fields (uacreg: the l_uuid, the first column).
    fn key_columns(&self) -> &[&str] {
        &self.columns()[..1]
    }

    /// The layout of the accounts' REGISTERs.
    fn shape(&self) -> Shape {
        Shape::Uacreg
    }

    /// Checks a row; `default_contact` stands for an empty contact. A row
    /// that is used with a change (an expires clamped) comes with the
    /// warning to log.
    fn account(
        &self,
        cells: &[Cell],
        default_contact: &[u8],
    ) -> Result<(AccountData, Option<RowWarning>), RowError>;

    /// An account as the management commands print it.
    fn record<A: Allocator + Clone>(&self, e: &Entry<A>, now: i64) -> Record;

    /// For a table whose state column is written back when an account is
    /// enabled or disabled (OpenSIPS's `registrant.state`): the update.
    fn state_update<A: Allocator + Clone>(&self, _e: &Entry<A>) -> Option<StateUpdate> {
        None
    }
}

/// `UPDATE table SET column = value WHERE keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUpdate {
    pub keys: Vec<(&'static str, Vec<u8>)>,
    pub column: &'static str,
    pub value: Cell,
}

/// The ports a host gives the registrant, and where each process finds it.
pub trait RegHost: Sized + 'static {
    type Alloc: ShmAllocator + ShmPool;
    type Lock: RawLock<Alloc = Self::Alloc>;
    type Req: Requests;
    type Db: Databases;
    type Table: Table;
    type Cluster: Cluster;

    /// This process's handle on the registrant (made in mod_init, before
    /// fork); None when remote registrations are off.
    fn get() -> Option<&'static Registrant<Self>>;

    /// Seconds since the epoch.
    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    /// A random number (delays, backoff, From tags).
    fn rand() -> u32 {
        use rand::RngCore;
        rand::rngs::OsRng.next_u32()
    }

    /// Answers the challenge `reply` (a 401/407, `code`) for `a`: the
    /// Authorization (or Proxy-Authorization) line, CRLF included. None:
    /// the flow's digest client answers (Kamailio's uac); a host whose stock
    /// module answers through another module (OpenSIPS's uac_auth API)
    /// gives its own answer.
    fn authorize(
        _reply: &<Self::Req as Requests>::Msg,
        _code: i32,
        _a: &AuthJob,
    ) -> Option<Result<Vec<u8>, String>> {
        None
    }
}

/// A host module's registrant: the unit struct `$host`, the static `$cell`
/// that mod_init fills (before fork: every process then holds the same
/// shared-memory pointer) and the [`RegHost`] impl naming the host's ports,
/// with any further items of the impl after them.
macro_rules! registrant_host {
    ($(#[$m:meta])* $host:ident in $cell:ident { $($ty:ident = $t:ty;)* } $($extra:tt)*) => {
        $(#[$m])*
        pub struct $host;

        static $cell: once_cell::sync::OnceCell<$crate::flows::registrant::Registrant<$host>> =
            once_cell::sync::OnceCell::new();

        impl $crate::flows::registrant::RegHost for $host {
            $(type $ty = $t;)*

            fn get() -> Option<&'static $crate::flows::registrant::Registrant<$host>> {
                $cell.get()
            }

            $($extra)*
        }
    };
}
pub(crate) use registrant_host;

/// Fixed at start-up.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub db_url: Vec<u8>,
    pub db_table: Vec<u8>,
    /// Stands for an empty contact column.
    pub contact_addr: Vec<u8>,
    /// The socket for a row without one (empty: the host picks).
    pub default_socket: Vec<u8>,
}

/// The registrant of one module: the registry in shared memory and the ports.
pub struct Registrant<H: RegHost> {
    shared: ShmMutex<Registry<H::Alloc>, H::Lock>,
    pub cfg: Config,
    pub table: H::Table,
    pub requests: H::Req,
    pub db: H::Db,
    pub cluster: H::Cluster,
}

/// The locked registry.
pub type Guard<'a, H> = ShmGuard<'a, Registry<<H as RegHost>::Alloc>, <H as RegHost>::Lock>;

impl<H: RegHost> Registrant<H> {
    /// Puts an empty registry in shared memory (in mod_init, before fork).
    pub fn new(
        settings: Settings,
        active: bool,
        cfg: Config,
        table: H::Table,
        requests: H::Req,
        db: H::Db,
    ) -> Result<Registrant<H>, String>
    where
        H::Cluster: Default,
    {
        Self::with_cluster(
            settings,
            active,
            cfg,
            table,
            requests,
            db,
            Default::default(),
        )
    }

    /// [`Registrant::new`] for a host in a cluster.
    pub fn with_cluster(
        settings: Settings,
        active: bool,
        cfg: Config,
        table: H::Table,
        requests: H::Req,
        db: H::Db,
        cluster: H::Cluster,
    ) -> Result<Registrant<H>, String> {
        let settings = Settings {
            shape: table.shape(),
            ..settings
        };
        let mut reg = Registry::new_in(settings, H::Alloc::default());
        reg.active = active;
        Ok(Registrant {
            shared: ShmMutex::new(reg)?,
            cfg,
            table,
            requests,
            db,
            cluster,
        })
    }

    /// Waits for the registry's lock. Keep the guard short, and never call
    /// the host while holding it.
    pub fn lock(&self) -> Guard<'_, H> {
        self.shared.lock()
    }
}
