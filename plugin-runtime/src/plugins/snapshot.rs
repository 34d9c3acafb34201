//! The immutable view every lookup reads (DESIGN §11): constructed plugins, already in
//! selection order per type and per scope, so a lookup is a map probe and an `Arc` clone.
//! A new snapshot is built off the hot path after each write or observed change, reusing
//! the plugins whose row did not change.

use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::ConfigValues;
use crate::crypto::Keyring;
use crate::instance::{InstanceMeta, InstanceRecord};
use crate::keys::{InstanceId, Status};
use crate::registration::ErasedPlugin;
use crate::registry::Registry;
use crate::select::Candidates;

/// `TypeId`s are already well-mixed hashes: a map keyed by them needs no SipHash round.
#[derive(Default)]
pub(super) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `TypeId` writes through `write_u64`/`write_u128`; fold anything else.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// A map keyed by `dyn Trait` type ids.
pub(super) type ByType<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// What lookups read.
#[derive(Default)]
pub(super) struct Snapshot {
    /// The store's revision this snapshot reflects.
    pub(super) revision: u64,
    /// Global instances, per type.
    pub(super) global: ByType<TypeSlot>,
    /// Per scope (tenant) that has instances of a type: its instances, then the global ones.
    pub(super) scoped: HashMap<String, ByType<TypeSlot>>,
    /// Every instance, loadable or not.
    pub(super) instances: HashMap<InstanceId, Entry>,
    /// The instances lookups select for their own type: globally, or for their own tenant.
    serving: std::collections::HashSet<InstanceId>,
}

impl Snapshot {
    /// The candidates of type `type_id` for a lookup in `scope` (falling back to global).
    pub(super) fn slot(&self, scope: Option<&str>, type_id: TypeId) -> Option<&TypeSlot> {
        if let Some(scope) = scope
            && let Some(slot) = self.scoped.get(scope).and_then(|types| types.get(&type_id))
        {
            return Some(slot);
        }
        self.global.get(&type_id)
    }

    /// Whether `get` (for a global instance) or `scoped(tenant).get` (for a tenant's)
    /// returns this instance for its type now.
    pub(super) fn is_serving(&self, meta: &InstanceMeta) -> bool {
        self.serving.contains(&meta.id)
    }
}

/// The selectable instances of one type (a sub-type's instances count for its parent too), in
/// selection order: ACTIVE ones, then RESERVED ones; within each, a scope's own before the
/// global ones, then by (priority, id).
#[derive(Default, Clone)]
pub(super) struct TypeSlot {
    pub(super) plugins: Vec<ErasedPlugin>,
    pub(super) metas: Vec<InstanceMeta>,
    /// How many of them are ACTIVE (a prefix).
    pub(super) active: usize,
    /// The selected plugin (`plugins[0]`) behind [`SHARDS`] handles of its own: threads
    /// calling `get` at once clone different reference counts instead of contending for one.
    pub(super) selected: Vec<ErasedPlugin>,
}

/// Handles per selected plugin (threads beyond this share them).
const SHARDS: usize = 16;

impl TypeSlot {
    pub(super) fn candidates(&self) -> Candidates<'_> {
        Candidates::new(&self.metas, self.active)
    }

    /// The selected plugin, through this thread's handle.
    pub(super) fn selected(&self) -> Option<&ErasedPlugin> {
        thread_local! {
            static SHARD: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
            };
        }
        if self.selected.is_empty() {
            return None;
        }
        SHARD.with(|shard| self.selected.get(*shard))
    }

    /// Fills `selected` once the slot's order is final.
    fn shard(&mut self, relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin) {
        if let (Some(first), Some(meta)) = (self.plugins.first(), self.metas.first()) {
            self.selected = (0..SHARDS).map(|_| relabel(first, meta.clone())).collect();
        }
    }
}

pub(super) struct Entry {
    pub(super) meta: InstanceMeta,
    /// The operator's description (for listings and search).
    pub(super) description: String,
    /// When the row last changed.
    pub(super) updated_at: std::time::SystemTime,
    pub(super) state: EntryState,
}

pub(super) enum EntryState {
    Loaded {
        plugin: ErasedPlugin,
        /// The sealed config it was built from: a change of status or priority re-labels the
        /// plugin instead of constructing it again.
        built_from: Option<Vec<u8>>,
    },
    Failed(String),
    Orphaned,
}

/// One selectable instance while a snapshot is being built.
struct Candidate {
    type_id: TypeId,
    relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    scope: Option<String>,
    meta: InstanceMeta,
    plugin: ErasedPlugin,
}

impl Snapshot {
    /// Builds the snapshot of `records`, reusing `previous`'s plugins where the row's config
    /// and item did not change.
    pub(super) fn build(
        registry: &Registry,
        keyring: Option<&Keyring>,
        revision: u64,
        records: Vec<InstanceRecord>,
        previous: &Snapshot,
    ) -> Snapshot {
        let mut snapshot = Snapshot {
            revision,
            ..Snapshot::default()
        };
        let mut candidates = Vec::new();
        for record in records {
            let state = load_entry(
                registry,
                keyring,
                &record,
                previous.instances.get(&record.meta.id),
            );
            if let EntryState::Failed(reason) = &state {
                tracing::warn!(
                    instance = %record.meta.id,
                    name = %record.meta.name,
                    item = %record.meta.item,
                    %reason,
                    "plugin instance does not load; selection skips it"
                );
            }
            if let EntryState::Loaded { plugin, .. } = &state
                && record.meta.status != Status::Disabled
                && let Some(ty) = registry.type_by_key(&record.meta.item.type_key)
            {
                // A candidate of its own type, and of each ancestor type (sub-types).
                let mut info = ty.info;
                let mut plugin = Arc::clone(plugin);
                loop {
                    candidates.push(Candidate {
                        type_id: info.trait_object_id(),
                        relabel: info.relabel(),
                        scope: record.meta.scope.clone(),
                        meta: record.meta.clone(),
                        plugin: Arc::clone(&plugin),
                    });
                    let Some(link) = info.parent_link() else {
                        break;
                    };
                    let Some(upcast) = link.upcast()(&plugin) else {
                        break;
                    };
                    (info, plugin) = (link.info(), upcast);
                }
            }
            snapshot.instances.insert(
                record.meta.id,
                Entry {
                    meta: record.meta,
                    description: record.description,
                    updated_at: record.updated_at,
                    state,
                },
            );
        }
        // Selection order: status, then the scope's own before global ones, then priority, id.
        candidates.sort_by_key(|c| (c.meta.status, c.scope.is_none(), c.meta.priority, c.meta.id));
        let mut scoped_types: HashMap<String, Vec<TypeId>> = HashMap::new();
        for candidate in &candidates {
            match &candidate.scope {
                None => push(
                    snapshot.global.entry(candidate.type_id).or_default(),
                    candidate,
                ),
                Some(scope) => scoped_types
                    .entry(scope.clone())
                    .or_default()
                    .push(candidate.type_id),
            }
        }
        for (scope, type_ids) in scoped_types {
            let slots = snapshot.scoped.entry(scope.clone()).or_default();
            for type_id in type_ids {
                if slots.contains_key(&type_id) {
                    continue;
                }
                let slot = slots.entry(type_id).or_default();
                for candidate in candidates.iter().filter(|c| {
                    c.type_id == type_id && c.scope.as_deref().is_none_or(|s| s == scope)
                }) {
                    push(slot, candidate);
                }
            }
        }
        // Each record's first candidate is of its own type (later ones are its ancestors').
        let mut own_type: HashMap<InstanceId, TypeId> = HashMap::new();
        for candidate in &candidates {
            own_type
                .entry(candidate.meta.id)
                .or_insert(candidate.type_id);
        }
        let first_of_own_type = |type_id: &TypeId, slot: &TypeSlot, scope: Option<&str>| {
            slot.metas
                .first()
                .filter(|meta| {
                    own_type.get(&meta.id) == Some(type_id) && meta.scope.as_deref() == scope
                })
                .map(|meta| meta.id)
        };
        let mut serving = std::collections::HashSet::new();
        for (type_id, slot) in &snapshot.global {
            serving.extend(first_of_own_type(type_id, slot, None));
        }
        for (scope, slots) in &snapshot.scoped {
            for (type_id, slot) in slots {
                serving.extend(first_of_own_type(type_id, slot, Some(scope)));
            }
        }
        snapshot.serving = serving;
        let relabels: ByType<_> = candidates.iter().map(|c| (c.type_id, c.relabel)).collect();
        let slots = snapshot.global.iter_mut().chain(
            snapshot
                .scoped
                .values_mut()
                .flat_map(|types| types.iter_mut()),
        );
        for (type_id, slot) in slots {
            slot.shard(relabels[type_id]);
        }
        snapshot
    }
}

fn push(slot: &mut TypeSlot, candidate: &Candidate) {
    if candidate.meta.status == Status::Active {
        slot.active += 1;
    }
    slot.plugins.push(Arc::clone(&candidate.plugin));
    slot.metas.push(candidate.meta.clone());
}

fn load_entry(
    registry: &Registry,
    keyring: Option<&Keyring>,
    record: &InstanceRecord,
    previous: Option<&Entry>,
) -> EntryState {
    let item = match registry.item(&record.meta.item) {
        Ok(item) if !record.orphaned => item,
        _ => return EntryState::Orphaned,
    };
    if let Some(Entry {
        meta,
        state: EntryState::Loaded { plugin, built_from },
        ..
    }) = previous
        && *built_from == record.sealed_config
        && meta.item == record.meta.item
    {
        let plugin = if *meta == record.meta {
            Arc::clone(plugin)
        } else {
            (item.plugin_type().relabel())(plugin, record.meta.clone())
        };
        return EntryState::Loaded {
            plugin,
            built_from: built_from.clone(),
        };
    }
    let values = match open_config(keyring, record) {
        Ok(values) => values,
        Err(reason) => return EntryState::Failed(reason),
    };
    match item.build(record.meta.clone(), values.as_ref()) {
        Ok(plugin) => EntryState::Loaded {
            plugin,
            built_from: record.sealed_config.clone(),
        },
        Err(err) => EntryState::Failed(err.to_string()),
    }
}

/// Decrypts and parses an instance's config. Errors are texts for reports: they never
/// contain config values.
pub(super) fn open_config(
    keyring: Option<&Keyring>,
    record: &InstanceRecord,
) -> Result<Option<ConfigValues>, String> {
    let Some(sealed) = &record.sealed_config else {
        return Ok(None);
    };
    let keyring = keyring.ok_or_else(|| "no encryption key is configured".to_owned())?;
    let plaintext = keyring
        .open(record.meta.id, sealed)
        .map_err(|err| err.to_string())?;
    serde_json::from_slice::<ConfigValues>(&plaintext)
        .map(Some)
        .map_err(|_| "the decrypted config is not a JSON object".to_owned())
}
