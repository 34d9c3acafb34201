//! Parse: `#[derive(PluginConfig)]` input → darling receivers, with no judgement beyond
//! syntax. Unknown keys are caught here, before darling, so the error can list every valid key
//! (darling only suggests the closest one).

use darling::util::Flag;
use darling::{FromDeriveInput, FromField, FromMeta, ast};
use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::{Attribute, DeriveInput, Meta, Token};

use crate::attrs::{listed, path_text, paths_of, unknown_key};

/// Keys accepted in `#[config(...)]` on a field.
pub(crate) const FIELD_KEYS: &[&str] = &[
    "alias",
    "choices",
    "default",
    "email",
    "help",
    "label",
    "max",
    "max_length",
    "min",
    "min_length",
    "pattern",
    "secret",
    "url",
];

/// Keys accepted in `#[config(...)]` on the struct.
pub(crate) const CONTAINER_KEYS: &[&str] = &["crate", "upgrades", "version"];

/// The struct, as darling reads it.
#[derive(FromDeriveInput)]
#[darling(attributes(config), supports(struct_named), forward_attrs(doc))]
pub(crate) struct ConfigInput {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: ast::Data<(), FieldInput>,
    pub attrs: Vec<Attribute>,
    /// `#[config(crate = path::to::plugin_system)]`, for facades re-exporting plugin-system.
    #[darling(rename = "crate")]
    pub krate: Option<syn::Path>,
    /// `#[config(version = 3)]`: the version of the config's shape.
    pub version: Option<Keyed<AsWritten>>,
    /// `#[config(upgrades = [v1_to_v2, v2_to_v3])]`: one function from each older version.
    pub upgrades: Option<Keyed<Upgrades>>,
}

/// The upgrade functions of `upgrades = [...]`, by path, in order.
pub(crate) struct Upgrades(pub Vec<syn::Path>);

impl FromMeta for Upgrades {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        paths_of(
            expr,
            "`upgrades` takes the upgrade functions in order, as `upgrades = [v1_to_v2, v2_to_v3]`",
            "`upgrades = [...]` lists functions by path, as `upgrades = [v1_to_v2]`",
        )
        .map(Upgrades)
    }
}

/// One field, as darling reads it.
#[derive(FromField)]
#[darling(attributes(config), forward_attrs(doc))]
pub(crate) struct FieldInput {
    pub ident: Option<syn::Ident>,
    pub ty: syn::Type,
    pub attrs: Vec<Attribute>,
    #[darling(default)]
    pub secret: Flag,
    #[darling(default)]
    pub url: Flag,
    #[darling(default)]
    pub email: Flag,
    pub default: Option<Keyed<AsWritten>>,
    pub min: Option<Keyed<AsWritten>>,
    pub max: Option<Keyed<AsWritten>>,
    pub min_length: Option<Keyed<syn::LitInt>>,
    pub max_length: Option<Keyed<syn::LitInt>>,
    pub choices: Option<Keyed<Vec<syn::LitStr>>>,
    pub pattern: Option<Keyed<syn::LitStr>>,
    #[darling(multiple)]
    pub alias: Vec<syn::LitStr>,
    pub label: Option<syn::LitStr>,
    pub help: Option<syn::LitStr>,
}

/// A key's value together with the key itself, so an error about where a key may be used
/// points at the key, and an error about the value points at the value.
pub(crate) struct Keyed<T> {
    pub key: syn::Path,
    pub value: T,
}

impl<T: FromMeta> FromMeta for Keyed<T> {
    fn from_meta(item: &Meta) -> darling::Result<Self> {
        Ok(Self {
            key: item.path().clone(),
            value: T::from_meta(item)?,
        })
    }
}

/// An attribute value kept exactly as written: darling's own `syn::Expr` reading would parse
/// the contents of a string literal as code, losing `default = "text"`.
pub(crate) struct AsWritten(pub syn::Expr);

impl FromMeta for AsWritten {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        Ok(Self(expr.clone()))
    }
}

/// An error at `span` (darling's `with_span` needs a syntax node; flags only keep a span).
pub(crate) fn error_at(span: Span, message: impl std::fmt::Display) -> darling::Error {
    syn::Error::new(span, message.to_string()).into()
}

/// Parses the input. Shape errors (enum, tuple struct, union) and unknown keys are reported
/// in house style here; everything darling reports is added to `errors`. Returns `None` when
/// darling could not read the input.
pub(crate) fn parse(
    input: &DeriveInput,
    errors: &mut darling::error::Accumulator,
) -> Option<ConfigInput> {
    let shape = match &input.data {
        syn::Data::Struct(data) => match &data.fields {
            syn::Fields::Named(_) => None,
            syn::Fields::Unnamed(fields) => Some(error_at(
                fields.paren_token.span.join(),
                "#[derive(PluginConfig)] needs named fields: write `struct Name { field: Type }`, \
                 since each field name is a stored key and a form input",
            )),
            syn::Fields::Unit => Some(error_at(
                input.ident.span(),
                "#[derive(PluginConfig)] needs named fields: write `struct Name {}` for a plugin without settings",
            )),
        },
        syn::Data::Enum(data) => Some(error_at(
            data.enum_token.span,
            "#[derive(PluginConfig)] only supports structs with named fields; \
             for a field with a fixed set of values, use a `String` field with `#[config(choices(\"a\", \"b\"))]`",
        )),
        syn::Data::Union(data) => Some(error_at(
            data.union_token.span,
            "#[derive(PluginConfig)] only supports structs with named fields",
        )),
    };
    if let Some(error) = shape {
        errors.push(error);
        return None;
    }

    let mut cleaned = input.clone();
    strip_unknown_keys(
        &mut cleaned.attrs,
        CONTAINER_KEYS,
        FIELD_KEYS,
        "the struct",
        errors,
    );
    if let syn::Data::Struct(data) = &mut cleaned.data {
        for field in data.fields.iter_mut() {
            strip_unknown_keys(
                &mut field.attrs,
                FIELD_KEYS,
                CONTAINER_KEYS,
                "a field",
                errors,
            );
        }
    }
    errors.handle(ConfigInput::from_derive_input(&cleaned))
}

/// A `Debug` in a `#[derive(...)]` that follows `#[derive(PluginConfig)]`, which would conflict
/// with the `Debug` impl the derive writes. rustc hands a derive the attributes after its own
/// `#[derive]` only: a `Debug` in the same list (`#[derive(PluginConfig, Debug)]`) or in an
/// earlier attribute never reaches it (rustc reports those as conflicting impls, E0119).
pub(crate) fn later_derive_debug(attrs: &[Attribute]) -> Option<syn::Path> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("derive"))
        .filter_map(|attr| {
            attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .find(|path| {
            path.segments
                .last()
                .is_some_and(|last| last.ident == "Debug")
        })
}

/// Reports each repeated key and each unknown key of the `#[config(...)]` attributes in `attrs` at the key, listing
/// the keys valid here, and removes it so darling does not report it a second time.
fn strip_unknown_keys(
    attrs: &mut [Attribute],
    valid: &[&str],
    elsewhere: &[&str],
    place: &str,
    errors: &mut darling::error::Accumulator,
) {
    // Keys seen so far across all `#[config]` attributes of this item (`alias` may repeat).
    let mut seen: Vec<String> = Vec::new();
    for attr in attrs
        .iter_mut()
        .filter(|attr| attr.path().is_ident("config"))
    {
        let Meta::List(list) = &mut attr.meta else {
            continue; // darling reports the malformed attribute
        };
        let Ok(metas) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            continue; // likewise
        };
        let mut kept = Punctuated::<Meta, Token![,]>::new();
        for meta in metas {
            let key = path_text(meta.path());
            if key != "alias" && seen.contains(&key) {
                errors.push(
                    darling::Error::custom(format!("`{key}` is given twice for {place}; keep one"))
                        .with_span(meta.path()),
                );
                continue;
            }
            if valid.contains(&key.as_str()) {
                seen.push(key);
                kept.push(meta);
                continue;
            }
            let error = if elsewhere.contains(&key.as_str()) {
                darling::Error::custom(format!(
                    "`{key}` does not belong on {place}; keys valid here: {}",
                    listed(valid)
                ))
                .with_span(meta.path())
            } else {
                unknown_key(meta.path(), "config", &format!(" on {place}"), valid)
            };
            errors.push(error);
        }
        list.tokens = quote::ToTokens::to_token_stream(&kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_reported_and_removed() {
        let input: DeriveInput = syn::parse_quote! {
            struct A { #[config(defualt = 1, min = 0)] a: u8 }
        };
        let mut errors = darling::Error::accumulator();
        let parsed = parse(&input, &mut errors);
        let message = errors.finish().map_err(|e| e.to_string());
        assert!(parsed.is_some());
        let message = message.err().unwrap_or_default();
        assert!(
            message.contains("unknown key `defualt` in #[config]; did you mean `default`?"),
            "{message}"
        );
    }

    #[test]
    fn shapes_are_rejected() {
        for input in [
            syn::parse_quote!(
                enum A {
                    B,
                }
            ),
            syn::parse_quote!(
                struct A(u8);
            ),
            syn::parse_quote!(
                struct A;
            ),
        ] {
            let mut errors = darling::Error::accumulator();
            assert!(parse(&input, &mut errors).is_none());
            assert_eq!(errors.finish().map_err(|e| e.len()), Err(1));
        }
    }
}
