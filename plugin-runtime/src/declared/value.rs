//! An entry's `[instance.config]` table → stored config values, driven by the item's schema:
//! secret fields take only a reference (`{ env = "..." }`, `{ file = "..." }`), stored as
//! `{"$env": ...}` / `{"$file": ...}`; every other field takes its value.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Number, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Collector, Lines};
use crate::config::{ConfigSchema, ConfigValues, FieldSchema, SecretRef};

/// A config table read from the file: the values, the line of each key's value, and the
/// fields already reported (so validation does not report them a second time).
pub(crate) struct ReadConfig {
    pub(crate) values: ConfigValues,
    pub(crate) lines: HashMap<String, usize>,
    pub(crate) reported: Vec<String>,
}

/// The key an operator writes for an environment variable reference.
pub(crate) const ENV: &str = "env";
/// The key an operator writes for a file reference.
pub(crate) const FILE: &str = "file";

/// The message for a secret written as a value (or as anything but a reference). It never
/// quotes what was written.
pub(crate) fn literal_secret(field: &str) -> String {
    format!(
        "`{field}` is a secret: write a reference, `{{ env = \"STRIPE_KEY\" }}` or \
         `{{ file = \"/run/secrets/...\" }}`, never the value"
    )
}

/// Reads `table` against `schema`, recording each problem at its line.
pub(crate) fn read_config(
    schema: &ConfigSchema,
    table: &DeTable<'_>,
    lines: &Lines,
    errors: &mut Collector,
) -> ReadConfig {
    let mut out = ReadConfig {
        values: ConfigValues::new(),
        lines: HashMap::new(),
        reported: Vec::new(),
    };
    for (key, value) in table {
        let key = key.get_ref().as_ref();
        let line = lines.line(value.span().start);
        out.lines.insert(key.to_owned(), line);
        let field = schema
            .fields
            .iter()
            .find(|field| field.name == key || field.aliases.contains(&key));
        let read = match field {
            Some(field) if field.is_secret() => {
                read_reference(field, value.get_ref()).map_err(|message| (line, message))
            }
            Some(field) if is_reference_table(value.get_ref()) => Err((
                line,
                format!(
                    "`{}` is not a secret: only secret fields take a reference; write the value \
                     itself",
                    field.name
                ),
            )),
            Some(field) => read_value(field.name, value, lines),
            // Validation names the unknown key (with a suggestion); its value does not matter.
            None => Ok(Value::Null),
        };
        match read {
            Ok(value) => {
                out.values.insert(key.to_owned(), value);
            }
            Err((at, message)) => {
                errors.add(at, message);
                out.reported
                    .push(field.map_or(key, |field| field.name).to_owned());
            }
        }
    }
    out
}

/// A line and a message.
type Problem = (usize, String);

fn is_reference_table(value: &DeValue<'_>) -> bool {
    matches!(value, DeValue::Table(table) if table.keys().any(|key| {
        matches!(key.get_ref().as_ref(), ENV | FILE)
    }))
}

/// A secret field's value: `{ env = "NAME" }` or `{ file = "/path" }`, as its stored form.
fn read_reference(field: &FieldSchema, value: &DeValue<'_>) -> Result<Value, String> {
    let literal = || literal_secret(field.name);
    let DeValue::Table(table) = value else {
        return Err(literal());
    };
    let mut entries = table.iter();
    let (Some((key, target)), None) = (entries.next(), entries.next()) else {
        return Err(literal());
    };
    let reference = match (key.get_ref().as_ref(), target.get_ref().as_str()) {
        (ENV, Some(name)) => SecretRef::Env(name.to_owned()),
        (FILE, Some(path)) => SecretRef::File(PathBuf::from(path)),
        (ENV | FILE, None) => {
            return Err(format!(
                "`{}`: the reference's `{}` must be a string",
                field.name,
                key.get_ref()
            ));
        }
        _ => return Err(literal()),
    };
    reference
        .check()
        .map_err(|reason| format!("`{}`: {reason}", field.name))?;
    Ok(reference.to_value())
}

/// A value that is not a secret: integers, floats, booleans, strings and arrays of them.
/// Dates and times, tables and nested arrays are no config value.
fn read_value(field: &str, value: &Spanned<DeValue<'_>>, lines: &Lines) -> Result<Value, Problem> {
    let line = lines.line(value.span().start);
    let problem = |message: String| Err((line, format!("`{field}`: {message}")));
    match value.get_ref() {
        DeValue::String(text) => Ok(Value::String(text.to_string())),
        DeValue::Boolean(flag) => Ok(Value::Bool(*flag)),
        DeValue::Integer(integer) => {
            let digits = integer.as_str();
            let radix = integer.radix();
            if let Ok(int) = i64::from_str_radix(digits, radix) {
                Ok(Value::from(int))
            } else if let Ok(int) = u64::from_str_radix(digits, radix) {
                Ok(Value::from(int))
            } else {
                problem("the integer is too large for a config value".to_owned())
            }
        }
        DeValue::Float(float) => match float
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
        {
            Some(number) => Ok(Value::Number(number)),
            None => problem("must be a finite number (not nan or inf)".to_owned()),
        },
        DeValue::Datetime(_) => {
            problem("a date or time is not a config value; write it as a string".to_owned())
        }
        DeValue::Array(items) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Array(_) | DeValue::Table(_) => Err((
                    lines.line(item.span().start),
                    format!("`{field}`: a list holds plain values, not lists or tables"),
                )),
                _ => read_value(field, item, lines),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        DeValue::Table(_) => problem("a table is not a config value".to_owned()),
    }
}
