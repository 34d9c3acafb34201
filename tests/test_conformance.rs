//! The store conformance suite (`plugin_system::store::conformance`) on every database store
//! this build enables, each check on a fresh database of its own (see `tests/support`). The
//! in-memory store runs the same suite in `plugin-runtime`'s own tests.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(all(feature = "sqlite", feature = "testing"))]

mod support;

use std::sync::Arc;

use plugin_system::store::Store;
use plugin_system::store::conformance::FreshStore;
use support::TestDatabase;

/// A store on a test database; the store closes before the database is dropped.
struct OnDatabase {
    store: Arc<dyn Store>,
    _database: TestDatabase,
}

impl FreshStore for OnDatabase {
    fn store(&self) -> Option<&dyn Store> {
        Some(&*self.store)
    }
}

fn on(database: Option<TestDatabase>) -> Option<OnDatabase> {
    let database = database?;
    let store = plugin_system::database::open(&database.url)
        .unwrap_or_else(|err| panic!("opening {}: {}", database.backend, err.report()));
    Some(OnDatabase {
        store,
        _database: database,
    })
}

mod sqlite {
    plugin_system::store_conformance!(|| super::on(super::TestDatabase::sqlite()));
}

#[cfg(feature = "postgres")]
mod postgres {
    plugin_system::store_conformance!(|| super::on(super::TestDatabase::postgres()));
}

#[cfg(feature = "mysql")]
mod mysql {
    plugin_system::store_conformance!(|| super::on(super::TestDatabase::mysql()));
}
