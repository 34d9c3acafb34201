//! [`MemoryStore`]: the store in memory, for tests and for applications that configure their
//! plugins in code. Nothing persists; every guarantee of [`Store`] holds within the process.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, MutexGuard};

use super::{
    AuditEntry, AuditQuery, AuditRecord, CHANGE_LOG_REVISIONS, Changed, Changes, NameKey, Store,
    StoreError, StoreErrorKind, Transaction,
};
use crate::Error;
use crate::instance::{ActivationKey, ActivationRecord, InstanceRecord};
use crate::keys::InstanceId;
use crate::keys::{ItemKey, TypeKey};
use crate::sync::{StoredInstance, StoredItem, StoredState, StoredType, SyncAction};

/// A [`Store`] in memory: the guarantees of the database stores, nothing persisted.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    revision: u64,
    /// What each write changed, oldest first: the revision and what it changed (`None`: too
    /// much to list). Kept for the last [`CHANGE_LOG_REVISIONS`] revisions.
    changes: std::collections::VecDeque<(u64, Option<Logged>)>,
    /// The oldest revision `changes_since` answers for.
    changes_from: u64,
    audit: Vec<AuditRecord>,
    types: BTreeMap<TypeKey, StoredType>,
    items: BTreeMap<ItemKey, StoredItem>,
    instances: BTreeMap<InstanceId, InstanceRecord>,
    /// Which instance holds each name (guarantee 6), kept with `instances`.
    names: std::collections::HashMap<String, InstanceId>,
    /// The tenants' switches (guarantee 11).
    activations: BTreeMap<ActivationKey, ActivationRecord>,
}

/// What one write changed, in the change log.
#[derive(Debug, Clone)]
enum Logged {
    Instances(Vec<InstanceId>),
    Activations(Vec<ActivationKey>),
}

/// The index key of an instance's name: item, scope and name, each unambiguous.
fn name_index(key: NameKey<'_>) -> String {
    format!(
        "{}\u{0}{}\u{0}{}",
        key.item,
        key.scope.unwrap_or("\u{0}"),
        key.name
    )
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A write that fails or panics is rolled back before the lock is released, so the
        // state behind a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.lock().revision)
    }

    fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        let state = self.lock();
        Ok(state.instances.values().map(|r| state.derived(r)).collect())
    }

    fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        let state = self.lock();
        Ok(state.instances.get(&id).map(|record| state.derived(record)))
    }

    fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        let state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| state.instances.get(id))
            .map(|record| state.derived(record))
            .collect())
    }

    fn changes_since(&self, revision: u64) -> Result<Option<Changes>, StoreError> {
        let state = self.lock();
        if revision < state.changes_from || revision > state.revision {
            return Ok(None);
        }
        let mut instances = Vec::new();
        let mut activations = Vec::new();
        for (_, changed) in state.changes.iter().filter(|(at, _)| *at > revision) {
            match changed {
                Some(Logged::Instances(ids)) => instances.extend_from_slice(ids),
                Some(Logged::Activations(keys)) => activations.extend_from_slice(keys),
                None => return Ok(None),
            }
        }
        instances.sort_unstable();
        instances.dedup();
        activations.sort_unstable();
        activations.dedup();
        Ok(Some(Changes {
            revision: state.revision,
            instances,
            activations,
        }))
    }

    fn activations(&self) -> Result<Vec<ActivationRecord>, StoreError> {
        Ok(self.lock().activations.values().cloned().collect())
    }

    fn activations_by_key(
        &self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError> {
        let state = self.lock();
        Ok(keys
            .iter()
            .filter_map(|key| state.activations.get(key).cloned())
            .collect())
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let state = self.lock();
        let matching = state.audit.iter().filter(|record| query.matches(record));
        let mut page: Vec<AuditRecord> = if query.after.is_some() {
            // The rows just after `after`: the oldest matching ones.
            matching.take(query.limit).cloned().collect()
        } else {
            matching.rev().take(query.limit).cloned().collect()
        };
        page.sort_by_key(|record| std::cmp::Reverse(record.seq));
        Ok(page)
    }

    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut state = self.lock();
        // All or nothing: every change is undone when the work fails or panics. The undo
        // log holds only what the work touched, so a write costs what it changes.
        let mut tx = MemoryTx {
            state: &mut state,
            undo: Undo::default(),
        };
        match catch_unwind(AssertUnwindSafe(|| work(&mut tx))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => {
                tx.roll_back();
                Err(err)
            }
            Err(panic) => {
                tx.roll_back();
                resume_unwind(panic)
            }
        }
    }
}

/// One write in progress: the state, and how to put back what it changed.
struct MemoryTx<'a> {
    state: &'a mut MemoryState,
    undo: Undo,
}

/// The rows a write changed, as they were before it (`None`: the row did not exist).
struct LogUndo {
    trimmed: Vec<(u64, Option<Logged>)>,
    changes_from: u64,
}

#[derive(Default)]
struct Undo {
    revision: Option<u64>,
    /// What the write did to the change log: appended one entry, trimmed these from its front,
    /// and where it started before.
    log: Option<LogUndo>,
    audit_len: Option<usize>,
    types: BTreeMap<TypeKey, Option<StoredType>>,
    items: BTreeMap<ItemKey, Option<StoredItem>>,
    instances: BTreeMap<InstanceId, Option<InstanceRecord>>,
    activations: BTreeMap<ActivationKey, Option<ActivationRecord>>,
}

impl MemoryTx<'_> {
    fn roll_back(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        let state = &mut *self.state;
        if let Some(revision) = undo.revision {
            state.revision = revision;
        }
        if let Some(log) = undo.log {
            state.changes.pop_back();
            for entry in log.trimmed.into_iter().rev() {
                state.changes.push_front(entry);
            }
            state.changes_from = log.changes_from;
        }
        if let Some(len) = undo.audit_len {
            state.audit.truncate(len);
        }
        restore(&mut state.types, undo.types);
        restore(&mut state.items, undo.items);
        for (id, before) in undo.instances {
            state.set_instance(id, before);
        }
        restore(&mut state.activations, undo.activations);
    }

    /// Sets (or with `None` removes) a switch, remembering it; returns the old one.
    fn set_activation(
        &mut self,
        key: &ActivationKey,
        record: Option<ActivationRecord>,
    ) -> Option<ActivationRecord> {
        let before = self.state.activations.get(key).cloned();
        self.undo
            .activations
            .entry(key.clone())
            .or_insert_with(|| before.clone());
        match record {
            Some(record) => self.state.activations.insert(key.clone(), record),
            None => self.state.activations.remove(key),
        }
    }

    /// Remembers a type row before its first change in this write.
    fn touch_type(&mut self, key: &TypeKey) {
        let before = self.state.types.get(key).cloned();
        self.undo.types.entry(key.clone()).or_insert(before);
    }

    fn touch_item(&mut self, key: &ItemKey) {
        let before = self.state.items.get(key).cloned();
        self.undo.items.entry(key.clone()).or_insert(before);
    }

    fn touch_instance(&mut self, id: InstanceId) {
        let before = self.state.instances.get(&id).cloned();
        self.undo.instances.entry(id).or_insert(before);
    }

    /// Writes an instance's record, remembering the one before.
    fn put(&mut self, record: InstanceRecord) {
        self.touch_instance(record.meta.id);
        self.state.set_instance(record.meta.id, Some(record));
    }

    /// Deletes an instance and its switches (guarantee 11), remembering them; whether it
    /// existed.
    fn remove(&mut self, id: InstanceId) -> bool {
        self.touch_instance(id);
        let switches: Vec<ActivationKey> = self
            .state
            .activations
            .keys()
            .filter(|key| key.instance == id)
            .cloned()
            .collect();
        for key in &switches {
            self.set_activation(key, None);
        }
        self.state.set_instance(id, None).is_some()
    }

    /// Deletes the instances `doomed` selects, remembering them.
    fn delete_where(&mut self, doomed: impl Fn(&InstanceRecord) -> bool) {
        let ids: Vec<InstanceId> = self
            .state
            .instances
            .values()
            .filter(|record| doomed(record))
            .map(|record| record.meta.id)
            .collect();
        for id in ids {
            self.remove(id);
        }
    }
}

fn restore<K: Ord, V>(rows: &mut BTreeMap<K, V>, before: BTreeMap<K, Option<V>>) {
    for (key, value) in before {
        match value {
            Some(value) => rows.insert(key, value),
            None => rows.remove(&key),
        };
    }
}

impl MemoryState {
    /// Puts (or with `None` removes) an instance, keeping the name index; returns the old one.
    fn set_instance(
        &mut self,
        id: InstanceId,
        record: Option<InstanceRecord>,
    ) -> Option<InstanceRecord> {
        let old = match record {
            Some(record) => self.instances.insert(id, record),
            None => self.instances.remove(&id),
        };
        if let Some(old) = &old {
            self.names.remove(&name_index(NameKey::of(old)));
        }
        if let Some(new) = self.instances.get(&id) {
            self.names.insert(name_index(NameKey::of(new)), id);
        }
        old
    }

    /// The record with its orphan flag derived from its item (guarantee 5).
    fn derived(&self, record: &InstanceRecord) -> InstanceRecord {
        let mut record = record.clone();
        record.orphaned = self
            .items
            .get(&record.meta.item)
            .is_none_or(|item| item.orphaned);
        record
    }
}

impl MemoryTx<'_> {
    fn apply(&mut self, action: &SyncAction) {
        match action {
            SyncAction::CreateType(row) | SyncAction::UpdateType(row) => {
                self.touch_type(&row.key);
                self.state.types.insert(row.key.clone(), row.clone());
            }
            SyncAction::OrphanType(key) => {
                self.touch_type(key);
                if let Some(row) = self.state.types.get_mut(key) {
                    row.orphaned = true;
                }
            }
            SyncAction::DeleteType { key, .. } => {
                self.touch_type(key);
                self.state.types.remove(key);
                let items: Vec<ItemKey> = self
                    .state
                    .items
                    .keys()
                    .filter(|item| &item.type_key == key)
                    .cloned()
                    .collect();
                for item in items {
                    self.touch_item(&item);
                    self.state.items.remove(&item);
                }
                self.delete_where(|record| &record.meta.item.type_key == key);
            }
            SyncAction::CreateItem(row) | SyncAction::UpdateItem(row) => {
                self.touch_item(&row.key);
                self.state.items.insert(row.key.clone(), row.clone());
            }
            SyncAction::RenameItem { from, to } => {
                self.touch_item(from);
                self.touch_item(to);
                if let Some(mut row) = self.state.items.remove(from) {
                    row.key = to.clone();
                    self.state.items.insert(to.clone(), row);
                }
                let moved: Vec<InstanceId> = self
                    .state
                    .instances
                    .values()
                    .filter(|record| &record.meta.item == from)
                    .map(|record| record.meta.id)
                    .collect();
                for id in moved {
                    if let Some(mut record) = self.state.instances.get(&id).cloned() {
                        record.meta.item = to.clone();
                        self.put(record);
                    }
                }
            }
            SyncAction::OrphanItem(key) => {
                self.touch_item(key);
                if let Some(row) = self.state.items.get_mut(key) {
                    row.orphaned = true;
                }
            }
            SyncAction::DeleteItem { key, .. } => {
                self.touch_item(key);
                self.state.items.remove(key);
                self.delete_where(|record| &record.meta.item == key);
            }
            SyncAction::CreateDefaultInstance {
                id,
                item,
                name,
                priority,
            } => {
                self.put(InstanceRecord::sync_default(
                    *id,
                    item.clone(),
                    name,
                    *priority,
                ));
            }
            SyncAction::DeleteInstance { id, .. } => {
                self.remove(*id);
            }
        }
    }
}

impl Transaction for MemoryTx<'_> {
    fn stored_state(&mut self) -> Result<StoredState, StoreError> {
        let state = &*self.state;
        Ok(StoredState {
            types: state.types.values().cloned().collect(),
            items: state.items.values().cloned().collect(),
            instances: state.instances.values().map(StoredInstance::of).collect(),
        })
    }

    fn apply_sync(&mut self, actions: &[SyncAction]) -> Result<(), StoreError> {
        for action in actions {
            self.apply(action);
        }
        Ok(())
    }

    fn instances(&mut self) -> Result<Vec<InstanceRecord>, StoreError> {
        let state = &*self.state;
        Ok(state.instances.values().map(|r| state.derived(r)).collect())
    }

    fn instances_by_id(&mut self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let state = &*self.state;
        Ok(ids
            .iter()
            .filter_map(|id| state.instances.get(id))
            .map(|record| state.derived(record))
            .collect())
    }

    fn find_instances(
        &mut self,
        keys: &[NameKey<'_>],
    ) -> Result<Vec<Option<InstanceId>>, StoreError> {
        Ok(keys
            .iter()
            .map(|key| self.state.names.get(&name_index(*key)).copied())
            .collect())
    }

    fn insert_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError> {
        for record in records {
            if !self.state.items.contains_key(&record.meta.item) {
                return Err(StoreError::new(
                    StoreErrorKind::Constraint,
                    format!("item {} has no row; run sync first", record.meta.item),
                ));
            }
            let taken = self
                .state
                .names
                .contains_key(&name_index(NameKey::of(record)));
            if taken || self.state.instances.contains_key(&record.meta.id) {
                return Err(StoreError::new(
                    StoreErrorKind::Constraint,
                    format!(
                        "an instance named {:?} of {} already exists",
                        record.meta.name, record.meta.item
                    ),
                ));
            }
            let mut stored = record.clone();
            stored.orphaned = false;
            self.put(stored);
        }
        Ok(())
    }

    fn update_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError> {
        for record in records {
            let Some(stored) = self.state.instances.get(&record.meta.id) else {
                continue;
            };
            let (item, created_at) = (stored.meta.item.clone(), stored.created_at);
            self.put(InstanceRecord {
                meta: crate::InstanceMeta {
                    item,
                    ..record.meta.clone()
                },
                created_at,
                orphaned: false,
                ..record.clone()
            });
        }
        Ok(())
    }

    fn delete_instances(&mut self, ids: &[InstanceId]) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for id in ids {
            if self.state.instances.contains_key(id) && self.remove(*id) {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    fn activations_by_key(
        &mut self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError> {
        Ok(keys
            .iter()
            .filter_map(|key| self.state.activations.get(key).cloned())
            .collect())
    }

    fn set_activations(&mut self, records: &[ActivationRecord]) -> Result<(), StoreError> {
        for record in records {
            if !self.state.instances.contains_key(&record.key.instance) {
                return Err(StoreError::new(
                    StoreErrorKind::Constraint,
                    format!("no instance {} to switch", record.key.instance),
                ));
            }
            self.set_activation(&record.key, Some(record.clone()));
        }
        Ok(())
    }

    fn remove_activations(&mut self, keys: &[ActivationKey]) -> Result<usize, StoreError> {
        let mut removed = 0;
        for key in keys {
            if self.state.activations.contains_key(key) && self.set_activation(key, None).is_some()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn append_audit(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let audit = &mut self.state.audit;
        self.undo.audit_len.get_or_insert(audit.len());
        for entry in entries {
            let seq = audit.last().map_or(1, |last| last.seq + 1);
            audit.push(AuditRecord {
                seq,
                entry: entry.clone(),
            });
        }
        Ok(())
    }

    fn bump_revision(&mut self, changed: Changed<'_>) -> Result<u64, StoreError> {
        let state = &mut *self.state;
        if self.undo.log.is_some() {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "a write bumps the revision once",
            ));
        }
        self.undo.revision.get_or_insert(state.revision);
        let mut log = LogUndo {
            trimmed: Vec::new(),
            changes_from: state.changes_from,
        };
        state.revision += 1;
        let logged = match changed {
            Changed::Instances(ids) => Some(Logged::Instances(ids.to_vec())),
            Changed::Activations(keys) => Some(Logged::Activations(keys.to_vec())),
            Changed::Everything => None,
        };
        state.changes.push_back((state.revision, logged));
        while state
            .changes
            .front()
            .is_some_and(|(at, _)| *at + CHANGE_LOG_REVISIONS <= state.revision)
        {
            if let Some(entry) = state.changes.pop_front() {
                state.changes_from = entry.0;
                log.trimmed.push(entry);
            }
        }
        self.undo.log = Some(log);
        Ok(state.revision)
    }
}

#[cfg(all(test, feature = "testing"))]
mod conformance {
    crate::store_conformance!(super::MemoryStore::new);
}
