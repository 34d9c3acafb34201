//! Code generation for a valid plugin item. No checks here: `validate` ran first.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{Also, PluginItemArgs, PluginItemInput};
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
    if let Some(also) = &args.also
        && let Also::Impl = **also
    {
        return expand_also_impl(input, trait_path, also.span(), &marker);
    }

    // Each requirement is named as `<Type as Trait>::item` at the type the user wrote, so a
    // missing impl is reported there, with the trait's own message and nothing from inside
    // the library.
    let plugin_type = quote_spanned!(trait_path.span()=> <dyn #trait_path as #private::PluginType>);
    let view = quote! {
        |object, meta| #private::view_as::<#self_ty, dyn #trait_path>(object, meta, |item| item)
    };
    let listed = args.also.as_ref().map_or(&[][..], |also| also.listed());
    let item_config = match &args.config {
        Some(config) => quote!(#config),
        None => quote!(#private::NoConfig),
    };
    // Per listed type: its registration, the view through the `also` impl (required, at the
    // path the user listed), and what that impl checks (listed, built from this config).
    // The item type through an alias spelled at the listed path: a missing `also` impl is
    // reported there, not at the impl's type.
    let also = listed.iter().map(|other| {
        let item = quote::format_ident!("PluginItemType", span = other.span());
        let info = quote_spanned!(other.span()=> <dyn #other as #private::PluginType>::info);
        let view = quote_spanned!(other.span()=> <#item as #private::AlsoServes<dyn #other>>::view);
        quote! {
            #private::ServedType::new(#info, {
                type #item = #self_ty;
                #view
            })
        }
    });
    let listed_impls = listed.iter().map(|other| {
        quote! {
            #[automatically_derived]
            impl #private::AlsoListed<dyn #other> for #self_ty {
                type Config = #item_config;
            }
        }
    });
    let needs = &args.needs.0;
    // Spelled as the thread-safety check below is, so an item that is not thread-safe gets
    // that one message, once.
    let erase = quote!(<#self_ty as #private::ThreadSafe>::erase);
    let (config, build) = match &args.config {
        Some(config) => {
            let config_fn = |item: TokenStream| quote_spanned!(config.span()=> <#config as #private::PluginConfig>::#item);
            let (schema, read, check) = (
                config_fn(quote!(schema)),
                config_fn(quote!(from_values)),
                config_fn(quote!(validate)),
            );
            let build = if needs.is_empty() {
                let from_config = quote_spanned!(self_ty.span()=>
                    <#self_ty as #private::FromConfig<#config>>::from_config
                );
                quote! {
                    |values, _| #private::build_configured(
                        values, #read, #check, #from_config, #erase,
                    )
                }
            } else {
                let from_needs = quote_spanned!(self_ty.span()=>
                    <#self_ty as #private::FromNeeds<#config>>::from_needs
                );
                quote! {
                    |values, needs| #private::build_configured_with_needs(
                        values, needs, #read, #check, #from_needs, #erase,
                    )
                }
            };
            (quote!(::core::option::Option::Some(#schema)), build)
        }
        None if needs.is_empty() => {
            let build = quote_spanned!(self_ty.span()=>
                <#self_ty as #private::ConfiglessItem>::build
            );
            (
                quote!(::core::option::Option::None),
                quote!(|values, _| #private::build_plain(values, #build, #erase)),
            )
        }
        None => {
            let from_needs = quote_spanned!(self_ty.span()=>
                <#self_ty as #private::FromNeeds<#private::NoConfig>>::from_needs
            );
            (
                quote!(::core::option::Option::None),
                quote!(|_, needs| #private::build_plain_with_needs(needs, #from_needs, #erase)),
            )
        }
    };
    // Named at each path the user listed, so one that is not a plugin type is reported there.
    let needs = needs
        .iter()
        .map(|need| quote_spanned!(need.span()=> <dyn #need as #private::PluginType>::info));

    let lifecycle = lifecycle_hooks(input, &private);

    // rustc reports the trait's `Send + Sync` supertraits at the impl, naming the field that is
    // not thread-safe; this says why a plugin must be and what to do (a second error).
    let thread_safe = quote!(const _: () = <#self_ty as #private::ThreadSafe>::CHECKED;);

    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker
            #thread_safe
            #(#listed_impls)*

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
                needs: &[#(#needs),*],
                view: #view,
                also: &[#(#also),*],
                lifecycle: #lifecycle,
            });
        };
    }
}

/// The `LifecycleHooks` of `lifecycle` (the item's `Lifecycle` impl) or `async_lifecycle`
/// (its `AsyncLifecycle` impl, each future run to completion), named at the flag the user
/// wrote so a missing impl is reported there; `None` without either.
fn lifecycle_hooks(input: &PluginItemInput, private: &TokenStream) -> TokenStream {
    let args = &input.args;
    let self_ty = &input.original.self_ty;
    let (span, hooks, start, stop) = if args.lifecycle.is_present() {
        let span = args.lifecycle.span();
        let hooks = quote_spanned!(span=> <#self_ty as #private::Lifecycle>);
        (
            span,
            hooks.clone(),
            quote!(#hooks::start),
            quote!(#hooks::stop),
        )
    } else if args.async_lifecycle.is_present() {
        let span = args.async_lifecycle.span();
        let hooks = quote_spanned!(span=> <#self_ty as #private::AsyncLifecycle>);
        (
            span,
            hooks.clone(),
            quote!(|item| #private::block_on(#hooks::start(item))),
            quote!(|item| #private::block_on(#hooks::stop(item))),
        )
    } else {
        return quote!(::core::option::Option::None);
    };
    let (start_deadline, drain_deadline) = (
        quote_spanned!(span=> #hooks::START_DEADLINE),
        quote_spanned!(span=> #hooks::DRAIN_DEADLINE),
    );
    quote! {
        ::core::option::Option::Some(#private::LifecycleHooks {
            start: |object| #private::start_item::<#self_ty>(object, #start),
            stop: |object| #private::stop_item::<#self_ty>(object, #stop),
            start_deadline: #start_deadline,
            drain_deadline: #drain_deadline,
        })
    }
}

/// The `version`, `authors`, `homepage`, `hidden` and `per_tenant` fields of the registration. A default
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
    let per_tenant = args.per_tenant.is_present();
    quote! {
        version: #version,
        authors: #authors,
        homepage: #homepage,
        hidden: #hidden,
        per_tenant: #per_tenant,
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

/// `impl Other for Item` of an item that lists `Other` in `also = [...]`: the marker, the
/// view of the item's object as `dyn Other`, and compile-time checks that the item lists this
/// trait (at the `also` the user wrote) and, when this impl repeats `config`, that it is the
/// item's (at the config).
fn expand_also_impl(
    input: &PluginItemInput,
    trait_path: &syn::Path,
    also_span: proc_macro2::Span,
    marker: &TokenStream,
) -> TokenStream {
    let private = private_path(input.args.krate.as_ref());
    let original = &input.original;
    let self_ty = &original.self_ty;
    let listed = quote_spanned!(also_span=>
        <#self_ty as #private::AlsoListed<dyn #trait_path>>::Config
    );
    let listed_check = quote_spanned!(also_span=>
        const _: fn() = || {
            let _: ::core::marker::PhantomData<#listed> = ::core::marker::PhantomData;
        };
    );
    let config_check = input.args.config.as_ref().map(|config| {
        quote_spanned!(config.span()=>
            const _: () = <#config as #private::SameConfig<#listed>>::CHECKED;
        )
    });
    quote! {
        #original

        #[allow(non_upper_case_globals)]
        const _: () = {
            #marker

            #[automatically_derived]
            impl #private::AlsoServes<dyn #trait_path> for #self_ty {
                fn coerce(
                    item: #private::SharedArc<Self>,
                ) -> #private::SharedArc<dyn #trait_path> {
                    item
                }
            }

            #listed_check
            #config_check
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
