//! Implementation detail of the `plugin-system` crate: use the macros through it.
//!
//! Each macro is parse → validate → expand, one module each, over a small IR that keeps the
//! user's tokens for spans. Errors are accumulated and reported together, never a panic.

mod attrs;
mod config;
mod names;
mod plugin_item;
mod plugin_type;
mod runtime_path;

use proc_macro::TokenStream;

/// Makes a trait a plugin type (an extension point). Its methods may carry
/// `#[action(label = "...")]` (admin actions; the macro reads and removes them). See the
/// `plugin-system` docs.
#[proc_macro_attribute]
pub fn plugin_type(args: TokenStream, input: TokenStream) -> TokenStream {
    plugin_type::expand(args.into(), input.into()).into()
}

/// Registers an `impl PluginType for Type` as a plugin item. See the `plugin-system` docs.
#[proc_macro_attribute]
pub fn plugin_item(args: TokenStream, input: TokenStream) -> TokenStream {
    plugin_item::expand(args.into(), input.into()).into()
}

/// Derives `PluginConfig` for a struct with named fields. See the `plugin-system` docs.
///
/// Also implements `Debug`, printing secret fields as `"***"`; do not also `#[derive(Debug)]`
/// (the impls would conflict).
#[proc_macro_derive(PluginConfig, attributes(config))]
pub fn derive_plugin_config(input: TokenStream) -> TokenStream {
    config::derive(input.into()).into()
}
