//! Custom selection (DESIGN §8): a [`Selector`] picks one of a type's candidates, given a
//! [`Context`] the caller fills per request.
//!
//! A selector is declared on the type (`#[plugin_type(name = "...", selector = RoundRobin)]`,
//! any type implementing `Selector + Default`) or set at run time with
//! [`Plugins::set_selector`](crate::Plugins::set_selector), and serves
//! [`Plugins::select`](crate::Plugins::select). It sees metadata only (never a config), in
//! selection order: ACTIVE instances by (priority, id), then RESERVED ones. `get` keeps the
//! default order whatever the selector.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::instance::InstanceMeta;

/// Picks one candidate for a request.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin selector",
    label = "`selector = ...` needs a type implementing `Selector` and `Default`",
    note = "implement `plugin_system::select::Selector` for it, or use a built-in: `plugin_system::select::RoundRobin`, `plugin_system::select::Weighted`, `plugin_system::select::InOrder`"
)]
pub trait Selector: Send + Sync + 'static {
    /// The index (into `candidates`) of the instance to serve, or `None` for "no suitable
    /// instance" (the lookup then fails with [`Error::NoInstance`](crate::Error::NoInstance)).
    fn select(&self, candidates: &Candidates<'_>, context: &Context) -> Option<usize>;
}

/// The candidates of one lookup, in selection order: ACTIVE instances first, then RESERVED
/// ones; within each, a tenant's own before the global ones (in a scoped lookup), then by
/// (priority, id). Unloadable, orphaned and DISABLED instances are never here. A selector
/// returns the index of the one to serve.
#[derive(Clone, Copy)]
pub struct Candidates<'a> {
    own: &'a [InstanceMeta],
    own_active: usize,
    fallback: &'a [InstanceMeta],
    fallback_active: usize,
}

/// Which of the two lists a candidate is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    /// The scope's own (or, unscoped, the global ones).
    Own,
    /// The global ones behind a tenant's.
    Fallback,
}

impl<'a> Candidates<'a> {
    /// The candidates of two lists in selection order (`own` first within each status), each
    /// with its ACTIVE ones first.
    pub(crate) fn new(
        own: &'a [InstanceMeta],
        own_active: usize,
        fallback: &'a [InstanceMeta],
        fallback_active: usize,
    ) -> Self {
        Candidates {
            own,
            own_active,
            fallback,
            fallback_active,
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.own.len() + self.fallback.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many are ACTIVE (the first ones).
    pub fn active_len(&self) -> usize {
        self.own_active + self.fallback_active
    }

    /// How many a selector should choose among: the ACTIVE ones, or all (the RESERVED ones)
    /// when none is ACTIVE (the default selection's rule). They come first, so an index below
    /// this is an index into the candidates.
    pub fn preferred_len(&self) -> usize {
        match self.active_len() {
            0 => self.len(),
            active => active,
        }
    }

    /// The candidate at `index`.
    pub fn get(&self, index: usize) -> Option<&'a InstanceMeta> {
        let (segment, at) = self.locate(index)?;
        match segment {
            Segment::Own => self.own.get(at),
            Segment::Fallback => self.fallback.get(at),
        }
    }

    /// All of them, in selection order.
    pub fn iter(&self) -> impl Iterator<Item = &'a InstanceMeta> + 'a {
        let (own_active, own_reserved) = self.own.split_at(self.own_active);
        let (fallback_active, fallback_reserved) = self.fallback.split_at(self.fallback_active);
        own_active
            .iter()
            .chain(fallback_active)
            .chain(own_reserved)
            .chain(fallback_reserved)
    }

    /// The preferred ones (see [`preferred_len`](Self::preferred_len)), in selection order.
    pub fn preferred(&self) -> impl Iterator<Item = &'a InstanceMeta> + 'a {
        self.iter().take(self.preferred_len())
    }

    /// Which list the candidate at `index` is in, and where in it.
    pub(crate) fn locate(&self, index: usize) -> Option<(Segment, usize)> {
        let (oa, fa) = (self.own_active, self.fallback_active);
        let own_reserved = self.own.len() - oa;
        if index < oa {
            Some((Segment::Own, index))
        } else if index < oa + fa {
            Some((Segment::Fallback, index - oa))
        } else if index < oa + fa + own_reserved {
            Some((Segment::Own, oa + (index - oa - fa)))
        } else if index < self.len() {
            Some((Segment::Fallback, fa + (index - oa - fa - own_reserved)))
        } else {
            None
        }
    }
}

impl fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|meta| (&meta.name, meta.status)))
            .finish()
    }
}

/// What a selector knows about the request: named text values (`region = "eu"`) and typed
/// values (any `Send + Sync` type, found by its type).
#[derive(Default)]
pub struct Context {
    values: HashMap<String, String>,
    typed: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds a named text value.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Context {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Adds a typed value (one per type; a second replaces the first).
    pub fn with_typed<V: Any + Send + Sync>(mut self, value: V) -> Context {
        self.typed.insert(TypeId::of::<V>(), Box::new(value));
        self
    }

    /// A named text value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The typed value of type `V`.
    pub fn get_typed<V: Any + Send + Sync>(&self) -> Option<&V> {
        self.typed
            .get(&TypeId::of::<V>())
            .and_then(|value| value.downcast_ref())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("values", &self.values)
            .field("typed", &self.typed.len())
            .finish()
    }
}

/// The default selection as a selector: the first candidate.
#[derive(Debug, Default, Clone, Copy)]
pub struct InOrder;

impl Selector for InOrder {
    fn select(&self, candidates: &Candidates<'_>, _: &Context) -> Option<usize> {
        (!candidates.is_empty()).then_some(0)
    }
}

/// Rotates through the preferred candidates (the ACTIVE ones, or the RESERVED ones when none
/// is ACTIVE), one lookup after the other.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl Selector for RoundRobin {
    fn select(&self, candidates: &Candidates<'_>, _: &Context) -> Option<usize> {
        let preferred = candidates.preferred_len();
        if preferred == 0 {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        Some(turn % preferred)
    }
}

/// Load balancing: picks among the preferred candidates at random, in proportion to a
/// weight per instance. The default weight favours better priorities: an instance gets
/// `1 + (worst priority - its priority)`, so equal priorities share equally.
pub struct Weighted {
    weight: Weighting,
}

/// How a [`Weighted`] selector weighs an instance.
enum Weighting {
    /// `1 + (worst preferred priority - its priority)`.
    ByPriority,
    /// A function of the instance.
    By(Box<dyn Fn(&InstanceMeta) -> u64 + Send + Sync>),
}

impl Weighted {
    /// Weights from a function of the instance (e.g. read from its name or a lookup table).
    pub fn by(weight: impl Fn(&InstanceMeta) -> u64 + Send + Sync + 'static) -> Weighted {
        Weighted {
            weight: Weighting::By(Box::new(weight)),
        }
    }
}

impl Default for Weighted {
    fn default() -> Self {
        Weighted {
            weight: Weighting::ByPriority,
        }
    }
}

impl fmt::Debug for Weighted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Weighted").finish_non_exhaustive()
    }
}

impl Selector for Weighted {
    fn select(&self, candidates: &Candidates<'_>, _: &Context) -> Option<usize> {
        let worst = candidates.preferred().map(|meta| meta.priority).max()?;
        let weigh = |meta: &InstanceMeta| match &self.weight {
            Weighting::ByPriority => {
                1 + u64::try_from(i64::from(worst) - i64::from(meta.priority)).unwrap_or(0)
            }
            Weighting::By(weight) => weight(meta),
        };
        // Two passes over the candidates instead of a list of weights: no allocation.
        let total: u64 = candidates.preferred().map(weigh).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = random_below(total);
        for (index, meta) in candidates.preferred().enumerate() {
            let weight = weigh(meta);
            if ticket < weight {
                return Some(index);
            }
            ticket -= weight;
        }
        None
    }
}

/// A uniformly distributed number below `bound` (> 0), from a per-thread xorshift generator
/// seeded from the OS's randomness (load balancing needs spread, not secrecy).
fn random_below(bound: u64) -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(uuid::Uuid::new_v4().as_u64_pair().0 | 1);
    }
    STATE.with(|state| {
        // Rejection sampling keeps the distribution exact.
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            state.set(x);
            if x < zone {
                return x % bound;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{InstanceId, Status};
    use crate::keys::{ItemKey, TypeKey};

    fn meta(name: &str, status: Status, priority: i32) -> InstanceMeta {
        InstanceMeta {
            id: InstanceId::new(),
            name: name.into(),
            item: ItemKey {
                type_key: TypeKey {
                    namespace: "app".into(),
                    name: "gateway".into(),
                },
                name: "stripe".into(),
            },
            status,
            priority,
            scope: None,
            version: 1,
        }
    }

    #[test]
    fn round_robin_rotates_over_the_active_ones_only() {
        let metas = [
            meta("a", Status::Active, 1),
            meta("b", Status::Active, 2),
            meta("r", Status::Reserved, 0),
        ];
        let candidates = Candidates::new(&metas, 2, &[], 0);
        let selector = RoundRobin::default();
        let picks: Vec<_> = (0..4)
            .map(|_| selector.select(&candidates, &Context::new()).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        let reserved_only = Candidates::new(&metas[2..], 0, &[], 0);
        assert_eq!(selector.select(&reserved_only, &Context::new()), Some(0));
        assert_eq!(
            selector.select(&Candidates::new(&[], 0, &[], 0), &Context::new()),
            None
        );
    }

    #[test]
    fn weighted_follows_the_weights() {
        let metas = [
            meta("heavy", Status::Active, 1),
            meta("light", Status::Active, 1),
        ];
        let candidates = Candidates::new(&metas, 2, &[], 0);
        let selector = Weighted::by(|meta| if meta.name == "heavy" { 3 } else { 1 });
        let mut counts = [0usize; 2];
        for _ in 0..4000 {
            counts[selector.select(&candidates, &Context::new()).unwrap()] += 1;
        }
        // Expected 3000 : 1000; the bounds are far outside any plausible random deviation.
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
        let never = Weighted::by(|_| 0);
        assert_eq!(never.select(&candidates, &Context::new()), None);
    }

    #[test]
    fn default_weights_favour_better_priorities() {
        let metas = [
            meta("best", Status::Active, 1),
            meta("worst", Status::Active, 3),
        ];
        // Weights 3 : 1.
        let candidates = Candidates::new(&metas, 2, &[], 0);
        let weighted = Weighted::default();
        let mut counts = [0usize; 2];
        for _ in 0..4000 {
            counts[weighted.select(&candidates, &Context::new()).unwrap()] += 1;
        }
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn a_tenant_s_candidates_come_before_the_global_ones_within_each_status() {
        let own = [
            meta("own active", Status::Active, 9),
            meta("own reserved", Status::Reserved, 0),
        ];
        let global = [
            meta("global active", Status::Active, 1),
            meta("global reserved", Status::Reserved, 1),
        ];
        let candidates = Candidates::new(&own, 1, &global, 1);
        let names: Vec<&str> = candidates.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "own active",
                "global active",
                "own reserved",
                "global reserved"
            ]
        );
        for (index, name) in names.iter().enumerate() {
            assert_eq!(candidates.get(index).map(|m| m.name.as_str()), Some(*name));
        }
        assert_eq!(candidates.get(4), None);
        assert_eq!(
            (candidates.active_len(), candidates.preferred_len()),
            (2, 2)
        );
        let only_reserved = Candidates::new(&own[1..], 0, &global[1..], 0);
        assert_eq!(only_reserved.preferred_len(), 2);
    }

    #[test]
    fn context_holds_text_and_typed_values() {
        #[derive(Debug, PartialEq)]
        struct Region(&'static str);
        let context = Context::new().with("tier", "gold").with_typed(Region("eu"));
        assert_eq!(context.get("tier"), Some("gold"));
        assert_eq!(context.get("missing"), None);
        assert_eq!(context.get_typed::<Region>(), Some(&Region("eu")));
        assert_eq!(context.get_typed::<u32>(), None);
    }
}
