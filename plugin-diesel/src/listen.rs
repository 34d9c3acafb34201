//! PostgreSQL's LISTEN on a libpq connection of its own, whose socket the watcher blocks on.
//!
//! diesel's `PgConnection` can read notifications only by being asked (`notifications_iter`
//! never blocks and does not expose its socket), so a watcher on it had to ask every few
//! milliseconds: an idle handle woke 200 times a second. This connection is libpq's own
//! (`pq-sys`, the library diesel itself links, so the URL, TLS and time-outs behave the same),
//! and a wait is one `poll(2)` on its socket and the handle's stop signal together: an idle
//! handle sleeps until a write is announced, the interval ends, or the handle is dropped.
//!
//! Every schema of a database shares one channel; an announcement's payload names the schema
//! written to (`current_schema()`), and a listener counts only its own schema's, so
//! applications in other schemas of the database do not wake it. (A writer of a version from
//! before the payload announces with none: its writes are seen by the revision poll, within
//! the staleness bound, until it is upgraded too.)
//!
//! The unsafe code is the FFI calls, each on the connection this type owns alone.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use plugin_runtime::store::StopSignal;

/// A libpq connection that has run `LISTEN channel`.
pub(crate) struct Listener {
    conn: NonNull<pq_sys::PGconn>,
    /// The payload of this connection's schema's announcements: its `current_schema()`.
    schema: Vec<u8>,
}

// SAFETY: libpq allows a connection to be used from any thread, one thread at a time; a
// Listener is only used through `&mut self` (it is not `Sync`), so that holds.
unsafe impl Send for Listener {}

impl Listener {
    /// Connects to `target` (a libpq URI or connection string) and listens on `channel` (an
    /// identifier of ours, never input). The error is libpq's message.
    pub(crate) fn connect(target: &str, channel: &str) -> Result<Listener, String> {
        let target = CString::new(target).map_err(|_| "the URL contains a NUL byte")?;
        // SAFETY: `target` is a valid C string for the call; libpq returns a connection
        // object (possibly in a failed state) or null when out of memory.
        let conn = unsafe { pq_sys::PQconnectdb(target.as_ptr()) };
        let conn = NonNull::new(conn).ok_or("libpq could not allocate a connection")?;
        let mut listener = Listener {
            conn,
            schema: Vec::new(),
        };
        // SAFETY: `conn` is the live connection we own.
        let status = unsafe { pq_sys::PQstatus(listener.conn.as_ptr()) };
        if status != pq_sys::ConnStatusType::CONNECTION_OK {
            return Err(listener.error_message());
        }
        listener.schema = listener
            .execute("SELECT current_schema()")?
            .unwrap_or_default();
        listener.execute(&format!("LISTEN {channel}"))?;
        Ok(listener)
    }

    /// Runs one statement: the first column of its first row, when it returns a row (and
    /// that value is not NULL).
    fn execute(&self, statement: &str) -> Result<Option<Vec<u8>>, String> {
        use pq_sys::ExecStatusType::{PGRES_COMMAND_OK, PGRES_TUPLES_OK};
        let statement = CString::new(statement).map_err(|_| "a NUL byte in a statement")?;
        // SAFETY: a live connection and a valid C string; the result (null only when out of
        // memory) is read within its bounds (row 0, column 0 only when there are both) and
        // copied, then cleared before returning.
        unsafe {
            let result = pq_sys::PQexec(self.conn.as_ptr(), statement.as_ptr());
            let status = match result.is_null() {
                true => None,
                false => Some(pq_sys::PQresultStatus(result)),
            };
            let value = (status == Some(PGRES_TUPLES_OK)
                && pq_sys::PQntuples(result) > 0
                && pq_sys::PQnfields(result) > 0
                && pq_sys::PQgetisnull(result, 0, 0) == 0)
                .then(|| {
                    CStr::from_ptr(pq_sys::PQgetvalue(result, 0, 0))
                        .to_bytes()
                        .to_vec()
                });
            pq_sys::PQclear(result);
            match status {
                Some(PGRES_COMMAND_OK | PGRES_TUPLES_OK) => Ok(value),
                _ => Err(self.error_message()),
            }
        }
    }

    /// Waits up to `timeout` for a notification: true when one arrived since the last call,
    /// false when the time passed or `stop` was raised. An error means the connection broke.
    pub(crate) fn wait(&mut self, timeout: Duration, stop: &StopSignal) -> Result<bool, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.take_notifications()? {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // SAFETY: a live connection.
            let socket = unsafe { pq_sys::PQsocket(self.conn.as_ptr()) };
            if socket < 0 {
                return Err("the listening connection has no socket".into());
            }
            let mut fds = [
                libc::pollfd {
                    fd: socket,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: stop.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // Whole milliseconds, rounded up so a wait never ends early.
            let millis = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            // SAFETY: `fds` is an array of two initialised pollfd for the length given; both
            // descriptors stay open for the call (the connection's and the signal's, borrowed).
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
            if ready < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(format!("cannot wait for notifications: {err}"));
                }
            }
            if fds[1].revents != 0 {
                return Ok(false);
            }
        }
    }

    /// Reads what the server sent and takes every notification in it: whether one was this
    /// schema's.
    fn take_notifications(&mut self) -> Result<bool, String> {
        // SAFETY: a live connection; a notification's payload is a C string libpq owns until
        // the notification is freed (read before that); each is freed once.
        unsafe {
            if pq_sys::PQconsumeInput(self.conn.as_ptr()) == 0 {
                return Err(self.error_message());
            }
            let mut ours = false;
            loop {
                let notification = pq_sys::PQnotifies(self.conn.as_ptr());
                if notification.is_null() {
                    return Ok(ours);
                }
                let payload = (*notification).extra;
                let payload = match payload.is_null() {
                    true => &[][..],
                    false => CStr::from_ptr(payload).to_bytes(),
                };
                ours |= payload == self.schema.as_slice();
                pq_sys::PQfreemem(notification.cast());
            }
        }
    }

    /// libpq's message for the connection's last error, on one line.
    fn error_message(&self) -> String {
        // SAFETY: a live connection; the message is owned by it and copied before returning.
        let message = unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.conn.as_ptr())) };
        let message = message.to_string_lossy();
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        match message.is_empty() {
            true => "the listening connection failed".into(),
            false => message,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: the connection is ours and not used after this.
        unsafe { pq_sys::PQfinish(self.conn.as_ptr()) }
    }
}
