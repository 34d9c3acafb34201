//! The rules a plugin item must follow. What only the type system knows (the trait is a plugin
//! type, the config derives `PluginConfig`, the item can be built) is checked by bounds in the
//! expansion, with `#[diagnostic::on_unimplemented]` messages.

use super::parse::{Also, PluginItemInput};
use crate::attrs::path_text;
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

/// `via = SubType` registers nothing, so it takes none of the registration's arguments.
fn validate_via(
    input: &PluginItemInput,
    via: &syn::Path,
    errors: &mut darling::error::Accumulator,
) {
    let args = &input.args;
    let given = [
        ("name", args.name.is_some()),
        ("description", args.description.is_some()),
        ("priority", args.priority.is_some()),
        ("config", args.config.is_some()),
        ("category", args.category.is_some()),
        ("renamed_from", !args.renamed_from.is_empty()),
        ("needs", !args.needs.0.is_empty()),
        ("lifecycle", args.lifecycle.is_present()),
        ("async_lifecycle", args.async_lifecycle.is_present()),
    ];
    for (key, _) in given.iter().filter(|(_, given)| *given) {
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
    let args = &input.args;
    let given = [
        ("name", args.name.is_some()),
        ("description", args.description.is_some()),
        ("priority", args.priority.is_some()),
        ("category", args.category.is_some()),
        ("renamed_from", !args.renamed_from.is_empty()),
        ("needs", !args.needs.0.is_empty()),
        ("lifecycle", args.lifecycle.is_present()),
        ("async_lifecycle", args.async_lifecycle.is_present()),
    ];
    for (key, _) in given.iter().filter(|(_, given)| *given) {
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
