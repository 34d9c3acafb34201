//! Validate: darling receivers → the checked description `expand` turns into code. Every rule
//! that looks at an attribute together with the field's type or another attribute lives here,
//! and every violation is accumulated, never returned early.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Lit, UnOp};

use super::parse::{AsWritten, ConfigInput, FieldInput, Keyed, Upgrades, error_at};

/// A checked config struct.
pub(crate) struct Config {
    pub ident: syn::Ident,
    pub krate: Option<syn::Path>,
    pub description: String,
    pub fields: Vec<Field>,
    /// The config version and its upgrades, in order (none for version 1).
    pub version: Option<(u32, Vec<syn::Path>)>,
}

/// A checked field.
pub(crate) struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    pub name: String,
    pub label: String,
    pub help: String,
    /// The kind set by an attribute; `None` means "the type's own kind".
    pub kind: Option<KindAttr>,
    pub default: Option<Default>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<String>,
    pub aliases: Vec<String>,
}

/// A kind chosen by an attribute.
pub(crate) enum KindAttr {
    Secret,
    Url,
    Email,
    Choice(Vec<String>),
}

/// A default literal, already checked against the field's type.
pub(crate) enum Default {
    Text(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    List(Vec<String>),
}

/// What the macro can tell about a field type from its spelling. Types it cannot read (type
/// aliases, unsupported types) are `Unknown`: the `ConfigField` trait decides about them.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Text,
    Bool,
    Integer(&'static str, i128, i128),
    Float,
    List,
    Unknown,
}

impl Class {
    fn of(ty: &syn::Type) -> (Self, bool) {
        match ty {
            syn::Type::Group(group) => Self::of(&group.elem),
            syn::Type::Paren(paren) => Self::of(&paren.elem),
            syn::Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return (Self::Unknown, false);
                };
                let argument = match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                        match args.args.first() {
                            Some(syn::GenericArgument::Type(inner)) => Some(inner),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match (last.ident.to_string().as_str(), argument) {
                    ("Option", Some(inner)) => match Self::of(inner) {
                        (class, false) => (class, true),
                        (_, true) => (Self::Unknown, true),
                    },
                    ("Vec", Some(inner)) if Self::of(inner) == (Self::Text, false) => {
                        (Self::List, false)
                    }
                    (name, None) => (Self::named(name), false),
                    _ => (Self::Unknown, false),
                }
            }
            _ => (Self::Unknown, false),
        }
    }

    fn named(name: &str) -> Self {
        macro_rules! integers {
            ($($ty:ident),*) => {
                match name {
                    $(stringify!($ty) => return Self::Integer(
                        stringify!($ty),
                        $ty::MIN as i128,
                        i128::try_from($ty::MAX).unwrap_or(i128::MAX),
                    ),)*
                    _ => {}
                }
            };
        }
        integers!(
            i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
        );
        match name {
            "String" => Self::Text,
            "bool" => Self::Bool,
            "f32" | "f64" => Self::Float,
            _ => Self::Unknown,
        }
    }

    fn is_number(self) -> bool {
        matches!(self, Self::Integer(..) | Self::Float)
    }
}

/// Checks the whole input, reporting every problem to `errors`; `None` when there was one.
pub(crate) fn validate(
    input: ConfigInput,
    all_errors: &mut darling::error::Accumulator,
) -> Option<Config> {
    let mut local = darling::Error::accumulator();
    let errors = &mut local;
    if let Some(param) = input.generics.params.first() {
        errors.push(
            darling::Error::custom(
                "a plugin config cannot be generic: its schema is a `static`; use concrete field types",
            )
            .with_span(param),
        );
    }
    let fields = input
        .data
        .take_struct()
        .map(|fields| fields.fields)
        .unwrap_or_default();
    let checked: Vec<Field> = fields
        .iter()
        .filter_map(|field| check_field(field, errors))
        .collect();
    check_names(&fields, errors);
    let version = check_version(input.version.as_ref(), input.upgrades.as_ref(), errors);
    let config = Config {
        ident: input.ident,
        krate: input.krate,
        description: doc_text(&input.attrs),
        fields: checked,
        version,
    };
    match local.finish() {
        Ok(()) => Some(config),
        Err(error) => {
            all_errors.push(error);
            None
        }
    }
}

/// `version = N` with exactly one upgrade from each older version, in order: a missing or
/// extra upgrade would otherwise show up as a stored config that cannot be read.
fn check_version(
    version: Option<&Keyed<AsWritten>>,
    upgrades: Option<&Keyed<Upgrades>>,
    errors: &mut darling::error::Accumulator,
) -> Option<(u32, Vec<syn::Path>)> {
    let listed: &[syn::Path] = upgrades.map_or(&[], |upgrades| &upgrades.value.0);
    let Some(version) = version else {
        if let Some(upgrades) = upgrades {
            errors.push(
                darling::Error::custom(
                    "`upgrades` needs the version they lead to: add `version = N`, with one \
                     upgrade from each older version (`version = 2, upgrades = [v1_to_v2]`)",
                )
                .with_span(&upgrades.key),
            );
        }
        return None;
    };
    let number = match literal(&version.value.0) {
        Some((false, Lit::Int(int))) => int.base10_parse::<u32>().ok().filter(|&n| n >= 1),
        _ => None,
    };
    let Some(number) = number else {
        errors.push(
            darling::Error::custom(
                "write the config version as a whole number from 1, like `version = 2`",
            )
            .with_span(&version.value.0),
        );
        return None;
    };
    let needed = (number - 1) as usize;
    let step = |from: usize| format!("v{from}_to_v{}", from + 1);
    if listed.len() < needed {
        let missing: Vec<String> = (listed.len() + 1..=needed)
            .map(|from| format!("{} → {}", from, from + 1))
            .collect();
        let example: Vec<String> = (1..=needed).map(step).collect();
        errors.push(
            darling::Error::custom(format!(
                "config version {number} needs an upgrade from each older version, in order \
                 (`upgrades = [{}]`, each a `fn(ConfigValues) -> Result<ConfigValues, String>`); \
                 missing: {}",
                example.join(", "),
                missing.join(", ")
            ))
            .with_span(&version.value.0),
        );
        return None;
    }
    for extra in &listed[needed..] {
        errors.push(
            darling::Error::custom(format!(
                "config version {number} takes {} (one from each older version), so this one \
                 leads nowhere: remove it, or raise the version to {}",
                match needed {
                    1 => "1 upgrade".to_owned(),
                    n => format!("{n} upgrades"),
                },
                listed.len() + 1
            ))
            .with_span(extra),
        );
    }
    (listed.len() == needed).then(|| (number, listed.to_vec()))
}

fn check_field(field: &FieldInput, errors: &mut darling::error::Accumulator) -> Option<Field> {
    let ident = field.ident.clone()?;
    let (class, _optional) = Class::of(&field.ty);
    let name = name_of(&ident);
    let type_name = crate::attrs::type_text(&field.ty);
    let mut only_for = |applies: bool, key: &str, span: Span, what: &str| {
        if !applies && class != Class::Unknown {
            errors.push(error_at(
                span,
                format!("`{key}` only applies to {what}, but `{name}` is a `{type_name}`; remove it or change the field's type"),
            ));
        }
    };

    let text = class == Class::Text;
    let text_or_list = text || class == Class::List;
    let mut kinds: Vec<(&str, Span, KindAttr)> = Vec::new();
    if field.secret.is_present() {
        only_for(
            text,
            "secret",
            field.secret.span(),
            "`String` fields (secrets are text)",
        );
        kinds.push(("secret", field.secret.span(), KindAttr::Secret));
    }
    if field.url.is_present() {
        only_for(text, "url", field.url.span(), "`String` fields");
        kinds.push(("url", field.url.span(), KindAttr::Url));
    }
    if field.email.is_present() {
        only_for(text, "email", field.email.span(), "`String` fields");
        kinds.push(("email", field.email.span(), KindAttr::Email));
    }
    if let Some(choices) = &field.choices {
        only_for(text, "choices", key_span(choices), "`String` fields");
        let values: Vec<String> = choices.value.iter().map(syn::LitStr::value).collect();
        kinds.push(("choices", key_span(choices), KindAttr::Choice(values)));
    }
    for key in ["min", "max"] {
        let bound = if key == "min" { &field.min } else { &field.max };
        if let Some(bound) = bound {
            only_for(
                class.is_number(),
                key,
                key_span(bound),
                "number fields (integers, `f32`, `f64`)",
            );
        }
    }
    for (key, present) in [
        ("min_length", field.min_length.as_ref().map(key_span)),
        ("max_length", field.max_length.as_ref().map(key_span)),
        ("pattern", field.pattern.as_ref().map(key_span)),
    ] {
        if let Some(span) = present {
            only_for(text_or_list, key, span, "`String` and `Vec<String>` fields");
        }
    }
    if let [(first, _, _), (second, span, _), ..] = kinds.as_slice() {
        errors.push(error_at(
            *span,
            format!("`{second}` cannot be combined with `{first}`: a field has one kind; keep one of them"),
        ));
    }
    let kind = kinds.pop().map(|(_, _, kind)| kind);

    let min = field
        .min
        .as_ref()
        .and_then(|bound| number(&bound.value.0, class, errors));
    let max = field
        .max
        .as_ref()
        .and_then(|bound| number(&bound.value.0, class, errors));
    if let (Some(low), Some(high), Some(bound)) = (min, max, &field.max)
        && low > high
    {
        errors.push(
            darling::Error::custom(format!("`max` ({high}) is below `min` ({low}); swap them"))
                .with_span(&bound.value.0),
        );
    }
    let min_length = field
        .min_length
        .as_ref()
        .and_then(|len| length(&len.value, errors));
    let max_length = field
        .max_length
        .as_ref()
        .and_then(|len| length(&len.value, errors));
    if let (Some(low), Some(high), Some(bound)) = (min_length, max_length, &field.max_length)
        && low > high
    {
        errors.push(
            darling::Error::custom(format!(
                "`max_length` ({high}) is below `min_length` ({low}); swap them"
            ))
            .with_span(&bound.value),
        );
    }
    if let Some(KindAttr::Choice(choices)) = &kind {
        check_choices(field, choices, errors);
    }

    let default = field.default.as_ref().and_then(|default| {
        let value = check_default(&default.value.0, class, &type_name, errors)?;
        let rules = Rules {
            min,
            max,
            min_length,
            max_length,
            choices: match &kind {
                Some(KindAttr::Choice(choices)) => Some(choices.as_slice()),
                _ => None,
            },
        };
        rules.check(&value, &default.value.0, errors);
        Some(value)
    });

    Some(Field {
        name: name.clone(),
        label: field
            .label
            .as_ref()
            .map_or_else(|| label_of(&name), syn::LitStr::value),
        help: field
            .help
            .as_ref()
            .map_or_else(|| doc_text(&field.attrs), syn::LitStr::value),
        ty: field.ty.clone(),
        ident,
        kind,
        default,
        min,
        max,
        min_length,
        max_length,
        pattern: field.pattern.as_ref().map(|pattern| pattern.value.value()),
        aliases: field.alias.iter().map(syn::LitStr::value).collect(),
    })
}

fn key_span<T>(keyed: &Keyed<T>) -> Span {
    keyed.key.span()
}

fn check_choices(field: &FieldInput, choices: &[String], errors: &mut darling::error::Accumulator) {
    let Some(keyed) = &field.choices else { return };
    if choices.is_empty() {
        errors.push(error_at(
            key_span(keyed),
            "list at least one choice: `choices(\"a\", \"b\")`",
        ));
    }
    for (i, literal) in keyed.value.iter().enumerate() {
        if choices[..i].contains(&literal.value()) {
            errors.push(
                darling::Error::custom("this choice is listed twice; remove one")
                    .with_span(literal),
            );
        }
    }
}

/// Constraints a default must satisfy, checked at compile time where the macro can.
struct Rules<'a> {
    min: Option<f64>,
    max: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    choices: Option<&'a [String]>,
}

impl Rules<'_> {
    fn check(&self, value: &Default, span: &Expr, errors: &mut darling::error::Accumulator) {
        let mut fail =
            |message: String| errors.push(darling::Error::custom(message).with_span(span));
        let number = match value {
            Default::Integer(int) => Some(*int as f64),
            Default::Float(float) => Some(*float),
            _ => None,
        };
        if let Some(number) = number {
            if let Some(min) = self.min.filter(|&min| number < min) {
                fail(format!(
                    "the default {number} is below `min = {min}`; change one of them"
                ));
            }
            if let Some(max) = self.max.filter(|&max| number > max) {
                fail(format!(
                    "the default {number} is above `max = {max}`; change one of them"
                ));
            }
        }
        let Default::Text(text) = value else { return };
        let length = text.chars().count();
        if let Some(min) = self.min_length.filter(|&min| length < min) {
            fail(format!(
                "the default is shorter than `min_length = {min}`; change one of them"
            ));
        }
        if let Some(max) = self.max_length.filter(|&max| length > max) {
            fail(format!(
                "the default is longer than `max_length = {max}`; change one of them"
            ));
        }
        if let Some(choices) = self.choices.filter(|choices| !choices.contains(text)) {
            let listed: Vec<String> = choices.iter().map(|choice| format!("{choice:?}")).collect();
            fail(format!(
                "the default {text:?} is not one of the choices; use one of {}",
                listed.join(", ")
            ));
        }
    }
}

/// A possibly negated literal: `(negative, literal)`.
fn literal(expr: &Expr) -> Option<(bool, &Lit)> {
    match expr {
        Expr::Lit(lit) => Some((false, &lit.lit)),
        Expr::Group(group) => literal(&group.expr),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match literal(&unary.expr) {
            Some((false, lit @ (Lit::Int(_) | Lit::Float(_)))) => Some((true, lit)),
            _ => None,
        },
        _ => None,
    }
}

/// A `min`/`max` bound: a number literal, whole for an integer field.
fn number(expr: &Expr, class: Class, errors: &mut darling::error::Accumulator) -> Option<f64> {
    let parsed = match literal(expr) {
        Some((negative, Lit::Int(int))) => int
            .base10_parse::<f64>()
            .ok()
            .map(|n| if negative { -n } else { n }),
        Some((negative, Lit::Float(float))) => {
            if matches!(class, Class::Integer(..)) {
                errors.push(
                    darling::Error::custom(
                        "an integer field needs a whole-number bound, like `min = 1`",
                    )
                    .with_span(expr),
                );
                return None;
            }
            float
                .base10_parse::<f64>()
                .ok()
                .map(|n| if negative { -n } else { n })
        }
        _ => None,
    };
    if parsed.is_none() {
        errors.push(
            darling::Error::custom(
                "write the bound as a number literal, like `min = 1` or `max = 2.5`",
            )
            .with_span(expr),
        );
    }
    parsed
}

fn length(lit: &syn::LitInt, errors: &mut darling::error::Accumulator) -> Option<usize> {
    lit.base10_parse::<usize>()
        .map_err(|_| {
            errors.push(
                darling::Error::custom("write the length as a whole number, like `min_length = 8`")
                    .with_span(lit),
            )
        })
        .ok()
}

/// Reads a default literal and checks it fits the field's type.
fn check_default(
    expr: &Expr,
    class: Class,
    type_name: &str,
    errors: &mut darling::error::Accumulator,
) -> Option<Default> {
    let value = match (literal(expr), expr) {
        (Some((false, Lit::Str(text))), _) => Some(Default::Text(text.value())),
        (Some((false, Lit::Bool(flag))), _) => Some(Default::Bool(flag.value)),
        (Some((negative, Lit::Int(int))), _) => int
            .base10_parse::<i128>()
            .ok()
            .map(|n| Default::Integer(if negative { -n } else { n })),
        (Some((negative, Lit::Float(float))), _) => float
            .base10_parse::<f64>()
            .ok()
            .map(|n| Default::Float(if negative { -n } else { n })),
        (None, Expr::Array(array)) => array
            .elems
            .iter()
            .map(|item| match literal(item) {
                Some((false, Lit::Str(text))) => Some(text.value()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(Default::List),
        _ => None,
    };
    let Some(value) = value else {
        errors.push(darling::Error::custom(
            "write the default as a literal: `default = 30`, `default = \"text\"`, `default = true` or `default = [\"a\", \"b\"]`",
        ).with_span(expr));
        return None;
    };
    let expected = match (class, &value) {
        (Class::Unknown, _)
        | (Class::Text, Default::Text(_))
        | (Class::Bool, Default::Bool(_))
        | (Class::Float, Default::Integer(_) | Default::Float(_))
        | (Class::List, Default::List(_)) => return Some(value),
        (Class::Integer(name, low, high), Default::Integer(int)) => {
            if (low..=high).contains(int) {
                return Some(value);
            }
            errors.push(
                darling::Error::custom(format!(
                    "the default {int} does not fit in `{name}` ({low} to {high})"
                ))
                .with_span(expr),
            );
            return None;
        }
        (Class::Text, _) => "a string literal, like `default = \"text\"`",
        (Class::Bool, _) => "`true` or `false`",
        (Class::Integer(..), _) => "a whole-number literal, like `default = 30`",
        (Class::Float, _) => "a number literal, like `default = 1.5`",
        (Class::List, _) => "an array of string literals, like `default = [\"a\", \"b\"]`",
    };
    errors.push(
        darling::Error::custom(format!(
            "this default does not fit a `{type_name}` field; write {expected}"
        ))
        .with_span(expr),
    );
    None
}

/// Field names and aliases must be unique: a stored key must mean one field.
fn check_names(inputs: &[FieldInput], errors: &mut darling::error::Accumulator) {
    let mut seen: Vec<String> = inputs
        .iter()
        .filter_map(|input| input.ident.as_ref())
        .map(name_of)
        .collect();
    for alias in inputs.iter().flat_map(|input| &input.alias) {
        let value = alias.value();
        if seen.contains(&value) {
            errors.push(
                darling::Error::custom(format!(
                    "the alias {value:?} is already a field name or alias; each stored key must name one field"
                ))
                .with_span(alias),
            );
        } else {
            seen.push(value);
        }
    }
}

/// The stored key of a field: its name without `r#`.
fn name_of(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// `api_key` → "Api key".
pub(crate) fn label_of(name: &str) -> String {
    let spaced = name.trim_matches('_').replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The doc comment's text: lines trimmed, joined with newlines, outer blank lines dropped.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .flat_map(|text| {
            text.lines()
                .map(|line| line.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label_of("api_key"), "Api key");
        assert_eq!(label_of("timeout_secs"), "Timeout secs");
        assert_eq!(label_of("x"), "X");
    }

    #[test]
    fn classes() {
        let class = |ty: syn::Type| Class::of(&ty);
        assert!(class(syn::parse_quote!(Option<String>)) == (Class::Text, true));
        assert!(class(syn::parse_quote!(std::vec::Vec<String>)) == (Class::List, false));
        assert!(class(syn::parse_quote!(u8)) == (Class::Integer("u8", 0, 255), false));
        assert!(class(syn::parse_quote!(Vec<u8>)) == (Class::Unknown, false));
        assert!(class(syn::parse_quote!(Option<Option<u8>>)) == (Class::Unknown, true));
    }
}
