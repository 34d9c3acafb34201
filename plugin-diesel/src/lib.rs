//! The diesel-backed [`Store`] of plugin-system: SQLite (feature `sqlite`, on by default,
//! bundled: no system library needed), PostgreSQL (feature `postgres`, needs libpq) and
//! MySQL/MariaDB (feature `mysql`, needs libmysqlclient or libmariadb).
//!
//! [`open`] picks the backend from the URL's scheme (`sqlite://path`, `postgres://…`,
//! `mysql://…`), connects to it directly (so a failure reports its real cause), runs the
//! embedded migrations of that backend and returns the store. Every backend has the same
//! tables (`migrations/<backend>/`), the same sync semantics (the plan comes from
//! [`plugin_runtime::sync::plan`]) and the same guarantees:
//!
//! - every write is one transaction that first takes the store's write lock (SQLite:
//!   `BEGIN IMMEDIATE`; PostgreSQL and MySQL: the `plugin_revision` row), so concurrent
//!   writers (eight processes syncing at once, two operators saving one instance) queue
//!   instead of failing or overwriting each other;
//! - every write bumps the revision and writes an audit row (never with config values) in the
//!   same transaction, and logs the instances it changed (`plugin_changes`, kept for the
//!   last [`CHANGE_LOG_REVISIONS`](plugin_runtime::store::CHANGE_LOG_REVISIONS) revisions),
//!   so another process that is behind reads only those rows ([`Store::changes_since`]); a
//!   write of more than 10,000 instances is logged as "everything" (a reader behind it
//!   reloads in full, as it would for a change that large anyway);
//! - migrations run under a lock too (SQLite: the write lock; PostgreSQL: an advisory lock;
//!   MySQL: a named lock, released even by a panic), so processes starting together do not
//!   race to create the tables; and a start killed while migrating never bricks the
//!   database (SQLite and PostgreSQL migrate in one transaction; MySQL, whose DDL is not
//!   transactional, runs migrations whose every statement can run again, so the next start
//!   completes them);
//! - connections are opened on the thread that needs one, with a connect time-out where the
//!   driver takes one (PostgreSQL), and nothing runs in the background: once the last call
//!   into the store has returned, no thread is inside the driver, so a short program exits
//!   cleanly (see `src/pool.rs` for what r2d2's worker threads did to TLS programs at exit).

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("plugin-diesel needs at least one backend feature: `sqlite`, `postgres` or `mysql`");

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::r2d2::R2D2Connection;
use plugin_runtime::Error;
use plugin_runtime::store::{Store, StoreError, StoreErrorKind};

use crate::backoff::Backoff;
use crate::hooks::Hooks;
use crate::pool::{ConnectionPool, Pooled};

mod backoff;
mod database_url;
mod hooks;
#[cfg(all(feature = "postgres", unix))]
mod listen;
#[cfg(feature = "mysql")]
mod mysql;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use database_url::{Backend, DatabaseUrl};

/// A [`Store`] in a SQL database, through diesel. One type per backend:
/// [`SqliteStore`], [`PgStore`], [`MysqlStore`]; [`open`] gives whichever the URL names.
pub struct DieselStore<C: R2D2Connection + 'static> {
    pool: ConnectionPool<C>,
    url: DatabaseUrl,
    /// When the change feed may subscribe again after a failed subscription (PostgreSQL's).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    resubscribe: Mutex<Backoff>,
}

impl<C: R2D2Connection + 'static> DieselStore<C> {
    /// The database this store writes to (its password redacted when displayed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Parses `url`, checks it names this backend, connects and runs the pending migrations.
    fn open_with_hooks(url: &str) -> Result<Self, Error>
    where
        C: Hooks,
    {
        let url = DatabaseUrl::parse(url)?;
        url.expect(C::BACKEND)?;
        let pool = ConnectionPool::new(&C::target(&url), C::pool_size(&url), CONNECTION_TIMEOUT);
        let store = DieselStore {
            pool,
            url,
            resubscribe: Mutex::new(Backoff::new(RESUBSCRIBE_FIRST, RESUBSCRIBE_CEILING)),
        };
        C::migrate(&store)?;
        Ok(store)
    }

    /// A connection from the pool; a new one is opened on this thread when none is idle.
    /// A failure says why in its source: the driver's reason, or every connection in use.
    fn conn(&self) -> Result<Pooled<'_, C>, StoreError>
    where
        C: Hooks,
    {
        self.pool.get().map_err(|err| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "no connection to the {} database {}",
                    self.url.backend(),
                    self.url
                ),
            )
            .with_source(err)
        })
    }
}

impl<C: R2D2Connection + 'static> std::fmt::Debug for DieselStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// How long a call waits for a connection while every one is in use before it fails: long
/// enough for a burst of writers to queue, short enough that a request fails with a clear
/// error instead of hanging.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening one connection may take before it fails (where the driver takes a
/// limit: PostgreSQL's `connect_timeout`, unless the URL sets its own), so a host that
/// accepts connections and never answers cannot hang a caller or the watcher.
#[cfg(feature = "postgres")]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// After a failed change-feed subscription, the next waits this long, doubling up to the
/// ceiling: meanwhile the watcher polls the revision instead of spending each poll on a
/// connection attempt.
const RESUBSCRIBE_FIRST: Duration = Duration::from_secs(1);
const RESUBSCRIBE_CEILING: Duration = Duration::from_secs(60);

/// A migration failure: the store's schema could not be created or upgraded.
pub(crate) fn migration_failed(
    url: &DatabaseUrl,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    StoreError::new(
        StoreErrorKind::Migration,
        format!("the migrations of the plugin tables in {url} failed"),
    )
    .with_source(cause)
    .into()
}

/// The store in a SQLite file.
#[cfg(feature = "sqlite")]
pub type SqliteStore = DieselStore<diesel::SqliteConnection>;
/// The store in a PostgreSQL database.
#[cfg(feature = "postgres")]
pub type PgStore = DieselStore<diesel::PgConnection>;
/// The store in a MySQL or MariaDB database.
#[cfg(feature = "mysql")]
pub type MysqlStore = DieselStore<diesel::MysqlConnection>;

/// Opens the store the URL names: connects, runs the pending migrations, and returns it
/// ready to sync (`Plugins::sync`, or `plugin_runtime::sync::run`). A backend whose feature
/// is off is an error that names the feature; a connection failure is an
/// [`Unavailable`](StoreErrorKind::Unavailable) error whose source is the server's own
/// reason (and never shows the password).
pub fn open(url: &str) -> Result<Arc<dyn Store>, Error> {
    let parsed = DatabaseUrl::parse(url)?;
    match parsed.backend() {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => Ok(Arc::new(SqliteStore::open(url)?)),
        #[cfg(feature = "postgres")]
        Backend::Postgres => Ok(Arc::new(PgStore::open(url)?)),
        #[cfg(feature = "mysql")]
        Backend::Mysql => Ok(Arc::new(MysqlStore::open(url)?)),
        #[allow(unreachable_patterns)]
        backend => Err(Error::BackendNotEnabled {
            url: parsed.to_string(),
            feature: backend.feature(),
        }),
    }
}
