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
    /// to create the tables. The DDL is not transactional, so a start killed half-way leaves
    /// part of a migration applied without its row: every migration's SQL can run again over
    /// what it left, and the next start completes it.
    fn migrate(store: &DieselStore<Self>) -> Result<(), Error> {
        let mut conn = store.conn()?;
        let lock = MigrationLock::acquire(&mut conn, store)?;
        let result = lock
            .conn
            .run_pending_migrations(MIGRATIONS)
            .map(|_| ())
            .map_err(|err| migration_failed(&store.url, err));
        let released = lock.release().map_err(|err| db(err).into());
        result.and(released)
    }
}

/// The named lock of a database's migrations, held by one connection until released: by
/// [`release`](Self::release), or when dropped (a panic in the migrations), so the other
/// processes never wait for a lock nobody will release.
struct MigrationLock<'c> {
    conn: &'c mut Db,
    held: bool,
}

impl<'c> MigrationLock<'c> {
    /// Waits up to [`MIGRATION_LOCK_SECONDS`] for the lock.
    fn acquire(conn: &'c mut Db, store: &DieselStore<Db>) -> Result<Self, Error> {
        let acquired: Option<i32> = diesel::select(sql::<Nullable<Integer>>(&format!(
            "GET_LOCK({MIGRATION_LOCK}, {MIGRATION_LOCK_SECONDS})"
        )))
        .get_result(conn)
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
        Ok(MigrationLock { conn, held: true })
    }

    fn release(mut self) -> QueryResult<()> {
        self.held = false;
        release_migration_lock(self.conn)
    }
}

impl Drop for MigrationLock<'_> {
    fn drop(&mut self) {
        if self.held
            && let Err(error) = release_migration_lock(self.conn)
        {
            tracing::warn!(%error, "releasing the migration lock failed");
        }
    }
}

fn release_migration_lock(conn: &mut Db) -> QueryResult<()> {
    diesel::select(sql::<Nullable<Integer>>(&format!(
        "RELEASE_LOCK({MIGRATION_LOCK})"
    )))
    .get_result::<Option<i32>>(conn)
    .map(|_| ())
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

#[cfg(test)]
mod tests {
    //! On the MySQL or MariaDB server of `PLUGIN_SYSTEM_TEST_MYSQL_URL` (default
    //! `mysql://root@127.0.0.1:3306/test`), a database of its own per test. An unreachable
    //! server skips these tests with a message, unless `CI` is set: then it fails them.

    use std::collections::BTreeMap;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Nullable, Text};
    use diesel_migrations::MigrationHarness;

    use super::{Db, MIGRATION_LOCK, MIGRATIONS, MigrationLock};
    use crate::DieselStore;

    /// A fresh database, dropped with this.
    struct Fresh {
        server: String,
        name: String,
        url: String,
    }

    impl Fresh {
        fn new() -> Option<Fresh> {
            let server = std::env::var("PLUGIN_SYSTEM_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
            let mut conn = match Db::establish(&server) {
                Ok(conn) => conn,
                Err(err) if std::env::var_os("CI").is_none() => {
                    eprintln!("SKIPPED: the MySQL server at {server} is unreachable: {err}");
                    return None;
                }
                Err(err) => panic!("the MySQL server at {server} is unreachable (CI): {err}"),
            };
            let name = format!("plugin_test_{}", uuid::Uuid::new_v4().simple());
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let (base, _) = server.rsplit_once('/').expect("mysql://user@host:port/db");
            let url = format!("{base}/{name}");
            Some(Fresh { server, name, url })
        }

        fn conn(&self) -> Db {
            Db::establish(&self.url).unwrap()
        }
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if let Ok(mut conn) = Db::establish(&self.server) {
                let _ = conn.batch_execute(&format!("DROP DATABASE {}", self.name));
            }
        }
    }

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// Each table's `SHOW CREATE TABLE` and the applied migration versions: what a database
    /// the migrations made is, column by column and index by index.
    fn schema(conn: &mut Db) -> (BTreeMap<String, String>, Vec<String>) {
        let tables: Vec<Row> = diesel::sql_query(
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name <> '__diesel_schema_migrations'",
        )
        .load(conn)
        .unwrap();
        #[derive(QueryableByName)]
        struct Created {
            #[diesel(sql_type = Text, column_name = "Create Table")]
            sql: String,
        }
        let tables = tables
            .into_iter()
            .map(|table| {
                let created: Created =
                    diesel::sql_query(format!("SHOW CREATE TABLE `{}`", table.name))
                        .get_result(conn)
                        .unwrap();
                (table.name, created.sql)
            })
            .collect();
        let versions: Vec<Row> = diesel::sql_query(
            "SELECT CAST(version AS CHAR) AS name FROM __diesel_schema_migrations ORDER BY 1",
        )
        .load(conn)
        .unwrap_or_default();
        (tables, versions.into_iter().map(|row| row.name).collect())
    }

    /// The statements of each migration's `up.sql`, in order (each ends with `;` at the end
    /// of a line).
    fn migration_statements() -> Vec<(String, Vec<String>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let sql = std::fs::read_to_string(format!("{dir}/{name}/up.sql")).unwrap();
                let code: String = sql
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("--"))
                    .map(|line| format!("{line}\n"))
                    .collect();
                let statements = code
                    .split(";\n")
                    .map(str::trim)
                    .filter(|statement| !statement.is_empty())
                    .map(|statement| format!("{statement};"))
                    .collect();
                (name, statements)
            })
            .collect()
    }

    /// MySQL runs each statement to its end (the server finishes it even when the client is
    /// killed) and commits each DDL statement on its own: what a killed start can leave is
    /// the earlier migrations with their rows, then any first statements of the next one
    /// without its row. From each such state, the next start completes the migrations, and
    /// the database is exactly what an uninterrupted start makes.
    #[test]
    fn every_state_a_killed_start_can_leave_is_completed_by_the_next_start() {
        let Some(reference) = Fresh::new() else {
            return;
        };
        DieselStore::<Db>::open(&reference.url).unwrap();
        let expected = schema(&mut reference.conn());
        let migrations = migration_statements();
        assert_eq!(expected.1.len(), migrations.len(), "{expected:?}");
        for (done, (name, statements)) in migrations.iter().enumerate() {
            for applied in 0..=statements.len() {
                let db = Fresh::new().unwrap();
                let mut conn = db.conn();
                for _ in 0..done {
                    conn.run_next_migration(MIGRATIONS).unwrap();
                }
                for statement in &statements[..applied] {
                    conn.batch_execute(statement).unwrap();
                }
                DieselStore::<Db>::open(&db.url).unwrap_or_else(|err| {
                    panic!(
                        "the start after {applied} statement(s) of {name} failed: {}",
                        err.report()
                    )
                });
                assert_eq!(
                    schema(&mut conn),
                    expected,
                    "after {applied} statement(s) of {name} and a start"
                );
            }
        }
    }

    #[test]
    fn a_panic_while_migrating_releases_the_migration_lock() {
        let Some(db) = Fresh::new() else {
            return;
        };
        let store = DieselStore::<Db>::open(&db.url).unwrap();
        let mut conn = db.conn();
        let is_free = |conn: &mut Db| -> Option<i32> {
            diesel::select(diesel::dsl::sql::<Nullable<Integer>>(&format!(
                "IS_FREE_LOCK({MIGRATION_LOCK})"
            )))
            .get_result(conn)
            .unwrap()
        };
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _lock = MigrationLock::acquire(&mut conn, &store).unwrap();
            panic!("a migration panicked");
        }));
        assert!(panicked.is_err());
        // Asked from another session, while the panicking one is still open.
        let mut other = db.conn();
        assert_eq!(is_free(&mut other), Some(1), "the lock was released");
        drop(conn);
    }
}
