//! The [`PluginConfig`] trait `#[derive(PluginConfig)]` implements: a typed config built from
//! stored values or a form, checked against its schema (see [`crate::config`]).

use serde_json::Value;

use crate::config::{
    ConfigErrors, ConfigSchema, ConfigValues, FormData, form, json_schema, redacted,
    validate_values,
};

/// A typed configuration struct; implement it with `#[derive(PluginConfig)]`.
///
/// ```ignore
/// #[derive(PluginConfig, Clone)]
/// pub struct StripeConfig {
///     /// Secret API key.
///     #[config(secret, min_length = 8)]
///     pub api_key: String,
///     #[config(default = 30, min = 1, max = 300)]
///     pub timeout_secs: u32,
///     pub sandbox: bool,            // false unless set
///     pub webhook: Option<String>,  // optional
/// }
/// let config = StripeConfig::from_form(&form)?; // every field's error at once
/// ```
///
/// The derive also implements `Debug`, printing secret fields as `"***"`, so do not derive
/// `Debug` as well (the two impls would conflict). Values read with
/// [`from_values`](Self::from_values) and [`from_form`](Self::from_form) are checked against
/// the schema's constraints; a value assigned in code is checked by [`validate`](Self::validate).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin config",
    label = "not a plugin config",
    note = "add `#[derive(PluginConfig)]` to `{Self}`"
)]
pub trait PluginConfig: Sized + Send + Sync + 'static {
    /// The schema of this config: its fields, kinds, constraints, defaults and help texts.
    fn schema() -> &'static ConfigSchema;
    /// Builds the typed config from stored values (defaults fill missing fields, aliases apply).
    fn from_values(values: &ConfigValues) -> Result<Self, ConfigErrors>;
    /// The config as storable values.
    fn to_values(&self) -> ConfigValues;

    /// Builds the config from submitted form strings, like a Django form: on any problem it
    /// returns every field's errors (one field, one reason: a field that does not parse is not
    /// also reported as missing) and no config.
    fn from_form(form: &FormData) -> Result<Self, ConfigErrors> {
        let schema = Self::schema();
        let (values, mut errors) = form::convert_form(schema, form);
        // Read the values even when some inputs failed to parse: the other fields' range and
        // constraint errors belong in the same answer.
        match Self::from_values(&values) {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => Err(errors),
            Err(more) => {
                form::merge_new_fields(&mut errors, more);
                errors.sort_by_field_order(schema.fields);
                Err(errors)
            }
        }
    }

    /// Checks the current values against the schema's constraints, for a config built or
    /// changed in code (which bypasses the checks of `from_values` and `from_form`).
    fn validate(&self) -> Result<(), ConfigErrors> {
        validate_values(Self::schema(), &self.to_values())
    }

    /// The JSON Schema (draft 2020-12) of this config, for front ends that render the form.
    fn json_schema() -> Value {
        json_schema(Self::schema())
    }

    /// The stored values with secrets replaced by [`REDACTED`](crate::config::REDACTED): safe to log or audit.
    fn redacted_values(&self) -> ConfigValues {
        redacted(Self::schema(), &self.to_values())
    }

    /// The names of the secret fields.
    fn secret_fields() -> Vec<&'static str> {
        Self::schema().secret_fields().collect()
    }
}
