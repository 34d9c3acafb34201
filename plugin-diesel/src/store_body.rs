//! The store's queries, written once and compiled once per backend: each backend module
//! includes this file with `#[path]` after naming its connection type `Db` and its
//! `write_transaction`. (diesel checks every query against one concrete backend, so code
//! generic over backends would need a bound per query; this keeps the queries plain.)

use std::collections::HashMap;

use diesel::prelude::*;
use plugin_runtime::store::{AuditEntry, BulkEdit, ChangeFeed, PriorityChange, Reseal, Store};
use plugin_runtime::sync::{
    StoredInstance, StoredItem, StoredState, StoredType, SyncAction, SyncOptions, SyncReport, plan,
};
use plugin_runtime::{
    Error, InstanceChange, InstanceId, InstanceRecord, ItemKey, Registry, Status, TypeKey,
};

use super::{Db, announce_change, change_feed, write_transaction};
use crate::DieselStore;
use crate::rows::{
    Ids, InstanceRow, InstanceValues, ItemRow, ItemValues, TypeRow, TypeValues, db, duplicate_name,
    from_millis, item_from_row, now_millis, record_from_row, to_millis, types_from_rows,
};
use crate::schema::{plugin_audit, plugin_instances, plugin_items, plugin_revision, plugin_types};

impl DieselStore<Db> {
    /// Runs `work` as one write: in a transaction holding the store's write lock, bumping the
    /// revision when `work` reports a change.
    fn write<T>(&self, work: impl FnOnce(&mut Db) -> Result<(T, bool), Error>) -> Result<T, Error> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let (value, changed) = work(conn)?;
            if changed {
                bump_revision(conn)?;
            }
            Ok(value)
        })
        .map_err(Error::from)
    }
}

/// Inserts instance rows (item row id, record) in one statement: the one path for
/// operator-created and sync-default instances.
fn insert_records(conn: &mut Db, records: &[(&str, &InstanceRecord)]) -> Result<(), Error> {
    let rows: Vec<_> = records
        .iter()
        .map(|(item_id, record)| {
            (
                plugin_instances::id.eq(record.meta.id.to_string()),
                plugin_instances::item_id.eq(*item_id),
                plugin_instances::created_at.eq(to_millis(record.created_at)),
                InstanceValues::of(record),
            )
        })
        .collect();
    diesel::insert_into(plugin_instances::table)
        .values(rows)
        .execute(conn)
        .map(|_| ())
        .map_err(|err| match records {
            [(_, record)] => duplicate_name(err, &record.meta),
            _ => db(err),
        })
}

/// The row id of an item, by its key.
fn item_row_id(conn: &mut Db, key: &ItemKey) -> Result<String, Error> {
    plugin_items::table
        .inner_join(plugin_types::table)
        .filter(plugin_types::namespace.eq(&key.type_key.namespace))
        .filter(plugin_types::name.eq(&key.type_key.name))
        .filter(plugin_items::name.eq(&key.name))
        .select(plugin_items::id)
        .first(conn)
        .optional()
        .map_err(db)?
        .ok_or_else(|| Error::Store(format!("item {key} has no row; run sync first")))
}

/// Bumps the revision (the change other processes poll for) and announces the write to
/// listeners where the backend can push (delivered when the transaction commits).
fn bump_revision(conn: &mut Db) -> Result<(), Error> {
    diesel::update(plugin_revision::table.filter(plugin_revision::id.eq(1)))
        .set(plugin_revision::revision.eq(plugin_revision::revision + 1))
        .execute(conn)
        .map_err(db)?;
    announce_change(conn).map_err(db)
}

fn audit(conn: &mut Db, entry: AuditEntry) -> Result<(), Error> {
    diesel::insert_into(plugin_audit::table)
        .values((
            plugin_audit::at.eq(to_millis(entry.at)),
            plugin_audit::actor.eq(entry.actor),
            plugin_audit::action.eq(entry.action),
            plugin_audit::instance_id.eq(entry.instance.map(|id| id.to_string())),
            plugin_audit::detail.eq(entry.detail),
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(db)
}

fn load_records(conn: &mut Db, only: Option<InstanceId>) -> Result<Vec<InstanceRecord>, Error> {
    let mut query = plugin_instances::table
        .inner_join(plugin_items::table.inner_join(plugin_types::table))
        .select((
            plugin_instances::id,
            plugin_types::namespace,
            plugin_types::name,
            plugin_items::name,
            plugin_instances::name,
            plugin_instances::scope,
            plugin_instances::config,
            plugin_instances::status,
            plugin_instances::priority,
            plugin_instances::description,
            plugin_instances::version,
            plugin_instances::created_at,
            plugin_instances::updated_at,
            plugin_items::orphaned,
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(plugin_instances::id.eq(id.to_string()));
    }
    let rows: Vec<InstanceRow> = query.load(conn).map_err(db)?;
    rows.into_iter().map(record_from_row).collect()
}

fn load_one(conn: &mut Db, id: InstanceId) -> Result<InstanceRecord, Error> {
    load_records(conn, Some(id))?
        .pop()
        .ok_or(Error::UnknownInstance(id))
}

fn stored_state(conn: &mut Db) -> Result<(StoredState, Ids), Error> {
    let types: Vec<TypeRow> = plugin_types::table
        .select((
            plugin_types::id,
            plugin_types::namespace,
            plugin_types::name,
            plugin_types::description,
            plugin_types::rust_path,
            plugin_types::fingerprint,
            plugin_types::parent_id,
            plugin_types::orphaned,
        ))
        .load(conn)
        .map_err(db)?;
    let items: Vec<ItemRow> = plugin_items::table
        .inner_join(plugin_types::table)
        .select((
            plugin_items::id,
            plugin_types::namespace,
            plugin_types::name,
            plugin_items::name,
            plugin_items::module,
            plugin_items::description,
            plugin_items::category,
            plugin_items::configurable,
            plugin_items::priority,
            plugin_items::orphaned,
        ))
        .load(conn)
        .map_err(db)?;
    let mut ids = Ids::default();
    let mut state = StoredState::default();
    for (id, stored) in types_from_rows(types) {
        ids.types.insert(stored.key.clone(), id);
        state.types.push(stored);
    }
    for (id, stored) in items.into_iter().map(item_from_row) {
        ids.items.insert(stored.key.clone(), id);
        state.items.push(stored);
    }
    state.instances = load_records(conn, None)?
        .into_iter()
        .map(|record| StoredInstance {
            id: record.meta.id,
            item: record.meta.item,
            name: record.meta.name,
            scope: record.meta.scope,
            has_config: record.sealed_config.is_some(),
        })
        .collect();
    Ok((state, ids))
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

/// Rows per insert statement: well under every backend's limit on bound parameters.
const BATCH: usize = 500;

impl Creations<'_> {
    /// Inserts the new types, parents before their sub-types (MySQL checks foreign keys row
    /// by row). Before the other actions, which may point existing types at new parents.
    fn insert_types(&mut self, conn: &mut Db, ids: &Ids) -> Result<(), Error> {
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
                .collect::<Result<Vec<_>, Error>>()?;
            diesel::insert_into(plugin_types::table)
                .values(rows)
                .execute(conn)
                .map_err(db)?;
        }
        Ok(())
    }

    /// Inserts the new items and default instances, after the other actions (a renamed
    /// item frees its old name first).
    fn insert_items_and_instances(&self, conn: &mut Db) -> Result<(), Error> {
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
            let rows: Vec<(&str, &InstanceRecord)> = chunk
                .iter()
                .map(|(item_id, record)| (item_id.as_str(), record))
                .collect();
            insert_records(conn, &rows)?;
        }
        Ok(())
    }
}

fn apply<'a>(
    conn: &mut Db,
    ids: &mut Ids,
    creations: &mut Creations<'a>,
    action: &'a SyncAction,
) -> Result<(), Error> {
    match action {
        // Inserted before the other actions run (see `sync`).
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
        SyncAction::DeleteType(key) => {
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
        SyncAction::DeleteItem(key) => {
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

impl Store for DieselStore<Db> {
    fn sync(&self, registry: &Registry, options: &SyncOptions) -> Result<SyncReport, Error> {
        self.write(|conn| {
            let (state, mut ids) = stored_state(conn)?;
            let report = plan(registry, &state, options);
            if options.dry_run || report.is_noop() {
                return Ok((report, false));
            }
            let mut creations = Creations::default();
            for action in &report.actions {
                if let SyncAction::CreateType(row) = action {
                    let id = uuid::Uuid::now_v7().to_string();
                    ids.types.insert(row.key.clone(), id.clone());
                    creations.types.push((id, row));
                }
            }
            creations.insert_types(conn, &ids)?;
            for action in &report.actions {
                apply(conn, &mut ids, &mut creations, action)?;
            }
            creations.insert_items_and_instances(conn)?;
            audit(conn, AuditEntry::synced(&report))?;
            Ok((report, true))
        })
    }

    fn instances(&self) -> Result<Vec<InstanceRecord>, Error> {
        load_records(&mut *self.conn()?, None)
    }

    fn instance(&self, id: InstanceId) -> Result<InstanceRecord, Error> {
        load_one(&mut *self.conn()?, id)
    }

    fn revision(&self) -> Result<u64, Error> {
        let revision: i64 = plugin_revision::table
            .select(plugin_revision::revision)
            .first(&mut *self.conn()?)
            .map_err(db)?;
        Ok(u64::try_from(revision).unwrap_or(0))
    }

    fn insert_instance(&self, record: &InstanceRecord, actor: &str) -> Result<(), Error> {
        self.write::<()>(|conn| {
            let item_id = item_row_id(conn, &record.meta.item)?;
            insert_records(conn, &[(&item_id, record)])?;
            audit(conn, AuditEntry::created(record, actor))?;
            Ok(((), true))
        })
    }

    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
        actor: &str,
    ) -> Result<InstanceRecord, Error> {
        self.write(|conn| {
            let current = load_one(conn, id)?;
            let next = change.applied_to(&current, expected_version)?;
            let updated = diesel::update(
                plugin_instances::table
                    .filter(plugin_instances::id.eq(id.to_string()))
                    .filter(plugin_instances::version.eq(expected_version)),
            )
            .set(InstanceValues::of(&next))
            .execute(conn)
            .map_err(|err| duplicate_name(err, &next.meta))?;
            if updated != 1 {
                return Err(Error::Conflict {
                    id,
                    expected: expected_version,
                    actual: expected_version + 1,
                });
            }
            audit(conn, AuditEntry::updated(id, change, actor))?;
            Ok((next, true))
        })
    }

    fn set_status(&self, ids: &[InstanceId], status: Status, actor: &str) -> Result<usize, Error> {
        self.bulk(ids, BulkEdit::Status(status), actor)
    }

    fn set_priority(
        &self,
        ids: &[InstanceId],
        change: PriorityChange,
        actor: &str,
    ) -> Result<usize, Error> {
        self.bulk(ids, BulkEdit::Priority(change), actor)
    }

    fn delete_instance(&self, id: InstanceId, actor: &str) -> Result<(), Error> {
        self.write(|conn| {
            let deleted = diesel::delete(
                plugin_instances::table.filter(plugin_instances::id.eq(id.to_string())),
            )
            .execute(conn)
            .map_err(db)?;
            if deleted == 0 {
                return Err(Error::UnknownInstance(id));
            }
            audit(conn, AuditEntry::deleted(id, actor))?;
            Ok(((), true))
        })
    }

    fn reseal_configs(&self, reseal: &Reseal<'_>, actor: &str) -> Result<usize, Error> {
        self.write(|conn| {
            let sealed: Vec<(String, Option<Vec<u8>>)> = plugin_instances::table
                .select((plugin_instances::id, plugin_instances::config))
                .filter(plugin_instances::config.is_not_null())
                .load(conn)
                .map_err(db)?;
            let mut count = 0;
            for (id, config) in sealed {
                let Some(config) = config else { continue };
                let Some(next) = reseal(id.parse()?, config.as_slice())? else {
                    continue;
                };
                diesel::update(plugin_instances::table.filter(plugin_instances::id.eq(&id)))
                    .set(plugin_instances::config.eq(next))
                    .execute(conn)
                    .map_err(db)?;
                count += 1;
            }
            if count > 0 {
                audit(conn, AuditEntry::resealed(count, actor))?;
            }
            Ok((count, count > 0))
        })
    }

    fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, Error> {
        change_feed(self)
    }

    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        let rows: Vec<(i64, String, String, Option<String>, String)> = plugin_audit::table
            .select((
                plugin_audit::at,
                plugin_audit::actor,
                plugin_audit::action,
                plugin_audit::instance_id,
                plugin_audit::detail,
            ))
            .order(plugin_audit::id.desc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(&mut *self.conn()?)
            .map_err(db)?;
        rows.into_iter()
            .map(|(at, actor, action, instance, detail)| {
                Ok(AuditEntry {
                    at: from_millis(at),
                    actor,
                    action,
                    instance: instance.map(|id| id.parse()).transpose()?,
                    detail,
                })
            })
            .collect()
    }
}

impl DieselStore<Db> {
    /// Applies a status/priority edit to every listed instance (all must exist) in one
    /// transaction; returns how many changed.
    fn bulk(&self, ids: &[InstanceId], edit: BulkEdit, actor: &str) -> Result<usize, Error> {
        self.write(|conn| {
            let mut changed = 0;
            for &id in ids {
                let record = load_one(conn, id)?;
                if let Some((status, priority, entry)) = edit.apply(&record.meta, actor) {
                    diesel::update(
                        plugin_instances::table.filter(plugin_instances::id.eq(id.to_string())),
                    )
                    .set((
                        plugin_instances::status.eq(status.as_str()),
                        plugin_instances::priority.eq(priority),
                        plugin_instances::version.eq(plugin_instances::version + 1),
                        plugin_instances::updated_at.eq(now_millis()),
                    ))
                    .execute(conn)
                    .map_err(db)?;
                    audit(conn, entry)?;
                    changed += 1;
                }
            }
            Ok((changed, changed > 0))
        })
    }
}
