//! A first start killed while it creates the tables never bricks the database: the next start
//! completes the migrations, with every table, index and migration row of an uninterrupted
//! one. (MySQL and MariaDB commit each DDL statement on its own, so a kill between two of
//! them left tables without diesel's migration row, and every later start failed with
//! "Table 'plugin_types' already exists".) Each kill is a child process of this test binary
//! that migrates a fresh database, killed with SIGKILL at a spread of moments.
//!
//! And a database made before a migration upgrades to it with what it holds: the change log
//! of a database from before it starts at the revision it had; the items and types of a
//! database from before their metadata get it at the next sync, no version change reported.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "sqlite")]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use plugin_system::InstanceId;
use plugin_system::prelude::*;
use plugin_system::registry::Registry;
use plugin_system::store::{Changed, Changes, Store, Transaction};
use plugin_system::sync::{StoredState, SyncOptions};
use support::TestDatabase;

/// What the metadata upgrade finds in the database: a type, and an item with every piece of
/// metadata there is.
#[plugin_type(name = "courier")]
pub trait Courier {
    fn ship(&self) -> String;
}

#[derive(Default)]
pub struct Dhl;

#[plugin_item(
    name = "dhl",
    category = "parcels",
    version = "4.0.0",
    authors = ["Ada Lovelace <ada@example.com>"],
    homepage = "https://dhl.example/api",
    hidden
)]
impl Courier for Dhl {
    fn ship(&self) -> String {
        "dhl".into()
    }
}

/// The variable that turns this test binary into the migrating child process.
const CHILD_URL: &str = "PLUGIN_SYSTEM_TEST_MIGRATE_URL";

/// The moments of the kills: this many, spread evenly over one uninterrupted migration.
const KILLS: u32 = 12;

/// What the child prints just before it connects, and once the store is open.
const STARTING: &str = "MIGRATION STARTS";
const DONE: &str = "MIGRATION DONE";

/// Not a test of its own: the child process each kill kills (this test binary with
/// `--ignored --exact child_migrates` and the variable above; ignored, so a plain test run
/// never counts it as a passing test). It opens the store, which migrates.
#[test]
#[ignore = "a child process of the kill tests"]
fn child_migrates() {
    let url = std::env::var(CHILD_URL).expect("run by a kill test");
    println!("{STARTING}");
    plugin_system::database::open(&url).unwrap();
    println!("{DONE}");
}

/// The child, started on `url`, once it is about to migrate.
struct Migrating {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Migrating {
    fn start(url: &str) -> Migrating {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_migrates", "--nocapture"])
            .env(CHILD_URL, url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Its signal, not a guess: the harness's own lines come first.
        loop {
            let line = lines.next().expect("the child printed its start").unwrap();
            if line.contains(STARTING) {
                break;
            }
        }
        Migrating { child, lines }
    }

    /// Waits for the child to finish its migrations undisturbed.
    fn finish(mut self) {
        let done = self.lines.any(|line| line.unwrap().contains(DONE));
        assert!(done, "the child's migrations failed");
        assert!(self.child.wait().unwrap().success());
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The schema objects (tables, indexes) of the database and its applied migration versions,
/// as the backend's catalogue lists them.
fn schema(db: &TestDatabase) -> (BTreeSet<String>, BTreeSet<String>) {
    fn load<C>(conn: &mut C, query: &str) -> BTreeSet<String>
    where
        C: diesel::connection::LoadConnection<Backend: 'static>,
        Name: QueryableByName<C::Backend>,
        diesel::query_builder::SqlQuery: diesel::query_builder::QueryFragment<C::Backend>,
    {
        diesel::sql_query(query)
            .load::<Name>(conn)
            .unwrap_or_default()
            .into_iter()
            .map(|row| row.name)
            .collect()
    }
    const VERSIONS: &str = "SELECT version AS name FROM __diesel_schema_migrations";
    match db.backend {
        "sqlite" => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let mut conn = SqliteConnection::establish(path).unwrap();
            let objects = load(
                &mut conn,
                "SELECT type || ' ' || name AS name FROM sqlite_master \
                 WHERE name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            );
            (objects, load(&mut conn, VERSIONS))
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            let objects = load(
                &mut conn,
                "SELECT 'table ' || tablename AS name FROM pg_tables \
                 WHERE schemaname = current_schema() AND tablename <> '__diesel_schema_migrations' \
                 UNION SELECT 'index ' || indexname FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename <> '__diesel_schema_migrations'",
            );
            (objects, load(&mut conn, VERSIONS))
        }
        #[cfg(feature = "mysql")]
        "mysql" => {
            let mut conn = MysqlConnection::establish(&db.url).unwrap();
            let objects = load(
                &mut conn,
                "SELECT CAST(CONCAT('table ', table_name) AS CHAR) AS name \
                 FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name <> '__diesel_schema_migrations' \
                 UNION SELECT CAST(CONCAT('index ', table_name, '.', index_name) AS CHAR) \
                 FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name <> '__diesel_schema_migrations'",
            );
            (objects, load(&mut conn, VERSIONS))
        }
        other => unreachable!("no backend {other}"),
    }
}

fn killed_while_migrating_the_next_start_completes(fresh: fn() -> Option<TestDatabase>) {
    // One uninterrupted migration: the schema every recovered start must end with, and how
    // long the window of the kills is.
    let Some(reference) = fresh() else {
        return;
    };
    let child = Migrating::start(&reference.url);
    let started = Instant::now();
    child.finish();
    let window = started.elapsed();
    let expected = schema(&reference);
    assert_eq!(expected.1.len(), 6, "{expected:?}");

    // What the kills left, for the log: nothing yet, a half-created schema, all of it.
    let (mut nothing, mut partial, mut complete) = (0, 0, 0);
    for kill in 0..KILLS {
        let db = fresh().unwrap();
        let child = Migrating::start(&db.url);
        // The moment of the kill is the point of this test: a spread over the migration.
        std::thread::sleep(window * kill / KILLS + Duration::from_millis(1));
        child.kill();
        let left = schema(&db);
        match left {
            _ if left == expected => complete += 1,
            (ref objects, _) if objects.is_empty() => nothing += 1,
            _ => partial += 1,
        }
        plugin_system::database::open(&db.url).unwrap_or_else(|err| {
            panic!(
                "{}: the start after a kill at {:?} (which left {left:?}) failed: {}",
                db.backend,
                window * kill / KILLS,
                err.report()
            )
        });
        assert_eq!(
            schema(&db),
            expected,
            "{}: after a kill and a start",
            db.backend
        );
    }
    eprintln!(
        "{}: of {KILLS} kills, {nothing} left no tables, {partial} a half-created schema, \
         {complete} a complete one; each next start completed it",
        reference.backend
    );
}

/// Runs SQL statements on the test's database, outside the store.
fn execute(db: &TestDatabase, sql: &str) {
    let done = match db.backend {
        "sqlite" => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            SqliteConnection::establish(path)
                .unwrap()
                .batch_execute(sql)
        }
        #[cfg(feature = "postgres")]
        "postgres" => PgConnection::establish(&db.url).unwrap().batch_execute(sql),
        #[cfg(feature = "mysql")]
        "mysql" => MysqlConnection::establish(&db.url)
            .unwrap()
            .batch_execute(sql),
        other => unreachable!("no backend {other}"),
    };
    done.unwrap_or_else(|err| panic!("{}: {sql}: {err}", db.backend));
}

/// The migration that added the change log, as `migrations/<backend>/` holds it.
const CHANGE_LOG_VERSION: &str = "20261202000000";

fn change_log_down(backend: &str) -> &'static str {
    match backend {
        "sqlite" => {
            include_str!("../plugin-diesel/migrations/sqlite/2026-12-02-000000_change_log/down.sql")
        }
        "postgres" => {
            include_str!(
                "../plugin-diesel/migrations/postgres/2026-12-02-000000_change_log/down.sql"
            )
        }
        "mysql" => {
            include_str!("../plugin-diesel/migrations/mysql/2026-12-02-000000_change_log/down.sql")
        }
        other => unreachable!("no backend {other}"),
    }
}

/// A write that changed only the listed instances (they need no rows: the log names ids).
fn bump(store: &dyn Store, ids: &[InstanceId]) -> u64 {
    let mut revision = 0;
    store
        .write(&mut |tx| {
            revision = tx.bump_revision(Changed::Instances(ids))?;
            Ok(())
        })
        .unwrap();
    revision
}

fn upgraded_the_change_log_starts_at_the_revision_the_database_had(
    fresh: fn() -> Option<TestDatabase>,
) {
    let Some(db) = fresh() else {
        return;
    };
    // A database at revision 3 from before the change log: migrated, written, then the
    // log's migration undone as its down.sql does and its row removed.
    {
        let store = plugin_system::database::open(&db.url).unwrap();
        for _ in 0..3 {
            bump(&*store, &[InstanceId::new()]);
        }
    }
    execute(&db, change_log_down(db.backend));
    execute(
        &db,
        &format!("DELETE FROM __diesel_schema_migrations WHERE version = '{CHANGE_LOG_VERSION}'"),
    );
    assert!(
        !schema(&db).1.contains(CHANGE_LOG_VERSION),
        "{}: the log's migration undone",
        db.backend
    );

    let store = plugin_system::database::open(&db.url).unwrap();
    assert!(schema(&db).1.contains(CHANGE_LOG_VERSION), "{}", db.backend);
    assert_eq!(
        store.revision().unwrap(),
        3,
        "{}: the revision kept",
        db.backend
    );
    assert_eq!(
        store.changes_since(2).unwrap(),
        None,
        "{}: a revision from before the log cannot be answered",
        db.backend
    );
    assert_eq!(
        store.changes_since(3).unwrap(),
        Some(Changes {
            revision: 3,
            instances: Vec::new(),
            activations: Vec::new(),
        }),
        "{}",
        db.backend
    );
    let id = InstanceId::new();
    assert_eq!(bump(&*store, &[id]), 4);
    assert_eq!(
        store.changes_since(3).unwrap(),
        Some(Changes {
            revision: 4,
            instances: vec![id],
            activations: Vec::new(),
        }),
        "{}: the log runs from there",
        db.backend
    );
}

/// The migration that added the items' and types' metadata.
const METADATA_VERSION: &str = "20261203000000";

fn metadata_down(backend: &str) -> &'static str {
    match backend {
        "sqlite" => include_str!(
            "../plugin-diesel/migrations/sqlite/2026-12-03-000000_item_metadata/down.sql"
        ),
        "postgres" => include_str!(
            "../plugin-diesel/migrations/postgres/2026-12-03-000000_item_metadata/down.sql"
        ),
        "mysql" => include_str!(
            "../plugin-diesel/migrations/mysql/2026-12-03-000000_item_metadata/down.sql"
        ),
        other => unreachable!("no backend {other}"),
    }
}

fn stored_state(store: &dyn Store) -> StoredState {
    let mut state = None;
    store
        .write(&mut |tx: &mut dyn Transaction| {
            state = Some(tx.stored_state()?);
            Ok(())
        })
        .unwrap();
    state.unwrap()
}

fn upgraded_items_and_types_get_their_metadata_at_the_next_sync(
    fresh: fn() -> Option<TestDatabase>,
) {
    let Some(db) = fresh() else {
        return;
    };
    let registry = Registry::linked().unwrap();
    // A synced database from before the metadata: migrated, synced (the item and its default
    // instance), then the metadata's migration undone as its down.sql does and its row removed.
    {
        let store = plugin_system::database::open(&db.url).unwrap();
        plugin_system::sync::run(&*store, registry, &SyncOptions::default()).unwrap();
    }
    execute(&db, metadata_down(db.backend));
    execute(
        &db,
        &format!("DELETE FROM __diesel_schema_migrations WHERE version = '{METADATA_VERSION}'"),
    );
    assert!(!schema(&db).1.contains(METADATA_VERSION), "{}", db.backend);

    let store = plugin_system::database::open(&db.url).unwrap();
    assert!(schema(&db).1.contains(METADATA_VERSION), "{}", db.backend);
    let before = stored_state(&*store);
    let dhl = &before.items[0];
    assert_eq!(
        (
            dhl.key.name.as_str(),
            dhl.version.as_str(),
            dhl.authors.len(),
            dhl.homepage.as_deref(),
            dhl.hidden,
            dhl.category.as_deref(),
        ),
        ("dhl", "", 0, None, false, Some("parcels")),
        "{}: what the upgrade gives a row from before it (its category kept)",
        db.backend
    );
    assert_eq!(before.types[0].version, 1, "{}", db.backend);
    assert_eq!(
        before.instances.len(),
        1,
        "{}: the instance kept",
        db.backend
    );

    let report = plugin_system::sync::run(&*store, registry, &SyncOptions::default()).unwrap();
    assert!(
        report.versions_changed.is_empty() && report.contracts_changed.is_empty(),
        "{}: no version recorded is not a change: {:?} {:?}",
        db.backend,
        report.versions_changed,
        report.contracts_changed
    );
    assert_eq!(report.items_updated, 1, "{}", db.backend);
    let after = stored_state(&*store);
    let dhl = &after.items[0];
    assert_eq!(
        (
            dhl.version.as_str(),
            dhl.authors.as_slice(),
            dhl.homepage.as_deref(),
            dhl.hidden
        ),
        (
            "4.0.0",
            &["Ada Lovelace <ada@example.com>".to_owned()][..],
            Some("https://dhl.example/api"),
            true
        ),
        "{}: the next sync records the metadata",
        db.backend
    );
    assert_eq!(after.instances, before.instances, "{}", db.backend);
    let again = plugin_system::sync::run(&*store, registry, &SyncOptions::default()).unwrap();
    assert!(again.is_noop(), "{}: {:?}", db.backend, again.actions);
}

#[test]
fn sqlite_upgraded_items_and_types_get_their_metadata_at_the_next_sync() {
    upgraded_items_and_types_get_their_metadata_at_the_next_sync(TestDatabase::sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_upgraded_items_and_types_get_their_metadata_at_the_next_sync() {
    upgraded_items_and_types_get_their_metadata_at_the_next_sync(TestDatabase::postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_upgraded_items_and_types_get_their_metadata_at_the_next_sync() {
    upgraded_items_and_types_get_their_metadata_at_the_next_sync(TestDatabase::mysql);
}

#[test]
fn sqlite() {
    killed_while_migrating_the_next_start_completes(TestDatabase::sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres() {
    killed_while_migrating_the_next_start_completes(TestDatabase::postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql() {
    killed_while_migrating_the_next_start_completes(TestDatabase::mysql);
}

#[test]
fn sqlite_upgraded_the_change_log_starts_at_the_revision_the_database_had() {
    upgraded_the_change_log_starts_at_the_revision_the_database_had(TestDatabase::sqlite);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_upgraded_the_change_log_starts_at_the_revision_the_database_had() {
    upgraded_the_change_log_starts_at_the_revision_the_database_had(TestDatabase::postgres);
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_upgraded_the_change_log_starts_at_the_revision_the_database_had() {
    upgraded_the_change_log_starts_at_the_revision_the_database_had(TestDatabase::mysql);
}
