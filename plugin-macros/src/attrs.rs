//! Helpers for the attributes the macros read from the user's item.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// The doc comment of an item, lines trimmed and joined: the default description.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// True when the attribute list holds `#[async_trait]` (any path ending in it): that macro
/// runs after ours and turns `async fn`s into object-safe methods.
pub(crate) fn has_async_trait(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "async_trait")
    })
}
