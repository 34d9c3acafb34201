//! What the benchmarks share: a registry of any size (types × items, like the anchor's
//! benchmark), and a configurable item with a five-field config.

#![allow(dead_code)] // each benchmark uses its own part

use plugin_system::prelude::*;
use plugin_system::registry::Registry;

/// The contract every synthetic type shares (so every item can be built and served).
#[plugin_type(name = "bench_notifier")]
pub trait BenchNotifier {
    fn send(&self, message: &str) -> usize;
}

#[derive(Default)]
pub struct Plain;

#[plugin_item(name = "plain")]
impl BenchNotifier for Plain {
    fn send(&self, message: &str) -> usize {
        message.len()
    }
}

/// A five-field config, as in the anchor's "read a 5-field encrypted config".
#[derive(PluginConfig, Clone)]
pub struct FiveFields {
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

pub struct Configured(FiveFields);

impl From<FiveFields> for Configured {
    fn from(config: FiveFields) -> Self {
        Configured(config)
    }
}

#[plugin_item(name = "configured", config = FiveFields)]
impl BenchNotifier for Configured {
    fn send(&self, message: &str) -> usize {
        message.len() + self.0.api_key.len()
    }
}

/// A registry of `types` × `items` config-less items, each built like `plain` (each sync gives
/// each one a default ACTIVE instance: `types × items` instances).
pub fn registry(types: usize, items: usize) -> &'static Registry {
    let plain = Registry::linked()
        .unwrap()
        .items()
        .find(|item| item.name() == "plain")
        .unwrap();
    plugin_runtime::testing::synthetic_registry(types, items, plain).unwrap()
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    (dir, url)
}

/// The PostgreSQL server the benchmarks use (`PLUGIN_SYSTEM_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`).
pub fn postgres_server() -> String {
    std::env::var("PLUGIN_SYSTEM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of a benchmark's own on the PostgreSQL server, dropped (with everything in it)
/// when this is dropped.
pub struct PgSchema {
    /// The server's URL with the schema as its search path: what a store opens.
    pub url: String,
    name: String,
    #[cfg(feature = "postgres")]
    conn: diesel::PgConnection,
}

/// A fresh schema named `{prefix}_{pid}` on the PostgreSQL server, if this build has the
/// backend and the server answers; otherwise why not.
#[cfg(feature = "postgres")]
pub fn postgres_schema(prefix: &str) -> Result<PgSchema, String> {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let server = postgres_server();
    let mut conn = PgConnection::establish(&server)
        .map_err(|err| format!("cannot connect to {server}: {err}"))?;
    let name = format!("{prefix}_{}", std::process::id());
    for statement in [
        format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
        format!("CREATE SCHEMA {name}"),
    ] {
        diesel::sql_query(&statement)
            .execute(&mut conn)
            .map_err(|err| format!("`{statement}` failed: {err}"))?;
    }
    let separator = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{separator}options=-csearch_path%3D{name}");
    Ok(PgSchema { url, name, conn })
}

/// Without the `postgres` feature: never a schema.
#[cfg(not(feature = "postgres"))]
pub fn postgres_schema(prefix: &str) -> Result<PgSchema, String> {
    let _ = prefix;
    Err("this build has no `postgres` feature (run with --all-features)".into())
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        {
            use diesel::RunQueryDsl;
            let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
            if let Err(err) = diesel::sql_query(drop).execute(&mut self.conn) {
                eprintln!("could not drop schema {}: {err}", self.name);
            }
        }
    }
}

/// This process's peak resident memory (`VmHWM` of `/proc/self/status`), in KiB.
pub fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// A store in memory, synced with this binary's linked registry.
pub fn memory_store() -> std::sync::Arc<dyn plugin_system::store::Store> {
    let store: std::sync::Arc<dyn plugin_system::store::Store> =
        std::sync::Arc::new(plugin_system::store::MemoryStore::new());
    plugin_system::sync::run(
        &*store,
        Registry::linked().unwrap(),
        &plugin_system::sync::SyncOptions::default(),
    )
    .unwrap();
    store
}

/// A handle on `store` (synced already) that neither syncs nor watches.
pub fn handle_on(
    store: &std::sync::Arc<dyn plugin_system::store::Store>,
    keyring: &Keyring,
) -> Plugins {
    Plugins::builder()
        .shared_store(std::sync::Arc::clone(store))
        .keyring(keyring.clone())
        .skip_sync()
        .no_watch()
        .build()
        .unwrap()
}
