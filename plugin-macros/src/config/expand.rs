//! Expand: a checked [`Config`] → `impl PluginConfig` and a secret-hiding `impl Debug`.
//! No validation happens here.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::validate::{Config, Default, Field, KindAttr};
use crate::runtime_path::private_path;

/// The generated impls, wrapped in `const _: () = { … };` so nothing leaks into the user's
/// namespace.
pub(crate) fn expand(config: &Config) -> TokenStream {
    let private = private_path(config.krate.as_ref());
    let ident = &config.ident;
    let name = ident.to_string();
    let description = &config.description;
    let version = config.version.as_ref().map(|(number, upgrades)| {
        // Each upgrade is coerced to `Upgrade` where it is written, so a function of the
        // wrong shape is reported at its path.
        quote!(.with_version(#number, &[#(#upgrades),*]))
    });
    let schemas = config
        .fields
        .iter()
        .map(|field| field_schema(field, &private));
    let vars: Vec<_> = (0..config.fields.len())
        .map(|i| format_ident!("__config_field_{}", i))
        .collect();
    let idents: Vec<_> = config.fields.iter().map(|field| &field.ident).collect();
    let reads = config
        .fields
        .iter()
        .zip(&vars)
        .enumerate()
        .map(|(i, (field, var))| {
            let ty = &field.ty;
            let from_value = quote_spanned!(ty.span()=> <#ty as #private::ConfigField>::from_value);
            let when_missing =
                quote_spanned!(ty.span()=> <#ty as #private::ConfigField>::when_missing);
            quote! {
                let #var = #private::read_field(
                    values,
                    &__config_fields[#i],
                    &mut __config_errors,
                    #from_value,
                    #when_missing,
                );
            }
        });
    let names: Vec<&str> = config
        .fields
        .iter()
        .map(|field| field.name.as_str())
        .collect();
    let writes = config.fields.iter().map(|field| {
        let (ty, ident) = (&field.ty, &field.ident);
        quote_spanned!(ty.span()=> <#ty as #private::ConfigField>::to_value(&self.#ident))
    });
    let debug_fields = config.fields.iter().map(|field| {
        let (ident, name, ty) = (&field.ident, &field.name, &field.ty);
        if matches!(field.kind, Some(KindAttr::Secret)) {
            quote!(.field(#name, &#private::REDACTED))
        } else {
            // Through `ConfigField` (not `Debug`): an unsupported type is then the same error
            // as in the schema, reported once, without a misleading "derive Debug" hint.
            let fmt = quote_spanned!(ty.span()=> <#ty as #private::ConfigField>::fmt_debug);
            quote!(.field(#name, &#private::Shown(&self.#ident, #fmt)))
        }
    });
    let build = if config.fields.is_empty() {
        quote!(let _ = values; ::core::result::Result::Ok(Self {}))
    } else {
        quote! {
            let __config_fields = <Self as #private::PluginConfig>::schema().fields;
            let mut __config_errors = #private::ConfigErrors::new();
            #(#reads)*
            match (#(#vars,)*) {
                (#(::core::option::Option::Some(#vars),)*) => {
                    ::core::result::Result::Ok(Self { #(#idents: #vars),* })
                }
                _ => ::core::result::Result::Err(__config_errors),
            }
        }
    };

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::absolute_paths)]
        const _: () = {
            #[automatically_derived]
            impl #private::PluginConfig for #ident {
                fn schema() -> &'static #private::ConfigSchema {
                    static SCHEMA: #private::ConfigSchema =
                        #private::ConfigSchema::new(#name, &[#(#schemas),*]).with_description(#description)#version;
                    &SCHEMA
                }

                fn from_values(
                    values: &#private::ConfigValues,
                ) -> ::core::result::Result<Self, #private::ConfigErrors> {
                    #build
                }

                fn to_values(&self) -> #private::ConfigValues {
                    let mut values = #private::ConfigValues::new();
                    #(values.insert(::core::convert::From::from(#names), #writes);)*
                    values
                }
            }

            #[automatically_derived]
            impl ::core::fmt::Debug for #ident {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#name) #(#debug_fields)* .finish()
                }
            }
        };
    }
}

/// One `FieldSchema` constant expression.
fn field_schema(field: &Field, private: &TokenStream) -> TokenStream {
    let ty = &field.ty;
    let (name, label, help) = (&field.name, &field.label, &field.help);
    // The type's own properties, spanned at the type so an unsupported type is reported there.
    let of_type =
        |item: TokenStream| quote_spanned!(ty.span()=> <#ty as #private::ConfigField>::#item);
    let kind = match &field.kind {
        None => of_type(quote!(KIND)),
        Some(KindAttr::Secret) => quote!(#private::FieldKind::Secret),
        Some(KindAttr::Url) => quote!(#private::FieldKind::Url),
        Some(KindAttr::Email) => quote!(#private::FieldKind::Email),
        Some(KindAttr::Choice(choices)) => quote!(#private::FieldKind::Choice(&[#(#choices),*])),
    };
    let (optional, required) = (of_type(quote!(OPTIONAL)), of_type(quote!(REQUIRED)));
    let mut out = quote! {
        #private::FieldSchema::new(#name, #label, #kind)
            .with_optional(#optional)
            .with_required(#required)
    };
    if !help.is_empty() {
        out.extend(quote!(.with_help(#help)));
    }
    if let Some(default) = &field.default {
        let value = match default {
            Default::Text(text) => quote!(Text(#text)),
            Default::Integer(int) => {
                let int = proc_macro2::Literal::i128_unsuffixed(*int);
                quote!(Integer(#int))
            }
            Default::Float(float) => {
                let float = proc_macro2::Literal::f64_unsuffixed(*float);
                quote!(Float(#float))
            }
            Default::Bool(flag) => quote!(Bool(#flag)),
            Default::List(items) => quote!(List(&[#(#items),*])),
        };
        out.extend(quote!(.with_default(#private::DefaultValue::#value)));
    }
    let float = |value: f64| proc_macro2::Literal::f64_unsuffixed(value);
    if let Some(min) = field.min.map(float) {
        out.extend(quote!(.with_min(#min)));
    }
    if let Some(max) = field.max.map(float) {
        out.extend(quote!(.with_max(#max)));
    }
    // After its own bounds: the type's range narrows them (a `u8` holds 0 to 255).
    let range = of_type(quote!(RANGE));
    out.extend(quote!(.within(#range)));
    if let Some(min) = field.min_length {
        out.extend(quote!(.with_min_length(#min)));
    }
    if let Some(max) = field.max_length {
        out.extend(quote!(.with_max_length(#max)));
    }
    if let Some(pattern) = &field.pattern {
        out.extend(quote!(.with_pattern(#pattern)));
    }
    if !field.aliases.is_empty() {
        let aliases = &field.aliases;
        out.extend(quote!(.with_aliases(&[#(#aliases),*])));
    }
    out
}

/// What is emitted next to the errors: empty impls, so each use of the type does not add a
/// "not a plugin config" error on top of the real one (and no `Debug` impl when the user
/// derives one, which is the error).
pub(crate) fn fallback(
    input: &syn::DeriveInput,
    krate: Option<&syn::Path>,
    with_debug: bool,
) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let private = private_path(krate);
    let ident = &input.ident;
    let debug = with_debug.then(|| {
        quote! {
            #[automatically_derived]
            impl ::core::fmt::Debug for #ident {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(::core::stringify!(#ident))
                }
            }
        }
    });
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #private::PluginConfig for #ident {
                fn schema() -> &'static #private::ConfigSchema {
                    ::core::unimplemented!()
                }
                fn from_values(
                    _: &#private::ConfigValues,
                ) -> ::core::result::Result<Self, #private::ConfigErrors> {
                    ::core::unimplemented!()
                }
                fn to_values(&self) -> #private::ConfigValues {
                    ::core::unimplemented!()
                }
            }
            #debug
        };
    }
}
