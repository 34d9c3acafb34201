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
use crate::instance::{InstanceChange, InstanceId, InstanceRecord, Status};
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

/// Persistence of plugin types, items and instances.
///
/// Every write is atomic and bumps the store's revision, the cheap "has anything changed?"
/// check other processes poll.
pub trait Store: Send + Sync + 'static {
    /// Makes the store match the registry (see [`crate::sync`]), in one transaction.
    fn sync(&self, registry: &Registry, options: &SyncOptions) -> Result<SyncReport, Error>;

    /// Every instance, orphaned ones included.
    fn instances(&self) -> Result<Vec<InstanceRecord>, Error>;

    /// The revision: changes whenever anything is written.
    fn revision(&self) -> Result<u64, Error>;

    /// Inserts a new instance (id, version 1 and timestamps set by the caller).
    fn insert_instance(&self, record: &InstanceRecord) -> Result<(), Error>;

    /// Applies a change if the row is still at `expected_version`; else [`Error::Conflict`].
    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
    ) -> Result<InstanceRecord, Error>;

    /// Sets the status of every listed instance; returns how many changed.
    fn set_status(&self, ids: &[InstanceId], status: Status) -> Result<usize, Error>;

    /// Changes the priority of every listed instance; returns how many changed.
    fn set_priority(&self, ids: &[InstanceId], change: PriorityChange) -> Result<usize, Error>;

    /// Deletes an instance.
    fn delete_instance(&self, id: InstanceId) -> Result<(), Error>;
}

/// A [`Store`] in memory: same semantics as the database stores, nothing persisted.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    revision: u64,
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
        let now = SystemTime::now();
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
                self.instances.insert(
                    *id,
                    InstanceRecord {
                        meta: crate::instance::InstanceMeta {
                            id: *id,
                            name: name.clone(),
                            item: item.clone(),
                            status: Status::Active,
                            priority: *priority,
                            scope: None,
                            version: 1,
                        },
                        description: String::new(),
                        sealed_config: None,
                        orphaned: false,
                        created_at: now,
                        updated_at: now,
                    },
                );
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
            state.revision += 1;
        }
        Ok(report)
    }

    fn instances(&self) -> Result<Vec<InstanceRecord>, Error> {
        Ok(self.lock().instances.values().cloned().collect())
    }

    fn revision(&self) -> Result<u64, Error> {
        Ok(self.lock().revision)
    }

    fn insert_instance(&self, record: &InstanceRecord) -> Result<(), Error> {
        let mut state = self.lock();
        if !state.items.contains_key(&record.meta.item) {
            return Err(Error::Store(format!(
                "item {} has no row; run sync first",
                record.meta.item
            )));
        }
        state.check_unique_name(record)?;
        state.instances.insert(record.meta.id, record.clone());
        state.revision += 1;
        Ok(())
    }

    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
    ) -> Result<InstanceRecord, Error> {
        let mut state = self.lock();
        let current = state.instances.get(&id).ok_or(Error::UnknownInstance(id))?;
        if current.meta.version != expected_version {
            return Err(Error::Conflict {
                id,
                expected: expected_version,
                actual: current.meta.version,
            });
        }
        let mut next = current.clone();
        if let Some(name) = &change.name {
            next.meta.name = name.clone();
        }
        if let Some(description) = &change.description {
            next.description = description.clone();
        }
        if let Some(status) = change.status {
            next.meta.status = status;
        }
        if let Some(priority) = change.priority {
            next.meta.priority = priority;
        }
        if let Some(sealed) = &change.sealed_config {
            next.sealed_config = Some(sealed.clone());
        }
        next.meta.version += 1;
        next.updated_at = SystemTime::now();
        state.check_unique_name(&next)?;
        state.instances.insert(id, next.clone());
        state.revision += 1;
        Ok(next)
    }

    fn set_status(&self, ids: &[InstanceId], status: Status) -> Result<usize, Error> {
        self.bulk(ids, |record| {
            let changed = record.meta.status != status;
            record.meta.status = status;
            changed
        })
    }

    fn set_priority(&self, ids: &[InstanceId], change: PriorityChange) -> Result<usize, Error> {
        self.bulk(ids, |record| {
            let next = change.apply(record.meta.priority);
            let changed = record.meta.priority != next;
            record.meta.priority = next;
            changed
        })
    }

    fn delete_instance(&self, id: InstanceId) -> Result<(), Error> {
        let mut state = self.lock();
        state
            .instances
            .remove(&id)
            .ok_or(Error::UnknownInstance(id))?;
        state.revision += 1;
        Ok(())
    }
}

impl MemoryStore {
    /// Applies `edit` to every listed instance (all must exist), bumping versions of those
    /// that changed.
    fn bulk(
        &self,
        ids: &[InstanceId],
        mut edit: impl FnMut(&mut InstanceRecord) -> bool,
    ) -> Result<usize, Error> {
        let mut state = self.lock();
        if let Some(missing) = ids.iter().find(|id| !state.instances.contains_key(id)) {
            return Err(Error::UnknownInstance(*missing));
        }
        let mut changed = 0;
        let now = SystemTime::now();
        for id in ids {
            if let Some(record) = state.instances.get_mut(id)
                && edit(record)
            {
                record.meta.version += 1;
                record.updated_at = now;
                changed += 1;
            }
        }
        if changed > 0 {
            state.revision += 1;
        }
        Ok(changed)
    }
}
