//! `#[derive(PluginConfig)]`: parse → validate → expand.
//!
//! Every error of one derive is accumulated and reported at once, each spanned on the token
//! to fix; the generated impls are replaced by stubs when there is any, so uses of the type
//! do not add follow-on errors.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

/// The derive's entry point, over `proc_macro2` so it can be unit-tested.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = darling::Error::accumulator();
    let derived_debug = parse::later_derive_debug(&input.attrs);
    if let Some(debug) = &derived_debug {
        errors.push(
            darling::Error::custom(
                "#[derive(PluginConfig)] already implements `Debug` (it prints secret fields as \"***\"); \
                 remove this `Debug`",
            )
            .with_span(debug),
        );
    }
    let parsed = parse::parse(&input, &mut errors);
    let krate = parsed.as_ref().and_then(|parsed| parsed.krate.clone());
    let config = parsed.and_then(|parsed| validate::validate(parsed, &mut errors));
    match (errors.finish(), config) {
        (Ok(()), Some(config)) => expand::expand(&config),
        (result, _) => {
            let mut out = result
                .err()
                .map(darling::Error::write_errors)
                .unwrap_or_default();
            // Without a second `Debug` impl when the user derives one: the error above says it.
            out.extend(expand::fallback(
                &input,
                krate.as_ref(),
                derived_debug.is_none(),
            ));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn a_good_struct_expands_without_errors() {
        let out = derive(quote! {
            /// Demo.
            struct Demo {
                /// Key.
                #[config(secret, min_length = 8)]
                api_key: String,
                #[config(default = 30, min = 1, max = 300, alias = "timeout")]
                timeout_secs: u32,
                #[config(choices("usd", "eur"), default = "usd")]
                currency: String,
                tags: Vec<String>,
            }
        })
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("FieldKind :: Secret"), "{out}");
        assert!(out.contains("\"Api key\""), "{out}");
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let out = derive(quote! {
            struct Demo {
                #[config(min = 1)]
                name: String,
                #[config(url)]
                port: u16,
                #[config(default = "x")]
                count: u8,
            }
        })
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(
            out.contains("unimplemented"),
            "the stub impls come with the errors: {out}"
        );
    }

    #[test]
    fn a_later_derive_debug_is_reported_instead_of_conflicting() {
        let out = derive(quote! {
            #[derive(Clone, Debug)]
            struct Demo {
                name: String,
            }
        })
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains("already implements `Debug`"), "{out}");
        assert!(!out.contains("fmt :: Debug"), "no second Debug impl: {out}");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let out = derive(quote!(struct)).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
