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
    note = "implement `plugin_system::Selector` for it, or use a built-in: `plugin_system::select::RoundRobin`, `plugin_system::select::Weighted`, `plugin_system::select::InOrder`"
)]
pub trait Selector: Send + Sync + 'static {
    /// The index (into `candidates`) of the instance to serve, or `None` for "no suitable
    /// instance" (the lookup then fails with [`Error::NoInstance`](crate::Error::NoInstance)).
    fn select(&self, candidates: &Candidates<'_>, context: &Context) -> Option<usize>;
}

/// The candidates of one lookup, in selection order: ACTIVE instances first (by priority,
/// then id), then RESERVED ones. Unloadable, orphaned and DISABLED instances are never here.
#[derive(Clone, Copy)]
pub struct Candidates<'a> {
    metas: &'a [InstanceMeta],
    active: usize,
}

impl<'a> Candidates<'a> {
    pub(crate) fn new(metas: &'a [InstanceMeta], active: usize) -> Self {
        Candidates { metas, active }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// All of them, in selection order.
    pub fn all(&self) -> &'a [InstanceMeta] {
        self.metas
    }

    /// The ACTIVE ones (a prefix of [`all`](Self::all)).
    pub fn active(&self) -> &'a [InstanceMeta] {
        &self.metas[..self.active]
    }

    /// The ones a selector should choose among: the ACTIVE ones, or the RESERVED ones when no
    /// instance is ACTIVE (the default selection's rule). A prefix of [`all`](Self::all), so
    /// an index into it is an index into the candidates.
    pub fn preferred(&self) -> &'a [InstanceMeta] {
        if self.active > 0 {
            &self.metas[..self.active]
        } else {
            self.metas
        }
    }
}

impl fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.metas.iter().map(|meta| (&meta.name, meta.status)))
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
        let preferred = candidates.preferred();
        if preferred.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        Some(turn % preferred.len())
    }
}

/// Load balancing: picks among the preferred candidates at random, in proportion to a
/// weight per instance. The default weight favours better priorities: an instance gets
/// `1 + (worst priority - its priority)`, so equal priorities share equally.
pub struct Weighted {
    weight: Box<WeightFn>,
}

/// An instance's weight, given it and all the preferred candidates.
type WeightFn = dyn Fn(&InstanceMeta, &[InstanceMeta]) -> u64 + Send + Sync;

impl Weighted {
    /// Weights from a function of the instance (e.g. read from its name or a lookup table).
    pub fn by(weight: impl Fn(&InstanceMeta) -> u64 + Send + Sync + 'static) -> Weighted {
        Weighted {
            weight: Box::new(move |meta, _| weight(meta)),
        }
    }
}

impl Default for Weighted {
    fn default() -> Self {
        Weighted {
            weight: Box::new(|meta, all| {
                let worst = all
                    .iter()
                    .map(|m| m.priority)
                    .max()
                    .unwrap_or(meta.priority);
                1 + u64::try_from(i64::from(worst) - i64::from(meta.priority)).unwrap_or(0)
            }),
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
        let preferred = candidates.preferred();
        let weights: Vec<u64> = preferred
            .iter()
            .map(|meta| (self.weight)(meta, preferred))
            .collect();
        let total: u64 = weights.iter().sum();
        if total == 0 {
            return None;
        }
        let mut ticket = random_below(total);
        for (index, weight) in weights.iter().enumerate() {
            if ticket < *weight {
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
        let candidates = Candidates::new(&metas, 2);
        let selector = RoundRobin::default();
        let picks: Vec<_> = (0..4)
            .map(|_| selector.select(&candidates, &Context::new()).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        let reserved_only = Candidates::new(&metas[2..], 0);
        assert_eq!(selector.select(&reserved_only, &Context::new()), Some(0));
        assert_eq!(
            selector.select(&Candidates::new(&[], 0), &Context::new()),
            None
        );
    }

    #[test]
    fn weighted_follows_the_weights() {
        let metas = [
            meta("heavy", Status::Active, 1),
            meta("light", Status::Active, 1),
        ];
        let candidates = Candidates::new(&metas, 2);
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
        let weighted = Weighted::default();
        assert_eq!((weighted.weight)(&metas[0], &metas), 3);
        assert_eq!((weighted.weight)(&metas[1], &metas), 1);
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
