//! `#[plugin_type]`: makes a trait an extension point.
//!
//! parse (arguments and the trait) → validate (names, object safety, a required method) →
//! expand (the trait with its supertraits, the registration, `impl PluginType for dyn Trait`);
//! with errors, a stub of the same shape instead (`fallback`).

mod expand;
mod fallback;
pub(crate) mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = darling::Error::accumulator();
    let parsed = parse::PluginTypeInput::parse(args, input.clone(), &mut errors);
    let Some(parsed) = parsed else {
        // Not a trait: report, and give the item back untouched so nothing else breaks.
        let errors = errors.finish().err().map(darling::Error::write_errors);
        return quote!(#errors #input);
    };
    validate::validate(&parsed, &mut errors);
    match errors.finish() {
        Ok(()) => expand::expand(&parsed),
        Err(errors) => {
            let errors = errors.write_errors();
            let stub = fallback::stub(&parsed);
            quote!(#errors #stub)
        }
    }
}
