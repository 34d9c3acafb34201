//! A fresh, empty database per test, on each backend this build enables.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a schema of its own in the database of
//! `PLUGIN_SYSTEM_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! reached through `search_path`. MySQL/MariaDB: a database of its own on the server of
//! `PLUGIN_SYSTEM_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). Both are
//! dropped when the test ends, so tests run in parallel without seeing each other.
//!
//! A server that cannot be reached skips the test, unless `CI` is set: then it fails it, so
//! a CI run never passes without having tested every backend. A server is tried once per
//! test binary, so either every test of a backend runs or every one is skipped; each skip is
//! written to standard output past the test harness's capture, numbered, the first with why.

#![allow(dead_code)] // each test crate uses its own part of this module

/// One test's database.
pub struct TestDatabase {
    /// The URL the store opens.
    pub url: String,
    /// Which backend, for messages.
    pub backend: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    PostgresSchema {
        server: String,
        schema: String,
    },
    #[cfg(feature = "mysql")]
    MysqlDatabase {
        server: String,
        database: String,
    },
}

/// A name no other test uses.
fn unique_name() -> String {
    format!("plugin_test_{}", uuid::Uuid::new_v4().simple())
}

/// The environment variable's value, or the default.
fn server_url(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// Whether `backend`'s server answered when this test binary first tried it (`connect`),
/// and why not. Tried once: every later test of the backend gets the same answer.
fn server(
    backend: &'static str,
    connect: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    static SERVERS: Mutex<BTreeMap<&str, Result<(), String>>> = Mutex::new(BTreeMap::new());
    let mut servers = SERVERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    servers.entry(backend).or_insert_with(connect).clone()
}

/// Skips (returns `None`) or, under CI, fails when a server is unreachable. The skip is
/// written straight to standard output (the harness captures only `print!`), counted.
fn unreachable(backend: &str, url: &str, err: &str) -> Option<TestDatabase> {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SKIPPED: AtomicUsize = AtomicUsize::new(0);
    let message = format!("the {backend} server at {url} is unreachable: {err}");
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure, not a skip)");
    }
    let count = SKIPPED.fetch_add(1, Ordering::SeqCst) + 1;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let why = if count == 1 {
        format!(
            ": {message}; every {backend} test of this binary is skipped (set CI=1 to fail instead)"
        )
    } else {
        String::new()
    };
    let _ = writeln!(std::io::stdout(), "SKIPPED #{count} {test}{why}");
    None
}

/// One key for every handle of a test binary: a second handle (another process) reads the
/// configs the first one sealed.
pub fn keyring() -> plugin_system::Keyring {
    static KEYRING: std::sync::OnceLock<plugin_system::Keyring> = std::sync::OnceLock::new();
    KEYRING
        .get_or_init(|| plugin_system::Keyring::new(plugin_system::Key::generate()))
        .clone()
}

impl TestDatabase {
    /// A handle on this database with the binary's [`keyring`], syncing at start-up and
    /// without a watcher (tests refresh when they mean to).
    pub fn handle(&self) -> plugin_system::Plugins {
        use plugin_system::database::DatabaseUrlExt;
        plugin_system::Plugins::builder()
            .database_url(&self.url)
            .keyring(keyring())
            .no_watch()
            .build()
            .unwrap()
    }

    pub fn sqlite() -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("plugins.db");
        Some(TestDatabase {
            url: format!("sqlite://{}", path.display()),
            backend: "sqlite",
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    #[cfg(feature = "postgres")]
    pub fn postgres() -> Option<TestDatabase> {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        let server = server_url(
            "PLUGIN_SYSTEM_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        );
        let reached = self::server("PostgreSQL", || {
            PgConnection::establish(&server).map(drop).map_err(|err| {
                err.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        });
        if let Err(err) = reached {
            return unreachable("PostgreSQL", &server, &err);
        }
        let mut conn = match PgConnection::establish(&server) {
            Ok(conn) => conn,
            Err(err) => return unreachable("PostgreSQL", &server, err.to_string().trim_end()),
        };
        let schema = unique_name();
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .expect("CREATE SCHEMA");
        let separator = if server.contains('?') { '&' } else { '?' };
        Some(TestDatabase {
            url: format!("{server}{separator}options=-csearch_path%3D{schema}"),
            backend: "postgres",
            cleanup: Cleanup::PostgresSchema { server, schema },
        })
    }

    #[cfg(feature = "mysql")]
    pub fn mysql() -> Option<TestDatabase> {
        use diesel::{Connection, MysqlConnection, RunQueryDsl};
        let server = server_url(
            "PLUGIN_SYSTEM_TEST_MYSQL_URL",
            "mysql://root@127.0.0.1:3306/test",
        );
        let reached = self::server("MySQL", || {
            MysqlConnection::establish(&server)
                .map(drop)
                .map_err(|err| {
                    err.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        });
        if let Err(err) = reached {
            return unreachable("MySQL", &server, &err);
        }
        let mut conn = match MysqlConnection::establish(&server) {
            Ok(conn) => conn,
            Err(err) => return unreachable("MySQL", &server, err.to_string().trim_end()),
        };
        let database = unique_name();
        diesel::sql_query(format!("CREATE DATABASE {database}"))
            .execute(&mut conn)
            .expect("CREATE DATABASE");
        let base = server
            .rsplit_once('/')
            .map(|(base, _)| base)
            .expect("a mysql://user@host:port/database URL");
        Some(TestDatabase {
            url: format!("{base}/{database}"),
            backend: "mysql",
            cleanup: Cleanup::MysqlDatabase { server, database },
        })
    }
}

/// Fails unless a connection with libpq's defaults to the database of `url` is encrypted:
/// the premise of the tests of what TLS connections do at exit.
#[cfg(feature = "postgres")]
pub fn assert_postgres_tls(url: &str) {
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Tls {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let mut conn = PgConnection::establish(url).expect("connecting to the test database");
    let tls: Tls = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut conn)
        .expect("reading pg_stat_ssl");
    assert!(
        tls.ssl,
        "the PostgreSQL server of {url} does not negotiate TLS (ssl = off): this test needs it on"
    );
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(_) => {}
            #[cfg(feature = "postgres")]
            Cleanup::PostgresSchema { server, schema } => {
                use diesel::{Connection, PgConnection, RunQueryDsl};
                if let Ok(mut conn) = PgConnection::establish(server) {
                    let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut conn);
                }
            }
            #[cfg(feature = "mysql")]
            Cleanup::MysqlDatabase { server, database } => {
                use diesel::{Connection, MysqlConnection, RunQueryDsl};
                if let Ok(mut conn) = MysqlConnection::establish(server) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE {database}")).execute(&mut conn);
                }
            }
        }
    }
}

/// Declares `#[test]`s that run the named functions (each `fn(&TestDatabase)`) once per
/// backend: in modules `sqlite`, `postgres` and `mysql` (the last two behind their features).
#[macro_export]
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                if let Some(db) = $crate::support::TestDatabase::sqlite() {
                    super::$test(&db);
                }
            })*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test]
            fn $test() {
                if let Some(db) = $crate::support::TestDatabase::postgres() {
                    super::$test(&db);
                }
            })*
        }
        #[cfg(feature = "mysql")]
        mod mysql {
            $(#[test]
            fn $test() {
                if let Some(db) = $crate::support::TestDatabase::mysql() {
                    super::$test(&db);
                }
            })*
        }
    };
}

/// A TCP relay between a store and its database server, to take the database away and bring
/// it back without touching the server other tests use. While cut, it drops every open
/// connection and closes each new one at once (as a crashed server would); while silent, it
/// drops them too but holds each new one open without ever answering (a dead peer behind a
/// load balancer, a black-holed route).
pub struct Outage {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    unanswered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    /// Relays 127.0.0.1:<port> to `upstream` (`host:port`).
    pub fn relay(upstream: &str) -> Outage {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let silent = Arc::new(AtomicBool::new(false));
        let unanswered = Arc::new(AtomicUsize::new(0));
        let connections: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (accepting, quiet, held_count, tracked, upstream) = (
            open.clone(),
            silent.clone(),
            unanswered.clone(),
            connections.clone(),
            upstream.to_owned(),
        );
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if quiet.load(Ordering::SeqCst) {
                    // Accepted, never answered.
                    held.push(client);
                    held_count.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                if !accepting.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut list = tracked.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                drop(list);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Outage {
            port,
            open,
            silent,
            unanswered,
            connections,
        }
    }

    /// The relay's port, to put in the store's URL instead of the server's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database goes away: open connections drop, new ones are closed at once.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.drop_connections();
    }

    /// The host goes silent: open connections drop, new ones are accepted and never answered.
    pub fn go_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
        self.drop_connections();
    }

    /// How many connections were accepted while silent.
    pub fn unanswered(&self) -> usize {
        self.unanswered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The database is back (after a cut or silence).
    pub fn restore(&self) {
        self.silent
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn drop_connections(&self) {
        for stream in self.connections.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
