//! Slots and views: what one lookup reads.
//!
//! A slot holds the selectable instances of one type in one place (one tenant's own, or the
//! global ones), in selection order: ACTIVE, then RESERVED; within each, by (priority, id). A
//! lookup in a tenant's scope reads a [`View`] of two slots, the tenant's and the global one,
//! in the order the rules give (the tenant's ACTIVE, the global ACTIVE, the tenant's RESERVED,
//! the global RESERVED), without merging them into a copy. So a change to a global instance
//! rebuilds one slot, not one per tenant.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

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
        let (metas, plugins) = candidates.into_iter().map(|c| (c.meta, c.plugin)).unzip();
        Some(TypeSlot {
            plugins,
            metas,
            active,
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
            .filter(|(meta, _)| !gone.contains(&meta.id))
            .map(|(meta, plugin)| Candidate {
                meta: meta.clone(),
                plugin: plugin.clone(),
            });
        TypeSlot::of(kept.chain(added).collect(), relabel)
    }

    /// The first plugin, through this thread's handle.
    fn selected(&self) -> Option<&ErasedPlugin> {
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
/// the global one for an unscoped lookup) and, for a tenant, the global one behind it.
#[derive(Clone, Copy, Default)]
pub(in crate::plugins) struct View<'a> {
    pub(super) own: Option<&'a TypeSlot>,
    pub(super) fallback: Option<&'a TypeSlot>,
}

impl<'a> View<'a> {
    /// The slot whose first instance the default selection serves: an ACTIVE one of the
    /// scope's own, else a global ACTIVE one, else the scope's RESERVED, else a global one.
    fn chosen(&self) -> Option<&'a TypeSlot> {
        match (self.own, self.fallback) {
            (Some(own), _) if own.active > 0 => Some(own),
            (_, Some(fallback)) if fallback.active > 0 => Some(fallback),
            (Some(own), _) => Some(own),
            (None, fallback) => fallback,
        }
    }

    /// The selected plugin, through this thread's handle of it.
    pub(in crate::plugins) fn selected(&self) -> Option<&'a ErasedPlugin> {
        self.chosen().and_then(TypeSlot::selected)
    }

    /// The selected plugin itself (one shared reference count).
    pub(in crate::plugins) fn first(&self) -> Option<&'a ErasedPlugin> {
        self.chosen().and_then(|slot| slot.plugins.first())
    }

    /// The selected instance's metadata.
    pub(in crate::plugins) fn first_meta(&self) -> Option<&'a InstanceMeta> {
        self.chosen().and_then(|slot| slot.metas.first())
    }

    /// The ACTIVE plugins, in selection order.
    pub(in crate::plugins) fn active(&self) -> impl Iterator<Item = &'a ErasedPlugin> + 'a {
        let own = self
            .own
            .map_or(&[][..], |slot| &slot.plugins[..slot.active]);
        let fallback = self
            .fallback
            .map_or(&[][..], |slot| &slot.plugins[..slot.active]);
        own.iter().chain(fallback)
    }

    /// The RESERVED plugins, in selection order.
    pub(in crate::plugins) fn reserved(&self) -> impl Iterator<Item = &'a ErasedPlugin> + 'a {
        let own = self
            .own
            .map_or(&[][..], |slot| &slot.plugins[slot.active..]);
        let fallback = self
            .fallback
            .map_or(&[][..], |slot| &slot.plugins[slot.active..]);
        own.iter().chain(fallback)
    }

    /// The candidates a selector chooses among, in selection order.
    pub(in crate::plugins) fn candidates(&self) -> Candidates<'a> {
        let (own, own_active) = self.own.map_or((&[][..], 0), |s| (&s.metas[..], s.active));
        let (fallback, fallback_active) = self
            .fallback
            .map_or((&[][..], 0), |s| (&s.metas[..], s.active));
        Candidates::new(own, own_active, fallback, fallback_active)
    }

    /// The plugin of the candidate at `index` of [`candidates`](Self::candidates).
    pub(in crate::plugins) fn plugin_at(&self, index: usize) -> Option<&'a ErasedPlugin> {
        let (segment, at) = self.candidates().locate(index)?;
        let slot = match segment {
            Segment::Own => self.own?,
            Segment::Fallback => self.fallback?,
        };
        slot.plugins.get(at)
    }
}
