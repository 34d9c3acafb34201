//! SQLite: a file opened by a pool of connections in WAL mode with a busy timeout; every write
//! in an immediate transaction (the write lock is taken up front, so concurrent writers queue
//! instead of failing with "database is locked").

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::CustomizeConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::Error;
use plugin_runtime::store::{ChangeFeed, StoreError};

use crate::rows::TxError;
use crate::{Backend, DatabaseUrl, DieselStore, migration_failed};

// The same queries compiled for this backend's connection type: intended, see the file.
#[allow(clippy::duplicate_mod)]
#[path = "store_body.rs"]
mod store_body;

type Db = SqliteConnection;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Per connection: wait for the writer instead of failing; WAL, so readers never block the
/// writer; foreign keys enforced; `synchronous = NORMAL`, durable in WAL mode and without a
/// flush per commit; a 16 MB page cache, so a large sync keeps its indexes in memory (the
/// 1,000 × 10 sync is ~15% faster than with the 2 MB default; the cache grows only as used).
#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<Db, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000;",
            BUSY_TIMEOUT.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl DieselStore<Db> {
    /// Opens (creating if needed) the SQLite database of a `sqlite://PATH` URL and runs the
    /// embedded migrations.
    pub fn open(url: &str) -> Result<Self, Error> {
        // An in-memory database lives as long as its one connection.
        let in_memory = DatabaseUrl::parse(url)?.target() == ":memory:";
        let store = Self::connect(url, Backend::Sqlite, if in_memory { 1 } else { 4 }, Pragmas)?;
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations that have not run yet, under the write lock, so processes
    /// starting together do not both try to create the tables.
    pub fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|_| ())
                .map_err(|err| TxError(migration_failed(&self.url, err)))
        })
        .map_err(Error::from)
    }
}

/// No push channel here: other processes poll the revision.
fn announce_change(_: &mut Db) -> QueryResult<()> {
    Ok(())
}

fn change_feed(_: &DieselStore<Db>) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
    Ok(None)
}

/// A transaction that holds SQLite's write lock from its first statement.
fn write_transaction<T>(
    conn: &mut Db,
    work: impl FnOnce(&mut Db) -> Result<T, TxError>,
) -> Result<T, TxError> {
    conn.immediate_transaction(work)
}
