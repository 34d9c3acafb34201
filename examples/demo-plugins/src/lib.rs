//! A plugin crate: a plugin type and two items, nothing else.
//!
//! Nothing refers to this crate's items by name, so a binary must name the crate
//! (`plugin_system::link!(demo_plugins);`) or the linker drops them.

use plugin_system::prelude::*;

/// Says hello in some language.
#[plugin_type(name = "greeter")]
pub trait Greeter {
    /// The greeting for `name`.
    fn greet(&self, name: &str) -> String;
}

/// Greets in English.
#[derive(Default)]
pub struct English;

/// Hello in English.
#[plugin_item(name = "english", priority = 10)]
impl Greeter for English {
    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }
}

/// Greets in French.
#[derive(Default)]
pub struct French;

/// Bonjour.
#[plugin_item(name = "french", priority = 20, category = "european")]
impl Greeter for French {
    fn greet(&self, name: &str) -> String {
        format!("Bonjour, {name} !")
    }
}
