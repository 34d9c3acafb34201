//! Two measurements that need processes of their own (`cargo bench --all-features --bench
//! propagation`):
//!
//! - **propagation**: a status change written by this process, served by another process
//!   (a child running this binary with `--serve`), on SQLite (revision polling, default
//!   bound 1 s) and PostgreSQL (LISTEN/NOTIFY push; `PLUGIN_SYSTEM_TEST_POSTGRES_URL`,
//!   default `postgres://postgres@127.0.0.1:5432/test`, a schema of its own);
//! - **memory**: the peak resident memory of a process (a child running `--memory`) that
//!   syncs the 1,000 × 10 registry into SQLite and serves its 10,000 instances.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugin_system::Status;
use plugin_system::prelude::*;
use support::BenchNotifier;

/// Status flips per backend.
const FLIPS: usize = 30;

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(&args[2]),
        Some("--memory") => memory(),
        _ => {
            let (_dir, sqlite) = support::sqlite();
            propagation("SQLite", &sqlite, Duration::from_secs(1));
            match support::postgres_schema("plugin_bench") {
                Ok(schema) => propagation("PostgreSQL", &schema.url, Duration::from_secs(1)),
                Err(reason) => println!("propagation on PostgreSQL: skipped ({reason})"),
            }
            let peak = Command::new(std::env::current_exe().unwrap())
                .arg("--memory")
                .output()
                .unwrap();
            print!("{}", String::from_utf8_lossy(&peak.stdout));
        }
    }
}

/// The child: serves lookups and prints every change of the selected instance.
fn serve(url: &str) {
    let plugins = Plugins::builder()
        .registry(support::registry(1, 2))
        .database_url(url)
        .skip_sync()
        .build()
        .unwrap();
    let mut seen = plugins
        .get::<dyn BenchNotifier>()
        .unwrap()
        .meta()
        .name
        .clone();
    println!("READY");
    let deadline = unix_micros() + 120_000_000;
    while unix_micros() < deadline {
        let plugin = plugins.get::<dyn BenchNotifier>().unwrap();
        if plugin.meta().name != seen {
            seen = plugin.meta().name.clone();
            println!("SEEN {seen} {}", unix_micros());
        }
    }
}

fn propagation(backend: &str, url: &str, bound: Duration) {
    let registry = support::registry(1, 2);
    let plugins = Plugins::builder()
        .registry(registry)
        .database_url(url)
        .no_watch()
        .build()
        .unwrap();
    let first = plugins.get::<dyn BenchNotifier>().unwrap().meta().clone();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", url])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    let mut latencies = Vec::new();
    for flip in 0..FLIPS {
        // Spread the writes over the polling period, as real writes are.
        std::thread::sleep(Duration::from_millis(50 + (flip as u64 * 37) % 400));
        let status = if flip % 2 == 0 {
            Status::Disabled
        } else {
            Status::Active
        };
        let written = unix_micros();
        plugins.set_status(&[first.id], status).unwrap();
        let line = lines.next().unwrap().unwrap();
        let seen: u128 = line.rsplit(' ').next().unwrap().parse().unwrap();
        latencies.push(Duration::from_micros((seen - written) as u64));
    }
    child.kill().unwrap();
    let _ = child.wait();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "propagation on {backend} (bound {} ms): median {:.1} ms, p90 {:.1} ms, max {:.1} ms over {FLIPS} changes",
        bound.as_millis(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// The child: holds the 1,000 × 10 registry synced and loaded, then reports its peak memory.
fn memory() {
    let (_dir, url) = support::sqlite();
    let plugins = Plugins::builder()
        .registry(support::registry(1000, 10))
        .database_url(&url)
        .no_watch()
        .build()
        .unwrap();
    assert_eq!(plugins.active::<dyn BenchNotifier>().len(), 10_000);
    let peak_kib = support::peak_memory_kib() as f64;
    println!(
        "peak memory after syncing and loading 1,000 x 10 (10,000 instances): {:.1} MiB",
        peak_kib / 1024.0
    );
}
