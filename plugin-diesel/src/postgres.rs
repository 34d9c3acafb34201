//! PostgreSQL: a pool of connections; every write in a transaction that first locks the
//! `plugin_revision` row (so writers queue, in READ COMMITTED each statement after the lock
//! sees what the previous writer committed); writes announced with NOTIFY; migrations in one
//! transaction under an advisory lock.

use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::Error;
use plugin_runtime::store::{ChangeFeed, StoreError, StoreErrorKind};

use crate::hooks::{Hooks, revision_row_transaction};
use crate::rows::{TxError, db};
use crate::{Backend, DieselStore, migration_failed};

// The same queries compiled for this backend's connection type: intended, see the file.
#[allow(clippy::duplicate_mod)]
#[path = "store_body.rs"]
mod store_body;

type Db = PgConnection;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The LISTEN/NOTIFY channel of write announcements.
const CHANNEL: &str = "plugin_system_changes";

impl Hooks for Db {
    const BACKEND: Backend = Backend::Postgres;

    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, TxError>,
    ) -> Result<T, TxError> {
        revision_row_transaction(self, work)
    }

    /// NOTIFY is delivered at commit, and dropped with a rolled-back transaction.
    fn announce_change(&mut self) -> QueryResult<()> {
        diesel::sql_query(format!("NOTIFY {CHANNEL}"))
            .execute(self)
            .map(|_| ())
    }

    /// A connection of its own that LISTENs for write announcements.
    fn change_feed(store: &DieselStore<Self>) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
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

    /// In one transaction (PostgreSQL's DDL is transactional: a killed start leaves
    /// nothing), holding an advisory lock, so processes starting together do not both try to
    /// create the tables.
    fn migrate(store: &DieselStore<Self>) -> Result<(), Error> {
        let mut conn = store.conn()?;
        conn.transaction::<_, TxError, _>(|conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('plugin_system.migrations'))")
                .execute(conn)?;
            conn.run_pending_migrations(MIGRATIONS)
                .map(|_| ())
                .map_err(|err| TxError(migration_failed(&store.url, err)))
        })
        .map_err(Error::from)
    }
}

impl DieselStore<Db> {
    /// Connects to the PostgreSQL database of a `postgres://` URL and runs the embedded
    /// migrations.
    pub fn open(url: &str) -> Result<Self, Error> {
        Self::open_with_hooks(url)
    }

    /// Applies the migrations that have not run yet, holding an advisory lock for the
    /// transaction, so processes starting together do not both try to create the tables.
    pub fn migrate(&self) -> Result<(), Error> {
        Db::migrate(self)
    }
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
