//! The SQLite store, for real (a file in a temporary directory), through the facade.

use std::sync::Arc;

use plugin_diesel::SqliteStore;
use plugin_system::prelude::*;
use plugin_system::store::Store;
use plugin_system::{InstanceUpdate, SyncOptions};

#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    #[config(secret, min_length = 8)]
    pub api_key: String,
}

pub struct Stripe(StripeConfig);

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe(config)
    }
}

#[plugin_item(name = "stripe", config = StripeConfig, priority = 10)]
impl PaymentGateway for Stripe {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("{}:{amount}", self.0.api_key))
    }
}

#[derive(Default)]
pub struct Cash;

#[plugin_item(name = "cash", priority = 50)]
impl PaymentGateway for Cash {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("cash:{amount}"))
    }
}

fn database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.db").to_string_lossy().into_owned();
    (dir, path)
}

fn plugins(path: &str, keyring: &Keyring) -> Plugins {
    Plugins::builder()
        .store(SqliteStore::open(path).unwrap())
        .keyring(keyring.clone())
        .build()
        .unwrap()
}

fn stripe(name: &str, key: &str, status: Status, priority: i32) -> NewInstance {
    NewInstance::of::<dyn PaymentGateway>("stripe", name)
        .config(&StripeConfig {
            api_key: key.into(),
        })
        .status(status)
        .priority(priority)
}

#[test]
fn sync_counts_then_a_no_change_resync() {
    let (_dir, path) = database();
    let store = SqliteStore::open(&path).unwrap();
    let registry = plugin_system::Registry::linked().unwrap();
    let first = store.sync(registry, &SyncOptions::default()).unwrap();
    assert_eq!(
        (
            first.types_created,
            first.items_created,
            first.instances_created
        ),
        (1, 2, 1)
    );
    let again = store.sync(registry, &SyncOptions::default()).unwrap();
    assert!(again.is_noop(), "{:?}", again.actions);
    let instances = store.instances().unwrap();
    assert_eq!(
        instances.len(),
        1,
        "only the config-less item gets a default instance"
    );
    assert_eq!(instances[0].meta.name, "cash");
}

#[test]
fn selection_config_and_persistence_across_processes_reopening_the_file() {
    let (_dir, path) = database();
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(&path, &keyring);
    plugins
        .create_instance(stripe(
            "Stripe Production",
            "sk_production",
            Status::Active,
            10,
        ))
        .unwrap();
    plugins
        .create_instance(stripe("Stripe Backup", "sk_backup_key", Status::Active, 20))
        .unwrap();
    plugins
        .create_instance(stripe("Stripe Sandbox", "sk_sandbox", Status::Reserved, 1))
        .unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().name,
        "Stripe Production"
    );

    // A second handle on the same file (as another process would open it) sees the same.
    let reopened = plugins_reopened(&path, &keyring);
    let chosen = reopened.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(chosen.meta().name, "Stripe Production");
    assert_eq!(chosen.create_payment(3).unwrap(), "sk_production:3");
}

fn plugins_reopened(path: &str, keyring: &Keyring) -> Plugins {
    plugins(path, keyring)
}

#[test]
fn a_stale_version_is_a_conflict() {
    let (_dir, path) = database();
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(&path, &keyring);
    let created = plugins
        .create_instance(stripe("Edited", "sk_edited_", Status::Active, 1))
        .unwrap();
    let rename = |name: &str| InstanceUpdate {
        name: Some(name.into()),
        ..Default::default()
    };
    plugins
        .update_instance(created.id, created.version, rename("First"))
        .unwrap();
    let err = plugins
        .update_instance(created.id, created.version, rename("Second"))
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    let err = plugins
        .create_instance(stripe("First", "sk_other_k", Status::Active, 1))
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateInstanceName { .. }), "{err}");
}

#[test]
fn a_ciphertext_copied_to_another_row_does_not_decrypt() {
    let (_dir, path) = database();
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(&path, &keyring);
    let a = plugins
        .create_instance(stripe("A", "sk_aaaaaaaa", Status::Active, 1))
        .unwrap();
    let b = plugins
        .create_instance(stripe("B", "sk_bbbbbbbb", Status::Active, 2))
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let sealed_a = store
        .instances()
        .unwrap()
        .into_iter()
        .find(|r| r.meta.id == a.id)
        .and_then(|r| r.sealed_config)
        .unwrap();
    let change = plugin_system::InstanceChange {
        sealed_config: Some(sealed_a),
        ..Default::default()
    };
    store.update_instance(b.id, b.version, &change).unwrap();
    plugins.refresh().unwrap();
    let failures = plugins.load_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].meta.id, b.id);
    assert!(
        failures[0].reason.contains("does not decrypt"),
        "{}",
        failures[0].reason
    );
    assert!(!failures[0].reason.contains("sk_aaaaaaaa"));
    assert_eq!(plugins.get::<dyn PaymentGateway>().unwrap().meta().id, a.id);
}

#[test]
fn eight_concurrent_syncs_leave_one_row_per_key() {
    let (_dir, path) = database();
    let registry = plugin_system::Registry::linked().unwrap();
    let path = Arc::new(path);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || {
                let store = SqliteStore::open(&path)?;
                store.sync(registry, &SyncOptions::default())
            })
        })
        .collect();
    let reports: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert_eq!(reports.iter().map(|r| r.types_created).sum::<usize>(), 1);
    assert_eq!(reports.iter().map(|r| r.items_created).sum::<usize>(), 2);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.instances().unwrap().len(), 1);
}
