//! The hot path (DESIGN §14): lookups served from the snapshot, and what building one
//! configured instance costs (decrypt, parse, validate, construct). `cargo bench --bench
//! hot_path`; figures and their ratio to the anchor in `benches/REPORT.md`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plugin_system::prelude::*;
use plugin_system::registry::Registry;
use plugin_system::select::{Context, RoundRobin};
use plugin_system::{InstanceId, InstanceMeta, Key, Status};
use support::{BenchNotifier, FiveFields};

/// A handle over `types × items` default instances, in memory, no watcher.
fn plugins(types: usize, items: usize) -> Plugins {
    Plugins::builder()
        .registry(support::registry(types, items))
        .no_watch()
        .build()
        .unwrap()
}

fn lookups(c: &mut Criterion) {
    let small = plugins(1, 10);
    let large = plugins(1000, 10);
    assert_eq!(large.active::<dyn BenchNotifier>().len(), 10_000);
    let mut group = c.benchmark_group("get");
    group.bench_function("10 instances", |b| {
        b.iter(|| black_box(small.get::<dyn BenchNotifier>().unwrap()))
    });
    group.bench_function("10,000 instances", |b| {
        b.iter(|| black_box(large.get::<dyn BenchNotifier>().unwrap()))
    });
    // Two threads looking up at once: time per lookup in each thread.
    group.bench_function("10 instances, 2 threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..iters {
                            black_box(small.get::<dyn BenchNotifier>().unwrap());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("with (no reference count), 10 instances, 2 threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..iters {
                            black_box(
                                small
                                    .with::<dyn BenchNotifier, _>(|p, _| p.send(""))
                                    .unwrap(),
                            );
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("with (no reference count), 10 instances", |b| {
        b.iter(|| {
            black_box(
                small
                    .with::<dyn BenchNotifier, _>(|p, _| p.send(""))
                    .unwrap(),
            )
        })
    });
    // By id: the linked registry's own type (synthetic types have other keys).
    let linked = Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let id = linked.get::<dyn BenchNotifier>().unwrap().meta().id;
    group.bench_function("by id", |b| {
        b.iter(|| black_box(linked.get_by_id::<dyn BenchNotifier>(id).unwrap()))
    });
    group.finish();

    c.bench_function("active (10 instances)", |b| {
        b.iter(|| black_box(small.active::<dyn BenchNotifier>()))
    });
    small.set_selector::<dyn BenchNotifier>(RoundRobin::default());
    let context = Context::new();
    c.bench_function("select, round robin (10 instances)", |b| {
        b.iter(|| black_box(small.select::<dyn BenchNotifier>(&context).unwrap()))
    });
}

/// A handle (in memory, no watcher) over `n` instances of one config-less item, 10 per
/// scope (`n / 10` tenants), besides the global default instance; and one of them.
fn tenants(n: usize) -> (Plugins, String, InstanceId) {
    let registry = support::registry(1, 1);
    let item = registry.items().next().unwrap().key();
    let plugins = Plugins::builder()
        .registry(registry)
        .no_watch()
        .build()
        .unwrap();
    let scopes = n / 10;
    let created = plugins
        .create_instances(
            (0..n)
                .map(|k| {
                    NewInstance::new(item.clone(), format!("instance_{k:06}"))
                        .scope(format!("tenant_{:05}", k % scopes))
                })
                .collect(),
        )
        .unwrap();
    // One in the middle: its scope and id.
    let middle = &created[n / 2];
    (plugins, middle.scope.clone().unwrap(), middle.id)
}

fn scoped_lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("over N/10 scopes");
    for n in [1_000, 10_000, 100_000] {
        let (plugins, scope, id) = tenants(n);
        let scoped = plugins.scoped(&scope);
        assert_eq!(
            scoped
                .get::<dyn BenchNotifier>()
                .unwrap()
                .meta()
                .scope
                .as_deref(),
            Some(scope.as_str())
        );
        plugins.get_by_id::<dyn BenchNotifier>(id).unwrap();
        group.bench_function(format!("get, {n} instances"), |b| {
            b.iter(|| black_box(plugins.get::<dyn BenchNotifier>().unwrap()))
        });
        group.bench_function(format!("scoped(t).get, {n} instances"), |b| {
            b.iter(|| black_box(scoped.get::<dyn BenchNotifier>().unwrap()))
        });
        group.bench_function(format!("get_by_id, {n} instances"), |b| {
            b.iter(|| black_box(plugins.get_by_id::<dyn BenchNotifier>(id).unwrap()))
        });
    }
    group.finish();
}

fn configured_instance(c: &mut Criterion) {
    let keyring = Keyring::new(Key::generate());
    let config = FiveFields {
        api_key: "sk_live_0123456789".into(),
        endpoint: "https://api.example.com/v1".into(),
        timeout_secs: 20,
        currency: "eur".into(),
        sandbox: false,
    };
    let plaintext = serde_json::to_vec(&config.to_values()).unwrap();
    let id = InstanceId::new();
    let sealed = keyring.seal(id, &plaintext);
    let item = Registry::linked()
        .unwrap()
        .items()
        .find(|item| item.name() == "configured")
        .unwrap();
    let meta = InstanceMeta {
        id,
        name: "Configured".into(),
        item: item.key(),
        status: Status::Active,
        priority: 1,
        scope: None,
        version: 1,
    };

    c.bench_function("decrypt a 5-field config", |b| {
        b.iter(|| black_box(keyring.open(id, black_box(&sealed)).unwrap()))
    });
    c.bench_function(
        "build one configured instance (decrypt, parse, validate, construct)",
        |b| {
            b.iter(|| {
                let plaintext = keyring.open(id, black_box(&sealed)).unwrap();
                let values: plugin_system::config::ConfigValues =
                    serde_json::from_slice(&plaintext).unwrap();
                let needs = plugin_system::Needs::none();
                let object = (item.parts().build)(Some(&values), &needs).unwrap();
                black_box((item.parts().view)(&object, meta.clone()).unwrap())
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = lookups, scoped_lookups, configured_instance
}
criterion_main!(benches);
