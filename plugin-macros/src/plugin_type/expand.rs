//! Code generation for a valid plugin type. No checks here: `validate` ran first.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::TraitItem;
use syn::spanned::Spanned;

use super::parse::PluginTypeInput;
use crate::attrs::doc_comment;
use crate::names::fnv1a;
use crate::runtime_path::private_path;

pub(crate) fn expand(input: &PluginTypeInput) -> TokenStream {
    let private = private_path(input.args.krate.as_ref());
    let original = &input.original;
    let ident = &original.ident;
    let name = input
        .args
        .name
        .as_ref()
        .map(|n| n.as_str())
        .unwrap_or_default();
    let namespace = namespace(input);
    let description = input
        .args
        .description
        .clone()
        .unwrap_or_else(|| doc_comment(&original.attrs));
    let fingerprint = format!("{:016x}", contract_fingerprint(original));
    let selector = match &input.args.selector {
        // Named at the user's path, so a type that is not a selector is reported there.
        Some(selector) => quote_spanned!(selector.span()=>
            ::core::option::Option::Some(<#selector as #private::DefaultSelector>::create)
        ),
        None => quote!(::core::option::Option::None),
    };
    let critical = input.args.critical.is_present();
    let version = input
        .args
        .version
        .as_ref()
        .and_then(|version| super::validate::parse_contract_version(&version.0))
        .unwrap_or(1);
    let (parent, parent_key, upcast) = match &input.args.parent {
        Some(parent) => (
            quote!(::core::option::Option::Some(#private::ParentLink::new(
                <dyn #parent as #private::PluginType>::info,
                upcast_to_parent,
            ))),
            parent_key(parent, &private),
            quote! {
                fn upcast_to_parent(
                    plugin: &#private::ErasedPlugin,
                ) -> ::core::option::Option<#private::ErasedPlugin> {
                    #private::upcast::<dyn #ident, dyn #parent>(plugin, |child| child)
                }
            },
        ),
        None => (
            quote!(::core::option::Option::None),
            TokenStream::new(),
            TokenStream::new(),
        ),
    };

    let actions = input.actions.iter().map(|action| {
        let method = &action.sig.ident;
        let name = method.to_string();
        let label = action
            .args
            .label
            .as_ref()
            .map(|label| label.trim().to_owned())
            .unwrap_or_default();
        let description = &action.description;
        // Spanned at the method: were its types not what the shape check read, rustc says so
        // there.
        let call = quote_spanned!(method.span()=> #ident::#method(plugin));
        quote! {
            #private::ActionInfo::new(#name, #label, #description, |erased| {
                #private::run_action::<dyn #ident>(erased, |plugin| #call)
            })
        }
    });

    let marker = marker_ident(ident);
    let vis = &original.vis;
    let mut augmented = with_supertraits(input);
    // The supertrait only #[plugin_item] implements: an impl without it does not compile.
    augmented.supertraits.insert(
        0,
        syn::parse_quote!(#private::PluginItem<<#marker as #private::TraitObject>::Dyn>),
    );

    quote! {
        #augmented

        /// Names `dyn Trait` in the trait's own supertraits (see `PluginItem`).
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis enum #marker {}

        #[allow(non_upper_case_globals)]
        const _: () = {
            impl #private::TraitObject for #marker {
                type Dyn = dyn #ident;
            }

            #[#private::linkme::distributed_slice(#private::PLUGIN_TYPES)]
            #[linkme(crate = #private::linkme)]
            static TYPE_INFO: #private::TypeInfo = #private::TypeInfo::from_parts(#private::TypeParts {
                name: #name,
                namespace: #namespace,
                description: #description,
                rust_path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                crate_name: ::core::env!("CARGO_CRATE_NAME"),
                location: #private::Location::new(::core::file!(), ::core::line!()),
                fingerprint: #fingerprint,
                version: #version,
                type_id: #private::type_id_of::<dyn #ident>,
                relabel: #private::relabel::<dyn #ident>,
                selector: #selector,
                critical: #critical,
                parent: #parent,
                actions: &[#(#actions),*],
            });

            #upcast

            #[automatically_derived]
            impl #private::PluginType for dyn #ident {
                const KEY: u64 = #private::type_key(#namespace, #name);
                #parent_key

                fn info() -> &'static #private::TypeInfo {
                    &TYPE_INFO
                }
            }
        };
    }
}

/// The namespace as generated code spells it: the given one, else the defining crate's
/// package name, read where the code is compiled (so tools that run the macro without cargo's
/// environment still get it right).
fn namespace(input: &PluginTypeInput) -> TokenStream {
    match &input.args.namespace {
        Some(namespace) => {
            let namespace = namespace.as_str();
            quote!(#namespace)
        }
        None => quote!(::core::env!("CARGO_PKG_NAME")),
    }
}

/// The marker type `#[plugin_type]` declares beside the trait (see `TraitObject`).
pub(crate) fn marker_ident(ident: &syn::Ident) -> syn::Ident {
    quote::format_ident!("__plugin_type_{}", ident)
}

/// `const PARENT_KEY`, spanned at the parent's path so a parent that is not a plugin type is
/// reported there.
pub(crate) fn parent_key(parent: &syn::Path, private: &TokenStream) -> TokenStream {
    let key = quote_spanned!(parent.span()=> <dyn #parent as #private::PluginType>::KEY);
    quote!(const PARENT_KEY: u64 = #key;)
}

/// The trait with the supertraits every plugin type has: shared between threads, owned, and its
/// parent's trait for a sub-type.
pub(crate) fn with_supertraits(input: &PluginTypeInput) -> syn::ItemTrait {
    let original = &input.original;
    let mut augmented = original.clone();
    augmented
        .supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    augmented
        .supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    augmented.supertraits.push(syn::parse_quote!('static));
    if let Some(parent) = &input.args.parent
        && !has_supertrait(original, parent)
    {
        augmented.supertraits.push(syn::parse_quote!(#parent));
    }
    if augmented.colon_token.is_none() {
        augmented.colon_token = Some(Default::default());
    }
    augmented
}

/// True when the trait already names `parent` among its supertraits.
fn has_supertrait(original: &syn::ItemTrait, parent: &syn::Path) -> bool {
    let last = |path: &syn::Path| path.segments.last().map(|segment| segment.ident.clone());
    original.supertraits.iter().any(|bound| match bound {
        syn::TypeParamBound::Trait(bound) => last(&bound.path) == last(parent),
        _ => false,
    })
}

/// A hash of the method signatures, in order: changes when the contract changes.
fn contract_fingerprint(original: &syn::ItemTrait) -> u64 {
    let signatures: Vec<String> = original
        .items
        .iter()
        .filter_map(|item| match item {
            TraitItem::Fn(method) => Some(method.sig.to_token_stream().to_string()),
            _ => None,
        })
        .collect();
    let parts: Vec<&str> = signatures.iter().map(String::as_str).collect();
    fnv1a(&parts)
}
