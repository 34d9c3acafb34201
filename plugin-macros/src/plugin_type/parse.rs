//! Reads `#[plugin_type(...)]` arguments and the trait it sits on.

use darling::FromMeta;
use darling::util::SpannedValue;
use proc_macro2::{Span, TokenStream};
use syn::ItemTrait;

/// The attribute's arguments.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct PluginTypeArgs {
    /// The stored name: `[a-z0-9_]+`.
    pub name: Option<SpannedValue<String>>,
    /// For operators; default: the doc comment.
    pub description: Option<String>,
    /// Default: the defining crate's package name.
    pub namespace: Option<SpannedValue<String>>,
    /// The parent plugin type of a sub-type (added as a supertrait if missing).
    pub parent: Option<syn::Path>,
    /// A type implementing `Selector + Default`, used by `Plugins::select`.
    pub selector: Option<syn::Path>,
    /// Never skip its instances with a circuit breaker.
    pub critical: darling::util::Flag,
    /// The contract's version, an integer from 1 (default 1). Read as an expression so a
    /// wrong value gets our message.
    pub version: Option<crate::attrs::Written>,
    /// Path of the facade crate, for crates that re-export plugin-system.
    #[darling(rename = "crate")]
    pub krate: Option<syn::Path>,
}

/// The parsed input: arguments plus the trait.
pub(crate) struct PluginTypeInput {
    pub args: PluginTypeArgs,
    /// False when the arguments could not be read: their checks would only repeat that.
    pub args_ok: bool,
    pub args_span: Span,
    pub original: ItemTrait,
}

impl PluginTypeInput {
    pub(crate) fn parse(
        args: TokenStream,
        input: TokenStream,
        errors: &mut darling::error::Accumulator,
    ) -> Option<PluginTypeInput> {
        let args_span = span_of(&args);
        let args = crate::attrs::parse_args(
            args,
            "plugin_type",
            &[
                "name",
                "description",
                "namespace",
                "parent",
                "selector",
                "critical",
                "version",
                "crate",
            ],
            errors,
        );
        let args_ok = args.is_some();
        let args = args.unwrap_or_default();
        match syn::parse2::<syn::Item>(input) {
            Ok(syn::Item::Trait(original)) => Some(PluginTypeInput {
                args,
                args_ok,
                args_span,
                original,
            }),
            Ok(other) => {
                errors.push(
                    darling::Error::custom(
                        "#[plugin_type] goes on a trait (the extension point); to register an \
                         implementation, put #[plugin_item] on `impl Trait for Type`",
                    )
                    .with_span(&item_keyword_span(&other)),
                );
                None
            }
            Err(err) => {
                errors.push(err.into());
                None
            }
        }
    }
}

/// The span of the attribute's arguments, for errors about a missing argument.
pub(crate) fn span_of(tokens: &TokenStream) -> Span {
    let mut iter = tokens.clone().into_iter();
    match (iter.next(), iter.last()) {
        (Some(first), Some(last)) => first.span().join(last.span()).unwrap_or(first.span()),
        (Some(first), None) => first.span(),
        _ => Span::call_site(),
    }
}

/// The keyword that says what an item is (`struct`, `fn`, `impl`…): where a "wrong kind of
/// item" error points.
pub(crate) fn item_keyword_span(item: &syn::Item) -> Span {
    use syn::spanned::Spanned;
    match item {
        syn::Item::Struct(item) => item.struct_token.span,
        syn::Item::Enum(item) => item.enum_token.span,
        syn::Item::Fn(item) => item.sig.fn_token.span,
        syn::Item::Impl(item) => item.impl_token.span,
        syn::Item::Trait(item) => item.trait_token.span,
        syn::Item::Mod(item) => item.mod_token.span,
        other => other.span(),
    }
}
