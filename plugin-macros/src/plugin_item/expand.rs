//! Code generation for a valid plugin item. No checks here: `validate` ran first.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::PluginItemInput;
use crate::attrs::doc_comment;
use crate::runtime_path::private_path;

/// The priority of new instances when the item does not say.
const DEFAULT_PRIORITY: i32 = 100;

pub(crate) fn expand(input: &PluginItemInput) -> TokenStream {
    let args = &input.args;
    let private = private_path(args.krate.as_ref());
    let original = &input.original;
    let Some((_, trait_path, _)) = &original.trait_ else {
        return original.to_token_stream();
    };
    let self_ty = &original.self_ty;
    let name = args.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
    let description = args
        .description
        .clone()
        .unwrap_or_else(|| doc_comment(&original.attrs));
    let priority = args
        .priority
        .as_ref()
        .and_then(super::validate::parse_priority)
        .unwrap_or(DEFAULT_PRIORITY);
    let category = match &args.category {
        Some(category) => quote!(::core::option::Option::Some(#category)),
        None => quote!(::core::option::Option::None),
    };
    let renamed_from = args.renamed_from.iter().map(|old| old.as_str());
    let rust_type = self_ty.to_token_stream().to_string().replace(' ', "");
    let marker = marker_impl(input);
    if let Some(via) = &args.via {
        return expand_via(input, via, &marker);
    }

    // Bounds are checked where the user wrote the types, so errors point there.
    let plugin_type = quote_spanned!(trait_path.span()=> <dyn #trait_path as #private::PluginType>);
    let (config, build) = match &args.config {
        Some(config) => (
            quote_spanned!(config.span()=> ::core::option::Option::Some(#private::schema_of::<#config>)),
            quote_spanned!(self_ty.span()=>
                |meta, values| #private::build_configured::<dyn #trait_path, #self_ty, #config>(
                    meta, values, |item| #private::SharedArc::new(item))
            ),
        ),
        None => (
            quote!(::core::option::Option::None),
            quote_spanned!(self_ty.span()=>
                |meta, values| #private::build_plain::<dyn #trait_path, #self_ty>(
                    meta, values, |item| #private::SharedArc::new(item))
            ),
        ),
    };

    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker

            #[#private::linkme::distributed_slice(#private::PLUGIN_ITEMS)]
            #[linkme(crate = #private::linkme)]
            static ITEM_INFO: #private::ItemInfo = #private::ItemInfo {
                name: #name,
                description: #description,
                priority: #priority,
                category: #category,
                renamed_from: &[#(#renamed_from),*],
                rust_type: #rust_type,
                module: ::core::module_path!(),
                crate_name: ::core::env!("CARGO_CRATE_NAME"),
                location: #private::Location {
                    file: ::core::file!(),
                    line: ::core::line!(),
                },
                plugin_type: #plugin_type::info,
                config: #config,
                build: #build,
            };
        };
    }
}

/// `impl Parent for Item` of a sub-type's item: the marker, and compile-time checks that
/// `Item` implements `SubType` and that `SubType`'s parent is this trait.
fn expand_via(input: &PluginItemInput, via: &syn::Path, marker: &TokenStream) -> TokenStream {
    let private = private_path(input.args.krate.as_ref());
    let original = &input.original;
    let self_ty = &original.self_ty;
    let Some((_, trait_path, _)) = &original.trait_ else {
        return original.to_token_stream();
    };
    let implements_sub_type = quote_spanned!(via.span()=>
        #[allow(dead_code)]
        fn registered_via() where #self_ty: #via {}
    );
    let parent_check = quote_spanned!(via.span()=>
        const _: () = #private::assert_via(
            <dyn #via as #private::PluginType>::PARENT_KEY,
            <dyn #trait_path as #private::PluginType>::KEY,
        );
    );
    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker
            #implements_sub_type
            #parent_check
        };
    }
}

/// The impl of the hidden supertrait only this macro writes. Also emitted next to errors, so a
/// mistake in the attribute is not followed by "not registered as a plugin item".
pub(crate) fn marker_impl(input: &PluginItemInput) -> TokenStream {
    let Some((_, trait_path, _)) = &input.original.trait_ else {
        return TokenStream::new();
    };
    let private = private_path(input.args.krate.as_ref());
    let self_ty = &input.original.self_ty;
    let (impl_generics, _, where_clause) = input.original.generics.split_for_impl();
    let plugin_type = quote_spanned!(trait_path.span()=> <dyn #trait_path as #private::PluginType>);
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::ItemOf<{ #plugin_type::KEY }> for #self_ty #where_clause {}
    }
}
