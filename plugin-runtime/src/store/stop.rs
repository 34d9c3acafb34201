//! The signal that ends a [`ChangeFeed`](super::ChangeFeed) wait: raised when the last
//! [`Plugins`](crate::Plugins) handle is dropped, which then waits for its watcher thread.
//!
//! A watcher blocks in its feed for the whole polling interval (an idle handle wakes only to
//! poll the revision), so the drop must be able to end that wait at once. On Unix the signal
//! is a socket that becomes readable when raised, so a feed blocked on its own socket
//! (PostgreSQL's LISTEN connection) waits on both with one `poll`.

use std::time::Duration;

/// Raised when the handle that owns the watcher goes away: a wait on it ends at once.
#[derive(Debug)]
pub struct StopSignal {
    #[cfg(unix)]
    socket: std::os::unix::net::UnixStream,
    #[cfg(not(unix))]
    receiver: std::sync::mpsc::Receiver<()>,
}

/// Raises its [`StopSignal`] when dropped.
#[derive(Debug)]
pub struct Stopper {
    #[cfg(unix)]
    _socket: std::os::unix::net::UnixStream,
    #[cfg(not(unix))]
    _sender: std::sync::mpsc::Sender<()>,
}

/// A signal and what raises it (the watcher makes one per handle; a store's tests make one
/// to drive their feed's [`wait`](super::ChangeFeed::wait)).
pub fn stop_signal() -> std::io::Result<(Stopper, StopSignal)> {
    #[cfg(unix)]
    {
        let (raise, socket) = std::os::unix::net::UnixStream::pair()?;
        Ok((Stopper { _socket: raise }, StopSignal { socket }))
    }
    #[cfg(not(unix))]
    {
        let (sender, receiver) = std::sync::mpsc::channel();
        Ok((Stopper { _sender: sender }, StopSignal { receiver }))
    }
}

impl StopSignal {
    /// Waits up to `timeout`; true as soon as the signal is raised (at once when it already
    /// is), false when the time passed first.
    pub fn wait(&self, timeout: Duration) -> bool {
        #[cfg(unix)]
        {
            use std::io::{ErrorKind, Read};
            // A zero time-out means "block forever" to the socket, so wait a microsecond.
            let timeout = timeout.max(Duration::from_micros(1));
            let deadline = std::time::Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || self.socket.set_read_timeout(Some(left)).is_err() {
                    return false;
                }
                // Nothing is ever written: a read ends only at the end of the stream (the
                // other end dropped), a time-out, or an interruption.
                match (&self.socket).read(&mut [0u8; 1]) {
                    Ok(_) => return true,
                    Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => return false,
                }
            }
        }
        #[cfg(not(unix))]
        {
            use std::sync::mpsc::RecvTimeoutError;
            !matches!(
                self.receiver.recv_timeout(timeout),
                Err(RecvTimeoutError::Timeout)
            )
        }
    }

    /// Whether the signal is raised, without waiting.
    pub fn is_raised(&self) -> bool {
        self.wait(Duration::ZERO)
    }
}

/// Readable (at its end of stream) once the signal is raised: a feed waiting on a socket of
/// its own polls this one too.
#[cfg(unix)]
impl std::os::fd::AsFd for StopSignal {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_when_the_stopper_is_dropped_and_times_out_while_it_is_not() {
        let (stopper, signal) = stop_signal().unwrap();
        assert!(!signal.is_raised());
        assert!(!signal.wait(Duration::from_millis(5)), "nothing raised it");
        let (started, waited) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            started.send(()).unwrap();
            // Far longer than the test: only the drop can end it in time.
            signal.wait(Duration::from_secs(600))
        });
        waited.recv().unwrap();
        drop(stopper);
        assert!(waiter.join().unwrap(), "the wait saw the signal");
    }

    #[test]
    fn a_raised_signal_stays_raised() {
        let (stopper, signal) = stop_signal().unwrap();
        drop(stopper);
        assert!(signal.is_raised());
        assert!(signal.wait(Duration::from_secs(600)));
    }
}
