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

/// The arguments of `#[action(...)]` on a method of the trait.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct ActionArgs {
    /// What the action's button says.
    pub label: Option<SpannedValue<String>>,
}

/// A method of the trait marked `#[action(...)]`: an admin action the type offers.
pub(crate) struct ActionMethod {
    /// The method's signature, for the shape checks and the generated call.
    pub sig: syn::Signature,
    /// The (first) `#[action]` attribute, where a missing label is reported.
    pub attr: syn::Attribute,
    pub args: ActionArgs,
    /// False when the attribute's arguments could not be read.
    pub args_ok: bool,
    /// The method's doc comment: the action's description.
    pub description: String,
}

/// The parsed input: arguments plus the trait.
pub(crate) struct PluginTypeInput {
    pub args: PluginTypeArgs,
    /// False when the arguments could not be read: their checks would only repeat that.
    pub args_ok: bool,
    pub args_span: Span,
    /// The trait, its `#[action]` attributes taken out (rustc knows no such attribute).
    pub original: ItemTrait,
    /// Its methods marked `#[action]`, in order.
    pub actions: Vec<ActionMethod>,
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
            Ok(syn::Item::Trait(mut original)) => {
                let actions = take_actions(&mut original, errors);
                Some(PluginTypeInput {
                    args,
                    args_ok,
                    args_span,
                    original,
                    actions,
                })
            }
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

/// Takes every `#[action(...)]` attribute out of the trait's items, reading those on methods
/// (a misplaced or repeated one is reported).
fn take_actions(
    original: &mut ItemTrait,
    errors: &mut darling::error::Accumulator,
) -> Vec<ActionMethod> {
    let is_action = |attr: &syn::Attribute| attr.path().is_ident("action");
    let mut actions = Vec::new();
    for item in &mut original.items {
        let attrs = match item {
            syn::TraitItem::Fn(method) => &mut method.attrs,
            syn::TraitItem::Const(constant) => &mut constant.attrs,
            syn::TraitItem::Type(ty) => &mut ty.attrs,
            syn::TraitItem::Macro(mac) => &mut mac.attrs,
            _ => continue,
        };
        let (marked, kept): (Vec<_>, Vec<_>) = attrs.drain(..).partition(is_action);
        *attrs = kept;
        let Some((first, repeated)) = marked.split_first() else {
            continue;
        };
        let syn::TraitItem::Fn(method) = item else {
            errors.push(
                darling::Error::custom(
                    "#[action] goes on a method of the trait: \
                     `fn name(&self) -> Result<String, PluginError>`",
                )
                .with_span(first.path()),
            );
            continue;
        };
        for again in repeated {
            errors.push(
                darling::Error::custom(
                    "duplicate #[action] attribute: one method is one action; give it one \
                     #[action(label = \"...\")]",
                )
                .with_span(again.path()),
            );
        }
        let (args, args_ok) = match &first.meta {
            syn::Meta::Path(_) => (ActionArgs::default(), true),
            syn::Meta::List(list) => {
                let args = crate::attrs::parse_args::<ActionArgs>(
                    list.tokens.clone(),
                    "action",
                    &["label"],
                    errors,
                );
                let ok = args.is_some();
                (args.unwrap_or_default(), ok)
            }
            syn::Meta::NameValue(_) => {
                errors.push(
                    darling::Error::custom(
                        "write the action's label as #[action(label = \"Test the connection\")]",
                    )
                    .with_span(first),
                );
                (ActionArgs::default(), false)
            }
        };
        actions.push(ActionMethod {
            sig: method.sig.clone(),
            attr: first.clone(),
            args,
            args_ok,
            description: crate::attrs::doc_comment(&method.attrs),
        });
    }
    actions
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
