//! The schema of a plugin config: what `#[derive(PluginConfig)]` knows about each field,
//! kept as `'static` data so the admin, the JSON Schema export and validation all read the
//! same description without running user code.

use serde_json::{Number, Value};

/// What kind of value a field holds, which decides how a form input is parsed, how the value
/// is checked and which JSON Schema type it exports as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// Free text (`String`).
    Text,
    /// Text that must never be shown back: hidden in `Debug`, redacted in logs, `writeOnly` in
    /// JSON Schema (`#[config(secret)]`).
    Secret,
    /// A whole number (any Rust integer type; its range is checked when the value is read).
    Integer,
    /// A floating-point number (`f32`, `f64`); must be finite.
    Float,
    /// A checkbox (`bool`); absent means `false`.
    Bool,
    /// One of a fixed list of strings (`#[config(choices("a", "b"))]`).
    Choice(&'static [&'static str]),
    /// An `http://` or `https://` URL with a host (`#[config(url)]`).
    Url,
    /// An e-mail address (`#[config(email)]`).
    Email,
    /// A list of strings (`Vec<String>`); in a form, repeated keys or one value per line.
    ListOfText,
}

impl FieldKind {
    /// Whether values of this kind are JSON strings (text, secret, choice, url, email).
    pub const fn is_text(self) -> bool {
        matches!(
            self,
            Self::Text | Self::Secret | Self::Choice(_) | Self::Url | Self::Email
        )
    }

    /// Whether values of this kind are JSON numbers.
    pub const fn is_number(self) -> bool {
        matches!(self, Self::Integer | Self::Float)
    }

    /// A short human name of the kind, used in error messages ("expected {name}").
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Text | Self::Secret => "text",
            Self::Integer => "a whole number",
            Self::Float => "a number",
            Self::Bool => "true or false",
            Self::Choice(_) => "one of the choices",
            Self::Url => "a URL",
            Self::Email => "an e-mail address",
            Self::ListOfText => "a list of text",
        }
    }
}

/// A field's default, written as a literal in `#[config(default = …)]`.
///
/// It is kept as a `const`-constructible literal (not a `serde_json::Value`) so a whole
/// [`ConfigSchema`] can live in a `static`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DefaultValue {
    /// A string literal.
    Text(&'static str),
    /// An integer literal (the field's own type range is checked when the value is read).
    Integer(i128),
    /// A float literal.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// An array of string literals, for `Vec<String>` fields.
    List(&'static [&'static str]),
}

impl DefaultValue {
    /// The default as a stored JSON value.
    pub fn to_value(&self) -> Value {
        match *self {
            Self::Text(text) => Value::from(text),
            Self::Integer(int) => Number::from_i128(int).map_or(Value::Null, Value::Number),
            Self::Float(float) => Number::from_f64(float).map_or(Value::Null, Value::Number),
            Self::Bool(flag) => Value::Bool(flag),
            Self::List(items) => Value::Array(items.iter().map(|&item| item.into()).collect()),
        }
    }
}

/// One field of a plugin config: everything a form, a validator or a JSON Schema needs.
///
/// Built by generated code with [`FieldSchema::new`] and the `const` `with_*` methods, so new
/// properties can be added without breaking configs derived by older code.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FieldSchema {
    /// The Rust field name, which is also the stored key and the form input name.
    pub name: &'static str,
    /// The label shown to operators (`api_key` → "Api key" unless `#[config(label = …)]`).
    pub label: &'static str,
    /// Help text: the field's doc comment or `#[config(help = …)]`; empty when none.
    pub help: &'static str,
    /// The kind of value.
    pub kind: FieldKind,
    /// The Rust type is an `Option`: an absent or empty value is `None`.
    pub optional: bool,
    /// An operator must supply a value: not optional, no default, no implicit empty value
    /// (booleans default to `false`, lists to empty).
    pub required: bool,
    /// The value used when the field is absent.
    pub default: Option<DefaultValue>,
    /// Smallest allowed number (inclusive).
    pub min: Option<f64>,
    /// Largest allowed number (inclusive).
    pub max: Option<f64>,
    /// Fewest characters allowed in a string.
    pub min_length: Option<usize>,
    /// Most characters allowed in a string.
    pub max_length: Option<usize>,
    /// A regular expression (`regex` crate syntax, unanchored like JSON Schema's `pattern`:
    /// write `^…$` to match the whole value) that strings must match.
    pub pattern: Option<&'static str>,
    /// Former names of the field, read from stored configs written before a rename.
    pub aliases: &'static [&'static str],
}

impl FieldSchema {
    /// A required field with no constraints.
    pub const fn new(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self {
            name,
            label,
            help: "",
            kind,
            optional: false,
            required: true,
            default: None,
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            pattern: None,
            aliases: &[],
        }
    }

    /// Sets the help text.
    pub const fn with_help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }

    /// Marks the field optional (its Rust type is an `Option`).
    pub const fn with_optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// Sets whether an operator must supply a value.
    pub const fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets the default; a field with a default is never required.
    pub const fn with_default(mut self, default: DefaultValue) -> Self {
        self.default = Some(default);
        self.required = false;
        self
    }

    /// Sets the smallest allowed number.
    pub const fn with_min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }

    /// Sets the largest allowed number.
    pub const fn with_max(mut self, max: f64) -> Self {
        self.max = Some(max);
        self
    }

    /// Narrows `min` and `max` to the range the field's Rust type can hold (given by
    /// [`ConfigField::RANGE`](super::ConfigField::RANGE)); bounds of its own that are tighter
    /// stay.
    pub const fn within(mut self, range: Option<(f64, f64)>) -> Self {
        if let Some((low, high)) = range {
            self.min = match self.min {
                Some(own) if own > low => Some(own),
                _ => Some(low),
            };
            self.max = match self.max {
                Some(own) if own < high => Some(own),
                _ => Some(high),
            };
        }
        self
    }

    /// Sets the fewest characters allowed.
    pub const fn with_min_length(mut self, min_length: usize) -> Self {
        self.min_length = Some(min_length);
        self
    }

    /// Sets the most characters allowed.
    pub const fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = Some(max_length);
        self
    }

    /// Sets the regular expression strings must match.
    pub const fn with_pattern(mut self, pattern: &'static str) -> Self {
        self.pattern = Some(pattern);
        self
    }

    /// Sets the former names read from old stored configs.
    pub const fn with_aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// Whether the value must be hidden from logs, `Debug` and the admin's HTML.
    pub const fn is_secret(&self) -> bool {
        matches!(self.kind, FieldKind::Secret)
    }
}

/// The schema of one plugin config type, returned by
/// [`PluginConfig::schema`](crate::PluginConfig::schema).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ConfigSchema {
    /// The config type's name (for messages and the JSON Schema title).
    pub name: &'static str,
    /// The config type's doc comment; empty when none.
    pub description: &'static str,
    /// The fields, in declaration order (the order forms show them).
    pub fields: &'static [FieldSchema],
    /// The version of the config's shape (`#[config(version = N)]`; 1 when not given).
    pub version: u32,
    /// The upgrades from each older version: `upgrades[i]` takes version `i + 1` to `i + 2`.
    pub upgrades: &'static [super::Upgrade],
}

impl ConfigSchema {
    /// A schema with the given fields and no description.
    pub const fn new(name: &'static str, fields: &'static [FieldSchema]) -> Self {
        Self {
            name,
            description: "",
            fields,
            version: 1,
            upgrades: &[],
        }
    }

    /// Sets the description.
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// The field called `name` (not an alias), if any.
    pub fn field(&self, name: &str) -> Option<&'static FieldSchema> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The names of the secret fields, for callers that must keep them out of logs or keep
    /// the stored value when an edit form leaves them empty.
    pub fn secret_fields(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.fields
            .iter()
            .filter(|field| field.is_secret())
            .map(|field| field.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: [FieldSchema; 2] = [
        FieldSchema::new("api_key", "Api key", FieldKind::Secret).with_min_length(8),
        FieldSchema::new("timeout", "Timeout", FieldKind::Integer)
            .with_default(DefaultValue::Integer(30))
            .with_aliases(&["timeout_secs"]),
    ];
    static SCHEMA: ConfigSchema = ConfigSchema::new("Demo", &FIELDS).with_description("A demo.");

    #[test]
    fn builders_are_const_and_default_clears_required() {
        assert!(SCHEMA.fields[0].required);
        assert!(!SCHEMA.fields[1].required);
        assert_eq!(SCHEMA.fields[1].aliases, ["timeout_secs"]);
        assert_eq!(SCHEMA.description, "A demo.");
        assert_eq!(SCHEMA.field("timeout").map(|f| f.name), Some("timeout"));
        assert!(SCHEMA.field("timeout_secs").is_none());
    }

    #[test]
    fn secret_fields_lists_only_secrets() {
        assert_eq!(SCHEMA.secret_fields().collect::<Vec<_>>(), ["api_key"]);
    }

    #[test]
    fn defaults_become_json() {
        assert_eq!(DefaultValue::Integer(-3).to_value(), Value::from(-3));
        assert_eq!(DefaultValue::Text("x").to_value(), Value::from("x"));
        assert_eq!(DefaultValue::Bool(true).to_value(), Value::Bool(true));
        assert_eq!(DefaultValue::Float(1.5).to_value(), Value::from(1.5));
        assert_eq!(
            DefaultValue::List(&["a", "b"]).to_value(),
            serde_json::json!(["a", "b"])
        );
    }
}
