//! The JSON Schema of a declared file for this binary's registry, so an editor checks the file
//! while it is typed: unknown keys, unknown items, a config field of the wrong type, a secret
//! written as a value.

use serde_json::{Map, Value, json};

use super::value::{ENV, FILE};
use crate::config::{ConfigSchema, json_schema};
use crate::instance::{MAX_DESCRIPTION, MAX_INSTANCE_NAME};
use crate::keys::Status;
use crate::registration::ItemInfo;
use crate::registry::Registry;

/// The JSON Schema (draft 2020-12) of a declared file whose items are `registry`'s.
///
/// `instance` is an array of entries; each entry is one of the registered items (every one,
/// hidden ones too: a file may declare any registered item), told apart by its `item` (a
/// `const` of the full key), with the item's config as its `config` (from
/// [`json_schema`](crate::config::json_schema) of the item's schema, with no other keys), where
/// each secret field is a reference: an object with exactly one of `env` or `file`, a string.
/// Name, scope and description carry the store's length limits, status its three values,
/// priority the range of an `i32`.
///
/// Write it next to the file and name it on the file's first line, `#:schema
/// ./plugins.schema.json`, for taplo and the editors built on it ("Even Better TOML").
pub fn file_json_schema(registry: &Registry) -> Value {
    let entries: Vec<Value> = registry.items().map(entry_schema).collect();
    let items = if entries.is_empty() {
        // No item is registered: no entry can be valid ("oneOf": [] is not a valid schema).
        json!(false)
    } else {
        json!({ "oneOf": entries })
    };
    let statuses: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Declared plugin instances",
        "description": "Plugin instances to apply from a reviewed file; secrets are references \
                        (`{ env = \"NAME\" }` or `{ file = \"/path\" }`), never values.",
        "type": "object",
        "properties": {
            "instance": {
                "description": "One `[[instance]]` table per instance.",
                "type": "array",
                "items": items,
            }
        },
        "additionalProperties": false,
        "$defs": {
            "name": {
                "description": "The instance's name: with its item and scope, what identifies it.",
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_INSTANCE_NAME,
                "pattern": "^\\S(.*\\S)?$",
            },
            "scope": {
                "description": "The tenant the instance belongs to; leave it out for a global instance.",
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_INSTANCE_NAME,
                "pattern": "^\\S(.*\\S)?$",
            },
            "status": {
                "description": "active (serves), reserved (a fallback) or disabled; default active.",
                "enum": statuses,
                "default": "active",
            },
            "priority": {
                "description": "Lower is preferred; default: the item's priority for a new \
                                instance, the stored one for an existing instance.",
                "type": "integer",
                "minimum": i32::MIN,
                "maximum": i32::MAX,
            },
            "description": {
                "description": "Free text for operators.",
                "type": "string",
                "maxLength": MAX_DESCRIPTION,
            },
            "secret_reference": {
                "description": "Where the secret is read from when the instance is loaded: an \
                                environment variable or an absolute file path. Never the value.",
                "oneOf": [
                    reference_schema(ENV, "The environment variable holding the secret."),
                    reference_schema(FILE, "The absolute path of the file holding the secret \
                                            (one trailing newline is dropped)."),
                ],
            },
        },
    })
}

/// `{ NAME = "..." }` with nothing else.
fn reference_schema(key: &str, description: &str) -> Value {
    let mut value = json!({ "type": "string", "minLength": 1, "description": description });
    if key == FILE {
        value["pattern"] = json!("^/");
    }
    json!({
        "type": "object",
        "properties": { key: value },
        "required": [key],
        "additionalProperties": false,
    })
}

fn entry_schema(item: &'static ItemInfo) -> Value {
    let key = item.key().to_string();
    let mut properties = Map::new();
    properties.insert("item".into(), json!({ "const": key }));
    for name in ["name", "scope", "status", "description"] {
        properties.insert(name.into(), json!({ "$ref": format!("#/$defs/{name}") }));
    }
    properties.insert(
        "priority".into(),
        json!({ "$ref": "#/$defs/priority", "default": item.priority() }),
    );
    let mut required = vec!["item", "name"];
    if let Some(schema) = item.schema() {
        if schema.fields.iter().any(|field| field.required) {
            required.push("config");
        }
        properties.insert("config".into(), config_schema(schema));
    }
    let mut entry = json!({
        "title": key,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if !item.description().is_empty() {
        entry["description"] = Value::from(item.description());
    }
    entry
}

/// The item's config schema as a file writes it: no other keys, former names accepted (and
/// marked deprecated), secrets as references.
fn config_schema(schema: &ConfigSchema) -> Value {
    let mut config = json_schema(schema);
    if let Value::Object(map) = &mut config {
        map.remove("$schema");
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(properties)) = config.get_mut("properties") {
        for field in schema.fields {
            let Some(property) = properties.get_mut(field.name) else {
                continue;
            };
            if field.is_secret() {
                let mut reference = Map::new();
                for keep in ["title", "description"] {
                    if let Some(value) = property.get(keep) {
                        reference.insert(keep.into(), value.clone());
                    }
                }
                reference.insert("$ref".into(), json!("#/$defs/secret_reference"));
                reference.insert("writeOnly".into(), Value::Bool(true));
                *property = Value::Object(reference);
            }
            let mut former = property.clone();
            former["deprecated"] = Value::Bool(true);
            for alias in field.aliases {
                properties.insert((*alias).to_owned(), former.clone());
            }
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declared::test_registry::registry;

    fn entry<'a>(schema: &'a Value, key: &str) -> &'a Value {
        schema["properties"]["instance"]["items"]["oneOf"]
            .as_array()
            .and_then(|entries| {
                entries
                    .iter()
                    .find(|entry| entry["properties"]["item"]["const"] == key)
            })
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn the_file_is_an_array_of_entries_one_per_registered_item() {
        let schema = file_json_schema(registry());
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["instance"]["type"], "array");
        let keys: Vec<&Value> = schema["properties"]["instance"]["items"]["oneOf"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| &entry["properties"]["item"]["const"])
                    .collect()
            })
            .unwrap_or_default();
        // The hidden email item is there too.
        assert_eq!(
            keys,
            [
                "shop:notifier/email",
                "shop:payment_gateway/manual",
                "shop:payment_gateway/stripe"
            ]
        );
        // It is JSON text an editor can load.
        let text = serde_json::to_string_pretty(&schema).expect("serialises");
        assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(schema));
    }

    #[test]
    fn secrets_are_references_and_other_fields_keep_their_schema() {
        let schema = file_json_schema(registry());
        let stripe = entry(&schema, "shop:payment_gateway/stripe");
        assert_eq!(stripe["required"], json!(["item", "name", "config"]));
        assert_eq!(stripe["additionalProperties"], false);
        let config = &stripe["properties"]["config"];
        assert_eq!(config["additionalProperties"], false);
        assert!(config.get("$schema").is_none());
        let api_key = &config["properties"]["api_key"];
        assert_eq!(api_key["$ref"], "#/$defs/secret_reference");
        assert_eq!(api_key["writeOnly"], true);
        assert!(api_key.get("type").is_none() && api_key.get("minLength").is_none());
        assert_eq!(
            config["properties"]["key"]["deprecated"], true,
            "the former name"
        );
        assert_eq!(
            config["properties"]["key"]["$ref"],
            "#/$defs/secret_reference"
        );
        assert_eq!(
            config["properties"]["timeout_secs"],
            json!({"type": "integer", "title": "Timeout", "default": 30, "minimum": 1, "maximum": 300})
        );
        let reference = &schema["$defs"]["secret_reference"]["oneOf"];
        assert_eq!(
            reference[0],
            json!({
                "type": "object",
                "properties": {"env": {"type": "string", "minLength": 1,
                    "description": "The environment variable holding the secret."}},
                "required": ["env"],
                "additionalProperties": false,
            })
        );
        assert_eq!(reference[1]["required"], json!(["file"]));
        assert_eq!(reference[1]["properties"]["file"]["pattern"], "^/");
        assert_eq!(reference[1]["additionalProperties"], false);
    }

    #[test]
    fn items_without_config_take_none_and_limits_are_the_stores() {
        let schema = file_json_schema(registry());
        let manual = entry(&schema, "shop:payment_gateway/manual");
        assert!(manual["properties"].get("config").is_none());
        assert_eq!(manual["required"], json!(["item", "name"]));
        assert_eq!(manual["properties"]["priority"]["default"], 50);
        let defs = &schema["$defs"];
        assert_eq!(defs["name"]["maxLength"], MAX_INSTANCE_NAME);
        assert_eq!(defs["scope"]["maxLength"], MAX_INSTANCE_NAME);
        assert_eq!(defs["description"]["maxLength"], MAX_DESCRIPTION);
        assert_eq!(
            defs["status"]["enum"],
            json!(["active", "reserved", "disabled"])
        );
        assert_eq!(defs["priority"]["minimum"], i32::MIN);
        assert_eq!(defs["priority"]["maximum"], i32::MAX);
    }

    #[test]
    fn every_ref_points_at_a_definition() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        out.push(target);
                    }
                    map.values().for_each(|inner| refs(inner, out));
                }
                Value::Array(items) => items.iter().for_each(|inner| refs(inner, out)),
                _ => {}
            }
        }
        let schema = file_json_schema(registry());
        let mut found = Vec::new();
        refs(&schema, &mut found);
        assert!(found.len() > 10);
        for target in found {
            let name = target.strip_prefix("#/$defs/").unwrap_or(target);
            assert!(schema["$defs"].get(name).is_some(), "{target}");
        }
    }
}
