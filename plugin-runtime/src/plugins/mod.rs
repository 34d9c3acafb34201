//! The [`Plugins`] handle: typed lookups served from an immutable snapshot, and the writes
//! that change it.
//!
//! Lookups (`get`, `get_by_id`, `active`, `reserved`) read the current snapshot, swapped
//! atomically: no query, no decryption, no lock. Every write through the handle rebuilds the
//! snapshot before it returns, constructing only the instances whose config changed.

mod actions;
mod declared;
mod health;
pub(crate) mod lifecycle;
mod listing;
mod lookup;
mod migrate;
mod snapshot;
mod tenants;
mod watch;

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

pub use health::{
    AllFailed, Attempt, BreakerState, Clock, Failure, HealthPolicy, Outcome, Served, SystemClock,
};
pub use listing::{
    InstancePage, InstanceQuery, InstanceSort, InstanceSummary, LoadState, ScopeFilter,
    StatusCounts,
};
pub use lookup::Scoped;
pub use migrate::{ConfigMigration, MigratedConfig};
use snapshot::{ByType, EntryState, Snapshot};
pub use tenants::{TenantInstance, TenantReason, TenantTypeView, TenantView};
pub use watch::StoreHealth;

use crate::config::ConfigValues;
use crate::crypto::{CryptoError, Keyring};
use crate::instance::PriorityChange;
use crate::instance::{
    InstanceMeta, InstanceRecord, check_description, check_instance_name, check_scope,
};
use crate::keys::ItemKey;
use crate::keys::{InstanceId, Status};
use crate::registration::{ItemInfo, Plugin, PluginType, TypeInfo};
use crate::registry::Registry;
use crate::select::Selector;
use crate::store::rules::{self, BulkEdit, InstanceChange};
use crate::store::{MemoryStore, Store};
use crate::sync::{SyncOptions, SyncReport};
use crate::{Error, PluginConfig};

/// The application's handle on its plugins. Cheap to clone; share it across threads.
#[derive(Clone)]
pub struct Plugins {
    inner: Arc<Inner>,
    /// Who this handle's writes are audited as.
    actor: Arc<str>,
    /// Writes disable or delete instances others need ([`Plugins::forced`]).
    force: bool,
}

struct Inner {
    registry: &'static Registry,
    store: Arc<dyn Store>,
    keyring: Option<Keyring>,
    snapshot: ArcSwap<Snapshot>,
    /// Held while a snapshot is read and swapped in: the watcher's reload and a write's
    /// reload never interleave, so an older read can never replace a newer snapshot.
    reloading: Mutex<()>,
    /// Set when a committed write could not be reloaded: the next refresh reloads everything
    /// even if the revision looks current.
    stale: AtomicBool,
    /// How the snapshot was kept current.
    stats: Mutex<RefreshStats>,
    last_sync: Option<SyncReport>,
    /// Selectors per type, for `select` (declared ones, replaced by `set_selector`).
    selectors: ArcSwap<ByType<Arc<dyn Selector>>>,
    health: health::Health,
    store_health: Mutex<StoreHealth>,
    /// Stops the watcher thread when the last handle goes.
    watcher: OnceLock<watch::Watcher>,
    /// Stops retired instances of items with start and stop hooks.
    stopper: lifecycle::Stopper,
    /// Set by [`Plugins::shutdown`]: nothing is started or served any more.
    shut_down: AtomicBool,
    /// How often the watcher reads secret references again
    /// ([`PluginsBuilder::reread_secrets_every`]).
    reread_secrets: Option<Duration>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snapshot = self.inner.snapshot.load();
        f.debug_struct("Plugins")
            .field("store", &self.inner.store)
            .field("revision", &snapshot.revision)
            .field("instances", &snapshot.len())
            .finish_non_exhaustive()
    }
}

/// Who writes through a handle that did not say (`acting_as`).
const DEFAULT_ACTOR: &str = "application";

/// Builds a [`Plugins`] handle: validate the registry, sync it into the store, load.
#[must_use = "call .build() to get the Plugins handle"]
pub struct PluginsBuilder {
    store: Option<StoreSource>,
    keyring: Option<Result<Keyring, CryptoError>>,
    sync: Option<SyncOptions>,
    registry: Option<&'static Registry>,
    watch: Option<Duration>,
    clock: Arc<dyn health::Clock>,
    declared: Option<std::path::PathBuf>,
    reread_secrets: Option<Duration>,
}

/// Where the builder gets its store.
enum StoreSource {
    Ready(Arc<dyn Store>),
    Open(Box<dyn FnOnce() -> Result<Arc<dyn Store>, Error> + Send>),
}

impl Plugins {
    /// Starts building the handle.
    pub fn builder() -> PluginsBuilder {
        PluginsBuilder {
            store: None,
            keyring: None,
            sync: Some(SyncOptions::default()),
            registry: None,
            watch: Some(Duration::from_secs(1)),
            clock: Arc::new(health::SystemClock),
            declared: None,
            reread_secrets: None,
        }
    }
}

impl PluginsBuilder {
    /// Where types, items and instances persist (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(StoreSource::Ready(Arc::new(store)));
        self
    }

    /// A store already shared with other parts of the application.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(StoreSource::Ready(store));
        self
    }

    /// A store that `build` opens once the registry and the key have been checked (so a
    /// broken registry is reported before any connection or migration is attempted). The
    /// facade's `database_url` uses it.
    pub fn open_store(
        mut self,
        open: impl FnOnce() -> Result<Arc<dyn Store>, Error> + Send + 'static,
    ) -> Self {
        self.store = Some(StoreSource::Open(Box::new(open)));
        self
    }

    /// The keys that encrypt instance configs.
    pub fn keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(Ok(keyring));
        self
    }

    /// Reads the keyring from an environment variable (comma-separated base64 keys, the first
    /// current). A missing variable is an error at `build` only if some item is configurable.
    pub fn key_from_env(mut self, variable: &str) -> Self {
        self.keyring = Some(Keyring::from_env(variable));
        self
    }

    /// How the start-up sync runs (default: create mode, no prune).
    pub fn sync_options(mut self, options: SyncOptions) -> Self {
        self.sync = Some(options);
        self
    }

    /// Skips the start-up sync (for processes that only read, when a deploy step syncs).
    pub fn skip_sync(mut self) -> Self {
        self.sync = None;
        self
    }

    /// How stale lookups may be after another process writes (default 1 s): the watcher
    /// checks the store's revision twice per bound, so a write is served within it. On
    /// PostgreSQL, writes are also pushed (LISTEN/NOTIFY) and served within milliseconds.
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.watch = Some(bound);
        self
    }

    /// No watcher: only this handle's writes and explicit [`Plugins::refresh`] calls change
    /// what lookups serve.
    pub fn no_watch(mut self) -> Self {
        self.watch = None;
        self
    }

    /// The clock circuit breakers time their cool-downs with (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl health::Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Applies the declared file at `path` once the store is synced (see
    /// [`Plugins::apply_file`]), as an application that keeps its plugin instances in code
    /// review does at every start: a file that does not read, or an apply the store refuses,
    /// fails `build` with every problem at its line. It never prunes: deleting instances is
    /// the deliberate `plugins apply --prune`.
    pub fn apply_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.declared = Some(path.into());
        self
    }

    /// Has the watcher read every secret reference again this often (default: never) and
    /// build again the instances whose secrets changed, as [`Plugins::reread_secrets`] does:
    /// a secret file an orchestrator rotates in place (a Kubernetes secret volume) reaches
    /// the plugins without a restart. Each read decrypts the configs that hold references;
    /// a few seconds suits thousands of them. Needs the watcher (not
    /// [`no_watch`](Self::no_watch)). Environment variables do not change in a running
    /// process, so only `{ file = .. }` references move.
    pub fn reread_secrets_every(mut self, period: Duration) -> Self {
        self.reread_secrets = Some(period);
        self
    }

    /// Uses this registry instead of the one linked into the binary.
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Validates the registry, checks the key, syncs and loads the first snapshot.
    pub fn build(self) -> Result<Plugins, Error> {
        let registry = match self.registry {
            Some(registry) => registry,
            None => Registry::linked()?,
        };
        let keyring = match self.keyring {
            Some(Ok(keyring)) => Some(keyring),
            Some(Err(err)) if registry.needs_key() => return Err(err.into()),
            Some(Err(CryptoError::MissingKey { .. })) => None,
            Some(Err(err)) => return Err(err.into()),
            None if registry.needs_key() => {
                return Err(CryptoError::MissingKey {
                    hint: "a keyring (`.keyring(..)` or `.key_from_env(\"PLUGIN_SYSTEM_KEY\")`)"
                        .into(),
                }
                .into());
            }
            None => None,
        };
        let store = match self.store {
            Some(StoreSource::Ready(store)) => store,
            Some(StoreSource::Open(open)) => open()?,
            None => Arc::new(MemoryStore::new()),
        };
        let last_sync = match self.sync {
            Some(options) => Some(sync_logged(&*store, registry, &options)?),
            None => None,
        };
        let selectors: ByType<Arc<dyn Selector>> = registry
            .types()
            .iter()
            .filter_map(|ty| Some((ty.info.trait_object_id(), (ty.info.selector()?)())))
            .collect();
        let inner = Arc::new(Inner {
            registry,
            store,
            keyring,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            reloading: Mutex::new(()),
            stale: AtomicBool::new(false),
            stats: Mutex::new(RefreshStats::default()),
            last_sync,
            selectors: ArcSwap::from_pointee(selectors),
            health: health::Health::new(self.clock),
            store_health: Mutex::new(StoreHealth::new()),
            watcher: OnceLock::new(),
            stopper: lifecycle::Stopper::default(),
            shut_down: AtomicBool::new(false),
            reread_secrets: self.reread_secrets,
        });
        lifecycle::remember_runtime();
        inner.reload()?;
        if let Some(bound) = self.watch {
            let watcher = watch::start(&inner, bound / 2).map_err(Error::Watcher)?;
            let _ = inner.watcher.set(watcher);
        }
        let plugins = Plugins {
            inner,
            actor: DEFAULT_ACTOR.into(),
            force: false,
        };
        if let Some(path) = self.declared {
            let file = plugins.read_file(&path)?;
            let plan = plugins.apply_file_racing(&file)?;
            let counts = plan.counts();
            tracing::info!(
                file = %file.source,
                digest = %file.digest,
                created = counts.create,
                updated = counts.update,
                unchanged = counts.leave,
                "declared plugin instances applied"
            );
        }
        Ok(plugins)
    }
}

impl Plugins {
    /// The instance with this id, if it belongs to type `T` and is not DISABLED.
    pub fn get_by_id<T: ?Sized + PluginType>(&self, id: InstanceId) -> Result<Plugin<T>, Error> {
        self.by_id(id, false)
    }

    /// The instance with this id, if it belongs to type `T`, whatever its status.
    pub fn get_by_id_allow_disabled<T: ?Sized + PluginType>(
        &self,
        id: InstanceId,
    ) -> Result<Plugin<T>, Error> {
        self.by_id(id, true)
    }

    fn by_id<T: ?Sized + PluginType>(
        &self,
        id: InstanceId,
        allow_disabled: bool,
    ) -> Result<Plugin<T>, Error> {
        let snapshot = self.inner.snapshot.load();
        let entry = snapshot.entry(id).ok_or(Error::UnknownInstance(id))?;
        let wanted = TypeId::of::<T>();
        // The hot path: a loaded instance that may serve, viewed as `T` (which it can be only
        // when `T` is in its type's lineage). Everything else finds out why below.
        if (entry.meta.status != Status::Disabled || allow_disabled)
            && let Some(plugin) = entry.plugin_as(wanted).and_then(Plugin::from_erased)
        {
            return Ok(plugin);
        }
        // A type its item serves or one of their parents (a sub-type's instance serves its
        // parent type): compared by `TypeId`, without building keys.
        let served: Vec<&'static TypeInfo> = match self.inner.registry.item(&entry.meta.item) {
            Ok(item) => item.serves().collect(),
            Err(_) => entry
                .own_type
                .and_then(|own| self.inner.registry.type_of(own))
                .map(|ty| ty.info)
                .into_iter()
                .collect(),
        };
        let in_lineage = |mut info: Option<&'static TypeInfo>| {
            while let Some(ty) = info {
                if ty.trait_object_id() == wanted {
                    return true;
                }
                info = ty.parent();
            }
            false
        };
        if !served.into_iter().any(|ty| in_lineage(Some(ty))) {
            return Err(Error::WrongType {
                id,
                instance: entry.meta.name.clone(),
                expected: T::info().key().to_string(),
                actual: entry.meta.item.type_key.to_string(),
            });
        }
        if entry.meta.status == Status::Disabled && !allow_disabled {
            return Err(Error::Disabled {
                id,
                instance: entry.meta.name.clone(),
                status: entry.meta.status,
            });
        }
        match &entry.state {
            EntryState::Loaded { .. } => entry
                .plugin_as(wanted)
                .and_then(Plugin::from_erased)
                .ok_or_else(|| Error::NoInstance {
                    plugin_type: T::info().key().to_string(),
                    scope: None,
                    unloadable: Vec::new(),
                    more: 0,
                    checked_all: true,
                }),
            // Reached only when allowed: a DISABLED instance whose item starts its instances.
            EntryState::NotStarted => Err(Error::Disabled {
                id,
                instance: entry.meta.name.clone(),
                status: entry.meta.status,
            }),
            EntryState::Failed(reason) => Err(Error::Unloadable {
                id,
                instance: entry.meta.name.clone(),
                item: entry.meta.item.to_string(),
                reason: reason.clone(),
            }),
            EntryState::Orphaned => Err(Error::Orphaned {
                id,
                instance: entry.meta.name.clone(),
                item: entry.meta.item.to_string(),
            }),
        }
    }

    /// Stops serving and stops every started instance (of items with start and stop hooks),
    /// dependents before what they depend on, each once.
    ///
    /// Lookups fail with [`Error::NoInstance`] from the moment it is called, and changes
    /// (through this handle or from other processes) are no longer loaded: call it when the
    /// application is going down. Each instance is stopped as soon as the handles callers
    /// still hold to it are dropped; when `deadline` passes, the rest are stopped anyway.
    /// Stop hooks still running `deadline` after that are left running and reported, so it
    /// returns within twice `deadline`. Dropping the last handle without calling it stops
    /// nothing and waits for nothing.
    pub fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let drain_until = std::time::Instant::now() + deadline;
        let lives = {
            let _one_at_a_time = watch::lock(&self.inner.reloading);
            self.inner.shut_down.store(true, Ordering::Release);
            let revision = self.inner.snapshot.load().revision;
            let current = self
                .inner
                .snapshot
                .swap(Arc::new(Snapshot::empty_at(revision)));
            let mut lives = self.inner.stopper.take_waiting();
            lives.extend(current.lives());
            lives
        };
        let mut report = ShutdownReport::default();
        for (label, how) in lifecycle::stop_all(lives, drain_until, drain_until + deadline) {
            match how {
                lifecycle::Stopped::Drained => report.stopped.push(label),
                lifecycle::Stopped::WhileHeld => report.stopped_while_held.push(label),
                lifecycle::Stopped::Unfinished => report.unfinished.push(label),
            }
        }
        report
    }

    /// The registry this handle serves.
    pub fn registry(&self) -> &'static Registry {
        self.inner.registry
    }

    /// Makes the store match this binary's registry (see [`crate::sync`]) and reloads: what
    /// `plugins sync` runs. A dry run plans without writing.
    pub fn sync(&self, options: &SyncOptions) -> Result<SyncReport, Error> {
        let report = sync_logged(&*self.inner.store, self.inner.registry, options)?;
        if !options.dry_run && !report.is_noop() {
            self.inner.after_write();
        }
        Ok(report)
    }

    /// What the start-up sync did, if it ran.
    pub fn startup_sync(&self) -> Option<&SyncReport> {
        self.inner.last_sync.as_ref()
    }

    /// Every instance that exists but cannot be served, with the reason (for health checks
    /// and `plugins check`).
    pub fn load_failures(&self) -> Vec<LoadFailure> {
        let snapshot = self.inner.snapshot.load();
        let mut failures: Vec<LoadFailure> = snapshot
            .entries()
            .filter_map(|entry| {
                let reason = match &entry.state {
                    EntryState::Loaded { .. } | EntryState::NotStarted => return None,
                    EntryState::Failed(reason) => reason.clone(),
                    EntryState::Orphaned => "its item's code is gone (orphaned)".to_owned(),
                };
                Some(LoadFailure {
                    meta: entry.meta.clone(),
                    reason,
                })
            })
            .collect();
        failures.sort_by_key(|failure| failure.meta.id);
        failures
    }

    /// Re-reads the store if its revision moved (only the changed rows, when the store can
    /// say which); returns whether the snapshot changed. (The watcher does this on its own;
    /// call it to be sure before a check.)
    pub fn refresh(&self) -> Result<bool, Error> {
        self.inner.refresh()
    }

    /// Reads every secret reference (`{ file = .. }`, `{ env = .. }`) of the instances again
    /// and builds again those whose secrets now resolve to something else, as a write of
    /// their rows would (their dependents too, start and stop hooks included); returns how
    /// many. A secret file that was rotated, appeared or went away is served from then on;
    /// the store is not read. See [`PluginsBuilder::reread_secrets_every`] to have the
    /// watcher do it.
    pub fn reread_secrets(&self) -> usize {
        self.inner.reread_secrets()
    }

    /// How this handle has kept its snapshot current: full reloads, incremental updates and
    /// the rows they read.
    pub fn refresh_stats(&self) -> RefreshStats {
        *watch::lock(&self.inner.stats)
    }

    /// This handle, writing as `actor` in the audit trail (the admin's user, `cli:alice`).
    /// Lookups and everything else are shared with the original.
    pub fn acting_as(&self, actor: impl Into<String>) -> Plugins {
        Plugins {
            inner: Arc::clone(&self.inner),
            actor: actor.into().into(),
            force: self.force,
        }
    }

    /// This handle, writing through the dependency check: disabling or deleting the last
    /// instance that ACTIVE instances need is done instead of refused with
    /// [`Error::Required`], and those dependents stop being served (each is a load failure
    /// naming the need that failed) until something serves what they need again.
    pub fn forced(&self) -> Plugins {
        Plugins {
            force: true,
            ..self.clone()
        }
    }

    /// Refuses to `action` (disable or delete) the instances `leaving` when an ACTIVE
    /// instance needs a type that only they serve in its scope; unless forced.
    fn check_still_needed(
        &self,
        leaving: &[InstanceId],
        action: &'static str,
    ) -> Result<(), Error> {
        self.check_still_needed_in(leaving, action, None)
    }

    /// [`check_still_needed`](Self::check_still_needed), for the dependents of one tenant
    /// only when `only` names it (a tenant switching a global instance off).
    fn check_still_needed_in(
        &self,
        leaving: &[InstanceId],
        action: &'static str,
        only: Option<&str>,
    ) -> Result<(), Error> {
        if self.force || !self.inner.registry.has_needs() || leaving.is_empty() {
            return Ok(());
        }
        let snapshot = self.inner.snapshot.load();
        let leaving: std::collections::HashSet<InstanceId> = leaving.iter().copied().collect();
        // Only the dependents the leaving instances may serve: not every dependent.
        let mut reached: Vec<InstanceId> = leaving
            .iter()
            .filter_map(|id| snapshot.entry(*id))
            .flat_map(|provider| snapshot.dependents_of(provider))
            .collect();
        reached.sort_unstable();
        reached.dedup();
        let mut instances: Vec<String> = Vec::new();
        let mut dependents: Vec<String> = Vec::new();
        for id in &reached {
            let Some(entry) = snapshot.entry(*id) else {
                continue;
            };
            if entry.meta.status != Status::Active || leaving.contains(id) {
                continue;
            }
            if only.is_some() && entry.meta.scope.as_deref() != only {
                continue;
            }
            let Ok(item) = self.inner.registry.item(&entry.meta.item) else {
                continue;
            };
            for need in item.needs() {
                let providers =
                    snapshot.providers_of(entry.meta.scope.as_deref(), need.trait_object_id());
                if providers.is_empty() || !providers.iter().all(|p| leaving.contains(p)) {
                    continue;
                }
                for provider in providers {
                    if let Some(provider) = snapshot.entry(provider)
                        && !instances.contains(&provider.meta.name)
                    {
                        instances.push(provider.meta.name.clone());
                    }
                }
                let name = match &entry.meta.scope {
                    Some(scope) => format!("{} (scope {scope})", entry.meta.name),
                    None => entry.meta.name.clone(),
                };
                if !dependents.contains(&name) {
                    dependents.push(name);
                }
            }
        }
        if dependents.is_empty() {
            return Ok(());
        }
        instances.sort();
        dependents.sort();
        Err(Error::Required {
            action,
            instances,
            dependents,
        })
    }

    /// Who this handle's writes are audited as.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Whether the store answered the watcher's last check.
    pub fn store_health(&self) -> StoreHealth {
        watch::lock(&self.inner.store_health).clone()
    }

    /// Creates an instance: validates the name and config against the item's schema, seals
    /// the config, stores the row and brings the snapshot up to date.
    pub fn create_instance(&self, new: NewInstance) -> Result<InstanceMeta, Error> {
        let record = self.prepare_create(new)?;
        rules::create(
            &*self.inner.store,
            std::slice::from_ref(&record),
            &self.actor,
        )?;
        self.inner.after_write();
        Ok(record.meta)
    }

    /// Creates instances in one transaction: all of them, or (on any error) none. Each is
    /// checked as [`create_instance`](Self::create_instance) checks one; an entry that fails
    /// its own checks is reported as [`Error::InBatch`] with its index, and a name the batch
    /// repeats or the store already holds as [`Error::DuplicateInstanceName`]. One audit row
    /// per instance, one revision, one snapshot update: what an import of 100,000 costs.
    pub fn create_instances(&self, new: Vec<NewInstance>) -> Result<Vec<InstanceMeta>, Error> {
        let records = new
            .into_iter()
            .enumerate()
            .map(|(index, new)| self.prepare_create(new).map_err(|err| err.in_batch(index)))
            .collect::<Result<Vec<_>, Error>>()?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        rules::create(&*self.inner.store, &records, &self.actor)?;
        self.inner.after_write();
        Ok(records.into_iter().map(|record| record.meta).collect())
    }

    /// Checks one new instance and makes its row (id, sealed config, timestamps).
    fn prepare_create(&self, new: NewInstance) -> Result<InstanceRecord, Error> {
        let item = self.inner.registry.item(&new.item)?;
        check_instance_name(&new.name)?;
        check_description(&new.description)?;
        if let Some(scope) = &new.scope {
            check_scope(scope)?;
        }
        let id = InstanceId::new();
        let sealed_config = self.inner.seal_config(item, id, new.config.as_ref())?;
        let now = SystemTime::now();
        Ok(InstanceRecord {
            meta: InstanceMeta {
                id,
                name: new.name,
                item: new.item,
                status: new.status,
                priority: new.priority.unwrap_or(item.priority()),
                scope: new.scope,
                version: 1,
            },
            description: new.description,
            sealed_config,
            orphaned: false,
            managed_by: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Changes an instance if nobody changed it since `expected_version` was read.
    pub fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        update: InstanceUpdate,
    ) -> Result<InstanceMeta, Error> {
        if update.status == Some(Status::Disabled) {
            self.check_still_needed(&[id], "disable")?;
        }
        let current = match &update.config {
            Some(_) => Some(self.instance(id)?),
            None => None,
        };
        let change = self.prepare_update(id, current.as_ref(), update)?;
        self.apply_updates(&[(id, expected_version, change)])
            .map(|mut metas| metas.remove(0))
    }

    /// Changes instances in one transaction, each if nobody changed it since the version its
    /// writer read: all of them, or (on any error, a [`Conflict`](Error::Conflict) on one
    /// included) none. An entry that fails its own checks is reported as
    /// [`Error::InBatch`] with its index; an instance may appear once. A rename may not take
    /// a name another instance holds, even one the same batch renames away (rename it in a
    /// batch of its own first). Returns each instance as it is after the batch, in order.
    pub fn update_instances(
        &self,
        updates: Vec<(InstanceId, i64, InstanceUpdate)>,
    ) -> Result<Vec<InstanceMeta>, Error> {
        let disabled: Vec<InstanceId> = updates
            .iter()
            .filter(|(_, _, update)| update.status == Some(Status::Disabled))
            .map(|(id, ..)| *id)
            .collect();
        self.check_still_needed(&disabled, "disable")?;
        let reconfigured: Vec<InstanceId> = updates
            .iter()
            .filter(|(_, _, update)| update.config.is_some())
            .map(|(id, ..)| *id)
            .collect();
        let current: HashMap<InstanceId, InstanceRecord> = match reconfigured.is_empty() {
            true => HashMap::new(),
            false => self
                .inner
                .store
                .instances_by_id(&reconfigured)?
                .into_iter()
                .map(|record| (record.meta.id, record))
                .collect(),
        };
        let edits = updates
            .into_iter()
            .enumerate()
            .map(|(index, (id, version, update))| {
                let record = match update.config.is_some() {
                    true => Some(current.get(&id).ok_or(Error::UnknownInstance(id))),
                    false => None,
                };
                let change = record
                    .transpose()
                    .and_then(|record| self.prepare_update(id, record, update))
                    .map_err(|err| err.in_batch(index))?;
                Ok((id, version, change))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.apply_updates(&edits)
    }

    /// Checks an update and turns it into the change the store applies: the config (when it
    /// differs from `current`'s in any field) validated and sealed.
    fn prepare_update(
        &self,
        id: InstanceId,
        current: Option<&InstanceRecord>,
        update: InstanceUpdate,
    ) -> Result<InstanceChange, Error> {
        if let Some(name) = &update.name {
            check_instance_name(name)?;
        }
        if let Some(description) = &update.description {
            check_description(description)?;
        }
        let config = match (&update.config, current) {
            (Some(values), Some(current)) => {
                let item = self.inner.registry.item(&current.meta.item)?;
                let changed = changed_fields(item, self.inner.keyring.as_ref(), current, values);
                match changed.is_empty() {
                    true => None,
                    false => {
                        let sealed = self.inner.seal_config(item, id, Some(values))?;
                        sealed.map(|sealed| (sealed, changed))
                    }
                }
            }
            _ => None,
        };
        Ok(InstanceChange {
            name: update.name,
            description: update.description,
            status: update.status,
            priority: update.priority,
            config,
            managed_by: None,
        })
    }

    /// Writes prepared changes; the snapshot is brought up to date only if one changed
    /// something.
    fn apply_updates(&self, edits: &[rules::Edit]) -> Result<Vec<InstanceMeta>, Error> {
        if edits.is_empty() {
            return Ok(Vec::new());
        }
        let before = self.inner.store.revision().ok();
        let records = rules::update(&*self.inner.store, edits, &self.actor)?;
        if before != self.inner.store.revision().ok() {
            self.inner.after_write();
        }
        Ok(records.into_iter().map(|record| record.meta).collect())
    }

    /// Switches the global instance `id` on or off for `tenant` alone, without copying it, or
    /// back to what its item says ([`Activation::Default`](crate::Activation::Default));
    /// returns whether the switch changed. Switched off, the tenant's lookups, broadcasts,
    /// plugin routes, fragments and request hooks never reach it (global lookups still do);
    /// switched on, an instance of a `#[plugin_item(per_tenant)]` item is served to the
    /// tenant. Audited (`activation`).
    ///
    /// Refused for a tenant's own instance ([`Error::InvalidInput`]: its status says whether
    /// it serves), and, unless the handle is [`forced`](Self::forced), when it would take
    /// away the last instance an ACTIVE instance of the tenant needs ([`Error::Required`]).
    pub fn set_activation(
        &self,
        tenant: &str,
        id: InstanceId,
        activation: crate::Activation,
    ) -> Result<bool, Error> {
        crate::instance::check_scope(tenant)?;
        let snapshot = self.inner.snapshot.load();
        let per_tenant = snapshot
            .entry(id)
            .and_then(|entry| self.inner.registry.item(&entry.meta.item).ok())
            .is_some_and(|item| item.is_per_tenant());
        let hides = match activation {
            crate::Activation::Off => true,
            crate::Activation::Default => per_tenant,
            crate::Activation::On => false,
        };
        drop(snapshot);
        if hides {
            self.check_still_needed_in(&[id], "switch off", Some(tenant))?;
        }
        let key = crate::ActivationKey {
            scope: tenant.to_owned(),
            instance: id,
        };
        let changed = rules::activate(&*self.inner.store, &[(key, activation)], &self.actor)?;
        if changed > 0 {
            self.inner.after_write();
        }
        Ok(changed > 0)
    }

    /// Sets the status of instances in one transaction (every id must exist); returns how
    /// many changed.
    ///
    /// Disabling the last instance that ACTIVE instances need is refused with
    /// [`Error::Required`] unless the handle is [`forced`](Self::forced).
    pub fn set_status(&self, ids: &[InstanceId], status: Status) -> Result<usize, Error> {
        if status == Status::Disabled {
            self.check_still_needed(ids, "disable")?;
        }
        self.bulk_edit(ids, BulkEdit::Status(status))
    }

    /// Changes the priority of instances in one transaction (every id must exist); returns
    /// how many changed.
    pub fn set_priority(&self, ids: &[InstanceId], change: PriorityChange) -> Result<usize, Error> {
        self.bulk_edit(ids, BulkEdit::Priority(change))
    }

    fn bulk_edit(&self, ids: &[InstanceId], edit: BulkEdit) -> Result<usize, Error> {
        let changed = rules::bulk_edit(&*self.inner.store, ids, edit, &self.actor)?;
        if changed > 0 {
            self.inner.after_write();
        }
        Ok(changed)
    }

    /// Deletes an instance.
    pub fn delete_instance(&self, id: InstanceId) -> Result<(), Error> {
        self.delete_instances(&[id]).map(drop)
    }

    /// Deletes instances in one transaction (every id must exist; otherwise nothing is
    /// deleted) and reloads once; returns how many were deleted. Deleting the last instance
    /// that ACTIVE instances need is refused with [`Error::Required`] unless the handle is
    /// [`forced`](Self::forced).
    pub fn delete_instances(&self, ids: &[InstanceId]) -> Result<usize, Error> {
        self.check_still_needed(ids, "delete")?;
        let deleted = rules::delete(&*self.inner.store, ids, &self.actor)?;
        if deleted > 0 {
            self.inner.after_write();
        }
        Ok(deleted)
    }

    /// Re-encrypts every stored config sealed with an old key under the keyring's current
    /// key, in one transaction, and returns how many were rewritten. A config that no key of
    /// the keyring opens aborts the rotation with that instance's error, leaving every row
    /// as it was (rotate with a keyring that still holds the old keys).
    pub fn rotate_keys(&self) -> Result<usize, Error> {
        let keyring = self.inner.keyring.as_ref().ok_or_else(|| {
            Error::from(CryptoError::MissingKey {
                hint: "a keyring whose first key is the new one".into(),
            })
        })?;
        let snapshot = self.inner.snapshot.load();
        let reseal = |id: InstanceId, sealed: &[u8]| {
            if !keyring.needs_rotation(sealed) {
                return Ok(None);
            }
            let plaintext = keyring.open(id, sealed).map_err(|err| {
                let (instance, item) = snapshot.entry(id).map_or_else(
                    || (String::new(), String::new()),
                    |entry| (entry.meta.name.clone(), entry.meta.item.to_string()),
                );
                Error::Unloadable {
                    id,
                    instance,
                    item,
                    reason: err.to_string(),
                }
            })?;
            Ok(Some(keyring.seal(id, &plaintext)))
        };
        let rewritten = rules::reseal(&*self.inner.store, &reseal, &self.actor)?;
        if rewritten > 0 {
            self.inner.after_write();
        }
        Ok(rewritten)
    }

    /// The decrypted config of an instance, for an edit form, brought to the config's current
    /// version (see [`migrate_configs`](Self::migrate_configs)). Secret values included: do
    /// not render them (use the schema's secret fields to blank them).
    pub fn config_values(&self, id: InstanceId) -> Result<Option<ConfigValues>, Error> {
        let record = self.instance(id)?;
        let schema = self
            .inner
            .registry
            .item(&record.meta.item)
            .ok()
            .and_then(ItemInfo::schema);
        snapshot::open_config(self.inner.keyring.as_ref(), &record, schema).map_err(|reason| {
            Error::Unloadable {
                id,
                instance: record.meta.name.clone(),
                item: record.meta.item.to_string(),
                reason,
            }
        })
    }
}

/// An instance that exists but cannot be served.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    /// The instance.
    pub meta: InstanceMeta,
    /// Why it does not load (no secret values).
    pub reason: String,
}

/// A new instance to create.
#[derive(Debug, Clone)]
#[must_use]
pub struct NewInstance {
    item: ItemKey,
    name: String,
    status: Status,
    priority: Option<i32>,
    scope: Option<String>,
    description: String,
    config: Option<ConfigValues>,
}

impl NewInstance {
    /// An instance of the item with this key, named `name` (ACTIVE, the item's priority).
    pub fn new(item: ItemKey, name: impl Into<String>) -> Self {
        NewInstance {
            item,
            name: name.into(),
            status: Status::Active,
            priority: None,
            scope: None,
            description: String::new(),
            config: None,
        }
    }

    /// An instance of item `item` of plugin type `T`.
    pub fn of<T: ?Sized + PluginType>(item: &str, name: impl Into<String>) -> Self {
        NewInstance::new(
            ItemKey {
                type_key: T::info().key(),
                name: item.to_owned(),
            },
            name,
        )
    }

    /// Its status (default ACTIVE).
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Its priority (default: the item's).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// The tenant it belongs to (default: global).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// A description for operators.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Its typed config.
    pub fn config<C: PluginConfig>(mut self, config: &C) -> Self {
        self.config = Some(config.to_values());
        self
    }

    /// Its config as values (from a form or a JSON file).
    pub fn config_values(mut self, values: ConfigValues) -> Self {
        self.config = Some(values);
        self
    }
}

/// A change to an existing instance; unset fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct InstanceUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New status.
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<i32>,
    /// New config (validated against the item's schema).
    pub config: Option<ConfigValues>,
}

/// Syncs and logs what changed.
fn sync_logged(
    store: &dyn Store,
    registry: &Registry,
    options: &SyncOptions,
) -> Result<SyncReport, Error> {
    let report = rules::sync(store, registry, options)?;
    tracing::info!(
        dry_run = report.dry_run,
        types_created = report.types_created,
        items_created = report.items_created,
        instances_created = report.instances_created,
        items_orphaned = report.items_orphaned,
        instances_deleted = report.instances_deleted,
        "plugin registry synced"
    );
    for change in &report.contracts_changed {
        tracing::info!(
            plugin_type = %change.type_key,
            from = change.from,
            to = change.to,
            "plugin type contract version changed"
        );
    }
    for change in &report.versions_changed {
        tracing::info!(
            item = %change.item,
            from = %change.from,
            to = %change.to,
            "plugin item version changed"
        );
    }
    Ok(report)
}

/// The names of the config fields whose effective values differ between the stored config
/// and `next` (all of `next`'s fields when the stored one cannot be opened): what an update's
/// audit row names, and whether it needs a new envelope at all.
fn changed_fields(
    item: &ItemInfo,
    keyring: Option<&Keyring>,
    current: &InstanceRecord,
    next: &ConfigValues,
) -> Vec<String> {
    let Some(schema) = item.schema() else {
        return next.keys().cloned().collect();
    };
    let stored = snapshot::open_config(keyring, current, Some(schema))
        .ok()
        .flatten();
    let mut changed: Vec<String> = schema
        .fields
        .iter()
        .filter(|field| {
            let now = stored
                .as_ref()
                .and_then(|values| crate::config::effective(values, field));
            stored.is_none() || now != crate::config::effective(next, field)
        })
        .map(|field| field.name.to_owned())
        .collect();
    // Keys that name no field: validation refuses them, naming each.
    changed.extend(
        next.keys()
            .filter(|key| {
                !schema
                    .fields
                    .iter()
                    .any(|f| f.name == *key || f.aliases.contains(&key.as_str()))
            })
            .cloned(),
    );
    changed
}

/// How a handle has kept its snapshot current: for health pages and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Snapshots made from every instance row (the first, and any when the store could not
    /// say what changed).
    pub full_reloads: u64,
    /// Snapshots made from the changed rows only.
    pub incremental_updates: u64,
    /// Instance rows read for all of them.
    pub rows_read: u64,
    /// Instance rows read for the latest one.
    pub last_rows_read: u64,
}

/// What [`Plugins::shutdown`] did, instance by instance (`name (id)`), in stop order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Stopped after every handle to them was dropped.
    pub stopped: Vec<String>,
    /// Stopped at the deadline while a caller still held a handle to them.
    pub stopped_while_held: Vec<String>,
    /// Whose stop hook had not returned by the deadline.
    pub unfinished: Vec<String>,
}

impl ShutdownReport {
    /// True when every instance stopped cleanly, in time.
    pub fn is_clean(&self) -> bool {
        self.stopped_while_held.is_empty() && self.unfinished.is_empty()
    }
}

/// Above this share of the instances changed at once (and [`INCREMENTAL_MINIMUM`]), a full
/// reload is cheaper than reading the changed rows one list at a time. The rules log such a
/// write as "everything" (`store::rules::too_much_to_list`).
pub(crate) const INCREMENTAL_SHARE: usize = 4;

/// However few instances a handle has, this many changed rows are still read incrementally.
pub(crate) const INCREMENTAL_MINIMUM: usize = 64;

/// The switches a change named, as they are now: those read back are set, the others were
/// removed.
fn switch_edits(
    named: &[crate::ActivationKey],
    read: Vec<crate::ActivationRecord>,
) -> Vec<snapshot::SwitchEdit> {
    let read: HashMap<crate::ActivationKey, bool> = read
        .into_iter()
        .map(|record| (record.key, record.on))
        .collect();
    named
        .iter()
        .map(|key| (key.clone(), read.get(key).copied()))
        .collect()
}

impl Inner {
    /// Brings the snapshot up to the store's revision, reading only what changed when the
    /// store can say; returns whether it changed. Holds the reload lock from the revision
    /// check on: a refresh woken by this process's own write (PostgreSQL's NOTIFY reaches
    /// the writer too) finds the snapshot current and reads nothing.
    ///
    /// The store's change log is asked first: its answer carries the revision, so a store
    /// that keeps one answers "has anything changed, and what" in one call (the diesel
    /// stores: one query, the idle poll included); a store that cannot say is asked for its
    /// revision, and reloaded in full when it moved.
    fn refresh(&self) -> Result<bool, Error> {
        let _one_at_a_time = watch::lock(&self.reloading);
        if self.shut_down.load(Ordering::Acquire) {
            return Ok(false);
        }
        let current = self.snapshot.load_full();
        let stale = self.stale.load(Ordering::Acquire);
        let incremental = match stale {
            true => None,
            false => self.store.changes_since(current.revision)?,
        };
        let revision = match &incremental {
            Some(changes) => changes.revision,
            None => self.store.revision()?,
        };
        if revision == current.revision && !stale {
            return Ok(false);
        }
        let (next, among) = match incremental {
            Some(changes)
                if changes.instances.len()
                    <= INCREMENTAL_MINIMUM.max(current.len() / INCREMENTAL_SHARE) =>
            {
                let records = self.store.instances_by_id(&changes.instances)?;
                let switches = match changes.activations.is_empty() {
                    true => Vec::new(),
                    false => switch_edits(
                        &changes.activations,
                        self.store.activations_by_key(&changes.activations)?,
                    ),
                };
                self.count(false, records.len() + switches.len());
                let (next, rebuilt) = current.apply(
                    self.registry,
                    self.keyring.as_ref(),
                    changes.revision,
                    records,
                    &changes.instances,
                    &switches,
                );
                let mut among = changes.instances;
                among.extend(rebuilt);
                (next, Some(among))
            }
            // The store cannot say, or so much changed that reading everything is cheaper.
            // (`revision` was read before the rows: a write in between is read again later.)
            _ => {
                let records = self.store.instances()?;
                let switches = self.store.activations()?;
                self.count(true, records.len() + switches.len());
                let next = Snapshot::build(
                    self.registry,
                    self.keyring.as_ref(),
                    revision,
                    records,
                    switches,
                    &current,
                );
                (next, None)
            }
        };
        self.publish(&current, next, among.as_deref());
        Ok(true)
    }

    /// Reads every secret reference again and builds again the instances whose secrets now
    /// resolve to something else (and those that need them); returns how many. Reads no
    /// store.
    fn reread_secrets(&self) -> usize {
        let _one_at_a_time = watch::lock(&self.reloading);
        if self.shut_down.load(Ordering::Acquire) {
            return 0;
        }
        let current = self.snapshot.load_full();
        let moved = current.secrets_moved(self.registry, self.keyring.as_ref());
        if moved.is_empty() {
            return 0;
        }
        let count = moved.len();
        let mut among: Vec<InstanceId> = moved.iter().map(|record| record.meta.id).collect();
        let (next, rebuilt) = current.rebuilt(self.registry, self.keyring.as_ref(), moved);
        among.extend(rebuilt);
        self.publish(&current, next, Some(&among));
        tracing::info!(
            instances = count,
            "secret references resolve to something else: instances built again"
        );
        count
    }

    /// Swaps `next` in for `current` (the snapshot it was made from), then hands the started
    /// instances `next` no longer holds to the stopper: they stop once their handles drop.
    fn publish(&self, current: &Snapshot, next: Snapshot, among: Option<&[InstanceId]>) {
        let retired = current.retired(&next, among);
        self.snapshot.store(Arc::new(next));
        self.stale.store(false, Ordering::Release);
        self.stopper.retire(retired);
    }

    fn count(&self, full: bool, rows: usize) {
        let mut stats = watch::lock(&self.stats);
        match full {
            true => stats.full_reloads += 1,
            false => stats.incremental_updates += 1,
        }
        stats.rows_read += rows as u64;
        stats.last_rows_read = rows as u64;
    }

    /// After a committed write: brings the snapshot up to date (reading what this write and
    /// any other since the last refresh changed). A refresh that fails does not undo the
    /// write (which committed): the snapshot is marked stale, the next refresh (the
    /// watcher's, or an explicit one) reloads it, and the failure is logged.
    fn after_write(&self) {
        if let Err(error) = self.refresh() {
            tracing::warn!(
                error = %error.report(),
                "plugin write committed, but refreshing the snapshot failed; it is stale until the next refresh"
            );
            self.stale.store(true, Ordering::Release);
        }
    }

    /// Reads every instance and swaps in a new snapshot (the first one).
    fn reload(&self) -> Result<(), Error> {
        let _one_at_a_time = watch::lock(&self.reloading);
        // Read the revision first: a write racing with this reload makes the next refresh
        // read it rather than miss it.
        let revision = self.store.revision()?;
        let records = self.store.instances()?;
        let switches = self.store.activations()?;
        self.count(true, records.len() + switches.len());
        let previous = self.snapshot.load_full();
        let next = Snapshot::build(
            self.registry,
            self.keyring.as_ref(),
            revision,
            records,
            switches,
            &previous,
        );
        self.publish(&previous, next, None);
        Ok(())
    }

    /// Validates config values against the item's schema and seals them for instance `id`.
    fn seal_config(
        &self,
        item: &'static ItemInfo,
        id: InstanceId,
        values: Option<&ConfigValues>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let Some(schema) = item.schema() else {
            return match values {
                Some(values) if !values.is_empty() => Err(Error::InvalidInput {
                    field: "config",
                    reason: format!("item `{}` takes no config", item.key()),
                }),
                _ => Ok(None),
            };
        };
        let empty = ConfigValues::new();
        let values = values.unwrap_or(&empty);
        crate::config::validate_values(schema, values).map_err(|errors| Error::InvalidConfig {
            item: item.key().to_string(),
            errors,
        })?;
        let keyring = self.keyring.as_ref().ok_or_else(|| {
            Error::from(CryptoError::MissingKey {
                hint: "a keyring".into(),
            })
        })?;
        let versioned = crate::config::versioned(values, schema.version);
        let plaintext =
            zeroize::Zeroizing::new(serde_json::to_vec(&*versioned).map_err(|err| {
                Error::InvalidInput {
                    field: "config",
                    reason: format!("the values cannot be stored as JSON: {err}"),
                }
            })?);
        Ok(Some(keyring.seal(id, &plaintext)))
    }
}
