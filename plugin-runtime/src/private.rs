//! Not public API: what the macros' generated code reaches through `::plugin_system::__private`.
//!
//! Re-exporting linkme here means applications never add it to their own `Cargo.toml`.

use std::any::TypeId;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

pub use ::linkme;
pub use ::std::sync::Arc as SharedArc;

pub use crate::PluginConfig;
pub use crate::action::{ActionInfo, run_on as run_action};
pub use crate::config::private::*;
pub use crate::config::{ConfigSchema, ConfigValues};
pub use crate::plugins::lifecycle::block_on;
pub use crate::registration::{
    AlsoListed, AlsoServes, AsyncLifecycle, ConfiglessItem, DefaultSelector, ErasedObject,
    ErasedPlugin, FromConfig, FromNeeds, ItemInfo, ItemParts, Lifecycle, LifecycleHooks,
    LinkedCrate, Location, Needs, NoConfig, ParentLink, PluginItem, PluginType, SameConfig,
    ServedType, ThreadSafe, TypeInfo, TypeParts, ViewFn,
};

use crate::error::{PluginError, panic_message};
use crate::instance::InstanceMeta;
use crate::registration::Loaded;

/// Every `#[plugin_type]` linked into the binary.
#[linkme::distributed_slice]
pub static PLUGIN_TYPES: [TypeInfo];

/// Every `#[plugin_item]` linked into the binary.
#[linkme::distributed_slice]
pub static PLUGIN_ITEMS: [ItemInfo];

/// Every crate named by `link!`.
#[linkme::distributed_slice]
pub static LINKED_CRATES: [LinkedCrate];

/// Names a plugin type's trait object without writing `dyn Trait` in the trait's own
/// supertraits (which would be a cycle): `#[plugin_type]` implements it for a marker type it
/// declares beside the trait, and the trait requires
/// `PluginItem<<Marker as TraitObject>::Dyn>`, which rustc shows as `PluginItem<dyn Trait>`.
pub trait TraitObject {
    /// `dyn Trait`.
    type Dyn: ?Sized;
}

/// `PluginType::KEY` of a plugin type: FNV-1a (64 bits) over its namespace and its name, each
/// followed by a zero byte. Evaluated in the crate that declares the type, so the namespace is
/// that crate's `CARGO_PKG_NAME` as cargo set it for that crate.
pub const fn type_key(namespace: &str, name: &str) -> u64 {
    let hash = fnv1a(0xcbf2_9ce4_8422_2325, namespace.as_bytes());
    fnv1a(hash, name.as_bytes())
}

const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    // The separator after each part: ("ab", "c") and ("a", "bc") differ.
    hash.wrapping_mul(0x0000_0100_0000_01b3)
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

/// Builds the object of one instance of a configurable item: typed config from the stored
/// values, checked against the schema, then the item's constructor. A panicking constructor is
/// reported as an error, not propagated.
///
/// The steps come as `<Type as Trait>::…` functions the generated code names at the user's
/// types, rather than through bounds here: a missing impl is then reported at the user's code,
/// never as "required by a bound in" this function.
pub fn build_configured<I, C>(
    values: Option<&ConfigValues>,
    read: fn(&ConfigValues) -> Result<C, ConfigErrors>,
    check: fn(&C) -> Result<(), ConfigErrors>,
    from_config: fn(C) -> Result<I, PluginError>,
    erase: fn(Arc<I>) -> ErasedObject,
) -> Result<ErasedObject, PluginError> {
    let empty = ConfigValues::new();
    let config = read(values.unwrap_or(&empty))?;
    check(&config)?;
    construct(move || from_config(config), erase)
}

/// As [`build_configured`], for an item with `needs = [...]` (its `FromNeeds<C>`).
pub fn build_configured_with_needs<I, C>(
    values: Option<&ConfigValues>,
    needs: &Needs<'_>,
    read: fn(&ConfigValues) -> Result<C, ConfigErrors>,
    check: fn(&C) -> Result<(), ConfigErrors>,
    from_needs: fn(C, &Needs<'_>) -> Result<I, PluginError>,
    erase: fn(Arc<I>) -> ErasedObject,
) -> Result<ErasedObject, PluginError> {
    let empty = ConfigValues::new();
    let config = read(values.unwrap_or(&empty))?;
    check(&config)?;
    construct(move || from_needs(config, needs), erase)
}

/// Builds the object of a config-less item (its `FromConfig<NoConfig>`, which `Default`
/// gives).
pub fn build_plain<I>(
    _values: Option<&ConfigValues>,
    from_config: fn(NoConfig) -> Result<I, PluginError>,
    erase: fn(Arc<I>) -> ErasedObject,
) -> Result<ErasedObject, PluginError> {
    construct(|| from_config(NoConfig), erase)
}

/// As [`build_plain`], for an item with `needs = [...]` (its `FromNeeds<NoConfig>`).
pub fn build_plain_with_needs<I>(
    needs: &Needs<'_>,
    from_needs: fn(NoConfig, &Needs<'_>) -> Result<I, PluginError>,
    erase: fn(Arc<I>) -> ErasedObject,
) -> Result<ErasedObject, PluginError> {
    construct(|| from_needs(NoConfig, needs), erase)
}

fn construct<I>(
    constructor: impl FnOnce() -> Result<I, PluginError>,
    erase: fn(Arc<I>) -> ErasedObject,
) -> Result<ErasedObject, PluginError> {
    match catch_unwind(AssertUnwindSafe(constructor)) {
        Ok(result) => Ok(erase(Arc::new(result?))),
        Err(panic) => {
            let message = panic_message(&panic);
            Err(PluginError::new(format!(
                "the constructor panicked: {message}"
            )))
        }
    }
}

/// Runs a start hook of item `I` on its built object (the generated `start` of
/// `LifecycleHooks`; `start` is `<I as Lifecycle>::start`, named at the user's type).
pub fn start_item<I: Send + Sync + 'static>(
    object: &ErasedObject,
    start: fn(&I) -> Result<(), PluginError>,
) -> Result<(), PluginError> {
    match object.downcast_ref::<I>() {
        Some(item) => start(item),
        // Only reachable if the registry paired hooks with another item's object.
        None => Err(PluginError::new(
            "the object to start is not of its item's type",
        )),
    }
}

/// Runs a stop hook of item `I` on its built object.
pub fn stop_item<I: Send + Sync + 'static>(object: &ErasedObject, stop: fn(&I)) {
    if let Some(item) = object.downcast_ref::<I>() {
        stop(item);
    }
}

/// Views the built object of item `I` as plugin type `T`, labelled with `meta` (`coerce` is
/// the generated `|item| item`, or `AlsoServes::coerce`: the trait object coercion).
pub fn view_as<I, T>(
    object: &ErasedObject,
    meta: InstanceMeta,
    coerce: fn(Arc<I>) -> Arc<T>,
) -> Option<ErasedPlugin>
where
    I: Send + Sync + 'static,
    T: ?Sized + Send + Sync + 'static,
{
    let item = Arc::clone(object).downcast::<I>().ok()?;
    Some(Arc::new(Loaded {
        meta,
        plugin: coerce(item),
    }))
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
                location: $crate::__private::Location::new(::core::file!(), ::core::line!()),
            };
        };
    };
}
