//! The SQLite store: an r2d2 pool of connections in WAL mode with a busy timeout, every write
//! in an immediate transaction (the write lock is taken up front, so concurrent writers queue
//! instead of failing with "database is locked").

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use plugin_runtime::store::{PriorityChange, Store};
use plugin_runtime::sync::{
    StoredInstance, StoredItem, StoredState, StoredType, SyncAction, SyncOptions, SyncReport, plan,
};
use plugin_runtime::{
    Error, InstanceChange, InstanceId, InstanceMeta, InstanceRecord, ItemKey, Registry, Status,
    TypeKey,
};

use crate::schema::{plugin_audit, plugin_instances, plugin_items, plugin_revision, plugin_types};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

type Conn = PooledConnection<ConnectionManager<SqliteConnection>>;

/// A [`Store`] in a SQLite file.
pub struct SqliteStore {
    pool: Pool<ConnectionManager<SqliteConnection>>,
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            BUSY_TIMEOUT.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the embedded migrations.
    pub fn open(path: &str) -> Result<SqliteStore, Error> {
        let manager = ConnectionManager::<SqliteConnection>::new(path);
        let pool = Pool::builder()
            .max_size(4)
            .connection_customizer(Box::new(Pragmas))
            .build(manager)
            .map_err(|err| Error::Store(format!("cannot open SQLite database `{path}`: {err}")))?;
        let store = SqliteStore { pool };
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations that have not run yet. Under the write lock, so processes
    /// starting together do not both try to create the tables.
    pub fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.conn()?;
        conn.immediate_transaction::<_, TxError, _>(|conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|_| ())
                .map_err(|err| TxError(Error::Store(format!("migrations failed: {err}"))))
        })
        .map_err(Error::from)
    }

    fn conn(&self) -> Result<Conn, Error> {
        self.pool
            .get()
            .map_err(|err| Error::Store(format!("no database connection: {err}")))
    }

    /// Runs `work` in an immediate transaction, bumping the revision when it reports a change.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> Result<(T, bool), Error>,
    ) -> Result<T, Error> {
        let mut conn = self.conn()?;
        conn.immediate_transaction::<_, TxError, _>(|conn| {
            let (value, changed) = work(conn)?;
            if changed {
                bump_revision(conn)?;
            }
            Ok(value)
        })
        .map_err(Error::from)
    }
}

fn db(err: DieselError) -> Error {
    Error::Store(err.to_string())
}

impl From<TxError> for Error {
    fn from(err: TxError) -> Self {
        err.0
    }
}

/// diesel's transactions need an error type that converts from its own errors.
struct TxError(Error);

impl From<DieselError> for TxError {
    fn from(err: DieselError) -> Self {
        TxError(db(err))
    }
}

impl From<Error> for TxError {
    fn from(err: Error) -> Self {
        TxError(err)
    }
}

fn now_millis() -> i64 {
    to_millis(SystemTime::now())
}

fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

fn to_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The columns of a type row that sync writes (insert and update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_types)]
struct TypeValues<'a> {
    description: &'a str,
    rust_path: &'a str,
    fingerprint: &'a str,
    orphaned: bool,
}

impl<'a> TypeValues<'a> {
    fn of(row: &'a StoredType) -> Self {
        TypeValues {
            description: &row.description,
            rust_path: &row.rust_path,
            fingerprint: &row.fingerprint,
            orphaned: false,
        }
    }
}

/// The columns of an item row that sync writes (insert and update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_items, treat_none_as_null = true)]
struct ItemValues<'a> {
    module: &'a str,
    description: &'a str,
    category: Option<&'a str>,
    configurable: bool,
    priority: i32,
    orphaned: bool,
}

impl<'a> ItemValues<'a> {
    fn of(row: &'a StoredItem) -> Self {
        ItemValues {
            module: &row.module,
            description: &row.description,
            category: row.category.as_deref(),
            configurable: row.configurable,
            priority: row.priority,
            orphaned: false,
        }
    }
}

/// The columns of an instance row that writes set (all but its id, item and creation time).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_instances, treat_none_as_null = true)]
struct InstanceValues<'a> {
    name: &'a str,
    scope: &'a str,
    config: Option<&'a [u8]>,
    status: &'a str,
    priority: i32,
    description: &'a str,
    version: i64,
    updated_at: i64,
}

impl<'a> InstanceValues<'a> {
    fn of(record: &'a InstanceRecord) -> Self {
        InstanceValues {
            name: &record.meta.name,
            // Global instances are stored with scope '' (see the migration).
            scope: record.meta.scope.as_deref().unwrap_or(""),
            config: record.sealed_config.as_deref(),
            status: record.meta.status.as_str(),
            priority: record.meta.priority,
            description: &record.description,
            version: record.meta.version,
            updated_at: to_millis(record.updated_at),
        }
    }
}

/// Inserts one instance row: the one path for operator-created and sync-default instances.
fn insert_record(
    conn: &mut SqliteConnection,
    item_id: &str,
    record: &InstanceRecord,
) -> Result<(), Error> {
    diesel::insert_into(plugin_instances::table)
        .values((
            plugin_instances::id.eq(record.meta.id.to_string()),
            plugin_instances::item_id.eq(item_id),
            plugin_instances::created_at.eq(to_millis(record.created_at)),
            InstanceValues::of(record),
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(|err| duplicate_name(err, &record.meta))
}

/// The row id of an item, by its key.
fn item_row_id(conn: &mut SqliteConnection, key: &ItemKey) -> Result<String, Error> {
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

fn bump_revision(conn: &mut SqliteConnection) -> Result<(), Error> {
    diesel::update(plugin_revision::table.filter(plugin_revision::id.eq(1)))
        .set(plugin_revision::revision.eq(plugin_revision::revision + 1))
        .execute(conn)
        .map(|_| ())
        .map_err(db)
}

fn audit(
    conn: &mut SqliteConnection,
    action: &str,
    instance: Option<InstanceId>,
    detail: String,
) -> Result<(), Error> {
    diesel::insert_into(plugin_audit::table)
        .values((
            plugin_audit::at.eq(now_millis()),
            plugin_audit::actor.eq("plugin-system"),
            plugin_audit::action.eq(action),
            plugin_audit::instance_id.eq(instance.map(|id| id.to_string())),
            plugin_audit::detail.eq(detail),
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(db)
}

/// A type row: id, namespace, name, description, rust path, fingerprint, orphaned.
type TypeRow = (String, String, String, String, String, String, bool);

/// An item row with its type's key: id, namespace, type, name, module, description,
/// category, configurable, priority, orphaned.
type ItemRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    i32,
    bool,
);

type InstanceRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    String,
    i32,
    String,
    i64,
    i64,
    i64,
    bool,
);

fn load_records(
    conn: &mut SqliteConnection,
    only: Option<InstanceId>,
) -> Result<Vec<InstanceRecord>, Error> {
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

fn load_one(conn: &mut SqliteConnection, id: InstanceId) -> Result<InstanceRecord, Error> {
    load_records(conn, Some(id))?
        .pop()
        .ok_or(Error::UnknownInstance(id))
}

fn record_from_row(row: InstanceRow) -> Result<InstanceRecord, Error> {
    let (
        id,
        namespace,
        type_name,
        item,
        name,
        scope,
        config,
        status,
        priority,
        description,
        version,
        created,
        updated,
        orphaned,
    ) = row;
    Ok(InstanceRecord {
        meta: InstanceMeta {
            id: id.parse()?,
            name,
            item: ItemKey {
                type_key: TypeKey {
                    namespace,
                    name: type_name,
                },
                name: item,
            },
            status: status.parse()?,
            priority,
            scope: if scope.is_empty() { None } else { Some(scope) },
            version,
        },
        description,
        sealed_config: config,
        orphaned,
        created_at: from_millis(created),
        updated_at: from_millis(updated),
    })
}

fn stored_state(conn: &mut SqliteConnection) -> Result<(StoredState, Ids), Error> {
    let types: Vec<TypeRow> = plugin_types::table
        .select((
            plugin_types::id,
            plugin_types::namespace,
            plugin_types::name,
            plugin_types::description,
            plugin_types::rust_path,
            plugin_types::fingerprint,
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
    for (id, namespace, name, description, rust_path, fingerprint, orphaned) in types {
        let key = TypeKey { namespace, name };
        ids.types.insert(key.clone(), id);
        state.types.push(StoredType {
            key,
            description,
            fingerprint,
            rust_path,
            orphaned,
        });
    }
    for (
        id,
        namespace,
        type_name,
        name,
        module,
        description,
        category,
        configurable,
        priority,
        orphaned,
    ) in items
    {
        let key = ItemKey {
            type_key: TypeKey {
                namespace,
                name: type_name,
            },
            name,
        };
        ids.items.insert(key.clone(), id);
        state.items.push(StoredItem {
            key,
            module,
            description,
            category,
            configurable,
            priority,
            orphaned,
        });
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

/// Row ids of the keys sync works with.
#[derive(Default)]
struct Ids {
    types: HashMap<TypeKey, String>,
    items: HashMap<ItemKey, String>,
}

impl Ids {
    fn type_id(&self, key: &TypeKey) -> Result<&str, Error> {
        self.types
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::Store(format!("type {key} has no row")))
    }

    fn item_id(&self, key: &ItemKey) -> Result<&str, Error> {
        self.items
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::Store(format!("item {key} has no row")))
    }
}

fn apply(conn: &mut SqliteConnection, ids: &mut Ids, action: &SyncAction) -> Result<(), Error> {
    match action {
        SyncAction::CreateType(row) => {
            let id = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(plugin_types::table)
                .values((
                    plugin_types::id.eq(&id),
                    plugin_types::namespace.eq(&row.key.namespace),
                    plugin_types::name.eq(&row.key.name),
                    TypeValues::of(row),
                ))
                .execute(conn)
                .map_err(db)?;
            ids.types.insert(row.key.clone(), id);
        }
        SyncAction::UpdateType(row) => {
            diesel::update(plugin_types::table.filter(plugin_types::id.eq(ids.type_id(&row.key)?)))
                .set(TypeValues::of(row))
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
            diesel::insert_into(plugin_items::table)
                .values((
                    plugin_items::id.eq(&id),
                    plugin_items::type_id.eq(ids.type_id(&row.key.type_key)?),
                    plugin_items::name.eq(&row.key.name),
                    ItemValues::of(row),
                ))
                .execute(conn)
                .map_err(db)?;
            ids.items.insert(row.key.clone(), id);
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
            insert_record(conn, ids.item_id(item)?, &record)?;
        }
        SyncAction::DeleteInstance { id, .. } => {
            diesel::delete(plugin_instances::table.filter(plugin_instances::id.eq(id.to_string())))
                .execute(conn)
                .map_err(db)?;
        }
    }
    Ok(())
}

fn duplicate_name(err: DieselError, record: &InstanceMeta) -> Error {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Error::DuplicateInstanceName {
                item: record.item.to_string(),
                name: record.name.clone(),
                scope: record.scope.clone(),
            }
        }
        other => db(other),
    }
}

impl Store for SqliteStore {
    fn sync(&self, registry: &Registry, options: &SyncOptions) -> Result<SyncReport, Error> {
        let mut conn = self.conn()?;
        let report = conn.immediate_transaction::<_, TxError, _>(|conn| {
            let (state, mut ids) = stored_state(conn)?;
            let report = plan(registry, &state, options);
            if options.dry_run || report.is_noop() {
                return Ok(report);
            }
            for action in &report.actions {
                apply(conn, &mut ids, action)?;
            }
            audit(
                conn,
                "sync",
                None,
                format!("{} change(s)", report.actions.len()),
            )?;
            bump_revision(conn)?;
            Ok(report)
        })?;
        Ok(report)
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

    fn insert_instance(&self, record: &InstanceRecord) -> Result<(), Error> {
        self.write::<()>(|conn| {
            let item_id = item_row_id(conn, &record.meta.item)?;
            insert_record(conn, &item_id, record)?;
            audit(
                conn,
                "create",
                Some(record.meta.id),
                format!("name={:?} item={}", record.meta.name, record.meta.item),
            )?;
            Ok(((), true))
        })
    }

    fn update_instance(
        &self,
        id: InstanceId,
        expected_version: i64,
        change: &InstanceChange,
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
            let mut changed = Vec::new();
            if change.name.is_some() {
                changed.push("name");
            }
            if change.description.is_some() {
                changed.push("description");
            }
            if change.status.is_some() {
                changed.push("status");
            }
            if change.priority.is_some() {
                changed.push("priority");
            }
            if change.sealed_config.is_some() {
                changed.push("config");
            }
            audit(
                conn,
                "update",
                Some(id),
                format!("changed: {}", changed.join(", ")),
            )?;
            Ok((next, true))
        })
    }

    fn set_status(&self, ids: &[InstanceId], status: Status) -> Result<usize, Error> {
        self.bulk(ids, "status", status.as_str().to_owned(), |record| {
            (record.meta.status != status).then_some((status, record.meta.priority))
        })
    }

    fn set_priority(&self, ids: &[InstanceId], change: PriorityChange) -> Result<usize, Error> {
        self.bulk(ids, "priority", format!("{change:?}"), |record| {
            let next = change.apply(record.meta.priority);
            (next != record.meta.priority).then_some((record.meta.status, next))
        })
    }

    fn delete_instance(&self, id: InstanceId) -> Result<(), Error> {
        self.write(|conn| {
            let deleted = diesel::delete(
                plugin_instances::table.filter(plugin_instances::id.eq(id.to_string())),
            )
            .execute(conn)
            .map_err(db)?;
            if deleted == 0 {
                return Err(Error::UnknownInstance(id));
            }
            audit(conn, "delete", Some(id), String::new())?;
            Ok(((), true))
        })
    }
}

impl SqliteStore {
    /// Applies a status/priority edit to every listed instance (all must exist) in one
    /// transaction; returns how many changed.
    fn bulk(
        &self,
        ids: &[InstanceId],
        action: &str,
        detail: String,
        edit: impl Fn(&InstanceRecord) -> Option<(Status, i32)>,
    ) -> Result<usize, Error> {
        self.write(|conn| {
            let mut changed = 0;
            for &id in ids {
                let record = load_one(conn, id)?;
                if let Some((status, priority)) = edit(&record) {
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
                    audit(conn, action, Some(id), detail.clone())?;
                    changed += 1;
                }
            }
            Ok((changed, changed > 0))
        })
    }
}
