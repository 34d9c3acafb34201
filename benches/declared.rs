//! Declared files and config versions (issue 15) at the sizes deployments reach: 10,000 and
//! 100,000 instances (10 per tenant), each with a five-field config whose secret is an
//! `{ env = .. }` reference, on SQLite (a file, WAL). `cargo bench --all-features --bench
//! declared`; it prints a markdown table and asserts nothing about time (it panics when a
//! step fails or does something other than what it measures).
//!
//! Per size N, on a fresh store:
//! - **read the file**: `Plugins::read_file` of an N-entry file (TOML parse, every entry
//!   checked against its item's schema, the digest);
//! - **first apply**: `apply_file` creating the N instances in one transaction;
//! - **diff, no change**: `plan_file` against the store it made (every row read and opened);
//! - **apply one change**: the same file with one entry's timeout changed (the snapshot is
//!   brought up to date incrementally: checked);
//! - **export**: `export_file` of the N instances;
//! - **migrate**: `migrate_configs` re-sealing N rows written under version 1 of a config
//!   (the rows are rewritten as version 1 first, outside the timing).

// Benchmarks are binaries; nothing here is an API.
#![allow(missing_docs)]

mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use plugin_system::config::ConfigValues;
use plugin_system::prelude::*;
use plugin_system::store::Changed;
use support::BenchNotifier;

/// Store sizes; `BENCH_DECLARED_SIZES=1000` runs others (for a quick check).
const SIZES: [usize; 2] = [10_000, 100_000];
const PER_SCOPE: usize = 10;
/// Runs of each repeatable step (the table shows the median).
const RUNS: usize = 3;

/// A config at version 2: version 1 called `timeout_secs` `timeout`.
#[derive(PluginConfig, Clone)]
#[config(version = 2, upgrades = [timeout_renamed])]
pub struct VersionedConfig {
    #[config(secret, min_length = 8)]
    pub api_key: String,
    #[config(url, default = "https://api.example.com")]
    pub endpoint: String,
    #[config(default = 30, min = 1, max = 300)]
    pub timeout_secs: u32,
    #[config(choices("usd", "eur"), default = "usd")]
    pub currency: String,
    pub sandbox: bool,
}

fn timeout_renamed(mut values: ConfigValues) -> Result<ConfigValues, String> {
    if let Some(timeout) = values.remove("timeout") {
        values.insert("timeout_secs".into(), timeout);
    }
    Ok(values)
}

pub struct Versioned(VersionedConfig);

impl From<VersionedConfig> for Versioned {
    fn from(config: VersionedConfig) -> Self {
        Versioned(config)
    }
}

#[plugin_item(name = "versioned", config = VersionedConfig)]
impl BenchNotifier for Versioned {
    fn send(&self, message: &str) -> usize {
        message.len() + self.0.timeout_secs as usize
    }
}

const VARIABLE: &str = "BENCH_DECLARED_API_KEY";

/// An N-entry file; entry `changed` (if any) has another timeout.
fn file_text(n: usize, changed: Option<usize>) -> String {
    let mut text = String::with_capacity(n * 220);
    for i in 0..n {
        let timeout = if Some(i) == changed { 61 } else { 30 };
        let _ = write!(
            text,
            "[[instance]]\nitem = \"plugin-system:bench_notifier/versioned\"\nname = \"gateway {i}\"\n\
             scope = \"t-{}\"\npriority = {}\n[instance.config]\napi_key = {{ env = \"{VARIABLE}\" }}\n\
             timeout_secs = {timeout}\ncurrency = \"eur\"\n\n",
            i / PER_SCOPE,
            i % 7,
        );
    }
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = work();
    (value, started.elapsed())
}

fn show(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1e3)
    }
}

fn main() {
    // SAFETY: set once, before any thread of this process reads the environment.
    unsafe { std::env::set_var(VARIABLE, "sk_live_bench_0123456789") };
    let sizes: Vec<usize> = std::env::var("BENCH_DECLARED_SIZES").map_or_else(
        |_| SIZES.to_vec(),
        |sizes| {
            sizes
                .split(',')
                .map(|n| n.trim().parse().unwrap())
                .collect()
        },
    );
    println!(
        "| step | {} |",
        sizes
            .iter()
            .map(|n| format!("{n} instances"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---:|".repeat(sizes.len()));
    let mut rows: Vec<(&str, Vec<String>)> = [
        "read the file",
        "first apply (creates all)",
        "diff, no change",
        "apply one change",
        "export",
        "migrate (all rows from version 1)",
    ]
    .into_iter()
    .map(|step| (step, Vec::new()))
    .collect();
    for &n in &sizes {
        for (row, figure) in rows.iter_mut().zip(measure(n)) {
            row.1.push(figure);
        }
    }
    for (step, figures) in rows {
        println!("| {step} | {} |", figures.join(" | "));
    }
}

fn measure(n: usize) -> Vec<String> {
    let (dir, url) = support::sqlite();
    let keyring = plugin_system::Keyring::new(plugin_system::Key::generate());
    use plugin_system::database::DatabaseUrlExt;
    let plugins = Plugins::builder()
        .database_url(&url)
        .keyring(keyring.clone())
        .no_watch()
        .build()
        .unwrap();
    let path = dir.path().join("plugins.toml");
    std::fs::write(&path, file_text(n, None)).unwrap();

    let read = median(
        (0..RUNS)
            .map(|_| timed(|| plugins.read_file(&path).unwrap()).1)
            .collect(),
    );
    let file = plugins.read_file(&path).unwrap();
    let (plan, first) = timed(|| plugins.apply_file(&file, false).unwrap());
    assert_eq!(plan.counts().create, n);
    let diff = median(
        (0..RUNS)
            .map(|_| {
                let (plan, took) = timed(|| plugins.plan_file(&file, false).unwrap());
                assert!(plan.is_empty());
                took
            })
            .collect(),
    );
    let one = median(
        (0..RUNS)
            .map(|run| {
                std::fs::write(&path, file_text(n, Some(run))).unwrap();
                let changed = plugins.read_file(&path).unwrap();
                let before = plugins.refresh_stats();
                let (plan, took) = timed(|| plugins.apply_file(&changed, false).unwrap());
                let after = plugins.refresh_stats();
                // What it changed is all the snapshot reads again: one row, not a reload.
                assert_eq!(after.full_reloads, before.full_reloads);
                assert_eq!(after.incremental_updates, before.incremental_updates + 1);
                // The entry changed now, and the one changed by the previous run changed back.
                assert_eq!(plan.counts().update, if run == 0 { 1 } else { 2 });
                took
            })
            .collect(),
    );
    let export = median(
        (0..RUNS)
            .map(|_| timed(|| plugins.export_file().unwrap()).1)
            .collect(),
    );

    // Every row as version 1 wrote it (`timeout`, no version key), then migrated.
    let store = plugin_system::database::open(&url).unwrap();
    store
        .write(&mut |tx| {
            let mut records = tx.instances()?;
            records.retain(|record| record.meta.item.name == "versioned");
            for record in &mut records {
                let plaintext = serde_json::json!({
                    "api_key": {"$env": VARIABLE}, "timeout": 30, "currency": "eur"
                });
                let sealed = keyring.seal(record.meta.id, &serde_json::to_vec(&plaintext).unwrap());
                record.sealed_config = Some(sealed);
            }
            tx.update_instances(&records)?;
            tx.bump_revision(Changed::Everything)?;
            Ok(())
        })
        .unwrap();
    plugins.refresh().unwrap();
    let (migration, migrate) = timed(|| plugins.migrate_configs(false).unwrap());
    assert_eq!(migration.migrated.len(), n);
    assert!(migration.failed.is_empty());
    assert!(plugins.load_failures().is_empty());
    let _ = plugins.shutdown(Duration::from_secs(5));
    drop(dir);
    [read, first, diff, one, export, migrate].map(show).to_vec()
}
