//! The store's queries, written once and compiled once per backend: each backend module
//! includes this file with `#[path]` after naming its connection type `Db`, whose
//! [`Hooks`] hold what the backends do differently. (diesel checks every query against one concrete backend, so code
//! generic over backends would need a bound per query; this keeps the queries plain, and
//! each row below is checked against the backend of the copy it is compiled in.)
//!
//! Only primitives live here: the rules of each write (the sync plan, versions, audit rows,
//! revision bumps) are the runtime's, in `plugin_runtime::store`.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use plugin_runtime::store::{
    AuditEntry, AuditQuery, AuditRecord, CHANGE_LOG_REVISIONS, ChangeFeed, Changed, Changes,
    NameKey, Store, StoreError, Transaction,
};
use plugin_runtime::sync::{StoredInstance, StoredItem, StoredState, StoredType, SyncAction};
use plugin_runtime::{
    ActivationKey, ActivationRecord, Error, InstanceId, InstanceMeta, InstanceRecord, ItemKey,
    TypeKey,
};

use super::Db;
use crate::DieselStore;
use crate::hooks::Hooks;
use crate::rows::{
    Ids, InstanceValues, ItemValues, TxError, TypeValues, db, from_millis, no_row,
    parse_contract_version, parse_id, parse_status, split_authors, to_millis,
};
use crate::schema::{
    plugin_activation_changes, plugin_activations, plugin_audit, plugin_changes, plugin_instances,
    plugin_items, plugin_revision, plugin_types,
};

/// Rows per statement: well under every backend's limit on bound parameters.
const BATCH: usize = 500;

/// A write inserting this many instances refreshes the planner's statistics of the tables
/// (where the backend needs it: [`Hooks::refresh_statistics`]).
const STATISTICS_AFTER: usize = 1_000;

/// The most scopes one name check asks for (each is a term of an `OR`; SQLite limits the
/// depth of an expression to 1,000).
const SCOPES_PER_QUERY: usize = 64;

/// A boxed `WHERE` condition on instance rows.
type InstanceFilter<'a> = Box<
    dyn BoxableExpression<
            plugin_instances::table,
            <Db as diesel::Connection>::Backend,
            SqlType = diesel::sql_types::Bool,
        > + 'a,
>;

/// The (scope, names) groups of one item's name check, cut into queries of at most [`BATCH`]
/// names and [`SCOPES_PER_QUERY`] scopes (a scope with more names is split over queries).
fn name_batches<'m, 'k>(
    scopes: &'m BTreeMap<&'k str, Vec<&'k str>>,
) -> Vec<Vec<(&'k str, &'m [&'k str])>> {
    let mut batches = Vec::new();
    let (mut batch, mut names_in_batch) = (Vec::new(), 0);
    for (scope, names) in scopes {
        for part in names.chunks(BATCH) {
            if names_in_batch + part.len() > BATCH || batch.len() == SCOPES_PER_QUERY {
                batches.push(std::mem::take(&mut batch));
                names_in_batch = 0;
            }
            batch.push((*scope, part));
            names_in_batch += part.len();
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// The most instances one write lists in the change log: a larger write (a bulk import, a
/// sync that orphans a big item) is logged as "everything", so a process that is behind
/// reloads everything (it would have anyway: the runtime reloads in full once a quarter of
/// the instances changed) and the write does not insert a log row per instance.
const LOGGED_PER_WRITE: usize = 10_000;

/// The key of a type, embedded in the rows that name their type.
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_types, check_for_backend(<super::Db as diesel::Connection>::Backend))]
struct TypeKeyRow {
    namespace: String,
    name: String,
}

impl From<TypeKeyRow> for TypeKey {
    fn from(row: TypeKeyRow) -> TypeKey {
        TypeKey {
            namespace: row.namespace,
            name: row.name,
        }
    }
}

/// A type row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_types, check_for_backend(<super::Db as diesel::Connection>::Backend))]
struct TypeRow {
    id: String,
    #[diesel(embed)]
    key: TypeKeyRow,
    description: String,
    rust_path: String,
    fingerprint: String,
    parent_id: Option<String>,
    orphaned: bool,
    contract_version: i32,
}

/// An item row with its type's key.
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_items, check_for_backend(<super::Db as diesel::Connection>::Backend))]
struct ItemRow {
    id: String,
    #[diesel(embed)]
    type_key: TypeKeyRow,
    name: String,
    module: String,
    description: String,
    category: Option<String>,
    configurable: bool,
    priority: i32,
    orphaned: bool,
    version: String,
    authors: String,
    homepage: Option<String>,
    hidden: bool,
}

impl ItemRow {
    fn key(&self) -> ItemKey {
        ItemKey {
            type_key: TypeKey {
                namespace: self.type_key.namespace.clone(),
                name: self.type_key.name.clone(),
            },
            name: self.name.clone(),
        }
    }

    fn into_stored(self) -> StoredItem {
        StoredItem {
            key: ItemKey {
                type_key: self.type_key.into(),
                name: self.name,
            },
            module: self.module,
            description: self.description,
            category: self.category,
            configurable: self.configurable,
            priority: self.priority,
            orphaned: self.orphaned,
            version: self.version,
            authors: split_authors(&self.authors),
            homepage: self.homepage,
            hidden: self.hidden,
        }
    }
}

/// An instance row with its item's key and orphan flag (the instance's own is derived from
/// its item's: guarantee 5).
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_instances, check_for_backend(<super::Db as diesel::Connection>::Backend))]
struct InstanceRow {
    id: String,
    #[diesel(embed)]
    type_key: TypeKeyRow,
    #[diesel(select_expression = plugin_items::name)]
    item: String,
    name: String,
    scope: String,
    config: Option<Vec<u8>>,
    status: String,
    priority: i32,
    description: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    managed_by: Option<String>,
    #[diesel(select_expression = plugin_items::orphaned)]
    orphaned: bool,
}

impl InstanceRow {
    fn into_record(self) -> Result<InstanceRecord, StoreError> {
        Ok(InstanceRecord {
            meta: InstanceMeta {
                id: parse_id(&self.id)?,
                name: self.name,
                item: ItemKey {
                    type_key: self.type_key.into(),
                    name: self.item,
                },
                status: parse_status(&self.status)?,
                priority: self.priority,
                // Global instances are stored with scope '' (see the migrations).
                scope: Some(self.scope).filter(|scope| !scope.is_empty()),
                version: self.version,
            },
            description: self.description,
            sealed_config: self.config,
            orphaned: self.orphaned,
            managed_by: self.managed_by,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

/// A row of the audit trail.
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_audit, check_for_backend(<super::Db as diesel::Connection>::Backend))]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    instance_id: Option<String>,
    detail: String,
}

impl AuditRow {
    fn into_record(self) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            seq: u64::try_from(self.id).unwrap_or(0),
            entry: AuditEntry {
                at: from_millis(self.at),
                actor: self.actor,
                action: self.action,
                instance: self.instance_id.as_deref().map(parse_id).transpose()?,
                detail: self.detail,
            },
        })
    }
}

/// Type rows as sync sees them: parents by key instead of row id.
fn stored_types(rows: Vec<TypeRow>) -> Result<Vec<StoredType>, StoreError> {
    let keys: HashMap<String, TypeKey> = rows
        .iter()
        .map(|row| {
            let key = TypeKey {
                namespace: row.key.namespace.clone(),
                name: row.key.name.clone(),
            };
            (row.id.clone(), key)
        })
        .collect();
    rows.into_iter()
        .map(|row| {
            Ok(StoredType {
                version: parse_contract_version(row.contract_version)?,
                key: row.key.into(),
                description: row.description,
                fingerprint: row.fingerprint,
                rust_path: row.rust_path,
                parent: row.parent_id.and_then(|parent| keys.get(&parent).cloned()),
                orphaned: row.orphaned,
            })
        })
        .collect()
}

/// The instance rows with their item's key and orphan flag, optionally only some ids.
fn load_records(conn: &mut Db, only: Option<&[String]>) -> Result<Vec<InstanceRecord>, StoreError> {
    let mut query = plugin_instances::table
        .inner_join(plugin_items::table.inner_join(plugin_types::table))
        .select(InstanceRow::as_select())
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(plugin_instances::id.eq_any(ids));
    }
    let rows: Vec<InstanceRow> = query.load(conn).map_err(db)?;
    rows.into_iter().map(InstanceRow::into_record).collect()
}

/// Row ids of every type and item, by key.
fn load_ids(conn: &mut Db) -> Result<(Ids, Vec<TypeRow>, Vec<ItemRow>), StoreError> {
    let types: Vec<TypeRow> = plugin_types::table
        .select(TypeRow::as_select())
        .load(conn)
        .map_err(db)?;
    let items: Vec<ItemRow> = plugin_items::table
        .inner_join(plugin_types::table)
        .select(ItemRow::as_select())
        .load(conn)
        .map_err(db)?;
    let mut ids = Ids::default();
    for row in &types {
        let key = TypeKey {
            namespace: row.key.namespace.clone(),
            name: row.key.name.clone(),
        };
        ids.types.insert(key, row.id.clone());
    }
    for row in &items {
        ids.items.insert(row.key(), row.id.clone());
    }
    Ok((ids, types, items))
}

/// One write transaction of a diesel store.
struct DieselTx<'a> {
    conn: &'a mut Db,
    /// Item row ids looked up so far (inserts of many instances of one item look it up once).
    item_ids: HashMap<ItemKey, String>,
}

impl DieselTx<'_> {
    /// The row id of an item, or `None` when it has no row.
    fn existing_item_row_id(&mut self, key: &ItemKey) -> Result<Option<String>, StoreError> {
        match self.item_row_id(key) {
            Ok(id) => Ok(Some(id)),
            Err(err) if err.kind() == plugin_runtime::store::StoreErrorKind::Constraint => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn item_row_id(&mut self, key: &ItemKey) -> Result<String, StoreError> {
        if let Some(id) = self.item_ids.get(key) {
            return Ok(id.clone());
        }
        let id: String = plugin_items::table
            .inner_join(plugin_types::table)
            .filter(plugin_types::namespace.eq(&key.type_key.namespace))
            .filter(plugin_types::name.eq(&key.type_key.name))
            .filter(plugin_items::name.eq(&key.name))
            .select(plugin_items::id)
            .first(self.conn)
            .optional()
            .map_err(db)?
            .ok_or_else(|| no_row("item", &key.to_string()))?;
        self.item_ids.insert(key.clone(), id.clone());
        Ok(id)
    }
}

/// Rows a sync creates, many rows per statement (row ids are made here, so the batches need
/// no round-trip to learn them): types before the other actions, items and instances after.
#[derive(Default)]
struct Creations<'a> {
    types: Vec<(String, &'a StoredType)>,
    /// Item row id, its type's row id, the item.
    items: Vec<(String, String, &'a StoredItem)>,
    /// Item row id, the default instance.
    instances: Vec<(String, InstanceRecord)>,
}

impl Creations<'_> {
    /// Inserts the new types, parents before their sub-types (MySQL checks foreign keys row
    /// by row). Before the other actions, which may point existing types at new parents.
    fn insert_types(&mut self, conn: &mut Db, ids: &Ids) -> Result<(), StoreError> {
        let new: HashMap<&TypeKey, &StoredType> =
            self.types.iter().map(|(_, row)| (&row.key, *row)).collect();
        let depth = |row: &StoredType| {
            let mut depth = 0;
            let mut parent = row.parent.as_ref();
            while let Some(key) = parent.and_then(|key| new.get(key)) {
                depth += 1;
                parent = key.parent.as_ref();
            }
            depth
        };
        self.types.sort_by_cached_key(|(_, row)| depth(row));
        for chunk in self.types.chunks(BATCH) {
            let rows = chunk
                .iter()
                .map(|(id, row)| {
                    let parent_id = row
                        .parent
                        .as_ref()
                        .map(|key| ids.type_id(key))
                        .transpose()?;
                    Ok((
                        plugin_types::id.eq(id),
                        plugin_types::namespace.eq(&row.key.namespace),
                        plugin_types::name.eq(&row.key.name),
                        TypeValues::of(row, parent_id),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            diesel::insert_into(plugin_types::table)
                .values(rows)
                .execute(conn)
                .map_err(db)?;
        }
        Ok(())
    }

    /// Inserts the new items and default instances, after the other actions (a renamed
    /// item frees its old name first).
    fn insert_items_and_instances(&self, conn: &mut Db) -> Result<(), StoreError> {
        for chunk in self.items.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(id, type_id, row)| {
                    (
                        plugin_items::id.eq(id),
                        plugin_items::type_id.eq(type_id),
                        plugin_items::name.eq(&row.key.name),
                        ItemValues::of(row),
                    )
                })
                .collect();
            diesel::insert_into(plugin_items::table)
                .values(rows)
                .execute(conn)
                .map_err(db)?;
        }
        for chunk in self.instances.chunks(BATCH) {
            insert_rows(
                conn,
                chunk.iter().map(|(item, record)| (item.as_str(), record)),
            )?;
        }
        Ok(())
    }
}

/// Inserts instance rows (item row id, record) in one statement.
fn insert_rows<'r>(
    conn: &mut Db,
    records: impl Iterator<Item = (&'r str, &'r InstanceRecord)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = records
        .map(|(item_id, record)| {
            (
                plugin_instances::id.eq(record.meta.id.to_string()),
                plugin_instances::item_id.eq(item_id),
                plugin_instances::created_at.eq(to_millis(record.created_at)),
                InstanceValues::of(record),
            )
        })
        .collect();
    diesel::insert_into(plugin_instances::table)
        .values(rows)
        .execute(conn)
        .map(|_| ())
        .map_err(db)
}

fn apply<'a>(
    conn: &mut Db,
    ids: &mut Ids,
    creations: &mut Creations<'a>,
    action: &'a SyncAction,
) -> Result<(), StoreError> {
    match action {
        // Inserted before the other actions run (see `apply_sync`).
        SyncAction::CreateType(_) => {}
        SyncAction::UpdateType(row) => {
            let parent_id = row
                .parent
                .as_ref()
                .map(|key| ids.type_id(key))
                .transpose()?;
            diesel::update(plugin_types::table.filter(plugin_types::id.eq(ids.type_id(&row.key)?)))
                .set(TypeValues::of(row, parent_id))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::OrphanType(key) => {
            diesel::update(plugin_types::table.filter(plugin_types::id.eq(ids.type_id(key)?)))
                .set(plugin_types::orphaned.eq(true))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::DeleteType { key, .. } => {
            diesel::delete(plugin_types::table.filter(plugin_types::id.eq(ids.type_id(key)?)))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::CreateItem(row) => {
            let id = uuid::Uuid::now_v7().to_string();
            let type_id = ids.type_id(&row.key.type_key)?.to_owned();
            ids.items.insert(row.key.clone(), id.clone());
            creations.items.push((id, type_id, row));
        }
        SyncAction::UpdateItem(row) => {
            diesel::update(plugin_items::table.filter(plugin_items::id.eq(ids.item_id(&row.key)?)))
                .set(ItemValues::of(row))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::RenameItem { from, to } => {
            let id = ids.item_id(from)?.to_owned();
            diesel::update(plugin_items::table.filter(plugin_items::id.eq(&id)))
                .set(plugin_items::name.eq(&to.name))
                .execute(conn)
                .map_err(db)?;
            ids.items.remove(from);
            ids.items.insert(to.clone(), id);
        }
        SyncAction::OrphanItem(key) => {
            diesel::update(plugin_items::table.filter(plugin_items::id.eq(ids.item_id(key)?)))
                .set(plugin_items::orphaned.eq(true))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::DeleteItem { key, .. } => {
            diesel::delete(plugin_items::table.filter(plugin_items::id.eq(ids.item_id(key)?)))
                .execute(conn)
                .map_err(db)?;
        }
        SyncAction::CreateDefaultInstance {
            id,
            item,
            name,
            priority,
        } => {
            let record = InstanceRecord::sync_default(*id, item.clone(), name, *priority);
            creations
                .instances
                .push((ids.item_id(item)?.to_owned(), record));
        }
        SyncAction::DeleteInstance { id, .. } => {
            diesel::delete(plugin_instances::table.filter(plugin_instances::id.eq(id.to_string())))
                .execute(conn)
                .map_err(db)?;
        }
    }
    Ok(())
}

impl Transaction for DieselTx<'_> {
    fn stored_state(&mut self) -> Result<StoredState, StoreError> {
        let (_, types, items) = load_ids(self.conn)?;
        Ok(StoredState {
            types: stored_types(types)?,
            items: items.into_iter().map(ItemRow::into_stored).collect(),
            instances: load_records(self.conn, None)?
                .iter()
                .map(StoredInstance::of)
                .collect(),
        })
    }

    fn apply_sync(&mut self, actions: &[SyncAction]) -> Result<(), StoreError> {
        let (mut ids, _, _) = load_ids(self.conn)?;
        let mut creations = Creations::default();
        for action in actions {
            if let SyncAction::CreateType(row) = action {
                let id = uuid::Uuid::now_v7().to_string();
                ids.types.insert(row.key.clone(), id.clone());
                creations.types.push((id, row));
            }
        }
        creations.insert_types(self.conn, &ids)?;
        for action in actions {
            apply(self.conn, &mut ids, &mut creations, action)?;
        }
        creations.insert_items_and_instances(self.conn)?;
        // Item ids may have moved (renames, deletes): forget what was cached.
        self.item_ids.clear();
        Ok(())
    }

    fn instances(&mut self) -> Result<Vec<InstanceRecord>, StoreError> {
        load_records(self.conn, None)
    }

    fn instances_by_id(&mut self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        records_by_id(self.conn, ids)
    }

    /// Per item, queries of up to [`BATCH`] names, each an `OR` of exact
    /// `(item, scope, name IN ..)` terms (at most [`SCOPES_PER_QUERY`] scopes), so every term
    /// is a lookup in the unique index and a bulk create of 100,000 checks its names in a few
    /// hundred round trips. (A query of `scope IN (..) AND name IN (..)` asked the index for
    /// every pairing of the two lists: 1.7 s per 10,000 names at 20,000 instances.)
    fn find_instances(
        &mut self,
        keys: &[NameKey<'_>],
    ) -> Result<Vec<Option<InstanceId>>, StoreError> {
        // Global instances are stored with scope '' (see the migrations).
        fn stored_scope<'a>(key: &NameKey<'a>) -> &'a str {
            key.scope.unwrap_or("")
        }
        let mut by_item: HashMap<&ItemKey, BTreeMap<&str, Vec<&str>>> = HashMap::new();
        for key in keys {
            by_item
                .entry(key.item)
                .or_default()
                .entry(stored_scope(key))
                .or_default()
                .push(key.name);
        }
        let mut found: HashMap<(&ItemKey, String, String), InstanceId> = HashMap::new();
        for (item, scopes) in by_item {
            let Some(item_id) = self.existing_item_row_id(item)? else {
                continue;
            };
            for batch in name_batches(&scopes) {
                let mut filter: Option<InstanceFilter<'_>> = None;
                for (scope, names) in batch {
                    let term = plugin_instances::item_id
                        .eq(item_id.as_str())
                        .and(plugin_instances::scope.eq(scope))
                        .and(plugin_instances::name.eq_any(names.iter().copied()));
                    filter = Some(match filter {
                        None => Box::new(term),
                        Some(terms) => Box::new(terms.or(term)),
                    });
                }
                let Some(filter) = filter else { continue };
                let rows: Vec<(String, String, String)> = plugin_instances::table
                    .filter(filter)
                    .select((
                        plugin_instances::id,
                        plugin_instances::scope,
                        plugin_instances::name,
                    ))
                    .load(self.conn)
                    .map_err(db)?;
                for (id, scope, name) in rows {
                    found.insert((item, scope, name), parse_id(&id)?);
                }
            }
        }
        Ok(keys
            .iter()
            .map(|key| {
                found
                    .get(&(key.item, stored_scope(key).to_owned(), key.name.to_owned()))
                    .copied()
            })
            .collect())
    }

    fn insert_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            rows.push((self.item_row_id(&record.meta.item)?, record));
        }
        for chunk in rows.chunks(BATCH) {
            insert_rows(
                self.conn,
                chunk.iter().map(|(item, record)| (item.as_str(), *record)),
            )?;
        }
        if records.len() >= STATISTICS_AFTER {
            self.conn.refresh_statistics().map_err(db)?;
        }
        Ok(())
    }

    fn update_instances(&mut self, records: &[InstanceRecord]) -> Result<(), StoreError> {
        for record in records {
            diesel::update(
                plugin_instances::table.filter(plugin_instances::id.eq(record.meta.id.to_string())),
            )
            .set(InstanceValues::of(record))
            .execute(self.conn)
            .map_err(db)?;
        }
        Ok(())
    }

    fn delete_instances(&mut self, ids: &[InstanceId]) -> Result<usize, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut deleted = 0;
        for chunk in ids.chunks(BATCH) {
            deleted +=
                diesel::delete(plugin_instances::table.filter(plugin_instances::id.eq_any(chunk)))
                    .execute(self.conn)
                    .map_err(db)?;
        }
        Ok(deleted)
    }

    fn activations_by_key(
        &mut self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError> {
        activations_by_key(self.conn, keys)
    }

    /// Each switch replaced (deleted, then inserted): one way for every backend.
    fn set_activations(&mut self, records: &[ActivationRecord]) -> Result<(), StoreError> {
        let keys: Vec<ActivationKey> = records.iter().map(|record| record.key.clone()).collect();
        self.remove_activations(&keys)?;
        for chunk in records.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|record| {
                    (
                        plugin_activations::scope.eq(&record.key.scope),
                        plugin_activations::instance_id.eq(record.key.instance.to_string()),
                        plugin_activations::active.eq(record.on),
                        plugin_activations::updated_at.eq(to_millis(record.updated_at)),
                    )
                })
                .collect();
            diesel::insert_into(plugin_activations::table)
                .values(rows)
                .execute(self.conn)
                .map_err(db)?;
        }
        Ok(())
    }

    fn remove_activations(&mut self, keys: &[ActivationKey]) -> Result<usize, StoreError> {
        let mut removed = 0;
        for key in keys {
            removed += diesel::delete(
                plugin_activations::table
                    .filter(plugin_activations::scope.eq(&key.scope))
                    .filter(plugin_activations::instance_id.eq(key.instance.to_string())),
            )
            .execute(self.conn)
            .map_err(db)?;
        }
        Ok(removed)
    }

    fn append_audit(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        for chunk in entries.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|entry| {
                    (
                        plugin_audit::at.eq(to_millis(entry.at)),
                        plugin_audit::actor.eq(&entry.actor),
                        plugin_audit::action.eq(&entry.action),
                        plugin_audit::instance_id.eq(entry.instance.map(|id| id.to_string())),
                        plugin_audit::detail.eq(&entry.detail),
                    )
                })
                .collect();
            diesel::insert_into(plugin_audit::table)
                .values(rows)
                .execute(self.conn)
                .map_err(db)?;
        }
        Ok(())
    }

    /// Moves the revision on and logs the changed instances under it; trims the log to the
    /// last [`CHANGE_LOG_REVISIONS`] revisions (`changes_from` moves with the trim, and to
    /// the new revision after a write logged as "everything").
    fn bump_revision(&mut self, changed: Changed<'_>) -> Result<u64, StoreError> {
        // Under the write lock, so nothing moves between this read and the update. (The new
        // values are computed here: MySQL evaluates `SET a = a + 1, b = a` left to right,
        // the others from the old row.)
        let bounds = read_log_bounds(self.conn)?;
        let revision = bounds.revision + 1;
        let mut ids: Vec<String> = match changed {
            Changed::Instances(ids) if ids.len() <= LOGGED_PER_WRITE => {
                ids.iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        };
        let mut switches: Vec<&ActivationKey> = match changed {
            Changed::Activations(keys) if keys.len() <= LOGGED_PER_WRITE => keys.iter().collect(),
            _ => Vec::new(),
        };
        let listed = match changed {
            Changed::Instances(ids) => ids.len() <= LOGGED_PER_WRITE,
            Changed::Activations(keys) => keys.len() <= LOGGED_PER_WRITE,
            Changed::Everything => false,
        };
        let changes_from = match listed {
            true => bounds
                .changes_from
                .max(revision.saturating_sub(CHANGE_LOG_REVISIONS)),
            false => revision,
        };
        diesel::update(plugin_revision::table.filter(plugin_revision::id.eq(1)))
            .set((
                plugin_revision::revision.eq(to_db(revision)),
                plugin_revision::changes_from.eq(to_db(changes_from)),
            ))
            .execute(self.conn)
            .map_err(db)?;
        if changes_from > bounds.changes_from {
            // Rows at or before `changes_from` answer nothing any more (those at or before
            // the old one are gone already). A range with both ends: a planner without
            // statistics of the table still takes the index for it.
            diesel::delete(
                plugin_changes::table
                    .filter(plugin_changes::revision.gt(to_db(bounds.changes_from)))
                    .filter(plugin_changes::revision.le(to_db(changes_from))),
            )
            .execute(self.conn)
            .map_err(db)?;
            diesel::delete(
                plugin_activation_changes::table
                    .filter(plugin_activation_changes::revision.gt(to_db(bounds.changes_from)))
                    .filter(plugin_activation_changes::revision.le(to_db(changes_from))),
            )
            .execute(self.conn)
            .map_err(db)?;
        }
        switches.sort_unstable();
        switches.dedup();
        for chunk in switches.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|key| {
                    (
                        plugin_activation_changes::revision.eq(to_db(revision)),
                        plugin_activation_changes::scope.eq(&key.scope),
                        plugin_activation_changes::instance_id.eq(key.instance.to_string()),
                    )
                })
                .collect();
            diesel::insert_into(plugin_activation_changes::table)
                .values(rows)
                .execute(self.conn)
                .map_err(db)?;
        }
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(BATCH) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|id| {
                    (
                        plugin_changes::revision.eq(to_db(revision)),
                        plugin_changes::instance_id.eq(id),
                    )
                })
                .collect();
            diesel::insert_into(plugin_changes::table)
                .values(rows)
                .execute(self.conn)
                .map_err(db)?;
        }
        // Listeners hear of it when the transaction commits (PostgreSQL's NOTIFY).
        self.conn.announce_change().map_err(db)?;
        Ok(revision)
    }
}

/// The switches of these keys that exist: per batch, the rows of its scopes and instances,
/// then the exact pairs.
fn activations_by_key(
    conn: &mut Db,
    keys: &[ActivationKey],
) -> Result<Vec<ActivationRecord>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH) {
        let scopes: Vec<&str> = chunk.iter().map(|key| key.scope.as_str()).collect();
        let ids: Vec<String> = chunk.iter().map(|key| key.instance.to_string()).collect();
        let rows: Vec<ActivationRow> = plugin_activations::table
            .filter(plugin_activations::scope.eq_any(&scopes))
            .filter(plugin_activations::instance_id.eq_any(&ids))
            .select(ActivationRow::as_select())
            .load(conn)
            .map_err(db)?;
        for row in rows {
            let record = row.into_record()?;
            if chunk.contains(&record.key) {
                found.push(record);
            }
        }
    }
    Ok(found)
}

/// A row of `plugin_activations`.
#[derive(Queryable, Selectable)]
#[diesel(table_name = plugin_activations)]
struct ActivationRow {
    scope: String,
    instance_id: String,
    active: bool,
    updated_at: i64,
}

impl ActivationRow {
    fn into_record(self) -> Result<ActivationRecord, StoreError> {
        Ok(ActivationRecord {
            key: ActivationKey {
                scope: self.scope,
                instance: parse_id(&self.instance_id)?,
            },
            on: self.active,
            updated_at: from_millis(self.updated_at),
        })
    }
}

/// The listed instances that exist, many ids per query.
fn records_by_id(conn: &mut Db, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut records = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        records.extend(load_records(conn, Some(chunk))?);
    }
    Ok(records)
}

fn read_revision(conn: &mut Db) -> Result<u64, StoreError> {
    let revision: i64 = plugin_revision::table
        .select(plugin_revision::revision)
        .filter(plugin_revision::id.eq(1))
        .first(conn)
        .map_err(db)?;
    Ok(from_db(revision))
}

/// The revision and the oldest revision the change log answers for.
struct LogBounds {
    revision: u64,
    changes_from: u64,
}

fn read_log_bounds(conn: &mut Db) -> Result<LogBounds, StoreError> {
    let (revision, changes_from): (i64, i64) = plugin_revision::table
        .select((plugin_revision::revision, plugin_revision::changes_from))
        .filter(plugin_revision::id.eq(1))
        .first(conn)
        .map_err(db)?;
    Ok(LogBounds {
        revision: from_db(revision),
        changes_from: from_db(changes_from),
    })
}

/// A revision as the tables store it (`BIGINT`; a revision never reaches 2^63).
fn to_db(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

fn from_db(revision: i64) -> u64 {
    u64::try_from(revision).unwrap_or(0)
}

impl Store for DieselStore<Db> {
    fn revision(&self) -> Result<u64, StoreError> {
        read_revision(&mut *self.conn()?)
    }

    fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        load_records(&mut *self.conn()?, None)
    }

    fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(load_records(&mut *self.conn()?, Some(&[id.to_string()]))?.pop())
    }

    fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        records_by_id(&mut *self.conn()?, ids)
    }

    /// From the log (`plugin_changes`), when it covers `since`: one statement, so the
    /// revision, the log's start and the ids come from one snapshot of the database (a trim by
    /// a write committed meanwhile cannot leave a hole), in one round trip — the watcher's
    /// poll of an idle handle, and a writer's refresh after its own write.
    fn changes_since(&self, since: u64) -> Result<Option<Changes>, StoreError> {
        // The revision row, joined to its log rows after `since`: a range bounded at both
        // ends (by the row's revision), which a planner without statistics of the log still
        // takes the index for (a one-sided range was a scan of the table on PostgreSQL).
        let rows: Vec<(i64, i64, Option<String>)> = plugin_revision::table
            .left_join(
                plugin_changes::table.on(plugin_changes::revision
                    .gt(to_db(since))
                    .and(plugin_changes::revision.le(plugin_revision::revision))),
            )
            .filter(plugin_revision::id.eq(1))
            .select((
                plugin_revision::revision,
                plugin_revision::changes_from,
                plugin_changes::instance_id.nullable(),
            ))
            .load(&mut *self.conn()?)
            .map_err(db)?;
        // As `read_revision` reports a missing revision row.
        let Some(&(revision, changes_from, _)) = rows.first() else {
            return Err(db(diesel::result::Error::NotFound));
        };
        let (revision, changes_from) = (from_db(revision), from_db(changes_from));
        if since < changes_from || since > revision {
            return Ok(None);
        }
        let mut instances = rows
            .iter()
            .filter_map(|(_, _, id)| id.as_deref())
            .map(parse_id)
            .collect::<Result<Vec<_>, StoreError>>()?;
        instances.sort_unstable();
        instances.dedup();
        // The switches of the same range, up to the revision just read. A second statement:
        // it reads the log's start again, and a trim committed between the two (which could
        // have taken rows of the range) makes it answer `None`, a full reload.
        let mut activations = Vec::new();
        if revision > since {
            let rows: Vec<(i64, Option<String>, Option<String>)> = plugin_revision::table
                .left_join(
                    plugin_activation_changes::table.on(plugin_activation_changes::revision
                        .gt(to_db(since))
                        .and(plugin_activation_changes::revision.le(to_db(revision)))),
                )
                .filter(plugin_revision::id.eq(1))
                .select((
                    plugin_revision::changes_from,
                    plugin_activation_changes::scope.nullable(),
                    plugin_activation_changes::instance_id.nullable(),
                ))
                .load(&mut *self.conn()?)
                .map_err(db)?;
            if rows.iter().any(|(from, _, _)| from_db(*from) > since) {
                return Ok(None);
            }
            for (_, scope, id) in rows {
                if let (Some(scope), Some(id)) = (scope, id) {
                    activations.push(ActivationKey {
                        scope,
                        instance: parse_id(&id)?,
                    });
                }
            }
            activations.sort_unstable();
            activations.dedup();
        }
        Ok(Some(Changes {
            revision,
            instances,
            activations,
        }))
    }

    fn activations(&self) -> Result<Vec<ActivationRecord>, StoreError> {
        let rows: Vec<ActivationRow> = plugin_activations::table
            .select(ActivationRow::as_select())
            .load(&mut *self.conn()?)
            .map_err(db)?;
        rows.into_iter().map(ActivationRow::into_record).collect()
    }

    fn activations_by_key(
        &self,
        keys: &[ActivationKey],
    ) -> Result<Vec<ActivationRecord>, StoreError> {
        activations_by_key(&mut *self.conn()?, keys)
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut select = plugin_audit::table
            .select(AuditRow::as_select())
            .limit(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .into_boxed();
        if let Some(id) = query.instance {
            select = select.filter(plugin_audit::instance_id.eq(id.to_string()));
        }
        if let Some(before) = query.before {
            select = select.filter(plugin_audit::id.lt(i64::try_from(before).unwrap_or(i64::MAX)));
        }
        select = match query.after {
            // The rows just after `after`: the oldest ones past it.
            Some(after) => select
                .filter(plugin_audit::id.gt(i64::try_from(after).unwrap_or(i64::MAX)))
                .order(plugin_audit::id.asc()),
            None => select.order(plugin_audit::id.desc()),
        };
        let rows: Vec<AuditRow> = select.load(&mut *self.conn()?).map_err(db)?;
        let mut records = rows
            .into_iter()
            .map(AuditRow::into_record)
            .collect::<Result<Vec<_>, StoreError>>()?;
        records.sort_by_key(|record| std::cmp::Reverse(record.seq));
        Ok(records)
    }

    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut conn = self.conn()?;
        conn.write_transaction(|conn| {
            let mut tx = DieselTx {
                conn,
                item_ids: HashMap::new(),
            };
            work(&mut tx).map_err(TxError)
        })
        .map_err(Error::from)
    }

    fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        Db::change_feed(self)
    }
}
