//! Failover and broadcast (DESIGN §8): `first_ok` tries a type's candidates in selection
//! order until one succeeds; `each` calls every ACTIVE instance. A plugin that panics is
//! reported as a failure like one that errors; the other instances keep serving.
//!
//! An optional per-type [`HealthPolicy`] adds a circuit breaker: after `trip_after`
//! consecutive failures an instance is skipped for `cool_down`, then tried again (one success
//! closes it). Off by default, and never for a type declared `critical`.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
#[cfg(feature = "async")]
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[cfg(feature = "async")]
use futures_util::FutureExt;

use super::Plugins;
use super::lookup::Part;
use crate::error::panic_message;
use crate::instance::InstanceMeta;
use crate::keys::InstanceId;
use crate::registration::{Plugin, PluginType};

/// The time circuit breakers measure their cool-downs against. The default is the system's
/// monotonic clock ([`SystemClock`]); a test can give [`PluginsBuilder::clock`] one it moves
/// on itself, instead of waiting out a cool-down.
///
/// [`PluginsBuilder::clock`]: crate::PluginsBuilder::clock
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock (`Instant::now`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// When to stop calling an instance that keeps failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failures that open the breaker.
    pub trip_after: u32,
    /// How long an open breaker skips the instance before trying it again.
    pub cool_down: Duration,
}

impl HealthPolicy {
    /// Open after `trip_after` consecutive failures (at least 1), for `cool_down`.
    pub fn trip_after(trip_after: u32, cool_down: Duration) -> HealthPolicy {
        HealthPolicy {
            trip_after: trip_after.max(1),
            cool_down,
        }
    }
}

/// How one call to one instance failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// The call returned this error.
    Failed(E),
    /// The call panicked, with this message.
    Panicked(String),
    /// The async call did not finish within this time.
    TimedOut(Duration),
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Failed(err) => write!(f, "failed: {err}"),
            Failure::Panicked(message) => write!(f, "panicked: {message}"),
            Failure::TimedOut(limit) => write!(f, "timed out after {limit:?}"),
        }
    }
}

/// One instance's failure, with the instance.
#[derive(Debug, Clone)]
pub struct Attempt<E> {
    /// The instance that failed.
    pub meta: InstanceMeta,
    /// How.
    pub failure: Failure<E>,
}

/// The success of [`Plugins::first_ok`]: the instance that served, its value, and every
/// failure passed on the way.
pub struct Served<T: ?Sized + 'static, R, E> {
    /// The instance that succeeded.
    pub plugin: Plugin<T>,
    /// What it returned.
    pub value: R,
    /// The instances tried before it, in order, and how they failed.
    pub passed: Vec<Attempt<E>>,
}

impl<T: ?Sized, R: fmt::Debug, E: fmt::Debug> fmt::Debug for Served<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served")
            .field("instance", &self.plugin.meta().name)
            .field("value", &self.value)
            .field("passed", &self.passed)
            .finish()
    }
}

/// Every candidate of [`Plugins::first_ok`] failed (or there was none).
#[derive(Debug, Clone)]
pub struct AllFailed<E> {
    /// The plugin type's key.
    pub plugin_type: String,
    /// Each instance tried, in order, and how it failed.
    pub attempts: Vec<Attempt<E>>,
    /// Instances skipped because their breaker was open.
    pub skipped: Vec<InstanceMeta>,
}

impl<E: fmt::Display> fmt::Display for AllFailed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts.is_empty() && self.skipped.is_empty() {
            return write!(f, "no instance of {} to try", self.plugin_type);
        }
        write!(f, "every instance of {} failed", self.plugin_type)?;
        for attempt in &self.attempts {
            write!(f, "; `{}` {}", attempt.meta.name, attempt.failure)?;
        }
        for meta in &self.skipped {
            write!(f, "; `{}` skipped (breaker open)", meta.name)?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for AllFailed<E> {}

/// One instance's result in [`Plugins::each`].
#[derive(Debug, Clone)]
pub struct Outcome<R, E> {
    /// The instance called.
    pub meta: InstanceMeta,
    /// What it returned, or how it failed.
    pub result: Result<R, Failure<E>>,
}

/// The breaker of one instance, for health pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Serving; `failures` consecutive failures so far.
    Closed {
        /// Consecutive failures since the last success.
        failures: u32,
    },
    /// Skipped until this instant.
    Open {
        /// When it will be tried again.
        until: Instant,
    },
}

/// Breakers and policies of one `Plugins` handle.
pub(super) struct Health {
    policies: Mutex<HashMap<TypeId, HealthPolicy>>,
    breakers: Mutex<HashMap<InstanceId, Breaker>>,
    clock: Arc<dyn Clock>,
}

#[derive(Default, Clone, Copy)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is counters: a panic elsewhere cannot leave them inconsistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Health {
    pub(super) fn new(clock: Arc<dyn Clock>) -> Health {
        Health {
            policies: Mutex::default(),
            breakers: Mutex::default(),
            clock,
        }
    }

    fn policy(&self, type_id: TypeId) -> Option<HealthPolicy> {
        lock(&self.policies).get(&type_id).copied()
    }

    fn is_open(&self, id: InstanceId, now: Instant) -> bool {
        lock(&self.breakers)
            .get(&id)
            .and_then(|breaker| breaker.open_until)
            .is_some_and(|until| now < until)
    }

    fn record(&self, policy: Option<HealthPolicy>, meta: &InstanceMeta, ok: bool) {
        let Some(policy) = policy else { return };
        let mut breakers = lock(&self.breakers);
        let breaker = breakers.entry(meta.id).or_default();
        if ok {
            *breaker = Breaker::default();
            return;
        }
        breaker.failures = breaker.failures.saturating_add(1);
        if breaker.failures >= policy.trip_after {
            breaker.open_until = Some(self.clock.now() + policy.cool_down);
            tracing::warn!(
                instance = %meta.id,
                name = %meta.name,
                failures = breaker.failures,
                cool_down = ?policy.cool_down,
                "plugin instance keeps failing; its breaker is open"
            );
        }
    }

    fn state(&self, id: InstanceId) -> BreakerState {
        let breaker = lock(&self.breakers).get(&id).copied().unwrap_or_default();
        match breaker.open_until {
            Some(until) if self.clock.now() < until => BreakerState::Open { until },
            _ => BreakerState::Closed {
                failures: breaker.failures,
            },
        }
    }
}

impl Plugins {
    /// Sets (or with `None` removes) the circuit breaker policy of type `T`. A type declared
    /// `#[plugin_type(critical)]` keeps no breaker: its instances are always tried.
    pub fn set_health_policy<T: ?Sized + PluginType>(&self, policy: Option<HealthPolicy>) {
        let mut policies = lock(&self.inner.health.policies);
        match policy {
            Some(policy) if !T::info().is_critical() => {
                policies.insert(TypeId::of::<T>(), policy);
            }
            _ => {
                policies.remove(&TypeId::of::<T>());
            }
        }
    }

    /// The breaker of an instance (closed, with no failures, when no policy applies).
    pub fn breaker(&self, id: InstanceId) -> BreakerState {
        self.inner.health.state(id)
    }

    /// Failover: calls `call` on each candidate of `T` in selection order (ACTIVE, then
    /// RESERVED) until one returns `Ok`, and returns it with every failure passed. A panic
    /// counts as a failure. Instances whose breaker is open are skipped.
    pub fn first_ok<T: ?Sized + PluginType, R, E>(
        &self,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Result<Served<T, R, E>, AllFailed<E>> {
        self.first_ok_in(None, call)
    }

    pub(super) fn first_ok_in<T: ?Sized + PluginType, R, E>(
        &self,
        scope: Option<&str>,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Result<Served<T, R, E>, AllFailed<E>> {
        let mut run = self.failover::<T, E>(scope);
        for plugin in std::mem::take(&mut run.candidates) {
            let result = attempt(|| call(&plugin));
            if let Some(served) = run.tried(plugin, result) {
                return Ok(served);
            }
        }
        Err(run.all_failed())
    }

    /// Broadcast: calls `call` on every ACTIVE instance of `T` (whose breaker is not open)
    /// and returns one outcome per instance, in selection order. A panic is that instance's
    /// failure; the others are still called.
    pub fn each<T: ?Sized + PluginType, R, E>(
        &self,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Vec<Outcome<R, E>> {
        self.each_in(None, call)
    }

    pub(super) fn each_in<T: ?Sized + PluginType, R, E>(
        &self,
        scope: Option<&str>,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Vec<Outcome<R, E>> {
        let policy = self.inner.health.policy(TypeId::of::<T>());
        let (candidates, _) = self.healthy_candidates::<T>(scope, false);
        candidates
            .into_iter()
            .map(|plugin| {
                let result = attempt(|| call(&plugin));
                self.outcome(policy, &plugin, result)
            })
            .collect()
    }

    /// [`first_ok`](Self::first_ok) for async plugin methods: each attempt gets `timeout`
    /// (a time-out is that instance's failure). Needs a tokio runtime with timers (feature
    /// `async`).
    #[cfg(feature = "async")]
    pub async fn first_ok_async<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        timeout: Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Result<Served<T, R, E>, AllFailed<E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        self.first_ok_async_in(None, timeout, call).await
    }

    #[cfg(feature = "async")]
    pub(super) async fn first_ok_async_in<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        scope: Option<&str>,
        timeout: Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Result<Served<T, R, E>, AllFailed<E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        let mut run = self.failover::<T, E>(scope);
        for plugin in std::mem::take(&mut run.candidates) {
            let result = attempt_async(timeout, call(plugin.clone())).await;
            if let Some(served) = run.tried(plugin, result) {
                return Ok(served);
            }
        }
        Err(run.all_failed())
    }

    /// [`each`](Self::each) for async plugin methods: every ACTIVE instance is called
    /// concurrently, each with its own `timeout`. Needs a tokio runtime with timers (feature
    /// `async`).
    #[cfg(feature = "async")]
    pub async fn each_async<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        timeout: Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Vec<Outcome<R, E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        self.each_async_in(None, timeout, call).await
    }

    #[cfg(feature = "async")]
    pub(super) async fn each_async_in<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        scope: Option<&str>,
        timeout: Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Vec<Outcome<R, E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        let policy = self.inner.health.policy(TypeId::of::<T>());
        let (candidates, _) = self.healthy_candidates::<T>(scope, false);
        let calls = candidates
            .iter()
            .map(|plugin| attempt_async(timeout, call(plugin.clone())));
        let results = futures_util::future::join_all(calls).await;
        candidates
            .iter()
            .zip(results)
            .map(|(plugin, result)| self.outcome(policy, plugin, result))
            .collect()
    }

    /// Records one broadcast call's result and makes its outcome.
    fn outcome<T: ?Sized, R, E>(
        &self,
        policy: Option<HealthPolicy>,
        plugin: &Plugin<T>,
        result: Result<R, Failure<E>>,
    ) -> Outcome<R, E> {
        self.inner
            .health
            .record(policy, plugin.meta(), result.is_ok());
        Outcome {
            meta: plugin.meta().clone(),
            result,
        }
    }

    fn failover<T: ?Sized + PluginType, E>(&self, scope: Option<&str>) -> Failover<'_, T, E> {
        let (candidates, skipped) = self.healthy_candidates::<T>(scope, true);
        Failover {
            health: &self.inner.health,
            policy: self.inner.health.policy(TypeId::of::<T>()),
            candidates,
            skipped,
            attempts: Vec::new(),
        }
    }

    /// The candidates to call, in selection order (RESERVED ones too when `with_reserved`),
    /// without those whose breaker is open; and the skipped ones.
    fn healthy_candidates<T: ?Sized + PluginType>(
        &self,
        scope: Option<&str>,
        with_reserved: bool,
    ) -> (Vec<Plugin<T>>, Vec<InstanceMeta>) {
        let mut candidates = self.part_in::<T>(scope, Part::Active);
        if with_reserved {
            candidates.extend(self.part_in::<T>(scope, Part::Reserved));
        }
        if self.inner.health.policy(TypeId::of::<T>()).is_none() {
            return (candidates, Vec::new());
        }
        let now = self.inner.health.clock.now();
        let (open, closed): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|plugin| self.inner.health.is_open(plugin.meta().id, now));
        (closed, open.iter().map(|p| p.meta().clone()).collect())
    }
}

/// One failover run's bookkeeping, shared by the blocking and the async variant.
struct Failover<'a, T: ?Sized + 'static, E> {
    health: &'a Health,
    policy: Option<HealthPolicy>,
    candidates: Vec<Plugin<T>>,
    skipped: Vec<InstanceMeta>,
    attempts: Vec<Attempt<E>>,
}

impl<T: ?Sized + PluginType, E> Failover<'_, T, E> {
    /// Records an attempt; the success, if it was one.
    fn tried<R>(
        &mut self,
        plugin: Plugin<T>,
        result: Result<R, Failure<E>>,
    ) -> Option<Served<T, R, E>> {
        self.health
            .record(self.policy, plugin.meta(), result.is_ok());
        match result {
            Ok(value) => Some(Served {
                plugin,
                value,
                passed: std::mem::take(&mut self.attempts),
            }),
            Err(failure) => {
                self.attempts.push(Attempt {
                    meta: plugin.meta().clone(),
                    failure,
                });
                None
            }
        }
    }

    fn all_failed(self) -> AllFailed<E> {
        AllFailed {
            plugin_type: T::info().key().to_string(),
            attempts: self.attempts,
            skipped: self.skipped,
        }
    }
}

/// Runs one blocking attempt, turning a panic into a failure.
fn attempt<R, E>(call: impl FnOnce() -> Result<R, E>) -> Result<R, Failure<E>> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(Failure::Failed(err)),
        Err(panic) => Err(Failure::Panicked(panic_message(&panic))),
    }
}

/// Runs one async attempt with a time limit, turning a panic into a failure.
#[cfg(feature = "async")]
async fn attempt_async<R, E>(
    timeout: Duration,
    future: impl Future<Output = Result<R, E>>,
) -> Result<R, Failure<E>> {
    let guarded = AssertUnwindSafe(future).catch_unwind();
    match tokio::time::timeout(timeout, guarded).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(err))) => Err(Failure::Failed(err)),
        Ok(Err(panic)) => Err(Failure::Panicked(panic_message(&panic))),
        Err(_) => Err(Failure::TimedOut(timeout)),
    }
}
