//! The instances that need other plugin types, indexed by what they need and where they
//! live: a change to the slot of type `T` in tenant `s` can only change what the dependents
//! needing `T` in `s` resolve to, and a change to the global slot of `T` what those needing
//! `T` anywhere resolve to (a tenant falls back to it). So a write checks the dependents its
//! change can reach, not every dependent: the same cost at 10,000 tenants as at 10.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use super::cow::{CowMap, ShardOf};
use super::{ByType, Entry};
use crate::keys::InstanceId;
use crate::registry::Registry;

/// Where a dependent lives: its tenant, `None` for a global instance.
pub(super) type Scope = Option<Arc<str>>;

impl ShardOf for Option<Arc<str>> {
    fn shard_of(&self) -> usize {
        self.as_deref().map_or(0, ShardOf::shard_of)
    }
}

/// Dependents, each with its depth (see [`Registry::depth`]).
type List = Vec<(InstanceId, usize)>;

/// The dependents of each scope.
type ByScope = CowMap<Scope, List, foldhash::fast::RandomState>;

/// The index: by needed type, then by scope. Copy-on-write like the rest of a snapshot, so
/// an edit copies the lists it changes and shares the others.
#[derive(Clone, Default)]
pub(super) struct Dependents {
    by_need: ByType<ByScope>,
}

impl Dependents {
    /// The dependents (with their depth) whose needs a change to the slot of `type_id` in
    /// `scope` can reach.
    pub(super) fn reached_by(
        &self,
        scope: &Scope,
        type_id: TypeId,
    ) -> Box<dyn Iterator<Item = (InstanceId, usize)> + '_> {
        let Some(by_scope) = self.by_need.get(&type_id) else {
            return Box::new(std::iter::empty());
        };
        match scope {
            Some(_) => Box::new(by_scope.get(scope).into_iter().flatten().copied()),
            None => Box::new(by_scope.values().flatten().copied()),
        }
    }

    /// This index after these entries were set (or removed, for `None`); `old` gives an id's
    /// entry before the change. Shared with `self` when none of them is or was a dependent.
    pub(super) fn edited<'a>(
        &self,
        registry: &Registry,
        entries: &[(InstanceId, Option<Arc<Entry>>)],
        old: impl Fn(InstanceId) -> Option<&'a Entry>,
    ) -> Dependents {
        let mut lists: HashMap<(TypeId, Scope), List> = HashMap::new();
        for (id, new) in entries {
            if let Some(old) = old(*id) {
                for type_id in needed(registry, old) {
                    self.list_in(&mut lists, type_id, scope_of(old))
                        .retain(|(dependent, _)| dependent != id);
                }
            }
            if let Some(new) = new {
                for type_id in needed(registry, new) {
                    self.list_in(&mut lists, type_id, scope_of(new))
                        .push((*id, new.depth));
                }
            }
        }
        if lists.is_empty() {
            return self.clone();
        }
        let mut per_type: ByType<Vec<(Scope, Option<List>)>> = ByType::default();
        for ((type_id, scope), list) in lists {
            let list = (!list.is_empty()).then_some(list);
            per_type.entry(type_id).or_default().push((scope, list));
        }
        let mut by_need = self.by_need.clone();
        for (type_id, edits) in per_type {
            let by_scope = by_need.remove(&type_id).unwrap_or_default().edited(edits);
            if by_scope.len() > 0 {
                by_need.insert(type_id, by_scope);
            }
        }
        Dependents { by_need }
    }

    /// The list of `(type_id, scope)` being edited in `lists`, from this index's the first
    /// time.
    fn list_in<'l>(
        &self,
        lists: &'l mut HashMap<(TypeId, Scope), List>,
        type_id: TypeId,
        scope: Scope,
    ) -> &'l mut List {
        let current = self
            .by_need
            .get(&type_id)
            .and_then(|by_scope| by_scope.get(&scope));
        lists
            .entry((type_id, scope))
            .or_insert_with(|| current.cloned().unwrap_or_default())
    }
}

/// The types `entry`'s item needs (none for an instance at depth 0).
fn needed(registry: &Registry, entry: &Entry) -> Vec<TypeId> {
    match registry.item(&entry.meta.item) {
        Ok(item) if entry.depth > 0 => item.needs().map(|need| need.trait_object_id()).collect(),
        _ => Vec::new(),
    }
}

fn scope_of(entry: &Entry) -> Scope {
    entry.meta.scope.as_deref().map(Arc::from)
}
