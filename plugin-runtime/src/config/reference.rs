//! Secret references: a secret field that holds, instead of its value, where to read it from
//! (`{"$env": "STRIPE_KEY"}` or `{"$file": "/run/secrets/stripe"}`).
//!
//! Operators who declare instances in a reviewed file (see [`crate::declared`]) must not write
//! secrets into it, and a secret that lives in the platform's secret store (an environment
//! variable set by the orchestrator, a file mounted by docker or Kubernetes) should stay there.
//! A reference names the place; the value never enters the file, the store or the audit.
//!
//! **When a reference is resolved.** In each process, when the instance is built (at load),
//! by [`resolve_references`]; the resolved value is never stored. The database holds only the
//! reference (sealed like any config), so rotating the secret in the platform takes effect at
//! the next load of each process, and a process that lacks the variable or the file reports
//! that instance unloadable (naming the variable or file, never a value) while the others keep
//! serving.
//!
//! **How a value is read.**
//! - `$env`: the variable's value as is. An unset variable, an empty one and one that is not
//!   UTF-8 are errors: a secret is never empty.
//! - `$file`: the whole file, with **one** trailing `\n` or `\r\n` dropped (docker and
//!   Kubernetes secret files, and most editors, end with one; a second one is kept, it is then
//!   part of the value). An unreadable file (the error says which kind of failure), an empty one
//!   (after that newline), one that is not UTF-8 and one larger than [`MAX_SECRET_FILE`] are
//!   errors. The path must be absolute: processes run from different directories.
//!
//! Validation ([`validate_values`](super::validate_values)) accepts a well-formed reference in
//! a secret field without checking the field's constraints (length, pattern): they apply to the
//! value, and are checked when the typed config is built from resolved values. A
//! reference-shaped object in a field that is not secret is refused.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ConfigValues;
use super::schema::{ConfigSchema, FieldSchema};

/// The stored key of an environment variable reference.
pub const ENV_KEY: &str = "$env";
/// The stored key of a file reference.
pub const FILE_KEY: &str = "$file";
/// The largest secret file read (64 KiB): a path that names a log or a device by mistake is
/// an error, not a process that reads gigabytes or forever.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Where a secret field's value is read from, instead of being stored.
///
/// Printing one (`Display`, `Debug`) shows the variable's name or the file's path, which are
/// not secret: never a value, since a reference holds none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// An environment variable of the process that builds the instance.
    Env(String),
    /// A file (absolute path) read by the process that builds the instance.
    File(PathBuf),
}

impl SecretRef {
    /// The reference a stored value holds: an object with exactly one key, `$env` or `$file`,
    /// whose value is a string. `None` for anything else (a plain value, or a malformed
    /// reference, which [`validate_values`](super::validate_values) reports).
    pub fn from_value(value: &Value) -> Option<SecretRef> {
        let Value::Object(map) = value else {
            return None;
        };
        if map.len() != 1 {
            return None;
        }
        match (map.get(ENV_KEY), map.get(FILE_KEY)) {
            (Some(Value::String(name)), None) => Some(SecretRef::Env(name.clone())),
            (None, Some(Value::String(path))) => Some(SecretRef::File(PathBuf::from(path))),
            _ => None,
        }
    }

    /// The stored form: `{"$env": NAME}` or `{"$file": PATH}`.
    pub fn to_value(&self) -> Value {
        let (key, text) = match self {
            SecretRef::Env(name) => (ENV_KEY, name.clone()),
            SecretRef::File(path) => (FILE_KEY, path.to_string_lossy().into_owned()),
        };
        let mut map = Map::new();
        map.insert(key.to_owned(), Value::String(text));
        Value::Object(map)
    }

    /// Why this reference can never resolve, if it cannot: an empty variable name, a name
    /// with `=` or NUL, a relative or empty path. Checked on every write, so a broken
    /// reference is refused when it is written rather than when a process first loads it.
    pub fn check(&self) -> Result<(), String> {
        match self {
            SecretRef::Env(name) if name.is_empty() => {
                Err("the environment variable's name is empty".to_owned())
            }
            SecretRef::Env(name) if name.contains(['=', '\0']) => Err(format!(
                "`{}` cannot be an environment variable's name (it holds `=` or NUL)",
                crate::keys::truncate(name)
            )),
            SecretRef::File(path) if path.as_os_str().is_empty() => {
                Err("the file's path is empty".to_owned())
            }
            SecretRef::File(path) if !path.is_absolute() => Err(format!(
                "the file `{}` must be an absolute path (processes run from different directories)",
                crate::keys::truncate(&path.to_string_lossy())
            )),
            _ => Ok(()),
        }
    }

    /// Reads the value, with the process's environment and file system. The error names the
    /// variable or the file and `field`, never a value.
    pub fn resolve(&self, field: &str) -> Result<String, String> {
        self.resolve_with(field, &|name| std::env::var_os(name))
    }

    /// [`resolve`](Self::resolve) with the environment given (tests pass their own).
    fn resolve_with(
        &self,
        field: &str,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<String, String> {
        self.check()
            .map_err(|reason| format!("the reference of field `{field}` is broken: {reason}"))?;
        match self {
            SecretRef::Env(name) => {
                let what = format!("the environment variable `{name}` (field `{field}`)");
                let value = env(name).ok_or_else(|| format!("{what} is not set"))?;
                let value = value
                    .into_string()
                    .map_err(|_| format!("{what} is not valid UTF-8"))?;
                if value.is_empty() {
                    return Err(format!("{what} is empty: a secret is never empty"));
                }
                Ok(value)
            }
            SecretRef::File(path) => read_secret_file(path, field),
        }
    }
}

/// `env STRIPE_KEY` or `file /run/secrets/stripe`: how plans and reports name a reference.
impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env {name}"),
            SecretRef::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

fn read_secret_file(path: &Path, field: &str) -> Result<String, String> {
    let what = format!("the file `{}` (field `{field}`)", path.display());
    let unreadable = |error: std::io::Error| format!("{what} cannot be read: {}", error.kind());
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{what} is larger than {} KiB: not a secret file",
            MAX_SECRET_FILE / 1024
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))?;
    let kept = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map(str::len);
    if let Some(kept) = kept {
        text.truncate(kept);
    }
    if text.is_empty() {
        return Err(format!("{what} is empty: a secret is never empty"));
    }
    Ok(text)
}

/// What a stored value is, as far as references go.
pub(crate) enum Shape {
    /// Not an object with a `$env` or `$file` key: a plain value.
    Plain,
    /// A well-formed reference.
    Reference(SecretRef),
    /// An object with a `$env` or `$file` key that is not a reference: why.
    Malformed(String),
}

/// Whether `value` is (or tries to be) a reference.
pub(crate) fn shape(value: &Value) -> Shape {
    let Value::Object(map) = value else {
        return Shape::Plain;
    };
    if !map.contains_key(ENV_KEY) && !map.contains_key(FILE_KEY) {
        return Shape::Plain;
    }
    match SecretRef::from_value(value) {
        Some(reference) => match reference.check() {
            Ok(()) => Shape::Reference(reference),
            Err(reason) => Shape::Malformed(reason),
        },
        None => Shape::Malformed(format!(
            "a reference is exactly one of `{{\"{ENV_KEY}\": \"NAME\"}}` or `{{\"{FILE_KEY}\": \"/path\"}}`"
        )),
    }
}

/// The problems of a reference-shaped value in `field`: `None` when the value is not one
/// (check it as a value), `Some(empty)` for a well-formed reference in a secret field.
pub(crate) fn reference_problems(field: &FieldSchema, value: &Value) -> Option<Vec<String>> {
    match (shape(value), field.is_secret()) {
        (Shape::Plain, _) => None,
        (Shape::Reference(_), true) => Some(Vec::new()),
        (Shape::Malformed(reason), true) => Some(vec![reason]),
        (Shape::Reference(_) | Shape::Malformed(_), false) => Some(vec![
            "only a secret field may hold a reference (`$env` or `$file`); write the value itself"
                .to_owned(),
        ]),
    }
}

/// The stored keys a secret field may be under: its name, then its former names.
fn secret_keys(
    schema: &ConfigSchema,
) -> impl Iterator<Item = (&'static FieldSchema, &'static str)> {
    schema
        .fields
        .iter()
        .filter(|field| field.is_secret())
        .flat_map(|field| {
            std::iter::once(field.name)
                .chain(field.aliases.iter().copied())
                .map(move |key| (field, key))
        })
}

/// `values` with every secret reference replaced by the value it names, read now, in this
/// process: call it when an instance is built, on the opened config, before the typed config
/// is made; never store its result.
///
/// A config without references is borrowed back (no copy): this runs on every instance build.
/// On failure the error lists every reference that did not resolve, each naming its variable
/// or file and its field, never a value.
pub fn resolve_references<'v>(
    schema: &ConfigSchema,
    values: &'v ConfigValues,
) -> Result<Cow<'v, ConfigValues>, String> {
    resolve_with(schema, values, &|name| std::env::var_os(name))
}

/// [`resolve_references`] with the environment given.
fn resolve_with<'v>(
    schema: &ConfigSchema,
    values: &'v ConfigValues,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Cow<'v, ConfigValues>, String> {
    let mut resolved: Option<ConfigValues> = None;
    let mut failures = Vec::new();
    for (field, key) in secret_keys(schema) {
        let Some(value) = values.get(key) else {
            continue;
        };
        let reference = match shape(value) {
            Shape::Plain => continue,
            Shape::Reference(reference) => reference,
            Shape::Malformed(reason) => {
                failures.push(format!(
                    "the reference of field `{}` is broken: {reason}",
                    field.name
                ));
                continue;
            }
        };
        match reference.resolve_with(field.name, env) {
            Ok(secret) => {
                resolved
                    .get_or_insert_with(|| values.clone())
                    .insert(key.to_owned(), Value::String(secret));
            }
            Err(failure) => failures.push(failure),
        }
    }
    if !failures.is_empty() {
        return Err(failures.join("; "));
    }
    Ok(resolved.map_or(Cow::Borrowed(values), Cow::Owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::FieldKind;
    use serde_json::json;

    static FIELDS: [FieldSchema; 3] = [
        FieldSchema::new("api_key", "Api key", FieldKind::Secret)
            .with_min_length(8)
            .with_aliases(&["key"]),
        FieldSchema::new("webhook", "Webhook", FieldKind::Secret)
            .with_optional(true)
            .with_required(false),
        FieldSchema::new("timeout", "Timeout", FieldKind::Integer),
    ];
    static SCHEMA: ConfigSchema = ConfigSchema::new("Demo", &FIELDS);

    fn values(value: Value) -> ConfigValues {
        value.as_object().cloned().unwrap_or_default()
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    /// A file in the temp directory, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn with(bytes: &[u8]) -> TempFile {
            let path = std::env::temp_dir().join(format!("secret-ref-{}", uuid::Uuid::new_v4()));
            std::fs::write(&path, bytes).expect("temp file written");
            TempFile(path)
        }

        fn reference(&self) -> SecretRef {
            SecretRef::File(self.0.clone())
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn references_round_trip_through_stored_values_and_display() {
        let env = SecretRef::Env("STRIPE_KEY".into());
        assert_eq!(env.to_value(), json!({"$env": "STRIPE_KEY"}));
        assert_eq!(SecretRef::from_value(&env.to_value()), Some(env.clone()));
        assert_eq!(env.to_string(), "env STRIPE_KEY");
        let file = SecretRef::File("/run/secrets/stripe".into());
        assert_eq!(file.to_value(), json!({"$file": "/run/secrets/stripe"}));
        assert_eq!(SecretRef::from_value(&file.to_value()), Some(file.clone()));
        assert_eq!(file.to_string(), "file /run/secrets/stripe");
    }

    #[test]
    fn only_one_string_under_one_key_is_a_reference() {
        for not_one in [
            json!("STRIPE_KEY"),
            json!({"env": "X"}),
            json!({"$env": 3}),
            json!({"$env": "X", "$file": "/y"}),
            json!({"$env": "X", "other": 1}),
            json!({}),
        ] {
            assert_eq!(SecretRef::from_value(&not_one), None, "{not_one}");
        }
    }

    #[test]
    fn broken_references_are_refused_by_check() {
        assert!(SecretRef::Env(String::new()).check().is_err());
        assert!(SecretRef::Env("A=B".into()).check().is_err());
        assert!(SecretRef::File("".into()).check().is_err());
        let relative = SecretRef::File("secrets/stripe".into())
            .check()
            .unwrap_err();
        assert!(relative.contains("absolute"), "{relative}");
        assert_eq!(SecretRef::Env("STRIPE_KEY".into()).check(), Ok(()));
    }

    #[test]
    fn values_without_references_are_borrowed_not_copied() {
        let plain = values(json!({"api_key": "sk_live_12345678", "timeout": 3}));
        let out = resolve_with(&SCHEMA, &plain, &env_of(&[])).expect("resolves");
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(*out, plain);
    }

    #[test]
    fn env_references_resolve_under_names_and_aliases() {
        let stored = values(json!({
            "key": {"$env": "STRIPE_KEY"},
            "webhook": {"$env": "HOOK"},
            "timeout": 3,
        }));
        let env = env_of(&[("STRIPE_KEY", "sk_live_12345678"), ("HOOK", "whsec")]);
        let out = resolve_with(&SCHEMA, &stored, &env).expect("resolves");
        assert_eq!(
            Value::Object(out.into_owned()),
            json!({"key": "sk_live_12345678", "webhook": "whsec", "timeout": 3})
        );
    }

    #[test]
    fn an_unset_variable_is_named_with_its_field() {
        let stored = values(json!({"api_key": {"$env": "STRIPE_KEY"}}));
        let err = resolve_with(&SCHEMA, &stored, &env_of(&[])).unwrap_err();
        assert_eq!(
            err,
            "the environment variable `STRIPE_KEY` (field `api_key`) is not set"
        );
    }

    #[test]
    fn an_empty_variable_is_refused() {
        let stored = values(json!({"api_key": {"$env": "STRIPE_KEY"}}));
        let err = resolve_with(&SCHEMA, &stored, &env_of(&[("STRIPE_KEY", "")])).unwrap_err();
        assert!(
            err.contains("`STRIPE_KEY` (field `api_key`) is empty"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_variable_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStringExt;
        let stored = values(json!({"api_key": {"$env": "STRIPE_KEY"}}));
        let env = |_: &str| Some(OsString::from_vec(vec![0xff, 0xfe, b'k']));
        let err = resolve_with(&SCHEMA, &stored, &env).unwrap_err();
        assert!(err.ends_with("is not valid UTF-8"), "{err}");
        assert!(err.contains("STRIPE_KEY"), "{err}");
    }

    #[test]
    fn every_failing_reference_is_reported_at_once() {
        let stored = values(json!({
            "api_key": {"$env": "STRIPE_KEY"},
            "webhook": {"$file": "/nonexistent/plugin-system/hook"},
        }));
        let err = resolve_with(&SCHEMA, &stored, &env_of(&[])).unwrap_err();
        assert!(
            err.contains("`STRIPE_KEY` (field `api_key`) is not set"),
            "{err}"
        );
        assert!(
            err.contains(
                "the file `/nonexistent/plugin-system/hook` (field `webhook`) cannot be read: entity not found"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_loses_one_trailing_newline_only() {
        for (bytes, expected) in [
            (&b"sk_live_1\n"[..], "sk_live_1"),
            (b"sk_live_1\r\n", "sk_live_1"),
            (b"sk_live_1", "sk_live_1"),
            (b"sk_live_1\n\n", "sk_live_1\n"),
            (b" spaced ", " spaced "),
        ] {
            let file = TempFile::with(bytes);
            assert_eq!(file.reference().resolve("api_key").as_deref(), Ok(expected));
        }
    }

    #[test]
    fn an_empty_file_and_a_lone_newline_are_refused() {
        for bytes in [&b""[..], b"\n", b"\r\n"] {
            let file = TempFile::with(bytes);
            let err = file.reference().resolve("api_key").unwrap_err();
            assert!(err.ends_with("is empty: a secret is never empty"), "{err}");
            assert!(err.contains(&*file.0.to_string_lossy()), "{err}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_or_too_large_is_refused() {
        let binary = TempFile::with(&[0xff, 0xfe, 0x00]);
        let err = binary.reference().resolve("api_key").unwrap_err();
        assert!(err.ends_with("is not valid UTF-8"), "{err}");
        let large = TempFile::with(&vec![b'a'; MAX_SECRET_FILE as usize + 1]);
        let err = large.reference().resolve("api_key").unwrap_err();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        let just_fits = TempFile::with(&vec![b'a'; MAX_SECRET_FILE as usize]);
        assert!(just_fits.reference().resolve("api_key").is_ok());
    }

    #[test]
    fn an_unreadable_file_says_which_kind_of_failure() {
        let dir = std::env::temp_dir();
        let err = SecretRef::File(dir.clone()).resolve("api_key").unwrap_err();
        assert!(err.contains("cannot be read: "), "{err}");
        assert!(err.contains("(field `api_key`)"), "{err}");
    }

    #[test]
    fn no_error_contains_the_secret() {
        // A file whose value is fine but whose sibling reference fails: the message names
        // the failure only.
        let file = TempFile::with(b"sk_live_VERY_SECRET\n");
        let stored = values(json!({
            "api_key": file.reference().to_value(),
            "webhook": {"$env": "MISSING"},
        }));
        let err = resolve_with(&SCHEMA, &stored, &env_of(&[])).unwrap_err();
        assert!(!err.contains("VERY_SECRET"), "{err}");
        let empty = resolve_with(
            &SCHEMA,
            &values(json!({"api_key": {"$env": "K"}})),
            &env_of(&[("K", "")]),
        )
        .unwrap_err();
        assert!(!empty.contains("sk_"), "{empty}");
    }

    #[test]
    fn a_malformed_reference_in_a_secret_field_fails_to_resolve() {
        let stored = values(json!({"api_key": {"$env": "K", "$file": "/x"}}));
        let err = resolve_with(&SCHEMA, &stored, &env_of(&[("K", "v")])).unwrap_err();
        assert!(
            err.contains("the reference of field `api_key` is broken"),
            "{err}"
        );
    }

    #[test]
    fn references_in_fields_that_are_not_secret_are_left_alone() {
        // Validation refuses them; resolution only reads secret fields.
        let stored = values(json!({"timeout": {"$env": "K"}}));
        let out = resolve_with(&SCHEMA, &stored, &env_of(&[("K", "3")])).expect("resolves");
        assert!(matches!(out, Cow::Borrowed(_)));
    }

    #[test]
    fn reference_problems_sort_secret_and_plain_fields() {
        let reference = json!({"$env": "K"});
        assert_eq!(reference_problems(&FIELDS[0], &reference), Some(vec![]));
        assert_eq!(reference_problems(&FIELDS[0], &json!("literal")), None);
        let plain = reference_problems(&FIELDS[2], &reference).expect("a problem");
        assert!(plain[0].starts_with("only a secret field may hold a reference"));
        let malformed = reference_problems(&FIELDS[0], &json!({"$file": 3})).expect("a problem");
        assert!(malformed[0].starts_with("a reference is exactly one of"));
    }
}
