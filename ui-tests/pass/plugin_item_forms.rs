//! Every supported form of #[plugin_item], and how items are built.

use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct KeyConfig {
    #[config(secret)]
    pub api_key: String,
}

/// Built by `From<KeyConfig>`.
pub struct FromImpl(KeyConfig);

impl From<KeyConfig> for FromImpl {
    fn from(config: KeyConfig) -> Self {
        FromImpl(config)
    }
}

/// Documented item.
#[plugin_item(name = "from_impl", config = KeyConfig, priority = -5, category = "cards")]
impl Gateway for FromImpl {
    fn pay(&self, amount: u64) -> String {
        format!("{}:{amount}", self.0.api_key)
    }
}

/// Built by a fallible `FromConfig`.
pub struct Fallible;

impl FromConfig<KeyConfig> for Fallible {
    fn from_config(config: KeyConfig) -> Result<Self, PluginError> {
        if config.api_key.is_empty() { Err(PluginError::new("empty key")) } else { Ok(Fallible) }
    }
}

#[plugin_item(name = "fallible", config = KeyConfig, renamed_from = "fallible_v1", renamed_from = "fallible_v0")]
impl Gateway for Fallible {
    fn pay(&self, _: u64) -> String {
        String::new()
    }
}

/// Built by `Default`.
#[derive(Default)]
pub struct Plain;

#[plugin_item(
    name = "plain",
    description = "Given in the attribute",
    version = "2.1.0-beta.1",
    authors = ["Ada Lovelace <ada@example.com>", "Bob"],
    homepage = "https://example.com/plain",
    hidden
)]
impl Gateway for Plain {
    fn pay(&self, _: u64) -> String {
        "plain".into()
    }
}

/// No config, not `Default`: its own `FromConfig<NoConfig>`.
pub struct Custom(u32);

impl FromConfig<NoConfig> for Custom {
    fn from_config(_: NoConfig) -> Result<Self, PluginError> {
        Ok(Custom(7))
    }
}

#[plugin_item(name = "custom", crate = ::plugin_system)]
impl Gateway for Custom {
    fn pay(&self, amount: u64) -> String {
        format!("{}", amount + u64::from(self.0))
    }
}

fn main() {
    let registry = plugin_system::registry::Registry::linked().unwrap();
    let names: Vec<_> = registry.items().map(|item| item.name()).collect();
    assert_eq!(names, ["custom", "fallible", "from_impl", "plain"]);
    let item = |name: &str| registry.items().find(|item| item.name() == name).unwrap();
    let plain = item("plain");
    assert_eq!(plain.version(), "2.1.0-beta.1");
    assert_eq!(plain.authors().collect::<Vec<_>>(), ["Ada Lovelace <ada@example.com>", "Bob"]);
    assert_eq!(plain.homepage(), Some("https://example.com/plain"));
    assert!(plain.is_hidden());
    // The defaults: the Cargo.toml of the crate the item is in, no homepage, shown.
    let custom = item("custom");
    assert_eq!(custom.version(), env!("CARGO_PKG_VERSION"));
    let cargo_authors: Vec<&str> = env!("CARGO_PKG_AUTHORS").split(':').filter(|a| !a.is_empty()).collect();
    assert_eq!(custom.authors().collect::<Vec<_>>(), cargo_authors);
    assert_eq!(custom.homepage(), None);
    assert!(!custom.is_hidden());
    let plugins = Plugins::builder().keyring(Keyring::new(plugin_system::Key::generate())).build().unwrap();
    // `custom` and `plain` have default instances; `custom` comes first by id or priority tie.
    assert_eq!(plugins.active::<dyn Gateway>().len(), 2);
}
