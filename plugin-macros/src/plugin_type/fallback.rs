//! What `#[plugin_type]` emits next to its errors, so the items of the type add none of their
//! own (thiserror's `fallback.rs`, clap's `dummies.rs`): the trait with the supertraits a valid
//! type has, usable as `dyn Trait`, and an `impl PluginType` whose `info` is never called
//! (the crate does not build).
//!
//! A method or associated type that keeps the trait from being `dyn Trait` gets the
//! `where Self: Sized` its error suggests; otherwise every item would also be told that the
//! trait is not dyn compatible.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{TraitItem, parse_quote};

use super::expand::{parent_key, with_supertraits};
use super::parse::PluginTypeInput;
use super::validate::method_problems;
use crate::attrs::has_async_trait;
use crate::runtime_path::private_path;

pub(crate) fn stub(input: &PluginTypeInput) -> TokenStream {
    let original = &input.original;
    if original.auto_token.is_some() {
        return quote!(#original);
    }
    let private = private_path(input.args.krate.as_ref());
    let mut stub = with_supertraits(input);
    let async_trait = has_async_trait(&original.attrs);
    for item in &mut stub.items {
        match item {
            TraitItem::Fn(method) if !method_problems(method, async_trait).is_empty() => {
                let clause = method.sig.generics.make_where_clause();
                clause
                    .predicates
                    .push(parse_quote!(Self: ::core::marker::Sized));
            }
            TraitItem::Type(ty) => {
                let clause = ty.generics.make_where_clause();
                clause
                    .predicates
                    .push(parse_quote!(Self: ::core::marker::Sized));
            }
            _ => {}
        }
    }

    // `dyn Trait<'a, T>` is a plugin type (`'static`) when its arguments are.
    let ident = &stub.ident;
    let mut generics = stub.generics.clone();
    for param in &mut generics.params {
        match param {
            syn::GenericParam::Lifetime(lifetime) => lifetime.bounds.push(parse_quote!('static)),
            syn::GenericParam::Type(ty) => ty.bounds.push(parse_quote!('static)),
            syn::GenericParam::Const(_) => {}
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let parent_key = input
        .args
        .parent
        .as_ref()
        .map(|parent| parent_key(parent, &private));
    quote! {
        #stub

        #[allow(non_upper_case_globals)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::PluginType for dyn #ident #ty_generics #where_clause {
                const KEY: u64 = 0;
                #parent_key

                fn info() -> &'static #private::TypeInfo {
                    ::core::unreachable!("a plugin type with errors does not build")
                }
            }
        };
    }
}
