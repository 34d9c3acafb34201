//! Where types, items and instances persist: the [`Store`] trait a backend implements, and
//! [`MemoryStore`].
//!
//! Applications never call a store: they go through [`Plugins`](crate::Plugins), which owns
//! the rules of every write (the sync plan, validation and sealing, optimistic concurrency,
//! audit rows, revision bumps) and reloads its snapshot after each. A store provides only
//! primitives: reads, and a write transaction whose steps ([`Transaction`]) the runtime calls.
//! So a third-party store (Redis, an in-house service) implements storage, not semantics,
//! and proves it with the conformance suite (`conformance`, feature `testing`):
//!
//! ```ignore
//! // tests/conformance.rs of a store crate: one test per rule the store must keep.
//! plugin_runtime::store_conformance!(|| MyStore::connect_fresh());
//! ```
//!
//! # What a store must guarantee
//!
//! 1. **One writer at a time.** [`Store::write`] runs its work in one transaction that is
//!    serialized with every other write to the same store, from any process: what the work
//!    reads is not changed by another writer before it commits. (The diesel stores take a
//!    write lock first: SQLite's `BEGIN IMMEDIATE`, a `FOR UPDATE` of the revision row.)
//! 2. **All or nothing.** When the work returns `Err`, nothing it wrote is kept; when it
//!    returns `Ok`, everything is, durably, before `write` returns.
//! 3. **The revision moves only with a write.** [`Store::revision`] changes exactly when a
//!    transaction that called [`Transaction::bump_revision`] commits (the runtime bumps it
//!    once per write that changed something, never for a write that changed nothing).
//! 4. **Rows round-trip exactly.** An instance read back equals what was written: every field
//!    of [`InstanceRecord`], names and descriptions byte for byte (case and Unicode kept),
//!    timestamps to the millisecond, the sealed config's bytes.
//! 5. **The orphan flag is derived.** An instance's `orphaned` is true exactly when its
//!    item's row is orphaned (its code is gone); it is never stored on the instance.
//! 6. **Names are unique** per (item, scope); a second insert of a taken name fails with a
//!    [`StoreErrorKind::Constraint`] error (the runtime checks first, so this is a backstop).
//! 7. **Cascades.** Deleting an item deletes its instances; deleting a type, its items and
//!    their instances; renaming an item keeps its instances.
//! 8. **Audit rows are kept in order**, each with an increasing sequence number, and never
//!    rewritten.
//! 9. **Errors say what failed.** A failure is a [`StoreError`] of the right
//!    [`StoreErrorKind`] (unreachable, conflict, constraint, corrupt, migration) with the
//!    driver's error as its source; never a panic.
//! 10. **Changes since a revision.** A store that keeps a change log answers
//!     [`Store::changes_since`] with every instance (and every tenant's switch) a write
//!     changed after that revision (what [`Transaction::bump_revision`] was told), so a
//!     process that is behind reads only those rows. It may forget old revisions (answering
//!     `None`: the caller reloads everything), never a change inside the range it answers for.
//! 11. **Switches follow their instance.** A tenant's switch of an instance
//!     ([`ActivationRecord`]) round-trips exactly, is unique per (tenant, instance), and goes
//!     when its instance is deleted; setting one for an instance that does not exist is a
//!     [`StoreErrorKind::Constraint`] error.

mod memory;
pub(crate) mod rules;
mod stop;

#[cfg(feature = "testing")]
pub mod conformance;

use std::time::{Duration, SystemTime};

use crate::Error;
pub use crate::error::{StoreError, StoreErrorKind};
use crate::instance::{ActivationKey, ActivationRecord, InstanceRecord};
use crate::keys::{InstanceId, ItemKey};
use crate::sync::{StoredState, SyncAction};
pub use memory::MemoryStore;
pub use stop::{StopSignal, Stopper, stop_signal};

/// Persistence of plugin types, items and instances: reads, and serialized write
/// transactions. See the [module docs](self) for the guarantees an implementation keeps.
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    /// The revision: a counter that moves with every committed write (guarantee 3), the
    /// cheap "has anything changed?" check other processes poll.
    fn revision(&self) -> Result<u64, StoreError>;

    /// Every instance, orphaned ones included, with its `orphaned` flag derived from its item.
    fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError>;

    /// One instance, or `None` when no row has this id.
    fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError>;

    /// The listed instances that exist, in any order (missing ids are left out): what a
    /// process that is behind reads of the instances [`changes_since`](Self::changes_since)
    /// names.
    fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError>;

    /// Which instances were created, changed or deleted after `revision`, up to the revision
    /// it returns (guarantee 10); `None` when the store cannot tell (it keeps no log, or none
    /// that far back, or a write changed too much to list): the caller reloads everything.
    ///
    /// The returned revision is read first, so every write up to it is in the list; a write
    /// after it may be too (reading a row twice is harmless).
    fn changes_since(&self, revision: u64) -> Result<Option<Changes>, StoreError> {
        let _ = revision;
        Ok(None)
    }

    /// Rows of the audit trail, newest first (see [`AuditQuery`]).
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;

    /// Every tenant's switch of a global instance (guarantee 11).
    fn activations(&self) -> Result<Vec<ActivationRecord>, StoreError>;

    /// The switches of these keys that exist, in any order.
    fn activations_by_key(
        &self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError>;

    /// Runs `work` in one write transaction (guarantees 1 and 2) and commits it when `work`
    /// returns `Ok`. An error `work` returns is returned unchanged after the rollback; the
    /// store's own failures (connecting, committing) are [`Error::Store`]. A store may call
    /// `work` again after a failed attempt it retries; each call starts afresh.
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// A push channel announcing other processes' writes (PostgreSQL: LISTEN/NOTIFY), if the
    /// store has one. Without it, handles notice changes by polling [`Store::revision`].
    fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        Ok(None)
    }
}

/// The steps of one write, inside [`Store::write`]. Each reads or writes rows as told: the
/// runtime decides what to write (validation, versions, audit rows, the revision bump).
pub trait Transaction {
    /// What sync compares with the registry: every type and item row, and a summary of every
    /// instance.
    fn stored_state(&mut self) -> Result<StoredState, StoreError>;

    /// Applies a sync plan's actions in their order (guarantee 7 for deletes and renames).
    /// Types created by the plan may be parents of other created types: insert parents first.
    fn apply_sync(&mut self, actions: &[SyncAction]) -> Result<(), StoreError>;

    /// Every instance (as [`Store::instances`], inside the transaction).
    fn instances(&mut self) -> Result<Vec<InstanceRecord>, StoreError>;

    /// The listed instances that exist, in any order (missing ids are left out).
    fn instances_by_id(&mut self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError>;

    /// For each key, the id of the instance holding that name (`None`: the name is free),
    /// in the order of `keys`. One call checks a whole batch (a bulk create of 100,000).
    fn find_instances(
        &mut self,
        keys: &[NameKey<'_>],
    ) -> Result<Vec<Option<InstanceId>>, StoreError>;

    /// Inserts new instances (ids, versions and timestamps set by the runtime). An item
    /// without a row is a [`StoreErrorKind::Constraint`] error.
    fn insert_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError>;

    /// Overwrites existing instances with these records (all but id, item, creation time and
    /// the derived orphan flag): the runtime has checked their versions.
    fn update_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError>;

    /// Deletes the listed instances; returns how many existed.
    fn delete_instances(&mut self, ids: &[InstanceId]) -> Result<usize, StoreError>;

    /// The switches of these keys that exist (as [`Store::activations_by_key`], inside the
    /// transaction).
    fn activations_by_key(
        &mut self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError>;

    /// Inserts or overwrites these switches (guarantee 11).
    fn set_activations(&mut self, records: &[ActivationRecord]) -> Result<(), StoreError>;

    /// Removes these switches; returns how many existed.
    fn remove_activations(&mut self, keys: &[ActivationKey]) -> Result<usize, StoreError>;

    /// Appends rows to the audit trail (guarantee 8).
    fn append_audit(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    /// Moves the revision on (guarantee 3), recording which instances this write changed
    /// (guarantee 10); returns the new revision.
    fn bump_revision(&mut self, changed: Changed<'_>) -> Result<u64, StoreError>;
}

/// The unique key of an instance's name (guarantee 6): its item, its scope (`None`: global)
/// and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameKey<'a> {
    /// The item.
    pub item: &'a ItemKey,
    /// The tenant, or `None` for a global instance.
    pub scope: Option<&'a str>,
    /// The name.
    pub name: &'a str,
}

impl<'a> NameKey<'a> {
    /// The name key of a record.
    pub fn of(record: &'a InstanceRecord) -> NameKey<'a> {
        NameKey {
            item: &record.meta.item,
            scope: record.meta.scope.as_deref(),
            name: &record.meta.name,
        }
    }
}

/// How many revisions back the change logs of this crate's stores and of the diesel stores
/// answer [`Store::changes_since`] for: a handle further behind than that reloads everything
/// (at a write every 10 ms, 100 s of writes; a handle polling every second is never that far
/// behind). Another store may keep more or fewer.
pub const CHANGE_LOG_REVISIONS: u64 = 10_000;

/// What a write changed, as [`Transaction::bump_revision`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed<'a> {
    /// These instances (created, updated, deleted, or changed through their item by a sync).
    Instances(&'a [InstanceId]),
    /// These tenants' switches (set or removed).
    Activations(&'a [ActivationKey]),
    /// Too much to list: a process that is behind reloads everything.
    Everything,
}

/// The answer of [`Store::changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The revision the list runs up to.
    pub revision: u64,
    /// Every instance created, changed or deleted in the range, once each, in any order.
    /// Those [`Store::instances_by_id`] no longer returns were deleted.
    pub instances: Vec<InstanceId>,
    /// Every tenant's switch set or removed in the range, once each, in any order. Those
    /// [`Store::activations_by_key`] no longer returns were removed. (Switches that went with
    /// a deleted instance are not listed: the instance is.)
    pub activations: Vec<ActivationKey>,
}

/// Announcements of writes, from [`Store::change_feed`].
///
/// The watcher of a handle spends its idle time blocked in [`wait`](Self::wait): an idle
/// handle costs one wake-up per polling interval, however many handles a process has.
pub trait ChangeFeed: Send {
    /// Waits up to `timeout` for an announcement: true when a write was announced since the
    /// last call (at once if one already was), false when the time passed or `stop` was
    /// raised. It must return promptly once `stop` is raised (the last handle is being
    /// dropped and waits for this call): a feed that blocks on a socket waits on the
    /// signal's too (on Unix it is a file descriptor, readable once raised); one that cannot
    /// checks its channel and then [`StopSignal::wait`]s. An error means the channel broke
    /// (the watcher then subscribes again).
    fn wait(&mut self, timeout: Duration, stop: &StopSignal) -> Result<bool, StoreError>;
}

/// One row of the audit trail as a write records it: who changed what, and when. Never a
/// config value: a config change names the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the write committed (to the millisecond in the database stores).
    pub at: SystemTime,
    /// Who wrote: the [`Plugins`](crate::Plugins) handle's actor (the admin's user, `cli:...`,
    /// `application` by default), or `plugin-system` for a sync.
    pub actor: String,
    /// `sync`, `version` (a sync that found an item's version or a type's contract version
    /// changed: `item ...: version 1.0.0 → 1.1.0`), `create`, `update`, `status`,
    /// `priority`, `delete`, `reseal`, or `action` (an admin action ran against the instance:
    /// `name: ok: text` or `name: failed: text`; the only row of a write that changes nothing
    /// else, so it moves no revision).
    pub action: String,
    /// The instance written, when the action is about one.
    pub instance: Option<InstanceId>,
    /// What changed, without secret values.
    pub detail: String,
}

/// A stored audit row: its sequence number (increasing with every row) and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The row's place in the trail: later rows have larger numbers.
    pub seq: u64,
    /// What was recorded.
    pub entry: AuditEntry,
}

/// Which audit rows to read: a page of at most `limit` rows, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only rows about this instance (its history).
    pub instance: Option<InstanceId>,
    /// Only rows older than this sequence number (the next page of older rows).
    pub before: Option<u64>,
    /// Only rows newer than this sequence number: the `limit` rows just after it (the page
    /// of newer rows), still returned newest first.
    pub after: Option<u64>,
    /// At most this many rows.
    pub limit: usize,
}

impl AuditQuery {
    /// The latest `limit` rows.
    pub fn latest(limit: usize) -> AuditQuery {
        AuditQuery {
            instance: None,
            before: None,
            after: None,
            limit,
        }
    }

    /// Whether a row matches the filters (not the limit): the rule every store applies.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.instance
            .is_none_or(|id| record.entry.instance == Some(id))
            && self.before.is_none_or(|before| record.seq < before)
            && self.after.is_none_or(|after| record.seq > after)
    }
}
