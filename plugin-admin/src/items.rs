//! Item keys as people write them: `TYPE/ITEM` (as the CLI takes them; the type's name must
//! be unique across namespaces) or `NAMESPACE:TYPE/ITEM`.

use plugin_runtime::registry::{ItemInfo, Registry};
use plugin_runtime::{Error, ItemKey, TypeKey};

/// An example key for messages, from this registry (a configurable item when there is one).
pub(crate) fn example(registry: &Registry) -> String {
    registry
        .items()
        .find(|item| item.is_configurable())
        .or_else(|| registry.items().next())
        .map_or_else(
            || "payment_gateway/stripe".to_owned(),
            |item| format!("{}/{}", item.plugin_type().name(), item.name()),
        )
}

/// The item `text` names, or an error that says how to write one (with a real example).
pub(crate) fn parse(registry: &Registry, text: &str) -> Result<&'static ItemInfo, Error> {
    let text = text.trim();
    let malformed = || Error::InvalidInput {
        field: "item",
        reason: format!(
            "`{}` is not TYPE/ITEM or NAMESPACE:TYPE/ITEM, like `{}`",
            shorten(text),
            example(registry)
        ),
    };
    let (type_part, item) = text.rsplit_once('/').ok_or_else(malformed)?;
    if type_part.is_empty() || item.is_empty() {
        return Err(malformed());
    }
    if type_part.contains(':') {
        let key: ItemKey = text.parse().map_err(|_| malformed())?;
        return registry.item(&key);
    }
    let matches: Vec<TypeKey> = registry
        .types()
        .iter()
        .map(|ty| ty.info.key())
        .filter(|key| key.name == type_part)
        .collect();
    let type_key = match matches.as_slice() {
        [key] => key.clone(),
        [] => return Err(Error::UnknownType(shorten(type_part))),
        _ => {
            return Err(Error::InvalidInput {
                field: "item",
                reason: format!(
                    "`{type_part}` names a type in several namespaces; write NAMESPACE:{type_part}/{item}"
                ),
            });
        }
    };
    registry.item(&ItemKey {
        type_key,
        name: item.to_owned(),
    })
}

/// The type `text` names (`TYPE` or `NAMESPACE:TYPE`).
pub(crate) fn parse_type(registry: &Registry, text: &str) -> Result<TypeKey, Error> {
    let text = text.trim();
    let found: Vec<TypeKey> = registry
        .types()
        .iter()
        .map(|ty| ty.info.key())
        .filter(|key| key.to_string() == text || key.name == text)
        .collect();
    match found.as_slice() {
        [key] => Ok(key.clone()),
        [] => Err(Error::UnknownType(shorten(text))),
        // A bare name in several namespaces; the full key is unique.
        _ => Err(Error::InvalidInput {
            field: "type",
            reason: format!("`{text}` names a type in several namespaces; write NAMESPACE:{text}"),
        }),
    }
}

/// The short form of an item's key, when it is unambiguous in this registry.
pub(crate) fn short_key(registry: &Registry, key: &ItemKey) -> String {
    let unique = registry
        .types()
        .iter()
        .filter(|ty| ty.info.name() == key.type_key.name)
        .count()
        == 1;
    if unique {
        format!("{}/{}", key.type_key.name, key.name)
    } else {
        key.to_string()
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
