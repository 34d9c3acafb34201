//! The instance form: its metadata fields and the fields generated from the item's config
//! schema, with a summary of the errors at the top and each error beside its field. Config
//! inputs are named `config.<field>` so a config field called `name` or `status` cannot
//! collide with the instance's own fields.

use std::collections::BTreeMap;

use maud::{Markup, html};
use plugin_runtime::config::{
    ConfigSchema, ConfigValues, FieldKind, FieldSchema, FormData, SecretRef,
};
use plugin_runtime::registry::ItemInfo;
use plugin_runtime::{Error, Status};

use crate::csrf::value;
use crate::text::rich;

/// The prefix of config inputs.
const CONFIG: &str = "config.";

/// Inputs to show again (by input name), errors (by input name, or "" for the form), and the
/// secret fields stored as references (by input name).
#[derive(Default)]
pub(crate) struct Filled {
    values: BTreeMap<String, Vec<String>>,
    pub(crate) errors: BTreeMap<String, Vec<String>>,
    /// Where each secret stored as a reference is read from (a variable's name or a file's
    /// path, not secret): what its input says instead of an empty box.
    references: BTreeMap<String, SecretRef>,
}

impl Filled {
    /// What was submitted.
    pub(crate) fn from_form(form: &[(String, String)]) -> Filled {
        let mut filled = Filled::default();
        for (key, value) in form {
            filled
                .values
                .entry(key.clone())
                .or_default()
                .push(value.clone());
        }
        filled
    }

    /// A new instance of `item`: its default priority and the schema's defaults.
    pub(crate) fn defaults(item: &ItemInfo) -> Filled {
        let mut filled = Filled::default();
        filled.set("instance_priority", item.priority().to_string());
        filled.set("instance_status", Status::Active.as_str().to_owned());
        if let Some(schema) = item.schema() {
            for field in schema.fields {
                if let Some(default) = &field.default {
                    filled.set_value(field.name, &default.to_value());
                }
            }
        }
        filled
    }

    /// A stored config, for the edit form.
    pub(crate) fn config(&mut self, values: &ConfigValues) {
        for (name, value) in values {
            self.set_value(name, value);
        }
        self.references(values);
    }

    /// Notes the secrets `stored` holds as references, for their inputs to say so (an edit
    /// form shown again keeps saying it).
    pub(crate) fn references(&mut self, stored: &ConfigValues) {
        for (name, value) in stored {
            if let Some(reference) = SecretRef::from_value(value) {
                self.references.insert(format!("{CONFIG}{name}"), reference);
            }
        }
    }

    pub(crate) fn set(&mut self, input: &str, value: String) {
        self.values.insert(input.to_owned(), vec![value]);
    }

    fn set_value(&mut self, field: &str, value: &serde_json::Value) {
        let texts = match value {
            serde_json::Value::Array(items) => items.iter().map(text_of).collect(),
            other => vec![text_of(other)],
        };
        self.values.insert(format!("{CONFIG}{field}"), texts);
    }

    pub(crate) fn error(&mut self, input: &str, message: impl Into<String>) {
        self.errors
            .entry(input.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether the form had this input.
    pub(crate) fn has(&self, input: &str) -> bool {
        self.values.contains_key(input)
    }

    pub(crate) fn first(&self, input: &str) -> &str {
        self.values
            .get(input)
            .and_then(|values| values.last())
            .map_or("", String::as_str)
    }

    fn all(&self, input: &str) -> &[String] {
        self.values.get(input).map_or(&[], Vec::as_slice)
    }
}

/// A config value as a form shows it.
pub(crate) fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The instance's own fields of a submitted form, typed; the bad ones are errors in `filled`.
pub(crate) struct Meta {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) status: Status,
    pub(crate) priority: i32,
    pub(crate) scope: Option<String>,
}

impl Meta {
    /// Reads the instance fields of `form`, putting each problem beside its input.
    pub(crate) fn read(form: &[(String, String)], filled: &mut Filled) -> Option<Meta> {
        let status = match value(form, "instance_status")
            .unwrap_or("active")
            .parse::<Status>()
        {
            Ok(status) => Some(status),
            Err(err) => {
                filled.error("instance_status", err.to_string());
                None
            }
        };
        let priority = match value(form, "instance_priority")
            .unwrap_or_default()
            .trim()
            .parse()
        {
            Ok(priority) => Some(priority),
            Err(_) => {
                filled.error("instance_priority", "enter a whole number");
                None
            }
        };
        let scope = value(form, "instance_scope")
            .map(str::trim)
            .filter(|scope| !scope.is_empty())
            .map(str::to_owned);
        Some(Meta {
            name: value(form, "instance_name").unwrap_or_default().to_owned(),
            description: value(form, "instance_description")
                .unwrap_or_default()
                .to_owned(),
            status: status?,
            priority: priority?,
            scope,
        })
    }
}

/// The config inputs of a submitted form, as the schema's form data.
pub(crate) fn config_form(form: &[(String, String)]) -> FormData {
    form.iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(CONFIG)?, value.as_str())))
        .collect()
}

/// The config a form submits, validated by the item's schema (errors go beside their
/// fields). On an edit, `stored` fills the secret fields left blank.
pub(crate) fn read_config(
    item: &ItemInfo,
    form: &[(String, String)],
    stored: Option<&ConfigValues>,
    filled: &mut Filled,
) -> Option<ConfigValues> {
    let schema = item.schema()?;
    let mut submitted = config_form(form);
    if let Some(stored) = stored {
        submitted.keep_stored_secrets(schema, stored);
    }
    match plugin_runtime::config::values_from_form(schema, &submitted) {
        Ok(values) => Some(values),
        Err(errors) => {
            let item = item.key().to_string();
            place_error(filled, &Error::InvalidConfig { item, errors });
            None
        }
    }
}

/// Puts the error of a refused write beside its field (or above the form).
pub(crate) fn place_error(filled: &mut Filled, err: &Error) {
    match err {
        Error::DuplicateInstanceName { .. } => {
            filled.error("instance_name", err.to_string());
        }
        Error::InvalidInput { field, reason } => {
            let input = match *field {
                "name" => "instance_name",
                "description" => "instance_description",
                "scope" => "instance_scope",
                "status" => "instance_status",
                "priority" => "instance_priority",
                _ => "",
            };
            filled.error(input, reason.clone());
        }
        Error::InvalidConfig { errors, .. } => {
            for error in errors {
                filled.error(&format!("{CONFIG}{}", error.field), error.message.clone());
            }
        }
        other => filled.error("", other.to_string()),
    }
}

/// What the instance form is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A new instance: every field, the scope too.
    Create,
    /// A stored instance: the scope is fixed, a blank secret keeps the stored one.
    Edit,
    /// A stored instance that cannot be edited here (a declared file manages it): the edit
    /// form's fields, disabled.
    ReadOnly,
}

/// The instance form's fields (the caller wraps them in its `<form>`), after a summary of
/// its errors; see [`Mode`].
pub(crate) fn fields(item: &ItemInfo, filled: &Filled, mode: Mode) -> Markup {
    let editing = mode != Mode::Create;
    let locked = mode == Mode::ReadOnly;
    html! {
        (summary(item, filled))
        fieldset disabled[locked] {
            legend { "Instance" }
            (text_input(filled, "instance_name", "Name", "text", true, None))
            (text_input(filled, "instance_description", "Description", "text", false, Some("What operators should know about it.")))
            div.field {
                label for="instance_status" { "Status" }
                select id="instance_status" name="instance_status" {
                    @for status in Status::ALL {
                        option value=(status.as_str()) selected[filled.first("instance_status") == status.as_str()] {
                            (status.as_str())
                        }
                    }
                }
                div.help { "Active instances serve; reserved ones step in when no active one loads; disabled ones never serve." }
                (errors_of(filled, "instance_status", None))
            }
            (text_input(filled, "instance_priority", "Priority", "number", true, Some("Lower is preferred.")))
            @if !editing {
                (text_input(filled, "instance_scope", "Scope", "text", false, Some("The tenant it belongs to; empty for every tenant.")))
            }
        }
        @if let Some(schema) = item.schema() {
            (config_fields(schema, filled, mode))
        }
    }
}

/// A label as people write it: the words the derive capitalises from field names
/// (`api_key` → "Api key") in their usual spelling ("API key").
pub(crate) fn label(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.to_ascii_lowercase().as_str() {
            "api" => "API".to_owned(),
            "url" => "URL".to_owned(),
            "id" => "ID".to_owned(),
            "smtp" => "SMTP".to_owned(),
            "http" => "HTTP".to_owned(),
            "https" => "HTTPS".to_owned(),
            "otp" => "OTP".to_owned(),
            "sms" => "SMS".to_owned(),
            "ip" => "IP".to_owned(),
            "tls" => "TLS".to_owned(),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The label of an input, for the summary.
fn label_of(item: &ItemInfo, input: &str) -> String {
    let own = match input {
        "instance_name" => "Name",
        "instance_description" => "Description",
        "instance_status" => "Status",
        "instance_priority" => "Priority",
        "instance_scope" => "Scope",
        _ => "",
    };
    if !own.is_empty() {
        return own.to_owned();
    }
    let field = input.strip_prefix(CONFIG).unwrap_or(input);
    item.schema()
        .and_then(|schema| schema.fields.iter().find(|f| f.name == field))
        .map_or_else(|| field.to_owned(), |f| label(f.label))
}

/// "2 problems: …" at the top of a refused form, each linking to its field.
fn summary(item: &ItemInfo, filled: &Filled) -> Markup {
    let count: usize = filled.errors.values().map(Vec::len).sum();
    html! {
        @if count > 0 {
            div.summary role="alert" #errors {
                strong {
                    @if count == 1 { "1 problem; nothing was saved:" } @else { (count) " problems; nothing was saved:" }
                }
                ul {
                    @for (input, errors) in &filled.errors {
                        @for error in errors {
                            li {
                                @if input.is_empty() {
                                    (rich(error))
                                } @else {
                                    a href=(format!("#{input}")) { (label_of(item, input)) } ": " (readable(item, input, error))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn config_fields(schema: &ConfigSchema, filled: &Filled, mode: Mode) -> Markup {
    html! {
        fieldset disabled[mode == Mode::ReadOnly] {
            legend { "Configuration" }
            @if !schema.description.is_empty() {
                p.help { (rich(schema.description)) }
            }
            @for field in schema.fields {
                (config_field(field, filled, mode))
            }
        }
    }
}

fn config_field(field: &FieldSchema, filled: &Filled, mode: Mode) -> Markup {
    let input = format!("{CONFIG}{}", field.name);
    let value = filled.first(&input);
    let required = field.required && !matches!(field.kind, FieldKind::Bool);
    let help_id = format!("{input}-help");
    // A secret stored as a reference says where it is read from (its input never holds it).
    let reference = match (field.kind, mode) {
        (FieldKind::Secret, Mode::Edit | Mode::ReadOnly) => filled.references.get(&input),
        _ => None,
    };
    let has_help = !field.help.is_empty() || reference.is_some();
    html! {
        div.field {
            label for=(input) {
                (rich(&label(field.label)))
                @if required { " *" }
            }
            @match field.kind {
                FieldKind::Secret => {
                    // Never sent back: not the stored secret, not what was typed. A reference
                    // is shown: it names a variable or a file, it holds no value.
                    @let placeholder = match (reference, mode) {
                        (Some(reference), _) => Some(format!("from {reference}")),
                        (None, Mode::Edit) => Some("unchanged unless you type a new one".to_owned()),
                        (None, Mode::ReadOnly) => Some("stored, not shown".to_owned()),
                        (None, Mode::Create) => None,
                    };
                    input type="password" id=(input) name=(input) autocomplete="new-password"
                        aria-describedby=[has_help.then_some(&help_id)]
                        placeholder=[placeholder];
                }
                FieldKind::Bool => {
                    input type="hidden" name=(input) value="false";
                    input type="checkbox" id=(input) name=(input) value="true"
                        aria-describedby=[has_help.then_some(&help_id)]
                        checked[matches!(value, "true" | "on" | "1" | "yes")];
                }
                FieldKind::Choice(choices) => {
                    select id=(input) name=(input) aria-describedby=[has_help.then_some(&help_id)] {
                        @if field.optional || !required {
                            option value="" { "—" }
                        }
                        @for choice in choices {
                            option value=(choice) selected[value == *choice] { (choice) }
                        }
                    }
                }
                FieldKind::ListOfText => {
                    textarea id=(input) name=(input) rows="3" aria-describedby=[has_help.then_some(&help_id)] {
                        (filled.all(&input).join("\n"))
                    }
                }
                kind => {
                    // Left empty, the default applies: the input shows which.
                    input type=(input_type(kind)) id=(input) name=(input) value=(value)
                        placeholder=[field.default.as_ref().map(|default| text_of(&default.to_value()))]
                        aria-describedby=[has_help.then_some(&help_id)]
                        step=[(kind == FieldKind::Float).then_some("any")]
                        min=[field.min] max=[field.max];
                }
            }
            @if has_help || field.kind == FieldKind::ListOfText {
                div.help id=(help_id) {
                    (rich(field.help))
                    @if field.kind == FieldKind::ListOfText { " One per line." }
                    @if let Some(reference) = reference {
                        @if !field.help.is_empty() { " " }
                        span.reference {
                            "Stored as a reference: read from " code { (reference) } " where the instance is built."
                            @if mode == Mode::Edit { " Leave it empty to keep the reference; a value you type replaces it." }
                        }
                    }
                }
            }
            (errors_of(filled, &input, Some(field)))
        }
    }
}

fn input_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Integer | FieldKind::Float => "number",
        FieldKind::Url => "url",
        FieldKind::Email => "email",
        _ => "text",
    }
}

fn text_input(
    filled: &Filled,
    input: &str,
    label: &str,
    kind: &str,
    required: bool,
    help: Option<&str>,
) -> Markup {
    html! {
        div.field {
            label for=(input) { (label) @if required { " *" } }
            input type=(kind) id=(input) name=(input) value=(filled.first(input));
            @if let Some(help) = help { div.help { (help) } }
            (errors_of(filled, input, None))
        }
    }
}

/// An error as a person reads it: a pattern mismatch says what the field expects (its help)
/// rather than showing only the regular expression.
fn readable(item: &ItemInfo, input: &str, error: &str) -> Markup {
    let field = input.strip_prefix(CONFIG).and_then(|name| {
        item.schema()
            .and_then(|schema| schema.fields.iter().find(|f| f.name == name))
    });
    explain(field, error)
}

fn explain(field: Option<&FieldSchema>, error: &str) -> Markup {
    match field.and_then(|field| Some((field, field.pattern?))) {
        Some((field, pattern)) if error.starts_with("must match the pattern") => html! {
            "is not in the expected form"
            @if !field.help.is_empty() { "; expected: " (rich(field.help.trim_end_matches('.'))) }
            " " span.help { "(pattern " code { (pattern) } ")" }
        },
        _ => rich(error),
    }
}

fn errors_of(filled: &Filled, input: &str, field: Option<&FieldSchema>) -> Markup {
    html! {
        @if let Some(errors) = filled.errors.get(input) {
            ul.errors {
                @for error in errors {
                    li { (explain(field, error)) }
                }
            }
        }
    }
}
