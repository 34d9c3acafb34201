//! Every supported form of #[plugin_type].

use plugin_system::prelude::*;

/// Described by its doc comment.
#[plugin_type(name = "documented")]
pub trait Documented {
    fn run(&self) -> u32;
}

#[plugin_type(name = "explicit", namespace = "shared-contracts", description = "Given in the attribute")]
pub trait Explicit: std::fmt::Debug {
    /// Required.
    fn run(&self, input: &str) -> String;
    /// Shared behaviour.
    fn name(&self) -> &str {
        "explicit"
    }
    /// Kept out of the trait object: needs no object safety, is not part of the contract.
    fn build() -> Self
    where
        Self: Sized;
    fn borrowed<'a>(&'a self, input: &'a str) -> &'a str {
        input
    }
    fn boxed(self: Box<Self>) -> u8;
}

// A private trait, and the facade path given explicitly.
#[plugin_type(name = "private_one", crate = ::plugin_system)]
trait PrivateOne {
    fn run(&self);
}

// A contract at its second version.
#[plugin_type(name = "versioned", version = 2)]
pub trait Versioned {
    fn run(&self);
}

// A declared selector (any `Selector + Default`) and a type no breaker may skip.
#[plugin_type(name = "balanced", selector = plugin_system::select::RoundRobin, critical)]
pub trait Balanced {
    fn run(&self);
}

fn main() {
    fn is_plugin_type<T: ?Sized + PluginType>() -> &'static str {
        T::info().name()
    }
    assert_eq!(is_plugin_type::<dyn Documented>(), "documented");
    assert_eq!(<dyn Documented as PluginType>::info().description(), "Described by its doc comment.");
    let explicit = <dyn Explicit as PluginType>::info();
    assert_eq!(explicit.namespace(), "shared-contracts");
    assert_eq!(explicit.description(), "Given in the attribute");
    assert_eq!(is_plugin_type::<dyn PrivateOne>(), "private_one");
    let balanced = <dyn Balanced as PluginType>::info();
    assert!(balanced.has_selector() && balanced.is_critical());
    assert!(!explicit.has_selector() && !explicit.is_critical());
    assert_eq!(<dyn Versioned as PluginType>::info().version(), 2);
    assert_eq!(explicit.version(), 1, "the default contract version");
}
