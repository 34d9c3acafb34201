//! Sync of a registry into a SQLite file (DESIGN §14): 10, 100 and 1,000 types × 10 items
//! (each item config-less, so each sync also creates one default instance per item), into an
//! empty store and again with nothing changed. `cargo bench --bench sync`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use plugin_system::sync::{SyncOptions, run as sync_store};

fn sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync into SQLite");
    group.sample_size(10);
    for types in [10, 100, 1000] {
        let registry = support::registry(types, 10);
        group.bench_function(format!("{types} x 10, empty store"), |b| {
            b.iter_batched(
                || {
                    // A fresh, migrated, empty database per sample (not timed).
                    let (dir, url) = support::sqlite();
                    let store = plugin_system::database::open(&url).unwrap();
                    (dir, store)
                },
                |(dir, store)| {
                    let report = sync_store(&*store, registry, &SyncOptions::default()).unwrap();
                    assert_eq!(report.instances_created, types * 10);
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        });
        let (_dir, url) = support::sqlite();
        let store = plugin_system::database::open(&url).unwrap();
        sync_store(&*store, registry, &SyncOptions::default()).unwrap();
        group.bench_function(format!("{types} x 10, no change"), |b| {
            b.iter(|| {
                let report = sync_store(&*store, registry, &SyncOptions::default()).unwrap();
                assert!(report.is_noop());
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = sync
}
criterion_main!(benches);
