//! Stored instances → a declared file: how an operator starts managing existing instances as
//! code. Secrets are never written: a secret stored as a reference is written as that
//! reference, a stored value as a placeholder reference with a comment.

use std::collections::HashSet;
use std::fmt::Write;
use std::time::SystemTime;

use serde_json::Value;

use super::value::{ENV, FILE};
use crate::config::{ConfigValues, SecretRef};
use crate::instance::InstanceRecord;
use crate::registry::Registry;

/// [`export_at`] now.
pub fn export(instances: &[(InstanceRecord, Option<ConfigValues>)], registry: &Registry) -> String {
    export_at(instances, registry, SystemTime::now())
}

/// Writes `instances` (each with its opened config, `None` when it has none or it could not be
/// opened) as a declared file that [`DeclaredFile::parse`](super::DeclaredFile::parse) reads
/// back to the same entries, stamped as exported `at`.
///
/// - Entries are sorted by item, scope and name, so two exports of the same store are the same
///   text (apart from the header's time) and diff well.
/// - Every field is written: item, name, scope (tenants' instances), status, priority,
///   description (when not empty), and each config field the stored config holds (under its
///   current name, also when stored under a former one). A field the stored config leaves out
///   is left out: it keeps taking its default.
/// - A secret field stored as a reference is written as that reference. One stored as a value
///   is written as a placeholder reference, `{ env = "PLUGIN_<SCOPE>_<NAME>_<FIELD>" }` (scope
///   only for a tenant's instance; each part upper-cased, every run of other characters than
///   ASCII letters and digits made one `_`; a `_2`, `_3`... suffix when two would be the same),
///   with a comment on that line saying the value was not exported and which variable to set.
///   Applying the file unchanged stores the reference in place of the value.
/// - Instances whose item is not registered in this binary are skipped, each with a comment.
pub fn export_at(
    instances: &[(InstanceRecord, Option<ConfigValues>)],
    registry: &Registry,
    at: SystemTime,
) -> String {
    let mut sorted: Vec<&(InstanceRecord, Option<ConfigValues>)> = instances.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| {
        (&a.meta.item, &a.meta.scope, &a.meta.name).cmp(&(
            &b.meta.item,
            &b.meta.scope,
            &b.meta.name,
        ))
    });
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Plugin instances exported by plugin-system {} at {} (UTC).",
        env!("CARGO_PKG_VERSION"),
        crate::utc_text(at)
    );
    let _ = writeln!(
        out,
        "# {} instance{}; secrets are references, never values: set each placeholder variable \
         named below, or change it to the reference you use.",
        sorted.len(),
        if sorted.len() == 1 { "" } else { "s" }
    );
    let mut placeholders = HashSet::new();
    for (record, config) in sorted {
        let meta = &record.meta;
        let Ok(item) = registry.item(&meta.item) else {
            let _ = writeln!(
                out,
                "\n# skipped: {} (id {}): its item is not registered in this binary",
                one_line(&super::describe(
                    &meta.item,
                    meta.scope.as_deref(),
                    &meta.name
                )),
                meta.id
            );
            continue;
        };
        out.push_str("\n[[instance]]\n");
        let _ = writeln!(out, "item = {}", toml_string(&meta.item.to_string()));
        let _ = writeln!(out, "name = {}", toml_string(&meta.name));
        if let Some(scope) = &meta.scope {
            let _ = writeln!(out, "scope = {}", toml_string(scope));
        }
        let _ = writeln!(out, "status = \"{}\"", meta.status.as_str());
        let _ = writeln!(out, "priority = {}", meta.priority);
        if !record.description.is_empty() {
            let _ = writeln!(out, "description = {}", toml_string(&record.description));
        }
        let Some(schema) = item.schema() else {
            continue;
        };
        let Some(values) = config else {
            out.push_str(
                "# its config was not exported (none is stored, or it could not be opened): \
                 write its fields in an [instance.config] table\n",
            );
            continue;
        };
        let mut lines = Vec::new();
        for field in schema.fields {
            let stored = std::iter::once(field.name)
                .chain(field.aliases.iter().copied())
                .find_map(|key| values.get(key));
            let Some(value) = stored else {
                continue;
            };
            if value.is_null() {
                lines.push(format!(
                    "# {} is unset (TOML has no null): it takes its default",
                    field.name
                ));
                continue;
            }
            if field.is_secret() {
                lines.push(match SecretRef::from_value(value) {
                    Some(reference) => format!("{} = {}", field.name, reference_table(&reference)),
                    None => {
                        let variable = unique(
                            &mut placeholders,
                            placeholder(meta.scope.as_deref(), &meta.name, field.name),
                        );
                        format!(
                            "{} = {{ {ENV} = {} }}  # not exported: set {variable} to the value",
                            field.name,
                            toml_string(&variable)
                        )
                    }
                });
                continue;
            }
            lines.push(match toml_value(value) {
                Some(text) => format!("{} = {text}", field.name),
                None => format!(
                    "# {} was not exported: its stored value has no TOML form",
                    field.name
                ),
            });
        }
        if !lines.is_empty() {
            out.push_str("[instance.config]\n");
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// `text` with every control character (a line break would end the comment) as a space.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `{ env = "NAME" }` or `{ file = "/path" }`.
fn reference_table(reference: &SecretRef) -> String {
    match reference {
        SecretRef::Env(name) => format!("{{ {ENV} = {} }}", toml_string(name)),
        SecretRef::File(path) => {
            format!("{{ {FILE} = {} }}", toml_string(&path.to_string_lossy()))
        }
    }
}

/// `PLUGIN_<SCOPE>_<NAME>_<FIELD>`, each part upper snake case.
fn placeholder(scope: Option<&str>, name: &str, field: &str) -> String {
    let mut parts = vec!["PLUGIN".to_owned()];
    parts.extend(scope.map(upper_snake));
    parts.push(upper_snake(name));
    parts.push(upper_snake(field));
    parts.retain(|part| !part.is_empty());
    parts.join("_")
}

/// `Stripe (EU)` → `STRIPE_EU`.
fn upper_snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// `name`, or `name_2`, `name_3`... when taken.
fn unique(taken: &mut HashSet<String>, name: String) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}_{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// A JSON value as a TOML value, when it has one (no null, no object, no integer beyond
/// 64-bit signed).
fn toml_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(toml_string(text)),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                Some(int.to_string())
            } else if number.is_f64() {
                // `{:?}` keeps a fraction or an exponent (`30.0`, `1e-7`), so it reads back as
                // a float.
                number.as_f64().map(|float| format!("{float:?}"))
            } else {
                None
            }
        }
        Value::Array(items) => {
            let items: Option<Vec<String>> = items
                .iter()
                .map(|item| match item {
                    Value::Array(_) | Value::Object(_) => None,
                    other => toml_value(other),
                })
                .collect();
            items.map(|items| format!("[{}]", items.join(", ")))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::json;

    use super::*;
    use crate::declared::DeclaredFile;
    use crate::declared::test_registry::registry;
    use crate::instance::InstanceMeta;
    use crate::keys::{InstanceId, Status};

    fn record(item: &str, scope: Option<&str>, name: &str) -> InstanceRecord {
        InstanceRecord {
            meta: InstanceMeta {
                id: InstanceId::new(),
                name: name.into(),
                item: item.parse().expect("a key"),
                status: Status::Active,
                priority: 10,
                scope: scope.map(Into::into),
                version: 1,
            },
            description: String::new(),
            sealed_config: None,
            orphaned: false,
            managed_by: None,
            created_at: UNIX_EPOCH,
            updated_at: UNIX_EPOCH,
        }
    }

    fn values(value: Value) -> Option<ConfigValues> {
        value.as_object().cloned()
    }

    const STRIPE: &str = "shop:payment_gateway/stripe";

    /// Instances as a store holds them, out of order, with every kind of value.
    fn instances() -> Vec<(InstanceRecord, Option<ConfigValues>)> {
        let mut reserved = record(STRIPE, Some("acme"), "Stripe \"EU\"");
        reserved.meta.status = Status::Reserved;
        reserved.meta.priority = -3;
        reserved.description = "line one\nline two\ttabbed \\ slash".into();
        let mut manual = record("shop:payment_gateway/manual", None, "Manual");
        manual.meta.status = Status::Disabled;
        vec![
            (
                reserved,
                values(json!({
                    "api_key": {"$env": "STRIPE_KEY"},
                    "webhook_secret": {"$file": "/run/secrets/hook"},
                    "timeout_secs": 45,
                    "currency": "eur",
                    "tags": ["a", "b \"c\""],
                    "fee": 2.0,
                })),
            ),
            (manual, None),
            (
                record("shop:notifier/email", None, "Mail"),
                values(json!({
                    "smtp_url": "https://mail.example.com",
                    "password": {"$env": "MAIL_PASSWORD"},
                    "tls": true,
                })),
            ),
        ]
    }

    fn parse(text: &str) -> DeclaredFile {
        match DeclaredFile::parse("export.toml", text, registry()) {
            Ok(file) => file,
            Err(errors) => panic!("{errors}\n---\n{text}"),
        }
    }

    #[test]
    fn an_export_reads_back_to_the_same_entries() {
        let instances = instances();
        let text = export(&instances, registry());
        let file = parse(&text);
        let mut expected: Vec<&(InstanceRecord, Option<ConfigValues>)> = instances.iter().collect();
        expected.sort_by_key(|(record, _)| {
            (
                record.meta.item.clone(),
                record.meta.scope.clone(),
                record.meta.name.clone(),
            )
        });
        assert_eq!(file.entries.len(), expected.len());
        for (entry, (record, config)) in file.entries.iter().zip(expected) {
            assert_eq!(entry.item, record.meta.item);
            assert_eq!(entry.name, record.meta.name);
            assert_eq!(entry.scope, record.meta.scope);
            assert_eq!(entry.status, record.meta.status);
            assert_eq!(entry.priority, Some(record.meta.priority));
            assert_eq!(entry.description, record.description);
            assert_eq!(&entry.config, config, "{text}");
        }
    }

    #[test]
    fn entries_are_sorted_and_the_text_is_deterministic() {
        let mut instances = instances();
        let at = UNIX_EPOCH + Duration::from_secs(1_764_613_800);
        let first = export_at(&instances, registry(), at);
        instances.reverse();
        assert_eq!(export_at(&instances, registry(), at), first);
        assert!(first.starts_with("# Plugin instances exported by plugin-system "));
        assert!(first.contains(" at 2025-12-01 18:30:00 (UTC)."), "{first}");
        let items: Vec<&str> = first
            .lines()
            .filter(|line| line.starts_with("item = "))
            .collect();
        assert_eq!(
            items,
            [
                "item = \"shop:notifier/email\"",
                "item = \"shop:payment_gateway/manual\"",
                "item = \"shop:payment_gateway/stripe\"",
            ]
        );
    }

    #[test]
    fn stored_secret_values_become_placeholders_never_values() {
        let mut second = record(STRIPE, None, "Stripe EU");
        second.meta.priority = 11;
        let instances = vec![
            (
                record(STRIPE, Some("acme"), "Stripe (EU)"),
                values(json!({"key": "sk_live_TOPSECRET", "webhook_secret": "whsec_TOPSECRET"})),
            ),
            (second, values(json!({"api_key": "sk_live_TOPSECRET_2"}))),
            (
                record(STRIPE, None, "Stripe-EU"),
                values(json!({"api_key": "sk_live_TOPSECRET_3"})),
            ),
        ];
        let text = export(&instances, registry());
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(
            text.contains(
                "api_key = { env = \"PLUGIN_ACME_STRIPE_EU_API_KEY\" }  # not exported: set \
                 PLUGIN_ACME_STRIPE_EU_API_KEY to the value"
            ),
            "a value stored under a former name is written under the field's name: {text}"
        );
        assert!(
            text.contains("{ env = \"PLUGIN_ACME_STRIPE_EU_WEBHOOK_SECRET\" }"),
            "{text}"
        );
        // "Stripe EU" and "Stripe-EU" would share a variable: the second gets a suffix.
        assert!(
            text.contains("{ env = \"PLUGIN_STRIPE_EU_API_KEY\" }"),
            "{text}"
        );
        assert!(
            text.contains("{ env = \"PLUGIN_STRIPE_EU_API_KEY_2\" }"),
            "{text}"
        );
        let file = parse(&text);
        assert_eq!(
            file.entries[2].config.clone().map(Value::Object),
            Some(json!({
                "api_key": {"$env": "PLUGIN_ACME_STRIPE_EU_API_KEY"},
                "webhook_secret": {"$env": "PLUGIN_ACME_STRIPE_EU_WEBHOOK_SECRET"},
            }))
        );
    }

    #[test]
    fn unregistered_items_are_skipped_with_a_comment() {
        let instances = vec![
            (record("shop:shipping/dhl", None, "DHL"), None),
            (record("shop:payment_gateway/manual", None, "Manual"), None),
        ];
        let text = export(&instances, registry());
        assert!(
            text.contains("# skipped: shop:shipping/dhl \"DHL\" (id "),
            "{text}"
        );
        assert!(text.contains("its item is not registered in this binary"));
        assert_eq!(parse(&text).entries.len(), 1);
    }

    #[test]
    fn names_become_upper_snake_case() {
        assert_eq!(upper_snake("Stripe (EU)"), "STRIPE_EU");
        assert_eq!(upper_snake("  a--b  c "), "A_B_C");
        assert_eq!(upper_snake("Zürich"), "Z_RICH");
        assert_eq!(placeholder(None, "日本", "api_key"), "PLUGIN_API_KEY");
        assert_eq!(placeholder(Some("t-1"), "x", "k"), "PLUGIN_T_1_X_K");
    }

    #[test]
    fn strings_and_values_are_valid_toml() {
        assert_eq!(toml_string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
        assert_eq!(toml_value(&json!(30.0)).as_deref(), Some("30.0"));
        assert_eq!(toml_value(&json!(1e-7)).as_deref(), Some("1e-7"));
        assert_eq!(toml_value(&json!(u64::MAX)), None);
        assert_eq!(toml_value(&json!({"a": 1})), None);
        assert_eq!(
            toml_value(&json!([1, "x", true])).as_deref(),
            Some("[1, \"x\", true]")
        );
        for float in [30.0, 1e-7, 1.5e300, -0.25] {
            let text = format!("x = {}", toml_value(&json!(float)).unwrap_or_default());
            let parsed = toml::de::DeTable::parse(&text).expect("valid TOML");
            let value = parsed
                .get_ref()
                .values()
                .next()
                .map(|v| v.get_ref().is_float());
            assert_eq!(value, Some(true), "{text}");
        }
    }
}
