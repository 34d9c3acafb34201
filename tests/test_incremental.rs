//! Incremental snapshots (issue 12): a handle that sees another's writes reads only the
//! changed rows and patches its snapshot; after any sequence of creates, edits, status flips,
//! deletes and syncs (orphaning and reviving an item), it serves exactly what a handle built
//! from scratch serves. Generated sequences (proptest), compared after every step, on the
//! in-memory store and on SQLite (whose change log is the diesel stores' `plugin_changes`).

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::sync::Arc;

use plugin_system::prelude::*;
use plugin_system::registry::{ItemInfo, Registry};
use plugin_system::store::{MemoryStore, Store};
use plugin_system::sync::SyncOptions;
use plugin_system::{InstanceId, InstanceQuery, InstanceUpdate, Key, PriorityChange, Status};
use proptest::prelude::*;

/// A parent type and a sub-type, so changes reach the parent's slots through upcasts.
#[plugin_type(name = "channel")]
pub trait Channel {
    fn send(&self) -> String;
}

#[plugin_type(name = "urgent_channel", parent = Channel)]
pub trait UrgentChannel: Channel {
    fn page(&self) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct Endpoint {
    #[config(default = "a")]
    pub target: String,
}

pub struct Webhook(Endpoint);

impl From<Endpoint> for Webhook {
    fn from(config: Endpoint) -> Self {
        Webhook(config)
    }
}

#[plugin_item(name = "webhook", config = Endpoint)]
impl Channel for Webhook {
    fn send(&self) -> String {
        format!("webhook:{}", self.0.target)
    }
}

#[derive(Default)]
pub struct Log;

#[plugin_item(name = "log", priority = 7)]
impl Channel for Log {
    fn send(&self) -> String {
        "log".into()
    }
}

pub struct Pager(Endpoint);

impl From<Endpoint> for Pager {
    fn from(config: Endpoint) -> Self {
        Pager(config)
    }
}

#[plugin_item(name = "pager", config = Endpoint)]
impl UrgentChannel for Pager {
    fn page(&self) -> String {
        format!("page:{}", self.0.target)
    }
}

#[plugin_item(via = UrgentChannel)]
impl Channel for Pager {
    fn send(&self) -> String {
        format!("pager:{}", self.0.target)
    }
}

/// A channel a tenant is served only once it switches it on.
pub struct Vip(Endpoint);

impl From<Endpoint> for Vip {
    fn from(config: Endpoint) -> Self {
        Vip(config)
    }
}

#[plugin_item(name = "vip", config = Endpoint, per_tenant)]
impl Channel for Vip {
    fn send(&self) -> String {
        format!("vip:{}", self.0.target)
    }
}

/// A type whose item needs a `Channel`: what it says shows which channel it was built with,
/// so a dependent left stale (or rebuilt with the wrong provider) shows as a difference.
#[plugin_type(name = "digest")]
pub trait Digest {
    fn digest(&self) -> String;
}

pub struct Summary {
    target: String,
    channel: Plugin<dyn Channel>,
}

impl FromNeeds<Endpoint> for Summary {
    fn from_needs(config: Endpoint, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(Summary {
            target: config.target,
            channel: needs.get::<dyn Channel>()?,
        })
    }
}

#[plugin_item(name = "summary", config = Endpoint, needs = [Channel])]
impl Digest for Summary {
    fn digest(&self) -> String {
        format!(
            "{} via {} ({})",
            self.target,
            self.channel.send(),
            self.channel.meta().id
        )
    }
}

const SCOPES: [Option<&str>; 4] = [None, Some("t1"), Some("t2"), Some("t3")];
const STATUSES: [Status; 3] = [Status::Active, Status::Reserved, Status::Disabled];

/// One write through the writing handle.
#[derive(Debug, Clone)]
enum Op {
    Create {
        /// 0: a webhook, 1: a pager, 2: a summary (which needs a channel), 3: a vip channel
        /// (activated per tenant).
        kind: usize,
        scope: usize,
        status: usize,
        priority: i32,
    },
    Edit {
        pick: usize,
        priority: Option<i32>,
        target: Option<u8>,
    },
    Status {
        picks: Vec<usize>,
        status: usize,
        forced: bool,
    },
    Delete {
        pick: usize,
        forced: bool,
    },
    /// A tenant's switch of an instance (refused for a tenant's own).
    Switch {
        pick: usize,
        tenant: usize,
        /// 0: on, 1: off, 2: as its item says.
        activation: usize,
        forced: bool,
    },
    /// A deployment without the pager's code (its instances orphaned), or with it again.
    Sync {
        without_pager: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, 0..4usize, 0..3usize, -3..4i32).prop_map(|(kind, scope, status, priority)| Op::Create { kind, scope, status, priority }),
        3 => (any::<usize>(), 1..4usize, 0..3usize, any::<bool>()).prop_map(|(pick, tenant, activation, forced)| Op::Switch { pick, tenant, activation, forced }),
        3 => (any::<usize>(), proptest::option::of(-3..4i32), proptest::option::of(0..3u8)).prop_map(|(pick, priority, target)| Op::Edit { pick, priority, target }),
        2 => (proptest::collection::vec(any::<usize>(), 1..4), 0..3usize, any::<bool>()).prop_map(|(picks, status, forced)| Op::Status { picks, status, forced }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, forced)| Op::Delete { pick, forced }),
        1 => any::<bool>().prop_map(|without_pager| Op::Sync { without_pager }),
    ]
}

fn keyring() -> Keyring {
    static KEY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
    Keyring::new(KEY.get_or_init(Key::generate).clone())
}

fn handle(store: &Arc<dyn Store>) -> Plugins {
    Plugins::builder()
        .shared_store(store.clone())
        .keyring(keyring())
        .skip_sync()
        .no_watch()
        .build()
        .unwrap()
}

/// The linked registry without the pager item: the pager's code "removed".
fn without_pager() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let items: Vec<&'static ItemInfo> = Registry::linked()
            .unwrap()
            .items()
            .filter(|item| item.name() != "pager")
            .collect();
        let owned: Vec<ItemInfo> = items
            .iter()
            .map(|item| {
                ItemInfo::from_parts(plugin_system::__private::ItemParts { ..*item.parts() })
            })
            .collect();
        Registry::collect(&[], Vec::leak(owned), &[]).unwrap()
    })
}

fn ids(plugins: &Plugins) -> Vec<InstanceId> {
    let mut ids: Vec<InstanceId> = plugins
        .instances(&InstanceQuery {
            limit: usize::MAX,
            ..InstanceQuery::default()
        })
        .rows
        .iter()
        .map(|row| row.meta.id)
        .collect();
    ids.sort();
    ids
}

fn apply(writer: &Plugins, store: &Arc<dyn Store>, op: &Op) {
    let existing = ids(writer);
    let pick = |n: usize| existing.get(n % existing.len().max(1)).copied();
    // Refusals (a taken name, a disabled target) are fine: the two handles must agree anyway.
    let _ = match op {
        Op::Create {
            kind,
            scope,
            status,
            priority,
        } => {
            let new = match kind {
                0 => NewInstance::of::<dyn Channel>("webhook", format!("w{priority}{status}")),
                1 => NewInstance::of::<dyn UrgentChannel>("pager", format!("p{priority}{status}")),
                2 => NewInstance::of::<dyn Digest>("summary", format!("s{priority}{status}")),
                _ => NewInstance::of::<dyn Channel>("vip", format!("v{priority}{status}")),
            };
            let mut new = new
                .config(&Endpoint { target: "a".into() })
                .status(STATUSES[*status])
                .priority(*priority);
            if let Some(scope) = SCOPES[*scope] {
                new = new.scope(scope);
            }
            writer.create_instance(new).map(drop)
        }
        Op::Edit {
            pick: n,
            priority,
            target,
        } => match pick(*n) {
            Some(id) => {
                let current = writer.instance(id).unwrap();
                let configurable = current.sealed_config.is_some();
                let update = InstanceUpdate {
                    priority: *priority,
                    config: target.filter(|_| configurable).map(|t| {
                        Endpoint {
                            target: ((b'a' + t) as char).to_string(),
                        }
                        .to_values()
                    }),
                    ..InstanceUpdate::default()
                };
                writer
                    .update_instance(id, current.meta.version, update)
                    .map(drop)
            }
            None => Ok(()),
        },
        Op::Status {
            picks,
            status,
            forced,
        } => {
            let chosen: Vec<InstanceId> = picks.iter().filter_map(|n| pick(*n)).collect();
            let result = writing(writer, *forced)
                .set_status(&chosen, STATUSES[*status])
                .map(drop);
            let _ = writer.set_priority(&chosen, PriorityChange::Shift(1));
            result
        }
        Op::Switch {
            pick: n,
            tenant,
            activation,
            forced,
        } => match (pick(*n), SCOPES[*tenant]) {
            (Some(id), Some(tenant)) => {
                let activation = [
                    plugin_system::Activation::On,
                    plugin_system::Activation::Off,
                    plugin_system::Activation::Default,
                ][*activation];
                writing(writer, *forced)
                    .set_activation(tenant, id, activation)
                    .map(drop)
            }
            _ => Ok(()),
        },
        Op::Delete { pick: n, forced } => match pick(*n) {
            Some(id) => writing(writer, *forced).delete_instance(id),
            None => Ok(()),
        },
        Op::Sync {
            without_pager: gone,
        } => {
            let registry = match gone {
                true => without_pager(),
                false => Registry::linked().unwrap(),
            };
            plugin_system::sync::run(&**store, registry, &SyncOptions::default()).map(drop)
        }
    };
}

/// The writer, forced through the dependency check or not.
fn writing(writer: &Plugins, forced: bool) -> Plugins {
    match forced {
        true => writer.forced(),
        false => writer.clone(),
    }
}

/// Everything a caller can observe of a handle's snapshot, comparable.
fn observed(plugins: &Plugins) -> String {
    let mut out = Vec::new();
    for scope in SCOPES {
        let (get, active, reserved): (Result<_, _>, Vec<_>, Vec<_>) = match scope {
            None => (
                plugins
                    .get::<dyn Channel>()
                    .map(|p| (p.meta().clone(), p.send())),
                plugins
                    .active::<dyn Channel>()
                    .iter()
                    .map(|p| p.meta().id)
                    .collect(),
                plugins
                    .reserved::<dyn Channel>()
                    .iter()
                    .map(|p| p.meta().id)
                    .collect(),
            ),
            Some(tenant) => {
                let scoped = plugins.scoped(tenant);
                (
                    scoped
                        .get::<dyn Channel>()
                        .map(|p| (p.meta().clone(), p.send())),
                    scoped
                        .active::<dyn Channel>()
                        .iter()
                        .map(|p| p.meta().id)
                        .collect(),
                    scoped
                        .reserved::<dyn Channel>()
                        .iter()
                        .map(|p| p.meta().id)
                        .collect(),
                )
            }
        };
        let urgent = match scope {
            None => plugins
                .get::<dyn UrgentChannel>()
                .map(|p| (p.meta().id, p.page())),
            Some(tenant) => plugins
                .scoped(tenant)
                .get::<dyn UrgentChannel>()
                .map(|p| (p.meta().id, p.page())),
        };
        let digest = match scope {
            None => plugins
                .get::<dyn Digest>()
                .map(|p| (p.meta().id, p.digest())),
            Some(tenant) => plugins
                .scoped(tenant)
                .get::<dyn Digest>()
                .map(|p| (p.meta().id, p.digest())),
        };
        let selected = plugins
            .select::<dyn Channel>(&Context::new())
            .map(|p| p.meta().id);
        out.push(format!(
            "{scope:?}: get {:?} active {active:?} reserved {reserved:?} urgent {:?} digest {:?} select {:?}",
            // Errors by their text: a lookup that finds nothing names what does not load.
            get.as_ref().map_err(ToString::to_string),
            urgent.as_ref().map_err(ToString::to_string),
            digest.as_ref().map_err(ToString::to_string),
            selected.as_ref().map_err(ToString::to_string),
        ));
    }
    for row in plugins
        .instances(&InstanceQuery {
            limit: usize::MAX,
            ..InstanceQuery::default()
        })
        .rows
    {
        out.push(format!(
            "{:?} {:?} serving={}",
            row.meta, row.load, row.serving
        ));
        let by_id = plugins.get_by_id_allow_disabled::<dyn Channel>(row.meta.id);
        out.push(format!(
            "  by id: {:?}",
            by_id.map(|p| p.send()).map_err(|e| e.to_string())
        ));
        let digest = plugins.get_by_id_allow_disabled::<dyn Digest>(row.meta.id);
        out.push(format!(
            "  digest: {:?}",
            digest.map(|p| p.digest()).map_err(|e| e.to_string())
        ));
    }
    for failure in plugins.load_failures() {
        out.push(format!("failure {} {}", failure.meta.id, failure.reason));
    }
    out.join("\n")
}

fn check(store: Arc<dyn Store>, ops: &[Op]) -> Result<(), TestCaseError> {
    plugin_system::sync::run(
        &*store,
        Registry::linked().unwrap(),
        &SyncOptions::default(),
    )
    .unwrap();
    let writer = handle(&store);
    let reader = handle(&store);
    let start = reader.refresh_stats();
    for (step, op) in ops.iter().enumerate() {
        apply(&writer, &store, op);
        reader.refresh().unwrap();
        // A sync runs on the store itself, like a deploy step: the writer sees it on refresh.
        writer.refresh().unwrap();
        let fresh = handle(&store);
        prop_assert_eq!(
            observed(&reader),
            observed(&fresh),
            "step {}: {:?} (incremental vs full)",
            step,
            op
        );
        prop_assert_eq!(
            observed(&writer),
            observed(&fresh),
            "step {}: the writer",
            step
        );
    }
    let stats = reader.refresh_stats();
    prop_assert_eq!(
        stats.full_reloads,
        start.full_reloads,
        "the reader never reloaded fully"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn an_incrementally_updated_handle_serves_what_a_full_build_serves(ops in proptest::collection::vec(op(), 1..40)) {
        check(Arc::new(MemoryStore::new()), &ops)?;
    }
}

#[cfg(feature = "sqlite")]
proptest! {
    // Fewer cases: each is a database file and a few dozen transactions.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn on_sqlite_an_incrementally_updated_handle_serves_what_a_full_build_serves(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plugins.db").display());
        check(plugin_system::database::open(&url).unwrap(), &ops)?;
    }
}

/// A handle too far behind (the store's log no longer reaches its revision) reloads fully,
/// and still serves the right thing.
#[test]
fn a_handle_too_far_behind_falls_back_to_a_full_reload() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    plugin_system::sync::run(
        &*store,
        Registry::linked().unwrap(),
        &SyncOptions::default(),
    )
    .unwrap();
    let writer = handle(&store);
    let reader = handle(&store);
    let log = writer.get::<dyn Channel>().unwrap().meta().id;
    // More writes than the memory store's log keeps (10,000 revisions).
    for n in 0..10_001 {
        writer
            .set_priority(&[log], PriorityChange::Set(n % 7))
            .unwrap();
    }
    let before = reader.refresh_stats();
    assert!(reader.refresh().unwrap());
    let after = reader.refresh_stats();
    assert_eq!(after.full_reloads, before.full_reloads + 1, "{after:?}");
    assert_eq!(observed(&reader), observed(&handle(&store)));
    // Caught up, the next change is incremental again, reading one row.
    writer.set_status(&[log], Status::Reserved).unwrap();
    reader.refresh().unwrap();
    let last = reader.refresh_stats();
    assert_eq!(
        (last.incremental_updates, last.last_rows_read),
        (after.incremental_updates + 1, 1)
    );
}

/// A write that changes most of the instances (here the first sync of 200 config-less items
/// into an empty store) is logged as "everything": a handle behind it reloads in full anyway,
/// so the write does not log a row per instance. A small write is listed.
#[test]
fn a_sync_that_changes_most_instances_is_logged_as_everything() {
    let log = Registry::linked()
        .unwrap()
        .items()
        .find(|item| item.name() == "log")
        .unwrap();
    let many = plugin_system::testing::synthetic_registry(20, 10, log).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plugins.db").display());
    let stores: [(&str, Arc<dyn Store>); 2] = [
        ("memory", Arc::new(MemoryStore::new())),
        ("sqlite", plugin_system::database::open(&url).unwrap()),
    ];
    for (kind, store) in stores {
        let before = store.revision().unwrap();
        plugin_system::sync::run(&*store, many, &SyncOptions::default()).unwrap();
        assert_eq!(store.instances().unwrap().len(), 200, "{kind}");
        assert_eq!(
            store.changes_since(before).unwrap(),
            None,
            "{kind}: 200 new instances of 200 are not listed"
        );
        let before = store.revision().unwrap();
        plugin_system::sync::run(
            &*store,
            Registry::linked().unwrap(),
            &SyncOptions::default(),
        )
        .unwrap();
        let listed = store
            .changes_since(before)
            .unwrap()
            .expect("a small sync is listed");
        assert!(!listed.instances.is_empty(), "{kind}: {listed:?}");
    }
}
