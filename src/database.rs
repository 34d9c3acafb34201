//! The database stores (SQLite, PostgreSQL, MySQL/MariaDB), from the `plugin-diesel` crate.
//!
//! ```no_run
//! use plugin_system::prelude::*;
//!
//! # fn main() -> Result<(), plugin_system::Error> {
//! let plugins = Plugins::builder()
//!     .database_url("sqlite://plugins.db") // or postgres://…, mysql://…
//!     .key_from_env("PLUGIN_SYSTEM_KEY")
//!     .build()?; // validate the registry, migrate, sync (create mode, no prune), load
//! # Ok(())
//! # }
//! ```

pub use plugin_diesel::*;

use plugin_runtime::PluginsBuilder;

/// `Plugins::builder().database_url(..)`: the store in a database. In the prelude.
pub trait DatabaseUrlExt {
    /// Uses the database at `url` (`sqlite://PATH`, `postgres://…`, `mysql://…`): `build`
    /// connects to it after checking the registry and the key, runs its migrations, syncs the
    /// registry into it and loads the instances. A connection failure is a `build` error
    /// with the server's reason (never the password).
    fn database_url(self, url: impl Into<String>) -> Self;
}

impl DatabaseUrlExt for PluginsBuilder {
    fn database_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.open_store(move || plugin_diesel::open(&url))
    }
}
