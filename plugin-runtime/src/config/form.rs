//! HTML form data → stored values, driven by the schema, reporting every field's error at
//! once (the way a Django form fills `form.errors`).

use std::fmt;

use serde_json::{Number, Value};

use super::ConfigValues;
use super::error::ConfigErrors;
use super::schema::{ConfigSchema, FieldKind, FieldSchema};
use super::validate::{REQUIRED, lookup, validate_values};

/// Submitted form data: ordered `(name, value)` string pairs, as a browser sends them.
///
/// Keys may repeat (a list field sends one pair per item; a checkbox often follows a hidden
/// input of the same name). `Debug` shows only the keys, because forms carry secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormData {
    pairs: Vec<(String, String)>,
    /// Stored values kept as they are, by field name, in place of the field's inputs (see
    /// [`keep_stored_secrets`](Self::keep_stored_secrets)): a secret stored as a reference
    /// is an object, which no input can carry.
    kept: Vec<(String, Value)>,
}

impl FormData {
    /// Empty form data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Form data from pairs in submission order, e.g. a decoded
    /// `application/x-www-form-urlencoded` body.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
            kept: Vec::new(),
        }
    }

    /// Appends a pair.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// The first value submitted under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// Every value submitted under `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// All pairs in submission order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// On an edit form, an empty secret input means "keep the stored secret" (the admin never
    /// sends secrets back to the browser): each such field keeps its stored value as it is,
    /// a value or a [reference](super::SecretRef) (`{"$env": "STRIPE_KEY"}`), when the form is
    /// converted ([`values_from_form`], [`values_with_form`]).
    pub fn keep_stored_secrets(&mut self, schema: &ConfigSchema, stored: &ConfigValues) {
        for field in schema.fields.iter().filter(|field| field.is_secret()) {
            let submitted = self.get(field.name).is_some_and(|value| !value.is_empty());
            if let (false, Some(secret)) = (submitted, lookup(stored, field)) {
                self.pairs.retain(|(name, _)| name != field.name);
                self.kept.retain(|(name, _)| name != field.name);
                self.kept.push((field.name.to_owned(), secret.clone()));
            }
        }
    }

    /// The stored value kept for `field` in place of its inputs.
    fn kept(&self, field: &str) -> Option<&Value> {
        self.kept
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value)
    }
}

impl fmt::Debug for FormData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormData")
            .field(
                "keys",
                &self.pairs.iter().map(|(key, _)| key).collect::<Vec<_>>(),
            )
            .field(
                "kept",
                &self.kept.iter().map(|(key, _)| key).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for FormData {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_pairs(iter)
    }
}

/// Converts form data to stored values and validates them: every field's errors at once.
///
/// Use it where no Rust config type is at hand (e.g. the admin validating a form against a
/// schema read from the registry); with a type, call
/// [`PluginConfig::from_form`](crate::PluginConfig::from_form).
pub fn values_from_form(
    schema: &ConfigSchema,
    form: &FormData,
) -> Result<ConfigValues, ConfigErrors> {
    let (values, mut errors) = convert_form(schema, form);
    if let Err(more) = validate_values(schema, &values) {
        merge_new_fields(&mut errors, more);
    }
    errors.sort_by_field_order(schema.fields);
    errors.into_result(values)
}

/// The stored values with the fields `form` sets replaced (an edit that names only what
/// changes, like `--set timeout_secs=60`), validated as a whole.
pub fn values_with_form(
    schema: &ConfigSchema,
    stored: &ConfigValues,
    form: &FormData,
) -> Result<ConfigValues, ConfigErrors> {
    let mut values = stored.clone();
    let mut errors = ConfigErrors::new();
    for field in schema.fields {
        if let Some(kept) = form.kept(field.name) {
            values.insert(field.name.to_owned(), kept.clone());
            continue;
        }
        let inputs: Vec<&str> = form.get_all(field.name).collect();
        if inputs.is_empty() {
            continue;
        }
        match convert_field(field, &inputs) {
            Ok(Some(value)) => {
                values.insert(field.name.to_owned(), value);
            }
            Ok(None) if field.optional => {
                values.insert(field.name.to_owned(), Value::Null);
            }
            Ok(None) => {
                values.remove(field.name);
            }
            Err(message) => errors.add(field.name, message),
        }
    }
    if let Err(more) = validate_values(schema, &values) {
        merge_new_fields(&mut errors, more);
    }
    errors.sort_by_field_order(schema.fields);
    errors.into_result(values)
}

/// Adds the errors in `more` for fields that have no error yet in `errors`, so a field that
/// failed to parse is not also reported as missing.
pub(crate) fn merge_new_fields(errors: &mut ConfigErrors, more: ConfigErrors) {
    let fresh: Vec<_> = more
        .into_iter()
        .filter(|error| !errors.has_field(&error.field))
        .collect();
    errors.extend(fresh);
}

/// Converts each field's strings to a JSON value of the field's kind. A field whose input is
/// wrong gets an error and no value; an empty input leaves the field absent (so its default
/// applies), `null` when optional, or reports "this field is required".
pub(crate) fn convert_form(schema: &ConfigSchema, form: &FormData) -> (ConfigValues, ConfigErrors) {
    let mut values = ConfigValues::new();
    let mut errors = ConfigErrors::new();
    for field in schema.fields {
        if let Some(kept) = form.kept(field.name) {
            values.insert(field.name.to_owned(), kept.clone());
            continue;
        }
        let inputs: Vec<&str> = form.get_all(field.name).collect();
        match convert_field(field, &inputs) {
            Ok(Some(value)) => {
                values.insert(field.name.to_owned(), value);
            }
            Ok(None) if field.optional => {
                values.insert(field.name.to_owned(), Value::Null);
            }
            Ok(None) if field.required => errors.add(field.name, REQUIRED),
            Ok(None) => {}
            Err(message) => errors.add(field.name, message),
        }
    }
    (values, errors)
}

/// The value of one field, `Ok(None)` when its input is absent or empty.
fn convert_field(field: &FieldSchema, inputs: &[&str]) -> Result<Option<Value>, String> {
    match field.kind {
        FieldKind::Bool => convert_checkbox(field, inputs),
        FieldKind::ListOfText => {
            let items: Vec<Value> = inputs
                .iter()
                .flat_map(|input| input.lines())
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(Value::from)
                .collect();
            Ok((!items.is_empty() || !field.optional).then_some(Value::Array(items)))
        }
        kind => {
            let raw = inputs.first().copied().unwrap_or_default();
            // Secrets are taken verbatim: surrounding spaces may be part of the key.
            let input = if kind == FieldKind::Secret {
                raw
            } else {
                raw.trim()
            };
            if input.is_empty() {
                return Ok(None);
            }
            convert_scalar(kind, input).map(Some)
        }
    }
}

fn convert_scalar(kind: FieldKind, input: &str) -> Result<Value, String> {
    match kind {
        FieldKind::Integer => input
            .parse::<i128>()
            .map_err(|_| format!("enter a whole number (got \"{input}\")"))
            .and_then(|int| {
                Number::from_i128(int)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{int} is out of range"))
            }),
        FieldKind::Float => match input.parse::<f64>() {
            Ok(float) if float.is_finite() => Number::from_f64(float)
                .map(Value::Number)
                .ok_or_else(|| "enter a finite number".to_owned()),
            _ => Err(format!("enter a number (got \"{input}\")")),
        },
        _ => Ok(Value::from(input)),
    }
}

/// Checkbox semantics: an unchecked box sends nothing, so absent means `false`; with a hidden
/// input of the same name before the checkbox, any true value wins.
fn convert_checkbox(field: &FieldSchema, inputs: &[&str]) -> Result<Option<Value>, String> {
    let mut checked = false;
    let mut seen = false;
    for input in inputs {
        match input.trim().to_ascii_lowercase().as_str() {
            "" => {}
            "false" | "0" | "off" | "no" => seen = true,
            "true" | "1" | "on" | "yes" => (seen, checked) = (true, true),
            _ => {
                return Err(format!(
                    "expected a checkbox value (on/off, true/false, yes/no or 1/0), got \"{input}\""
                ));
            }
        }
    }
    Ok((seen || !field.optional).then_some(Value::Bool(checked)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::DefaultValue;
    use serde_json::json;

    static FIELDS: [FieldSchema; 7] = [
        FieldSchema::new("key", "Key", FieldKind::Secret).with_min_length(4),
        FieldSchema::new("timeout", "Timeout", FieldKind::Integer)
            .with_default(DefaultValue::Integer(30))
            .with_max(300.0),
        FieldSchema::new("ratio", "Ratio", FieldKind::Float)
            .with_optional(true)
            .with_required(false),
        FieldSchema::new("sandbox", "Sandbox", FieldKind::Bool).with_required(false),
        FieldSchema::new("tags", "Tags", FieldKind::ListOfText).with_required(false),
        FieldSchema::new("name", "Name", FieldKind::Text),
        FieldSchema::new("flag", "Flag", FieldKind::Bool)
            .with_optional(true)
            .with_required(false),
    ];
    static SCHEMA: ConfigSchema = ConfigSchema::new("Demo", &FIELDS);

    #[test]
    fn an_edit_form_changes_only_the_fields_it_sets() {
        let stored: ConfigValues = serde_json::from_value(json!({
            "key": "secret-key", "timeout": 45, "ratio": 0.5, "sandbox": true,
            "tags": ["a"], "name": "prod", "flag": null
        }))
        .unwrap();
        let form = FormData::from_pairs([("timeout", "60"), ("ratio", "")]);
        let edited = values_with_form(&SCHEMA, &stored, &form).unwrap();
        assert_eq!(edited["timeout"], json!(60));
        assert_eq!(edited["ratio"], Value::Null, "an emptied optional field");
        assert_eq!(edited["key"], json!("secret-key"), "untouched fields stay");
        assert_eq!(
            edited["sandbox"],
            json!(true),
            "an absent checkbox is not a `false`"
        );

        let bad = FormData::from_pairs([("timeout", "900"), ("name", "")]);
        let errors = values_with_form(&SCHEMA, &stored, &bad).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["timeout", "name"]);
    }

    #[test]
    fn a_good_form_converts() {
        let form = FormData::from_pairs([
            ("key", " abcd "),
            ("timeout", " 45 "),
            ("ratio", ""),
            ("sandbox", "false"),
            ("sandbox", "on"),
            ("tags", "a\r\n\n b "),
            ("tags", "c"),
            ("name", "shop"),
        ]);
        let values = values_from_form(&SCHEMA, &form).map(Value::Object);
        assert_eq!(
            values,
            Ok(json!({
                "key": " abcd ", "timeout": 45, "ratio": null, "sandbox": true,
                "tags": ["a", "b", "c"], "name": "shop", "flag": null
            }))
        );
    }

    #[test]
    fn empty_input_uses_the_default_and_absent_checkbox_is_false() {
        let form = FormData::from_pairs([("key", "abcd"), ("timeout", ""), ("name", "x")]);
        let values = values_from_form(&SCHEMA, &form).unwrap_or_default();
        assert_eq!(values.get("timeout"), None);
        assert_eq!(values.get("sandbox"), Some(&json!(false)));
        assert_eq!(values.get("tags"), Some(&json!([])));
    }

    #[test]
    fn every_bad_field_is_reported_once() {
        let form = FormData::from_pairs([
            ("key", "ab"),
            ("timeout", "ten"),
            ("ratio", "inf"),
            ("sandbox", "maybe"),
            ("timeout", "400"),
        ]);
        let errors = values_from_form(&SCHEMA, &form).unwrap_err();
        let got: Vec<String> = errors.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "key: must be at least 4 characters long",
                "timeout: enter a whole number (got \"ten\")",
                "ratio: enter a number (got \"inf\")",
                "sandbox: expected a checkbox value (on/off, true/false, yes/no or 1/0), got \"maybe\"",
                "name: this field is required",
            ]
        );
    }

    #[test]
    fn stored_secrets_fill_empty_secret_inputs() {
        let stored = json!({"key": "s3cret"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut form = FormData::from_pairs([("key", ""), ("name", "x")]);
        form.keep_stored_secrets(&SCHEMA, &stored);
        let values = values_from_form(&SCHEMA, &form).unwrap();
        assert_eq!(values["key"], json!("s3cret"));
        let edited = values_with_form(&SCHEMA, &stored, &form).unwrap();
        assert_eq!(edited["key"], json!("s3cret"));
        let mut form = FormData::from_pairs([("key", "new-one"), ("name", "x")]);
        form.keep_stored_secrets(&SCHEMA, &stored);
        assert_eq!(form.get("key"), Some("new-one"));
        let values = values_from_form(&SCHEMA, &form).unwrap();
        assert_eq!(
            values["key"],
            json!("new-one"),
            "a typed secret replaces it"
        );
    }

    #[test]
    fn a_stored_reference_is_kept_as_a_reference_when_its_input_is_empty() {
        for reference in [
            json!({"$env": "STRIPE_KEY"}),
            json!({"$file": "/run/secrets/k"}),
        ] {
            let stored = json!({"key": reference, "name": "x"})
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut form = FormData::from_pairs([("key", ""), ("name", "y")]);
            form.keep_stored_secrets(&SCHEMA, &stored);
            let values = values_from_form(&SCHEMA, &form).unwrap();
            assert_eq!(values["key"], reference, "kept, not required again");
            assert_eq!(values["name"], json!("y"));
            let edited = values_with_form(&SCHEMA, &stored, &form).unwrap();
            assert_eq!(edited["key"], reference);
            let shown = format!("{form:?}");
            assert!(!shown.contains("STRIPE_KEY"), "{shown}");
            // A value typed over the reference replaces it.
            let mut form = FormData::from_pairs([("key", "typed-value"), ("name", "y")]);
            form.keep_stored_secrets(&SCHEMA, &stored);
            let values = values_from_form(&SCHEMA, &form).unwrap();
            assert_eq!(values["key"], json!("typed-value"));
        }
    }

    #[test]
    fn debug_hides_values() {
        let form = FormData::from_pairs([("key", "s3cret")]);
        let shown = format!("{form:?}");
        assert!(
            shown.contains("key") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert_eq!(form.get_all("key").count(), 1);
        assert_eq!(form.get("nope"), None);
    }
}
