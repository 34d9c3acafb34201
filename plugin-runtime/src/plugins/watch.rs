//! Other processes' writes (DESIGN §11): a watcher thread per handle checks the store's
//! revision every `interval` (half the handle's staleness bound) and brings the snapshot up
//! to date when it moved; with a push channel (PostgreSQL's LISTEN/NOTIFY) it also wakes
//! within a few milliseconds of an announced write. Between checks it is blocked (in the
//! feed's wait, or on the stop signal), so an idle handle costs one revision poll per
//! interval and nothing else. When the store cannot be reached, lookups keep serving the last
//! snapshot; the condition is logged once when it starts and once when it ends, and
//! [`Plugins::store_health`](super::Plugins::store_health) shows it.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use super::Inner;
use crate::store::{ChangeFeed, StopSignal, Stopper, stop_signal};

/// Whether the store answered the last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// False while the store cannot be reached (lookups serve the last snapshot).
    pub reachable: bool,
    /// Why the last check failed, while it fails.
    pub last_error: Option<String>,
    /// When `reachable` last changed (the handle's creation at first).
    pub since: SystemTime,
    /// When the store was last checked.
    pub last_checked: SystemTime,
}

impl StoreHealth {
    pub(super) fn new() -> StoreHealth {
        let now = SystemTime::now();
        StoreHealth {
            reachable: true,
            last_error: None,
            since: now,
            last_checked: now,
        }
    }

    /// Records one check's outcome, logging a change of state.
    pub(super) fn record(&mut self, outcome: Result<(), String>) {
        let now = SystemTime::now();
        self.last_checked = now;
        match outcome {
            Ok(()) => {
                if !self.reachable {
                    tracing::info!("plugin store reachable again; snapshot refreshed");
                    self.reachable = true;
                    self.since = now;
                }
                self.last_error = None;
            }
            Err(error) => {
                if self.reachable {
                    tracing::error!(
                        %error,
                        "plugin store unreachable; lookups serve the last snapshot"
                    );
                    self.reachable = false;
                    self.since = now;
                }
                self.last_error = Some(error);
            }
        }
    }
}

/// Stops the watcher when dropped (with the handle's last clone).
pub(super) struct Watcher {
    stop: Option<Stopper>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Stops the thread and waits for it (its current check, bounded by the store's time-outs),
/// so no store call (a driver inside a TLS handshake, a LISTEN connection closing) is still
/// running once the last handle is gone and the process may exit. When the last handle goes
/// on the watcher thread itself (it held the last strong reference for a check), the thread
/// is already finishing and is not waited for.
impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// Starts the watcher of `inner`, checking every `interval`. The push channel, if the store
/// has one, is subscribed before this returns, so no write after `build` goes unannounced.
pub(super) fn start(inner: &Arc<Inner>, interval: Duration) -> std::io::Result<Watcher> {
    let (stop, stopped) = stop_signal()?;
    let weak = Arc::downgrade(inner);
    let feed = subscribe(inner);
    let thread = std::thread::Builder::new()
        .name("plugin-system-watch".into())
        .spawn(move || watch(weak, feed, interval, stopped))?;
    Ok(Watcher {
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn subscribe(inner: &Inner) -> Option<Box<dyn ChangeFeed>> {
    match inner.store.change_feed() {
        Ok(feed) => feed,
        Err(error) => {
            tracing::warn!(%error, "no push channel for plugin changes; polling only");
            None
        }
    }
}

fn watch(
    inner: Weak<Inner>,
    mut feed: Option<Box<dyn ChangeFeed>>,
    interval: Duration,
    stopped: StopSignal,
) {
    let mut last_reread = Instant::now();
    loop {
        if feed.is_none() {
            let Some(strong) = inner.upgrade() else {
                return;
            };
            feed = strong.store.change_feed().ok().flatten();
        }
        if !wait(&mut feed, interval, &stopped) {
            return;
        }
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let outcome = strong.refresh().map(|_| ()).map_err(|err| err.to_string());
        lock(&strong.store_health).record(outcome);
        if let Some(period) = strong.reread_secrets
            && last_reread.elapsed() >= period
        {
            strong.reread_secrets();
            last_reread = Instant::now();
        }
        if feed.is_none() {
            // Lost (or never had) the push channel: try again, polling meanwhile.
            feed = strong.store.change_feed().ok().flatten();
        }
    }
}

/// Blocks up to `interval`, returning early when the feed announces a write (a feed that
/// breaks is dropped and the rest of the interval waited out). False when the handle is
/// gone.
fn wait(feed: &mut Option<Box<dyn ChangeFeed>>, interval: Duration, stop: &StopSignal) -> bool {
    let started = Instant::now();
    if let Some(channel) = feed {
        match channel.wait(interval, stop) {
            Ok(_) => return !stop.is_raised(),
            Err(_) => *feed = None,
        }
    }
    !stop.wait(interval.saturating_sub(started.elapsed()))
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
