//! What the benchmarks share: a registry of any size (types × items, like the anchor's
//! benchmark), and a configurable item with a five-field config.

#![allow(dead_code)] // each benchmark uses its own part

use std::sync::LazyLock;

use plugin_system::__private::{self as private, ItemParts, Location, TypeParts};
use plugin_system::prelude::*;
use plugin_system::registry::{ItemInfo, Registry, TypeInfo};

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

/// The most types a synthetic registry has.
pub const MAX_TYPES: usize = 1000;

static TYPES: LazyLock<Vec<TypeInfo>> = LazyLock::new(|| {
    (0..MAX_TYPES)
        .map(|index| {
            TypeInfo::from_parts(TypeParts {
                name: Box::leak(format!("type_{index:04}").into_boxed_str()),
                namespace: "bench",
                description: "a synthetic plugin type",
                rust_path: "bench::BenchNotifier",
                crate_name: "bench",
                location: Location::new("benches/support/mod.rs", 1),
                fingerprint: "0",
                type_id: private::type_id_of::<dyn BenchNotifier>,
                relabel: private::relabel::<dyn BenchNotifier>,
                selector: None,
                critical: false,
                parent: None,
            })
        })
        .collect()
});

fn type_at<const N: usize>() -> &'static TypeInfo {
    &TYPES[N]
}

// `ItemInfo::plugin_type` is a function pointer: one function per synthetic type.
seq_macro::seq!(N in 0..1000 {
    static TYPE_FNS: [fn() -> &'static TypeInfo; MAX_TYPES] = [#(type_at::<N>,)*];
});

/// A registry of `types` × `items` config-less items (each sync gives each one a default
/// ACTIVE instance: `types × items` instances).
pub fn registry(types: usize, items: usize) -> &'static Registry {
    assert!(types <= MAX_TYPES);
    let plain = Registry::linked()
        .unwrap()
        .items()
        .find(|item| item.name() == "plain")
        .unwrap();
    let infos: Vec<ItemInfo> = (0..types)
        .flat_map(|t| (0..items).map(move |i| (t, i)))
        .map(|(t, i)| {
            ItemInfo::from_parts(ItemParts {
                name: Box::leak(format!("item_{i:02}").into_boxed_str()),
                description: "a synthetic plugin item",
                priority: i32::try_from(i).unwrap(),
                category: None,
                renamed_from: &[],
                rust_type: "Plain",
                module: "bench",
                crate_name: "bench",
                location: Location::new("benches/support/mod.rs", 2),
                plugin_type: TYPE_FNS[t],
                config: None,
                build: plain.parts().build,
            })
        })
        .collect();
    let registry = Registry::collect(&[], Vec::leak(infos), &[]).unwrap();
    Box::leak(Box::new(registry))
}

/// A fresh SQLite database in a temporary directory.
pub fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    (dir, url)
}
