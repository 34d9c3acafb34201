//! Typed plugin configuration: the schema `#[derive(PluginConfig)]` fills in, form parsing,
//! validation and JSON Schema export.
//!
//! A plugin instance's settings are stored as JSON values ([`ConfigValues`]), edited by an
//! operator through a form ([`FormData`]) and used by the plugin as a typed struct. The struct's
//! [`ConfigSchema`] (generated at compile time, kept in a `static`) drives every step, so a
//! form, a stored row and a value set in code are all checked by the same rules, and every
//! field's problem is reported at once ([`ConfigErrors`]).
//!
//! A secret field may hold a reference to where its value lives ([`SecretRef`]: an
//! environment variable or a file) instead of the value; [`resolve_references`] reads them
//! when an instance is built, and the store only ever holds the reference.

mod error;
mod export;
mod field;
pub(crate) mod form;
#[doc(hidden)]
pub mod private;
mod reference;
mod schema;
mod validate;
mod version;

use serde_json::{Map, Value};

pub use error::{ConfigErrors, FieldError};
pub use export::{REDACTED, json_schema, redacted};
pub use field::{ConfigField, ValueError};
pub use form::{FormData, values_from_form, values_with_form};
pub use reference::{ENV_KEY, FILE_KEY, MAX_SECRET_FILE, SecretRef, resolve_references};
pub use schema::{ConfigSchema, DefaultValue, FieldKind, FieldSchema};
pub use validate::{check_schema, unknown_field, validate_values};
pub(crate) use validate::{closest, effective};
pub(crate) use version::versioned;
pub use version::{Upgrade, UpgradeError, VERSION_KEY, split_version};

/// A plugin config's values as stored: field name → JSON value.
pub type ConfigValues = Map<String, Value>;
