//! Bringing stored configs to their item's current config version for good: the in-memory
//! upgrade every load runs (see [`crate::config::Upgrade`]) written back, so the upgrades can
//! one day be deleted and a rollback after the migration is refused instead of misread.

use super::{LoadFailure, Plugins, snapshot};
use crate::config::{validate_values, versioned};
use crate::error::Error;
use crate::instance::{InstanceMeta, InstanceRecord};
use crate::store::rules::{self, Resealed};

/// What [`Plugins::migrate_configs`] did or, in a dry run, would do.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConfigMigration {
    /// Nothing was written.
    pub dry_run: bool,
    /// The configs re-sealed under their item's current version, each audited (`migrate`).
    pub migrated: Vec<MigratedConfig>,
    /// The configs that could not be upgraded, each kept exactly as it was, with why (the
    /// same reason the instance's load failure gives).
    pub failed: Vec<LoadFailure>,
}

/// One config re-sealed (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedConfig {
    /// The instance, as it is after the migration (its version bumped).
    pub meta: InstanceMeta,
    /// The config version it was stored under.
    pub from: u32,
    /// The version it is stored under now.
    pub to: u32,
}

impl Plugins {
    /// Re-seals every stored config written under an older config version than its item's
    /// (`#[config(version = N)]`) under the current one, through the same upgrades a load
    /// runs, in one transaction, one audit row per instance (`migrate`). A config whose
    /// upgrade fails, whose upgraded values do not validate, or that was written by a later
    /// version is kept as it was and reported in [`ConfigMigration::failed`]; the others are
    /// still migrated. With `dry_run`, reads the same and writes nothing.
    ///
    /// Loads serve older rows through the upgrades without this; migrating makes the rows
    /// current, so older code (a rollback) refuses them rather than misreads them, and the
    /// upgrades stop running on every load.
    pub fn migrate_configs(&self, dry_run: bool) -> Result<ConfigMigration, Error> {
        let inner = &*self.inner;
        let migrate = |record: &InstanceRecord| -> Option<Result<Resealed, String>> {
            let schema = inner.registry.item(&record.meta.item).ok()?.schema()?;
            let stored = snapshot::open_stored(inner.keyring.as_ref(), record);
            let (values, from) = match stored {
                Ok(Some(stored)) => stored,
                Ok(None) => return None,
                Err(reason) => return Some(Err(reason)),
            };
            if from == schema.version {
                return None;
            }
            Some(reseal(inner, record, schema, values, from))
        };
        let outcomes = rules::migrate_configs(&*inner.store, &migrate, dry_run, &self.actor)?;
        let mut migration = ConfigMigration {
            dry_run,
            ..ConfigMigration::default()
        };
        for (record, outcome) in outcomes {
            match outcome {
                Ok((from, to)) => migration.migrated.push(MigratedConfig {
                    meta: record.meta,
                    from,
                    to,
                }),
                Err(reason) => migration.failed.push(LoadFailure {
                    meta: record.meta,
                    reason,
                }),
            }
        }
        if !dry_run && !migration.migrated.is_empty() {
            inner.after_write();
        }
        for failure in &migration.failed {
            tracing::warn!(
                instance = %failure.meta.id,
                item = %failure.meta.item,
                reason = %failure.reason,
                "config not migrated"
            );
        }
        Ok(migration)
    }
}

/// Upgrades one stored config, checks the result against the schema and seals it under the
/// schema's version; every refusal is a text for the operator, without config values.
fn reseal(
    inner: &super::Inner,
    record: &InstanceRecord,
    schema: &'static crate::config::ConfigSchema,
    values: crate::config::ConfigValues,
    from: u32,
) -> Result<Resealed, String> {
    let upgraded = schema
        .upgrade(values, from)
        .map_err(|err| err.to_string())?;
    validate_values(schema, &upgraded).map_err(|errors| {
        format!(
            "config version {from} → {}: the upgraded config does not fit: {errors}",
            schema.version
        )
    })?;
    let keyring = inner
        .keyring
        .as_ref()
        .ok_or("no encryption key is configured")?;
    let plaintext = serde_json::to_vec(&*versioned(&upgraded, schema.version))
        .map(zeroize::Zeroizing::new)
        .map_err(|err| format!("the upgraded config cannot be stored as JSON: {err}"))?;
    Ok(Resealed {
        sealed: keyring.seal(record.meta.id, &plaintext),
        from,
        to: schema.version,
    })
}
