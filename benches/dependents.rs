//! Writes among dependents (issue 13): what a write costs when every tenant has an instance
//! that needs another plugin type, at 100, 1,000 and 10,000 tenants. `cargo bench
//! --all-features --bench dependents`; it prints a markdown table and asserts nothing about
//! time (it panics when a write fails or a dependent serves the wrong provider).
//!
//! Per size T, in a [`MemoryStore`](plugin_system::store::MemoryStore) (so the figures are the handle's own work: the checks,
//! the snapshot update and the rebuilt dependents, not a database's round trips, which
//! `--bench writes` measures): one global renderer, and in each of T tenants its own
//! renderer and a mailer that needs a renderer (2T + 1 instances). Each write is a single
//! call of the writing handle, including its own snapshot update:
//!
//! - **renderer's config**: one tenant's renderer gets a new config: the renderer and that
//!   tenant's mailer are built again;
//! - **mailer's status**: one tenant's mailer between ACTIVE and RESERVED (nothing needs it);
//! - **disable a renderer**: one tenant's renderer DISABLED (allowed: the global one still
//!   meets its mailer, which is built again with it), then ACTIVE again;
//! - **create a mailer**: a second mailer in one tenant, built with that tenant's renderer.
//!
//! A write should cost what it changes: the same at 10,000 tenants as at 100.
//!
//! Then **cold start with start hooks**: a new handle over 100 and 1,000 instances of an
//! item whose start hook takes [`START_TAKES`] (a connection being opened, simulated), from
//! `build()` to its return (every instance loaded and started).

// Benchmarks are binaries; nothing here is an API.
#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use plugin_system::prelude::*;
use plugin_system::{InstanceUpdate, Key, Keyring, NoConfig, Status};

/// Tenants per run; `BENCH_DEPENDENTS_SIZES=100,1000` runs others.
const SIZES: [usize; 3] = [100, 1_000, 10_000];
/// Samples per write and size (each write is one call; the table shows their median).
const SAMPLES: usize = 200;
/// Instances per `create_instances` call of the fill.
const FILL_BATCH: usize = 10_000;
/// Instances of the cold starts with start hooks.
const STARTED: [usize; 2] = [100, 1_000];
/// How long each start hook of those takes.
const START_TAKES: Duration = Duration::from_millis(5);

#[plugin_type(name = "bench_renderer")]
pub trait Renderer {
    fn render(&self, text: &str) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct Template {
    /// Put before every rendered text.
    pub prefix: String,
}

pub struct Prefixing(Template);

impl From<Template> for Prefixing {
    fn from(config: Template) -> Self {
        Prefixing(config)
    }
}

#[plugin_item(name = "prefixing", config = Template)]
impl Renderer for Prefixing {
    fn render(&self, text: &str) -> String {
        format!("{}{text}", self.0.prefix)
    }
}

#[plugin_type(name = "bench_mailer")]
pub trait Mailer {
    fn mail(&self, text: &str) -> String;
}

pub struct Templated(Plugin<dyn Renderer>);

impl FromNeeds<NoConfig> for Templated {
    fn from_needs(_: NoConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(Templated(needs.get::<dyn Renderer>()?))
    }
}

#[plugin_item(name = "templated", needs = [Renderer])]
impl Mailer for Templated {
    fn mail(&self, text: &str) -> String {
        self.0.render(text)
    }
}

#[plugin_type(name = "bench_pool")]
pub trait Pool {
    fn size(&self) -> usize;
}

#[derive(Default)]
pub struct Connections;

impl Lifecycle for Connections {
    fn start(&self) -> Result<(), PluginError> {
        std::thread::sleep(START_TAKES);
        Ok(())
    }

    fn stop(&self) {}
}

#[plugin_item(name = "connections", lifecycle)]
impl Pool for Connections {
    fn size(&self) -> usize {
        4
    }
}

fn renderer(name: &str, prefix: &str) -> NewInstance {
    NewInstance::of::<dyn Renderer>("prefixing", name).config(&Template {
        prefix: prefix.into(),
    })
}

fn mailer(name: &str) -> NewInstance {
    NewInstance::of::<dyn Mailer>("templated", name)
}

fn tenant(index: usize) -> String {
    format!("tenant-{index:05}")
}

/// The medians of one size, in the table's column order.
struct Row {
    tenants: usize,
    instances: usize,
    fill: Duration,
    medians: [Duration; 4],
}

const WRITES: [&str; 4] = [
    "renderer's config",
    "mailer's status",
    "disable a renderer (and enable it)",
    "create a mailer",
];

fn main() {
    let sizes: Vec<usize> = match std::env::var("BENCH_DEPENDENTS_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("BENCH_DEPENDENTS_SIZES: numbers"))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let rows: Vec<Row> = sizes.iter().map(|&tenants| measure(tenants)).collect();
    println!("\n| tenants | instances | fill | {} |", WRITES.join(" | "));
    println!("|---:|---:|---:|{}", "---:|".repeat(WRITES.len()));
    for row in &rows {
        let cells: Vec<String> = row.medians.iter().map(|d| show(*d)).collect();
        println!(
            "| {} | {} | {} | {} |",
            row.tenants,
            row.instances,
            show(row.fill),
            cells.join(" | ")
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && rows.len() > 1
    {
        let ratios: Vec<String> = (0..WRITES.len())
            .map(|i| {
                format!(
                    "{:.2}×",
                    last.medians[i].as_secs_f64() / first.medians[i].as_secs_f64()
                )
            })
            .collect();
        println!(
            "| {} vs {} tenants | | | {} |",
            last.tenants,
            first.tenants,
            ratios.join(" | ")
        );
    }
    println!(
        "\n| instances with a start hook of {} ms | cold start |\n|---:|---:|",
        START_TAKES.as_millis()
    );
    for n in STARTED {
        println!("| {n} | {} |", show(cold_start(n)));
    }
}

/// A new handle's `build()` over `n` instances of the item with a start hook.
fn cold_start(n: usize) -> Duration {
    let store = support::memory_store();
    let keyring = Keyring::new(Key::generate());
    let handle = || support::handle_on(&store, &keyring);
    let writer = handle();
    writer
        .create_instances(
            (0..n)
                .map(|i| NewInstance::of::<dyn Pool>("connections", format!("pool-{i}")))
                .collect(),
        )
        .expect("the pools");
    writer.shutdown(Duration::from_secs(60));
    let started = Instant::now();
    let reader = handle();
    let took = started.elapsed();
    assert_eq!(
        reader.active::<dyn Pool>().len(),
        n + 1,
        "every pool started"
    );
    reader.shutdown(Duration::from_secs(60));
    took
}

fn measure(tenants: usize) -> Row {
    let plugins = support::handle_on(&support::memory_store(), &Keyring::new(Key::generate()));
    let started = Instant::now();
    plugins
        .create_instance(renderer("global", "G:"))
        .expect("the global renderer");
    let mut renderers = Vec::with_capacity(tenants);
    for batch in (0..tenants).collect::<Vec<_>>().chunks(FILL_BATCH) {
        let created = plugins
            .create_instances(
                batch
                    .iter()
                    .map(|&t| renderer(&format!("renderer-{t}"), "T:").scope(tenant(t)))
                    .collect(),
            )
            .expect("the tenants' renderers");
        renderers.extend(created.into_iter().map(|meta| meta.id));
    }
    let mut mailers = Vec::with_capacity(tenants);
    for batch in (0..tenants).collect::<Vec<_>>().chunks(FILL_BATCH) {
        let created = plugins
            .create_instances(
                batch
                    .iter()
                    .map(|&t| mailer(&format!("mailer-{t}")).scope(tenant(t)))
                    .collect(),
            )
            .expect("the tenants' mailers");
        mailers.extend(created.into_iter().map(|meta| meta.id));
    }
    let fill = started.elapsed();
    let served = |t: usize| {
        plugins
            .scoped(&tenant(t))
            .get::<dyn Mailer>()
            .expect("every tenant has a mailer")
            .mail("x")
    };
    assert_eq!(served(tenants / 2), "T:x");

    // Tenants are picked across the whole range, so shards and slots differ per sample.
    let pick = |sample: usize| (sample * 7919) % tenants;
    let mut times: [Vec<Duration>; 4] = Default::default();
    for sample in 0..SAMPLES {
        let t = pick(sample);
        let prefix = format!("P{sample}:");
        let version = plugins.instance(renderers[t]).unwrap().meta.version;
        let update = InstanceUpdate {
            config: Some(
                Template {
                    prefix: prefix.clone(),
                }
                .to_values(),
            ),
            ..InstanceUpdate::default()
        };
        times[0].push(timed(|| {
            plugins
                .update_instance(renderers[t], version, update)
                .map(drop)
        }));
        assert_eq!(
            served(t),
            format!("{prefix}x"),
            "rebuilt with the new config"
        );

        let status = match plugins.instance(mailers[t]).unwrap().meta.status {
            Status::Active => Status::Reserved,
            _ => Status::Active,
        };
        times[1].push(timed(|| {
            plugins.set_status(&[mailers[t]], status).map(drop)
        }));

        times[2].push(timed(|| {
            plugins.set_status(&[renderers[t]], Status::Disabled)?;
            plugins
                .set_status(&[renderers[t]], Status::Active)
                .map(drop)
        }));

        times[3].push(timed(|| {
            plugins
                .create_instance(mailer(&format!("extra-{sample}")).scope(tenant(t)))
                .map(drop)
        }));
    }
    let medians = times.map(|mut series| {
        series.sort();
        series[series.len() / 2]
    });
    Row {
        tenants,
        instances: 2 * tenants + 1,
        fill,
        medians,
    }
}

fn timed(write: impl FnOnce() -> Result<(), plugin_system::Error>) -> Duration {
    let started = Instant::now();
    write().expect("the write succeeds");
    started.elapsed()
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}
