//! Where generated code finds the runtime.
//!
//! Users depend on the facade `plugin-system`, so generated code names the runtime only as
//! `::plugin_system::__private::…` (a `#[doc(hidden)]` module that is not public API). A facade
//! that re-exports plugin-system under another name passes `crate = path::to::plugin_system`.

use proc_macro2::TokenStream;
use quote::quote;

/// The path of the hidden runtime module generated code goes through.
pub(crate) fn private_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::plugin_system::__private),
    }
}
