//! Where types, items and instances persist: the [`Store`] trait, and [`MemoryStore`].
//!
//! The diesel store (`plugin-diesel`: SQLite, PostgreSQL, MySQL) implements the same trait;
//! the in-memory store serves tests and applications that configure plugins in code.
//! Stores see configs only as sealed envelopes: the runtime validates and encrypts before a
//! store is called, and decrypts after.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::Error;
use crate::instance::{InstanceChange, InstanceId, InstanceMeta, InstanceRecord, Status};
use crate::registration::ItemKey;
use crate::registry::Registry;
use crate::sync::{
    StoredInstance, StoredItem, StoredState, StoredType, SyncAction, SyncOptions, SyncReport, plan,
};

/// A priority change for one or many instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityChange {
    /// Set to this value.
    Set(i32),
    /// Add this (negative: towards preferred), saturating.
    Shift(i32),
}

impl PriorityChange {
    /// The new priority of an instance now at `current`.
    pub fn apply(self, current: i32) -> i32 {
        match self {
            PriorityChange::Set(value) => value,
            PriorityChange::Shift(delta) => current.saturating_add(delta),
        }
    }
}

/// A bulk action (`set_status`, `set_priority`): the one rule every store applies to each
/// listed instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkEdit {
    /// Set the status.
    Status(Status),
    /// Change the priority.
    Priority(PriorityChange),
}

impl BulkEdit {
    /// The instance's new status and priority, with the audit entry of the change; `None`
    /// when the action changes nothing for it (no write, no version bump).
    pub fn apply(self, meta: &InstanceMeta, actor: &str) -> Option<(Status, i32, AuditEntry)> {
        match self {
            BulkEdit::Status(status) => (meta.status != status).then(|| {
                let entry = AuditEntry::status(meta.id, status, actor);
                (status, meta.priority, entry)
            }),
            BulkEdit::Priority(change) => {
                let (from, to) = (meta.priority, change.apply(meta.priority));
                (from != to).then(|| {
                    let entry = AuditEntry::priority(meta.id, from, to, actor);
                    (meta.status, to, entry)
                })
            }
        }
    }
}

/// One row of the audit trail: who changed what, and when. Never a config value: a config
/// change is recorded as "changed: config".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the write committed (to the millisecond in the database stores).
    pub at: SystemTime,
    /// Who wrote: the [`Plugins`](crate::Plugins) handle's actor (the admin's user, `cli:...`,
    /// `application` by default), or `plugin-system` for a sync.
    pub actor: String,
    /// `sync`, `create`, `update`, `status`, `priority`, `delete` or `reseal`.
    pub action: String,
    /// The instance written, when the action is about one.
    pub instance: Option<InstanceId>,
    /// What changed, without secret values.
    pub detail: String,
}

impl AuditEntry {
    fn new(actor: &str, action: &str, instance: Option<InstanceId>, detail: String) -> AuditEntry {
        AuditEntry {
            at: SystemTime::now(),
            actor: actor.into(),
            action: action.into(),
            instance,
            detail,
        }
    }

    /// A sync that changed rows (by the deployment: actor `plugin-system`).
    pub fn synced(report: &SyncReport) -> AuditEntry {
        let detail = format!("{} change(s)", report.actions.len());
        AuditEntry::new("plugin-system", "sync", None, detail)
    }

    /// A new instance.
    pub fn created(record: &InstanceRecord, actor: &str) -> AuditEntry {
        let detail = format!("name={:?} item={}", record.meta.name, record.meta.item);
        AuditEntry::new(actor, "create", Some(record.meta.id), detail)
    }

    /// An edit: the names of the fields it changed.
    pub fn updated(id: InstanceId, change: &InstanceChange, actor: &str) -> AuditEntry {
        AuditEntry::new(actor, "update", Some(id), change.changed_fields())
    }

    /// A status change of one instance (of a bulk action).
    pub fn status(id: InstanceId, status: Status, actor: &str) -> AuditEntry {
        AuditEntry::new(actor, "status", Some(id), status.as_str().into())
    }

    /// A priority change of one instance (of a bulk action).
    pub fn priority(id: InstanceId, from: i32, to: i32, actor: &str) -> AuditEntry {
        AuditEntry::new(actor, "priority", Some(id), format!("{from} -> {to}"))
    }

    /// A deleted instance.
    pub fn deleted(id: InstanceId, actor: &str) -> AuditEntry {
        AuditEntry::new(actor, "delete", Some(id), String::new())
    }

    /// A key rotation that re-encrypted `count` configs.
    pub fn resealed(count: usize, actor: &str) -> AuditEntry {
        let detail = format!("{count} config(s) re-encrypted");
        AuditEntry::new(actor, "reseal", None, detail)
    }
}

/// Persistence of plugin types, items and instances.
///
/// Every write is atomic and bumps the store's revision, the cheap "has anything changed?"
/// check other processes poll.
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    /// Makes the store match the registry (see [`crate::sync`]), in one transaction.
    fn sync(&self, registry: &Registry, options: &SyncOptions) -> Result<SyncReport, Error>;

    /// Every instance, orphaned ones included.
    fn instances(&self) -> Result<Vec<InstanceRecord>, Error>;

    /// One instance, or [`Error::UnknownInstance`].
    fn instance(&self, id: InstanceId) -> Result<InstanceRecord, Error>;

    /// The revision: changes whenever anything is written.
    fn revision(&self) -> Result<u64, Error>;

    /// Inserts a new instance (id, version 1 and timestamps set by the caller).
    fn insert_instance(&self, record: &InstanceRecord, actor: &str) -> Result<(), Error>;

    /// Applies a change if the row is still at `expected_version`; else [`Error::Conflict`].
    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
        actor: &str,
    ) -> Result<InstanceRecord, Error>;

    /// Sets the status of every listed instance; returns how many changed.
    fn set_status(&self, ids: &[InstanceId], status: Status, actor: &str) -> Result<usize, Error>;

    /// Changes the priority of every listed instance; returns how many changed.
    fn set_priority(
        &self,
        ids: &[InstanceId],
        change: PriorityChange,
        actor: &str,
    ) -> Result<usize, Error>;

    /// Deletes an instance.
    fn delete_instance(&self, id: InstanceId, actor: &str) -> Result<(), Error>;

    /// Rewrites sealed configs in one transaction (key rotation): `reseal` gets each
    /// instance's id and envelope and returns the new envelope, or `None` to keep the row as
    /// it is. The first error aborts the whole rewrite, leaving every row untouched. Versions
    /// do not change (the config's values do not); returns how many rows were rewritten.
    fn reseal_configs(&self, reseal: &Reseal<'_>, actor: &str) -> Result<usize, Error>;

    /// The latest `limit` rows of the audit trail, newest first.
    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, Error>;

    /// A push channel announcing other processes' writes (PostgreSQL: LISTEN/NOTIFY), if the
    /// store has one. Without it, handles notice changes by polling [`Store::revision`].
    fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, Error> {
        Ok(None)
    }
}

/// Announcements of writes, from [`Store::change_feed`].
pub trait ChangeFeed: Send {
    /// True when a write was announced since the last call. Never blocks; an error means
    /// the channel broke (the watcher then subscribes again).
    fn changed(&mut self) -> Result<bool, Error>;
}

/// The re-encryption step of [`Store::reseal_configs`].
pub type Reseal<'a> = dyn Fn(InstanceId, &[u8]) -> Result<Option<Vec<u8>>, Error> + 'a;

/// A [`Store`] in memory: same semantics as the database stores, nothing persisted.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    revision: u64,
    audit: Vec<AuditEntry>,
    types: BTreeMap<crate::registration::TypeKey, StoredType>,
    items: BTreeMap<ItemKey, StoredItem>,
    instances: BTreeMap<InstanceId, InstanceRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave a half-applied write: every write
        // below validates before it mutates. So a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MemoryState {
    fn stored_state(&self) -> StoredState {
        StoredState {
            types: self.types.values().cloned().collect(),
            items: self.items.values().cloned().collect(),
            instances: self
                .instances
                .values()
                .map(|record| StoredInstance {
                    id: record.meta.id,
                    item: record.meta.item.clone(),
                    name: record.meta.name.clone(),
                    scope: record.meta.scope.clone(),
                    has_config: record.sealed_config.is_some(),
                })
                .collect(),
        }
    }

    fn apply(&mut self, action: &SyncAction) {
        match action {
            SyncAction::CreateType(row) | SyncAction::UpdateType(row) => {
                self.types.insert(row.key.clone(), row.clone());
            }
            SyncAction::OrphanType(key) => {
                if let Some(row) = self.types.get_mut(key) {
                    row.orphaned = true;
                }
            }
            SyncAction::DeleteType(key) => {
                self.types.remove(key);
                self.items.retain(|item, _| &item.type_key != key);
                self.instances.retain(|_, i| &i.meta.item.type_key != key);
            }
            SyncAction::CreateItem(row) | SyncAction::UpdateItem(row) => {
                self.items.insert(row.key.clone(), row.clone());
            }
            SyncAction::RenameItem { from, to } => {
                if let Some(mut row) = self.items.remove(from) {
                    row.key = to.clone();
                    self.items.insert(to.clone(), row);
                }
                for record in self.instances.values_mut() {
                    if &record.meta.item == from {
                        record.meta.item = to.clone();
                    }
                }
            }
            SyncAction::OrphanItem(key) => {
                if let Some(row) = self.items.get_mut(key) {
                    row.orphaned = true;
                }
            }
            SyncAction::DeleteItem(key) => {
                self.items.remove(key);
                self.instances.retain(|_, i| &i.meta.item != key);
            }
            SyncAction::CreateDefaultInstance {
                id,
                item,
                name,
                priority,
            } => {
                let record = InstanceRecord::sync_default(*id, item.clone(), name, *priority);
                self.instances.insert(*id, record);
            }
            SyncAction::DeleteInstance { id, .. } => {
                self.instances.remove(id);
            }
        }
    }

    fn refresh_orphan_flags(&mut self) {
        for record in self.instances.values_mut() {
            record.orphaned = self
                .items
                .get(&record.meta.item)
                .is_none_or(|item| item.orphaned);
        }
    }

    fn check_unique_name(&self, record: &InstanceRecord) -> Result<(), Error> {
        let taken = self.instances.values().any(|other| {
            other.meta.id != record.meta.id
                && other.meta.item == record.meta.item
                && other.meta.scope == record.meta.scope
                && other.meta.name == record.meta.name
        });
        if taken {
            return Err(Error::DuplicateInstanceName {
                item: record.meta.item.to_string(),
                name: record.meta.name.clone(),
                scope: record.meta.scope.clone(),
            });
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    fn sync(&self, registry: &Registry, options: &SyncOptions) -> Result<SyncReport, Error> {
        let mut state = self.lock();
        let report = plan(registry, &state.stored_state(), options);
        if !options.dry_run && !report.is_noop() {
            for action in &report.actions {
                state.apply(action);
            }
            state.refresh_orphan_flags();
            state.audit.push(AuditEntry::synced(&report));
            state.revision += 1;
        }
        Ok(report)
    }

    fn instances(&self) -> Result<Vec<InstanceRecord>, Error> {
        Ok(self.lock().instances.values().cloned().collect())
    }

    fn instance(&self, id: InstanceId) -> Result<InstanceRecord, Error> {
        self.lock()
            .instances
            .get(&id)
            .cloned()
            .ok_or(Error::UnknownInstance(id))
    }

    fn revision(&self) -> Result<u64, Error> {
        Ok(self.lock().revision)
    }

    fn insert_instance(&self, record: &InstanceRecord, actor: &str) -> Result<(), Error> {
        let mut state = self.lock();
        if !state.items.contains_key(&record.meta.item) {
            return Err(Error::Store(format!(
                "item {} has no row; run sync first",
                record.meta.item
            )));
        }
        state.check_unique_name(record)?;
        state.instances.insert(record.meta.id, record.clone());
        state.audit.push(AuditEntry::created(record, actor));
        state.revision += 1;
        Ok(())
    }

    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
        actor: &str,
    ) -> Result<InstanceRecord, Error> {
        let mut state = self.lock();
        let current = state.instances.get(&id).ok_or(Error::UnknownInstance(id))?;
        let next = change.applied_to(current, expected_version)?;
        state.check_unique_name(&next)?;
        state.instances.insert(id, next.clone());
        state.audit.push(AuditEntry::updated(id, change, actor));
        state.revision += 1;
        Ok(next)
    }

    fn set_status(&self, ids: &[InstanceId], status: Status, actor: &str) -> Result<usize, Error> {
        self.bulk(ids, BulkEdit::Status(status), actor)
    }

    fn set_priority(
        &self,
        ids: &[InstanceId],
        change: PriorityChange,
        actor: &str,
    ) -> Result<usize, Error> {
        self.bulk(ids, BulkEdit::Priority(change), actor)
    }

    fn delete_instance(&self, id: InstanceId, actor: &str) -> Result<(), Error> {
        let mut state = self.lock();
        state
            .instances
            .remove(&id)
            .ok_or(Error::UnknownInstance(id))?;
        state.audit.push(AuditEntry::deleted(id, actor));
        state.revision += 1;
        Ok(())
    }

    fn reseal_configs(&self, reseal: &Reseal<'_>, actor: &str) -> Result<usize, Error> {
        let mut state = self.lock();
        let mut resealed = Vec::new();
        for (id, record) in &state.instances {
            if let Some(sealed) = &record.sealed_config
                && let Some(next) = reseal(*id, sealed)?
            {
                resealed.push((*id, next));
            }
        }
        let count = resealed.len();
        for (id, next) in resealed {
            if let Some(record) = state.instances.get_mut(&id) {
                record.sealed_config = Some(next);
            }
        }
        if count > 0 {
            state.audit.push(AuditEntry::resealed(count, actor));
            state.revision += 1;
        }
        Ok(count)
    }

    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        Ok(self
            .lock()
            .audit
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }
}

impl MemoryStore {
    /// Applies `edit` to every listed instance (all must exist), bumping versions of those
    /// that changed.
    fn bulk(&self, ids: &[InstanceId], edit: BulkEdit, actor: &str) -> Result<usize, Error> {
        let mut state = self.lock();
        if let Some(missing) = ids.iter().find(|id| !state.instances.contains_key(id)) {
            return Err(Error::UnknownInstance(*missing));
        }
        let mut changed = 0;
        let now = SystemTime::now();
        for id in ids {
            if let Some(record) = state.instances.get_mut(id)
                && let Some((status, priority, entry)) = edit.apply(&record.meta, actor)
            {
                record.meta.status = status;
                record.meta.priority = priority;
                record.meta.version += 1;
                record.updated_at = now;
                state.audit.push(entry);
                changed += 1;
            }
        }
        if changed > 0 {
            state.revision += 1;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    //! Sync semantics on the in-memory store, with hand-made registrations standing for two
    //! deployments of the same application.

    use super::*;
    use crate::__private::{
        self as private, ErasedPlugin, ItemInfo, LinkedCrate, Location, TypeInfo,
    };
    use crate::config::ConfigSchema;
    use crate::sync::{SyncAction, SyncMode};
    use crate::{InstanceMeta, PluginError};

    trait Notifier: Send + Sync {}

    fn not_built(
        _: InstanceMeta,
        _: Option<&crate::ConfigValues>,
    ) -> Result<ErasedPlugin, PluginError> {
        Err(PluginError::new("not built in these tests"))
    }

    static NOTIFIER: TypeInfo = TypeInfo {
        name: "notifier",
        namespace: "app",
        description: "Notification channels",
        rust_path: "app::Notifier",
        crate_name: "app",
        location: Location {
            file: "src/lib.rs",
            line: 1,
        },
        fingerprint: "1",
        type_id: private::type_id_of::<dyn Notifier>,
        relabel: private::relabel::<dyn Notifier>,
        selector: None,
        critical: false,
        parent: None,
    };

    static SMS_SCHEMA: ConfigSchema = ConfigSchema::new("SmsConfig", &[]);

    fn notifier() -> &'static TypeInfo {
        &NOTIFIER
    }

    fn sms_schema() -> &'static ConfigSchema {
        &SMS_SCHEMA
    }

    const fn item(name: &'static str, configurable: bool) -> ItemInfo {
        ItemInfo {
            name,
            description: "from code",
            priority: 5,
            category: None,
            renamed_from: &[],
            rust_type: "Item",
            module: "app::notifiers",
            crate_name: "app",
            location: Location {
                file: "src/lib.rs",
                line: 10,
            },
            plugin_type: notifier,
            config: if configurable { Some(sms_schema) } else { None },
            build: not_built,
        }
    }

    static NO_LINKS: [LinkedCrate; 0] = [];

    fn registry(items: &'static [ItemInfo]) -> Registry {
        Registry::collect(&[], items, &NO_LINKS).unwrap()
    }

    fn instance(
        store: &MemoryStore,
        item: &str,
        name: &str,
        sealed: Option<Vec<u8>>,
    ) -> InstanceId {
        let id = InstanceId::new();
        let now = SystemTime::now();
        let record = InstanceRecord {
            meta: InstanceMeta {
                id,
                name: name.into(),
                item: ItemKey {
                    type_key: NOTIFIER.key(),
                    name: item.into(),
                },
                status: Status::Active,
                priority: 1,
                scope: None,
                version: 1,
            },
            description: String::new(),
            sealed_config: sealed,
            orphaned: false,
            created_at: now,
            updated_at: now,
        };
        store.insert_instance(&record, "test").unwrap();
        id
    }

    fn names(store: &MemoryStore) -> Vec<(String, String, bool)> {
        let mut names: Vec<_> = store
            .instances()
            .unwrap()
            .into_iter()
            .map(|r| (r.meta.item.name, r.meta.name, r.orphaned))
            .collect();
        names.sort();
        names
    }

    static V1: [ItemInfo; 2] = [item("email", false), item("sms", false)];

    #[test]
    fn first_sync_creates_rows_and_default_instances_then_is_a_noop() {
        static ITEMS: [ItemInfo; 2] = [item("email", false), item("push", true)];
        let store = MemoryStore::new();
        let report = store
            .sync(&registry(&ITEMS), &SyncOptions::default())
            .unwrap();
        assert_eq!(
            (
                report.types_created,
                report.items_created,
                report.instances_created
            ),
            (1, 2, 1)
        );
        // Only the config-less item gets a default instance: ACTIVE, named after it, its priority.
        let records = store.instances().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].meta.name, "email");
        assert_eq!(records[0].meta.status, Status::Active);
        assert_eq!(records[0].meta.priority, 5);

        let revision = store.revision().unwrap();
        let again = store
            .sync(&registry(&ITEMS), &SyncOptions::default())
            .unwrap();
        assert!(again.is_noop(), "{:?}", again.actions);
        assert_eq!((again.types_found, again.items_found), (1, 2));
        assert_eq!(
            store.revision().unwrap(),
            revision,
            "a no-change sync writes nothing"
        );
    }

    #[test]
    fn an_item_turning_configurable_loses_only_its_config_less_default() {
        static V2: [ItemInfo; 2] = [item("email", false), item("sms", true)];
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        instance(&store, "sms", "SMS backup", None);
        let report = store.sync(&registry(&V2), &SyncOptions::default()).unwrap();
        assert_eq!(report.instances_deleted, 1);
        assert_eq!(report.items_updated, 1);
        assert_eq!(
            names(&store),
            [
                ("email".into(), "email".into(), false),
                ("sms".into(), "SMS backup".into(), false)
            ]
        );
    }

    #[test]
    fn removed_code_orphans_rows_and_only_prune_deletes_them() {
        static V2: [ItemInfo; 1] = [item("email", false)];
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        instance(&store, "sms", "SMS configured by ops", None);

        let dry = SyncOptions {
            prune: true,
            dry_run: true,
            ..SyncOptions::default()
        };
        let plan = store.sync(&registry(&V2), &dry).unwrap();
        assert_eq!(plan.items_deleted, 1);
        assert_eq!(names(&store).len(), 3, "a dry run changes nothing");

        let report = store.sync(&registry(&V2), &SyncOptions::default()).unwrap();
        assert_eq!(report.items_orphaned, 1);
        let sms: Vec<_> = names(&store)
            .into_iter()
            .filter(|(item, ..)| item == "sms")
            .collect();
        assert_eq!(sms.len(), 2);
        assert!(
            sms.iter().all(|(.., orphaned)| *orphaned),
            "kept, and marked orphaned"
        );
        assert!(
            store
                .sync(&registry(&V2), &SyncOptions::default())
                .unwrap()
                .is_noop()
        );

        let pruned = store
            .sync(
                &registry(&V2),
                &SyncOptions {
                    prune: true,
                    ..SyncOptions::default()
                },
            )
            .unwrap();
        assert_eq!(pruned.items_deleted, 1);
        assert_eq!(names(&store), [("email".into(), "email".into(), false)]);
    }

    #[test]
    fn renamed_from_moves_the_rows_and_their_instances() {
        static V2: [ItemInfo; 2] = [
            item("email", false),
            ItemInfo {
                renamed_from: &["sms"],
                ..item("text_message", false)
            },
        ];
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        let kept = instance(&store, "sms", "Ops SMS", None);
        let report = store.sync(&registry(&V2), &SyncOptions::default()).unwrap();
        assert_eq!(
            (
                report.items_renamed,
                report.items_created,
                report.items_orphaned
            ),
            (1, 0, 0)
        );
        assert_eq!(
            report.instances_created, 0,
            "the renamed item still has its instances"
        );
        let moved = store
            .instances()
            .unwrap()
            .into_iter()
            .find(|r| r.meta.id == kept)
            .unwrap();
        assert_eq!(moved.meta.item.name, "text_message");
        assert!(!moved.orphaned);
    }

    #[test]
    fn create_mode_keeps_operator_edits_and_update_mode_refreshes() {
        static V2: [ItemInfo; 2] = [
            ItemInfo {
                description: "new text",
                priority: 9,
                ..item("email", false)
            },
            item("sms", false),
        ];
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        let create = store.sync(&registry(&V2), &SyncOptions::default()).unwrap();
        assert!(create.is_noop(), "{:?}", create.actions);
        let update = store
            .sync(
                &registry(&V2),
                &SyncOptions {
                    mode: SyncMode::Update,
                    ..SyncOptions::default()
                },
            )
            .unwrap();
        assert_eq!(update.items_updated, 1);
        assert!(
            matches!(&update.actions[0], SyncAction::UpdateItem(row) if row.priority == 9 && row.description == "new text")
        );
    }

    #[test]
    fn namespaces_this_binary_does_not_register_are_never_touched() {
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        // Another application's rows in the same store.
        store.lock().types.insert(
            crate::TypeKey {
                namespace: "billing".into(),
                name: "invoice".into(),
            },
            crate::sync::StoredType {
                key: crate::TypeKey {
                    namespace: "billing".into(),
                    name: "invoice".into(),
                },
                description: String::new(),
                fingerprint: String::new(),
                rust_path: String::new(),
                parent: None,
                orphaned: false,
            },
        );
        let report = store
            .sync(
                &registry(&V1),
                &SyncOptions {
                    prune: true,
                    ..SyncOptions::default()
                },
            )
            .unwrap();
        assert!(report.is_noop(), "{:?}", report.actions);
        assert_eq!(store.lock().types.len(), 2);
    }

    #[test]
    fn bulk_writes_check_every_id_first() {
        let store = MemoryStore::new();
        store.sync(&registry(&V1), &SyncOptions::default()).unwrap();
        let ids: Vec<_> = store
            .instances()
            .unwrap()
            .iter()
            .map(|r| r.meta.id)
            .collect();
        let missing = InstanceId::new();
        let err = store
            .set_status(&[ids[0], missing], Status::Disabled, "test")
            .unwrap_err();
        assert!(matches!(err, Error::UnknownInstance(id) if id == missing));
        assert!(
            store
                .instances()
                .unwrap()
                .iter()
                .all(|r| r.meta.status == Status::Active)
        );
        assert_eq!(store.set_status(&ids, Status::Disabled, "test").unwrap(), 2);
        assert_eq!(store.set_status(&ids, Status::Disabled, "test").unwrap(), 0);
        assert_eq!(
            store
                .set_priority(&ids, PriorityChange::Shift(-1), "test")
                .unwrap(),
            2
        );
    }
}
