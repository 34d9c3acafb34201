//! The rules a plugin item must follow. What only the type system knows (the trait is a plugin
//! type, the config derives `PluginConfig`, the item can be built) is checked by bounds in the
//! expansion, with `#[diagnostic::on_unimplemented]` messages.

use quote::ToTokens;
use syn::spanned::Spanned;

use super::parse::{Also, PluginItemArgs, PluginItemInput};
use crate::attrs::{Written, path_text};
use crate::names::name_problem;

pub(crate) fn validate(input: &PluginItemInput, errors: &mut darling::error::Accumulator) {
    let args = &input.args;
    if let (Some(_), Some(also)) = (&args.via, &args.also) {
        errors.push(
            darling::Error::custom(
                "`also` does not go with `via`: `via` lets a sub-type's item implement the parent \
                 trait, `also` makes one item serve another plugin type; use one",
            )
            .with_span(&also.span()),
        );
        return;
    }
    if args.lifecycle.is_present() && args.async_lifecycle.is_present() {
        errors.push(
            darling::Error::custom(
                "`lifecycle` and `async_lifecycle` exclude each other: write `lifecycle` for \
                 `impl Lifecycle` (blocking hooks) or `async_lifecycle` for `impl AsyncLifecycle`",
            )
            .with_span(&args.async_lifecycle.span()),
        );
    }
    if let Some(via) = &args.via {
        validate_via(input, via, errors);
        return;
    }
    if let Some(also) = &args.also {
        match &**also {
            Also::Impl => {
                validate_also_impl(input, errors);
                return;
            }
            Also::Lists(listed) => validate_also_list(input, also.span(), listed, errors),
        }
    }
    validate_needs(&args.needs.0, errors);
    if let Some(priority) = &args.priority
        && parse_priority(priority).is_none()
    {
        errors.push(
            darling::Error::custom(
                "`priority` takes an integer that fits an i32, like `priority = 10` (lower is preferred)",
            )
            .with_span(priority),
        );
    }
    validate_metadata(args, errors);
    match &args.name {
        None if !input.args_ok => {}
        None => errors.push(
            darling::Error::custom(
                "missing `name`: use #[plugin_item(name = \"...\")] with a lowercase name like \"stripe\"",
            )
            .with_span(&input.args_span),
        ),
        Some(name) => {
            if let Some(problem) = name_problem(name) {
                errors.push(
                    darling::Error::custom(format!("invalid plugin item name: {problem}"))
                        .with_span(&name.span()),
                );
            }
        }
    }
    for old in &args.renamed_from {
        if let Some(problem) = name_problem(old) {
            errors.push(
                darling::Error::custom(format!("invalid `renamed_from`: {problem}"))
                    .with_span(&old.span()),
            );
        } else if args
            .name
            .as_ref()
            .is_some_and(|name| name.as_str() == old.as_str())
        {
            errors.push(
                darling::Error::custom(
                    "`renamed_from` repeats the item's own name; give the old name",
                )
                .with_span(&old.span()),
            );
        }
    }
    let original = &input.original;
    match &original.trait_ {
        None => errors.push(
            darling::Error::custom(
                "#[plugin_item] goes on `impl Trait for Type`, not on an inherent impl; \
                 write the impl of the plugin type's trait here",
            )
            .with_span(&original.self_ty),
        ),
        Some((Some(bang), _, _)) => errors.push(
            darling::Error::custom("a negative impl cannot be a plugin item").with_span(bang),
        ),
        Some(_) => {}
    }
    if !original.generics.params.is_empty() {
        errors.push(
            darling::Error::custom(
                "a generic impl cannot be registered: the registry builds one concrete type; \
                 write `impl Trait for MyType<Concrete>` for each type to register",
            )
            .with_span(&original.generics),
        );
    }
}

/// The arguments given that only the impl registering an item takes (and `config` when
/// `with_config`), in the attribute's documented order: what `via` and `also` impls refuse.
fn registration_keys_given(args: &PluginItemArgs, with_config: bool) -> Vec<&'static str> {
    [
        ("name", args.name.is_some()),
        ("description", args.description.is_some()),
        ("priority", args.priority.is_some()),
        ("config", with_config && args.config.is_some()),
        ("category", args.category.is_some()),
        ("version", args.version.is_some()),
        ("authors", args.authors.is_some()),
        ("homepage", args.homepage.is_some()),
        ("hidden", args.hidden.is_present()),
        ("per_tenant", args.per_tenant.is_present()),
        ("renamed_from", !args.renamed_from.is_empty()),
        ("needs", !args.needs.0.is_empty()),
        ("lifecycle", args.lifecycle.is_present()),
        ("async_lifecycle", args.async_lifecycle.is_present()),
    ]
    .into_iter()
    .filter_map(|(key, given)| given.then_some(key))
    .collect()
}

/// `via = SubType` registers nothing, so it takes none of the registration's arguments.
fn validate_via(
    input: &PluginItemInput,
    via: &syn::Path,
    errors: &mut darling::error::Accumulator,
) {
    for key in registration_keys_given(&input.args, true) {
        errors.push(
            darling::Error::custom(format!(
                "`{key}` does not go with `via`: this impl only lets the `{}` item implement its \
                 parent trait; give `{key}` on the item's `#[plugin_item]` of the sub-type",
                crate::attrs::path_text(via)
            ))
            .with_span(&input.args_span),
        );
    }
    if input.original.trait_.is_none() {
        errors.push(
            darling::Error::custom("`via` goes on `impl ParentTrait for Type`")
                .with_span(&input.original.self_ty),
        );
    }
}

/// `needs = [...]`: each type once.
fn validate_needs(needs: &[syn::Path], errors: &mut darling::error::Accumulator) {
    let mut seen = Vec::new();
    for path in needs {
        let text = path_text(path);
        if seen.contains(&text) {
            errors.push(
                darling::Error::custom(format!("`{text}` is listed twice in `needs`"))
                    .with_span(path),
            );
        }
        seen.push(text);
    }
}

/// `also = [...]`: something listed, each type once, none of them the impl's own trait.
fn validate_also_list(
    input: &PluginItemInput,
    span: proc_macro2::Span,
    listed: &[syn::Path],
    errors: &mut darling::error::Accumulator,
) {
    if listed.is_empty() {
        errors.push(
            darling::Error::custom(
                "`also = []` lists no plugin type; name the other types this item serves, or \
                 remove `also`",
            )
            .with_span(&span),
        );
    }
    let own = input
        .original
        .trait_
        .as_ref()
        .map(|(_, path, _)| path_text(path));
    let mut seen = Vec::new();
    for path in listed {
        let text = path_text(path);
        if own.as_deref() == Some(text.as_str()) {
            errors.push(
                darling::Error::custom(format!(
                    "`{text}` is this impl's own trait, which the item serves already; `also` \
                     lists the other plugin types"
                ))
                .with_span(path),
            );
        } else if seen.contains(&text) {
            errors.push(
                darling::Error::custom(format!("`{text}` is listed twice in `also`"))
                    .with_span(path),
            );
        }
        seen.push(text);
    }
}

/// `also` on `impl Other for Item` registers nothing: the item's name, priority and the rest
/// are given where it is registered. Only its `config` may be repeated (and is checked).
fn validate_also_impl(input: &PluginItemInput, errors: &mut darling::error::Accumulator) {
    for key in registration_keys_given(&input.args, false) {
        errors.push(
            darling::Error::custom(format!(
                "`{key}` does not go with `also`: this impl is one more extension point of an \
                 item registered on another impl; give `{key}` on that `#[plugin_item(name = \"...\", \
                 also = [...])]`"
            ))
            .with_span(&input.args_span),
        );
    }
    match &input.original.trait_ {
        None => errors.push(
            darling::Error::custom("`also` goes on `impl OtherTrait for Type`")
                .with_span(&input.original.self_ty),
        ),
        Some((Some(bang), _, _)) => errors.push(
            darling::Error::custom("a negative impl cannot serve a plugin type").with_span(bang),
        ),
        Some(_) => {}
    }
    if !input.original.generics.params.is_empty() {
        errors.push(
            darling::Error::custom(
                "a generic impl cannot serve a plugin type: the registry builds one concrete type",
            )
            .with_span(&input.original.generics),
        );
    }
}

/// `version`, `authors` and `homepage`: what operators read about the item, each checked
/// where it is written (a default read from Cargo.toml is Cargo's to check).
fn validate_metadata(
    args: &super::parse::PluginItemArgs,
    errors: &mut darling::error::Accumulator,
) {
    let mut error = |message: String, at: proc_macro2::Span| {
        errors.push(darling::Error::custom(message).with_span(&at));
    };
    if let Some(Written(version)) = &args.version {
        match string_literal(version) {
            None => error(version_not_a_string(version), version.span()),
            Some(text) if text.value().is_empty() => error(
                "`version` must not be empty: write the item's version, like `version = \"1.2.0\"`, \
                 or leave `version` out to use the crate's version from Cargo.toml"
                    .into(),
                text.span(),
            ),
            Some(text) if text.value().chars().any(char::is_whitespace) => error(
                "`version` cannot contain whitespace: write it as one word, like \
                 `version = \"1.2.0-beta.1\"`"
                    .into(),
                text.span(),
            ),
            Some(_) => {}
        }
    }
    if let Some(Written(authors)) = &args.authors {
        match peel(authors) {
            syn::Expr::Array(list) => {
                for author in &list.elems {
                    match string_literal(author) {
                        None => error(
                            "each entry of `authors` is a string, like \"Ada <ada@example.com>\"".into(),
                            author.span(),
                        ),
                        Some(text) if text.value().trim().is_empty() => error(
                            "an author must not be empty: write a name, like \"Ada <ada@example.com>\", \
                             or leave the entry out"
                                .into(),
                            text.span(),
                        ),
                        Some(text) if text.value().contains(':') => error(
                            "an author cannot contain `:`, which separates authors (as in Cargo's \
                             `CARGO_PKG_AUTHORS`); write a name and an e-mail address, like \
                             \"Ada <ada@example.com>\""
                                .into(),
                            text.span(),
                        ),
                        Some(_) => {}
                    }
                }
            }
            other => {
                let message = match string_literal(other) {
                    Some(one) => format!(
                        "`authors` takes a list, even of one author: write `authors = [{:?}]`",
                        one.value()
                    ),
                    None => "`authors` takes a list of strings, like \
                             `authors = [\"Ada <ada@example.com>\", \"Bob\"]`; leave it out to use the \
                             crate's authors from Cargo.toml"
                        .into(),
                };
                error(message, other.span());
            }
        }
    }
    if let Some(Written(homepage)) = &args.homepage {
        const EXAMPLE: &str = "like `homepage = \"https://example.com/stripe\"`";
        match string_literal(homepage) {
            None => error(
                format!("`homepage` takes a URL as a string, {EXAMPLE}"),
                homepage.span(),
            ),
            Some(text) => {
                let url = text.value();
                let scheme = ["https://", "http://"]
                    .into_iter()
                    .find(|scheme| url.starts_with(scheme));
                match scheme.map(|scheme| (scheme, &url[scheme.len()..])) {
                    None => error(
                        format!(
                            "`homepage` must be an `https://` or `http://` URL (operators open it \
                             from the admin), {EXAMPLE}"
                        ),
                        text.span(),
                    ),
                    Some((scheme, rest)) if rest.is_empty() || rest.starts_with('/') => error(
                        format!("`homepage` needs a host after `{scheme}`, {EXAMPLE}"),
                        text.span(),
                    ),
                    Some(_) if url.chars().any(|c| c.is_whitespace() || c.is_control()) => error(
                        "`homepage` cannot contain whitespace: percent-encode it (a space is `%20`)"
                            .into(),
                        text.span(),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

/// The message for a `version` that is not a string: a number gets its own spelling back.
fn version_not_a_string(version: &syn::Expr) -> String {
    match peel(version) {
        syn::Expr::Lit(syn::ExprLit {
            lit: lit @ (syn::Lit::Int(_) | syn::Lit::Float(_)),
            ..
        }) => {
            let text = lit.to_token_stream().to_string();
            format!("`version` of an item is a string: write `version = \"{text}\"`")
        }
        _ => "`version` takes the item's version as a string, like `version = \"1.2.0\"`; \
              leave it out to use the crate's version from Cargo.toml"
            .into(),
    }
}

/// An expression without the invisible groups macro_rules! wraps around what it forwards.
fn peel(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Group(group) => peel(&group.expr),
        other => other,
    }
}

/// The string of `key = "..."`, when that is what was written.
pub(crate) fn string_literal(expr: &syn::Expr) -> Option<&syn::LitStr> {
    match peel(expr) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) => Some(text),
        _ => None,
    }
}

/// The strings of `authors = ["...", ...]`, when that is what was written.
pub(crate) fn string_list(expr: &syn::Expr) -> Option<Vec<String>> {
    match peel(expr) {
        syn::Expr::Array(list) => list
            .elems
            .iter()
            .map(|author| string_literal(author).map(syn::LitStr::value))
            .collect(),
        _ => None,
    }
}

/// The value of `priority = <integer>` or `priority = -<integer>`.
pub(crate) fn parse_priority(expr: &syn::Expr) -> Option<i32> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse().ok(),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(int),
                ..
            }) => int
                .base10_parse::<i64>()
                .ok()
                .and_then(|value| i32::try_from(-value).ok()),
            _ => None,
        },
        syn::Expr::Group(group) => parse_priority(&group.expr),
        _ => None,
    }
}
