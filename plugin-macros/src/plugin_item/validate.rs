//! The rules a plugin item must follow. What only the type system knows (the trait is a plugin
//! type, the config derives `PluginConfig`, the item can be built) is checked by bounds in the
//! expansion, with `#[diagnostic::on_unimplemented]` messages.

use super::parse::PluginItemInput;
use crate::names::name_problem;

pub(crate) fn validate(input: &PluginItemInput, errors: &mut darling::error::Accumulator) {
    let args = &input.args;
    if let Some(via) = &args.via {
        validate_via(input, via, errors);
        return;
    }
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
