//! The conformance suite of [`Store`]: every guarantee of the [module docs](super), checked
//! through the runtime's own write rules, one test per check.
//!
//! A store crate runs it in one line (feature `testing` of `plugin-runtime`, usually as a
//! dev-dependency):
//!
//! ```ignore
//! // tests/conformance.rs
//! plugin_runtime::store_conformance!(|| MyStore::connect_fresh());
//! ```
//!
//! The expression is called once per check and must give an empty store of its own (for a
//! database: a fresh, migrated schema), as anything implementing [`FreshStore`]: a store, an
//! `Arc<dyn Store>`, a guard of your own that drops the schema afterwards, or an `Option` of
//! those (`None` skips the check: say why on standard output before returning it).
//!
//! The checks use registrations of their own (namespaces `conformance` and `conformance_other`),
//! never the application's.

use std::any::TypeId;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::rules::{self, BulkEdit, InstanceChange};
use super::{AuditQuery, Changed, NameKey, Store, StoreErrorKind, Transaction};
use crate::__private::{
    self as private, ErasedObject, ErasedPlugin, ItemInfo, ItemParts, LinkedCrate, Location,
    TypeInfo, TypeParts,
};
use crate::config::{ConfigSchema, ConfigValues};
use crate::instance::PriorityChange;
use crate::instance::{Activation, ActivationKey, ActivationRecord, InstanceMeta, InstanceRecord};
use crate::keys::ItemKey;
use crate::keys::{InstanceId, Status};
use crate::registration::ParentLink;
use crate::registry::Registry;
use crate::sync::{SyncMode, SyncOptions};
use crate::{Error, PluginError};

/// What the suite's expression gives: the store one check runs on (`None`: skip it).
pub trait FreshStore {
    /// The store to check, or `None` when it cannot be had here.
    fn store(&self) -> Option<&dyn Store>;
}

impl<S: Store> FreshStore for S {
    fn store(&self) -> Option<&dyn Store> {
        Some(self)
    }
}

impl FreshStore for Arc<dyn Store> {
    fn store(&self) -> Option<&dyn Store> {
        Some(&**self)
    }
}

impl<T: FreshStore> FreshStore for Option<T> {
    fn store(&self) -> Option<&dyn Store> {
        self.as_ref()?.store()
    }
}

/// Declares one `#[test]` per conformance check of [`Store`](crate::store::Store), each on a
/// store made by the given expression (see [`store::conformance`](crate::store::conformance)).
#[macro_export]
macro_rules! store_conformance {
    ($fresh:expr $(,)?) => {
        $crate::__store_conformance_checks!($fresh;
            sync_creates_what_is_missing_then_a_resync_writes_nothing,
            a_dry_run_plans_without_writing,
            an_item_turning_configurable_loses_only_its_config_less_default,
            rows_whose_code_is_gone_are_orphaned_kept_and_pruned_only_on_request,
            renamed_from_moves_the_item_and_its_instances,
            create_mode_keeps_operator_edits_and_update_mode_refreshes,
            namespaces_the_registry_does_not_own_are_never_touched,
            a_sub_type_row_points_at_its_parent,
            instances_round_trip_exactly,
            names_are_unique_per_item_and_scope,
            a_stale_version_is_a_conflict_that_changes_nothing,
            an_update_that_changes_nothing_writes_nothing,
            bulk_edits_check_every_id_first_and_audit_each_change,
            a_delete_removes_the_row_and_an_unknown_id_is_an_error,
            a_failed_write_keeps_nothing,
            a_key_rotation_rewrites_configs_but_not_versions,
            the_audit_trail_pages_newest_first,
            the_revision_moves_only_with_a_write,
            an_instance_of_an_unsynced_item_is_a_constraint_error,
            many_rows_in_one_write,
            a_name_check_finds_each_name_in_its_own_item_and_scope_only,
            changes_since_a_revision_name_every_instance_written_after_it,
            changes_since_include_what_a_sync_does_to_an_item_s_instances,
            item_and_type_metadata_round_trip,
            an_item_version_change_is_reported_and_audited_from_to,
            a_contract_version_change_is_reported_and_audited_from_to,
            an_item_version_recorded_before_versions_were_is_not_a_change,
            a_tenant_s_switch_round_trips_is_logged_and_goes_with_its_instance,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_checks {
    ($fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fresh = ($fresh)();
                if let Some(store) = $crate::store::conformance::FreshStore::store(&fresh) {
                    $crate::store::conformance::$check(store);
                }
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// The registrations the checks sync: two deployments' worth of one application, a sub-type,
// and another application sharing the store.

trait Notifier: Send + Sync {}
trait Pager: Notifier {}
trait Invoice: Send + Sync {}

fn not_built(
    _: Option<&ConfigValues>,
    _: &private::Needs<'_>,
) -> Result<ErasedObject, PluginError> {
    Err(PluginError::new(
        "the conformance suite never builds plugins",
    ))
}

fn no_view(_: &ErasedObject, _: InstanceMeta) -> Option<ErasedPlugin> {
    None
}

fn no_upcast(_: &ErasedPlugin) -> Option<ErasedPlugin> {
    None
}

const HERE: Location = Location::new("conformance.rs", 1);

const fn type_info(
    namespace: &'static str,
    name: &'static str,
    type_id: fn() -> TypeId,
    relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    parent: Option<ParentLink>,
) -> TypeInfo {
    TypeInfo::from_parts(type_parts(namespace, name, type_id, relabel, parent))
}

const fn type_parts(
    namespace: &'static str,
    name: &'static str,
    type_id: fn() -> TypeId,
    relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    parent: Option<ParentLink>,
) -> TypeParts {
    TypeParts {
        name,
        namespace,
        description: "from code",
        rust_path: "conformance::Type",
        crate_name: "conformance",
        location: HERE,
        fingerprint: "1",
        version: 1,
        type_id,
        relabel,
        selector: None,
        critical: false,
        parent,
        actions: &[],
    }
}

static NOTIFIER: TypeInfo = type_info(
    "conformance",
    "notifier",
    private::type_id_of::<dyn Notifier>,
    private::relabel::<dyn Notifier>,
    None,
);
static PAGER: TypeInfo = type_info(
    "conformance",
    "pager",
    private::type_id_of::<dyn Pager>,
    private::relabel::<dyn Pager>,
    Some(ParentLink::new(notifier, no_upcast)),
);
static INVOICE: TypeInfo = type_info(
    "conformance_other",
    "invoice",
    private::type_id_of::<dyn Invoice>,
    private::relabel::<dyn Invoice>,
    None,
);

/// The `notifier` type after its trait's authors raised its contract to version 3.
static NOTIFIER_V3: TypeInfo = TypeInfo::from_parts(TypeParts {
    version: 3,
    ..type_parts(
        "conformance",
        "notifier",
        private::type_id_of::<dyn Notifier>,
        private::relabel::<dyn Notifier>,
        None,
    )
});

fn notifier() -> &'static TypeInfo {
    &NOTIFIER
}
fn notifier_v3() -> &'static TypeInfo {
    &NOTIFIER_V3
}
fn pager() -> &'static TypeInfo {
    &PAGER
}
fn invoice() -> &'static TypeInfo {
    &INVOICE
}

static SCHEMA: ConfigSchema = ConfigSchema::new("Config", &[]);
fn schema() -> &'static ConfigSchema {
    &SCHEMA
}

const fn item(name: &'static str, configurable: bool) -> ItemParts {
    ItemParts {
        name,
        description: "from code",
        priority: 5,
        category: None,
        version: "1.0.0",
        authors: "",
        homepage: None,
        hidden: false,
        per_tenant: false,
        renamed_from: &[],
        rust_type: "Item",
        module: "conformance::items",
        crate_name: "conformance",
        location: HERE,
        plugin_type: notifier,
        config: if configurable { Some(schema) } else { None },
        build: not_built,
        needs: &[],
        view: no_view,
        also: &[],
        lifecycle: None,
    }
}

/// An item of the `notifier` type, as the macro would register it.
const fn notifier_item(name: &'static str, configurable: bool) -> ItemInfo {
    ItemInfo::from_parts(item(name, configurable))
}

static V1: [ItemInfo; 2] = [notifier_item("email", false), notifier_item("sms", false)];
static SMS_CONFIGURABLE: [ItemInfo; 2] =
    [notifier_item("email", false), notifier_item("sms", true)];
static SMS_GONE: [ItemInfo; 1] = [notifier_item("email", false)];
static SMS_RENAMED: [ItemInfo; 2] = [
    notifier_item("email", false),
    ItemInfo::from_parts(ItemParts {
        renamed_from: &["sms"],
        ..item("text_message", false)
    }),
];
static REFRESHED: [ItemInfo; 2] = [
    ItemInfo::from_parts(ItemParts {
        description: "new text",
        priority: 9,
        ..item("email", false)
    }),
    notifier_item("sms", false),
];
static WITH_PAGER: [ItemInfo; 2] = [
    notifier_item("email", false),
    ItemInfo::from_parts(ItemParts {
        plugin_type: pager,
        ..item("beeper", false)
    }),
];
/// `email` at version 1.1.0, the release after `V1`'s 1.0.0.
static EMAIL_1_1: [ItemInfo; 2] = [
    ItemInfo::from_parts(ItemParts {
        version: "1.1.0",
        ..item("email", false)
    }),
    notifier_item("sms", false),
];
/// `V1`'s items, their type's contract at version 3.
static CONTRACT_V3: [ItemInfo; 2] = [
    ItemInfo::from_parts(ItemParts {
        plugin_type: notifier_v3,
        ..item("email", false)
    }),
    ItemInfo::from_parts(ItemParts {
        plugin_type: notifier_v3,
        ..item("sms", false)
    }),
];
/// Every piece of metadata an item and a type carry, text of every kind in it.
static WITH_METADATA: [ItemInfo; 2] = [
    ItemInfo::from_parts(ItemParts {
        version: "2.0.0-rc.1+build.5",
        authors: "Ada Lovelace <ada@example.com>:Zoë 💌 'Z' \"quoted\"",
        homepage: Some("https://example.com/email?a=1&b=<2>"),
        category: Some("Mail & more"),
        plugin_type: notifier_v3,
        ..item("email", false)
    }),
    ItemInfo::from_parts(ItemParts {
        hidden: true,
        plugin_type: notifier_v3,
        ..item("sms", false)
    }),
];

static OTHER_APP: [ItemInfo; 1] = [ItemInfo::from_parts(ItemParts {
    plugin_type: invoice,
    ..item("pdf", false)
})];

static NO_LINKS: [LinkedCrate; 0] = [];

fn registry(items: &'static [ItemInfo]) -> Registry {
    match Registry::collect(&[], items, &NO_LINKS) {
        Ok(registry) => registry,
        Err(err) => panic!("the conformance registrations are invalid: {err}"),
    }
}

fn key(item: &str) -> ItemKey {
    ItemKey {
        type_key: NOTIFIER.key(),
        name: item.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn ok<T>(result: Result<T, Error>, doing: &str) -> T {
    result.unwrap_or_else(|err| panic!("{doing} failed: {}", err.report()))
}

fn sync(
    store: &dyn Store,
    items: &'static [ItemInfo],
    options: SyncOptions,
) -> crate::sync::SyncReport {
    ok(rules::sync(store, &registry(items), &options), "sync")
}

fn sync_v1(store: &dyn Store) {
    sync(store, &V1, SyncOptions::default());
}

/// Times as the database stores keep them: whole milliseconds.
fn now() -> SystemTime {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

fn record(item: &str, name: &str, scope: Option<&str>, sealed: Option<Vec<u8>>) -> InstanceRecord {
    let now = now();
    InstanceRecord {
        meta: InstanceMeta {
            id: InstanceId::new(),
            name: name.into(),
            item: key(item),
            status: Status::Active,
            priority: 1,
            scope: scope.map(str::to_owned),
            version: 1,
        },
        description: String::new(),
        sealed_config: sealed,
        orphaned: false,
        managed_by: None,
        created_at: now,
        updated_at: now,
    }
}

/// One instance's change, as a batch of one.
fn update_one(
    store: &dyn Store,
    id: InstanceId,
    version: i64,
    change: &InstanceChange,
    actor: &str,
) -> Result<InstanceRecord, Error> {
    let mut records = rules::update(store, &[(id, version, change.clone())], actor)?;
    Ok(records.remove(0))
}

fn create(store: &dyn Store, record: &InstanceRecord) {
    ok(
        rules::create(store, std::slice::from_ref(record), "conformance"),
        "creating an instance",
    );
}

fn revision(store: &dyn Store) -> u64 {
    store
        .revision()
        .unwrap_or_else(|err| panic!("reading the revision failed: {err}"))
}

fn all(store: &dyn Store) -> Vec<InstanceRecord> {
    let mut records = store
        .instances()
        .unwrap_or_else(|err| panic!("reading the instances failed: {err}"));
    records.sort_by_key(|r| (r.meta.item.clone(), r.meta.name.clone()));
    records
}

fn names(store: &dyn Store) -> Vec<(String, String, bool)> {
    all(store)
        .into_iter()
        .map(|r| (r.meta.item.name, r.meta.name, r.orphaned))
        .collect()
}

fn one(store: &dyn Store, id: InstanceId) -> InstanceRecord {
    store
        .instance(id)
        .unwrap_or_else(|err| panic!("reading instance {id} failed: {err}"))
        .unwrap_or_else(|| panic!("instance {id} is missing"))
}

fn trail(store: &dyn Store) -> Vec<super::AuditRecord> {
    store
        .audit(&AuditQuery::latest(10_000))
        .unwrap_or_else(|err| panic!("reading the audit trail failed: {err}"))
}

fn state(store: &dyn Store) -> crate::sync::StoredState {
    let mut state = None;
    ok(
        store.write(&mut |tx: &mut dyn Transaction| {
            state = Some(tx.stored_state()?);
            Ok(())
        }),
        "reading the stored state",
    );
    state.unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The checks.

/// Sync (anchor parity): types, items and one ACTIVE default instance per config-less item;
/// a second sync finds everything and writes nothing (no revision move, no audit row).
pub fn sync_creates_what_is_missing_then_a_resync_writes_nothing(store: &dyn Store) {
    static ITEMS: [ItemInfo; 2] = [notifier_item("email", false), notifier_item("push", true)];
    let report = sync(store, &ITEMS, SyncOptions::default());
    assert_eq!(
        (
            report.types_created,
            report.items_created,
            report.instances_created
        ),
        (1, 2, 1),
        "{:?}",
        report.actions
    );
    let records = all(store);
    assert_eq!(records.len(), 1, "only the config-less item gets a default");
    let default = &records[0].meta;
    assert_eq!(
        (
            default.name.as_str(),
            default.status,
            default.priority,
            default.scope.as_deref()
        ),
        ("email", Status::Active, 5, None)
    );
    assert_eq!(trail(store).len(), 1, "one audit row for the sync");

    let revision_after = revision(store);
    let again = sync(store, &ITEMS, SyncOptions::default());
    assert!(again.is_noop(), "a re-sync changed {:?}", again.actions);
    assert_eq!((again.types_found, again.items_found), (1, 2));
    assert_eq!(
        revision(store),
        revision_after,
        "a no-change sync moved the revision"
    );
    assert_eq!(trail(store).len(), 1, "a no-change sync wrote an audit row");
}

/// A dry run reports the plan and writes nothing.
pub fn a_dry_run_plans_without_writing(store: &dyn Store) {
    let before = revision(store);
    let dry = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    let report = sync(store, &V1, dry);
    assert!(report.dry_run);
    assert_eq!(report.instances_created, 2);
    assert!(all(store).is_empty(), "a dry run created instances");
    assert!(state(store).types.is_empty(), "a dry run created types");
    assert_eq!(revision(store), before);
    assert!(trail(store).is_empty());
}

/// An item that takes a config loses the default instance it had without one, and keeps the
/// instances an operator made.
pub fn an_item_turning_configurable_loses_only_its_config_less_default(store: &dyn Store) {
    sync_v1(store);
    create(store, &record("sms", "SMS backup", None, None));
    let report = sync(store, &SMS_CONFIGURABLE, SyncOptions::default());
    assert_eq!((report.instances_deleted, report.items_updated), (1, 1));
    assert_eq!(
        names(store),
        [
            ("email".into(), "email".into(), false),
            ("sms".into(), "SMS backup".into(), false)
        ]
    );
}

/// Rows whose code is gone are marked orphaned (their instances too, derived from the item)
/// and kept; only prune deletes them, counting the configured instances it destroys.
pub fn rows_whose_code_is_gone_are_orphaned_kept_and_pruned_only_on_request(store: &dyn Store) {
    sync_v1(store);
    let configured = record("sms", "SMS configured by ops", None, Some(vec![1, 2, 3]));
    create(store, &configured);

    let prune_dry = SyncOptions {
        prune: true,
        dry_run: true,
        ..SyncOptions::default()
    };
    let plan = sync(store, &SMS_GONE, prune_dry);
    assert_eq!(plan.items_deleted, 1);
    assert_eq!(
        (plan.instances_deleted, plan.configured_instances_deleted),
        (2, 1),
        "{:?}",
        plan.actions
    );
    let shown = plan
        .actions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        shown.contains("SMS configured by ops"),
        "the plan names what it would destroy: {shown}"
    );
    assert_eq!(all(store).len(), 3, "a dry run deleted rows");

    let report = sync(store, &SMS_GONE, SyncOptions::default());
    assert_eq!(report.items_orphaned, 1);
    let sms: Vec<_> = names(store)
        .into_iter()
        .filter(|(item, ..)| item == "sms")
        .collect();
    assert_eq!(sms.len(), 2, "orphaning deleted instances");
    assert!(
        sms.iter().all(|(.., orphaned)| *orphaned),
        "instances of an orphaned item must read as orphaned: {sms:?}"
    );
    assert!(
        sync(store, &SMS_GONE, SyncOptions::default()).is_noop(),
        "re-orphaning is a change"
    );

    let prune = SyncOptions {
        prune: true,
        ..SyncOptions::default()
    };
    let pruned = sync(store, &SMS_GONE, prune);
    assert_eq!((pruned.items_deleted, pruned.instances_deleted), (1, 2));
    assert_eq!(names(store), [("email".into(), "email".into(), false)]);
    assert!(store.instance(configured.meta.id).ok().flatten().is_none());
}

/// `renamed_from` moves the item row; its instances follow instead of being orphaned.
pub fn renamed_from_moves_the_item_and_its_instances(store: &dyn Store) {
    sync_v1(store);
    let kept = record("sms", "Ops SMS", None, Some(vec![7]));
    create(store, &kept);
    let report = sync(store, &SMS_RENAMED, SyncOptions::default());
    assert_eq!(
        (
            report.items_renamed,
            report.items_created,
            report.items_orphaned,
            report.instances_created
        ),
        (1, 0, 0, 0),
        "{:?}",
        report.actions
    );
    let moved = one(store, kept.meta.id);
    assert_eq!(moved.meta.item.name, "text_message");
    assert!(!moved.orphaned);
    assert_eq!(moved.sealed_config, Some(vec![7]));
}

/// Create mode never overwrites what operators may have edited; update mode refreshes it.
pub fn create_mode_keeps_operator_edits_and_update_mode_refreshes(store: &dyn Store) {
    sync_v1(store);
    let create = sync(store, &REFRESHED, SyncOptions::default());
    assert!(create.is_noop(), "{:?}", create.actions);
    let update = SyncOptions {
        mode: SyncMode::Update,
        ..SyncOptions::default()
    };
    let report = sync(store, &REFRESHED, update);
    assert_eq!(report.items_updated, 1);
    let email = state(store)
        .items
        .into_iter()
        .find(|item| item.key == key("email"))
        .expect("the email item row");
    assert_eq!(
        (email.description.as_str(), email.priority),
        ("new text", 9)
    );
}

/// A store shared by two applications: a sync (even a prune) leaves the other's rows alone.
pub fn namespaces_the_registry_does_not_own_are_never_touched(store: &dyn Store) {
    sync(store, &OTHER_APP, SyncOptions::default());
    sync_v1(store);
    let prune = SyncOptions {
        prune: true,
        ..SyncOptions::default()
    };
    let report = sync(store, &V1, prune);
    assert!(report.is_noop(), "{:?}", report.actions);
    let state = state(store);
    assert!(
        state
            .types
            .iter()
            .any(|ty| ty.key == INVOICE.key() && !ty.orphaned),
        "the other application's type was touched: {:?}",
        state.types
    );
    assert_eq!(
        all(store).len(),
        3,
        "the other application's instance was touched"
    );
}

/// A sub-type is stored with its parent (both created by one sync, the parent first).
pub fn a_sub_type_row_points_at_its_parent(store: &dyn Store) {
    sync(store, &WITH_PAGER, SyncOptions::default());
    let state = state(store);
    let pager_row = state
        .types
        .iter()
        .find(|ty| ty.key == PAGER.key())
        .expect("the sub-type's row");
    assert_eq!(pager_row.parent, Some(NOTIFIER.key()));
    assert!(state.types.iter().any(|ty| ty.key == NOTIFIER.key()));
}

/// Every field of an instance reads back as written: names and descriptions byte for byte,
/// scopes, statuses, priorities, versions, times to the millisecond, sealed bytes, the file
/// that manages it (and its release).
pub fn instances_round_trip_exactly(store: &dyn Store) {
    sync_v1(store);
    let mut written = record(
        "sms",
        "Ünïcode 💳 'quoted' \"double\" <b>",
        Some("acme-EU"),
        Some(vec![0, 255, 1, 2]),
    );
    written.description = "line one\nline two\ttabbed; DROP TABLE plugin_instances; --".into();
    written.meta.status = Status::Reserved;
    written.meta.priority = -42;
    written.meta.version = 7;
    written.managed_by = Some("deploy/plugins.toml ünï".into());
    written.created_at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    written.updated_at = UNIX_EPOCH + Duration::from_millis(1_700_000_999_456);
    create(store, &written);
    let other_case = record(
        "sms",
        "ünïcode 💳 'quoted' \"double\" <b>",
        Some("acme-EU"),
        None,
    );
    create(store, &other_case);
    assert_eq!(one(store, written.meta.id), written);
    let listed = all(store)
        .into_iter()
        .find(|r| r.meta.id == written.meta.id)
        .expect("listed");
    assert_eq!(listed, written);
    // Released from its file: the marker is cleared, not kept.
    let mut released = written.clone();
    released.managed_by = None;
    ok(
        store.write(&mut |tx| {
            tx.update_instances(std::slice::from_ref(&released))?;
            Ok(())
        }),
        "release",
    );
    assert_eq!(one(store, written.meta.id), released);
}

/// A name is unique per item and scope: the runtime's typed error first, the store's
/// constraint as the backstop; the same name in another scope or item is fine.
pub fn names_are_unique_per_item_and_scope(store: &dyn Store) {
    sync_v1(store);
    create(store, &record("sms", "Main", None, None));
    let again = rules::create(store, &[record("sms", "Main", None, None)], "conformance");
    assert!(
        matches!(&again, Err(Error::DuplicateInstanceName { name, .. }) if name == "Main"),
        "{again:?}"
    );
    create(store, &record("sms", "Main", Some("acme"), None));
    create(store, &record("email", "Main", None, None));
    let in_batch = rules::create(
        store,
        &[
            record("sms", "Twice", None, None),
            record("sms", "Twice", None, None),
        ],
        "conformance",
    );
    assert!(
        matches!(in_batch, Err(Error::DuplicateInstanceName { .. })),
        "{in_batch:?}"
    );

    let direct = store.write(&mut |tx: &mut dyn Transaction| {
        tx.insert_instances(&[record("sms", "Main", Some("acme"), None)])?;
        Ok(())
    });
    match direct {
        Err(Error::Store(err)) => assert_eq!(err.kind(), StoreErrorKind::Constraint, "{err:?}"),
        other => panic!("a duplicate insert must be a constraint error, got {other:?}"),
    }
    assert_eq!(all(store).len(), 5);
}

/// Optimistic concurrency: a write carrying an older version is a conflict and changes
/// nothing; the current version succeeds and bumps it.
pub fn a_stale_version_is_a_conflict_that_changes_nothing(store: &dyn Store) {
    sync_v1(store);
    let created = record("sms", "Main", None, None);
    create(store, &created);
    let id = created.meta.id;
    let rename = |name: &str| InstanceChange {
        name: Some(name.into()),
        ..InstanceChange::default()
    };
    let first = ok(
        update_one(store, id, 1, &rename("First"), "alice"),
        "the first update",
    );
    assert_eq!(first.meta.version, 2);
    let stale = update_one(store, id, 1, &rename("Second"), "bob");
    assert!(
        matches!(
            stale,
            Err(Error::Conflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{stale:?}"
    );
    let stored = one(store, id);
    assert_eq!(
        (stored.meta.name.as_str(), stored.meta.version),
        ("First", 2)
    );
    let taken = update_one(store, id, 2, &rename("email"), "bob");
    assert!(taken.is_ok(), "another item's name is free: {taken:?}");
    create(store, &record("sms", "Spare", None, None));
    let clash = update_one(store, id, 3, &rename("Spare"), "bob");
    assert!(
        matches!(clash, Err(Error::DuplicateInstanceName { .. })),
        "{clash:?}"
    );
}

/// An update that sets every field to the value it has writes nothing at all, and an audit
/// row names only what changed.
pub fn an_update_that_changes_nothing_writes_nothing(store: &dyn Store) {
    sync_v1(store);
    let created = record("sms", "Main", None, None);
    create(store, &created);
    let before = (revision(store), trail(store).len());
    let same = InstanceChange {
        name: Some("Main".into()),
        description: Some(String::new()),
        status: Some(Status::Active),
        priority: Some(1),
        config: None,
        managed_by: None,
    };
    let unchanged = ok(
        update_one(store, created.meta.id, 1, &same, "alice"),
        "a no-op update",
    );
    assert_eq!(
        unchanged.meta.version, 1,
        "a no-op update bumped the version"
    );
    assert_eq!(
        (revision(store), trail(store).len()),
        before,
        "a no-op update wrote"
    );

    let described = InstanceChange {
        description: Some("for the EU".into()),
        ..same
    };
    ok(
        update_one(store, created.meta.id, 1, &described, "alice"),
        "an update",
    );
    let latest = &trail(store)[0].entry;
    assert_eq!(
        (latest.action.as_str(), latest.detail.as_str()),
        ("update", "changed: description")
    );
}

/// Bulk status and priority edits: an unknown id fails the whole edit; otherwise one audit row
/// and one version bump per instance actually changed, one revision move per edit.
pub fn bulk_edits_check_every_id_first_and_audit_each_change(store: &dyn Store) {
    sync_v1(store);
    let ids: Vec<InstanceId> = all(store).iter().map(|r| r.meta.id).collect();
    let missing = InstanceId::new();
    let err = rules::bulk_edit(
        store,
        &[ids[0], missing],
        BulkEdit::Status(Status::Disabled),
        "ops",
    );
    assert!(
        matches!(err, Err(Error::UnknownInstance(id)) if id == missing),
        "{err:?}"
    );
    assert!(
        all(store).iter().all(|r| r.meta.status == Status::Active),
        "a failed bulk edit changed rows"
    );

    let audit_before = trail(store).len();
    let revision_before = revision(store);
    let changed = ok(
        rules::bulk_edit(store, &ids, BulkEdit::Status(Status::Disabled), "ops"),
        "disable",
    );
    assert_eq!(changed, 2);
    assert_eq!(
        revision(store),
        revision_before + 1,
        "one revision move per bulk edit"
    );
    assert_eq!(
        trail(store).len(),
        audit_before + 2,
        "one audit row per changed instance"
    );
    assert!(
        all(store)
            .iter()
            .all(|r| r.meta.status == Status::Disabled && r.meta.version == 2)
    );
    let again = ok(
        rules::bulk_edit(store, &ids, BulkEdit::Status(Status::Disabled), "ops"),
        "again",
    );
    assert_eq!(again, 0);
    assert_eq!(
        revision(store),
        revision_before + 1,
        "a bulk edit that changed nothing moved the revision"
    );

    let shifted = ok(
        rules::bulk_edit(
            store,
            &ids,
            BulkEdit::Priority(PriorityChange::Shift(-1)),
            "ops",
        ),
        "shift",
    );
    assert_eq!(shifted, 2);
    assert!(all(store).iter().all(|r| r.meta.priority == 4));
    let latest = &trail(store)[0].entry;
    assert_eq!(
        (
            latest.action.as_str(),
            latest.detail.as_str(),
            latest.actor.as_str()
        ),
        ("priority", "5 -> 4", "ops")
    );
}

/// A delete removes the row with an audit row; an unknown id is a typed error.
pub fn a_delete_removes_the_row_and_an_unknown_id_is_an_error(store: &dyn Store) {
    sync_v1(store);
    let created = record("sms", "Main", None, Some(vec![9]));
    create(store, &created);
    ok(rules::delete(store, &[created.meta.id], "ops"), "delete");
    assert!(store.instance(created.meta.id).ok().flatten().is_none());
    let latest = &trail(store)[0].entry;
    assert_eq!(
        (latest.action.as_str(), latest.instance),
        ("delete", Some(created.meta.id))
    );
    let missing = rules::delete(store, &[created.meta.id], "ops");
    assert!(
        matches!(missing, Err(Error::UnknownInstance(_))),
        "{missing:?}"
    );
}

/// All or nothing: a write whose work fails after writing keeps none of it.
pub fn a_failed_write_keeps_nothing(store: &dyn Store) {
    sync_v1(store);
    let before = (revision(store), all(store), trail(store).len());
    let doomed = record("sms", "Doomed", None, None);
    let result = store.write(&mut |tx: &mut dyn Transaction| {
        tx.insert_instances(std::slice::from_ref(&doomed))?;
        tx.delete_instances(&[before.1[0].meta.id])?;
        tx.append_audit(&[super::AuditEntry {
            at: now(),
            actor: "ops".into(),
            action: "create".into(),
            instance: Some(doomed.meta.id),
            detail: String::new(),
        }])?;
        tx.bump_revision(Changed::Instances(&[doomed.meta.id]))?;
        Err(Error::InvalidInput {
            field: "test",
            reason: "the work fails after writing".into(),
        })
    });
    assert!(
        matches!(result, Err(Error::InvalidInput { field: "test", .. })),
        "the work's own error is returned: {result:?}"
    );
    assert_eq!(
        (revision(store), all(store), trail(store).len()),
        before,
        "a failed write kept changes"
    );
}

/// A rotation rewrites sealed configs in one write, keeps versions and configs it is told to
/// keep, and an error from one row aborts every rewrite.
pub fn a_key_rotation_rewrites_configs_but_not_versions(store: &dyn Store) {
    sync_v1(store);
    let (old, kept) = (
        record("sms", "Old", None, Some(vec![1])),
        record("sms", "Kept", None, Some(vec![2])),
    );
    create(store, &old);
    create(store, &kept);
    let fail = |_: InstanceId, _: &[u8]| -> Result<Option<Vec<u8>>, Error> {
        Err(Error::InvalidInput {
            field: "key",
            reason: "cannot open".into(),
        })
    };
    assert!(rules::reseal(store, &fail, "ops").is_err());
    assert_eq!(
        one(store, old.meta.id).sealed_config,
        Some(vec![1]),
        "a failed rotation rewrote a row"
    );

    let rotate = |_: InstanceId, sealed: &[u8]| -> Result<Option<Vec<u8>>, Error> {
        Ok((sealed == [1]).then(|| vec![10, 11]))
    };
    assert_eq!(ok(rules::reseal(store, &rotate, "ops"), "rotate"), 1);
    let rotated = one(store, old.meta.id);
    assert_eq!(
        (rotated.sealed_config, rotated.meta.version),
        (Some(vec![10, 11]), 1)
    );
    assert_eq!(one(store, kept.meta.id).sealed_config, Some(vec![2]));
    assert_eq!(trail(store)[0].entry.action, "reseal");
}

/// The audit trail reads newest first, in pages older and newer than a row, and per instance.
pub fn the_audit_trail_pages_newest_first(store: &dyn Store) {
    sync_v1(store);
    let created = record("sms", "Main", None, None);
    create(store, &created);
    for priority in 0..5 {
        let change = InstanceChange {
            priority: Some(priority + 10),
            ..InstanceChange::default()
        };
        let version = one(store, created.meta.id).meta.version;
        ok(
            update_one(store, created.meta.id, version, &change, "ops"),
            "update",
        );
    }
    let everything = trail(store);
    assert_eq!(everything.len(), 7, "sync, create and five updates");
    assert!(
        everything.windows(2).all(|pair| pair[0].seq > pair[1].seq),
        "not newest first"
    );

    let latest = store.audit(&AuditQuery::latest(3)).expect("a page");
    assert_eq!(latest, everything[..3]);
    let older = store
        .audit(&AuditQuery {
            before: Some(latest[2].seq),
            ..AuditQuery::latest(3)
        })
        .expect("older");
    assert_eq!(older, everything[3..6]);
    let newer = store
        .audit(&AuditQuery {
            after: Some(older[2].seq),
            ..AuditQuery::latest(2)
        })
        .expect("newer");
    assert_eq!(newer, everything[3..5], "the rows just after, newest first");
    let history = store
        .audit(&AuditQuery {
            instance: Some(created.meta.id),
            ..AuditQuery::latest(100)
        })
        .expect("history");
    assert_eq!(history.len(), 6);
    assert!(
        history
            .iter()
            .all(|r| r.entry.instance == Some(created.meta.id))
    );
}

/// Reads never move the revision; every write that changes something moves it.
pub fn the_revision_moves_only_with_a_write(store: &dyn Store) {
    let start = revision(store);
    let _ = all(store);
    let _ = trail(store);
    let _ = state(store);
    assert_eq!(revision(store), start, "a read moved the revision");
    sync_v1(store);
    let synced = revision(store);
    assert!(synced > start);
    create(store, &record("sms", "Main", None, None));
    assert!(revision(store) > synced);
}

/// Inserting an instance of an item the store has no row for is a constraint error.
pub fn an_instance_of_an_unsynced_item_is_a_constraint_error(store: &dyn Store) {
    let result = rules::create(store, &[record("sms", "Main", None, None)], "ops");
    match result {
        Err(Error::Store(err)) => assert_eq!(err.kind(), StoreErrorKind::Constraint, "{err:?}"),
        other => panic!("expected a constraint error, got {other:?}"),
    }
    assert!(all(store).is_empty());
}

/// A write of more rows than one statement carries (1,200 instances) keeps them all.
pub fn many_rows_in_one_write(store: &dyn Store) {
    sync_v1(store);
    let records: Vec<InstanceRecord> = (0..1200)
        .map(|n| {
            record(
                "sms",
                &format!("Instance {n:04}"),
                Some(&format!("tenant-{}", n % 7)),
                Some(vec![(n % 256) as u8]),
            )
        })
        .collect();
    ok(
        rules::create(store, &records, "ops"),
        "creating 1,200 instances",
    );
    assert_eq!(all(store).len(), 1202);
    assert_eq!(
        trail(store).len(),
        1201,
        "one audit row per created instance"
    );
    let ids: Vec<InstanceId> = records.iter().map(|r| r.meta.id).collect();
    let changed = ok(
        rules::bulk_edit(store, &ids, BulkEdit::Status(Status::Reserved), "ops"),
        "bulk",
    );
    assert_eq!(changed, 1200);
    assert_eq!(
        all(store)
            .iter()
            .filter(|r| r.meta.status == Status::Reserved)
            .count(),
        1200
    );
}

/// The name check of a bulk create ([`Transaction::find_instances`]) over more scopes and
/// names than one query of a store may hold: every taken name is found with its own
/// instance, and a name taken only in another scope, another item or globally is free.
pub fn a_name_check_finds_each_name_in_its_own_item_and_scope_only(store: &dyn Store) {
    sync_v1(store);
    // 150 tenants with 4 names each, one tenant with 700, and 3 global instances.
    let mut records: Vec<InstanceRecord> = (0..600)
        .map(|n| {
            let scope = format!("tenant-{:03}", n / 4);
            record("sms", &format!("name-{}", n % 4), Some(&scope), None)
        })
        .collect();
    records.extend((0..700).map(|n| record("sms", &format!("big-{n}"), Some("big"), None)));
    records.extend((0..3).map(|n| record("sms", &format!("name-{n}"), None, None)));
    ok(
        rules::create(store, &records, "ops"),
        "creating 1,303 instances",
    );

    let (email, sms) = (key("email"), key("sms"));
    let mut keys: Vec<NameKey<'_>> = records.iter().map(NameKey::of).collect();
    let taken = keys.len();
    keys.extend([
        // Taken only in another scope, by another item, or only as a scoped name.
        NameKey {
            item: &sms,
            scope: Some("tenant-000"),
            name: "big-1",
        },
        NameKey {
            item: &sms,
            scope: Some("big"),
            name: "name-0",
        },
        NameKey {
            item: &email,
            scope: Some("tenant-000"),
            name: "name-0",
        },
        NameKey {
            item: &sms,
            scope: None,
            name: "name-3",
        },
        NameKey {
            item: &sms,
            scope: Some("nobody"),
            name: "name-0",
        },
    ]);
    let mut found = Vec::new();
    ok(
        store.write(&mut |tx: &mut dyn Transaction| {
            found = tx.find_instances(&keys)?;
            Ok(())
        }),
        "checking names",
    );
    assert_eq!(found.len(), keys.len(), "one answer per key");
    for (record, answer) in records.iter().zip(&found[..taken]) {
        assert_eq!(
            *answer,
            Some(record.meta.id),
            "{:?} in {:?}",
            record.meta.name,
            record.meta.scope
        );
    }
    for (key, answer) in keys[taken..].iter().zip(&found[taken..]) {
        assert_eq!(*answer, None, "{key:?} is free");
    }
}

/// The ids a store's change log gives after `revision`, or `None` when it does not keep one.
fn changes(store: &dyn Store, revision: u64) -> Option<super::Changes> {
    store
        .changes_since(revision)
        .unwrap_or_else(|err| panic!("reading the changes since {revision} failed: {err}"))
}

/// The change log (guarantee 10): after a revision, every instance created, changed or
/// deleted, up to the current revision; nothing after the current one. A store without a
/// log answers `None` and passes (its readers reload everything).
pub fn changes_since_a_revision_name_every_instance_written_after_it(store: &dyn Store) {
    sync_v1(store);
    let start = revision(store);
    let (a, b) = (
        record("sms", "A", None, None),
        record("sms", "B", Some("acme"), None),
    );
    create(store, &a);
    let after_a = revision(store);
    let rename = InstanceChange {
        name: Some("A2".into()),
        ..InstanceChange::default()
    };
    ok(update_one(store, a.meta.id, 1, &rename, "ops"), "update");
    create(store, &b);
    ok(rules::delete(store, &[a.meta.id], "ops"), "delete");
    let now = revision(store);

    let Some(since_start) = changes(store, start) else {
        return;
    };
    assert_eq!(
        since_start.revision, now,
        "the changes run up to the current revision"
    );
    for id in [a.meta.id, b.meta.id] {
        assert!(
            since_start.instances.contains(&id),
            "{id} missing from {since_start:?}"
        );
    }
    let since_a = changes(store, after_a).expect("a log that answered for an older revision");
    assert!(since_a.instances.contains(&a.meta.id) && since_a.instances.contains(&b.meta.id));
    let read = store
        .instances_by_id(&since_start.instances)
        .expect("reading the changed instances");
    assert!(
        read.iter()
            .any(|r| r.meta.id == b.meta.id && r.meta.scope.as_deref() == Some("acme"))
    );
    assert!(
        !read.iter().any(|r| r.meta.id == a.meta.id),
        "a deleted instance read back"
    );
    let since_now = changes(store, now).expect("the log answers for the current revision");
    assert!(since_now.instances.is_empty(), "{since_now:?}");
    assert_eq!(since_now.revision, now);
}

/// A sync that orphans, renames or revives an item changes its instances' records (their
/// orphan flag, their item key) without touching their rows: the log names them.
pub fn changes_since_include_what_a_sync_does_to_an_item_s_instances(store: &dyn Store) {
    sync_v1(store);
    let kept = record("sms", "Ops SMS", None, None);
    create(store, &kept);
    let before = revision(store);
    sync(store, &SMS_GONE, SyncOptions::default());
    let Some(orphaned) = changes(store, before) else {
        return;
    };
    assert!(
        orphaned.instances.contains(&kept.meta.id),
        "orphaning: {orphaned:?}"
    );
    let read = store.instances_by_id(&[kept.meta.id]).expect("read");
    assert!(read[0].orphaned);

    let before = revision(store);
    sync(store, &SMS_RENAMED, SyncOptions::default());
    let renamed = changes(store, before).expect("a log that answered before");
    assert!(
        renamed.instances.contains(&kept.meta.id),
        "renaming: {renamed:?}"
    );
    let read = store.instances_by_id(&[kept.meta.id]).expect("read");
    assert_eq!(
        (read[0].meta.item.name.as_str(), read[0].orphaned),
        ("text_message", false)
    );
}

// ---------------------------------------------------------------------------------------
// Metadata.

/// The item row of `name` of the `notifier` type.
fn item_row(store: &dyn Store, name: &str) -> crate::sync::StoredItem {
    state(store)
        .items
        .into_iter()
        .find(|item| item.key == key(name))
        .unwrap_or_else(|| panic!("the {name} item row is missing"))
}

/// The audit rows of sync's version changes, oldest first.
fn version_rows(store: &dyn Store) -> Vec<String> {
    let mut rows: Vec<String> = trail(store)
        .into_iter()
        .filter(|record| record.entry.action == "version")
        .map(|record| record.entry.detail)
        .collect();
    rows.reverse();
    rows
}

/// What an item and a type say about themselves reads back exactly as registered: version,
/// authors in order, homepage, category and visibility (text byte for byte), the contract
/// version; and a second sync finds nothing to change.
pub fn item_and_type_metadata_round_trip(store: &dyn Store) {
    sync(store, &WITH_METADATA, SyncOptions::default());
    let email = item_row(store, "email");
    assert_eq!(
        (
            email.version.as_str(),
            email.authors.as_slice(),
            email.homepage.as_deref(),
            email.category.as_deref(),
            email.hidden,
        ),
        (
            "2.0.0-rc.1+build.5",
            &[
                "Ada Lovelace <ada@example.com>".to_owned(),
                "Zoë 💌 'Z' \"quoted\"".to_owned()
            ][..],
            Some("https://example.com/email?a=1&b=<2>"),
            Some("Mail & more"),
            false,
        )
    );
    let sms = item_row(store, "sms");
    assert_eq!(
        (
            sms.version.as_str(),
            sms.authors.len(),
            sms.homepage.as_deref(),
            sms.hidden
        ),
        ("1.0.0", 0, None, true),
        "no authors, no homepage, hidden"
    );
    let notifier = state(store)
        .types
        .into_iter()
        .find(|ty| ty.key == NOTIFIER.key())
        .expect("the notifier type row");
    assert_eq!(notifier.version, 3, "the contract version");
    let again = sync(store, &WITH_METADATA, SyncOptions::default());
    assert!(again.is_noop(), "a re-sync changed {:?}", again.actions);
}

/// A deployment with a new release of an item: sync records its version (in create mode
/// too: a version is the code's, not an operator's), the report names the change from the
/// old version to the new one, and one audit row says so. A dry run reports it and writes
/// nothing; the next sync finds nothing to change.
pub fn an_item_version_change_is_reported_and_audited_from_to(store: &dyn Store) {
    sync_v1(store);
    let dry = sync(
        store,
        &EMAIL_1_1,
        SyncOptions {
            dry_run: true,
            ..SyncOptions::default()
        },
    );
    let expected = vec![crate::sync::VersionChange {
        item: key("email"),
        from: "1.0.0".into(),
        to: "1.1.0".into(),
    }];
    assert_eq!(dry.versions_changed, expected, "the plan names the change");
    assert!(
        version_rows(store).is_empty(),
        "a dry run wrote an audit row"
    );
    assert_eq!(item_row(store, "email").version, "1.0.0");

    let report = sync(store, &EMAIL_1_1, SyncOptions::default());
    assert_eq!(report.versions_changed, expected, "{:?}", report.actions);
    assert_eq!(
        report.versions_changed[0].to_string(),
        "item conformance:notifier/email: version 1.0.0 → 1.1.0"
    );
    assert!(report.contracts_changed.is_empty());
    assert_eq!(report.items_updated, 1, "{:?}", report.actions);
    assert_eq!(item_row(store, "email").version, "1.1.0");
    assert_eq!(
        version_rows(store),
        ["item conformance:notifier/email: version 1.0.0 → 1.1.0"],
        "one audit row, from → to"
    );
    let again = sync(store, &EMAIL_1_1, SyncOptions::default());
    assert!(again.is_noop(), "a re-sync changed {:?}", again.actions);
    assert!(again.versions_changed.is_empty());
    assert_eq!(version_rows(store).len(), 1);
}

/// A type whose trait's contract version was raised: sync records it, the report names the
/// change and one audit row says so.
pub fn a_contract_version_change_is_reported_and_audited_from_to(store: &dyn Store) {
    sync_v1(store);
    let report = sync(store, &CONTRACT_V3, SyncOptions::default());
    assert_eq!(
        report.contracts_changed,
        [crate::sync::ContractChange {
            type_key: NOTIFIER.key(),
            from: 1,
            to: 3,
        }],
        "{:?}",
        report.actions
    );
    assert!(
        report.versions_changed.is_empty(),
        "the items' own versions did not change"
    );
    assert_eq!(report.types_updated, 1);
    assert_eq!(
        version_rows(store),
        ["type conformance:notifier: contract version 1 → 3"]
    );
    let notifier = state(store)
        .types
        .into_iter()
        .find(|ty| ty.key == NOTIFIER.key())
        .expect("the notifier type row");
    assert_eq!(notifier.version, 3);
    assert!(sync(store, &CONTRACT_V3, SyncOptions::default()).is_noop());
}

/// A row recorded before versions were (its version empty, as a database upgraded to the
/// metadata columns holds it): the next sync records the version without calling it a
/// change, and writes no version audit row.
pub fn an_item_version_recorded_before_versions_were_is_not_a_change(store: &dyn Store) {
    sync_v1(store);
    let upgraded = crate::sync::StoredItem {
        version: String::new(),
        ..item_row(store, "email")
    };
    ok(
        store.write(&mut |tx: &mut dyn Transaction| {
            tx.apply_sync(&[crate::sync::SyncAction::UpdateItem(upgraded.clone())])?;
            Ok(())
        }),
        "blanking the version",
    );
    assert_eq!(item_row(store, "email").version, "", "the version blanked");
    let report = sync(store, &V1, SyncOptions::default());
    assert!(
        report.versions_changed.is_empty(),
        "no version recorded is not a change: {:?}",
        report.versions_changed
    );
    assert_eq!(report.items_updated, 1, "the version is recorded");
    assert_eq!(item_row(store, "email").version, "1.0.0");
    assert!(version_rows(store).is_empty(), "{:?}", version_rows(store));
}

/// Tenants' switches of global instances (guarantee 11): they round-trip, one per (tenant,
/// instance); a switch set again as it is writes nothing; `Default` removes it; the change
/// log names each one changed (guarantee 10); a tenant's own instance cannot be switched;
/// and a switch goes with its instance.
pub fn a_tenant_s_switch_round_trips_is_logged_and_goes_with_its_instance(store: &dyn Store) {
    sync_v1(store);
    let (global, other, own) = (
        record("sms", "G", None, None),
        record("sms", "H", None, None),
        record("sms", "T", Some("acme"), None),
    );
    for instance in [&global, &other, &own] {
        create(store, instance);
    }
    let start = revision(store);
    let switch = |scope: &str, instance: &InstanceRecord| ActivationKey {
        scope: scope.into(),
        instance: instance.meta.id,
    };
    let (acme_g, beta_g, acme_h) = (
        switch("acme", &global),
        switch("beta", &global),
        switch("acme", &other),
    );
    let set = [
        (acme_g.clone(), Activation::Off),
        (beta_g.clone(), Activation::On),
        (acme_h.clone(), Activation::Off),
    ];
    assert_eq!(ok(rules::activate(store, &set, "ops"), "switching"), 3);
    let stored = |store: &dyn Store| -> Vec<(ActivationKey, bool)> {
        let mut all: Vec<(ActivationKey, bool)> = store
            .activations()
            .expect("reading the switches")
            .into_iter()
            .map(|record| (record.key, record.on))
            .collect();
        all.sort();
        all
    };
    let mut expected = vec![
        (acme_g.clone(), false),
        (beta_g.clone(), true),
        (acme_h.clone(), false),
    ];
    expected.sort();
    assert_eq!(stored(store), expected);
    let unknown = switch("acme", &record("sms", "X", None, None));
    let by_key = store
        .activations_by_key(&[beta_g.clone(), unknown])
        .expect("reading switches by key");
    assert_eq!(
        by_key.iter().map(|r| (&r.key, r.on)).collect::<Vec<_>>(),
        [(&beta_g, true)]
    );
    if let Some(changes) = changes(store, start) {
        let mut logged = changes.activations.clone();
        logged.sort();
        let mut keys = vec![acme_g.clone(), beta_g.clone(), acme_h.clone()];
        keys.sort();
        assert_eq!(logged, keys, "every switch set is logged");
    }
    // Set again as it is: nothing written.
    let before = revision(store);
    assert_eq!(ok(rules::activate(store, &set[..1], "ops"), "again"), 0);
    assert_eq!(
        revision(store),
        before,
        "an unchanged switch moves no revision"
    );
    // `Default` removes it, and the log says so.
    let reset = [(acme_h.clone(), Activation::Default)];
    assert_eq!(ok(rules::activate(store, &reset, "ops"), "reset"), 1);
    assert!(!stored(store).iter().any(|(key, _)| *key == acme_h));
    if let Some(changes) = changes(store, before) {
        assert_eq!(changes.activations, std::slice::from_ref(&acme_h));
        assert!(changes.instances.is_empty(), "{changes:?}");
    }
    // A tenant's own instance has no switch; an unknown one is an error; nothing written.
    let before = revision(store);
    let own_switch = [(switch("acme", &own), Activation::Off)];
    assert!(matches!(
        rules::activate(store, &own_switch, "ops"),
        Err(Error::InvalidInput { .. })
    ));
    let gone = [(
        switch("acme", &record("sms", "Y", None, None)),
        Activation::Off,
    )];
    assert!(matches!(
        rules::activate(store, &gone, "ops"),
        Err(Error::UnknownInstance(_))
    ));
    assert_eq!(revision(store), before);
    // A store refuses a switch of a missing instance itself, as a constraint.
    let orphan = ActivationRecord {
        key: switch("acme", &record("sms", "Z", None, None)),
        on: true,
        updated_at: now(),
    };
    let refused = store.write(&mut |tx| Ok(tx.set_activations(std::slice::from_ref(&orphan))?));
    match refused {
        Err(Error::Store(err)) => assert_eq!(err.kind(), StoreErrorKind::Constraint, "{err}"),
        other => panic!("a switch of a missing instance was not refused: {other:?}"),
    }
    // Deleting the instance takes its switches with it.
    ok(rules::delete(store, &[global.meta.id], "ops"), "delete");
    assert!(stored(store).is_empty(), "{:?}", stored(store));
}
