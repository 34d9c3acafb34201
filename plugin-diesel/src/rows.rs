//! What every backend shares without touching a connection: the values writes set, time
//! conversion, stored values read back, and the error types. (The rows reads select are in
//! `store_body.rs`, checked against each backend.)

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use plugin_runtime::store::{StoreError, StoreErrorKind};
use plugin_runtime::sync::{StoredItem, StoredType};
use plugin_runtime::{Error, InstanceId, InstanceRecord, ItemKey, Status, TypeKey};

use crate::schema::{plugin_instances, plugin_items, plugin_types};

/// A failed query as the store's error: its kind read from diesel's, the driver's error kept
/// as the source.
pub(crate) fn db(err: DieselError) -> StoreError {
    let kind = kind_of(&err);
    let message = match kind {
        StoreErrorKind::Unavailable => "the connection to the database failed",
        StoreErrorKind::Conflict => "the database refused the write because of a concurrent one",
        StoreErrorKind::Constraint => "a row broke a constraint of the plugin tables",
        StoreErrorKind::Corrupt => "a row of the plugin tables cannot be read",
        _ => "a query of the plugin tables failed",
    };
    StoreError::new(kind, message).with_source(err)
}

/// diesel's error kinds, as the store's.
fn kind_of(err: &DieselError) -> StoreErrorKind {
    match err {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::CheckViolation => StoreErrorKind::Constraint,
            DatabaseErrorKind::SerializationFailure => StoreErrorKind::Conflict,
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                StoreErrorKind::Unavailable
            }
            _ => {
                // Drivers report some conditions only in their message: a lost server
                // (MySQL "server has gone away", "Lost connection"), a busy SQLite file.
                let message = info.message().to_ascii_lowercase();
                if ["gone away", "lost connection", "connection", "terminating"]
                    .iter()
                    .any(|sign| message.contains(sign))
                {
                    StoreErrorKind::Unavailable
                } else if ["database is locked", "deadlock", "lock wait timeout"]
                    .iter()
                    .any(|sign| message.contains(sign))
                {
                    StoreErrorKind::Conflict
                } else {
                    StoreErrorKind::Other
                }
            }
        },
        DieselError::DeserializationError(_) | DieselError::SerializationError(_) => {
            StoreErrorKind::Corrupt
        }
        DieselError::BrokenTransactionManager => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    }
}

/// A stored value that does not read back (an id that is not a UUID, an unknown status).
pub(crate) fn corrupt(
    what: &str,
    value: &str,
    cause: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!("the stored {what} `{value}` cannot be read"),
    )
    .with_source(cause)
}

/// A stored instance id.
pub(crate) fn parse_id(id: &str) -> Result<InstanceId, StoreError> {
    id.parse::<InstanceId>()
        .map_err(|err| corrupt("instance id", id, err))
}

/// A stored status.
pub(crate) fn parse_status(status: &str) -> Result<Status, StoreError> {
    status.parse().map_err(|err| corrupt("status", status, err))
}

/// diesel's transactions need an error type that converts from its own errors.
pub(crate) struct TxError(pub(crate) Error);

impl From<DieselError> for TxError {
    fn from(err: DieselError) -> Self {
        TxError(Error::Store(db(err)))
    }
}

impl From<Error> for TxError {
    fn from(err: Error) -> Self {
        TxError(err)
    }
}

impl From<TxError> for Error {
    fn from(err: TxError) -> Self {
        err.0
    }
}

pub(crate) fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

pub(crate) fn to_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The columns of a type row that sync writes (insert and update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_types, treat_none_as_null = true)]
pub(crate) struct TypeValues<'a> {
    description: &'a str,
    rust_path: &'a str,
    fingerprint: &'a str,
    parent_id: Option<&'a str>,
    orphaned: bool,
    contract_version: i32,
}

impl<'a> TypeValues<'a> {
    /// The values of `row`, whose parent type (if any) has the row id `parent_id`.
    pub(crate) fn of(row: &'a StoredType, parent_id: Option<&'a str>) -> Self {
        TypeValues {
            description: &row.description,
            rust_path: &row.rust_path,
            fingerprint: &row.fingerprint,
            parent_id,
            orphaned: false,
            // Contract versions run from 1 to i32::MAX (what `#[plugin_type]` accepts).
            contract_version: i32::try_from(row.version).unwrap_or(i32::MAX),
        }
    }
}

/// The columns of an item row that sync writes (insert and update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_items, treat_none_as_null = true)]
pub(crate) struct ItemValues<'a> {
    module: &'a str,
    description: &'a str,
    category: Option<&'a str>,
    configurable: bool,
    priority: i32,
    orphaned: bool,
    version: &'a str,
    authors: String,
    homepage: Option<&'a str>,
    hidden: bool,
}

impl<'a> ItemValues<'a> {
    pub(crate) fn of(row: &'a StoredItem) -> Self {
        ItemValues {
            module: &row.module,
            description: &row.description,
            category: row.category.as_deref(),
            configurable: row.configurable,
            priority: row.priority,
            orphaned: false,
            version: &row.version,
            authors: join_authors(&row.authors),
            homepage: row.homepage.as_deref(),
            hidden: row.hidden,
        }
    }
}

/// An item's authors as the `authors` column holds them: separated by `:` (no author contains
/// one), as Cargo's `CARGO_PKG_AUTHORS`; '' for none.
pub(crate) fn join_authors(authors: &[String]) -> String {
    authors.join(":")
}

/// The authors of a stored `authors` column.
pub(crate) fn split_authors(authors: &str) -> Vec<String> {
    authors
        .split(':')
        .filter(|author| !author.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A stored contract version (from 1; a row holding less is corrupt).
pub(crate) fn parse_contract_version(version: i32) -> Result<u32, StoreError> {
    u32::try_from(version)
        .ok()
        .filter(|version| *version >= 1)
        .ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Corrupt,
                format!(
                    "the stored contract version `{version}` cannot be read (versions start at 1)"
                ),
            )
        })
}

/// The columns of an instance row that writes set (all but its id, item and creation time).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = plugin_instances, treat_none_as_null = true)]
pub(crate) struct InstanceValues<'a> {
    name: &'a str,
    scope: &'a str,
    config: Option<&'a [u8]>,
    status: &'a str,
    priority: i32,
    description: &'a str,
    version: i64,
    updated_at: i64,
    managed_by: Option<&'a str>,
}

impl<'a> InstanceValues<'a> {
    pub(crate) fn of(record: &'a InstanceRecord) -> Self {
        InstanceValues {
            name: &record.meta.name,
            // Global instances are stored with scope '' (see the migrations).
            scope: record.meta.scope.as_deref().unwrap_or(""),
            config: record.sealed_config.as_deref(),
            status: record.meta.status.as_str(),
            priority: record.meta.priority,
            description: &record.description,
            version: record.meta.version,
            updated_at: to_millis(record.updated_at),
            managed_by: record.managed_by.as_deref(),
        }
    }
}

/// Row ids of the keys sync works with.
#[derive(Default)]
pub(crate) struct Ids {
    pub(crate) types: HashMap<TypeKey, String>,
    pub(crate) items: HashMap<ItemKey, String>,
}

impl Ids {
    pub(crate) fn type_id(&self, key: &TypeKey) -> Result<&str, StoreError> {
        self.types
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| no_row("type", &key.to_string()))
    }

    pub(crate) fn item_id(&self, key: &ItemKey) -> Result<&str, StoreError> {
        self.items
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| no_row("item", &key.to_string()))
    }
}

/// A row the write needs is missing (the store is not synced with this registry).
pub(crate) fn no_row(what: &str, key: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Constraint,
        format!("{what} {key} has no row; run sync first"),
    )
}
