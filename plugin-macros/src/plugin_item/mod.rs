//! `#[plugin_item]`: registers `impl PluginType for Type` as an implementation.
//!
//! parse (arguments and the impl) → validate (names, a concrete trait impl) → expand (the impl
//! as written, the registration with its factory, the marker only this macro implements).

pub(crate) mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = darling::Error::accumulator();
    let parsed = parse::PluginItemInput::parse(args, input.clone(), &mut errors);
    let Some(parsed) = parsed else {
        let errors = errors.finish().err().map(darling::Error::write_errors);
        return quote!(#errors #input);
    };
    validate::validate(&parsed, &mut errors);
    match errors.finish() {
        Ok(()) => expand::expand(&parsed),
        Err(errors) => {
            let errors = errors.write_errors();
            let original = &parsed.original;
            let marker = expand::marker_impl(&parsed);
            quote!(#errors #original const _: () = { #marker };)
        }
    }
}
