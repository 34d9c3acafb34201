//! The registry: registrations from other crates, sorted and validated at start-up.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::any::TypeId;

use demo_plugins::Greeter;
use plugin_system::__private::{
    self as private, ItemInfo, ItemParts, LinkedCrate, Location, TypeInfo, TypeParts,
};
use plugin_system::Error;
use plugin_system::prelude::*;
use plugin_system::registry::Registry;

// The one obvious way to name a plugin crate: keeps it linked, and fails at start-up if it
// contributed nothing.
plugin_system::link!(demo_plugins);

/// An item for the plugin crate's type, from this crate.
#[derive(Default)]
pub struct Pirate;

#[plugin_item(name = "pirate", priority = 5)]
impl Greeter for Pirate {
    fn greet(&self, name: &str) -> String {
        format!("Ahoy, {name}!")
    }
}

#[test]
fn items_from_two_crates_register_under_the_plugin_crates_type() {
    let registry = Registry::linked().unwrap();
    let greeter = registry
        .type_of(TypeId::of::<dyn Greeter>())
        .expect("registered");
    assert_eq!(greeter.info.name(), "greeter");
    assert_eq!(greeter.info.namespace(), "demo-plugins");
    assert_eq!(greeter.info.description(), "Says hello in some language.");
    assert_eq!(greeter.info.crate_name(), "demo_plugins");
    let items: Vec<_> = greeter
        .items
        .iter()
        .map(|item| (item.name(), item.crate_name()))
        .collect();
    assert_eq!(
        items,
        [
            ("english", "demo_plugins"),
            ("french", "demo_plugins"),
            ("pirate", "test_registry")
        ]
    );
    let french = greeter.items[1];
    assert_eq!(french.category(), Some("european"));
    assert_eq!(french.description(), "Bonjour.");
    assert_eq!(french.module(), "demo_plugins");
    assert!(!french.is_configurable());
}

#[test]
fn an_item_s_version_and_authors_default_to_its_own_crate_s_cargo_toml() {
    let registry = Registry::linked().unwrap();
    let greeter = registry.type_of(TypeId::of::<dyn Greeter>()).unwrap();
    let french = greeter.items[1];
    // demo-plugins' Cargo.toml: version 0.3.1, two authors (Cargo joins them with `:`).
    assert_eq!(french.version(), "0.3.1");
    assert_eq!(
        french.authors().collect::<Vec<_>>(),
        ["Ada Lovelace <ada@example.com>", "Grace Hopper"]
    );
    assert_eq!(french.homepage(), None);
    assert!(!french.is_hidden());
    // This crate's item: this crate's version, and no authors (its Cargo.toml names none).
    let pirate = greeter.items[2];
    assert_eq!(pirate.version(), env!("CARGO_PKG_VERSION"));
    assert_ne!(pirate.version(), french.version());
    assert_eq!(pirate.authors().count(), 0);
    // A type's contract is version 1 unless it says otherwise.
    assert_eq!(greeter.info.version(), 1);
}

#[test]
fn lookups_use_the_plugin_crates_items() {
    let plugins = Plugins::builder().build().unwrap();
    let greeter = plugins.get::<dyn Greeter>().unwrap();
    assert_eq!(greeter.meta().item.name, "pirate");
    assert_eq!(greeter.greet("Ferris"), "Ahoy, Ferris!");
    let all: Vec<_> = plugins
        .active::<dyn Greeter>()
        .iter()
        .map(|g| g.greet("Ferris"))
        .collect();
    assert_eq!(
        all,
        ["Ahoy, Ferris!", "Hello, Ferris!", "Bonjour, Ferris !"]
    );
}

// Hand-made registrations, as two crates would produce them, for the start-up checks.

trait Fake: Send + Sync {}

fn fake_build(
    _: Option<&plugin_system::config::ConfigValues>,
    _: &plugin_system::Needs<'_>,
) -> Result<private::ErasedObject, PluginError> {
    Err(PluginError::new("not buildable"))
}

fn fake_view(
    _: &private::ErasedObject,
    _: plugin_system::InstanceMeta,
) -> Option<private::ErasedPlugin> {
    None
}

const fn fake_type(name: &'static str, file: &'static str, line: u32) -> TypeInfo {
    TypeInfo::from_parts(TypeParts {
        location: Location::new(file, line),
        ..fake_type_parts(name)
    })
}

const fn fake_type_parts(name: &'static str) -> TypeParts {
    TypeParts {
        name,
        namespace: "app",
        description: "",
        rust_path: "app::Fake",
        crate_name: "app",
        location: Location::new("src/fake.rs", 1),
        fingerprint: "0",
        version: 1,
        type_id: private::type_id_of::<dyn Fake>,
        relabel: private::relabel::<dyn Fake>,
        selector: None,
        critical: false,
        parent: None,
        actions: &[],
    }
}

static FAKE_TYPE: TypeInfo = fake_type("fake", "src/fake.rs", 3);
static OTHER_FAKE_TYPE: TypeInfo = fake_type("fake", "src/other.rs", 9);

fn fake_type_info() -> &'static TypeInfo {
    &FAKE_TYPE
}

const fn fake_item(
    name: &'static str,
    crate_name: &'static str,
    file: &'static str,
    line: u32,
) -> ItemParts {
    ItemParts {
        name,
        description: "",
        priority: 1,
        category: None,
        version: "1.0.0",
        authors: "",
        homepage: None,
        hidden: false,
        per_tenant: false,
        renamed_from: &[],
        rust_type: "Fake",
        module: "app",
        crate_name,
        location: Location::new(file, line),
        plugin_type: fake_type_info,
        config: None,
        build: fake_build,
        needs: &[],
        view: fake_view,
        also: &[],
        lifecycle: None,
    }
}

static NO_LINKS: [LinkedCrate; 0] = [];

#[test]
fn duplicate_item_names_fail_with_both_sites() {
    static ITEMS: [ItemInfo; 2] = [
        ItemInfo::from_parts(fake_item(
            "stripe",
            "payments_b",
            "payments-b/src/lib.rs",
            40,
        )),
        ItemInfo::from_parts(fake_item(
            "stripe",
            "payments_a",
            "payments-a/src/lib.rs",
            12,
        )),
    ];
    let err = Registry::collect(&[], &ITEMS, &NO_LINKS).unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        err,
        Error::DuplicateRegistration {
            what: "plugin item",
            ..
        }
    ));
    assert!(message.contains("app:fake/stripe"), "{message}");
    assert!(message.contains("payments-a/src/lib.rs:12"), "{message}");
    assert!(message.contains("payments-b/src/lib.rs:40"), "{message}");
}

#[test]
fn duplicate_type_names_fail_with_both_sites() {
    static TYPES: [TypeInfo; 2] = [
        fake_type("fake", "src/a.rs", 1),
        fake_type("fake", "src/b.rs", 2),
    ];
    let err = Registry::collect(&TYPES, &[], &NO_LINKS).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("plugin type `app:fake` is registered twice"),
        "{message}"
    );
    assert!(
        message.contains("src/a.rs:1") && message.contains("src/b.rs:2"),
        "{message}"
    );
    let _ = &OTHER_FAKE_TYPE;
}

#[test]
fn a_linked_crate_that_registered_nothing_fails_at_start_up() {
    static ITEMS: [ItemInfo; 1] = [ItemInfo::from_parts(fake_item(
        "stripe",
        "payments_a",
        "a.rs",
        1,
    ))];
    static LINKS: [LinkedCrate; 2] = [
        LinkedCrate {
            crate_name: "payments_a",
            location: Location::new("src/main.rs", 3),
        },
        LinkedCrate {
            crate_name: "payments_b",
            location: Location::new("src/main.rs", 3),
        },
    ];
    let err = Registry::collect(&[], &ITEMS, &LINKS).unwrap_err();
    assert!(
        matches!(&err, Error::MissingPluginCrate { krate, .. } if krate == "payments_b"),
        "{err}"
    );
    assert!(err.to_string().contains("src/main.rs:3"));
}

#[test]
fn renamed_from_must_not_name_a_live_item() {
    static ITEMS: [ItemInfo; 2] = [
        ItemInfo::from_parts(ItemParts {
            renamed_from: &["old"],
            ..fake_item("new", "app", "a.rs", 1)
        }),
        ItemInfo::from_parts(fake_item("old", "app", "a.rs", 2)),
    ];
    let err = Registry::collect(&[], &ITEMS, &NO_LINKS).unwrap_err();
    assert!(err.to_string().contains("renamed_from = \"old\""), "{err}");
}

#[test]
fn items_are_sorted_whatever_the_slice_order() {
    static ITEMS: [ItemInfo; 3] = [
        ItemInfo::from_parts(fake_item("zeta", "app", "a.rs", 1)),
        ItemInfo::from_parts(fake_item("alpha", "app", "a.rs", 2)),
        ItemInfo::from_parts(fake_item("mid", "app", "a.rs", 3)),
    ];
    let registry = Registry::collect(&[], &ITEMS, &NO_LINKS).unwrap();
    let names: Vec<_> = registry.items().map(|item| item.name()).collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
    assert!(!registry.needs_key());
}

/// The keys people write (the CLI's `--item`, the admin's filters): `TYPE/ITEM` when the type
/// name is unique, or the full key; the errors say how to write one, with a real example.
#[test]
fn items_are_named_as_type_slash_item_or_by_their_full_key() {
    let registry = Registry::linked().unwrap();
    let short = registry.item_named("greeter/pirate").unwrap();
    let full = registry
        .item_named(" demo-plugins:greeter/pirate ")
        .unwrap();
    assert!(std::ptr::eq(short, full));
    assert_eq!(registry.short_key(&short.key()), "greeter/pirate");

    let err = registry.item_named("greeter").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("is not TYPE/ITEM or NAMESPACE:TYPE/ITEM, like `greeter/"),
        "{message}"
    );
    assert!(matches!(
        registry.item_named("nope/pirate"),
        Err(Error::UnknownType(_))
    ));
    assert!(matches!(
        registry.item_named("greeter/nope"),
        Err(Error::UnknownItem { .. })
    ));
}

// Two types whose items need each other's type: a cycle, which could never be built.
trait Sender: Send + Sync {}
trait Formatter: Send + Sync {}

static SENDER: TypeInfo = TypeInfo::from_parts(TypeParts {
    type_id: private::type_id_of::<dyn Sender>,
    relabel: private::relabel::<dyn Sender>,
    ..fake_type_parts("sender")
});
static FORMATTER: TypeInfo = TypeInfo::from_parts(TypeParts {
    type_id: private::type_id_of::<dyn Formatter>,
    relabel: private::relabel::<dyn Formatter>,
    ..fake_type_parts("formatter")
});

fn sender() -> &'static TypeInfo {
    &SENDER
}

fn formatter() -> &'static TypeInfo {
    &FORMATTER
}

#[test]
fn a_dependency_cycle_is_a_start_up_error_naming_the_cycle() {
    static ITEMS: [ItemInfo; 3] = [
        ItemInfo::from_parts(ItemParts {
            plugin_type: sender,
            needs: &[formatter],
            ..fake_item("smtp", "app", "a.rs", 1)
        }),
        ItemInfo::from_parts(ItemParts {
            plugin_type: formatter,
            needs: &[sender],
            ..fake_item("html", "app", "a.rs", 2)
        }),
        // Needs something in the cycle, but is not part of it.
        ItemInfo::from_parts(ItemParts {
            needs: &[sender],
            ..fake_item("digest", "app", "a.rs", 3)
        }),
    ];
    let err = Registry::collect(&[], &ITEMS, &NO_LINKS).unwrap_err();
    assert!(matches!(err, Error::InvalidRegistration { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("`app:formatter/html` needs `app:sender`, which `app:sender/smtp` serves")
            && text.contains(
                "`app:sender/smtp` needs `app:formatter`, which `app:formatter/html` serves"
            ),
        "{text}"
    );
    assert!(!text.contains("digest"), "{text}");
}

#[test]
fn items_are_built_after_what_they_need() {
    static ITEMS: [ItemInfo; 3] = [
        ItemInfo::from_parts(ItemParts {
            plugin_type: sender,
            needs: &[formatter],
            ..fake_item("smtp", "app", "a.rs", 1)
        }),
        ItemInfo::from_parts(ItemParts {
            plugin_type: formatter,
            ..fake_item("html", "app", "a.rs", 2)
        }),
        ItemInfo::from_parts(ItemParts {
            needs: &[sender],
            ..fake_item("digest", "app", "a.rs", 3)
        }),
    ];
    let registry = Registry::collect(&[], &ITEMS, &NO_LINKS).unwrap();
    let depth = |item: &str| {
        let key = registry.items().find(|i| i.name() == item).unwrap().key();
        registry.depth(&key)
    };
    assert_eq!((depth("html"), depth("smtp"), depth("digest")), (0, 1, 2));
}
