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
