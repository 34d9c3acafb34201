//! Plugin instances: the operator-managed, configured uses of an item.

use std::time::SystemTime;

use crate::Error;
use crate::keys::{InstanceId, ItemKey, Status};

/// What a caller learns about the instance it was given: for logs, metrics and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMeta {
    /// The instance's id.
    pub id: InstanceId,
    /// The operator-given name ("Stripe Production").
    pub name: String,
    /// The item it is an instance of.
    pub item: ItemKey,
    /// Its status.
    pub status: Status,
    /// Its priority (lower is preferred).
    pub priority: i32,
    /// The tenant it belongs to; `None` for global instances.
    pub scope: Option<String>,
    /// The stored row's version (bumped on every write).
    pub version: i64,
}

/// One stored instance, as the [`Store`](crate::store::Store) keeps it. The config is the sealed
/// (encrypted) envelope; only the runtime opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// Id, name, item, status, priority, scope, version.
    pub meta: InstanceMeta,
    /// Free text for operators.
    pub description: String,
    /// The encrypted config envelope; `None` for config-less items.
    pub sealed_config: Option<Vec<u8>>,
    /// True when the instance's item is no longer registered: kept, never selected.
    pub orphaned: bool,
    /// The declared file that manages the instance (`plugins apply FILE`), by its name; the
    /// admin and the CLI refuse to edit it until an operator releases it. `None`: managed by
    /// hand.
    pub managed_by: Option<String>,
    /// When the row was created.
    pub created_at: SystemTime,
    /// When the row last changed.
    pub updated_at: SystemTime,
}

impl InstanceRecord {
    /// The default instance sync creates for a config-less item: ACTIVE, global, no config,
    /// named after the item, at the item's priority. Every store inserts this same record.
    pub fn sync_default(id: InstanceId, item: ItemKey, name: &str, priority: i32) -> Self {
        let now = SystemTime::now();
        InstanceRecord {
            meta: InstanceMeta {
                id,
                name: name.to_owned(),
                item,
                status: Status::Active,
                priority,
                scope: None,
                version: 1,
            },
            description: String::new(),
            sealed_config: None,
            orphaned: false,
            managed_by: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The longest instance name the stores accept (the column is 200 characters).
pub const MAX_INSTANCE_NAME: usize = 200;

/// Checks an instance name: non-empty, trimmed, at most [`MAX_INSTANCE_NAME`] characters, no
/// control characters.
pub(crate) fn check_instance_name(name: &str) -> Result<(), Error> {
    let reason = if name.trim().is_empty() {
        "the name must not be empty"
    } else if name.trim() != name {
        "the name must not start or end with spaces"
    } else if name.chars().count() > MAX_INSTANCE_NAME {
        "the name is longer than 200 characters"
    } else if name.chars().any(char::is_control) {
        "the name must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        field: "name",
        reason: reason.into(),
    })
}

/// The longest description the stores accept.
pub const MAX_DESCRIPTION: usize = 2000;

/// Checks a description: at most [`MAX_DESCRIPTION`] characters; line breaks and tabs are
/// fine, other control characters (NUL among them, which PostgreSQL refuses in text) are not.
pub(crate) fn check_description(description: &str) -> Result<(), Error> {
    let reason = if description.chars().count() > MAX_DESCRIPTION {
        "the description is longer than 2000 characters"
    } else if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        "the description must not contain control characters other than line breaks and tabs"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        field: "description",
        reason: reason.into(),
    })
}

/// Checks a scope (tenant key): the rules of instance names.
pub(crate) fn check_scope(scope: &str) -> Result<(), Error> {
    check_instance_name(scope).map_err(|err| match err {
        Error::InvalidInput { reason, .. } => Error::InvalidInput {
            field: "scope",
            reason: reason.replace("the name", "the scope"),
        },
        other => other,
    })
}

/// A priority change for one or many instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityChange {
    /// Set to this value.
    Set(i32),
    /// Add this (negative: towards preferred), saturating.
    Shift(i32),
}

impl PriorityChange {
    /// The new priority of an instance now at `current`.
    pub fn apply(self, current: i32) -> i32 {
        match self {
            PriorityChange::Set(value) => value,
            PriorityChange::Shift(delta) => current.saturating_add(delta),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_checked() {
        assert!(check_instance_name("Stripe Production").is_ok());
        assert!(check_instance_name("").is_err());
        assert!(check_instance_name(" padded").is_err());
        assert!(check_instance_name("nul\0byte").is_err());
        assert!(check_instance_name(&"n".repeat(201)).is_err());
    }
}

/// Which tenant's switch of which global instance (see
/// [`Plugins::set_activation`](crate::Plugins::set_activation)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActivationKey {
    /// The tenant.
    pub scope: String,
    /// The global instance it switches.
    pub instance: InstanceId,
}

/// A tenant's switch of one global instance, as the store keeps it: on (served to the tenant,
/// even when its item is `per_tenant`) or off (never served to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationRecord {
    /// Whose switch of which instance.
    pub key: ActivationKey,
    /// On (true) or off (false).
    pub on: bool,
    /// When it was last set.
    pub updated_at: SystemTime,
}

/// What a tenant does with a global instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Served to the tenant (what activates an item marked `per_tenant` for it).
    On,
    /// Never served to the tenant, whatever its status.
    Off,
    /// As its item says: served, unless the item is `per_tenant` (no switch stored).
    Default,
}
