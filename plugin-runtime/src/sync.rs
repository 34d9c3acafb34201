//! Sync: the plan that makes a store match the registry.
//!
//! Planning is pure: a store reads what it holds ([`StoredState`]), [`plan`] compares it with the
//! registry, and the store applies the actions in one transaction. So every store has the same
//! semantics, and `--dry-run` is the plan without the apply.
//!
//! The rules (anchor parity first, then ours):
//! - missing types and items are created; `create` mode never overwrites what an operator may
//!   have edited (descriptions, default priorities), `update` mode refreshes them from code;
//! - every item without a config gets one ACTIVE default instance (named after the item, with
//!   the item's priority) when it has no instance at all; configurable items never do;
//! - an item that became configurable loses only its config-less default instance;
//! - rows whose code is gone are marked orphaned and kept (never selected); `prune` deletes them;
//! - `renamed_from` moves an item's row (and so its instances) to the new name;
//! - an item's version, authors, homepage and visibility, and a type's contract version, are
//!   the code's: every sync records them, and the report lists (and the audit trail keeps)
//!   each version that differs from the recorded one;
//! - only namespaces this binary registers are touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::instance::InstanceRecord;
use crate::keys::InstanceId;
use crate::keys::{ItemKey, TypeKey};
use crate::registry::Registry;

/// How sync treats rows that already exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Create what is missing; never overwrite existing rows' editable fields.
    #[default]
    Create,
    /// Also refresh descriptions, categories and default priorities from code.
    Update,
}

/// What a sync run may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Create or update mode.
    pub mode: SyncMode,
    /// Delete orphaned rows (and their instances) instead of keeping them.
    pub prune: bool,
    /// Plan only: report what would change, change nothing.
    pub dry_run: bool,
}

/// A plugin type row as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredType {
    /// `namespace:name`.
    pub key: TypeKey,
    /// For operators.
    pub description: String,
    /// Hash of the trait's method signatures at the last sync.
    pub fingerprint: String,
    /// The trait's Rust path at the last sync.
    pub rust_path: String,
    /// The parent type of a sub-type.
    pub parent: Option<TypeKey>,
    /// The version of the trait's contract at the last sync (1 in a row recorded before
    /// contract versions were: every contract was version 1 then).
    pub version: u32,
    /// The code is gone.
    pub orphaned: bool,
}

/// A plugin item row as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// `namespace:type/name`.
    pub key: ItemKey,
    /// The module of the impl at the last sync.
    pub module: String,
    /// For operators.
    pub description: String,
    /// Admin grouping.
    pub category: Option<String>,
    /// The item's version at the last sync; empty in a row recorded before versions were
    /// (so a first sync after that upgrade reports no change).
    pub version: String,
    /// Who wrote the item, in order. No author contains `:` (the registrations, like Cargo,
    /// separate authors with it).
    pub authors: Vec<String>,
    /// Where operators read about the item: an `http://` or `https://` URL.
    pub homepage: Option<String>,
    /// Not shown to operators unless they ask.
    pub hidden: bool,
    /// Whether instances carry a config.
    pub configurable: bool,
    /// The default priority of new instances.
    pub priority: i32,
    /// The code is gone.
    pub orphaned: bool,
}

/// What sync needs to know of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    /// Its id.
    pub id: InstanceId,
    /// Its item.
    pub item: ItemKey,
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub scope: Option<String>,
    /// Whether it stores a config.
    pub has_config: bool,
}

impl StoredInstance {
    /// What sync needs to know of a stored instance.
    pub fn of(record: &InstanceRecord) -> StoredInstance {
        StoredInstance {
            id: record.meta.id,
            item: record.meta.item.clone(),
            name: record.meta.name.clone(),
            scope: record.meta.scope.clone(),
            has_config: record.sealed_config.is_some(),
        }
    }
}

/// Everything sync compares with the registry.
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    /// Every type row.
    pub types: Vec<StoredType>,
    /// Every item row.
    pub items: Vec<StoredItem>,
    /// Every instance.
    pub instances: Vec<StoredInstance>,
}

/// One change sync makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Insert a type row.
    CreateType(StoredType),
    /// Overwrite a type row's fields (and clear its orphaned flag).
    UpdateType(StoredType),
    /// Mark a type whose code is gone.
    OrphanType(TypeKey),
    /// Delete a type row with its items and their instances.
    DeleteType {
        /// The type.
        key: TypeKey,
        /// The instances that go with it (for the report: what a prune destroys).
        instances: Vec<StoredInstance>,
    },
    /// Insert an item row.
    CreateItem(StoredItem),
    /// Overwrite an item row's fields (and clear its orphaned flag).
    UpdateItem(StoredItem),
    /// Move an item row to a new name; its instances follow.
    RenameItem {
        /// The old key.
        from: ItemKey,
        /// The new key.
        to: ItemKey,
    },
    /// Mark an item whose code is gone.
    OrphanItem(ItemKey),
    /// Delete an item row and its instances.
    DeleteItem {
        /// The item.
        key: ItemKey,
        /// The instances that go with it (for the report: what a prune destroys).
        instances: Vec<StoredInstance>,
    },
    /// Create the default ACTIVE instance of a config-less item.
    CreateDefaultInstance {
        /// The new instance's id.
        id: InstanceId,
        /// Its item.
        item: ItemKey,
        /// Its name (the item's name).
        name: String,
        /// Its priority (the item's).
        priority: i32,
    },
    /// Delete the config-less default instance of an item that became configurable.
    DeleteInstance {
        /// The instance.
        id: InstanceId,
        /// Its item.
        item: ItemKey,
        /// Its name.
        name: String,
    },
}

impl fmt::Display for SyncAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncAction::CreateType(row) => write!(f, "create type {}", row.key),
            SyncAction::UpdateType(row) => write!(f, "update type {}", row.key),
            SyncAction::OrphanType(key) => write!(f, "orphan type {key} (code gone; rows kept)"),
            SyncAction::DeleteType { key, instances } => {
                write!(f, "delete type {key} with its items")?;
                write_doomed(f, instances)
            }
            SyncAction::CreateItem(row) => write!(f, "create item {}", row.key),
            SyncAction::UpdateItem(row) => write!(f, "update item {}", row.key),
            SyncAction::RenameItem { from, to } => write!(f, "rename item {from} to {to}"),
            SyncAction::OrphanItem(key) => {
                write!(f, "orphan item {key} (code gone; instances kept)")
            }
            SyncAction::DeleteItem { key, instances } => {
                write!(f, "delete item {key}")?;
                write_doomed(f, instances)
            }
            SyncAction::CreateDefaultInstance { item, name, .. } => {
                write!(f, "create default instance `{name}` of {item}")
            }
            SyncAction::DeleteInstance { item, name, id } => write!(
                f,
                "delete config-less default instance `{name}` ({id}) of {item}, which is now configurable"
            ),
        }
    }
}

/// " and its N instance(s) (M configured: `name` (id), ...)": what a delete destroys.
fn write_doomed(f: &mut fmt::Formatter<'_>, instances: &[StoredInstance]) -> fmt::Result {
    if instances.is_empty() {
        return f.write_str(" (no instances)");
    }
    write!(f, " and its {} instance(s)", instances.len())?;
    let configured: Vec<String> = instances
        .iter()
        .filter(|instance| instance.has_config)
        .map(|instance| format!("`{}` ({})", instance.name, instance.id))
        .collect();
    if !configured.is_empty() {
        write!(
            f,
            ", {} of them configured, their configs lost: {}",
            configured.len(),
            configured.join(", ")
        )?;
    }
    Ok(())
}

/// An item whose recorded version is not the one this deployment registers: a new release
/// of the plugin (or an older one, rolled back) since the last sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    /// The item (its new key, if it was renamed too).
    pub item: ItemKey,
    /// The version the last sync recorded.
    pub from: String,
    /// The version registered now.
    pub to: String,
}

impl fmt::Display for VersionChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {}: version {} → {}", self.item, self.from, self.to)
    }
}

/// A plugin type whose contract version is not the recorded one: its trait's authors raised
/// it (items written for the old contract may need a look).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractChange {
    /// The type.
    pub type_key: TypeKey,
    /// The contract version the last sync recorded.
    pub from: u32,
    /// The contract version registered now.
    pub to: u32,
}

impl fmt::Display for ContractChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "type {}: contract version {} → {}",
            self.type_key, self.from, self.to
        )
    }
}

/// What a sync did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Types inserted.
    pub types_created: usize,
    /// Registered types that already had a row.
    pub types_found: usize,
    /// Type rows refreshed.
    pub types_updated: usize,
    /// Types marked orphaned.
    pub types_orphaned: usize,
    /// Type rows deleted by prune.
    pub types_deleted: usize,
    /// Items inserted.
    pub items_created: usize,
    /// Registered items that already had a row.
    pub items_found: usize,
    /// Item rows refreshed.
    pub items_updated: usize,
    /// Items moved by `renamed_from`.
    pub items_renamed: usize,
    /// Items marked orphaned.
    pub items_orphaned: usize,
    /// Item rows deleted by prune.
    pub items_deleted: usize,
    /// Default instances created.
    pub instances_created: usize,
    /// Instances deleted: config-less defaults of items turned configurable, and every
    /// instance of a pruned item or type.
    pub instances_deleted: usize,
    /// Of those, instances with a config (an operator's work, lost with them).
    pub configured_instances_deleted: usize,
    /// Items whose version differs from the recorded one (not those recorded before
    /// versions were), in registry order. Each is also an item update in `actions`.
    pub versions_changed: Vec<VersionChange>,
    /// Types whose contract version differs from the recorded one. Each is also a type
    /// update in `actions`.
    pub contracts_changed: Vec<ContractChange>,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Every action, in order.
    pub actions: Vec<SyncAction>,
}

impl SyncReport {
    /// True when the store already matched the registry.
    pub fn is_noop(&self) -> bool {
        self.actions.is_empty()
    }

    fn count_deleted(&mut self, instances: &[StoredInstance]) {
        self.instances_deleted += instances.len();
        self.configured_instances_deleted += instances.iter().filter(|i| i.has_config).count();
    }
}

/// Makes `store` match `registry` in one transaction, without a [`Plugins`](crate::Plugins)
/// handle: for a deploy step that syncs before the application starts (it needs no key, and
/// builds no plugin). [`Plugins::sync`](crate::Plugins::sync) does the same and reloads.
pub fn run(
    store: &dyn crate::store::Store,
    registry: &Registry,
    options: &SyncOptions,
) -> Result<SyncReport, crate::Error> {
    crate::store::rules::sync(store, registry, options)
}

/// Compares the registry with the stored state and lists the actions that make them match.
pub fn plan(registry: &Registry, stored: &StoredState, options: &SyncOptions) -> SyncReport {
    let mut report = SyncReport {
        dry_run: options.dry_run,
        ..SyncReport::default()
    };
    let namespaces: BTreeSet<&str> = registry.namespaces().into_iter().collect();
    let stored_types: BTreeMap<&TypeKey, &StoredType> =
        stored.types.iter().map(|row| (&row.key, row)).collect();
    let stored_items: BTreeMap<&ItemKey, &StoredItem> =
        stored.items.iter().map(|row| (&row.key, row)).collect();
    let mut instances_of: BTreeMap<&ItemKey, Vec<&StoredInstance>> = BTreeMap::new();
    for instance in &stored.instances {
        instances_of
            .entry(&instance.item)
            .or_default()
            .push(instance);
    }
    let update = options.mode == SyncMode::Update;

    let mut live_items: BTreeSet<ItemKey> = BTreeSet::new();
    let mut renamed_away: BTreeSet<ItemKey> = BTreeSet::new();
    let mut live_types: BTreeSet<TypeKey> = BTreeSet::new();

    for ty in registry.types() {
        let key = ty.info.key();
        let wanted = StoredType {
            key: key.clone(),
            description: ty.info.description().to_owned(),
            fingerprint: ty.info.fingerprint().to_owned(),
            rust_path: ty.info.rust_path().to_owned(),
            parent: ty.info.parent().map(|parent| parent.key()),
            version: ty.info.version(),
            orphaned: false,
        };
        match stored_types.get(&key) {
            None => {
                report.types_created += 1;
                report.actions.push(SyncAction::CreateType(wanted));
            }
            Some(row) => {
                report.types_found += 1;
                if row.version != wanted.version {
                    report.contracts_changed.push(ContractChange {
                        type_key: key.clone(),
                        from: row.version,
                        to: wanted.version,
                    });
                }
                let merged = StoredType {
                    description: if update {
                        wanted.description.clone()
                    } else {
                        row.description.clone()
                    },
                    ..wanted
                };
                if merged != **row {
                    report.types_updated += 1;
                    report.actions.push(SyncAction::UpdateType(merged));
                }
            }
        }
        live_types.insert(key);

        for item in &ty.items {
            let key = item.key();
            let wanted = StoredItem {
                key: key.clone(),
                module: item.module().to_owned(),
                description: item.description().to_owned(),
                category: item.category().map(str::to_owned),
                version: item.version().to_owned(),
                authors: item.authors().map(str::to_owned).collect(),
                homepage: item.homepage().map(str::to_owned),
                hidden: item.is_hidden(),
                configurable: item.is_configurable(),
                priority: item.priority(),
                orphaned: false,
            };
            let existing = match stored_items.get(&key) {
                Some(row) => Some(*row),
                None => {
                    let old = item.renamed_from().iter().find_map(|old| {
                        let old_key = ItemKey {
                            type_key: key.type_key.clone(),
                            name: (*old).to_owned(),
                        };
                        stored_items.get(&old_key).map(|row| (old_key, *row))
                    });
                    if let Some((old_key, row)) = old {
                        report.items_renamed += 1;
                        report.actions.push(SyncAction::RenameItem {
                            from: old_key.clone(),
                            to: key.clone(),
                        });
                        renamed_away.insert(old_key);
                        Some(row)
                    } else {
                        None
                    }
                }
            };
            match existing {
                None => {
                    report.items_created += 1;
                    report.actions.push(SyncAction::CreateItem(wanted.clone()));
                }
                Some(row) => {
                    report.items_found += 1;
                    if !row.version.is_empty() && row.version != wanted.version {
                        report.versions_changed.push(VersionChange {
                            item: key.clone(),
                            from: row.version.clone(),
                            to: wanted.version.clone(),
                        });
                    }
                    let merged = StoredItem {
                        description: if update {
                            wanted.description.clone()
                        } else {
                            row.description.clone()
                        },
                        category: if update {
                            wanted.category.clone()
                        } else {
                            row.category.clone()
                        },
                        priority: if update {
                            wanted.priority
                        } else {
                            row.priority
                        },
                        key: key.clone(),
                        ..wanted.clone()
                    };
                    let compared = StoredItem {
                        key: key.clone(),
                        ..row.clone()
                    };
                    if merged != compared {
                        report.items_updated += 1;
                        report.actions.push(SyncAction::UpdateItem(merged));
                    }
                }
            }
            let instances = existing
                .and_then(|row| instances_of.get(&row.key))
                .map_or(&[][..], Vec::as_slice);
            plan_instances(item.name(), &key, &wanted, instances, &mut report);
            live_items.insert(key);
        }
    }

    // Rows whose code is gone, in namespaces this binary owns.
    for row in &stored.items {
        let owned = namespaces.contains(row.key.type_key.namespace.as_str());
        if !owned || live_items.contains(&row.key) || renamed_away.contains(&row.key) {
            continue;
        }
        if options.prune {
            let instances: Vec<StoredInstance> = instances_of
                .get(&row.key)
                .map(|list| list.iter().map(|i| (*i).clone()).collect())
                .unwrap_or_default();
            report.count_deleted(&instances);
            report.items_deleted += 1;
            report.actions.push(SyncAction::DeleteItem {
                key: row.key.clone(),
                instances,
            });
        } else if !row.orphaned {
            report.items_orphaned += 1;
            report.actions.push(SyncAction::OrphanItem(row.key.clone()));
        }
    }
    for row in &stored.types {
        if !namespaces.contains(row.key.namespace.as_str()) || live_types.contains(&row.key) {
            continue;
        }
        if options.prune {
            // Its items' instances, unless a deleted item already accounts for them.
            let deleted_items: BTreeSet<&ItemKey> = report
                .actions
                .iter()
                .filter_map(|action| match action {
                    SyncAction::DeleteItem { key, .. } => Some(key),
                    _ => None,
                })
                .collect();
            let instances: Vec<StoredInstance> = stored
                .instances
                .iter()
                .filter(|i| i.item.type_key == row.key && !deleted_items.contains(&i.item))
                .cloned()
                .collect();
            report.count_deleted(&instances);
            report.types_deleted += 1;
            report.actions.push(SyncAction::DeleteType {
                key: row.key.clone(),
                instances,
            });
        } else if !row.orphaned {
            report.types_orphaned += 1;
            report.actions.push(SyncAction::OrphanType(row.key.clone()));
        }
    }
    report
}

/// Default instances: one for a config-less item with no instance; none for configurable
/// items, whose config-less default (left from before they took a config) goes.
fn plan_instances(
    item_name: &str,
    key: &ItemKey,
    wanted: &StoredItem,
    instances: &[&StoredInstance],
    report: &mut SyncReport,
) {
    if wanted.configurable {
        for instance in instances {
            if !instance.has_config && instance.name == item_name && instance.scope.is_none() {
                report.instances_deleted += 1;
                report.actions.push(SyncAction::DeleteInstance {
                    id: instance.id,
                    item: key.clone(),
                    name: instance.name.clone(),
                });
            }
        }
    } else if instances.is_empty() {
        report.instances_created += 1;
        report.actions.push(SyncAction::CreateDefaultInstance {
            id: InstanceId::new(),
            item: key.clone(),
            name: item_name.to_owned(),
            priority: wanted.priority,
        });
    }
}
