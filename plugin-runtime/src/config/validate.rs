//! Schema-driven validation of stored values: types, required fields, number bounds, string
//! lengths, choices, URLs, e-mail addresses and patterns, with every field's error at once.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use super::ConfigValues;
use super::error::ConfigErrors;
use super::field::describe_value;
use super::reference::reference_problems;
use super::schema::{ConfigSchema, FieldKind, FieldSchema};

/// The message for a required field with no value, shared by form parsing and validation.
pub(crate) const REQUIRED: &str = "this field is required";

/// The stored value of `field` in `values`: under its name, else under its first alias
/// present (configs stored before a rename), else `None`.
pub fn lookup<'v>(values: &'v ConfigValues, field: &FieldSchema) -> Option<&'v Value> {
    values
        .get(field.name)
        .or_else(|| field.aliases.iter().find_map(|alias| values.get(*alias)))
}

/// The value a field effectively has: the stored one, else its default, else `None` (absent).
/// A stored `null` counts as absent unless the field is optional.
pub(crate) fn effective(values: &ConfigValues, field: &FieldSchema) -> Option<Value> {
    match lookup(values, field) {
        Some(Value::Null) if field.optional => Some(Value::Null),
        Some(Value::Null) | None => field.default.map(|default| default.to_value()),
        Some(value) => Some(value.clone()),
    }
}

/// Why `key` names no field of `schema` (nor an alias of one), if it does not: the closest
/// field as a suggestion and the list of fields. Every write path (a JSON config, values set
/// in code, `--set` on the command line) reports an unknown key with this message, so a
/// misspelled key is an error instead of a field that silently keeps its default.
pub fn unknown_field(schema: &ConfigSchema, key: &str) -> Option<String> {
    let known = |field: &FieldSchema| field.name == key || field.aliases.contains(&key);
    if schema.fields.iter().any(known) {
        return None;
    }
    let names: Vec<&str> = schema.fields.iter().map(|field| field.name).collect();
    let suggestion = closest(key, &names)
        .map(|name| format!("did you mean `{name}`? "))
        .unwrap_or_default();
    let fields = if names.is_empty() {
        "this config has no fields".to_owned()
    } else {
        format!("the fields are: {}", names.join(", "))
    };
    Some(format!(
        "unknown field `{}`; {suggestion}{fields}",
        crate::keys::truncate(key)
    ))
}

/// The name closest to a misspelling, if it is close enough to be a likely typo (a different
/// case counts as close).
pub(crate) fn closest<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_lowercase();
    names
        .iter()
        .map(|name| (strsim::levenshtein(&lower, &name.to_lowercase()), *name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 3))
        .min()
        .map(|(_, name)| name)
}

/// Checks `values` against `schema`: every field's problems at once, unknown keys first,
/// then the fields in order.
///
/// This is what [`PluginConfig::validate`](crate::PluginConfig::validate) runs on a config's
/// values; the admin can run it on values that have no Rust type at hand.
pub fn validate_values(schema: &ConfigSchema, values: &ConfigValues) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::new();
    for key in values.keys() {
        if let Some(message) = unknown_field(schema, key) {
            errors.add(key.as_str(), message);
        }
    }
    for field in schema.fields {
        match effective(values, field) {
            None if field.required => errors.add(field.name, REQUIRED),
            None => {}
            Some(value) => {
                for message in check_value(field, &value) {
                    errors.add(field.name, message);
                }
            }
        }
    }
    errors.into_result(())
}

/// The problems of one present value: its JSON type for the field's kind, then the field's
/// constraints. Empty when the value is fine.
///
/// A secret field may hold a [`SecretRef`](super::SecretRef) instead of its value: a
/// well-formed one passes without the field's constraints, which apply to the value it names
/// (checked when the typed config is built from resolved values). A reference-shaped object in
/// any other field, or a malformed one, is a problem.
pub fn check_value(field: &FieldSchema, value: &Value) -> Vec<String> {
    if value.is_null() {
        return if field.optional {
            Vec::new()
        } else {
            vec![REQUIRED.to_owned()]
        };
    }
    if let Some(problems) = reference_problems(field, value) {
        return problems;
    }
    let mut problems = Vec::new();
    match (field.kind, value) {
        (kind, Value::String(text)) if kind.is_text() => check_text(field, text, &mut problems),
        // `30.0` counts as a whole number, as it does when a typed field reads it.
        (FieldKind::Integer, Value::Number(number))
            if number.as_f64().is_some_and(|float| float.fract() == 0.0) =>
        {
            check_number(field, number.as_f64().unwrap_or(f64::NAN), &mut problems);
        }
        (FieldKind::Float, Value::Number(number)) => {
            check_number(field, number.as_f64().unwrap_or(f64::NAN), &mut problems);
        }
        (FieldKind::Bool, Value::Bool(_)) => {}
        (FieldKind::ListOfText, Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(text) => check_text(field, text, &mut problems),
                    other => problems.push(format!(
                        "expected a list of text, found a list holding {}",
                        describe_value(other)
                    )),
                }
            }
        }
        (kind, other) => problems.push(format!(
            "expected {}, found {}",
            kind.describe(),
            describe_value(other)
        )),
    }
    problems
}

fn check_number(field: &FieldSchema, number: f64, problems: &mut Vec<String>) {
    if !number.is_finite() {
        problems.push("must be a finite number".to_owned());
        return;
    }
    if let Some(min) = field.min.filter(|&min| number < min) {
        problems.push(format!("must be at least {min}"));
    }
    if let Some(max) = field.max.filter(|&max| number > max) {
        problems.push(format!("must be at most {max}"));
    }
}

fn check_text(field: &FieldSchema, text: &str, problems: &mut Vec<String>) {
    let length = text.chars().count();
    if let Some(min) = field.min_length.filter(|&min| length < min) {
        problems.push(format!("must be at least {min} characters long"));
    }
    if let Some(max) = field.max_length.filter(|&max| length > max) {
        problems.push(format!("must be at most {max} characters long"));
    }
    match field.kind {
        FieldKind::Choice(choices) if !choices.contains(&text) => {
            let listed: Vec<String> = choices
                .iter()
                .map(|choice| format!("\"{choice}\""))
                .collect();
            problems.push(format!("must be one of {}", listed.join(", ")));
        }
        FieldKind::Url if !is_http_url(text) => {
            problems.push("must be an http:// or https:// URL with a host".to_owned());
        }
        FieldKind::Email if !is_email(text) => {
            problems.push("must be an e-mail address like name@example.com".to_owned());
        }
        _ => {}
    }
    if let Some(pattern) = field.pattern {
        match compiled(pattern) {
            Ok(regex) if regex.is_match(text) => {}
            Ok(_) => problems.push(format!("must match the pattern `{pattern}`")),
            Err(error) => problems.push(format!(
                "cannot be checked: the field's pattern `{pattern}` is not a valid regular expression ({error})"
            )),
        }
    }
}

/// Compiles `pattern` once per process; later calls reuse the compiled regex (or the error).
fn compiled(pattern: &'static str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Result<Regex, String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(pattern)
        .or_insert_with(|| Regex::new(pattern).map_err(|error| error_summary(&error.to_string())))
        .clone()
}

/// The last line of a `regex` error, which says what is wrong (the lines above repeat the
/// pattern with a caret under the problem, which does not fit in a one-line message).
fn error_summary(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_owned()
}

/// Problems with the schema itself that the compiler could not see (today: a `pattern` that is
/// not a valid regular expression), so a registry can refuse to start instead of failing every
/// later validation of that field.
pub fn check_schema(schema: &ConfigSchema) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::new();
    for field in schema.fields {
        if let Some(Err(error)) = field.pattern.map(compiled) {
            errors.add(
                field.name,
                format!(
                    "`{}`: #[config(pattern = \"{}\")] is not a valid regular expression: {error}",
                    schema.name,
                    field.pattern.unwrap_or_default()
                ),
            );
        }
    }
    errors.into_result(())
}

/// `http://` or `https://`, then a non-empty host (a DNS name, IPv4 or bracketed IPv6), an
/// optional numeric port, and no whitespace anywhere. Deliberately stricter than RFC 3986:
/// plugin endpoints are web services.
pub(crate) fn is_http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return false;
    };
    // Characters a URL must percent-encode (RFC 3986): unencoded, they are how a value breaks
    // out of an attribute or a header it is later written into.
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"<>`{}|\\^".contains(c))
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((ipv6, after)) if !ipv6.is_empty() && ipv6.contains(':') => {
                let valid = ipv6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
                if !valid {
                    return false;
                }
                (ipv6, after.strip_prefix(':'))
            }
            _ => return false,
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port_ok = port.is_none_or(|port| !port.is_empty() && port.parse::<u16>().is_ok());
    // A trailing dot (a fully qualified name) is allowed once.
    let name = host.strip_suffix('.').unwrap_or(host);
    let host_ok = host.contains(':')
        || (!name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    port_ok && host_ok
}

/// One `@` between a non-empty local part and a domain of at least two dot-separated labels,
/// no whitespace: a structural check, not a deliverability one.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::DefaultValue;
    use serde_json::json;

    static FIELDS: [FieldSchema; 6] = [
        FieldSchema::new("key", "Key", FieldKind::Secret).with_min_length(8),
        FieldSchema::new("timeout", "Timeout", FieldKind::Integer)
            .with_default(DefaultValue::Integer(30))
            .with_min(1.0)
            .with_max(300.0),
        FieldSchema::new("currency", "Currency", FieldKind::Choice(&["usd", "eur"])),
        FieldSchema::new("site", "Site", FieldKind::Url).with_aliases(&["endpoint"]),
        FieldSchema::new("mail", "Mail", FieldKind::Email)
            .with_optional(true)
            .with_required(false),
        FieldSchema::new("code", "Code", FieldKind::Text).with_pattern("^[A-Z]{3}$"),
    ];
    static SCHEMA: ConfigSchema = ConfigSchema::new("Demo", &FIELDS);

    fn values(value: Value) -> ConfigValues {
        match value {
            Value::Object(map) => map,
            _ => ConfigValues::new(),
        }
    }

    #[test]
    fn a_misspelled_key_is_an_error_naming_the_field_it_resembles() {
        let errors = validate_values(&SCHEMA, &values(json!({"Timeout": 3}))).unwrap_err();
        let message = &errors.errors()[0];
        assert_eq!(message.field, "Timeout");
        assert!(
            message
                .message
                .starts_with("unknown field `Timeout`; did you mean `timeout`?"),
            "{message}"
        );
        assert!(message.message.contains("the fields are: "), "{message}");
        assert_eq!(
            unknown_field(&SCHEMA, "zzzzzzzzzz").map(|m| m.contains("did you mean")),
            Some(false)
        );
    }

    #[test]
    fn valid_values_pass_and_defaults_and_aliases_apply() {
        let ok = values(json!({
            "key": "12345678", "currency": "eur", "endpoint": "https://api.example.com",
            "mail": null, "code": "ABC"
        }));
        assert_eq!(validate_values(&SCHEMA, &ok), Ok(()));
    }

    #[test]
    fn every_field_error_is_reported() {
        let bad = values(json!({
            "key": "short", "timeout": 0, "currency": "gbp", "site": "ftp://x",
            "mail": "not-an-address", "code": "abcd"
        }));
        let errors = validate_values(&SCHEMA, &bad).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["key", "timeout", "currency", "site", "mail", "code"]
        );
        assert_eq!(errors.errors()[1].message, "must be at least 1");
        assert_eq!(
            errors.errors()[2].message,
            "must be one of \"usd\", \"eur\""
        );
    }

    #[test]
    fn missing_and_wrong_types() {
        let errors = validate_values(&SCHEMA, &values(json!({"timeout": "30"}))).unwrap_err();
        let messages: Vec<String> = errors.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(
            messages,
            [
                "key: this field is required",
                "timeout: expected a whole number, found text",
                "currency: this field is required",
                "site: this field is required",
                "code: this field is required",
            ]
        );
    }

    #[test]
    fn a_reference_in_a_secret_field_passes_without_its_constraints() {
        // `key` needs 8 characters: the reference is not the value, so its length is not
        // checked; the value it names is, when the typed config is built.
        for reference in [json!({"$env": "K"}), json!({"$file": "/run/secrets/k"})] {
            let ok = values(json!({
                "key": reference, "currency": "usd", "site": "https://x.example", "code": "ABC"
            }));
            assert_eq!(validate_values(&SCHEMA, &ok), Ok(()));
        }
    }

    #[test]
    fn a_reference_in_a_field_that_is_not_secret_is_refused() {
        let bad = values(json!({
            "key": "12345678", "currency": {"$env": "CURRENCY"}, "site": "https://x.example",
            "code": {"$file": "/run/code"}
        }));
        let errors = validate_values(&SCHEMA, &bad).unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["currency", "code"]);
        for error in errors.errors() {
            assert!(
                error
                    .message
                    .starts_with("only a secret field may hold a reference"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_malformed_reference_in_a_secret_field_is_refused() {
        for (reference, expected) in [
            (
                json!({"$env": "K", "$file": "/k"}),
                "a reference is exactly one of",
            ),
            (json!({"$env": 7}), "a reference is exactly one of"),
            (
                json!({"$env": ""}),
                "the environment variable's name is empty",
            ),
            (json!({"$file": "relative/k"}), "must be an absolute path"),
        ] {
            let bad = values(json!({
                "key": reference, "currency": "usd", "site": "https://x.example", "code": "ABC"
            }));
            let errors = validate_values(&SCHEMA, &bad).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors}");
            assert_eq!(errors.errors()[0].field, "key");
            assert!(errors.errors()[0].message.contains(expected), "{errors}");
        }
    }

    #[test]
    fn other_objects_in_a_secret_field_are_still_the_wrong_type() {
        let problems = check_value(&FIELDS[0], &json!({"env": "K"}));
        assert_eq!(problems, ["expected text, found an object"]);
    }

    #[test]
    fn urls() {
        for good in [
            "https://api.stripe.com",
            "http://localhost:8080/x?y#z",
            "HTTPS://user:pw@example.com.",
            "http://[::1]:80/",
            "http://10.0.0.1",
            "https://example.com/search?q=%22quoted%22&x=%3Cb%3E",
        ] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "",
            "https://",
            "ftp://x.com",
            "https:///path",
            "http://exa mple.com",
            "http://x:99999",
            "http://x:",
            "http://-x.com",
            "http://a..b",
            "http://[zz]",
            "example.com",
            "https://example.com/\"onmouseover=\"x",
            "https://example.com/<script>",
            "https://example.com/a>b",
            "https://example.com/{x}",
            "https://example.com/back\\slash",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_email("ops@example.com") && is_email("a.b+c@mail.example.co"));
        for bad in [
            "",
            "@x.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_patterns_are_reported_not_panicked() {
        static BAD: [FieldSchema; 1] =
            [FieldSchema::new("code", "Code", FieldKind::Text).with_pattern("([a-z")];
        static BAD_SCHEMA: ConfigSchema = ConfigSchema::new("Bad", &BAD);
        let err = check_schema(&BAD_SCHEMA).unwrap_err();
        assert!(
            err.errors()[0]
                .message
                .contains("not a valid regular expression")
        );
        let problems = check_value(&BAD[0], &json!("abc"));
        assert!(problems[0].starts_with("cannot be checked"));
        assert_eq!(check_schema(&SCHEMA), Ok(()));
    }
}
