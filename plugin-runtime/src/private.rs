//! Not public API: what the macros' generated code reaches through `::plugin_system::__private`.
//!
//! Re-exporting linkme here means applications never add it to their own `Cargo.toml`.

use std::any::TypeId;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

pub use ::linkme;
pub use ::std::sync::Arc as SharedArc;

pub use crate::PluginConfig;
pub use crate::config::private::*;
pub use crate::config::{ConfigSchema, ConfigValues};
pub use crate::registration::{
    ConfiglessItem, DefaultSelector, ErasedPlugin, FromConfig, ItemInfo, ItemParts, LinkedCrate,
    Location, ParentLink, PluginItem, PluginType, ThreadSafe, TypeInfo, TypeParts,
};

use crate::error::{PluginError, panic_message};
use crate::instance::InstanceMeta;
use crate::registration::{Loaded, NoConfig};

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

/// Builds one instance of a configurable item: typed config from the stored values, checked
/// against the schema, then the item's constructor, then the upcast to the trait object.
/// A panicking constructor is reported as an error, not propagated.
///
/// The steps come as `<Type as Trait>::…` functions the generated code names at the user's
/// types, rather than through bounds here: a missing impl is then reported at the user's code,
/// never as "required by a bound in" this function.
pub fn build_configured<T, I, C>(
    meta: InstanceMeta,
    values: Option<&ConfigValues>,
    read: fn(&ConfigValues) -> Result<C, ConfigErrors>,
    check: fn(&C) -> Result<(), ConfigErrors>,
    from_config: fn(C) -> Result<I, PluginError>,
    upcast: fn(I) -> Arc<T>,
) -> Result<ErasedPlugin, PluginError>
where
    T: ?Sized + Send + Sync + 'static,
{
    let empty = ConfigValues::new();
    let config = read(values.unwrap_or(&empty))?;
    check(&config)?;
    construct(meta, move || from_config(config), upcast)
}

/// Builds one instance of a config-less item (its `FromConfig<NoConfig>`, which `Default`
/// gives).
pub fn build_plain<T, I>(
    meta: InstanceMeta,
    _values: Option<&ConfigValues>,
    from_config: fn(NoConfig) -> Result<I, PluginError>,
    upcast: fn(I) -> Arc<T>,
) -> Result<ErasedPlugin, PluginError>
where
    T: ?Sized + Send + Sync + 'static,
{
    construct(meta, || from_config(NoConfig), upcast)
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
