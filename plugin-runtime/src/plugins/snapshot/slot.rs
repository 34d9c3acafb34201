//! Slots and views: what one lookup reads.
//!
//! A slot holds the selectable instances of one type in one place (one tenant's own, or the
//! global ones), in selection order: ACTIVE, then RESERVED; within each, by (priority, id). A
//! lookup in a tenant's scope reads a [`View`] of two slots, the tenant's and the global one,
//! in the order the rules give (the tenant's ACTIVE, the global ACTIVE, the tenant's RESERVED,
//! the global RESERVED), without merging them into a copy. So a change to a global instance
//! rebuilds one slot, not one per tenant.
//!
//! A tenant's view also carries its switches of global instances: a global candidate the
//! tenant switched off, or one of a `per_tenant` item it has not switched on, is skipped in
//! the global slot behind its own (global lookups see every global candidate). Without
//! switches or gated candidates a lookup takes the same path as before.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Switches;
use crate::instance::InstanceMeta;
use crate::keys::{InstanceId, Status};
use crate::registration::ErasedPlugin;
use crate::select::{Candidates, Segment};

/// Handles per selected plugin (threads beyond this share them).
const HANDLES: usize = 16;

/// One loadable, selectable instance as a slot of one type holds it: its metadata and the
/// plugin viewed as that type.
#[derive(Clone)]
pub(super) struct Candidate {
    pub(super) meta: InstanceMeta,
    pub(super) plugin: ErasedPlugin,
    /// Its item is `per_tenant`: a tenant is served it (from the global slot) only once it
    /// switched it on.
    pub(super) gated: bool,
}

impl Candidate {
    fn order(&self) -> (Status, i32, InstanceId) {
        (self.meta.status, self.meta.priority, self.meta.id)
    }
}

/// The selectable instances of one type in one place, in selection order (never empty).
pub(in crate::plugins) struct TypeSlot {
    pub(in crate::plugins) plugins: Vec<ErasedPlugin>,
    pub(in crate::plugins) metas: Vec<InstanceMeta>,
    /// How many of them are ACTIVE (a prefix).
    pub(in crate::plugins) active: usize,
    /// Which of them are of `per_tenant` items (empty when none is).
    gated: Vec<bool>,
    /// The first plugin behind [`HANDLES`] handles of its own: threads calling `get` at once
    /// clone different reference counts instead of contending for one.
    selected: Vec<ErasedPlugin>,
}

impl TypeSlot {
    /// The slot of these candidates, or `None` when there is none.
    pub(super) fn of(
        mut candidates: Vec<Candidate>,
        relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    ) -> Option<TypeSlot> {
        if candidates.is_empty() {
            return None;
        }
        candidates.sort_by_key(Candidate::order);
        let active = candidates
            .iter()
            .take_while(|c| c.meta.status == Status::Active)
            .count();
        let selected = (0..HANDLES)
            .map(|_| relabel(&candidates[0].plugin, candidates[0].meta.clone()))
            .collect();
        let gated = match candidates.iter().any(|c| c.gated) {
            true => candidates.iter().map(|c| c.gated).collect(),
            false => Vec::new(),
        };
        let (metas, plugins) = candidates.into_iter().map(|c| (c.meta, c.plugin)).unzip();
        Some(TypeSlot {
            plugins,
            metas,
            active,
            gated,
            selected,
        })
    }

    /// This slot without the instances in `gone`, with `added`: what a change to a few
    /// instances makes of it (`None` when nothing is left).
    pub(super) fn edited(
        &self,
        gone: &HashSet<InstanceId>,
        added: Vec<Candidate>,
        relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    ) -> Option<TypeSlot> {
        let kept = self
            .metas
            .iter()
            .zip(&self.plugins)
            .enumerate()
            .filter(|(_, (meta, _))| !gone.contains(&meta.id))
            .map(|(index, (meta, plugin))| Candidate {
                meta: meta.clone(),
                plugin: plugin.clone(),
                gated: self.is_gated(index),
            });
        TypeSlot::of(kept.chain(added).collect(), relabel)
    }

    /// Whether the candidate at `index` is of a `per_tenant` item.
    fn is_gated(&self, index: usize) -> bool {
        self.gated.get(index).copied().unwrap_or(false)
    }

    /// The first plugin, through this thread's handle.
    pub(super) fn selected(&self) -> Option<&ErasedPlugin> {
        thread_local! {
            static HANDLE: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % HANDLES
            };
        }
        HANDLE.with(|handle| self.selected.get(*handle))
    }
}

/// What a lookup of one type reads: the slot of the scope asked for (`own`: the tenant's, or
/// the global one for an unscoped lookup) and, for a tenant, the global one behind it with
/// the tenant's switches of global instances.
#[derive(Clone, Copy, Default)]
pub(in crate::plugins) struct View<'a> {
    pub(super) own: Option<&'a TypeSlot>,
    pub(super) fallback: Option<&'a TypeSlot>,
    pub(super) switches: Option<&'a Switches>,
}

impl<'a> View<'a> {
    /// Whether some global candidate may be hidden from this tenant: it has switches, or the
    /// global slot holds candidates of `per_tenant` items. When not, nothing is filtered.
    fn filters(&self, fallback: &TypeSlot) -> bool {
        self.switches.is_some_and(|switches| !switches.is_empty()) || !fallback.gated.is_empty()
    }

    /// Whether the global candidate at `index` is served to this tenant: as its switch says,
    /// or without one unless its item is `per_tenant`.
    fn allowed(&self, fallback: &TypeSlot, index: usize) -> bool {
        let id = fallback.metas[index].id;
        match self.switches.and_then(|switches| switches.get(&id)) {
            Some(on) => *on,
            None => !fallback.is_gated(index),
        }
    }

    /// The indices of the global candidates in `range` this tenant is served.
    fn served(
        self,
        fallback: &'a TypeSlot,
        range: Range<usize>,
    ) -> impl Iterator<Item = usize> + 'a {
        let filtering = self.filters(fallback);
        range.filter(move |&index| !filtering || self.allowed(fallback, index))
    }

    /// The slot and index of the instance the default selection serves: an ACTIVE one of the
    /// scope's own, else a global ACTIVE one served to it, else the scope's RESERVED, else a
    /// global one served to it.
    fn chosen(&self) -> Option<(&'a TypeSlot, usize)> {
        if let Some(own) = self.own
            && own.active > 0
        {
            return Some((own, 0));
        }
        if let Some(fallback) = self.fallback
            && let Some(index) = self.served(fallback, 0..fallback.active).next()
        {
            return Some((fallback, index));
        }
        if let Some(own) = self.own {
            return Some((own, 0));
        }
        let fallback = self.fallback?;
        let index = self
            .served(fallback, fallback.active..fallback.metas.len())
            .next()?;
        Some((fallback, index))
    }

    /// The selected plugin, through this thread's handle of it (when it is its slot's first).
    pub(in crate::plugins) fn selected(&self) -> Option<&'a ErasedPlugin> {
        match self.chosen()? {
            (slot, 0) => slot.selected(),
            (slot, index) => slot.plugins.get(index),
        }
    }

    /// The selected plugin itself (one shared reference count).
    pub(in crate::plugins) fn first(&self) -> Option<&'a ErasedPlugin> {
        let (slot, index) = self.chosen()?;
        slot.plugins.get(index)
    }

    /// The selected instance's metadata.
    pub(in crate::plugins) fn first_meta(&self) -> Option<&'a InstanceMeta> {
        let (slot, index) = self.chosen()?;
        slot.metas.get(index)
    }

    /// The plugins of `range` of the own slot, then those of the global slot served.
    fn part(
        &self,
        own_range: impl Fn(&TypeSlot) -> Range<usize>,
    ) -> impl Iterator<Item = &'a ErasedPlugin> + 'a {
        let view = *self;
        let own = self
            .own
            .map_or(&[][..], |slot| &slot.plugins[own_range(slot)]);
        let fallback = self.fallback.map(|slot| {
            view.served(slot, own_range(slot))
                .map(move |index| &slot.plugins[index])
        });
        own.iter().chain(fallback.into_iter().flatten())
    }

    /// The ACTIVE plugins, in selection order.
    pub(in crate::plugins) fn active(&self) -> impl Iterator<Item = &'a ErasedPlugin> + 'a {
        self.part(|slot| 0..slot.active)
    }

    /// The RESERVED plugins, in selection order.
    pub(in crate::plugins) fn reserved(&self) -> impl Iterator<Item = &'a ErasedPlugin> + 'a {
        self.part(|slot| slot.active..slot.metas.len())
    }

    /// The ids of every candidate (ACTIVE and RESERVED), the own ones first.
    pub(in crate::plugins) fn ids(&self) -> impl Iterator<Item = InstanceId> + 'a {
        let view = *self;
        let own = self.own.map_or(&[][..], |slot| &slot.metas[..]);
        let fallback = self.fallback.map(|slot| {
            view.served(slot, 0..slot.metas.len())
                .map(move |index| slot.metas[index].id)
        });
        own.iter()
            .map(|meta| meta.id)
            .chain(fallback.into_iter().flatten())
    }

    /// The candidates a selector chooses among, in selection order. When some global ones
    /// are hidden from this tenant, those served are copied into `buffer` first.
    pub(in crate::plugins) fn candidates<'b>(
        &'b self,
        buffer: &'b mut Vec<InstanceMeta>,
    ) -> Candidates<'b> {
        let (own, own_active) = self.own.map_or((&[][..], 0), |s| (&s.metas[..], s.active));
        let Some(fallback) = self.fallback else {
            return Candidates::new(own, own_active, &[], 0);
        };
        if !self.filters(fallback) {
            return Candidates::new(own, own_active, &fallback.metas, fallback.active);
        }
        buffer.clear();
        buffer.extend(
            self.served(fallback, 0..fallback.metas.len())
                .map(|index| fallback.metas[index].clone()),
        );
        let active = self.served(fallback, 0..fallback.active).count();
        Candidates::new(own, own_active, buffer, active)
    }

    /// The plugin of the candidate at `index` of [`candidates`](Self::candidates).
    pub(in crate::plugins) fn plugin_at(&self, index: usize) -> Option<&'a ErasedPlugin> {
        let mut buffer = Vec::new();
        let (segment, at) = self.candidates(&mut buffer).locate(index)?;
        match segment {
            Segment::Own => self.own?.plugins.get(at),
            Segment::Fallback => {
                let fallback = self.fallback?;
                let index = self.served(fallback, 0..fallback.metas.len()).nth(at)?;
                fallback.plugins.get(index)
            }
        }
    }
}
