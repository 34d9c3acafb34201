//! PostgreSQL: a pool of connections; every write in a transaction that first locks the
//! `plugin_revision` row (so writers queue, in READ COMMITTED each statement after the lock
//! sees what the previous writer committed); migrations under an advisory lock.

use diesel::prelude::*;
use diesel::r2d2::CustomizeConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::Error;
use plugin_runtime::store::{ChangeFeed, StoreError, StoreErrorKind};

use crate::rows::{TxError, db};
use crate::schema::plugin_revision;
use crate::{Backend, DieselStore, migration_failed};

// The same queries compiled for this backend's connection type: intended, see the file.
#[allow(clippy::duplicate_mod)]
#[path = "store_body.rs"]
mod store_body;

type Db = PgConnection;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Connections as diesel opens them: nothing to adjust.
#[derive(Debug)]
struct AsOpened;

impl CustomizeConnection<Db, diesel::r2d2::Error> for AsOpened {}

impl DieselStore<Db> {
    /// Connects to the PostgreSQL database of a `postgres://` URL and runs the embedded
    /// migrations.
    pub fn open(url: &str) -> Result<Self, Error> {
        let store = Self::connect(url, Backend::Postgres, 8, AsOpened)?;
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations that have not run yet, holding an advisory lock for the
    /// transaction, so processes starting together do not both try to create the tables.
    pub fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.conn()?;
        conn.transaction::<_, TxError, _>(|conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('plugin_system.migrations'))")
                .execute(conn)?;
            conn.run_pending_migrations(MIGRATIONS)
                .map(|_| ())
                .map_err(|err| TxError(migration_failed(&self.url, err)))
        })
        .map_err(Error::from)
    }
}

/// The LISTEN/NOTIFY channel of write announcements.
const CHANNEL: &str = "plugin_system_changes";

/// Tells listening processes that a write is about to commit (NOTIFY is delivered at commit,
/// and dropped with a rolled-back transaction).
fn announce_change(conn: &mut Db) -> QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {CHANNEL}"))
        .execute(conn)
        .map(|_| ())
}

/// A connection of its own that LISTENs for write announcements.
struct Announcements {
    conn: Db,
}

impl ChangeFeed for Announcements {
    fn changed(&mut self) -> Result<bool, StoreError> {
        let mut any = false;
        for notification in self.conn.notifications_iter() {
            notification.map_err(db)?;
            any = true;
        }
        Ok(any)
    }
}

/// Opens a connection that LISTENs, for the watcher of a `Plugins` handle.
fn change_feed(store: &DieselStore<Db>) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
    let mut conn = Db::establish(store.url.target()).map_err(|err| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("cannot listen for changes on {}", store.url),
        )
        .with_source(err)
    })?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .map_err(db)?;
    Ok(Some(Box::new(Announcements { conn })))
}

/// A transaction that holds the store's write lock (the revision row) from its start.
fn write_transaction<T>(
    conn: &mut Db,
    work: impl FnOnce(&mut Db) -> Result<T, TxError>,
) -> Result<T, TxError> {
    conn.transaction(|conn| {
        plugin_revision::table
            .select(plugin_revision::revision)
            .filter(plugin_revision::id.eq(1))
            .for_update()
            .first::<i64>(conn)?;
        work(conn)
    })
}
