//! The one public error type of plugin-system, and the error plugin code returns.
//!
//! Every message names what it is about (the plugin type, the item, the instance), so an
//! operator reading a log line knows where to look without a debugger.

use std::fmt;

use crate::config::ConfigErrors;
use crate::instance::{InstanceId, Status};

/// Everything that can go wrong in plugin-system, outside the plugins' own code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two registrations claim the same key: reported with both definition sites.
    #[error("{what} `{key}` is registered twice: at {first} and at {second}; rename one of them")]
    DuplicateRegistration {
        /// "plugin type" or "plugin item".
        what: &'static str,
        /// The duplicated key (`namespace:type` or `namespace:type/item`).
        key: String,
        /// Where the first registration is.
        first: String,
        /// Where the second registration is.
        second: String,
    },
    /// A crate named with `plugin_system::link!` contributed no plugin type or item.
    #[error(
        "plugin crate `{krate}` (named by `link!` at {site}) registered no plugin type or item; \
         check that it has `#[plugin_type]`/`#[plugin_item]` registrations and is the crate you meant"
    )]
    MissingPluginCrate {
        /// The crate's name as Rust spells it (underscores).
        krate: String,
        /// The `link!` call that named it.
        site: String,
    },
    /// A registration breaks a rule only visible at start-up (e.g. a `renamed_from` cycle).
    #[error("invalid registration of {what}: {reason}")]
    InvalidRegistration {
        /// The type or item in question.
        what: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// No plugin type with this key is linked into this binary.
    #[error("unknown plugin type `{0}`: no linked crate registers it")]
    UnknownType(String),
    /// No plugin item with this name is registered for the type.
    #[error("unknown plugin item `{item}` of type `{type_name}`; known items: {known}")]
    UnknownItem {
        /// The type's key.
        type_name: String,
        /// The item name asked for.
        item: String,
        /// The item names that do exist, comma-separated.
        known: String,
    },
    /// No instance has this id.
    #[error("no plugin instance with id {0}")]
    UnknownInstance(InstanceId),
    /// A string that should be an instance id is not one.
    #[error("`{input}` is not a valid plugin instance id (expected a UUID)")]
    MalformedId {
        /// What was given (truncated to 64 characters).
        input: String,
    },
    /// Selection found no ACTIVE or RESERVED instance that loads.
    #[error("no ACTIVE or RESERVED instance of plugin type `{0}` is available")]
    NoInstance(String),
    /// `get_by_id` was asked for an instance of another plugin type.
    #[error(
        "plugin instance {id} (`{instance}`) belongs to plugin type `{actual}`, not `{expected}`"
    )]
    WrongType {
        /// The instance asked for.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// The type the caller asked for.
        expected: String,
        /// The type the instance belongs to.
        actual: String,
    },
    /// `get_by_id` found the instance, but it is not selectable.
    #[error("plugin instance {id} (`{instance}`) is {status}; allow disabled instances to load it")]
    Disabled {
        /// The instance asked for.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its status.
        status: Status,
    },
    /// The instance exists but could not be loaded (config, key, constructor).
    #[error("plugin instance {id} (`{instance}`, item `{item}`) does not load: {reason}")]
    Unloadable {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its item's key.
        item: String,
        /// Why it does not load.
        reason: String,
    },
    /// The instance's item is no longer registered by any linked crate.
    #[error(
        "plugin instance {id} (`{instance}`) belongs to item `{item}`, whose code is gone (orphaned)"
    )]
    Orphaned {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its item's key.
        item: String,
    },
    /// A config did not validate against its item's schema: every field's error.
    #[error("invalid config for item `{item}`: {errors}")]
    InvalidConfig {
        /// The item's key.
        item: String,
        /// Every field error.
        errors: ConfigErrors,
    },
    /// An instance with this name already exists for the item (in this scope).
    #[error("item `{item}` already has an instance named `{name}`{}", scope_suffix(.scope))]
    DuplicateInstanceName {
        /// The item's key.
        item: String,
        /// The duplicated name.
        name: String,
        /// The tenant scope, if any.
        scope: Option<String>,
    },
    /// An instance field is out of its bounds (empty name, name too long…).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Optimistic concurrency: someone else changed the instance since it was read.
    #[error(
        "plugin instance {id} was changed by someone else (you edited version {expected}, it is now at {actual}); reload and retry"
    )]
    Conflict {
        /// The instance.
        id: InstanceId,
        /// The version the writer read.
        expected: i64,
        /// The version stored now.
        actual: i64,
    },
    /// Encryption keys: missing, malformed, or unable to open a stored config.
    #[error("{0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    /// The store failed (database unreachable, constraint, I/O). The message keeps the real cause.
    #[error("store error: {0}")]
    Store(String),
}

fn scope_suffix(scope: &Option<String>) -> String {
    match scope {
        Some(scope) => format!(" in scope `{scope}`"),
        None => String::new(),
    }
}

/// The error a plugin's own code returns (from its constructor or its trait methods).
///
/// A message plus an optional source, so plugin authors can wrap any error without
/// choosing an error crate: `PluginError::new("card declined")` or
/// `PluginError::with_source("gateway unreachable", io_error)`.
#[derive(Debug)]
pub struct PluginError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PluginError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<ConfigErrors> for PluginError {
    fn from(errors: ConfigErrors) -> Self {
        Self::with_source("invalid config", errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_error_shows_its_source() {
        let io = std::io::Error::other("connection refused");
        let err = PluginError::with_source("gateway unreachable", io);
        assert_eq!(err.to_string(), "gateway unreachable: connection refused");
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(err.message(), "gateway unreachable");
    }

    #[test]
    fn duplicate_name_message_names_the_scope() {
        let err = Error::DuplicateInstanceName {
            item: "shop:payment_gateway/stripe".into(),
            name: "Stripe".into(),
            scope: Some("acme".into()),
        };
        assert_eq!(
            err.to_string(),
            "item `shop:payment_gateway/stripe` already has an instance named `Stripe` in scope `acme`"
        );
    }
}
