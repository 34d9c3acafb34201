//! Code generation for a valid plugin type. No checks here: `validate` ran first.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::TraitItem;

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
    let namespace = match &input.args.namespace {
        Some(namespace) => namespace.as_str().to_owned(),
        // The defining crate's package name: cargo sets it for every rustc run, and the macro
        // runs inside that run.
        None => std::env::var("CARGO_PKG_NAME").unwrap_or_default(),
    };
    let description = input
        .args
        .description
        .clone()
        .unwrap_or_else(|| doc_comment(&original.attrs));
    let key = fnv1a(&[&namespace, name]);
    let fingerprint = format!("{:016x}", contract_fingerprint(original));
    let ident_text = ident.to_string();
    let selector = match &input.args.selector {
        Some(selector) => quote!(::core::option::Option::Some(#private::selector_of::<#selector>)),
        None => quote!(::core::option::Option::None),
    };
    let critical = input.args.critical.is_present();
    let (parent, parent_key, upcast) = match &input.args.parent {
        Some(parent) => (
            quote!(::core::option::Option::Some(#private::ParentLink {
                info: <dyn #parent as #private::PluginType>::info,
                upcast: upcast_to_parent,
            })),
            quote!(const PARENT_KEY: u64 = <dyn #parent as #private::PluginType>::KEY;),
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

    let mut augmented = original.clone();
    // The hidden supertrait only #[plugin_item] implements, then the thread-safety every
    // shared plugin needs.
    augmented
        .supertraits
        .insert(0, syn::parse_quote!(#private::ItemOf<#key>));
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

    quote! {
        #augmented

        #[allow(non_upper_case_globals)]
        const _: () = {
            #[#private::linkme::distributed_slice(#private::PLUGIN_TYPES)]
            #[linkme(crate = #private::linkme)]
            static TYPE_INFO: #private::TypeInfo = #private::TypeInfo {
                name: #name,
                namespace: #namespace,
                description: #description,
                rust_path: ::core::concat!(::core::module_path!(), "::", #ident_text),
                crate_name: ::core::env!("CARGO_CRATE_NAME"),
                location: #private::Location {
                    file: ::core::file!(),
                    line: ::core::line!(),
                },
                fingerprint: #fingerprint,
                type_id: #private::type_id_of::<dyn #ident>,
                relabel: #private::relabel::<dyn #ident>,
                selector: #selector,
                critical: #critical,
                parent: #parent,
            };

            #upcast

            #[automatically_derived]
            impl #private::PluginType for dyn #ident {
                const KEY: u64 = #key;
                #parent_key

                fn info() -> &'static #private::TypeInfo {
                    &TYPE_INFO
                }
            }
        };
    }
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
