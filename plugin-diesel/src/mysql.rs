//! MySQL and MariaDB: a pool of connections in READ COMMITTED and strict mode; every write in
//! a transaction that first locks the `plugin_revision` row (so writers queue and each sees
//! what the previous one committed); migrations under a named lock (MySQL's DDL is not
//! transactional, so a transaction could not serialize them).

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::Error;
use plugin_runtime::store::{StoreError, StoreErrorKind};

use crate::hooks::{Hooks, revision_row_transaction};
use crate::rows::{TxError, db};
use crate::{Backend, DieselStore, migration_failed};

// The same queries compiled for this backend's connection type: intended, see the file.
#[allow(clippy::duplicate_mod)]
#[path = "store_body.rs"]
mod store_body;

type Db = MysqlConnection;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// The named lock migrations hold: one per database on the server.
const MIGRATION_LOCK: &str = "CONCAT('plugin_system.migrations.', DATABASE())";

/// How long a process waits for another one's migrations.
const MIGRATION_LOCK_SECONDS: i32 = 120;

impl Hooks for Db {
    const BACKEND: Backend = Backend::Mysql;

    /// READ COMMITTED, so a statement after the write lock sees the previous writer's commit
    /// (REPEATABLE READ could keep an older snapshot); strict mode on every table, so an
    /// over-long value is an error instead of a silent truncation.
    fn setup(&mut self) -> QueryResult<()> {
        self.batch_execute(
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
             SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES');",
        )
    }

    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, TxError>,
    ) -> Result<T, TxError> {
        revision_row_transaction(self, work)
    }

    /// Holding a named lock (per database), so processes starting together do not both try
    /// to create the tables.
    fn migrate(store: &DieselStore<Self>) -> Result<(), Error> {
        let mut conn = store.conn()?;
        let acquired: Option<i32> = diesel::select(sql::<Nullable<Integer>>(&format!(
            "GET_LOCK({MIGRATION_LOCK}, {MIGRATION_LOCK_SECONDS})"
        )))
        .get_result(&mut *conn)
        .map_err(db)?;
        if acquired != Some(1) {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "another process held the migration lock of {} for {MIGRATION_LOCK_SECONDS} s",
                    store.url
                ),
            )
            .into());
        }
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|_| ())
            .map_err(|err| migration_failed(&store.url, err));
        let released: QueryResult<Option<i32>> = diesel::select(sql::<Nullable<Integer>>(
            &format!("RELEASE_LOCK({MIGRATION_LOCK})"),
        ))
        .get_result(&mut *conn);
        result.and(released.map(|_| ()).map_err(|err| db(err).into()))
    }
}

impl DieselStore<Db> {
    /// Connects to the MySQL or MariaDB database of a `mysql://` URL and runs the embedded
    /// migrations.
    pub fn open(url: &str) -> Result<Self, Error> {
        Self::open_with_hooks(url)
    }

    /// Applies the migrations that have not run yet, holding a named lock (per database), so
    /// processes starting together do not both try to create the tables.
    pub fn migrate(&self) -> Result<(), Error> {
        Db::migrate(self)
    }
}
