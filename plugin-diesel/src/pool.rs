//! The store's connections: a pool that opens each connection on the thread that asks for
//! one, and runs nothing in the background.
//!
//! Why not r2d2: it opens every connection on worker threads of its own (even the one a
//! caller is waiting for), keeps opening more to hold its `min_idle`, and its workers cannot
//! be joined. A short program (`plugins check`, an application returning from `main`) thus
//! exited while a worker was inside libpq's TLS handshake, and the exit handlers of OpenSSL
//! and krb5 (loaded for libpq's GSSAPI negotiation) freed what that worker was using: a
//! finished command died with SIGSEGV or SIGABRT. Here, once the last call into the store
//! has returned, no thread is in the driver; dropping the pool closes its idle connections
//! on the dropping thread.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::ConnectionError;
use diesel::r2d2::R2D2Connection;
use diesel::result::Error as DieselError;

use crate::hooks::Hooks;

/// Up to `size` connections to one database, made and prepared ([`Hooks::setup`]) when a
/// caller needs one and none is idle.
pub(crate) struct ConnectionPool<C> {
    target: String,
    size: usize,
    /// How long [`get`](Self::get) waits for a connection while all `size` are in use.
    wait: Duration,
    state: Mutex<State<C>>,
    /// Signalled whenever a connection is returned or closed.
    returned: Condvar,
}

struct State<C> {
    idle: Vec<C>,
    /// Connections in existence: idle, in use, or being opened.
    open: usize,
    /// Callers waiting for a connection to be returned.
    waiting: usize,
}

/// Why [`ConnectionPool::get`] gave no connection.
#[derive(Debug)]
pub(crate) enum PoolError {
    /// Opening a connection failed: the driver's reason.
    Connect(ConnectionError),
    /// A new connection could not be prepared.
    Setup(DieselError),
    /// All connections stayed in use for the whole wait.
    Busy { size: usize, waited: Duration },
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // libpq ends its messages with a line break.
            PoolError::Connect(err) => f.write_str(err.to_string().trim_end()),
            PoolError::Setup(err) => write!(f, "preparing a new connection failed: {err}"),
            PoolError::Busy { size, waited } => write!(
                f,
                "all {size} connections stayed in use for {} s",
                waited.as_secs()
            ),
        }
    }
}

impl std::error::Error for PoolError {}

impl<C: Hooks> ConnectionPool<C> {
    /// A pool of up to `size` connections to `target` (what the driver's `establish` takes);
    /// it opens none until asked.
    pub(crate) fn new(target: &str, size: usize, wait: Duration) -> ConnectionPool<C> {
        ConnectionPool {
            target: target.to_owned(),
            size: size.max(1),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiting: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// What each connection is opened with.
    #[cfg(feature = "postgres")]
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// A connection: an idle one that still answers, else a new one opened on this thread,
    /// else (all in use) the next one returned.
    pub(crate) fn get(&self) -> Result<Pooled<'_, C>, PoolError> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(mut conn) = state.idle.pop() {
                drop(state);
                // A connection the server dropped while it sat idle is closed and replaced.
                if conn.ping().is_ok() {
                    return Ok(self.pooled(conn));
                }
                drop(conn);
                state = self.lock();
                state.open -= 1;
                continue;
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match self.open_one() {
                    Ok(conn) => Ok(self.pooled(conn)),
                    Err(err) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(err)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PoolError::Busy {
                    size: self.size,
                    waited: self.wait,
                });
            }
            state.waiting += 1;
            state = self
                .returned
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
            state.waiting -= 1;
        }
    }

    fn open_one(&self) -> Result<C, PoolError> {
        let mut conn = C::establish(&self.target).map_err(PoolError::Connect)?;
        conn.setup().map_err(PoolError::Setup)?;
        Ok(conn)
    }

    fn pooled(&self, conn: C) -> Pooled<'_, C> {
        Pooled {
            pool: self,
            conn: Some(conn),
        }
    }
}

impl<C> ConnectionPool<C> {
    fn lock(&self) -> MutexGuard<'_, State<C>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection taken from the pool; it goes back when dropped (or is closed, when a
/// failure or a panic left it in a transaction).
pub(crate) struct Pooled<'a, C: R2D2Connection> {
    pool: &'a ConnectionPool<C>,
    conn: Option<C>,
}

impl<C: R2D2Connection> std::ops::Deref for Pooled<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.conn
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl<C: R2D2Connection> std::ops::DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
            .as_mut()
            .expect("a pooled connection until dropped")
    }
}

impl<C: R2D2Connection> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.is_broken() {
            drop(conn);
            self.pool.lock().open -= 1;
        } else {
            self.pool.lock().idle.push(conn);
        }
        self.pool.returned.notify_one();
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    use super::{ConnectionPool, PoolError};

    impl<C> ConnectionPool<C> {
        /// Connections open, and of them idle.
        fn counts(&self) -> (usize, usize) {
            let state = self.lock();
            (state.open, state.idle.len())
        }
    }

    fn pool(
        dir: &tempfile::TempDir,
        size: usize,
        wait: Duration,
    ) -> ConnectionPool<SqliteConnection> {
        let file = dir.path().join("pool.db");
        ConnectionPool::new(&file.display().to_string(), size, wait)
    }

    #[test]
    fn connections_are_reused_and_never_more_than_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 2, Duration::ZERO);
        let first = pool.get().unwrap();
        let second = pool.get().unwrap();
        assert!(matches!(
            pool.get().map(drop),
            Err(PoolError::Busy { size: 2, .. })
        ));
        drop(first);
        let again = pool.get().unwrap();
        assert_eq!(pool.counts(), (2, 0));
        drop((second, again));
        assert_eq!(pool.counts(), (2, 2));
    }

    #[test]
    fn a_waiting_caller_gets_the_next_connection_returned() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, Duration::from_secs(60));
        let held = pool.get().unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| pool.get().map(drop));
            while pool.lock().waiting == 0 {
                std::thread::yield_now();
            }
            drop(held);
            assert!(waiter.join().unwrap().is_ok());
        });
    }

    #[test]
    fn a_connection_left_in_a_transaction_is_closed_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 2, Duration::ZERO);
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER)").unwrap();
        // A panic inside a transaction leaves diesel's transaction manager mid-transaction.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.transaction::<(), diesel::result::Error, _>(|_| panic!("a plugin panicked"))
        }));
        assert!(panicked.is_err());
        drop(conn);
        assert_eq!(pool.counts(), (0, 0));
        assert!(pool.get().is_ok());
    }

    #[test]
    fn a_failed_connect_is_the_drivers_error_and_frees_its_place() {
        let pool = ConnectionPool::<SqliteConnection>::new(
            "/nonexistent-dir/x/pool.db",
            1,
            Duration::ZERO,
        );
        let err = pool.get().map(drop).unwrap_err();
        assert!(matches!(err, PoolError::Connect(_)), "{err}");
        assert!(err.to_string().contains("Unable to open"), "{err}");
        assert_eq!(pool.counts(), (0, 0));
    }
}
