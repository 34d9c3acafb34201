//! Code generation for a valid plugin item. No checks here: `validate` ran first.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{PluginItemArgs, PluginItemInput};
use super::validate::{string_list, string_literal};
use crate::attrs::{doc_comment, path_text};
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
    let metadata = metadata(args);
    let marker = marker_impl(input);
    if let Some(via) = &args.via {
        return expand_via(input, via, &marker);
    }

    // Each requirement is named as `<Type as Trait>::item` at the type the user wrote, so a
    // missing impl is reported there, with the trait's own message and nothing from inside
    // the library.
    let plugin_type = quote_spanned!(trait_path.span()=> <dyn #trait_path as #private::PluginType>);
    let upcast = quote! {
        |item| -> #private::SharedArc<dyn #trait_path> { #private::SharedArc::new(item) }
    };
    let (config, build) = match &args.config {
        Some(config) => {
            let config_fn = |item: TokenStream| quote_spanned!(config.span()=> <#config as #private::PluginConfig>::#item);
            let (schema, read, check) = (
                config_fn(quote!(schema)),
                config_fn(quote!(from_values)),
                config_fn(quote!(validate)),
            );
            let from_config = quote_spanned!(self_ty.span()=>
                <#self_ty as #private::FromConfig<#config>>::from_config
            );
            (
                quote!(::core::option::Option::Some(#schema)),
                quote! {
                    |meta, values| #private::build_configured(
                        meta, values, #read, #check, #from_config, #upcast,
                    )
                },
            )
        }
        None => {
            let build = quote_spanned!(self_ty.span()=>
                <#self_ty as #private::ConfiglessItem>::build
            );
            (
                quote!(::core::option::Option::None),
                quote!(|meta, values| #private::build_plain(meta, values, #build, #upcast)),
            )
        }
    };

    // rustc reports the trait's `Send + Sync` supertraits at the impl, naming the field that is
    // not thread-safe; this says why a plugin must be and what to do (a second error).
    let thread_safe = quote!(const _: () = <#self_ty as #private::ThreadSafe>::CHECKED;);

    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker
            #thread_safe

            #[#private::linkme::distributed_slice(#private::PLUGIN_ITEMS)]
            #[linkme(crate = #private::linkme)]
            static ITEM_INFO: #private::ItemInfo = #private::ItemInfo::from_parts(#private::ItemParts {
                name: #name,
                description: #description,
                priority: #priority,
                category: #category,
                #metadata
                renamed_from: &[#(#renamed_from),*],
                rust_type: ::core::stringify!(#self_ty),
                module: ::core::module_path!(),
                crate_name: ::core::env!("CARGO_CRATE_NAME"),
                location: #private::Location::new(::core::file!(), ::core::line!()),
                plugin_type: #plugin_type::info,
                config: #config,
                build: #build,
            });
        };
    }
}

/// The `version`, `authors`, `homepage` and `hidden` fields of the registration. A default
/// is read from Cargo's environment where the user's crate compiles (`env!`), so it is that
/// crate's, and tools that run the macro without Cargo still expand it.
fn metadata(args: &PluginItemArgs) -> TokenStream {
    let version = match args.version.as_ref().and_then(|v| string_literal(&v.0)) {
        Some(version) => quote!(#version),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    // One string, `:` between authors, as Cargo's own variable has them.
    let authors = match args.authors.as_ref().and_then(|a| string_list(&a.0)) {
        Some(authors) => {
            let joined = authors.join(":");
            quote!(#joined)
        }
        None => quote!(::core::env!("CARGO_PKG_AUTHORS")),
    };
    let homepage = match args.homepage.as_ref().and_then(|h| string_literal(&h.0)) {
        Some(homepage) => quote!(::core::option::Option::Some(#homepage)),
        None => quote!(::core::option::Option::None),
    };
    let hidden = args.hidden.is_present();
    quote! {
        version: #version,
        authors: #authors,
        homepage: #homepage,
        hidden: #hidden,
    }
}

/// `impl Parent for Item` of a sub-type's item: the marker, and compile-time checks that
/// `Item` implements `SubType` and that `SubType`'s parent is this trait, both reported at the
/// `via = SubType` the user wrote.
fn expand_via(input: &PluginItemInput, via: &syn::Path, marker: &TokenStream) -> TokenStream {
    let private = private_path(input.args.krate.as_ref());
    let original = &input.original;
    let self_ty = &original.self_ty;
    let Some((_, trait_path, _)) = &original.trait_ else {
        return original.to_token_stream();
    };
    let implements_sub_type = quote_spanned!(via.span()=>
        let _: fn(&#self_ty) -> &dyn #via = |item| item;
    );
    let (via_text, parent_text) = (path_text(via), path_text(trait_path));
    let message = format!(
        "`via = {via_text}` must name a sub-type of `{parent_text}`, declared as \
         `#[plugin_type(name = \"...\", parent = {parent_text})] trait {via_text}: {parent_text}`; \
         `{via_text}` is not declared with `parent = {parent_text}`"
    );
    let parent_check = quote_spanned!(via.span()=>
        const _: () = ::core::assert!(
            <dyn #via as #private::PluginType>::PARENT_KEY
                == <dyn #trait_path as #private::PluginType>::KEY,
            #message,
        );
    );
    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker
            const _: () = {
                #implements_sub_type
            };
            #parent_check
        };
    }
}

/// The impl of the supertrait only this macro writes (`PluginItem<dyn Trait>`). Also emitted
/// next to errors, so a mistake in the attribute is not followed by "not registered as a plugin
/// item".
pub(crate) fn marker_impl(input: &PluginItemInput) -> TokenStream {
    let Some((_, trait_path, _)) = &input.original.trait_ else {
        return TokenStream::new();
    };
    let private = private_path(input.args.krate.as_ref());
    let self_ty = &input.original.self_ty;
    let (impl_generics, _, where_clause) = input.original.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::PluginItem<dyn #trait_path> for #self_ty #where_clause {}
    }
}
