//! The instance form: its metadata fields and the fields generated from the item's config
//! schema, with each field's error beside it. Config inputs are named `config.<field>` so a
//! config field called `name` or `status` cannot collide with the instance's own fields.

use std::collections::HashMap;

use maud::{Markup, html};
use plugin_runtime::Status;
use plugin_runtime::config::{ConfigSchema, ConfigValues, FieldKind, FieldSchema, FormData};
use plugin_runtime::registry::ItemInfo;

/// The prefix of config inputs.
const CONFIG: &str = "config.";

/// Inputs to show again (by input name), and errors (by input name, or "" for the form).
#[derive(Default)]
pub(crate) struct Filled {
    values: HashMap<String, Vec<String>>,
    pub(crate) errors: HashMap<String, Vec<String>>,
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

    fn first(&self, input: &str) -> &str {
        self.values
            .get(input)
            .and_then(|values| values.last())
            .map_or("", String::as_str)
    }

    fn all(&self, input: &str) -> &[String] {
        self.values.get(input).map_or(&[], Vec::as_slice)
    }
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The config inputs of a submitted form, as the schema's form data.
pub(crate) fn config_form(form: &[(String, String)]) -> FormData {
    form.iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(CONFIG)?, value.as_str())))
        .collect()
}

/// The first value of an input.
pub(crate) fn value<'a>(form: &'a [(String, String)], input: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == input)
        .map(|(_, value)| value.as_str())
}

/// The instance form's fields (the caller wraps them in its `<form>`). `editing`: secret
/// fields say that blank keeps the stored value.
pub(crate) fn fields(item: &ItemInfo, filled: &Filled, editing: bool) -> Markup {
    html! {
        (errors_of(filled, ""))
        fieldset {
            legend { "Instance" }
            (text_input(filled, "instance_name", "Name", "text", true))
            (text_input(filled, "instance_description", "Description", "text", false))
            div.field {
                label for="instance_status" { "Status" }
                select id="instance_status" name="instance_status" {
                    @for status in [Status::Active, Status::Reserved, Status::Disabled] {
                        option value=(status.as_str()) selected[filled.first("instance_status") == status.as_str()] {
                            (status.as_str())
                        }
                    }
                }
                (errors_of(filled, "instance_status"))
            }
            (text_input(filled, "instance_priority", "Priority (lower is preferred)", "number", true))
            @if !editing {
                (text_input(filled, "instance_scope", "Scope (tenant; empty for global)", "text", false))
            }
        }
        @if let Some(schema) = item.schema() {
            (config_fields(schema, filled, editing))
        }
    }
}

fn config_fields(schema: &ConfigSchema, filled: &Filled, editing: bool) -> Markup {
    html! {
        fieldset {
            legend { "Configuration" }
            @if !schema.description.is_empty() {
                p.help { (schema.description) }
            }
            @for field in schema.fields {
                (config_field(field, filled, editing))
            }
        }
    }
}

fn config_field(field: &FieldSchema, filled: &Filled, editing: bool) -> Markup {
    let input = format!("{CONFIG}{}", field.name);
    let value = filled.first(&input);
    let required = field.required && !matches!(field.kind, FieldKind::Bool);
    html! {
        div.field {
            label for=(input) {
                (field.label)
                @if required { " *" }
            }
            @match field.kind {
                FieldKind::Secret => {
                    // Never sent back: not the stored secret, not what was typed.
                    input type="password" id=(input) name=(input) autocomplete="new-password"
                        placeholder=[editing.then_some("unchanged unless you type a new one")];
                }
                FieldKind::Bool => {
                    input type="hidden" name=(input) value="false";
                    input type="checkbox" id=(input) name=(input) value="true"
                        checked[matches!(value, "true" | "on" | "1" | "yes")];
                }
                FieldKind::Choice(choices) => {
                    select id=(input) name=(input) {
                        @if field.optional || !required {
                            option value="" { "—" }
                        }
                        @for choice in choices {
                            option value=(choice) selected[value == *choice] { (choice) }
                        }
                    }
                }
                FieldKind::ListOfText => {
                    textarea id=(input) name=(input) rows="3" {
                        (filled.all(&input).join("\n"))
                    }
                }
                kind => {
                    input type=(input_type(kind)) id=(input) name=(input) value=(value)
                        step=[(kind == FieldKind::Float).then_some("any")]
                        min=[field.min] max=[field.max];
                }
            }
            @if !field.help.is_empty() {
                div.help { (field.help) }
            }
            (errors_of(filled, &input))
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

fn text_input(filled: &Filled, input: &str, label: &str, kind: &str, required: bool) -> Markup {
    html! {
        div.field {
            label for=(input) { (label) @if required { " *" } }
            input type=(kind) id=(input) name=(input) value=(filled.first(input));
            (errors_of(filled, input))
        }
    }
}

fn errors_of(filled: &Filled, input: &str) -> Markup {
    html! {
        @if let Some(errors) = filled.errors.get(input) {
            ul.errors {
                @for error in errors {
                    li { (error) }
                }
            }
        }
    }
}
