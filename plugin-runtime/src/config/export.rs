//! What leaves the process: a JSON Schema any front end can render a form from, and values
//! with their secrets redacted for logs and audits.

use serde_json::{Map, Value, json};

use super::ConfigValues;
use super::schema::{ConfigSchema, FieldKind, FieldSchema};

/// What replaces a secret value in [`redacted`] values and in a derived `Debug`.
pub const REDACTED: &str = "***";

/// The JSON Schema (draft 2020-12) of a config: an object with one property per field
/// (`type`, `title`, `description`, `default`, bounds, `pattern`, `enum`, `format` "uri" or
/// "email", `writeOnly` for secrets) and the list of required fields.
///
/// Secret defaults are left out: the schema is sent to browsers.
pub fn json_schema(schema: &ConfigSchema) -> Value {
    let mut properties = Map::new();
    for field in schema.fields {
        properties.insert(field.name.to_owned(), property(field));
    }
    let required: Vec<&str> = schema
        .fields
        .iter()
        .filter(|field| field.required)
        .map(|field| field.name)
        .collect();
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": schema.name,
        "type": "object",
        "properties": properties,
        "required": required,
    });
    if !schema.description.is_empty() {
        root["description"] = Value::from(schema.description);
    }
    root
}

fn property(field: &FieldSchema) -> Value {
    let json_type = match field.kind {
        FieldKind::Integer => "integer",
        FieldKind::Float => "number",
        FieldKind::Bool => "boolean",
        FieldKind::ListOfText => "array",
        _ => "string",
    };
    let mut out = Map::new();
    out.insert(
        "type".into(),
        if field.optional {
            json!([json_type, "null"])
        } else {
            json!(json_type)
        },
    );
    out.insert("title".into(), field.label.into());
    if !field.help.is_empty() {
        out.insert("description".into(), field.help.into());
    }
    if let (Some(default), false) = (field.default, field.is_secret()) {
        out.insert("default".into(), default.to_value());
    }
    if let Some(min) = field.min {
        out.insert("minimum".into(), number(field.kind, min));
    }
    if let Some(max) = field.max {
        out.insert("maximum".into(), number(field.kind, max));
    }
    // Length, pattern and format apply to the strings, which for a list are its items.
    let mut strings = Map::new();
    if let Some(min) = field.min_length {
        strings.insert("minLength".into(), min.into());
    }
    if let Some(max) = field.max_length {
        strings.insert("maxLength".into(), max.into());
    }
    if let Some(pattern) = field.pattern {
        strings.insert("pattern".into(), pattern.into());
    }
    match field.kind {
        FieldKind::Choice(choices) => {
            let mut allowed: Vec<Value> = choices.iter().map(|&choice| choice.into()).collect();
            if field.optional {
                allowed.push(Value::Null);
            }
            out.insert("enum".into(), allowed.into());
        }
        FieldKind::Url => {
            strings.insert("format".into(), "uri".into());
        }
        FieldKind::Email => {
            strings.insert("format".into(), "email".into());
        }
        FieldKind::Secret => {
            out.insert("writeOnly".into(), true.into());
        }
        _ => {}
    }
    if field.kind == FieldKind::ListOfText {
        strings.insert("type".into(), "string".into());
        out.insert("items".into(), strings.into());
    } else {
        out.extend(strings);
    }
    if !field.aliases.is_empty() {
        // Not a standard keyword; front ends ignore it, migration tooling can use it.
        out.insert("x-aliases".into(), field.aliases.to_vec().into());
    }
    Value::Object(out)
}

/// Integer bounds export as integers (`1`, not `1.0`) when they are whole numbers.
fn number(kind: FieldKind, bound: f64) -> Value {
    if kind == FieldKind::Integer && bound.fract() == 0.0 && bound.abs() < 9e15 {
        Value::from(bound as i64)
    } else {
        Value::from(bound)
    }
}

/// A copy of `values` with every secret (also one stored under an alias) replaced by
/// [`REDACTED`], for logs, audits and anything an operator's browser receives. Absent and
/// `null` secrets stay as they are, so "no key set" remains visible.
pub fn redacted(schema: &ConfigSchema, values: &ConfigValues) -> ConfigValues {
    let mut out = values.clone();
    for field in schema.fields.iter().filter(|field| field.is_secret()) {
        for key in std::iter::once(&field.name).chain(field.aliases) {
            if let Some(value) = out.get_mut(*key).filter(|value| !value.is_null()) {
                *value = Value::from(REDACTED);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::DefaultValue;

    static FIELDS: [FieldSchema; 5] = [
        FieldSchema::new("api_key", "Api key", FieldKind::Secret)
            .with_help("Secret API key.")
            .with_min_length(8)
            .with_aliases(&["key"]),
        FieldSchema::new("timeout", "Timeout", FieldKind::Integer)
            .with_default(DefaultValue::Integer(30))
            .with_min(1.0)
            .with_max(300.0),
        FieldSchema::new("currency", "Currency", FieldKind::Choice(&["usd", "eur"])),
        FieldSchema::new("hook", "Hook", FieldKind::Url)
            .with_optional(true)
            .with_required(false),
        FieldSchema::new("tags", "Tags", FieldKind::ListOfText)
            .with_required(false)
            .with_max_length(5),
    ];
    static SCHEMA: ConfigSchema = ConfigSchema::new("Demo", &FIELDS).with_description("Demo.");

    #[test]
    fn json_schema_describes_every_field() {
        let out = json_schema(&SCHEMA);
        assert_eq!(
            out["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(out["description"], "Demo.");
        assert_eq!(out["required"], json!(["api_key", "currency"]));
        let props = &out["properties"];
        assert_eq!(
            props["api_key"],
            json!({"type": "string", "title": "Api key", "description": "Secret API key.",
                   "minLength": 8, "writeOnly": true, "x-aliases": ["key"]})
        );
        assert_eq!(
            props["timeout"],
            json!({"type": "integer", "title": "Timeout", "default": 30, "minimum": 1, "maximum": 300})
        );
        assert_eq!(props["currency"]["enum"], json!(["usd", "eur"]));
        assert_eq!(props["hook"]["type"], json!(["string", "null"]));
        assert_eq!(props["hook"]["format"], "uri");
        assert_eq!(
            props["tags"]["items"],
            json!({"type": "string", "maxLength": 5})
        );
    }

    #[test]
    fn redacted_hides_secrets_under_names_and_aliases() {
        let values = json!({"api_key": "s3cret-key", "key": "old", "timeout": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let out = redacted(&SCHEMA, &values);
        assert_eq!(
            Value::Object(out),
            json!({"api_key": "***", "key": "***", "timeout": 5})
        );
        let none = json!({"api_key": null})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(redacted(&SCHEMA, &none), none);
    }
}
