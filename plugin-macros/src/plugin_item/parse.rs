//! Reads `#[plugin_item(...)]` arguments and the impl it sits on.

use darling::FromMeta;
use darling::util::SpannedValue;
use proc_macro2::{Span, TokenStream};
use syn::ItemImpl;

use crate::attrs::{Written, paths_of};
use crate::plugin_type::parse::{item_keyword_span, span_of};

/// The attribute's arguments.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct PluginItemArgs {
    /// The stored name: `[a-z0-9_]+`, unique within the type.
    pub name: Option<SpannedValue<String>>,
    /// For operators; default: the impl's doc comment.
    pub description: Option<String>,
    /// The priority of new instances (lower is preferred); default 100. Read as an expression
    /// so a wrong value gets our message, not a generic one.
    pub priority: Option<syn::Expr>,
    /// The typed config instances carry.
    pub config: Option<syn::Path>,
    /// An admin grouping.
    pub category: Option<String>,
    /// The item's version; default: the defining crate's `CARGO_PKG_VERSION`. Read as an
    /// expression (as are `authors` and `homepage`) so a wrong value gets our message.
    pub version: Option<Written>,
    /// `["Ada <ada@example.com>", ...]`; default: the defining crate's `CARGO_PKG_AUTHORS`.
    pub authors: Option<Written>,
    /// An `http://` or `https://` URL about the item, for operators.
    pub homepage: Option<Written>,
    /// Not shown to operators unless they ask.
    pub hidden: darling::util::Flag,
    /// Its global instances are served to a tenant only once that tenant activates them.
    pub per_tenant: darling::util::Flag,
    /// Earlier names: sync moves their rows to this item.
    #[darling(multiple)]
    pub renamed_from: Vec<SpannedValue<String>>,
    /// On `impl Parent for Item`: the sub-type `Item` is registered with. Registers nothing
    /// itself; it lets the sub-type's item implement its parent trait.
    pub via: Option<syn::Path>,
    /// `also = [Other, ...]` on the item's registration: the other plugin types its one object
    /// serves; `also` alone on `impl Other for Item`: this impl is one of them.
    pub also: Option<SpannedValue<Also>>,
    /// The plugin types its constructor needs, resolved per instance in its scope.
    #[darling(default)]
    pub needs: Needs,
    /// Its instances are started before they serve and stopped after (`impl Lifecycle`).
    pub lifecycle: darling::util::Flag,
    /// As `lifecycle`, with async hooks (`impl AsyncLifecycle`).
    pub async_lifecycle: darling::util::Flag,
    /// Path of the facade crate, for crates that re-export plugin-system.
    #[darling(rename = "crate")]
    pub krate: Option<syn::Path>,
}

/// The two forms of `also`.
#[derive(Debug)]
pub(crate) enum Also {
    /// `also = [Other, ...]`, on the impl that registers the item: the further plugin types.
    Lists(Vec<syn::Path>),
    /// `also`, on `impl Other for Item`: this impl is one of the types an item lists.
    Impl,
}

impl FromMeta for Also {
    fn from_word() -> darling::Result<Self> {
        Ok(Also::Impl)
    }

    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        paths_of(
            expr,
            "`also` takes the other plugin types this item serves, as `also = [OrderConfirmed]`; \
             on the impl of one of them, write `also` alone",
            "`also = [...]` lists plugin traits by path, as `also = [OrderConfirmed]` (no `dyn`)",
        )
        .map(Also::Lists)
    }
}

/// `needs = [TemplateRenderer, ...]`: the plugin types the item's constructor needs.
#[derive(Debug, Default)]
pub(crate) struct Needs(pub Vec<syn::Path>);

impl FromMeta for Needs {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        paths_of(
            expr,
            "`needs` takes the plugin types the item's constructor needs, as `needs = [TemplateRenderer]`",
            "`needs = [...]` lists plugin traits by path, as `needs = [TemplateRenderer]` (no `dyn`)",
        )
        .map(Needs)
    }
}

impl Also {
    /// The types listed by `also = [...]` (none for the `also` of an impl).
    pub(crate) fn listed(&self) -> &[syn::Path] {
        match self {
            Also::Lists(paths) => paths,
            Also::Impl => &[],
        }
    }
}

/// The parsed input: arguments plus the impl.
pub(crate) struct PluginItemInput {
    pub args: PluginItemArgs,
    /// False when the arguments could not be read: their checks would only repeat that.
    pub args_ok: bool,
    pub args_span: Span,
    pub original: ItemImpl,
}

impl PluginItemInput {
    pub(crate) fn parse(
        args: TokenStream,
        input: TokenStream,
        errors: &mut darling::error::Accumulator,
    ) -> Option<PluginItemInput> {
        let args_span = span_of(&args);
        let args = crate::attrs::parse_args(
            args,
            "plugin_item",
            &[
                "name",
                "description",
                "priority",
                "config",
                "category",
                "version",
                "authors",
                "homepage",
                "hidden",
                "per_tenant",
                "renamed_from",
                "via",
                "also",
                "needs",
                "lifecycle",
                "async_lifecycle",
                "crate",
            ],
            errors,
        );
        let args_ok = args.is_some();
        let args = args.unwrap_or_default();
        match syn::parse2::<syn::Item>(input) {
            Ok(syn::Item::Impl(original)) => Some(PluginItemInput {
                args,
                args_ok,
                args_span,
                original,
            }),
            Ok(other) => {
                let message = if matches!(other, syn::Item::Trait(_)) {
                    "#[plugin_item] goes on `impl Trait for Type`; to declare the plugin type itself, use #[plugin_type]"
                } else {
                    "#[plugin_item] goes on `impl Trait for Type`, where `Trait` has #[plugin_type]"
                };
                errors.push(darling::Error::custom(message).with_span(&item_keyword_span(&other)));
                None
            }
            Err(err) => {
                errors.push(err.into());
                None
            }
        }
    }
}
