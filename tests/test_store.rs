//! The database stores through `Plugins`, for real, one suite run against every backend this
//! build enables (`cargo test --all-features`: SQLite, PostgreSQL and MariaDB; see
//! `tests/support`). The store's own rules (sync counts, orphans, renames, conflicts, bulk
//! edits, audit pages) are the conformance suite's (`tests/test_conformance.rs`); here is what
//! the whole family does on a real database: selection, encryption, processes racing,
//! handles seeing each other's writes.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "sqlite")]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugin_system::prelude::*;
use plugin_system::registry::{ItemInfo, Registry};
use plugin_system::store::{AuditQuery, CHANGE_LOG_REVISIONS, Changed, Store, Transaction};
use plugin_system::sync::{SyncAction, SyncOptions};
use plugin_system::{Error, InstanceId, InstanceUpdate, Key, PriorityChange, Status};
use support::TestDatabase;

#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    #[config(secret, min_length = 8)]
    pub api_key: String,
    #[config(choices("usd", "eur"), default = "usd")]
    pub currency: String,
}

pub struct Stripe(StripeConfig);

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe(config)
    }
}

/// Configurable: sync creates no instance of it.
#[plugin_item(
    name = "stripe",
    config = StripeConfig,
    priority = 10,
    category = "cards",
    version = "3.2.1",
    authors = ["Ada Lovelace <ada@example.com>", "Bob"],
    homepage = "https://stripe.example/docs"
)]
impl PaymentGateway for Stripe {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("{}:{amount}:{}", self.0.api_key, self.0.currency))
    }
}

#[derive(Default)]
pub struct Cash;

/// Config-less: sync creates its default ACTIVE instance. Hidden from operators' listings
/// (and nothing else).
#[plugin_item(name = "cash", priority = 50, hidden)]
impl PaymentGateway for Cash {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("cash:{amount}"))
    }
}

/// A sub-type: card gateways are payment gateways that can also refund. Parent lookups serve
/// its instances too.
#[plugin_type(name = "card_gateway", parent = PaymentGateway, version = 2)]
pub trait CardGateway: PaymentGateway {
    fn refund(&self, amount: u64) -> String;
}

pub struct Visa(StripeConfig);

impl From<StripeConfig> for Visa {
    fn from(config: StripeConfig) -> Self {
        Visa(config)
    }
}

#[plugin_item(name = "visa", config = StripeConfig, priority = 5)]
impl CardGateway for Visa {
    fn refund(&self, amount: u64) -> String {
        format!("refunded {amount}")
    }
}

#[plugin_item(via = CardGateway)]
impl PaymentGateway for Visa {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("visa:{}:{amount}", self.0.api_key))
    }
}

fn stripe(name: &str, api_key: &str, status: Status, priority: i32) -> NewInstance {
    NewInstance::of::<dyn PaymentGateway>("stripe", name)
        .config(&StripeConfig {
            api_key: api_key.into(),
            currency: "eur".into(),
        })
        .status(status)
        .priority(priority)
}

/// A handle on the test's database. No watcher: these tests say when a handle refreshes
/// (`tests/test_serving.rs` tests the watcher).
fn plugins(db: &TestDatabase, keyring: &Keyring) -> Plugins {
    Plugins::builder()
        .database_url(&db.url)
        .keyring(keyring.clone())
        .no_watch()
        .build()
        .unwrap_or_else(|err| panic!("{}: {err}", db.backend))
}

fn store(db: &TestDatabase) -> std::sync::Arc<dyn Store> {
    plugin_system::database::open(&db.url).unwrap()
}

fn linked() -> &'static Registry {
    Registry::linked().unwrap()
}

/// A registry holding only some of the linked items: the same application after a
/// deployment that removed the others' code.
fn only(items: &[&str]) -> &'static Registry {
    let kept: Vec<&'static ItemInfo> = linked()
        .items()
        .filter(|item| items.contains(&item.name()))
        .collect();
    assert_eq!(kept.len(), 1, "one item per registry here");
    let registry = Registry::collect(&[], std::slice::from_ref(kept[0]), &[]).unwrap();
    Box::leak(Box::new(registry))
}

on_every_backend!(
    the_macros_registrations_sync_and_read_back_equal,
    active_beats_a_better_reserved_and_the_config_reaches_the_plugin,
    removed_code_orphans_rows_that_are_kept_never_selected_and_pruned_only_on_request,
    eight_processes_syncing_at_once_leave_one_row_per_key,
    a_stale_version_is_a_conflict_and_a_taken_name_a_typed_error,
    a_ciphertext_copied_to_another_row_does_not_decrypt,
    a_rotated_keyring_reads_every_row_and_rotation_reencrypts_them,
    a_wrong_key_makes_instances_unloadable_and_selection_falls_back,
    bulk_status_and_priority_then_delete_with_an_audit_row_each_and_no_secret,
    unknown_and_malformed_instance_ids_are_typed_errors,
    a_second_handle_sees_the_first_ones_writes_after_refresh,
    a_parent_lookup_serves_its_sub_types_instances,
    bulk_creates_and_updates_write_all_in_one_revision_or_nothing,
    the_change_log_cannot_answer_across_a_write_too_large_to_list,
    the_macros_metadata_is_stored_and_a_new_release_is_reported_from_to,
);

/// The rows sync wrote, as the store reads them back.
fn stored_state(store: &dyn Store) -> plugin_system::sync::StoredState {
    let mut state = None;
    store
        .write(&mut |tx: &mut dyn Transaction| {
            state = Some(tx.stored_state()?);
            Ok(())
        })
        .unwrap();
    state.unwrap()
}

/// What the attributes say (and what they default to: this crate's Cargo.toml) is what the
/// database holds after the start-up sync; a deployment of a new release of one item is
/// reported and audited as a change from the recorded version to the new one.
fn the_macros_metadata_is_stored_and_a_new_release_is_reported_from_to(db: &TestDatabase) {
    let plugins = plugins(db, &Keyring::new(Key::generate()));
    let store = store(db);
    let state = stored_state(&*store);
    let row = |name: &str| {
        state
            .items
            .iter()
            .find(|item| item.key.name == name)
            .unwrap_or_else(|| panic!("{}: no {name} row", db.backend))
    };
    let stripe = row("stripe");
    assert_eq!(
        (
            stripe.version.as_str(),
            stripe.authors.clone(),
            stripe.homepage.as_deref(),
            stripe.category.as_deref(),
            stripe.hidden,
        ),
        (
            "3.2.1",
            vec![
                "Ada Lovelace <ada@example.com>".to_owned(),
                "Bob".to_owned()
            ],
            Some("https://stripe.example/docs"),
            Some("cards"),
            false
        ),
        "{}",
        db.backend
    );
    let cash = row("cash");
    assert_eq!(
        (
            cash.version.as_str(),
            cash.authors.len(),
            cash.homepage.as_deref(),
            cash.hidden
        ),
        (env!("CARGO_PKG_VERSION"), 0, None, true),
        "{}: the defaults (this crate's Cargo.toml names no authors), hidden",
        db.backend
    );
    let contract = |name: &str| {
        state
            .types
            .iter()
            .find(|ty| ty.key.name == name)
            .map(|ty| ty.version)
    };
    assert_eq!(
        (contract("payment_gateway"), contract("card_gateway")),
        (Some(1), Some(2)),
        "{}",
        db.backend
    );

    // The next deployment ships stripe 3.3.0.
    let released: Vec<ItemInfo> = linked()
        .items()
        .map(|item| match item.name() {
            "stripe" => plugin_system::__private::ItemInfo::from_parts(
                plugin_system::__private::ItemParts {
                    version: "3.3.0",
                    ..*item.parts()
                },
            ),
            _ => plugin_system::__private::ItemInfo::from_parts(
                plugin_system::__private::ItemParts { ..*item.parts() },
            ),
        })
        .collect();
    let registry = Registry::collect(&[], Vec::leak(released), &[]).unwrap();
    let report = plugin_system::sync::run(&*store, &registry, &SyncOptions::default()).unwrap();
    let changes: Vec<String> = report
        .versions_changed
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        changes,
        ["item plugin-system:payment_gateway/stripe: version 3.2.1 → 3.3.0"],
        "{}",
        db.backend
    );
    let audited: Vec<String> = plugins
        .audit(&AuditQuery::latest(10))
        .unwrap()
        .into_iter()
        .filter(|record| record.entry.action == "version")
        .map(|record| record.entry.detail)
        .collect();
    assert_eq!(audited, changes, "{}: one audit row, from → to", db.backend);
    let stripe = stored_state(&*store)
        .items
        .into_iter()
        .find(|item| item.key.name == "stripe")
        .unwrap();
    assert_eq!(stripe.version, "3.3.0", "{}", db.backend);
}

fn a_parent_lookup_serves_its_sub_types_instances(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    let visa = plugins
        .create_instance(
            NewInstance::of::<dyn CardGateway>("visa", "Visa")
                .config(&StripeConfig {
                    api_key: "sk_visa_key".into(),
                    currency: "usd".into(),
                })
                .priority(5),
        )
        .unwrap();
    plugins
        .create_instance(stripe("Stripe", "sk_stripe_key", Status::Active, 10))
        .unwrap();

    // The parent's candidates: the sub-type's instance (priority 5) first, then Stripe, cash.
    let names: Vec<_> = plugins
        .active::<dyn PaymentGateway>()
        .iter()
        .map(|p| p.meta().name.clone())
        .collect();
    assert_eq!(names, ["Visa", "Stripe", "cash"]);
    let chosen = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(chosen.create_payment(3).unwrap(), "visa:sk_visa_key:3");
    // The sub-type's own lookups see only its instances, with its whole contract.
    assert_eq!(
        plugins.get::<dyn CardGateway>().unwrap().refund(3),
        "refunded 3"
    );
    assert_eq!(plugins.active::<dyn CardGateway>().len(), 1);
    // By id: a sub-type's instance is an instance of the parent type, not the other way.
    assert_eq!(
        plugins
            .get_by_id::<dyn PaymentGateway>(visa.id)
            .unwrap()
            .meta()
            .name,
        "Visa"
    );
    let stripe_id = names_to_id(&plugins, "Stripe");
    let err = plugins.get_by_id::<dyn CardGateway>(stripe_id).unwrap_err();
    assert!(matches!(err, Error::WrongType { .. }), "{err}");
}

fn names_to_id(plugins: &Plugins, name: &str) -> InstanceId {
    plugins
        .active::<dyn PaymentGateway>()
        .iter()
        .find(|p| p.meta().name == name)
        .unwrap()
        .meta()
        .id
}

/// The registrations the macros make (a sub-type among them) sync, then read back equal: a
/// second sync has nothing to do.
fn the_macros_registrations_sync_and_read_back_equal(db: &TestDatabase) {
    let first = Plugins::builder()
        .database_url(&db.url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let report = first.startup_sync().unwrap();
    assert_eq!(
        (
            report.types_created,
            report.items_created,
            report.instances_created
        ),
        (2, 3, 1),
        "{:?}",
        report.actions
    );
    let again = first.sync(&SyncOptions::default()).unwrap();
    assert!(again.is_noop(), "{:?}", again.actions);
    assert_eq!((again.types_found, again.items_found), (2, 3));
    assert_eq!(
        store(db).revision().unwrap(),
        1,
        "the no-change sync wrote nothing"
    );
}

fn active_beats_a_better_reserved_and_the_config_reaches_the_plugin(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    plugins
        .create_instance(stripe("Standby", "sk_standby_key", Status::Reserved, 1))
        .unwrap();
    let live = plugins
        .create_instance(stripe("Live", "sk_live_key_1", Status::Active, 20))
        .unwrap();
    let chosen = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(chosen.meta().name, "Live");
    assert_eq!(chosen.create_payment(5).unwrap(), "sk_live_key_1:5:eur");

    // Disabling both ACTIVE ones leaves the RESERVED one.
    let cash = plugins.active::<dyn PaymentGateway>()[1].meta().id;
    plugins
        .set_status(&[live.id, cash], Status::Disabled)
        .unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().name,
        "Standby"
    );
}

fn removed_code_orphans_rows_that_are_kept_never_selected_and_pruned_only_on_request(
    db: &TestDatabase,
) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    let live = plugins
        .create_instance(stripe("Live", "sk_live_key_1", Status::Active, 1))
        .unwrap();

    // The next deployment has no `stripe` code: its rows are orphaned, not deleted.
    let after = Plugins::builder()
        .database_url(&db.url)
        .keyring(keyring.clone())
        .registry(only(&["cash"]))
        .build()
        .unwrap();
    let report = after.startup_sync().unwrap();
    // `stripe` and the sub-type's `visa`: both items' code is gone from this deployment.
    assert_eq!(report.items_orphaned, 2, "{:?}", report.actions);
    let kept = after.instance(live.id).unwrap();
    assert!(kept.orphaned);
    assert!(
        kept.sealed_config.is_some(),
        "the operator's config is kept"
    );
    assert_eq!(
        after.get::<dyn PaymentGateway>().unwrap().meta().name,
        "cash"
    );
    let err = after.get_by_id::<dyn PaymentGateway>(live.id).unwrap_err();
    assert!(matches!(err, Error::Orphaned { .. }), "{err}");
    // `plugins check` lists it (it reads `load_failures`).
    let failures = after.load_failures();
    assert!(
        failures
            .iter()
            .any(|f| f.meta.id == live.id && f.reason.contains("code is gone")),
        "{failures:?}"
    );

    // A dry run lists what a prune would delete (the configured instance by name), and
    // deletes nothing.
    let prune = SyncOptions {
        prune: true,
        ..SyncOptions::default()
    };
    let dry = after
        .sync(&SyncOptions {
            dry_run: true,
            ..prune
        })
        .unwrap();
    assert!(
        dry.actions.iter().any(|action| matches!(
            action,
            SyncAction::DeleteItem { key, instances } if key.name == "stripe" && instances.len() == 1
        )),
        "{:?}",
        dry.actions
    );
    assert_eq!(
        (dry.instances_deleted, dry.configured_instances_deleted),
        (1, 1)
    );
    assert!(after.instance(live.id).is_ok());

    let pruned = after.sync(&prune).unwrap();
    assert_eq!(pruned.items_deleted, 2, "{:?}", pruned.actions);
    assert_eq!(pruned.configured_instances_deleted, 1);
    assert!(matches!(
        after.instance(live.id),
        Err(Error::UnknownInstance(_))
    ));
    assert_eq!(store(db).instances().unwrap().len(), 1);
    assert!(
        after.load_failures().is_empty(),
        "the prune reloaded the snapshot"
    );
}

/// The environment variables that turn this test binary into a syncing child process.
const CHILD_URL: &str = "PLUGIN_SYSTEM_TEST_CHILD_URL";
const CHILD_START_AT: &str = "PLUGIN_SYSTEM_TEST_CHILD_START_AT";

/// Not a test of its own: the body of each child process of
/// `eight_processes_syncing_at_once_leave_one_row_per_key`, which runs this test binary with
/// `--ignored --exact child_process_sync` and the variables above (ignored, so a plain test
/// run never counts it as a passing test).
#[test]
#[ignore = "a child process of eight_processes_syncing_at_once_leave_one_row_per_key"]
fn child_process_sync() {
    let url = std::env::var(CHILD_URL).expect("run by the eight-processes test");
    let start_at: u64 = std::env::var(CHILD_START_AT).unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    std::thread::sleep(Duration::from_millis(start_at).saturating_sub(now));
    let plugins = Plugins::builder()
        .database_url(&url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let report = plugins.startup_sync().unwrap();
    println!(
        "SYNCED types={} items={} instances={}",
        report.types_created, report.items_created, report.instances_created
    );
}

fn eight_processes_syncing_at_once_leave_one_row_per_key(db: &TestDatabase) {
    // All eight start on the same millisecond, on a database without tables: they race to
    // migrate, then to sync.
    let start_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(2);
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "child_process_sync", "--nocapture"])
                .env(CHILD_URL, &db.url)
                .env(CHILD_START_AT, start_at.as_millis().to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut created = (0, 0, 0);
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "a syncing process failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = stdout
            .lines()
            // Anywhere in a line: the test harness may print the test's name before it.
            .find_map(|line| line.split_once("SYNCED ").map(|(_, counts)| counts))
            .unwrap_or_else(|| panic!("no report in:\n{stdout}"));
        let counts: Vec<usize> = line
            .split(' ')
            .map(|pair| pair.split_once('=').unwrap().1.parse().unwrap())
            .collect();
        created = (
            created.0 + counts[0],
            created.1 + counts[1],
            created.2 + counts[2],
        );
    }
    assert_eq!(
        created,
        (2, 3, 1),
        "each row created by exactly one process"
    );
    let plugins = plugins(db, &Keyring::new(Key::generate()));
    assert_eq!(store(db).instances().unwrap().len(), 1);
    assert!(plugins.sync(&SyncOptions::default()).unwrap().is_noop());
}

fn a_stale_version_is_a_conflict_and_a_taken_name_a_typed_error(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let alice = plugins(db, &keyring);
    let bob = plugins(db, &keyring);
    let created = alice
        .create_instance(stripe("Edited", "sk_edited_", Status::Active, 1))
        .unwrap();
    let rename = |name: &str| InstanceUpdate {
        name: Some(name.into()),
        ..Default::default()
    };
    // Both operators opened version 1; Alice saves first, Bob's save must not overwrite hers.
    alice
        .update_instance(created.id, created.version, rename("Alice's"))
        .unwrap();
    let err = bob
        .update_instance(created.id, created.version, rename("Bob's"))
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(alice.instance(created.id).unwrap().meta.name, "Alice's");

    let err = bob
        .create_instance(stripe("Alice's", "sk_other_k", Status::Active, 1))
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateInstanceName { .. }), "{err}");
    // Names compare exactly, on every backend (MySQL's default collation would not).
    bob.create_instance(stripe("ALICE'S", "sk_other_k", Status::Active, 1))
        .unwrap();
    // The same name in another scope is another instance.
    bob.create_instance(stripe("Alice's", "sk_other_k", Status::Active, 1).scope("tenant-a"))
        .unwrap();
}

fn a_ciphertext_copied_to_another_row_does_not_decrypt(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    let a = plugins
        .create_instance(stripe("A", "sk_aaaaaaaa", Status::Active, 1))
        .unwrap();
    let b = plugins
        .create_instance(stripe("B", "sk_bbbbbbbb", Status::Active, 2))
        .unwrap();
    // Someone with write access to the database copies A's envelope into B's row.
    let store = store(db);
    let mut copied = store.instance(b.id).unwrap().unwrap();
    copied.sealed_config = store.instance(a.id).unwrap().unwrap().sealed_config;
    store
        .write(&mut |tx: &mut dyn Transaction| {
            tx.update_instances(std::slice::from_ref(&copied))?;
            tx.bump_revision(Changed::Instances(&[copied.meta.id]))?;
            Ok(())
        })
        .unwrap();
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

fn a_rotated_keyring_reads_every_row_and_rotation_reencrypts_them(db: &TestDatabase) {
    let old = Key::generate();
    let new = Key::generate();
    let before = plugins(db, &Keyring::new(old.clone()));
    let names = ["One", "Two", "Three"];
    for (priority, name) in names.iter().enumerate() {
        before
            .create_instance(stripe(
                name,
                &format!("sk_{name}_secret"),
                Status::Active,
                priority as i32,
            ))
            .unwrap();
    }

    // The new key first, the old one kept: every row still loads.
    let rotated = Keyring::new(new.clone()).with_old(old);
    let after = plugins(db, &rotated);
    assert!(
        after.load_failures().is_empty(),
        "{:?}",
        after.load_failures()
    );
    assert_eq!(after.active::<dyn PaymentGateway>().len(), 4);

    // `keys rotate`: every config re-encrypted under the new key, in one transaction.
    assert_eq!(after.rotate_keys().unwrap(), 3);
    assert_eq!(
        after.rotate_keys().unwrap(),
        0,
        "nothing left under the old key"
    );
    let sealed: Vec<_> = store(db)
        .instances()
        .unwrap()
        .into_iter()
        .filter_map(|record| record.sealed_config)
        .collect();
    assert_eq!(sealed.len(), 3);
    assert!(
        sealed
            .iter()
            .all(|envelope| !rotated.needs_rotation(envelope))
    );

    // So the old key can go.
    let new_only = plugins(db, &Keyring::new(new));
    assert!(new_only.load_failures().is_empty());
    let first = new_only.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(first.create_payment(1).unwrap(), "sk_One_secret:1:eur");
}

fn a_wrong_key_makes_instances_unloadable_and_selection_falls_back(db: &TestDatabase) {
    let right = Keyring::new(Key::generate());
    plugins(db, &right)
        .create_instance(stripe("Live", "sk_live_key_1", Status::Active, 1))
        .unwrap();
    let wrong = plugins(db, &Keyring::new(Key::generate()));
    let failures = wrong.load_failures();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].reason.contains("was encrypted with key ")
            && failures[0].reason.contains("which is not in the keyring"),
        "the reason names the key problem: {}",
        failures[0].reason
    );
    assert_eq!(
        wrong.get::<dyn PaymentGateway>().unwrap().meta().name,
        "cash"
    );
    // Rotating with a keyring that cannot open a row changes nothing.
    let err = wrong.rotate_keys().unwrap_err();
    assert!(matches!(err, Error::Unloadable { .. }), "{err}");
    assert!(
        plugins(db, &right).load_failures().is_empty(),
        "the row is intact"
    );
}

fn bulk_status_and_priority_then_delete_with_an_audit_row_each_and_no_secret(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    let a = plugins
        .create_instance(stripe("A", "sk_audit_secret_a", Status::Active, 10))
        .unwrap();
    let b = plugins
        .create_instance(stripe("B", "sk_audit_secret_b", Status::Active, 20))
        .unwrap();
    let update = InstanceUpdate {
        config: Some(
            StripeConfig {
                api_key: "sk_audit_secret_c".into(),
                currency: "usd".into(),
            }
            .to_values(),
        ),
        ..Default::default()
    };
    plugins.update_instance(a.id, a.version, update).unwrap();

    assert_eq!(
        plugins.set_status(&[a.id, b.id], Status::Reserved).unwrap(),
        2
    );
    assert_eq!(
        plugins.set_status(&[a.id, b.id], Status::Reserved).unwrap(),
        0,
        "no change, no write"
    );
    assert_eq!(
        plugins
            .set_priority(&[a.id, b.id], PriorityChange::Shift(-5))
            .unwrap(),
        2
    );
    assert_eq!(plugins.instance(b.id).unwrap().meta.priority, 15);
    assert_eq!(plugins.instance(b.id).unwrap().meta.version, 3);
    // A bulk action naming an unknown instance changes nothing.
    let err = plugins
        .set_status(&[a.id, InstanceId::new()], Status::Disabled)
        .unwrap_err();
    assert!(matches!(err, Error::UnknownInstance(_)), "{err}");
    assert_eq!(
        plugins.instance(a.id).unwrap().meta.status,
        Status::Reserved
    );
    plugins.delete_instance(b.id).unwrap();

    let trail: Vec<_> = plugins
        .audit(&AuditQuery::latest(100))
        .unwrap()
        .into_iter()
        .map(|record| record.entry)
        .collect();
    let actions: Vec<&str> = trail.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "sync", "create", "create", "update", "status", "status", "priority", "priority",
            "delete"
        ]
    );
    assert_eq!(trail[0].instance, Some(b.id));
    assert!(
        trail
            .iter()
            .any(|e| e.detail == "changed: config (api_key, currency)" && e.instance == Some(a.id)),
        "an update names the fields it changed: {trail:?}"
    );
    assert!(trail.iter().any(|e| e.detail == "20 -> 15"));
    for entry in &trail {
        assert!(!format!("{entry:?}").contains("sk_audit"), "{entry:?}");
    }
    assert_eq!(plugins.audit(&AuditQuery::latest(2)).unwrap().len(), 2);
    // Who: the deployment syncs, the application writes, unless a handle says who it is.
    assert!(trail.iter().all(|e| e.actor
        == if e.action == "sync" {
            "plugin-system"
        } else {
            "application"
        }));
    plugins
        .acting_as("ops:alice")
        .set_status(&[a.id], Status::Active)
        .unwrap();
    let latest = &plugins.audit(&AuditQuery::latest(1)).unwrap()[0].entry;
    assert_eq!(
        (latest.actor.as_str(), latest.action.as_str()),
        ("ops:alice", "status")
    );
}

fn unknown_and_malformed_instance_ids_are_typed_errors(db: &TestDatabase) {
    let plugins = plugins(db, &Keyring::new(Key::generate()));
    let err = Error::from("not-an-id".parse::<InstanceId>().unwrap_err());
    assert!(matches!(err, Error::MalformedId(_)), "{err}");
    let unknown = InstanceId::new();
    for err in [
        plugins.instance(unknown).unwrap_err(),
        plugins
            .get_by_id::<dyn PaymentGateway>(unknown)
            .unwrap_err(),
        plugins.delete_instance(unknown).unwrap_err(),
        plugins
            .update_instance(unknown, 1, InstanceUpdate::default())
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::UnknownInstance(id) if id == unknown),
            "{err}"
        );
    }
}

fn a_second_handle_sees_the_first_ones_writes_after_refresh(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let writer = plugins(db, &keyring);
    let reader = plugins(db, &keyring);
    let live = writer
        .create_instance(stripe("Live", "sk_live_key_1", Status::Active, 1))
        .unwrap();
    assert_eq!(
        reader.get::<dyn PaymentGateway>().unwrap().meta().name,
        "cash",
        "lookups never query the store"
    );
    assert!(reader.refresh().unwrap());
    assert_eq!(
        reader.get::<dyn PaymentGateway>().unwrap().meta().id,
        live.id
    );
    let stats = reader.refresh_stats();
    assert_eq!(
        (
            stats.full_reloads,
            stats.incremental_updates,
            stats.last_rows_read
        ),
        (1, 1, 1),
        "{}: after its first build the reader read only the new row, from the change log",
        db.backend
    );
    assert!(!reader.refresh().unwrap(), "no write, no reload");

    writer.delete_instance(live.id).unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(
        reader.get::<dyn PaymentGateway>().unwrap().meta().name,
        "cash",
        "{}: the delete seen",
        db.backend
    );
    let stats = reader.refresh_stats();
    assert_eq!(
        (
            stats.full_reloads,
            stats.incremental_updates,
            stats.last_rows_read
        ),
        (1, 2, 0),
        "{}: a deleted instance is listed, and no longer read",
        db.backend
    );
}

/// A write that changed too much to list (more than the diesel stores log per write, or
/// "everything") cannot be answered from before it: a reader behind it reloads everything;
/// from its revision on, the log answers again. Repeated ids are listed once.
fn the_change_log_cannot_answer_across_a_write_too_large_to_list(db: &TestDatabase) {
    let store = store(db);
    let bump = |changed: Changed<'_>| {
        let mut revision = 0;
        store
            .write(&mut |tx| {
                revision = tx.bump_revision(changed)?;
                Ok(())
            })
            .unwrap();
        revision
    };
    let many: Vec<InstanceId> = (0..10_001).map(|_| InstanceId::new()).collect();
    let before = store.revision().unwrap();
    let after = bump(Changed::Instances(&many));
    assert_eq!(store.changes_since(before).unwrap(), None, "{}", db.backend);
    assert_eq!(
        store.changes_since(after).unwrap().map(|c| c.instances),
        Some(Vec::new()),
        "{}",
        db.backend
    );
    let after = bump(Changed::Everything);
    assert_eq!(
        store.changes_since(after - 1).unwrap(),
        None,
        "{}",
        db.backend
    );

    let (a, b) = (InstanceId::new(), InstanceId::new());
    bump(Changed::Instances(&[b, a, b]));
    let mut expected = vec![a, b];
    expected.sort_unstable();
    let changes = store.changes_since(after).unwrap().expect("answered");
    assert_eq!(
        (changes.revision, changes.instances),
        (after + 1, expected),
        "{}",
        db.backend
    );
    assert_eq!(
        store.changes_since(after + 2).unwrap(),
        None,
        "{}: a revision not reached yet",
        db.backend
    );
}

/// PostgreSQL plans from statistics that autovacuum gathers only a while after a table grew:
/// a bulk create of 1,000 or more refreshes them itself, so the next batch's name checks use
/// the unique index (a bulk import of 100,000 took 186 s without). `reltuples` is what
/// ANALYZE sets: -1 for a table never analyzed.
#[cfg(feature = "postgres")]
#[test]
fn postgres_a_bulk_create_refreshes_the_planners_statistics() {
    use diesel::prelude::*;
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(&db, &keyring);
    #[derive(QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::Float)]
        reltuples: f32,
    }
    let estimate = || {
        let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
        diesel::sql_query(
            "SELECT reltuples FROM pg_class \
             WHERE oid = to_regclass(current_schema() || '.plugin_instances')",
        )
        .get_result::<Rows>(&mut conn)
        .unwrap()
        .reltuples
    };
    let few: Vec<NewInstance> = (0..10)
        .map(|n| stripe(&format!("few {n}"), "sk_test_key_1", Status::Reserved, n))
        .collect();
    plugins.create_instances(few).unwrap();
    let before = estimate();
    let many: Vec<NewInstance> = (0..1_000)
        .map(|n| stripe(&format!("many {n}"), "sk_test_key_1", Status::Reserved, n))
        .collect();
    plugins.create_instances(many).unwrap();
    let after = estimate();
    assert!(
        before < 1_000.0 && after >= 1_000.0,
        "the planner's row estimate: {before} before the bulk create, {after} after"
    );
}

/// The log keeps the last 10,000 revisions ([`CHANGE_LOG_REVISIONS`]) and deletes older rows:
/// a reader further behind reloads everything, and the table does not grow with every write.
/// (SQLite only: 10,001 write transactions.)
#[test]
fn sqlite_the_change_log_forgets_revisions_past_its_horizon_and_their_rows() {
    use diesel::prelude::*;
    let db = TestDatabase::sqlite().unwrap();
    let store = store(&db);
    let start = store.revision().unwrap();
    let mut ids = Vec::new();
    for _ in 0..=CHANGE_LOG_REVISIONS {
        let id = InstanceId::new();
        ids.push(id);
        store
            .write(&mut |tx| {
                tx.bump_revision(Changed::Instances(&[id]))?;
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(store.changes_since(start).unwrap(), None);
    let kept = store
        .changes_since(start + 1)
        .unwrap()
        .expect("inside the horizon");
    assert_eq!(kept.instances.len() as u64, CHANGE_LOG_REVISIONS);
    assert!(!kept.instances.contains(&ids[0]) && kept.instances.contains(&ids[1]));

    let path = db.url.strip_prefix("sqlite://").unwrap();
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let count: Count = diesel::sql_query("SELECT COUNT(*) AS rows FROM plugin_changes")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(
        count.rows as u64, CHANGE_LOG_REVISIONS,
        "older rows deleted"
    );
}

fn bulk_creates_and_updates_write_all_in_one_revision_or_nothing(db: &TestDatabase) {
    let keyring = Keyring::new(Key::generate());
    let plugins = plugins(db, &keyring);
    let store = store(db);
    let count = || plugins.instances(&Default::default()).total;
    let (start_count, start_revision) = (count(), store.revision().unwrap());

    // Refused batches write nothing: an entry failing its own checks (named by index), a
    // name the batch repeats, a name the store holds.
    let err = plugins
        .create_instances(vec![
            stripe("A", "sk_bulk_a", Status::Active, 1),
            stripe("B", "sk_bulk_b", Status::Active, 2),
            stripe("C", "short", Status::Active, 3),
        ])
        .unwrap_err();
    match &err {
        Error::InBatch { index: 2, source } => {
            assert!(matches!(**source, Error::InvalidConfig { .. }), "{err:?}")
        }
        other => panic!("{other:?}"),
    }
    let err = plugins
        .create_instances(vec![
            stripe("A", "sk_bulk_a", Status::Active, 1),
            stripe("A", "sk_bulk_b", Status::Active, 2),
        ])
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateInstanceName { .. }), "{err}");
    let err = plugins
        .create_instances(vec![
            stripe("A", "sk_bulk_a", Status::Active, 1),
            NewInstance::of::<dyn PaymentGateway>("cash", "cash"),
        ])
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateInstanceName { .. }), "{err}");
    assert_eq!(count(), start_count);
    assert_eq!(store.revision().unwrap(), start_revision);
    assert!(plugins.create_instances(Vec::new()).unwrap().is_empty());
    assert_eq!(
        store.revision().unwrap(),
        start_revision,
        "nothing to write"
    );

    // A good batch: every instance, in order, one revision, one audit row each, served.
    let created = plugins
        .create_instances(vec![
            stripe("A", "sk_bulk_a", Status::Active, 1),
            stripe("B", "sk_bulk_b", Status::Reserved, 2),
            stripe("A", "sk_bulk_t", Status::Active, 3).scope("tenant-1"),
        ])
        .unwrap();
    let names: Vec<&str> = created.iter().map(|meta| meta.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "A"]);
    assert_eq!(count(), start_count + 3);
    assert_eq!(store.revision().unwrap(), start_revision + 1);
    let creates = plugins.audit(&AuditQuery::latest(10)).unwrap();
    assert_eq!(
        creates
            .iter()
            .filter(|r| r.entry.action == "create")
            .count(),
        3
    );
    let (a, b, t) = (&created[0], &created[1], &created[2]);
    let served = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(served.meta().id, a.id);
    let tenant = plugins
        .scoped("tenant-1")
        .get::<dyn PaymentGateway>()
        .unwrap();
    assert_eq!(tenant.meta().id, t.id);

    // Updates: a stale version anywhere, an instance twice, a rename onto a held name, or a
    // batch renaming two onto one name changes nothing.
    let status = |status| InstanceUpdate {
        status: Some(status),
        ..Default::default()
    };
    let rename = |name: &str| InstanceUpdate {
        name: Some(name.into()),
        ..Default::default()
    };
    let reconfigure = InstanceUpdate {
        config: Some(
            StripeConfig {
                api_key: "sk_bulk_b2".into(),
                currency: "usd".into(),
            }
            .to_values(),
        ),
        ..Default::default()
    };
    let refused: Vec<Vec<(InstanceId, i64, InstanceUpdate)>> = vec![
        vec![(a.id, 1, status(Status::Disabled)), (b.id, 7, rename("B2"))],
        vec![(a.id, 1, status(Status::Disabled)), (a.id, 1, rename("A2"))],
        vec![(b.id, 1, rename("A"))],
        vec![(a.id, 1, rename("Z")), (b.id, 1, rename("Z"))],
    ];
    let expected = [
        "Conflict",
        "InvalidInput",
        "DuplicateInstanceName",
        "DuplicateInstanceName",
    ];
    for (batch, expected) in refused.into_iter().zip(expected) {
        let err = plugins.update_instances(batch).unwrap_err();
        assert_eq!(variant(&err), expected, "{err:?}");
    }
    let err = plugins
        .update_instances(vec![
            (a.id, 1, status(Status::Disabled)),
            (
                b.id,
                1,
                InstanceUpdate {
                    config: Some(
                        StripeConfig {
                            api_key: "x".into(),
                            currency: "usd".into(),
                        }
                        .to_values(),
                    ),
                    ..Default::default()
                },
            ),
        ])
        .unwrap_err();
    assert!(matches!(err, Error::InBatch { index: 1, .. }), "{err:?}");
    assert_eq!(store.revision().unwrap(), start_revision + 1);
    assert_eq!(plugins.instance(a.id).unwrap().meta.status, Status::Active);

    // A good batch: each applied once, in one revision; an entry that changes nothing keeps
    // its version and writes no audit row.
    let updated = plugins
        .update_instances(vec![
            (a.id, 1, status(Status::Disabled)),
            (b.id, 1, reconfigure),
            (t.id, 1, status(Status::Active)),
        ])
        .unwrap();
    let versions: Vec<i64> = updated.iter().map(|meta| meta.version).collect();
    assert_eq!(versions, [2, 2, 1]);
    assert_eq!(store.revision().unwrap(), start_revision + 2);
    let updates = plugins.audit(&AuditQuery::latest(2)).unwrap();
    assert!(
        updates.iter().all(|r| r.entry.action == "update"),
        "{updates:?}"
    );
    assert_eq!(
        plugins.instance(a.id).unwrap().meta.status,
        Status::Disabled
    );
    // A is disabled, so the ACTIVE cash instance beats the reserved B, which has its new
    // config.
    let served = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(served.meta().name, "cash");
    let b = plugins.get_by_id::<dyn PaymentGateway>(b.id).unwrap();
    assert_eq!(b.create_payment(1).unwrap(), "sk_bulk_b2:1:usd");
}

fn variant(err: &Error) -> &'static str {
    match err {
        Error::Conflict { .. } => "Conflict",
        Error::InvalidInput { .. } => "InvalidInput",
        Error::DuplicateInstanceName { .. } => "DuplicateInstanceName",
        _ => "other",
    }
}

// Connections and configuration: errors that say what is wrong.

#[test]
fn a_configurable_item_without_a_key_is_a_start_up_error_before_connecting() {
    // Port 1 refuses connections: a connection attempt would be a store error instead.
    let err = Plugins::builder()
        .database_url("postgres://nobody:pw@127.0.0.1:1/none")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Crypto(plugin_system::CryptoError::MissingKey { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn an_unknown_scheme_or_a_disabled_backend_is_a_clear_error() {
    let err = plugin_system::database::open("redis://127.0.0.1/0").unwrap_err();
    assert!(err.to_string().contains("unknown scheme `redis`"), "{err}");
    #[cfg(not(feature = "postgres"))]
    {
        let err = plugin_system::database::open("postgres://u@h/db").unwrap_err();
        assert!(err.to_string().contains("`postgres` feature"), "{err}");
    }
}

/// The driver's reason, reached through `Error::source` (not repeated in the message).
fn driver_reason(err: &Error) -> String {
    let source = std::error::Error::source(err).expect("the driver's error is the source");
    assert!(
        !err.to_string().contains(&source.to_string()),
        "the cause is said twice: {err:?}"
    );
    source.to_string()
}

#[test]
fn sqlite_an_unopenable_path_reports_the_reason() {
    let err = plugin_system::database::open("sqlite:///nonexistent-dir/x/plugins.db").unwrap_err();
    assert_eq!(
        err.store_kind(),
        Some(plugin_system::store::StoreErrorKind::Unavailable),
        "{err:?}"
    );
    assert!(
        driver_reason(&err).contains("Unable to open the database file"),
        "{err:?}"
    );
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_a_connection_failure_reports_the_real_cause_without_the_password() {
    let err =
        plugin_system::database::open("postgres://postgres:hunter2@127.0.0.1:1/test").unwrap_err();
    assert!(
        driver_reason(&err).contains("Connection refused"),
        "{err:?}"
    );
    let message = err.report();
    assert!(message.contains("postgres:***@127.0.0.1:1"), "{message}");
    assert!(!format!("{err:?}").contains("hunter2"), "{message}");
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_a_connection_failure_reports_the_real_cause_without_the_password() {
    let err = plugin_system::database::open("mysql://root:hunter2@127.0.0.1:1/test").unwrap_err();
    assert!(driver_reason(&err).contains("Can't connect"), "{err:?}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}
