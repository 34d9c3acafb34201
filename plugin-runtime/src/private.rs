//! Not public API: what the macros' generated code reaches through `::plugin_system::__private`.
//!
//! Re-exporting linkme here means applications never add it to their own `Cargo.toml`.

use std::any::TypeId;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

pub use ::core;
pub use ::linkme;
pub use ::std::sync::Arc as SharedArc;

pub use crate::PluginConfig;
pub use crate::config::private::*;
pub use crate::config::{ConfigSchema, ConfigValues};
pub use crate::error::PluginError;
pub use crate::instance::InstanceMeta;
pub use crate::registration::{
    ErasedPlugin, FromConfig, ItemInfo, LinkedCrate, Loaded, Location, NoConfig, ParentLink,
    PluginType, TypeInfo,
};
pub use crate::select::Selector;

/// Every `#[plugin_type]` linked into the binary.
#[linkme::distributed_slice]
pub static PLUGIN_TYPES: [TypeInfo];

/// Every `#[plugin_item]` linked into the binary.
#[linkme::distributed_slice]
pub static PLUGIN_ITEMS: [ItemInfo];

/// Every crate named by `link!`.
#[linkme::distributed_slice]
pub static LINKED_CRATES: [LinkedCrate];

/// A supertrait `#[plugin_type]` adds to the trait, with the type's key as `KEY`; only
/// `#[plugin_item]` implements it. So an `impl Trait for Type` without `#[plugin_item]` fails
/// to compile, pointing at the impl, instead of being silently never registered.
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements a plugin type but is not registered as a plugin item",
    label = "this impl needs `#[plugin_item(name = \"...\")]`",
    note = "add `#[plugin_item(name = \"...\")]` above the `impl` so the plugin system can find and build it",
    note = "if `{Self}` is an item of a sub-type and this impl is of the parent trait, write `#[plugin_item(via = SubType)]` instead"
)]
pub trait ItemOf<const KEY: u64> {}

/// The selector a `#[plugin_type(selector = S)]` declares.
pub fn selector_of<S: Selector + Default>() -> SharedArc<dyn Selector> {
    SharedArc::new(S::default())
}

/// `TypeId` of a plugin type, as a function pointer a `static` can hold.
pub fn type_id_of<T: ?Sized + 'static>() -> TypeId {
    TypeId::of::<T>()
}

/// Re-labels a loaded plugin with new instance metadata (status or priority changed) while
/// sharing the constructed object.
pub fn relabel<T: ?Sized + Send + Sync + 'static>(
    erased: &ErasedPlugin,
    meta: InstanceMeta,
) -> ErasedPlugin {
    match Arc::clone(erased).downcast::<Loaded<T>>() {
        Ok(loaded) => Arc::new(Loaded {
            meta,
            plugin: Arc::clone(&loaded.plugin),
        }),
        // Only reachable if the registry pairs a type with another type's plugin, which the
        // registry never does; keep the old value rather than panic.
        Err(same) => same,
    }
}

/// Upcasts a loaded plugin of a sub-type `C` to its parent type `P` (`coerce` is the
/// generated `|child| child`: trait upcasting, checked by the compiler).
pub fn upcast<C, P>(erased: &ErasedPlugin, coerce: fn(Arc<C>) -> Arc<P>) -> Option<ErasedPlugin>
where
    C: ?Sized + Send + Sync + 'static,
    P: ?Sized + Send + Sync + 'static,
{
    let loaded = erased.downcast_ref::<Loaded<C>>()?;
    Some(Arc::new(Loaded {
        meta: loaded.meta.clone(),
        plugin: coerce(Arc::clone(&loaded.plugin)),
    }))
}

/// `#[plugin_item(via = SubType)]` on `impl Parent for Item`: `SubType` must be a sub-type of
/// `Parent` (compared by their keys at compile time).
pub const fn assert_via(parent_of_via: u64, this_type: u64) {
    assert!(
        parent_of_via == this_type,
        "`via` must name a sub-type of the trait this impl implements: \
         `#[plugin_type(parent = ThisTrait)] trait SubType: ThisTrait`"
    );
}

/// The schema of a config type, as a function pointer a `static` can hold.
pub fn schema_of<C: PluginConfig>() -> &'static ConfigSchema {
    C::schema()
}

/// Builds one instance of a configurable item: typed config from the stored values, checked
/// against the schema, then the item's constructor, then the upcast to the trait object.
/// A panicking constructor is reported as an error, not propagated.
pub fn build_configured<T, I, C>(
    meta: InstanceMeta,
    values: Option<&ConfigValues>,
    upcast: fn(I) -> Arc<T>,
) -> Result<ErasedPlugin, PluginError>
where
    T: ?Sized + Send + Sync + 'static,
    I: FromConfig<C>,
    C: PluginConfig,
{
    let empty = ConfigValues::new();
    let config = C::from_values(values.unwrap_or(&empty))?;
    config.validate()?;
    construct(meta, move || I::from_config(config), upcast)
}

/// Builds one instance of a config-less item.
pub fn build_plain<T, I>(
    meta: InstanceMeta,
    _values: Option<&ConfigValues>,
    upcast: fn(I) -> Arc<T>,
) -> Result<ErasedPlugin, PluginError>
where
    T: ?Sized + Send + Sync + 'static,
    I: FromConfig<NoConfig>,
{
    construct(meta, || I::from_config(NoConfig), upcast)
}

fn construct<T, I>(
    meta: InstanceMeta,
    constructor: impl FnOnce() -> Result<I, PluginError>,
    upcast: fn(I) -> Arc<T>,
) -> Result<ErasedPlugin, PluginError>
where
    T: ?Sized + Send + Sync + 'static,
{
    let item = match catch_unwind(AssertUnwindSafe(constructor)) {
        Ok(result) => result?,
        Err(panic) => {
            let message = panic_message(&panic);
            return Err(PluginError::new(format!(
                "the constructor panicked: {message}"
            )));
        }
    };
    Ok(Arc::new(Loaded {
        meta,
        plugin: upcast(item),
    }))
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// Names plugin crates so the linker keeps them; see [`link!`](crate::link).
#[doc(hidden)]
#[macro_export]
macro_rules! __link_one {
    ($krate:ident) => {
        #[allow(unused_imports)]
        use $krate as _;
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::__private::LINKED_CRATES)]
            #[linkme(crate = $crate::__private::linkme)]
            static LINKED: $crate::__private::LinkedCrate = $crate::__private::LinkedCrate {
                crate_name: ::core::stringify!($krate),
                location: $crate::__private::Location {
                    file: ::core::file!(),
                    line: ::core::line!(),
                },
            };
        };
    };
}
