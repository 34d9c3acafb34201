//! The immutable view every lookup reads (DESIGN §11): constructed plugins, already in
//! selection order per type and per scope, so a lookup is a map probe and an `Arc` clone.
//!
//! A snapshot is never changed: a write, or a change another process made, gives a new one,
//! swapped in atomically, so no reader ever sees half a change. The new one is built off the
//! hot path, in proportion to the change ([`Snapshot::apply`]): only the changed instances are
//! decrypted and constructed (or re-labelled, when only their status or priority changed),
//! only the slots of their types in their scopes are rebuilt, and everything else (the other
//! slots, the other instances, the plugins) is shared with the previous snapshot.

mod cow;
mod slot;

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use self::cow::{CowMap, ShardOf};
pub(super) use self::slot::View;
use self::slot::{Candidate, TypeSlot};
use crate::config::ConfigValues;
use crate::crypto::Keyring;
use crate::instance::{InstanceMeta, InstanceRecord};
use crate::keys::{InstanceId, Status};
use crate::registration::{ErasedPlugin, TypeInfo};
use crate::registry::Registry;

/// `bytes` as little-endian words of eight bytes, the last one zero-padded.
fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks(8).map(|chunk| {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(word)
    })
}

/// `TypeId`s are already well-mixed hashes: a map keyed by them needs no SipHash round.
#[derive(Default)]
pub(super) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `TypeId` writes through `write_u64`/`write_u128`; fold anything else.
        for word in words(bytes) {
            self.0 = self.0.rotate_left(5) ^ word;
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// A map keyed by `dyn Trait` type ids.
pub(super) type ByType<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// Instance ids hashed by their random bits (a UUID v7's last 62 bits are random; a v4's
/// nearly all): no SipHash round on a `get_by_id`.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for word in words(bytes) {
            self.0 = (self.0 ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

impl ShardOf for InstanceId {
    fn shard_of(&self) -> usize {
        // The first random byte of a UUID v7 (after the 48-bit time and the version).
        usize::from(self.as_bytes()[9] ^ self.as_bytes()[15])
    }
}

impl ShardOf for str {
    /// A mix of the name's first and last eight bytes and its length: two loads and a
    /// multiply on every scoped lookup (which hashes the name again for the map inside the
    /// shard). A shard only spreads copy-on-write work, so names that differ only in their
    /// middle sharing one is harmless.
    fn shard_of(&self) -> usize {
        let bytes = self.as_bytes();
        // Fixed-size loads for names of eight bytes or more (most): no copy of a run-time
        // length on the lookup path.
        let (head, tail) = match bytes.len() {
            8.. => (
                u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes")),
                u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("eight bytes")),
            ),
            _ => (words(bytes).next().unwrap_or(0), 0),
        };
        let mixed =
            (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 56) as usize
    }
}

impl ShardOf for Arc<str> {
    fn shard_of(&self) -> usize {
        (**self).shard_of()
    }
}

type Instances = CowMap<InstanceId, Arc<Entry>, BuildHasherDefault<IdHasher>>;
/// Tenants by name: foldhash (seeded per process) instead of SipHash, on the lookup path.
type Tenants = CowMap<Arc<str>, Arc<ByType<Arc<TypeSlot>>>, foldhash::fast::RandomState>;

/// What lookups read.
#[derive(Default)]
pub(super) struct Snapshot {
    /// The store's revision this snapshot reflects.
    pub(super) revision: u64,
    /// The global instances' slots, per type.
    global: ByType<Arc<TypeSlot>>,
    /// Each tenant's own instances' slots, per type (the global ones are not repeated here).
    tenants: Tenants,
    /// Every instance, loadable or not.
    instances: Instances,
}

impl Snapshot {
    /// What a lookup of type `type_id` reads in `scope` (`None`: global).
    pub(super) fn view(&self, scope: Option<&str>, type_id: TypeId) -> View<'_> {
        let global = self.global.get(&type_id).map(Arc::as_ref);
        match scope {
            None => View {
                own: global,
                fallback: None,
            },
            Some(scope) => View {
                own: self
                    .tenants
                    .get(scope)
                    .and_then(|types| types.get(&type_id))
                    .map(Arc::as_ref),
                fallback: global,
            },
        }
    }

    /// The plugin `get` serves for type `type_id` in `scope`, through this thread's handle
    /// of it: [`view`](Self::view)`.selected()`, without looking up the global slot when the
    /// tenant has an ACTIVE instance of its own (the hot path of `scoped(t).get`).
    pub(super) fn selected(&self, scope: Option<&str>, type_id: TypeId) -> Option<&ErasedPlugin> {
        let Some(scope) = scope else {
            return self.view(None, type_id).selected();
        };
        let own = self
            .tenants
            .get(scope)
            .and_then(|types| types.get(&type_id))
            .map(Arc::as_ref);
        match own {
            Some(own) if own.active > 0 => View {
                own: Some(own),
                fallback: None,
            }
            .selected(),
            _ => View {
                own,
                fallback: self.global.get(&type_id).map(Arc::as_ref),
            }
            .selected(),
        }
    }

    /// The entry of one instance.
    pub(super) fn entry(&self, id: InstanceId) -> Option<&Entry> {
        self.instances.get(&id).map(Arc::as_ref)
    }

    /// Every instance, in no order.
    pub(super) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.instances.values().map(Arc::as_ref)
    }

    /// How many instances there are.
    pub(super) fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether `get` (for a global instance) or `scoped(tenant).get` (for a tenant's)
    /// returns this instance for its own type now.
    pub(super) fn is_serving(&self, entry: &Entry) -> bool {
        let Some(own_type) = entry.own_type else {
            return false;
        };
        self.view(entry.meta.scope.as_deref(), own_type)
            .first_meta()
            .is_some_and(|meta| meta.id == entry.meta.id)
    }
}

/// One instance as the snapshot holds it.
pub(super) struct Entry {
    pub(super) meta: InstanceMeta,
    /// The operator's description (for listings and search).
    pub(super) description: String,
    /// When the row last changed.
    pub(super) updated_at: SystemTime,
    /// The `TypeId` of its item's plugin type, when that type is linked into this binary.
    pub(super) own_type: Option<TypeId>,
    pub(super) state: EntryState,
}

pub(super) enum EntryState {
    Loaded {
        /// The plugin viewed as each type of its lineage: its own type first, then each
        /// parent type (trait upcasts of the one constructed object).
        views: Vec<(TypeId, ErasedPlugin)>,
        /// The sealed config it was built from: a change of status or priority re-labels the
        /// plugin instead of constructing it again.
        built_from: Option<Vec<u8>>,
    },
    Failed(String),
    Orphaned,
}

impl Entry {
    /// The plugin viewed as type `type_id`, when it loads and that type is in its lineage.
    pub(super) fn plugin_as(&self, type_id: TypeId) -> Option<&ErasedPlugin> {
        match &self.state {
            EntryState::Loaded { views, .. } => views
                .iter()
                .find(|(view, _)| *view == type_id)
                .map(|(_, plugin)| plugin),
            _ => None,
        }
    }

    /// Where it is a candidate: (its scope, a type of its lineage) with the plugin viewed as
    /// that type. None for a DISABLED or unloadable instance.
    fn placements(&self) -> impl Iterator<Item = (Option<&str>, TypeId, &ErasedPlugin)> {
        let views = match &self.state {
            EntryState::Loaded { views, .. } if self.meta.status != Status::Disabled => &views[..],
            _ => &[],
        };
        let scope = self.meta.scope.as_deref();
        views
            .iter()
            .map(move |(type_id, plugin)| (scope, *type_id, plugin))
    }
}

/// A slot's key while a snapshot is being made: its tenant (`None`: global) and its type.
type SlotKey = (Option<Arc<str>>, TypeId);

impl Snapshot {
    /// The snapshot of every instance (a cold start, or a process too far behind), reusing
    /// `previous`'s plugins where a row's config and item did not change.
    pub(super) fn build(
        registry: &Registry,
        keyring: Option<&Keyring>,
        revision: u64,
        records: Vec<InstanceRecord>,
        previous: &Snapshot,
    ) -> Snapshot {
        let entries: Vec<(InstanceId, Option<Arc<Entry>>)> = records
            .into_iter()
            .map(|record| {
                let entry = load(registry, keyring, record, |id| previous.entry_arc_of(id));
                (entry.meta.id, Some(entry))
            })
            .collect();
        let mut slots: HashMap<SlotKey, Vec<Candidate>> = HashMap::new();
        for (_, entry) in &entries {
            let Some(entry) = entry else { continue };
            for (scope, type_id, plugin) in entry.placements() {
                slots
                    .entry((scope.map(Arc::from), type_id))
                    .or_default()
                    .push(candidate(entry, plugin));
            }
        }
        let empty = Snapshot::default();
        let slots = slots
            .into_iter()
            .map(|(key, candidates)| {
                let relabel = relabel_of(registry, key.1);
                (key, TypeSlot::of(candidates, relabel))
            })
            .collect();
        empty.with(revision, entries, slots)
    }

    /// This snapshot after `changed` rows were written and the instances `ids` (every id the
    /// change log named) were read: an id with no row among `changed` was deleted. Only the
    /// slots the changed instances were or are in are rebuilt; everything else is shared.
    pub(super) fn apply(
        &self,
        registry: &Registry,
        keyring: Option<&Keyring>,
        revision: u64,
        changed: Vec<InstanceRecord>,
        ids: &[InstanceId],
    ) -> Snapshot {
        let mut gone: HashSet<InstanceId> = ids.iter().copied().collect();
        gone.extend(changed.iter().map(|record| record.meta.id));
        // The slots the changed instances were in, to take them out.
        let mut touched: HashSet<SlotKey> = HashSet::new();
        for id in &gone {
            if let Some(entry) = self.entry(*id) {
                for (scope, type_id, _) in entry.placements() {
                    touched.insert((scope.map(Arc::from), type_id));
                }
            }
        }
        // The new entries, and the slots they go in.
        let mut edits: Vec<(InstanceId, Option<Arc<Entry>>)> =
            gone.iter().map(|id| (*id, None)).collect();
        let mut added: HashMap<SlotKey, Vec<Candidate>> = HashMap::new();
        for record in changed {
            let entry = load(registry, keyring, record, |id| self.entry_arc_of(id));
            for (scope, type_id, plugin) in entry.placements() {
                let key = (scope.map(Arc::from), type_id);
                touched.insert(key.clone());
                added
                    .entry(key)
                    .or_default()
                    .push(candidate(&entry, plugin));
            }
            edits.push((entry.meta.id, Some(entry)));
        }
        let slots = touched
            .into_iter()
            .map(|key| {
                let relabel = relabel_of(registry, key.1);
                let added = added.remove(&key).unwrap_or_default();
                let slot = match self.slot(&key) {
                    Some(current) => current.edited(&gone, added, relabel),
                    None => TypeSlot::of(added, relabel),
                };
                (key, slot)
            })
            .collect();
        self.with(revision, edits, slots)
    }

    /// The slot at `key`.
    fn slot(&self, key: &SlotKey) -> Option<&TypeSlot> {
        match &key.0 {
            None => self.global.get(&key.1),
            Some(tenant) => self.tenants.get(&**tenant)?.get(&key.1),
        }
        .map(Arc::as_ref)
    }

    /// The entry of `id`, shared.
    fn entry_arc_of(&self, id: InstanceId) -> Option<Arc<Entry>> {
        self.instances.get(&id).cloned()
    }

    /// A copy at `revision` with these entries set (or removed) and these slots replaced (or
    /// removed, for `None`).
    fn with(
        &self,
        revision: u64,
        entries: Vec<(InstanceId, Option<Arc<Entry>>)>,
        slots: Vec<(SlotKey, Option<TypeSlot>)>,
    ) -> Snapshot {
        let mut global = self.global.clone();
        let mut per_tenant: HashMap<Arc<str>, Vec<(TypeId, Option<TypeSlot>)>> = HashMap::new();
        for ((tenant, type_id), slot) in slots {
            match tenant {
                None => match slot {
                    Some(slot) => {
                        global.insert(type_id, Arc::new(slot));
                    }
                    None => {
                        global.remove(&type_id);
                    }
                },
                Some(tenant) => per_tenant.entry(tenant).or_default().push((type_id, slot)),
            }
        }
        let tenant_edits: Vec<_> = per_tenant
            .into_iter()
            .map(|(tenant, changes)| {
                let mut types: ByType<Arc<TypeSlot>> = self
                    .tenants
                    .get(&*tenant)
                    .map(|types| (**types).clone())
                    .unwrap_or_default();
                for (type_id, slot) in changes {
                    match slot {
                        Some(slot) => {
                            types.insert(type_id, Arc::new(slot));
                        }
                        None => {
                            types.remove(&type_id);
                        }
                    }
                }
                let value = (!types.is_empty()).then(|| Arc::new(types));
                (tenant, value)
            })
            .collect();
        Snapshot {
            revision,
            global,
            tenants: self.tenants.edited(tenant_edits),
            instances: self.instances.edited(entries),
        }
    }
}

fn candidate(entry: &Entry, plugin: &ErasedPlugin) -> Candidate {
    Candidate {
        meta: entry.meta.clone(),
        plugin: Arc::clone(plugin),
    }
}

/// How a type's plugins are re-labelled (the slot's per-thread handles carry the metadata).
fn relabel_of(
    registry: &Registry,
    type_id: TypeId,
) -> fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin {
    match registry.type_of(type_id) {
        Some(ty) => ty.info.relabel(),
        // Only types of the registry have slots.
        None => |plugin, _| Arc::clone(plugin),
    }
}

/// The entry of a record: its plugin constructed (off the hot path), or re-used from the
/// previous entry when its config and item did not change (re-labelled when its metadata
/// did), or why it does not load.
fn load(
    registry: &Registry,
    keyring: Option<&Keyring>,
    record: InstanceRecord,
    previous: impl Fn(InstanceId) -> Option<Arc<Entry>>,
) -> Arc<Entry> {
    let own = registry
        .type_by_key(&record.meta.item.type_key)
        .map(|ty| ty.info);
    let state = load_state(
        registry,
        keyring,
        &record,
        previous(record.meta.id).as_deref(),
        own,
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
    Arc::new(Entry {
        own_type: own.map(TypeInfo::trait_object_id),
        meta: record.meta,
        description: record.description,
        updated_at: record.updated_at,
        state,
    })
}

fn load_state(
    registry: &Registry,
    keyring: Option<&Keyring>,
    record: &InstanceRecord,
    previous: Option<&Entry>,
    own: Option<&'static TypeInfo>,
) -> EntryState {
    let (item, own) = match (registry.item(&record.meta.item), own) {
        (Ok(item), Some(own)) if !record.orphaned => (item, own),
        _ => return EntryState::Orphaned,
    };
    if let Some(Entry {
        meta,
        state: EntryState::Loaded { views, built_from },
        ..
    }) = previous
        && *built_from == record.sealed_config
        && meta.item == record.meta.item
        && let Some((_, plugin)) = views.first()
    {
        let plugin = if *meta == record.meta {
            Arc::clone(plugin)
        } else {
            (own.relabel())(plugin, record.meta.clone())
        };
        return EntryState::Loaded {
            views: lineage(own, plugin),
            built_from: built_from.clone(),
        };
    }
    let values = match open_config(keyring, record) {
        Ok(values) => values,
        Err(reason) => return EntryState::Failed(reason),
    };
    match item.build(record.meta.clone(), values.as_ref()) {
        Ok(plugin) => EntryState::Loaded {
            views: lineage(own, plugin),
            built_from: record.sealed_config.clone(),
        },
        Err(err) => EntryState::Failed(err.report()),
    }
}

/// A loaded plugin of type `own` viewed as `own` and each of its parent types.
fn lineage(own: &'static TypeInfo, plugin: ErasedPlugin) -> Vec<(TypeId, ErasedPlugin)> {
    let mut views = vec![(own.trait_object_id(), Arc::clone(&plugin))];
    let (mut info, mut plugin) = (own, plugin);
    while let Some(link) = info.parent_link() {
        let Some(upcast) = (link.upcast())(&plugin) else {
            break;
        };
        (info, plugin) = (link.info(), upcast);
        views.push((info.trait_object_id(), Arc::clone(&plugin)));
    }
    views
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::ShardOf;

    /// Tenant names as applications make them (a prefix and a number; short codes; UUIDs)
    /// spread over the shards, so a write copies a small shard.
    #[test]
    fn tenant_names_spread_over_the_shards() {
        let shards = |names: Vec<String>| -> usize {
            names
                .iter()
                .map(|name| name.as_str().shard_of() % 256)
                .collect::<HashSet<_>>()
                .len()
        };
        let numbered = (0..10_000).map(|n| format!("tenant-{n:04}")).collect();
        let short = (0..1_000).map(|n| format!("t{n}")).collect();
        let uuids = (0..10_000)
            .map(|_| crate::InstanceId::new().to_string())
            .collect();
        for (kind, names) in [("numbered", numbered), ("short", short), ("uuids", uuids)] {
            let used = shards(names);
            assert!(used >= 200, "{kind}: {used} of 256 shards used");
        }
    }
}
