//! Reading a declared file: TOML with spans → checked entries, or every problem at its line.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Collector, FileErrors, Lines};
use super::value::read_config;
use crate::config::{ConfigValues, validate_values};
use crate::instance::{check_description, check_instance_name, check_scope};
use crate::keys::{ItemKey, Status};
use crate::registration::ItemInfo;
use crate::registry::Registry;

/// A declared file, read and checked against the registry: what [`plan`](super::plan)
/// compares with the store.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredFile {
    /// The file's name as given (messages and the store's "managed by" marker use it).
    pub source: String,
    /// The hex SHA-256 of the file's bytes: which version of the file a plan or an applied
    /// change came from (an audit row can name it; CI can check it has not changed between
    /// plan and apply).
    pub digest: String,
    /// The entries, in file order.
    pub entries: Vec<DeclaredInstance>,
}

/// One `[[instance]]` entry: the instance the file wants to exist.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredInstance {
    /// The line of the entry's `[[instance]]` header, for messages.
    pub line: usize,
    /// Its item (registered: the file was checked).
    pub item: ItemKey,
    /// Its name.
    pub name: String,
    /// Its tenant; `None` for a global instance.
    pub scope: Option<String>,
    /// Its status (`active` when the file does not say).
    pub status: Status,
    /// Its priority; `None` when the file does not say: a new instance takes the item's
    /// priority, an existing one keeps its own.
    pub priority: Option<i32>,
    /// Its description (empty when the file does not say).
    pub description: String,
    /// Its config, validated against the item's schema, with secret fields as references
    /// (`{"$env": ...}`, `{"$file": ...}`); `None` exactly when the item takes no config.
    pub config: Option<ConfigValues>,
}

impl DeclaredInstance {
    /// What identifies an instance in the store: item, scope and name.
    pub fn identity(&self) -> (&ItemKey, Option<&str>, &str) {
        (&self.item, self.scope.as_deref(), &self.name)
    }
}

/// The keys an entry may have, in the order they are listed in messages.
const ENTRY_KEYS: [&str; 7] = [
    "item",
    "name",
    "scope",
    "status",
    "priority",
    "description",
    "config",
];

impl DeclaredFile {
    /// Reads `text` (the contents of the file called `source`, used in messages) and checks
    /// every entry against `registry`: keys, item, name, scope, status, priority,
    /// description, the config against the item's schema, secrets written as references only,
    /// no entry twice. Every problem is reported, each at its line.
    pub fn parse(
        source: &str,
        text: &str,
        registry: &Registry,
    ) -> Result<DeclaredFile, FileErrors> {
        let lines = Lines::new(text);
        let mut errors = Collector::new();
        let digest = hex_sha256(text.as_bytes());
        let (root, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            // What the parser recovered may lack what the operator wrote: report the syntax
            // alone rather than guesses built on it.
            for error in syntax {
                let line = error.span().map_or(1, |span| lines.line(span.start));
                errors.add(line, format!("invalid TOML: {}", error.message().trim()));
            }
            return Err(errors.into_errors(source));
        }
        let mut entries = Vec::new();
        for (key, value) in root.get_ref() {
            match key.get_ref().as_ref() {
                "instance" => read_entries(value, registry, &lines, &mut errors, &mut entries),
                other => errors.add(
                    lines.line(key.span().start),
                    format!(
                        "unknown key `{}`; a declared file holds only `[[instance]]` entries",
                        crate::keys::truncate(other)
                    ),
                ),
            }
        }
        check_repeats(&entries, &mut errors);
        let entries = entries
            .into_iter()
            .filter_map(|entry| entry.complete)
            .collect();
        errors.finish(
            source,
            DeclaredFile {
                source: source.to_owned(),
                digest,
                entries,
            },
        )
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// An entry as far as it could be read: its identity when item, scope and name are fine
/// (for the repeat check), the whole entry when everything is.
struct Read {
    line: usize,
    identity: Option<(ItemKey, Option<String>, String)>,
    complete: Option<DeclaredInstance>,
}

fn read_entries(
    value: &Spanned<DeValue<'_>>,
    registry: &Registry,
    lines: &Lines,
    errors: &mut Collector,
    entries: &mut Vec<Read>,
) {
    let DeValue::Array(items) = value.get_ref() else {
        errors.add(
            lines.line(value.span().start),
            "`instance` must be an array of tables: write `[[instance]]` (two brackets) above \
             each entry",
        );
        return;
    };
    for item in items.iter() {
        let line = lines.line(item.span().start);
        match item.get_ref() {
            DeValue::Table(table) => {
                entries.push(read_entry(line, table, registry, lines, errors));
            }
            _ => errors.add(
                line,
                "each `instance` is a table: write `[[instance]]` followed by its keys",
            ),
        }
    }
}

/// A string value, or a problem at its line.
fn string<'a>(
    key: &str,
    value: &'a Spanned<DeValue<'_>>,
    lines: &Lines,
    errors: &mut Collector,
) -> Option<&'a str> {
    let text = value.get_ref().as_str();
    if text.is_none() {
        errors.add(
            lines.line(value.span().start),
            format!("`{key}` must be a string"),
        );
    }
    text
}

fn read_entry(
    line: usize,
    table: &DeTable<'_>,
    registry: &Registry,
    lines: &Lines,
    errors: &mut Collector,
) -> Read {
    let before = errors.count();
    let at = |value: &Spanned<DeValue<'_>>| lines.line(value.span().start);
    let mut values: HashMap<&str, &Spanned<DeValue<'_>>> = HashMap::new();
    for (key, value) in table {
        let key_text = key.get_ref().as_ref();
        match ENTRY_KEYS.iter().find(|&&known| known == key_text) {
            Some(known) => {
                values.insert(known, value);
            }
            None => {
                let suggestion = crate::config::closest(key_text, &ENTRY_KEYS)
                    .map(|close| format!("did you mean `{close}`? "))
                    .unwrap_or_default();
                errors.add(
                    lines.line(key.span().start),
                    format!(
                        "unknown key `{}` in an instance; {suggestion}the keys are: {}",
                        crate::keys::truncate(key_text),
                        ENTRY_KEYS.join(", ")
                    ),
                );
            }
        }
    }

    let item = match values.get("item") {
        None => {
            errors.add(
                line,
                "this instance has no `item`; write `item = \"NAMESPACE:TYPE/ITEM\"`",
            );
            None
        }
        Some(value) => string("item", value, lines, errors).and_then(|text| {
            lookup_item(text, registry)
                .map_err(|why| errors.add(at(value), why))
                .ok()
        }),
    };
    let name = match values.get("name") {
        None => {
            errors.add(line, "this instance has no `name`; write `name = \"...\"`");
            None
        }
        Some(value) => string("name", value, lines, errors).and_then(|name| {
            check_instance_name(name)
                .map_err(|err| errors.add(at(value), err.to_string()))
                .ok()
                .map(|()| name.to_owned())
        }),
    };
    let mut scope_ok = true;
    let scope = values.get("scope").and_then(|value| {
        let checked = string("scope", value, lines, errors).and_then(|scope| {
            check_scope(scope)
                .map_err(|err| errors.add(at(value), err.to_string()))
                .ok()
                .map(|()| scope.to_owned())
        });
        scope_ok = checked.is_some();
        checked
    });
    let status = values.get("status").map_or(Some(Status::Active), |value| {
        string("status", value, lines, errors).and_then(|text| {
            text.parse::<Status>()
                .map_err(|err| errors.add(at(value), err.to_string()))
                .ok()
        })
    });
    let priority = values.get("priority").map(|value| {
        let read = match value.get_ref() {
            DeValue::Integer(int) => i32::from_str_radix(int.as_str(), int.radix()).ok(),
            _ => None,
        };
        if read.is_none() {
            errors.add(
                at(value),
                format!(
                    "`priority` must be a whole number from {} to {} (lower is preferred)",
                    i32::MIN,
                    i32::MAX
                ),
            );
        }
        read
    });
    let description = values
        .get("description")
        .map_or(Some(String::new()), |value| {
            string("description", value, lines, errors).and_then(|text| {
                check_description(text)
                    .map_err(|err| errors.add(at(value), err.to_string()))
                    .ok()
                    .map(|()| text.to_owned())
            })
        });
    let config =
        item.and_then(|item| read_entry_config(line, item, values.get("config"), lines, errors));

    let identity = match (item, &name, scope_ok) {
        (Some(item), Some(name), true) => Some((item.key(), scope.clone(), name.clone())),
        _ => None,
    };
    let complete = match (identity.clone(), status, priority, description, config) {
        (
            Some((item, scope, name)),
            Some(status),
            None | Some(Some(_)),
            Some(description),
            Some(config),
        ) if errors.count() == before => Some(DeclaredInstance {
            line,
            item,
            name,
            scope,
            status,
            priority: priority.flatten(),
            description,
            config,
        }),
        _ => None,
    };
    Read {
        line,
        identity,
        complete,
    }
}

/// The registered item `text` names, or why not (with what to write instead).
fn lookup_item(text: &str, registry: &Registry) -> Result<&'static ItemInfo, String> {
    match text.parse::<ItemKey>() {
        Ok(key) => registry.item(&key).map_err(|err| err.to_string()),
        // A short key (`payment_gateway/stripe`) that resolves here: a reviewed file names
        // items in full, so it keeps meaning the same item when another namespace is linked.
        Err(malformed) => match registry.item_named(text) {
            Ok(item) => Err(format!(
                "`{}` is a short key; write the full key `{}`",
                crate::keys::truncate(text),
                item.key()
            )),
            Err(_) => Err(malformed.to_string()),
        },
    }
}

/// The entry's config: `Some(None)` for an item without config, `Some(Some(values))` for a
/// valid config, `None` after reporting its problems.
fn read_entry_config(
    line: usize,
    item: &'static ItemInfo,
    config: Option<&&Spanned<DeValue<'_>>>,
    lines: &Lines,
    errors: &mut Collector,
) -> Option<Option<ConfigValues>> {
    let config_line = config.map_or(line, |value| lines.line(value.span().start));
    let Some(schema) = item.schema() else {
        if config.is_some() {
            errors.add(
                config_line,
                format!(
                    "`{}` takes no config: remove its `[instance.config]`",
                    item.key()
                ),
            );
            return None;
        }
        return Some(None);
    };
    let empty = DeTable::new();
    let table = match config.map(|value| value.get_ref()) {
        None => &empty,
        Some(DeValue::Table(table)) => table,
        Some(_) => {
            errors.add(
                config_line,
                "`config` must be a table: write `[instance.config]` followed by its fields",
            );
            return None;
        }
    };
    let before = errors.count();
    let read = read_config(schema, table, lines, errors);
    if let Err(invalid) = validate_values(schema, &read.values) {
        // A list reports each bad item with the same message: once is enough here.
        let mut said = std::collections::HashSet::new();
        for error in invalid {
            if read.reported.contains(&error.field)
                || !said.insert((error.field.clone(), error.message.clone()))
            {
                continue;
            }
            let field = schema.field(&error.field);
            let field_line = std::iter::once(error.field.as_str())
                .chain(
                    field
                        .into_iter()
                        .flat_map(|field| field.aliases.iter().copied()),
                )
                .find_map(|key| read.lines.get(key).copied())
                .unwrap_or(config_line);
            let message = if field.is_some() {
                format!("`{}`: {}", error.field, error.message)
            } else {
                // "unknown field `x`; did you mean ...": it names the key itself.
                error.message
            };
            errors.add(field_line, message);
        }
    }
    (errors.count() == before).then_some(Some(read.values))
}

/// The same instance (item, scope and name) declared twice: both lines named.
fn check_repeats(entries: &[Read], errors: &mut Collector) {
    let mut seen: HashMap<&(ItemKey, Option<String>, String), usize> = HashMap::new();
    for entry in entries {
        let Some(identity) = &entry.identity else {
            continue;
        };
        if let Some(&first) = seen.get(identity) {
            let (item, scope, name) = identity;
            errors.add(
                entry.line,
                format!(
                    "{} is declared twice, at lines {first} and {}: an instance is its item, \
                     scope and name",
                    super::describe(item, scope.as_deref(), name),
                    entry.line
                ),
            );
        } else {
            seen.insert(identity, entry.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::declared::test_registry::registry;

    fn parse(text: &str) -> Result<DeclaredFile, FileErrors> {
        DeclaredFile::parse("plugins.toml", text, registry())
    }

    /// The messages of a file that must fail, `line: message`.
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(file) => panic!("expected errors, parsed {file:?}"),
            Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
        }
    }

    const GOOD: &str = r#"# plugins.toml
[[instance]]
item = "shop:payment_gateway/stripe"
name = "Stripe (EU)"
scope = "acme"
status = "reserved"
priority = 20
description = "EU payments"
[instance.config]
api_key = { env = "STRIPE_KEY" }
webhook_secret = { file = "/run/secrets/stripe_webhook" }
timeout_secs = 30
tags = ["eu", "cards"]
fee = 1.5

[[instance]]
item = "shop:payment_gateway/manual"
name = "Manual"
"#;

    #[test]
    fn a_good_file_reads_every_field_and_defaults() {
        let file = parse(GOOD).expect("a valid file");
        assert_eq!(file.source, "plugins.toml");
        assert_eq!(file.entries.len(), 2);
        let stripe = &file.entries[0];
        assert_eq!(stripe.line, 2);
        assert_eq!(stripe.item.to_string(), "shop:payment_gateway/stripe");
        assert_eq!(stripe.name, "Stripe (EU)");
        assert_eq!(stripe.scope.as_deref(), Some("acme"));
        assert_eq!(stripe.status, Status::Reserved);
        assert_eq!(stripe.priority, Some(20));
        assert_eq!(stripe.description, "EU payments");
        assert_eq!(
            stripe.config.clone().map(serde_json::Value::Object),
            Some(json!({
                "api_key": {"$env": "STRIPE_KEY"},
                "webhook_secret": {"$file": "/run/secrets/stripe_webhook"},
                "timeout_secs": 30,
                "tags": ["eu", "cards"],
                "fee": 1.5,
            }))
        );
        let manual = &file.entries[1];
        assert_eq!(manual.line, 16);
        assert_eq!(
            (manual.scope.as_deref(), manual.status, manual.priority),
            (None, Status::Active, None)
        );
        assert_eq!(manual.description, "");
        assert_eq!(manual.config, None, "the item takes no config");
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_bytes() {
        let empty = parse("").expect("an empty file declares nothing");
        assert_eq!(
            empty.digest,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(empty.entries.is_empty());
        let other = parse("# a comment\n").expect("valid");
        assert_ne!(other.digest, empty.digest);
        assert_eq!(other.digest.len(), 64);
    }

    #[test]
    fn a_configurable_item_without_config_gets_its_defaults_checked() {
        let missing =
            problems("[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n");
        assert_eq!(missing, ["1: `api_key`: this field is required"]);
        let file = parse(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
             config.api_key = { env = \"K\" }\n",
        )
        .expect("valid");
        assert_eq!(
            file.entries[0]
                .config
                .clone()
                .map(serde_json::Value::Object),
            Some(json!({"api_key": {"$env": "K"}}))
        );
    }

    #[test]
    fn a_literal_secret_is_refused_without_repeating_it() {
        let errors = problems(
            r#"[[instance]]
item = "shop:payment_gateway/stripe"
name = "S"
[instance.config]
api_key = "sk_live_TOPSECRET"
webhook_secret = 12345
"#,
        );
        assert_eq!(
            errors,
            [
                "5: `api_key` is a secret: write a reference, `{ env = \"STRIPE_KEY\" }` or \
                 `{ file = \"/run/secrets/...\" }`, never the value",
                "6: `webhook_secret` is a secret: write a reference, `{ env = \"STRIPE_KEY\" }` \
                 or `{ file = \"/run/secrets/...\" }`, never the value",
            ]
        );
        let all = parse(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
             config.api_key = \"sk_live_TOPSECRET\"\n",
        )
        .unwrap_err();
        let shown = format!("{all} {all:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
    }

    #[test]
    fn a_secret_literal_under_a_former_name_is_refused_too() {
        let errors = problems(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
             config.key = \"sk_live_TOPSECRET\"\n",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("4: `api_key` is a secret"),
            "{errors:?}"
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        let errors = problems(
            r#"[[instance]]
item = "shop:payment_gateway/stripe"
name = "S"
[instance.config]
api_key = { env = "A", file = "/b" }
webhook_secret = { file = "relative/path" }

[[instance]]
item = "shop:notifier/email"
name = "E"
[instance.config]
smtp_url = "smtp.example.com"
password = { env = 3 }
"#,
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("5: `api_key` is a secret: write a reference"));
        assert!(
            errors[1].starts_with(
                "6: `webhook_secret`: the file `relative/path` must be an absolute path"
            )
        );
        assert!(errors[2].starts_with("12: `smtp_url`: must be an http:// or https:// URL"));
        assert_eq!(
            errors[3],
            "13: `password`: the reference's `env` must be a string"
        );
    }

    #[test]
    fn a_reference_on_a_field_that_is_not_secret_is_refused() {
        let errors = problems(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
             config = { api_key = { env = \"K\" }, timeout_secs = { env = \"TIMEOUT\" } }\n",
        );
        assert_eq!(
            errors,
            [
                "4: `timeout_secs` is not a secret: only secret fields take a reference; write the value itself"
            ]
        );
    }

    #[test]
    fn config_errors_are_at_their_field_lines() {
        let errors = problems(
            r#"[[instance]]
item = "shop:payment_gateway/stripe"
name = "S"
[instance.config]
api_key = { env = "K" }
timeout_secs = 900
currency = "gbp"
tags = [1, 2]
timeot_secs = 3
when = 1979-05-27T07:32:00Z
fee = nan
"#,
        );
        assert_eq!(
            errors,
            [
                "6: `timeout_secs`: must be at most 300",
                "7: `currency`: must be one of \"usd\", \"eur\"",
                "8: `tags`: expected a list of text, found a list holding a number",
                "9: unknown field `timeot_secs`; did you mean `timeout_secs`? the fields are: \
                 api_key, webhook_secret, timeout_secs, currency, tags, fee",
                "10: unknown field `when`; the fields are: api_key, webhook_secret, \
                 timeout_secs, currency, tags, fee",
                "11: `fee`: must be a finite number (not nan or inf)",
            ]
        );
    }

    #[test]
    fn a_date_is_refused_with_a_message() {
        let errors = problems(
            "[[instance]]\nitem = \"shop:notifier/email\"\nname = \"E\"\n[instance.config]\n\
             smtp_url = 2024-01-01\npassword = { env = \"P\" }\n",
        );
        assert_eq!(
            errors,
            ["5: `smtp_url`: a date or time is not a config value; write it as a string"]
        );
    }

    #[test]
    fn config_on_an_item_without_config_is_refused() {
        let errors = problems(
            "[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \"M\"\n\n\
             [instance.config]\nx = 1\n",
        );
        assert_eq!(
            errors,
            ["5: `shop:payment_gateway/manual` takes no config: remove its `[instance.config]`"]
        );
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let errors = problems(
            "version = 2\n[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \"M\"\n\
             priorty = 3\n",
        );
        assert_eq!(
            errors,
            [
                "1: unknown key `version`; a declared file holds only `[[instance]]` entries",
                "5: unknown key `priorty` in an instance; did you mean `priority`? the keys \
                 are: item, name, scope, status, priority, description, config",
            ]
        );
    }

    #[test]
    fn unknown_items_say_what_exists() {
        let errors = problems(
            r#"[[instance]]
item = "shop:payment_gateway/paypal"
name = "P"

[[instance]]
item = "shop:shipping/dhl"
name = "D"

[[instance]]
item = "payment_gateway/manual"
name = "M"

[[instance]]
item = "nonsense"
name = "N"
"#,
        );
        assert_eq!(
            errors,
            [
                "2: unknown plugin item `paypal` of type `shop:payment_gateway`; known items: \
                 manual, stripe",
                "6: unknown plugin type `shop:shipping`: no linked crate registers it",
                "10: `payment_gateway/manual` is a short key; write the full key \
                 `shop:payment_gateway/manual`",
                "14: `nonsense` is not NAMESPACE:TYPE/ITEM, like shop:payment_gateway/stripe",
            ]
        );
    }

    #[test]
    fn bad_names_scopes_statuses_priorities_and_descriptions() {
        let errors = problems(
            "[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \" padded\"\n\
             scope = \"\"\nstatus = \"enabled\"\npriority = 3000000000\n\
             description = \"nul\\u0000\"\n\n\
             [[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = 3\npriority = 1.5\n",
        );
        assert_eq!(
            errors,
            [
                "3: invalid name: the name must not start or end with spaces",
                "4: invalid scope: the scope must not be empty",
                "5: `enabled` is not a status; use active, reserved or disabled",
                "6: `priority` must be a whole number from -2147483648 to 2147483647 (lower is \
                 preferred)",
                "7: invalid description: the description must not contain control characters \
                 other than line breaks and tabs",
                "11: `name` must be a string",
                "12: `priority` must be a whole number from -2147483648 to 2147483647 (lower \
                 is preferred)",
            ]
        );
    }

    #[test]
    fn missing_item_and_name_are_at_the_entry() {
        let errors = problems("\n[[instance]]\nscope = \"acme\"\n");
        assert_eq!(
            errors,
            [
                "2: this instance has no `item`; write `item = \"NAMESPACE:TYPE/ITEM\"`",
                "2: this instance has no `name`; write `name = \"...\"`",
            ]
        );
    }

    #[test]
    fn an_entry_repeated_names_both_lines() {
        let errors = problems(
            r#"[[instance]]
item = "shop:payment_gateway/manual"
name = "M"
scope = "acme"

[[instance]]
item = "shop:payment_gateway/manual"
name = "M"

[[instance]]
item = "shop:payment_gateway/manual"
name = "M"
scope = "acme"
status = "disabled"
"#,
        );
        assert_eq!(
            errors,
            [
                "10: shop:payment_gateway/manual \"M\" (tenant acme) is declared twice, at lines 1 \
                 and 10: an instance is its item, scope and name"
            ]
        );
    }

    #[test]
    fn every_entry_is_checked_not_the_first_only() {
        let errors = parse(
            "[[instance]]\nitem = \"shop:payment_gateway/x\"\nname = \"A\"\n\
             [[instance]]\nitem = \"shop:payment_gateway/y\"\nname = \"B\"\n\
             [[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \"\"\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 5, 9]);
        assert!(
            errors
                .to_string()
                .starts_with("plugins.toml:2: unknown plugin item `x`")
        );
    }

    #[test]
    fn instance_must_be_an_array_of_tables() {
        assert_eq!(
            problems("[instance]\nitem = \"shop:payment_gateway/manual\"\n"),
            [
                "1: `instance` must be an array of tables: write `[[instance]]` (two brackets) above each entry"
            ]
        );
        assert_eq!(
            problems("instance = [1]\n"),
            ["1: each `instance` is a table: write `[[instance]]` followed by its keys"]
        );
    }

    #[test]
    fn syntax_errors_carry_their_lines() {
        let errors = problems("[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("3: invalid TOML: "), "{errors:?}");
    }

    #[test]
    fn syntax_errors_do_not_quote_the_text() {
        let errors = parse(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
             [instance.config]\napi_key = sk_live_TOPSECRET\nother = \"sk_live_TOPSECRET2\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [5, 6], "{errors}");
        let shown = format!("{errors} {errors:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
    }

    #[test]
    fn integers_in_other_bases_and_with_underscores_are_numbers() {
        let file = parse(
            "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\npriority = -1_000\n\
             [instance.config]\napi_key = { env = \"K\" }\ntimeout_secs = 0x1e\n",
        )
        .expect("valid");
        let entry = &file.entries[0];
        assert_eq!(entry.priority, Some(-1000));
        assert_eq!(
            entry.config.as_ref().and_then(|c| c.get("timeout_secs")),
            Some(&json!(30))
        );
    }
}
