//! PostgreSQL: a pool of connections; every write in a transaction that first locks the
//! `plugin_revision` row (so writers queue, in READ COMMITTED each statement after the lock
//! sees what the previous writer committed); writes announced with NOTIFY; migrations in one
//! transaction under an advisory lock.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::Error;
#[cfg(unix)]
use plugin_runtime::store::{ChangeFeed, StopSignal};
use plugin_runtime::store::{StoreError, StoreErrorKind};

use crate::hooks::{Hooks, revision_row_transaction};
#[cfg(unix)]
use crate::listen::Listener;
use crate::rows::TxError;
use crate::{Backend, CONNECT_TIMEOUT, DatabaseUrl, DieselStore, migration_failed};

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

    /// The URL with libpq's `connect_timeout` (unless it sets its own): without one, a host
    /// that accepts connections and never answers holds `establish` forever.
    fn target(url: &DatabaseUrl) -> String {
        with_connect_timeout(url.target(), CONNECT_TIMEOUT)
    }

    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, TxError>,
    ) -> Result<T, TxError> {
        revision_row_transaction(self, work)
    }

    /// NOTIFY is delivered at commit, and dropped with a rolled-back transaction. Its payload
    /// names the schema, so listeners on other schemas of the database ignore it.
    fn announce_change(&mut self) -> QueryResult<()> {
        diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', current_schema())"))
            .execute(self)
            .map(|_| ())
    }

    /// `ANALYZE` of the instances and the change log. PostgreSQL plans from statistics, which
    /// autovacuum gathers only a while after a table grew: a bulk import of 100,000 into a
    /// new store checked each batch's names with scans of the whole table (181 ms a query at
    /// 100,000 rows, against 0.7 ms with statistics), 186 s for the import. Inside the write,
    /// ANALYZE counts its own inserts; it blocks no reader or writer.
    fn refresh_statistics(&mut self) -> QueryResult<()> {
        diesel::sql_query("ANALYZE plugin_instances, plugin_changes")
            .execute(self)
            .map(|_| ())
    }

    /// A connection of its own that LISTENs for write announcements (on Unix, where its
    /// socket can be waited on with the stop signal; elsewhere handles poll the revision
    /// only). After a failed subscription the next one waits (doubling from 1 s up to
    /// 1 min): until then this fails at once, and the watcher polls.
    #[cfg(unix)]
    fn change_feed(store: &DieselStore<Self>) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        let cannot_listen = || {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("cannot listen for changes on {}", store.url),
            )
        };
        let mut backoff = store
            .resubscribe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(left) = backoff.ready(Instant::now()) {
            return Err(cannot_listen().with_source(format!(
                "the last attempt failed; the next in {} ms",
                left.as_millis()
            )));
        }
        let subscribed = Listener::connect(store.pool.target(), CHANNEL)
            .map_err(|err| cannot_listen().with_source(err));
        match subscribed {
            Ok(listener) => {
                backoff.succeeded();
                Ok(Some(Box::new(Announcements { listener })))
            }
            Err(err) => {
                backoff.failed(Instant::now());
                let cause = std::error::Error::source(&err).map(ToString::to_string);
                tracing::warn!(error = %err, cause, "cannot subscribe to plugin changes");
                Err(err)
            }
        }
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

/// `url` with `connect_timeout` set to `timeout` (whole seconds, at least 2: libpq's
/// minimum), unless it names one already.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("connect_timeout"))
    {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}connect_timeout={}",
        timeout.as_secs().max(2)
    )
}

/// A connection of its own that LISTENs for write announcements.
#[cfg(unix)]
struct Announcements {
    listener: Listener,
}

#[cfg(unix)]
impl ChangeFeed for Announcements {
    fn wait(&mut self, timeout: Duration, stop: &StopSignal) -> Result<bool, StoreError> {
        self.listener.wait(timeout, stop).map_err(|err| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                "the connection listening for plugin changes broke",
            )
            .with_source(err)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use plugin_runtime::store::StoreErrorKind;

    use super::{Db, with_connect_timeout};
    use crate::backoff::Backoff;
    use crate::hooks::Hooks;
    use crate::pool::ConnectionPool;
    use crate::{DatabaseUrl, DieselStore};

    #[test]
    fn every_connection_has_a_connect_timeout_unless_the_url_sets_one() {
        let five = Duration::from_secs(5);
        let cases = [
            ("postgres://u@h/db", "postgres://u@h/db?connect_timeout=5"),
            (
                "postgres://u@h/db?sslmode=require",
                "postgres://u@h/db?sslmode=require&connect_timeout=5",
            ),
            (
                "postgres://u@h/db?connect_timeout=30",
                "postgres://u@h/db?connect_timeout=30",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_connect_timeout(url, five), expected);
        }
        assert_eq!(
            with_connect_timeout("postgres://h/db", Duration::from_secs(1)),
            "postgres://h/db?connect_timeout=2",
            "libpq's minimum"
        );
    }

    /// A host that accepts connections and never answers: the subscription fails after the
    /// connect time-out instead of waiting forever, and the next one waits out its back-off
    /// without touching the network.
    #[test]
    fn subscribing_at_a_silent_host_gives_up_and_backs_off() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                held.push(stream);
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let url = DatabaseUrl::parse(&format!("postgres://nobody@127.0.0.1:{port}/db")).unwrap();
        let store = DieselStore::<Db> {
            pool: ConnectionPool::new(&Db::target(&url), 1, Duration::ZERO),
            url,
            resubscribe: Mutex::new(Backoff::new(
                Duration::from_secs(600),
                Duration::from_secs(600),
            )),
        };
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| done.send(Db::change_feed(&store).map(|_| ())).unwrap());
            // A hang detector, not a timing: the time-out is 5 s.
            let outcome = finished
                .recv_timeout(Duration::from_secs(120))
                .expect("the subscription returned");
            let err = outcome.unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
        });
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        let again = Db::change_feed(&store).map(|_| ()).unwrap_err();
        assert_eq!(again.kind(), StoreErrorKind::Unavailable);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "no attempt while backing off"
        );
    }
}
