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
mod dependents;
mod slot;

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use self::cow::{CowMap, ShardOf};
use self::dependents::Dependents;
pub(super) use self::slot::View;
use self::slot::{Candidate, TypeSlot};
use super::lifecycle::{self, Live, Starting};
use crate::config::{ConfigSchema, ConfigValues, resolve_references, split_version};
use crate::crypto::Keyring;
use crate::instance::{ActivationKey, ActivationRecord, InstanceMeta, InstanceRecord};
use crate::keys::{InstanceId, Status};
use crate::registration::{ErasedObject, ErasedPlugin, ItemInfo, Needs, TypeInfo};
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

/// How many start hooks run at once while a snapshot is built.
const STARTS_AT_ONCE: usize = 64;

type Instances = CowMap<InstanceId, Arc<Entry>, BuildHasherDefault<IdHasher>>;
/// Tenants by name: foldhash (seeded per process) instead of SipHash, on the lookup path.
type Tenants = CowMap<Arc<str>, Arc<Tenant>, foldhash::fast::RandomState>;

/// One tenant's switches of global instances: on (true) or off (false).
pub(super) type Switches = HashMap<InstanceId, bool, BuildHasherDefault<IdHasher>>;

/// What a snapshot holds of one tenant: its own instances' slots, per type (the global ones
/// are not repeated here), and its switches of global instances.
#[derive(Clone, Default)]
struct Tenant {
    slots: ByType<Arc<TypeSlot>>,
    switches: Arc<Switches>,
}

/// How a tenant is served one global instance: see [`Snapshot::tenant_access`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TenantAccess {
    /// No switch: served.
    Default,
    SwitchedOn,
    SwitchedOff,
    /// No switch, and its item is `per_tenant`: not served.
    NeedsActivation,
}

/// A change to one tenant's switch: its key, and what it is now (`None`: removed).
pub(super) type SwitchEdit = (ActivationKey, Option<bool>);

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
    /// The instances whose items need other plugin types, by what they need and where:
    /// checked when what they need changes.
    dependents: Dependents,
    /// The instances that do not load, whatever their status: what a failing lookup names
    /// (kept small and shared: a write copies it only when an instance starts or stops
    /// failing).
    failing: Arc<HashSet<InstanceId>>,
}

impl Snapshot {
    /// A snapshot serving nothing at `revision` (after a shutdown).
    pub(super) fn empty_at(revision: u64) -> Snapshot {
        Snapshot {
            revision,
            ..Snapshot::default()
        }
    }

    /// What a lookup of type `type_id` reads in `scope` (`None`: global).
    pub(super) fn view(&self, scope: Option<&str>, type_id: TypeId) -> View<'_> {
        let global = self.global.get(&type_id).map(Arc::as_ref);
        match scope {
            None => View {
                own: global,
                fallback: None,
                switches: None,
            },
            Some(scope) => {
                let tenant = self.tenants.get(scope);
                View {
                    own: tenant
                        .and_then(|tenant| tenant.slots.get(&type_id))
                        .map(Arc::as_ref),
                    fallback: global,
                    switches: tenant.map(|tenant| &*tenant.switches),
                }
            }
        }
    }

    /// The plugin `get` serves for type `type_id` in `scope`, through this thread's handle
    /// of it: [`view`](Self::view)`.selected()`, without looking up the global slot when the
    /// tenant has an ACTIVE instance of its own (the hot path of `scoped(t).get`).
    pub(super) fn selected(&self, scope: Option<&str>, type_id: TypeId) -> Option<&ErasedPlugin> {
        let Some(scope) = scope else {
            return self.view(None, type_id).selected();
        };
        let tenant = self.tenants.get(scope);
        let own = tenant
            .and_then(|tenant| tenant.slots.get(&type_id))
            .map(Arc::as_ref);
        match own {
            Some(own) if own.active > 0 => own.selected(),
            _ => View {
                own,
                fallback: self.global.get(&type_id).map(Arc::as_ref),
                switches: tenant.map(|tenant| &*tenant.switches),
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
    /// The declared file that manages it, if any (listings show it read-only).
    pub(super) managed_by: Option<String>,
    /// The `TypeId` of its item's plugin type, when that type is linked into this binary.
    pub(super) own_type: Option<TypeId>,
    pub(super) state: EntryState,
    /// Its item's depth in the dependency graph (0: it needs nothing).
    depth: usize,
    /// Its item is `per_tenant`: as a global instance, a tenant is served it only once it
    /// switched it on.
    per_tenant: bool,
    /// For an instance that needs something: what each need resolved to when it was built
    /// (the provider's object address, `None` when unmet), and its sealed config, to build it
    /// again when they change.
    providers: Vec<Option<usize>>,
    sealed_config: Option<Vec<u8>>,
    /// What its secrets' references resolved to when it was built (see [`SecretsSeen`]).
    secrets_seen: SecretsSeen,
}

/// A digest of what an instance's secret references (`{ file = .. }`, `{ env = .. }`)
/// resolved to when it was built, or of why they did not resolve: reading them again and
/// getting another digest means the instance must be built again (a rotated secret file).
/// `None`: its config holds no reference. Only the digest is kept here; the values live in
/// the plugin, as any config does.
pub(super) type SecretsSeen = Option<[u8; 32]>;

/// Resolves the references of `stored`, and what they resolved to (see [`SecretsSeen`]).
fn resolve_seen<'v>(
    schema: &ConfigSchema,
    stored: &'v ConfigValues,
) -> (
    Result<std::borrow::Cow<'v, ConfigValues>, String>,
    SecretsSeen,
) {
    use sha2::Digest as _;
    let digest = |bytes: &[u8]| -> [u8; 32] { sha2::Sha256::digest(bytes).into() };
    match resolve_references(schema, stored) {
        Ok(std::borrow::Cow::Borrowed(values)) => (Ok(std::borrow::Cow::Borrowed(values)), None),
        Ok(std::borrow::Cow::Owned(values)) => {
            let plaintext =
                zeroize::Zeroizing::new(serde_json::to_vec(&values).unwrap_or_default());
            let seen = digest(&plaintext);
            (Ok(std::borrow::Cow::Owned(values)), Some(seen))
        }
        Err(reason) => {
            let seen = digest(format!("unresolved: {reason}").as_bytes());
            (Err(reason), Some(seen))
        }
    }
}

pub(super) enum EntryState {
    Loaded {
        /// The one constructed object, which every view shares.
        object: ErasedObject,
        /// The object viewed as each type it serves: its own type first, then each parent
        /// type, then each `also` type and its parents (trait objects of the one object).
        views: Vec<(TypeId, ErasedPlugin)>,
        /// The sealed config it was built from: a change of status or priority re-labels the
        /// plugin instead of constructing it again.
        built_from: Option<Vec<u8>>,
        /// The started instance, for an item with start and stop hooks.
        live: Option<Arc<Live>>,
    },
    /// A DISABLED instance of an item with start and stop hooks: neither built nor started
    /// until it is enabled.
    NotStarted,
    Failed(String),
    Orphaned,
}

impl Entry {
    /// The address of its built object, when it loads.
    fn object_address(&self) -> Option<usize> {
        match &self.state {
            EntryState::Loaded { object, .. } => Some(Arc::as_ptr(object).cast::<()>() as usize),
            _ => None,
        }
    }

    /// Its row, as far as building it again needs one (a dependent whose providers changed).
    fn record(&self) -> InstanceRecord {
        InstanceRecord {
            meta: self.meta.clone(),
            description: self.description.clone(),
            sealed_config: self.sealed_config.clone(),
            orphaned: matches!(self.state, EntryState::Orphaned),
            managed_by: self.managed_by.clone(),
            created_at: self.updated_at,
            updated_at: self.updated_at,
        }
    }

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

/// A slot as a change leaves it (`None`: no candidate left).
type SlotEdit = Option<Arc<TypeSlot>>;

impl Snapshot {
    /// The snapshot of every instance (a cold start, or a process too far behind), reusing
    /// `previous`'s plugins where a row's config and item (and what it needs) did not change.
    pub(super) fn build(
        registry: &Registry,
        keyring: Option<&Keyring>,
        revision: u64,
        records: Vec<InstanceRecord>,
        switches: Vec<ActivationRecord>,
        previous: &Snapshot,
    ) -> Snapshot {
        let none = HashSet::new();
        let loader = Loader {
            registry,
            keyring,
            previous,
            force: &none,
        };
        let switches: Vec<SwitchEdit> = switches
            .into_iter()
            .map(|record| (record.key, Some(record.on)))
            .collect();
        Snapshot::default()
            .patched(&loader, revision, records, &[], &switches)
            .0
    }

    /// This snapshot after `changed` rows were written and the instances `ids` (every id the
    /// change log named) were read: an id with no row among `changed` was deleted. Only the
    /// slots the changed instances were or are in are rebuilt, and the instances that need
    /// one whose selection changed; everything else is shared. Also returns the ids of those
    /// dependents (rebuilt though the change did not name them). `switches` are the
    /// tenants' switches the change set or removed.
    pub(super) fn apply(
        &self,
        registry: &Registry,
        keyring: Option<&Keyring>,
        revision: u64,
        changed: Vec<InstanceRecord>,
        ids: &[InstanceId],
        switches: &[SwitchEdit],
    ) -> (Snapshot, Vec<InstanceId>) {
        let none = HashSet::new();
        let loader = Loader {
            registry,
            keyring,
            previous: self,
            force: &none,
        };
        self.patched(&loader, revision, changed, ids, switches)
    }

    /// The instances whose secret references now resolve to something else than when they
    /// were built (a rotated secret file, one that appeared or went away): their rows, to
    /// build again. Reads no store: the rows are the entries' own.
    pub(super) fn secrets_moved(
        &self,
        registry: &Registry,
        keyring: Option<&Keyring>,
    ) -> Vec<InstanceRecord> {
        self.entries()
            .filter(|entry| entry.secrets_seen.is_some())
            .filter_map(|entry| {
                let schema = registry.item(&entry.meta.item).ok()?.schema()?;
                let record = entry.record();
                let stored = open_config(keyring, &record, Some(schema)).ok()??;
                let (_, seen) = resolve_seen(schema, &stored);
                (seen != entry.secrets_seen).then_some(record)
            })
            .collect()
    }

    /// This snapshot with the instances of `records` built again from their rows, which did
    /// not change (their secrets did), and the instances that need them rebuilt as after a
    /// write; also returns the ids of those dependents.
    pub(super) fn rebuilt(
        &self,
        registry: &Registry,
        keyring: Option<&Keyring>,
        records: Vec<InstanceRecord>,
    ) -> (Snapshot, Vec<InstanceId>) {
        let force: HashSet<InstanceId> = records.iter().map(|record| record.meta.id).collect();
        let named: Vec<InstanceId> = force.iter().copied().collect();
        let loader = Loader {
            registry,
            keyring,
            previous: self,
            force: &force,
        };
        self.patched(&loader, self.revision, records, &named, &[])
    }

    /// This snapshot with `records` loaded and the instances of `named` without a record
    /// deleted, depth by depth of the dependency graph: an instance is built after the
    /// instances it needs, from the slots as they are after them. Before each depth, the
    /// instances of that depth that need something whose selection changed are rebuilt too.
    fn patched(
        &self,
        loader: &Loader<'_>,
        revision: u64,
        records: Vec<InstanceRecord>,
        named: &[InstanceId],
        switch_edits: &[SwitchEdit],
    ) -> (Snapshot, Vec<InstanceId>) {
        let registry = loader.registry;
        let mut handled: HashSet<InstanceId> = named.iter().copied().collect();
        handled.extend(records.iter().map(|record| record.meta.id));
        let mut deleted: HashSet<InstanceId> = named.iter().copied().collect();
        for record in &records {
            deleted.remove(&record.meta.id);
        }
        let mut work: BTreeMap<usize, Vec<InstanceRecord>> = BTreeMap::new();
        for record in records {
            let depth = registry.depth(&record.meta.item);
            work.entry(depth).or_default().push(record);
        }
        // Every depth up to the deepest item's: a change at depth 0 can reach a dependent at
        // any depth.
        let deepest = registry.deepest();
        let switches = self.switches_after(switch_edits);
        let mut state = Patch {
            base: self,
            slots: HashMap::new(),
            entries: HashMap::new(),
            switches,
        };
        // A switch changes what its tenant is served of each type its instance serves: the
        // tenant's dependents needing those types are checked as if those slots changed.
        let switched: HashSet<SlotKey> = switch_edits
            .iter()
            .filter_map(|(key, _)| Some((key, self.entry(key.instance)?)))
            .flat_map(|(key, entry)| {
                let tenant: Arc<str> = Arc::from(key.scope.as_str());
                entry
                    .placements()
                    .map(move |(_, type_id, _)| (Some(Arc::clone(&tenant)), type_id))
            })
            .collect();
        let mut rebuilt = Vec::new();
        for depth in 0..=deepest {
            let mut batch = work.remove(&depth).unwrap_or_default();
            let mut gone: HashSet<InstanceId> = batch.iter().map(|r| r.meta.id).collect();
            if depth == 0 {
                gone.extend(deleted.iter().copied());
            }
            if depth > 0 {
                // The dependents of this depth that the slots changed so far can reach.
                let reached: HashSet<InstanceId> = state
                    .slots
                    .keys()
                    .chain(&switched)
                    .flat_map(|(scope, type_id)| self.dependents.reached_by(scope, *type_id))
                    .filter(|(id, at)| *at == depth && !handled.contains(id))
                    .map(|(id, _)| id)
                    .collect();
                for id in reached {
                    let Some(entry) = state.entry(id) else {
                        continue;
                    };
                    if state.providers_changed(registry, entry) {
                        rebuilt.push(id);
                        handled.insert(id);
                        gone.insert(id);
                        batch.push(entry.record());
                    }
                }
            }
            if gone.is_empty() {
                continue;
            }
            state.replace(loader, batch, &gone, depth == 0, &deleted);
        }
        let Patch {
            slots,
            entries,
            switches,
            ..
        } = state;
        let next = self.with(
            registry,
            revision,
            entries.into_iter().collect(),
            slots.into_iter().collect(),
            switches,
        );
        (next, rebuilt)
    }

    /// The failing instances after `entries` are set (or removed): the same set, shared,
    /// unless one of them starts or stops failing.
    fn failing_after(
        &self,
        entries: &[(InstanceId, Option<Arc<Entry>>)],
    ) -> Arc<HashSet<InstanceId>> {
        let fails = |entry: &Option<Arc<Entry>>| {
            entry
                .as_deref()
                .is_some_and(|entry| matches!(entry.state, EntryState::Failed(_)))
        };
        let moved = entries
            .iter()
            .any(|(id, entry)| self.failing.contains(id) != fails(entry));
        if !moved {
            return Arc::clone(&self.failing);
        }
        let mut failing = (*self.failing).clone();
        for (id, entry) in entries {
            match fails(entry) {
                true => failing.insert(*id),
                false => failing.remove(id),
            };
        }
        Arc::new(failing)
    }

    /// The instances that do not load and that a lookup of `type_id` in `scope` would
    /// otherwise choose among (ACTIVE or RESERVED; the scope's own and the global ones;
    /// `serves` says whether an item serves the type), in selection order: for the error of
    /// a lookup that found nothing. Reads only the failing instances, at most `limit` of
    /// them; also says whether that was all of them.
    pub(super) fn unloadable_for(
        &self,
        scope: Option<&str>,
        serves: &dyn Fn(&crate::keys::ItemKey) -> bool,
        limit: usize,
    ) -> (Vec<&Entry>, bool) {
        let mut found: Vec<&Entry> = self
            .failing
            .iter()
            .take(limit)
            .filter_map(|id| self.entry(*id))
            .filter(|entry| matches!(entry.state, EntryState::Failed(_)))
            .filter(|entry| entry.meta.status != Status::Disabled)
            .filter(|entry| entry.meta.scope.is_none() || entry.meta.scope.as_deref() == scope)
            .filter(|entry| serves(&entry.meta.item))
            .collect();
        found.sort_by_key(|entry| (entry.meta.status, entry.meta.priority, entry.meta.id));
        (found, self.failing.len() <= limit)
    }

    /// The switches of each tenant `edits` touch, after them.
    fn switches_after(&self, edits: &[SwitchEdit]) -> HashMap<Arc<str>, Arc<Switches>> {
        let mut after: HashMap<Arc<str>, Switches> = HashMap::new();
        for (key, on) in edits {
            let tenant: &str = &key.scope;
            let switches = match after.get_mut(tenant) {
                Some(switches) => switches,
                None => {
                    let current = self
                        .tenants
                        .get(tenant)
                        .map(|tenant| (*tenant.switches).clone())
                        .unwrap_or_default();
                    after.entry(Arc::from(tenant)).or_insert(current)
                }
            };
            match on {
                Some(on) => switches.insert(key.instance, *on),
                None => switches.remove(&key.instance),
            };
        }
        after
            .into_iter()
            .map(|(tenant, switches)| (tenant, Arc::new(switches)))
            .collect()
    }

    /// Whether `tenant` is served the global instance `entry` (as its switch says, or without
    /// one unless its item is `per_tenant`), and why not: the one rule of the tenant's views,
    /// for lookups by id and for listings.
    pub(super) fn tenant_access(&self, tenant: &str, entry: &Entry) -> TenantAccess {
        match self.switches_of(tenant).and_then(|s| s.get(&entry.meta.id)) {
            Some(true) => TenantAccess::SwitchedOn,
            Some(false) => TenantAccess::SwitchedOff,
            None if entry.per_tenant => TenantAccess::NeedsActivation,
            None => TenantAccess::Default,
        }
    }

    /// The switches of `tenant` (none when it has none).
    fn switches_of(&self, tenant: &str) -> Option<&Switches> {
        self.tenants.get(tenant).map(|tenant| &*tenant.switches)
    }

    /// The started instances of this snapshot that `next` no longer holds (replaced,
    /// disabled, deleted, orphaned): what to stop once they are drained. `among` limits the
    /// search to the instances a change named (`None`: all, after a full reload).
    pub(super) fn retired(&self, next: &Snapshot, among: Option<&[InstanceId]>) -> Vec<Arc<Live>> {
        let live = |entry: &Entry| match &entry.state {
            EntryState::Loaded {
                live: Some(live), ..
            } => Some(Arc::clone(live)),
            _ => None,
        };
        let retired = |entry: &Entry| {
            let old = live(entry)?;
            let kept = next
                .entry(entry.meta.id)
                .and_then(live)
                .is_some_and(|new| Arc::ptr_eq(&new, &old));
            (!kept).then_some(old)
        };
        match among {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.entry(*id))
                .filter_map(retired)
                .collect(),
            None => self.entries().filter_map(retired).collect(),
        }
    }

    /// The instances whose needs `provider` may meet (the dependents in its scope, or in
    /// every scope for a global one, that need a type it serves): what to check before it
    /// goes away.
    pub(super) fn dependents_of(&self, provider: &Entry) -> HashSet<InstanceId> {
        let scope = provider.meta.scope.as_deref().map(Arc::from);
        provider
            .placements()
            .flat_map(|(_, type_id, _)| self.dependents.reached_by(&scope, type_id))
            .map(|(id, _)| id)
            .collect()
    }

    /// The ids of the instances a lookup of `type_id` in `scope` chooses among (ACTIVE and
    /// RESERVED, the scope's own and the global ones): what can meet a need there.
    pub(super) fn providers_of(&self, scope: Option<&str>, type_id: TypeId) -> Vec<InstanceId> {
        self.view(scope, type_id).ids().collect()
    }

    /// Every started instance, in stop order: the deepest dependents first, what nothing
    /// needs last (for shutdown).
    pub(super) fn lives(&self) -> Vec<Arc<Live>> {
        let mut lives: Vec<(usize, Arc<Live>)> = self
            .entries()
            .filter_map(|entry| match &entry.state {
                EntryState::Loaded {
                    live: Some(live), ..
                } => Some((entry.depth, Arc::clone(live))),
                _ => None,
            })
            .collect();
        lives.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
        lives.into_iter().map(|(_, live)| live).collect()
    }

    /// The slot at `key`.
    fn slot(&self, key: &SlotKey) -> Option<&TypeSlot> {
        match &key.0 {
            None => self.global.get(&key.1),
            Some(tenant) => self.tenants.get(&**tenant)?.slots.get(&key.1),
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
        registry: &Registry,
        revision: u64,
        entries: Vec<(InstanceId, Option<Arc<Entry>>)>,
        slots: Vec<(SlotKey, SlotEdit)>,
        mut switches: HashMap<Arc<str>, Arc<Switches>>,
    ) -> Snapshot {
        let mut global = self.global.clone();
        let mut per_tenant: HashMap<Arc<str>, Vec<(TypeId, SlotEdit)>> = HashMap::new();
        for ((tenant, type_id), slot) in slots {
            match tenant {
                None => match slot {
                    Some(slot) => {
                        global.insert(type_id, slot);
                    }
                    None => {
                        global.remove(&type_id);
                    }
                },
                Some(tenant) => per_tenant.entry(tenant).or_default().push((type_id, slot)),
            }
        }
        // Tenants whose switches changed but none of whose slots did are edited too.
        for tenant in switches.keys() {
            per_tenant.entry(Arc::clone(tenant)).or_default();
        }
        let tenant_edits: Vec<_> = per_tenant
            .into_iter()
            .map(|(name, changes)| {
                let mut tenant: Tenant = self
                    .tenants
                    .get(&*name)
                    .map(|tenant| (**tenant).clone())
                    .unwrap_or_default();
                for (type_id, slot) in changes {
                    match slot {
                        Some(slot) => {
                            tenant.slots.insert(type_id, slot);
                        }
                        None => {
                            tenant.slots.remove(&type_id);
                        }
                    }
                }
                if let Some(switched) = switches.remove(&name) {
                    tenant.switches = switched;
                }
                let kept = !tenant.slots.is_empty() || !tenant.switches.is_empty();
                (name, kept.then(|| Arc::new(tenant)))
            })
            .collect();
        let dependents = self
            .dependents
            .edited(registry, &entries, |id| self.entry(id));
        let failing = self.failing_after(&entries);
        Snapshot {
            revision,
            global,
            tenants: self.tenants.edited(tenant_edits),
            instances: self.instances.edited(entries),
            dependents,
            failing,
        }
    }
}

/// What loading a record reads besides the record: the registry, the key, and the
/// snapshot whose plugins may be reused.
struct Loader<'a> {
    registry: &'a Registry,
    keyring: Option<&'a Keyring>,
    previous: &'a Snapshot,
    /// Instances built again even when their row did not change (their secrets did).
    force: &'a HashSet<InstanceId>,
}

/// A snapshot being patched: the slots and entries replaced so far, over `base`.
struct Patch<'a> {
    base: &'a Snapshot,
    slots: HashMap<SlotKey, SlotEdit>,
    entries: HashMap<InstanceId, Option<Arc<Entry>>>,
    /// The switches of the tenants the change touched, after it.
    switches: HashMap<Arc<str>, Arc<Switches>>,
}

impl Patch<'_> {
    /// The slot at `key` as patched so far.
    fn slot(&self, key: &SlotKey) -> Option<&TypeSlot> {
        match self.slots.get(key) {
            Some(patched) => patched.as_deref(),
            None => self.base.slot(key),
        }
    }

    /// The entry of `id` as patched so far.
    fn entry(&self, id: InstanceId) -> Option<&Entry> {
        match self.entries.get(&id) {
            Some(patched) => patched.as_deref(),
            None => self.base.entry(id),
        }
    }

    /// What `scoped(scope).get` of `type_id` selects as patched so far, and the address of
    /// the selected instance's object (what tells a rebuilt provider from a re-labelled one).
    fn resolve(&self, scope: Option<&str>, type_id: TypeId) -> Option<(ErasedPlugin, usize)> {
        let global = self.slot(&(None, type_id));
        let view = match scope {
            None => View {
                own: global,
                fallback: None,
                switches: None,
            },
            Some(scope) => View {
                own: self.slot(&(Some(Arc::from(scope)), type_id)),
                fallback: global,
                switches: match self.switches.get(scope) {
                    Some(switches) => Some(&**switches),
                    None => self.base.switches_of(scope),
                },
            },
        };
        let plugin = view.first()?;
        let meta = view.first_meta()?;
        let object = self.entry(meta.id)?.object_address()?;
        Some((Arc::clone(plugin), object))
    }

    /// Whether what `entry` needs resolves, as patched so far, to other instances than the
    /// ones it was built with.
    fn providers_changed(&self, registry: &Registry, entry: &Entry) -> bool {
        if matches!(entry.state, EntryState::Orphaned) {
            return false;
        }
        let Ok(item) = registry.item(&entry.meta.item) else {
            return false;
        };
        let now = resolve_needs(item, entry.meta.scope.as_deref(), |scope, type_id| {
            self.resolve(scope, type_id)
        });
        now.iter()
            .map(|need| need.object)
            .ne(entry.providers.iter().copied())
    }

    /// Loads `batch`, taking the instances of `gone` (the batch's, and at the first depth
    /// the deleted ones) out of the slots they were in and putting the new entries in theirs.
    fn replace(
        &mut self,
        loader: &Loader<'_>,
        batch: Vec<InstanceRecord>,
        gone: &HashSet<InstanceId>,
        first: bool,
        deleted: &HashSet<InstanceId>,
    ) {
        let mut touched: HashSet<SlotKey> = HashSet::new();
        for id in gone {
            if let Some(entry) = self.entry(*id) {
                for (scope, type_id, _) in entry.placements() {
                    touched.insert((scope.map(Arc::from), type_id));
                }
            }
        }
        if first {
            for id in deleted {
                self.entries.insert(*id, None);
            }
        }
        // The instances of one depth need nothing from each other: they are built one after
        // the other, and started side by side (at most `STARTS_AT_ONCE` at a time), so a
        // cold start with many slow start hooks waits about as long as the slowest.
        let mut loaded = Vec::with_capacity(batch.len());
        let mut starting: VecDeque<(Entry, Starting)> = VecDeque::new();
        for record in batch {
            let (entry, start) = load(loader, record, |scope, type_id| {
                self.resolve(scope, type_id)
            });
            let Some(start) = start else {
                loaded.push(Arc::new(entry));
                continue;
            };
            if starting.len() == STARTS_AT_ONCE
                && let Some((entry, start)) = starting.pop_front()
            {
                loaded.push(Arc::new(started(entry, start)));
            }
            starting.push_back((entry, start));
        }
        loaded.extend(
            starting
                .into_iter()
                .map(|(entry, start)| Arc::new(started(entry, start))),
        );
        let mut added: HashMap<SlotKey, Vec<Candidate>> = HashMap::new();
        for entry in &loaded {
            if let EntryState::Failed(reason) = &entry.state {
                tracing::warn!(
                    instance = %entry.meta.id,
                    name = %entry.meta.name,
                    item = %entry.meta.item,
                    %reason,
                    "plugin instance does not load; selection skips it"
                );
            }
            for (scope, type_id, plugin) in entry.placements() {
                let key = (scope.map(Arc::from), type_id);
                touched.insert(key.clone());
                added.entry(key).or_default().push(candidate(entry, plugin));
            }
        }
        for entry in loaded {
            self.entries.insert(entry.meta.id, Some(entry));
        }
        for key in touched {
            let relabel = relabel_of(loader.registry, key.1);
            let added = added.remove(&key).unwrap_or_default();
            let slot = match self.slot(&key) {
                Some(current) => current.edited(gone, added, relabel),
                None => TypeSlot::of(added, relabel),
            };
            self.slots.insert(key, slot.map(Arc::new));
        }
    }
}

/// One need of an instance, resolved: the plugin it is given and its object's address.
struct Resolved {
    type_id: TypeId,
    name: &'static str,
    plugin: Option<ErasedPlugin>,
    object: Option<usize>,
}

/// What `item`'s needs resolve to in `scope`.
fn resolve_needs(
    item: &'static ItemInfo,
    scope: Option<&str>,
    resolve: impl Fn(Option<&str>, TypeId) -> Option<(ErasedPlugin, usize)>,
) -> Vec<Resolved> {
    item.needs()
        .map(|need| {
            let found = resolve(scope, need.trait_object_id());
            Resolved {
                type_id: need.trait_object_id(),
                name: need.name(),
                object: found.as_ref().map(|(_, object)| *object),
                plugin: found.map(|(plugin, _)| plugin),
            }
        })
        .collect()
}

fn candidate(entry: &Entry, plugin: &ErasedPlugin) -> Candidate {
    Candidate {
        meta: entry.meta.clone(),
        plugin: Arc::clone(plugin),
        gated: entry.per_tenant,
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
    loader: &Loader<'_>,
    record: InstanceRecord,
    resolve: impl Fn(Option<&str>, TypeId) -> Option<(ErasedPlugin, usize)>,
) -> (Entry, Option<Starting>) {
    let registry = loader.registry;
    let own = registry
        .type_by_key(&record.meta.item.type_key)
        .map(|ty| ty.info);
    // The item whose code builds it: none when the row is orphaned or its type is gone.
    let item = match (registry.item(&record.meta.item), own) {
        (Ok(item), Some(_)) if !record.orphaned => Some(item),
        _ => None,
    };
    let depth = registry.depth(&record.meta.item);
    let per_tenant = registry
        .item(&record.meta.item)
        .is_ok_and(|item| item.is_per_tenant());
    let needs = match item {
        Some(item) if depth > 0 => resolve_needs(item, record.meta.scope.as_deref(), resolve),
        _ => Vec::new(),
    };
    let providers: Vec<Option<usize>> = needs.iter().map(|need| need.object).collect();
    let previous = loader.previous.entry_arc_of(record.meta.id);
    let (state, starting, secrets_seen) = match item {
        Some(item) => load_state(
            loader,
            item,
            &record,
            previous.as_deref(),
            &needs,
            &providers,
        ),
        None => (EntryState::Orphaned, None, None),
    };
    let entry = Entry {
        own_type: own.map(TypeInfo::trait_object_id),
        // Kept to build it again without the store: when what it needs changes, or what
        // its secrets' references resolve to.
        sealed_config: if depth > 0 || secrets_seen.is_some() {
            record.sealed_config.clone()
        } else {
            None
        },
        secrets_seen,
        meta: record.meta,
        description: record.description,
        updated_at: record.updated_at,
        managed_by: record.managed_by,
        state,
        depth,
        per_tenant,
        providers,
    };
    (entry, starting)
}

/// `entry` once its start has finished: started, or a load failure saying why not.
fn started(mut entry: Entry, start: Starting) -> Entry {
    match start.finish() {
        Ok(started) => {
            if let EntryState::Loaded { live, .. } = &mut entry.state {
                *live = Some(started);
            }
        }
        Err(reason) => entry.state = EntryState::Failed(reason),
    }
    entry
}

fn load_state(
    loader: &Loader<'_>,
    item: &'static ItemInfo,
    record: &InstanceRecord,
    previous: Option<&Entry>,
    needs: &[Resolved],
    providers: &[Option<usize>],
) -> (EntryState, Option<Starting>, SecretsSeen) {
    let hooks = item.lifecycle().copied();
    if hooks.is_some() && record.meta.status == Status::Disabled {
        return (EntryState::NotStarted, None, None);
    }
    if let Some(unmet) = needs.iter().find(|need| need.plugin.is_none()) {
        let place = match &record.meta.scope {
            Some(scope) => format!("in scope `{scope}` or global"),
            None => "global".to_owned(),
        };
        let reason = format!(
            "needs `{}`: no ACTIVE or RESERVED instance {place}",
            unmet.name
        );
        return (EntryState::Failed(reason), None, None);
    }
    if let Some(Entry {
        meta,
        state:
            EntryState::Loaded {
                object,
                views,
                built_from,
                live,
            },
        providers: built_with,
        ..
    }) = previous
        && *built_from == record.sealed_config
        && meta.item == record.meta.item
        && built_with == providers
        && !loader.force.contains(&record.meta.id)
    {
        // The same object, re-labelled when its status or priority changed.
        let views = if *meta == record.meta {
            views.clone()
        } else {
            views_of(item, object, &record.meta)
        };
        let state = EntryState::Loaded {
            object: Arc::clone(object),
            views,
            built_from: built_from.clone(),
            live: live.clone(),
        };
        return (
            state,
            None,
            previous.and_then(|previous| previous.secrets_seen),
        );
    }
    let values = match open_config(loader.keyring, record, item.schema()) {
        Ok(values) => values,
        Err(reason) => return (EntryState::Failed(reason), None, None),
    };
    // Secrets held as references (`{ env = .. }`, `{ file = .. }`) are read here, in this
    // process, for this build only: the store never holds their values.
    let (values, secrets_seen) = match (&values, item.schema()) {
        (Some(stored), Some(schema)) => match resolve_seen(schema, stored) {
            (Ok(resolved), seen) => (Some(resolved), seen),
            (Err(reason), seen) => return (EntryState::Failed(reason), None, seen),
        },
        _ => (values.as_ref().map(std::borrow::Cow::Borrowed), None),
    };
    let resolved: Vec<(TypeId, ErasedPlugin)> = needs
        .iter()
        .filter_map(|need| Some((need.type_id, Arc::clone(need.plugin.as_ref()?))))
        .collect();
    let key = record.meta.item.to_string();
    let given = if resolved.is_empty() {
        Needs::none()
    } else {
        Needs::new(&key, &resolved)
    };
    let object = match item.build(values.as_deref(), &given) {
        Ok(object) => object,
        Err(err) => return (EntryState::Failed(err.report()), None, secrets_seen),
    };
    // Started before any snapshot holds it (see `started`): readers never get a plugin that
    // has not started.
    let starting = hooks.map(|hooks| lifecycle::begin(hooks, &object, &record.meta));
    let state = EntryState::Loaded {
        views: views_of(item, &object, &record.meta),
        object,
        built_from: record.sealed_config.clone(),
        live: None,
    };
    (state, starting, secrets_seen)
}

/// A built object viewed as each type its item serves and each of their parent types, each
/// type once (the first way it is reached wins).
fn views_of(
    item: &'static ItemInfo,
    object: &ErasedObject,
    meta: &InstanceMeta,
) -> Vec<(TypeId, ErasedPlugin)> {
    let mut views: Vec<(TypeId, ErasedPlugin)> = Vec::new();
    for (served, plugin) in item.views(object, meta) {
        let (mut info, mut plugin) = (served, plugin);
        loop {
            let type_id = info.trait_object_id();
            if !views.iter().any(|(seen, _)| *seen == type_id) {
                views.push((type_id, Arc::clone(&plugin)));
            }
            let Some(link) = info.parent_link() else {
                break;
            };
            let Some(upcast) = (link.upcast())(&plugin) else {
                break;
            };
            (info, plugin) = (link.info(), upcast);
        }
    }
    views
}

/// Decrypts and parses an instance's config and brings it to `schema`'s version (the
/// item's config; `None` for an item without one, or one no longer registered: the values are
/// then returned as stored). Errors are texts for reports: they never contain config values.
pub(crate) fn open_config(
    keyring: Option<&Keyring>,
    record: &InstanceRecord,
    schema: Option<&ConfigSchema>,
) -> Result<Option<ConfigValues>, String> {
    let Some((values, version)) = open_stored(keyring, record)? else {
        return Ok(None);
    };
    match schema {
        Some(schema) => schema
            .upgrade(values, version)
            .map(Some)
            .map_err(|err| err.to_string()),
        None => Ok(Some(values)),
    }
}

/// Decrypts and parses an instance's config as stored: its values and the config version
/// they were sealed under, not upgraded.
pub(crate) fn open_stored(
    keyring: Option<&Keyring>,
    record: &InstanceRecord,
) -> Result<Option<(ConfigValues, u32)>, String> {
    let Some(sealed) = &record.sealed_config else {
        return Ok(None);
    };
    let keyring = keyring.ok_or_else(|| "no encryption key is configured".to_owned())?;
    let plaintext = keyring
        .open(record.meta.id, sealed)
        .map_err(|err| err.to_string())?;
    let values = serde_json::from_slice::<ConfigValues>(&plaintext)
        .map_err(|_| "the decrypted config is not a JSON object".to_owned())?;
    split_version(values)
        .map(Some)
        .map_err(|err| err.to_string())
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
