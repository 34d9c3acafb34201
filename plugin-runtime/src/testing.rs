//! Registries of any size for benchmarks and load tests (feature `testing`): the sizes users
//! reach (1,000 types, 10,000 and 100,000 instances) without writing 1,000 traits.

use std::sync::OnceLock;

use crate::Error;
use crate::registration::{ItemInfo, ItemParts, Location, TypeInfo, TypeParts};
use crate::registry::Registry;

/// The most types a synthetic registry has.
pub const MAX_TYPES: usize = 1000;

/// A registry of `types` plugin types × `items` items each, for benchmarks.
///
/// Every synthetic type is a copy of `like`'s plugin type named `type_0000`, `type_0001`…
/// (in namespace `synthetic`), and every item (`item_00`, `item_01`… at priority 0, 1…, one
/// in three in category `group a`) is built like `like`, so each can be constructed and
/// served as `dyn` that trait. Sync gives each config-less item an ACTIVE instance: `types ×
/// items` instances. The types are made once per process, from the first `like`; later calls
/// must pass an item of the same plugin type.
pub fn synthetic_registry(
    types: usize,
    items: usize,
    like: &'static ItemInfo,
) -> Result<&'static Registry, Error> {
    if types > MAX_TYPES {
        return Err(Error::InvalidInput {
            field: "types",
            reason: format!("a synthetic registry has at most {MAX_TYPES} types"),
        });
    }
    let template = like.plugin_type();
    let made = SYNTHETIC_TYPES.get_or_init(|| (template, synthetic_types(template)));
    if !std::ptr::eq(made.0, template) {
        return Err(Error::InvalidInput {
            field: "like",
            reason: format!(
                "the synthetic types of this process copy `{}`, not `{}`",
                made.0.key(),
                template.key()
            ),
        });
    }
    let infos: Vec<ItemInfo> = (0..types)
        .flat_map(|t| (0..items).map(move |i| (t, i)))
        .map(|(t, i)| {
            ItemInfo::from_parts(ItemParts {
                name: Box::leak(format!("item_{i:02}").into_boxed_str()),
                description: "a synthetic plugin item",
                priority: i32::try_from(i).unwrap_or(i32::MAX),
                category: (i % 3 == 0).then_some("group a"),
                renamed_from: &[],
                location: Location::new(file!(), line!()),
                plugin_type: TYPE_FNS[t],
                ..*like.parts()
            })
        })
        .collect();
    let registry = Registry::collect(&[], Vec::leak(infos), &[])?;
    Ok(Box::leak(Box::new(registry)))
}

/// The copied types and the type they copy.
static SYNTHETIC_TYPES: OnceLock<(&'static TypeInfo, Vec<TypeInfo>)> = OnceLock::new();

fn synthetic_types(template: &'static TypeInfo) -> Vec<TypeInfo> {
    (0..MAX_TYPES)
        .map(|index| {
            TypeInfo::from_parts(TypeParts {
                name: Box::leak(format!("type_{index:04}").into_boxed_str()),
                namespace: "synthetic",
                description: "a synthetic plugin type",
                location: Location::new(file!(), line!()),
                ..*template.parts()
            })
        })
        .collect()
}

fn type_at<const N: usize>() -> &'static TypeInfo {
    match SYNTHETIC_TYPES.get() {
        Some((_, types)) => &types[N],
        // Only items of a registry made above point here, after the types were made.
        None => unreachable!("synthetic types are made before any item refers to them"),
    }
}

// An item names its type through a function pointer: one function per synthetic type.
seq_macro::seq!(N in 0..1000 {
    static TYPE_FNS: [fn() -> &'static TypeInfo; MAX_TYPES] = [#(type_at::<N>,)*];
});
