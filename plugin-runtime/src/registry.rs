//! The registry: every plugin type and item linked into this binary, collected from the
//! linker's slices once, sorted (slice order differs between debug and release builds) and
//! validated (duplicates fail with both definition sites); and the descriptors it holds, as
//! the macros register them.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use crate::__private::{LINKED_CRATES, PLUGIN_ITEMS, PLUGIN_TYPES};
use crate::Error;
pub use crate::action::ActionInfo;
use crate::keys::{ItemKey, TypeKey};
use crate::registration::LinkedCrate;
pub use crate::registration::{ItemInfo, Location, ParentLink, TypeInfo};

/// One plugin type and its items, in name order.
#[derive(Debug)]
pub struct RegisteredType {
    /// The type's registration.
    pub info: &'static TypeInfo,
    /// Its items, sorted by name.
    pub items: Vec<&'static ItemInfo>,
    /// Items of other types whose instances serve this one too (`also = [...]`), sorted by
    /// key.
    pub also_served_by: Vec<&'static ItemInfo>,
}

/// Every plugin type and item linked into the binary.
#[derive(Debug)]
pub struct Registry {
    types: Vec<RegisteredType>,
    by_type_id: HashMap<TypeId, usize>,
    by_key: BTreeMap<TypeKey, usize>,
    /// Per item with `needs`, its depth in the dependency graph (1: it needs only items that
    /// need nothing). Items without needs are at depth 0 and not listed.
    depths: BTreeMap<ItemKey, usize>,
}

impl Registry {
    /// The registry of this binary: collected from the linker's slices and validated on first
    /// use; later calls return the same registry (or the same error, still typed:
    /// [`Error::DuplicateRegistration`], [`Error::MissingPluginCrate`] or
    /// [`Error::InvalidRegistration`]).
    pub fn linked() -> Result<&'static Registry, Error> {
        static LINKED: OnceLock<Result<Registry, Error>> = OnceLock::new();
        match LINKED.get_or_init(|| Registry::collect(&PLUGIN_TYPES, &PLUGIN_ITEMS, &LINKED_CRATES))
        {
            Ok(registry) => Ok(registry),
            Err(err) => Err(copy_of(err)),
        }
    }

    /// Builds a registry from explicit registrations (the linked slices, or a test's own).
    pub fn collect(
        types: &'static [TypeInfo],
        items: &'static [ItemInfo],
        linked_crates: &'static [LinkedCrate],
    ) -> Result<Registry, Error> {
        // A type reaches the registry from its own slice entry, through any of its items, or
        // as a sub-type's parent, so a type whose registration the linker dropped is still
        // known when something names it.
        let mut by_key: BTreeMap<TypeKey, (&'static TypeInfo, Vec<&'static ItemInfo>)> =
            BTreeMap::new();
        let named = types
            .iter()
            .chain(items.iter().flat_map(|item| item.serves()));
        let mut all_types = Vec::new();
        for info in named {
            let mut next = Some(info);
            while let Some(info) = next {
                all_types.push(info);
                next = info.parent();
            }
        }
        for info in all_types {
            match by_key.get(&info.key()) {
                Some((existing, _)) if std::ptr::eq(*existing, info) => {}
                Some((existing, _)) => {
                    let (first, second) = sites(existing.location(), info.location());
                    return Err(Error::DuplicateRegistration {
                        what: "plugin type",
                        key: info.key().to_string(),
                        first,
                        second,
                    });
                }
                None => {
                    by_key.insert(info.key(), (info, Vec::new()));
                }
            }
        }
        let mut also_served_by: BTreeMap<TypeKey, Vec<&'static ItemInfo>> = BTreeMap::new();
        for item in items {
            let type_key = item.plugin_type().key();
            if let Some((_, list)) = by_key.get_mut(&type_key) {
                list.push(item);
            }
            for other in item.also_serves() {
                also_served_by.entry(other.key()).or_default().push(item);
            }
        }

        let mut registered = Vec::with_capacity(by_key.len());
        for (key, (info, mut items)) in by_key {
            items.sort_by(|a, b| {
                (a.name(), a.location().file(), a.location().line()).cmp(&(
                    b.name(),
                    b.location().file(),
                    b.location().line(),
                ))
            });
            for pair in items.windows(2) {
                if pair[0].name() == pair[1].name() {
                    let (first, second) = sites(pair[0].location(), pair[1].location());
                    return Err(Error::DuplicateRegistration {
                        what: "plugin item",
                        key: pair[0].key().to_string(),
                        first,
                        second,
                    });
                }
            }
            check_renames(info, &items)?;
            check_schemas(&items)?;
            let mut also = also_served_by.remove(&key).unwrap_or_default();
            also.sort_by_key(|item| item.key());
            registered.push(RegisteredType {
                info,
                items,
                also_served_by: also,
            });
        }

        let depths = dependency_depths(&registered)?;
        let registry = Registry {
            depths,
            by_type_id: registered
                .iter()
                .enumerate()
                .map(|(index, ty)| (ty.info.trait_object_id(), index))
                .collect(),
            by_key: registered
                .iter()
                .enumerate()
                .map(|(index, ty)| (ty.info.key(), index))
                .collect(),
            types: registered,
        };
        registry.check_linked_crates(linked_crates)?;
        Ok(registry)
    }

    fn check_linked_crates(&self, linked_crates: &[LinkedCrate]) -> Result<(), Error> {
        for linked in linked_crates {
            let contributed = self.types.iter().any(|ty| {
                ty.info.crate_name() == linked.crate_name
                    || ty
                        .items
                        .iter()
                        .any(|item| item.crate_name() == linked.crate_name)
            });
            if !contributed {
                return Err(Error::MissingPluginCrate {
                    krate: linked.crate_name.into(),
                    site: linked.location.to_string(),
                });
            }
        }
        Ok(())
    }

    /// How deep `item` is in the dependency graph: 0 when it needs nothing, else one more
    /// than the deepest item that serves what it needs. Instances are built (and started) in
    /// this order, and stopped in the reverse.
    pub fn depth(&self, item: &ItemKey) -> usize {
        self.depths.get(item).copied().unwrap_or(0)
    }

    /// The depth of the deepest item (0 when no item declares `needs`).
    pub fn deepest(&self) -> usize {
        self.depths.values().copied().max().unwrap_or(0)
    }

    /// True when some item declares `needs`.
    pub fn has_needs(&self) -> bool {
        !self.depths.is_empty()
    }

    /// Every type, sorted by key.
    pub fn types(&self) -> &[RegisteredType] {
        &self.types
    }

    /// Every item of every type.
    pub fn items(&self) -> impl Iterator<Item = &'static ItemInfo> + '_ {
        self.types.iter().flat_map(|ty| ty.items.iter().copied())
    }

    /// The type registered for `dyn Trait`, by its Rust type.
    pub fn type_of(&self, type_id: TypeId) -> Option<&RegisteredType> {
        self.by_type_id
            .get(&type_id)
            .map(|&index| &self.types[index])
    }

    /// The type with this stored key.
    pub fn type_by_key(&self, key: &TypeKey) -> Option<&RegisteredType> {
        self.by_key.get(key).map(|&index| &self.types[index])
    }

    /// The item with this stored key, or an error naming the type's known items.
    pub fn item(&self, key: &ItemKey) -> Result<&'static ItemInfo, Error> {
        let ty = self
            .type_by_key(&key.type_key)
            .ok_or_else(|| Error::UnknownType(key.type_key.to_string()))?;
        ty.items
            .iter()
            .copied()
            .find(|item| item.name() == key.name)
            .ok_or_else(|| Error::UnknownItem {
                type_name: key.type_key.to_string(),
                item: crate::keys::truncate(&key.name),
                known: ty
                    .items
                    .iter()
                    .map(|item| item.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The namespaces this binary registers: sync never touches rows of other namespaces.
    pub fn namespaces(&self) -> Vec<&'static str> {
        let mut namespaces: Vec<_> = self.types.iter().map(|ty| ty.info.namespace()).collect();
        namespaces.dedup();
        namespaces
    }

    /// True when some item carries a config, so a key is needed to store it.
    pub fn needs_key(&self) -> bool {
        self.items().any(ItemInfo::is_configurable)
    }
}

/// Keys as people write them (the CLI's arguments, the admin's filters and links): `TYPE/ITEM`
/// when the type's name is unique across namespaces, or the full `NAMESPACE:TYPE/ITEM`.
impl Registry {
    /// The item `text` names, or an error that says how to write one, with an example from
    /// this registry.
    pub fn item_named(&self, text: &str) -> Result<&'static ItemInfo, Error> {
        let text = text.trim();
        let malformed = || Error::InvalidInput {
            field: "item",
            reason: format!(
                "`{}` is not TYPE/ITEM or NAMESPACE:TYPE/ITEM, like `{}`",
                crate::keys::truncate(text),
                self.example_item_key()
            ),
        };
        let (type_part, item) = text.rsplit_once('/').ok_or_else(malformed)?;
        if type_part.is_empty() || item.is_empty() {
            return Err(malformed());
        }
        if type_part.contains(':') {
            let key: ItemKey = text.parse().map_err(|_| malformed())?;
            return self.item(&key);
        }
        let type_key = self.type_named(type_part)?;
        self.item(&ItemKey {
            type_key,
            name: item.to_owned(),
        })
    }

    /// The type `text` names: `TYPE` (unique across namespaces) or `NAMESPACE:TYPE`.
    pub fn type_named(&self, text: &str) -> Result<TypeKey, Error> {
        let text = text.trim();
        let found: Vec<TypeKey> = self
            .types
            .iter()
            .map(|ty| ty.info.key())
            .filter(|key| key.to_string() == text || key.name == text)
            .collect();
        match found.as_slice() {
            [key] => Ok(key.clone()),
            [] => Err(Error::UnknownType(crate::keys::truncate(text))),
            // A bare name in several namespaces; the full key is unique.
            _ => Err(Error::InvalidInput {
                field: "type",
                reason: format!(
                    "`{text}` names a type in several namespaces; write NAMESPACE:{text}"
                ),
            }),
        }
    }

    /// An item's key as people write it: `TYPE/ITEM` when that is unambiguous here, else the
    /// full key.
    pub fn short_key(&self, key: &ItemKey) -> String {
        let same_name = self
            .types
            .iter()
            .filter(|ty| ty.info.name() == key.type_key.name)
            .count();
        match same_name {
            1 => format!("{}/{}", key.type_key.name, key.name),
            _ => key.to_string(),
        }
    }

    /// A key to show in messages: a configurable item of this registry, if there is one.
    pub fn example_item_key(&self) -> String {
        self.items()
            .find(|item| item.is_configurable())
            .or_else(|| self.items().next())
            .map_or_else(
                || "payment_gateway/stripe".to_owned(),
                |item| self.short_key(&item.key()),
            )
    }
}

/// Another copy of a registration error (they hold plain data), for each caller of `linked`.
/// The depth of every item with `needs` (see [`Registry::depth`]), or the first cycle,
/// named item by item: a cycle could never be built.
fn dependency_depths(types: &[RegisteredType]) -> Result<BTreeMap<ItemKey, usize>, Error> {
    let items: Vec<&'static ItemInfo> = types.iter().flat_map(|ty| ty.items.clone()).collect();
    // The items whose instances serve a type: through their own or `also` types, or as
    // sub-types' items through a parent.
    let mut servers: HashMap<TypeId, Vec<usize>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        for served in item.serves() {
            let mut info = Some(served);
            while let Some(ty) = info {
                servers.entry(ty.trait_object_id()).or_default().push(index);
                info = ty.parent();
            }
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done(usize),
    }
    fn visit(
        index: usize,
        items: &[&'static ItemInfo],
        servers: &HashMap<TypeId, Vec<usize>>,
        marks: &mut Vec<Mark>,
        path: &mut Vec<(usize, &'static TypeInfo)>,
    ) -> Result<usize, Error> {
        match marks[index] {
            Mark::Done(depth) => return Ok(depth),
            Mark::Visiting => {
                let start = path
                    .iter()
                    .position(|(at, _)| *at == index)
                    .unwrap_or_default();
                let cycle = &path[start..];
                let links: Vec<String> = cycle
                    .iter()
                    .enumerate()
                    .map(|(at, (item, need))| {
                        let server = cycle.get(at + 1).map_or(index, |(next, _)| *next);
                        format!(
                            "`{}` needs `{}`, which `{}` serves",
                            items[*item].key(),
                            need.key(),
                            items[server].key()
                        )
                    })
                    .collect();
                return Err(Error::InvalidRegistration {
                    what: "plugin dependencies".into(),
                    reason: format!(
                        "they form a cycle, so none of them could ever be built: {}; take one of \
                         these types out of its item's `needs = [...]`",
                        links.join("; ")
                    ),
                });
            }
            Mark::New => {}
        }
        marks[index] = Mark::Visiting;
        let mut depth = 0;
        for need in items[index].needs() {
            path.push((index, need));
            for &server in servers.get(&need.trait_object_id()).into_iter().flatten() {
                depth = depth.max(visit(server, items, servers, marks, path)? + 1);
            }
            path.pop();
        }
        marks[index] = Mark::Done(depth);
        Ok(depth)
    }
    let mut marks = vec![Mark::New; items.len()];
    let mut depths = BTreeMap::new();
    for index in 0..items.len() {
        let depth = visit(index, &items, &servers, &mut marks, &mut Vec::new())?;
        if items[index].needs().next().is_some() {
            depths.insert(items[index].key(), depth.max(1));
        }
    }
    Ok(depths)
}

fn copy_of(err: &Error) -> Error {
    match err {
        Error::DuplicateRegistration {
            what,
            key,
            first,
            second,
        } => Error::DuplicateRegistration {
            what,
            key: key.clone(),
            first: first.clone(),
            second: second.clone(),
        },
        Error::MissingPluginCrate { krate, site } => Error::MissingPluginCrate {
            krate: krate.clone(),
            site: site.clone(),
        },
        Error::InvalidRegistration { what, reason } => Error::InvalidRegistration {
            what: what.clone(),
            reason: reason.clone(),
        },
        // `collect` makes no other error.
        other => Error::InvalidRegistration {
            what: "the linked plugins".into(),
            reason: other.report(),
        },
    }
}

/// Orders two sites so the message reads the same in debug and release builds.
fn sites(a: crate::registration::Location, b: crate::registration::Location) -> (String, String) {
    let (a, b) = (a.to_string(), b.to_string());
    if a <= b { (a, b) } else { (b, a) }
}

/// A `renamed_from` must not name a live item of the same type, nor be claimed twice.
fn check_renames(ty: &TypeInfo, items: &[&'static ItemInfo]) -> Result<(), Error> {
    let mut claimed: BTreeMap<&str, &ItemInfo> = BTreeMap::new();
    for item in items {
        for &old in item.renamed_from() {
            if items.iter().any(|other| other.name() == old) {
                return Err(Error::InvalidRegistration {
                    what: format!("plugin item `{}` of type `{}`", item.name(), ty.key()),
                    reason: format!(
                        "`renamed_from = \"{old}\"` names an item that is still registered; remove one of them"
                    ),
                });
            }
            if let Some(other) = claimed.insert(old, item) {
                return Err(Error::InvalidRegistration {
                    what: format!("plugin type `{}`", ty.key()),
                    reason: format!(
                        "items `{}` and `{}` both claim `renamed_from = \"{old}\"`",
                        other.name(),
                        item.name()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// What the derive cannot check at compile time (a `pattern` that is not a valid regex) fails
/// at start-up, naming the item, instead of on every validation.
fn check_schemas(items: &[&'static ItemInfo]) -> Result<(), Error> {
    for item in items {
        if let Some(schema) = item.schema() {
            crate::config::check_schema(schema).map_err(|errors| Error::InvalidRegistration {
                what: format!("the config of plugin item `{}`", item.key()),
                reason: errors.to_string(),
            })?;
        }
    }
    Ok(())
}
