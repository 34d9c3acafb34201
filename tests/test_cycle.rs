//! Items that need each other (issue 13): a cycle among the linked items is a start-up error
//! naming the cycle, on every backend, reported before the database is touched (no sync, no
//! instance, no audit row). A binary of its own: its registry cannot be built.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod support;

use plugin_system::prelude::*;
use plugin_system::store::AuditQuery;
use plugin_system::{Error, Key};
use support::TestDatabase;

#[plugin_type(name = "sender")]
pub trait Sender {
    fn send(&self) -> String;
}

#[plugin_type(name = "formatter")]
pub trait Formatter {
    fn format(&self) -> String;
}

pub struct Smtp(Plugin<dyn Formatter>);

impl FromNeeds<NoConfig> for Smtp {
    fn from_needs(_: NoConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(Smtp(needs.get::<dyn Formatter>()?))
    }
}

#[plugin_item(name = "smtp", needs = [Formatter])]
impl Sender for Smtp {
    fn send(&self) -> String {
        self.0.format()
    }
}

pub struct Html(Plugin<dyn Sender>);

impl FromNeeds<NoConfig> for Html {
    fn from_needs(_: NoConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(Html(needs.get::<dyn Sender>()?))
    }
}

#[plugin_item(name = "html", needs = [Sender])]
impl Formatter for Html {
    fn format(&self) -> String {
        self.0.send()
    }
}

fn a_cycle_among_linked_items_stops_the_start_naming_it(db: &TestDatabase) {
    let err = Plugins::builder()
        .database_url(&db.url)
        .keyring(Keyring::new(Key::generate()))
        .build()
        .expect_err("a cycle cannot be built");
    assert!(matches!(err, Error::InvalidRegistration { .. }), "{err:?}");
    let text = err.to_string();
    for edge in [
        "`plugin-system:sender/smtp` needs `plugin-system:formatter`, which `plugin-system:formatter/html` serves",
        "`plugin-system:formatter/html` needs `plugin-system:sender`, which `plugin-system:sender/smtp` serves",
    ] {
        assert!(text.contains(edge), "{}: {text}", db.backend);
    }
    // Reported before the start-up sync: the database holds nothing of these items.
    let store = plugin_system::database::open(&db.url).unwrap();
    assert!(store.instances().unwrap().is_empty(), "{}", db.backend);
    assert!(
        store.audit(&AuditQuery::latest(10)).unwrap().is_empty(),
        "{}",
        db.backend
    );
}

on_every_backend!(a_cycle_among_linked_items_stops_the_start_naming_it);
