//! Starting and stopping instances of items with `lifecycle` hooks.
//!
//! An instance is built, then started ([`begin`], [`Starting::finish`]) before the snapshot
//! that serves it is published; a start runs on a thread of its own so its deadline holds
//! even when it blocks, and the instances of one batch start side by side.
//! An instance that leaves the snapshot (replaced, disabled, deleted, orphaned) is handed to
//! the [`Stopper`], which stops it once nothing holds its object any more (the snapshots and
//! the handles callers kept) or its drain deadline passes. [`Live::stop_once`] makes a second
//! stop impossible, whoever asks for it.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::watch::lock;
use crate::error::panic_message;
use crate::instance::InstanceMeta;
use crate::registration::{ErasedObject, LifecycleHooks};

/// How often the stopper looks again at an instance whose handles are still held.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// A started instance: its object, its hooks, and whether it has been stopped.
pub(in crate::plugins) struct Live {
    object: ErasedObject,
    hooks: LifecycleHooks,
    /// For logs and reports: `name (id)`.
    pub(in crate::plugins) label: String,
    stopped: AtomicBool,
    /// The tokio runtime its async hooks run in (feature `async`), the one it started in.
    context: RuntimeContext,
}

impl Live {
    /// Runs the stop hook unless it has run (or is running) already; a panic in it is logged,
    /// never propagated. Returns whether this call ran it.
    pub(in crate::plugins) fn stop_once(&self) -> bool {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return false;
        }
        let stop = self.hooks.stop;
        let _entered = enter(&self.context);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| stop(&self.object))) {
            tracing::warn!(
                instance = %self.label,
                panic = %panic_message(&panic),
                "plugin instance's stop hook panicked"
            );
        } else {
            tracing::debug!(instance = %self.label, "plugin instance stopped");
        }
        true
    }

    /// True when only this record still holds the object: no snapshot, no entry and no
    /// handle a caller kept (`Plugin`, or the `Arc` of `Plugin::shared`) refers to it.
    fn drained(&self) -> bool {
        Arc::strong_count(&self.object) == 1
    }

    pub(in crate::plugins) fn drain_deadline(&self) -> Duration {
        self.hooks.drain_deadline
    }
}

/// How a start in progress ended, shared by the caller waiting for it and its thread.
enum StartState {
    Running,
    /// The caller stopped waiting: a start that succeeds later is stopped at once.
    Abandoned,
    Done(Result<(), String>),
}

/// A start in progress: its thread runs the start hook while the caller begins the others
/// of its batch (instances of one depth need nothing from each other), then waits for each
/// with [`finish`](Self::finish). Each start has its own deadline, counted from its begin.
pub(in crate::plugins) struct Starting {
    live: Arc<Live>,
    state: Arc<(Mutex<StartState>, Condvar)>,
    deadline: Instant,
    /// The start hook could not run at all (no thread): the load failure's reason.
    unstarted: Option<String>,
}

/// Starts `object` (built from the instance `meta`) on a thread of its own, without waiting
/// for it: see [`Starting::finish`].
pub(in crate::plugins) fn begin(
    hooks: LifecycleHooks,
    object: &ErasedObject,
    meta: &InstanceMeta,
) -> Starting {
    let live = Arc::new(Live {
        object: Arc::clone(object),
        hooks,
        label: format!("{} ({})", meta.name, meta.id),
        stopped: AtomicBool::new(false),
        context: runtime_context(),
    });
    let state = Arc::new((Mutex::new(StartState::Running), Condvar::new()));
    let runner = Arc::clone(&live);
    let shared = Arc::clone(&state);
    let deadline = Instant::now() + hooks.start_deadline;
    let spawned = thread::Builder::new()
        .name("plugin-start".into())
        .spawn(move || {
            let _entered = enter(&runner.context);
            let start = runner.hooks.start;
            let result = match catch_unwind(AssertUnwindSafe(|| start(&runner.object))) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(format!("its start hook failed: {}", err.report())),
                Err(panic) => Err(format!(
                    "its start hook panicked: {}",
                    panic_message(&panic)
                )),
            };
            let (mutex, done) = &*shared;
            let mut state = lock(mutex);
            if let StartState::Abandoned = *state {
                drop(state);
                if result.is_ok() {
                    tracing::warn!(
                        instance = %runner.label,
                        "plugin instance started after its start deadline; stopping it"
                    );
                    runner.stop_once();
                }
                return;
            }
            *state = StartState::Done(result);
            done.notify_all();
        });
    Starting {
        live,
        state,
        deadline,
        unstarted: spawned
            .err()
            .map(|err| format!("its start hook could not run: no thread: {err}")),
    }
}

impl Starting {
    /// Waits for the start until its deadline. The error is the load failure's reason; a
    /// start that returns `Ok` after it is stopped at once.
    pub(in crate::plugins) fn finish(self) -> Result<Arc<Live>, String> {
        if let Some(reason) = self.unstarted {
            return Err(reason);
        }
        let (mutex, done) = &*self.state;
        let left = self.deadline.saturating_duration_since(Instant::now());
        let state = lock(mutex);
        let (mut state, _) = done
            .wait_timeout_while(state, left, |state| matches!(state, StartState::Running))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match std::mem::replace(&mut *state, StartState::Abandoned) {
            StartState::Done(Ok(())) => Ok(self.live),
            StartState::Done(Err(reason)) => Err(reason),
            StartState::Running | StartState::Abandoned => Err(format!(
                "its start hook did not return within {}",
                describe(self.live.hooks.start_deadline)
            )),
        }
    }
}

/// A duration as operators read it (`30 s`, `250 ms`).
fn describe(duration: Duration) -> String {
    if duration.as_millis() >= 1_000 && duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// A retired instance waiting for its handles to drop.
struct Retiring {
    live: Arc<Live>,
    deadline: Instant,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Retiring>,
    closing: bool,
    /// Whether the thread is running (it is started with the first retirement).
    running: bool,
}

/// Stops retired instances once they are drained, on a thread of its own (started with the
/// first retirement, so a handle whose items have no hooks has none). It holds neither the
/// handle nor its store: dropping the handle ends it.
#[derive(Default)]
pub(in crate::plugins) struct Stopper {
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

impl Stopper {
    /// Hands over instances the snapshot no longer serves.
    pub(in crate::plugins) fn retire(&self, lives: Vec<Arc<Live>>) {
        if lives.is_empty() {
            return;
        }
        let (mutex, wake) = &*self.shared;
        let mut queue = lock(mutex);
        let now = Instant::now();
        for live in lives {
            tracing::debug!(instance = %live.label, "plugin instance retired; stopping it once its handles are dropped");
            let deadline = now + live.drain_deadline();
            queue.waiting.push_back(Retiring { live, deadline });
        }
        if !queue.running {
            let shared = Arc::clone(&self.shared);
            match thread::Builder::new()
                .name("plugin-stopper".into())
                .spawn(move || run(&shared))
            {
                Ok(_) => queue.running = true,
                Err(err) => tracing::warn!(
                    error = %err,
                    "no thread to stop retired plugin instances; they are stopped by shutdown"
                ),
            }
        }
        wake.notify_all();
    }

    /// Takes every instance still waiting (for `shutdown`, which stops them itself).
    pub(in crate::plugins) fn take_waiting(&self) -> Vec<Arc<Live>> {
        let (mutex, _) = &*self.shared;
        let mut queue = lock(mutex);
        queue
            .waiting
            .drain(..)
            .map(|retiring| retiring.live)
            .collect()
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        let (mutex, wake) = &*self.shared;
        lock(mutex).closing = true;
        wake.notify_all();
    }
}

/// The stopper's loop: stop what is drained (or overdue), in the order it was retired, then
/// sleep until the next retirement, or a short while when something is still held.
fn run(shared: &(Mutex<Queue>, Condvar)) {
    let (mutex, wake) = shared;
    let mut queue = lock(mutex);
    loop {
        if queue.closing {
            return;
        }
        let now = Instant::now();
        let (ready, waiting): (Vec<Retiring>, Vec<Retiring>) = queue
            .waiting
            .drain(..)
            .partition(|retiring| retiring.live.drained() || retiring.deadline <= now);
        queue.waiting = waiting.into();
        if !ready.is_empty() {
            drop(queue);
            for retiring in ready {
                if !retiring.live.drained() {
                    tracing::warn!(
                        instance = %retiring.live.label,
                        "plugin instance stopped at its drain deadline while handles to it were still held"
                    );
                }
                retiring.live.stop_once();
            }
            queue = lock(mutex);
            continue;
        }
        queue = if queue.waiting.is_empty() {
            wake.wait(queue)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        } else {
            let next = queue
                .waiting
                .iter()
                .map(|retiring| retiring.deadline.saturating_duration_since(now))
                .min()
                .unwrap_or(DRAIN_POLL)
                .min(DRAIN_POLL);
            wake.wait_timeout(queue, next)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0
        };
    }
}

/// How [`stop_all`] ended for one instance.
pub(in crate::plugins) enum Stopped {
    /// After every handle to it was dropped.
    Drained,
    /// At the deadline, while handles to it were still held.
    WhileHeld,
    /// Its stop hook had not returned in time.
    Unfinished,
}

/// Stops `lives` (in the order given) for a shutdown: each as soon as it is drained; at
/// `drain_until`, the rest regardless; every stop hook runs on a thread of its own and is
/// waited for until `stop_until`.
///
/// Each record is dropped once stopped, so what it held (the plugins it was given through
/// `needs`) can drain in turn: in dependency order, dependents first, a dependency is
/// drained once its dependents are stopped.
pub(in crate::plugins) fn stop_all(
    lives: Vec<Arc<Live>>,
    drain_until: Instant,
    stop_until: Instant,
) -> Vec<(String, Stopped)> {
    let mut waiting: Vec<Arc<Live>> = lives;
    let mut done = Vec::new();
    loop {
        let now = Instant::now();
        let (ready, held): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|live| live.drained() || now >= drain_until);
        for live in ready {
            let how = match (live.drained(), stop_within(&live, stop_until)) {
                (_, false) => Stopped::Unfinished,
                (true, true) => Stopped::Drained,
                (false, true) => Stopped::WhileHeld,
            };
            done.push((live.label.clone(), how));
        }
        if held.is_empty() {
            return done;
        }
        waiting = held;
        thread::sleep(DRAIN_POLL.min(drain_until.saturating_duration_since(Instant::now())));
    }
}

/// Runs the stop hook of `live` on a thread of its own, waiting for it until `until`;
/// returns whether it finished (or had run already).
fn stop_within(live: &Arc<Live>, until: Instant) -> bool {
    let (sender, receiver) = std::sync::mpsc::channel();
    let stopping = Arc::clone(live);
    let spawned = thread::Builder::new()
        .name("plugin-stop".into())
        .spawn(move || {
            stopping.stop_once();
            let _ = sender.send(());
        });
    match spawned {
        Ok(_) => receiver
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .is_ok(),
        Err(_) => {
            live.stop_once();
            true
        }
    }
}

// ---------------------------------------------------------------------------------------
// Async hooks: run to completion on the hook's own thread.
// ---------------------------------------------------------------------------------------

/// The tokio runtime async hooks run in (feature `async`), entered on the hook's thread so
/// an async hook can open its sockets and spawn its tasks there.
#[cfg(feature = "async")]
pub(in crate::plugins) type RuntimeContext = Option<tokio::runtime::Handle>;
/// Without the `async` feature there is no runtime to remember.
#[cfg(not(feature = "async"))]
pub(in crate::plugins) struct RuntimeContext;

/// The runtime current where the first handle was built inside one: a start asked for on a
/// thread outside any runtime (the watcher's, say) still runs its hook in it.
#[cfg(feature = "async")]
static BUILT_IN: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();

/// Records the runtime current now, if any, for [`runtime_context`] (`Plugins` build).
pub(in crate::plugins) fn remember_runtime() {
    #[cfg(feature = "async")]
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let _ = BUILT_IN.set(handle);
    }
}

/// The runtime of this thread, else the one the first handle was built in.
#[cfg(feature = "async")]
pub(in crate::plugins) fn runtime_context() -> RuntimeContext {
    tokio::runtime::Handle::try_current()
        .ok()
        .or_else(|| BUILT_IN.get().cloned())
}
#[cfg(not(feature = "async"))]
pub(in crate::plugins) fn runtime_context() -> RuntimeContext {
    RuntimeContext
}

#[cfg(feature = "async")]
pub(in crate::plugins) fn enter(
    context: &RuntimeContext,
) -> Option<tokio::runtime::EnterGuard<'_>> {
    context.as_ref().map(tokio::runtime::Handle::enter)
}
/// Without the `async` feature there is no runtime to enter.
#[cfg(not(feature = "async"))]
pub(in crate::plugins) struct NotEntered;

#[cfg(not(feature = "async"))]
pub(in crate::plugins) fn enter(_: &RuntimeContext) -> NotEntered {
    NotEntered
}

/// Runs an async hook's future to completion on this (the hook's own) thread: inside the
/// tokio runtime entered for the hook when there is one, else with a thread-parking waker.
pub fn block_on<F: Future>(future: F) -> F::Output {
    #[cfg(feature = "async")]
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return handle.block_on(future);
    }
    park_on(future)
}

/// The smallest executor: polls `future`, parking the thread until its waker unparks it.
fn park_on<F: Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::error::PluginError;
    use crate::keys::{InstanceId, ItemKey, Status};

    static STOPS: AtomicUsize = AtomicUsize::new(0);

    fn meta() -> InstanceMeta {
        InstanceMeta {
            id: InstanceId::new(),
            name: "pool".into(),
            item: "app:pools/pool".parse::<ItemKey>().expect("a key"),
            status: Status::Active,
            priority: 1,
            scope: None,
            version: 1,
        }
    }

    fn hooks(start: fn(&ErasedObject) -> Result<(), PluginError>) -> LifecycleHooks {
        LifecycleHooks {
            start,
            stop: |_| {
                STOPS.fetch_add(1, Ordering::SeqCst);
            },
            // Generous: these tests read why a start failed, not when (a panic's backtrace on a
            // loaded machine took longer than 200 ms).
            start_deadline: Duration::from_secs(10),
            drain_deadline: Duration::from_secs(60),
        }
    }

    fn start(
        hooks: LifecycleHooks,
        object: &ErasedObject,
        meta: &InstanceMeta,
    ) -> Result<Arc<Live>, String> {
        begin(hooks, object, meta).finish()
    }

    #[test]
    fn starts_begun_together_run_side_by_side() {
        // Each start waits for the other to have begun: one after the other, the first
        // would wait out its deadline.
        static BOTH: std::sync::Barrier = std::sync::Barrier::new(2);
        let object: ErasedObject = Arc::new(());
        let waiting = LifecycleHooks {
            start_deadline: Duration::from_secs(20),
            ..hooks(|_| {
                BOTH.wait();
                Ok(())
            })
        };
        let first = begin(waiting, &object, &meta());
        let second = begin(waiting, &object, &meta());
        assert!(first.finish().is_ok());
        assert!(second.finish().is_ok());
    }

    #[test]
    fn a_failing_start_is_the_reason_and_a_panicking_one_too() {
        let object: ErasedObject = Arc::new(());
        let failed = start(
            hooks(|_| Err(PluginError::new("refused"))),
            &object,
            &meta(),
        );
        assert_eq!(
            failed.err().as_deref(),
            Some("its start hook failed: refused")
        );
        let panicked = start(hooks(|_| panic!("no socket")), &object, &meta());
        assert_eq!(
            panicked.err().as_deref(),
            Some("its start hook panicked: no socket")
        );
    }

    #[test]
    fn stop_runs_once_however_often_it_is_asked() {
        let object: ErasedObject = Arc::new(());
        let live = start(hooks(|_| Ok(())), &object, &meta()).expect("started");
        let before = STOPS.load(Ordering::SeqCst);
        assert!(live.stop_once());
        assert!(!live.stop_once());
        assert_eq!(STOPS.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn the_park_executor_runs_a_future_woken_from_another_thread() {
        let (sender, receiver) = std::sync::mpsc::channel::<Waker>();
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        let waker_thread = thread::spawn(move || {
            let waker = receiver.recv().expect("a waker");
            set.store(true, Ordering::SeqCst);
            waker.wake();
        });
        let mut sent = Some(sender);
        let value = park_on(std::future::poll_fn(|cx| {
            if flag.load(Ordering::SeqCst) {
                return std::task::Poll::Ready(7);
            }
            if let Some(sender) = sent.take() {
                sender.send(cx.waker().clone()).expect("sent");
            }
            std::task::Poll::Pending
        }));
        assert_eq!(value, 7);
        waker_thread.join().expect("joined");
    }

    use std::task::Waker;
}
