//! The diesel-backed [`Store`](plugin_runtime::Store) of plugin-system.
//!
//! SQLite (feature `sqlite`, on by default, bundled: no system library needed) is here;
//! PostgreSQL and MySQL/MariaDB follow with the same tables (`migrations/<backend>/`).
//! Sync semantics come from [`plugin_runtime::sync::plan`], so every store behaves the same;
//! this crate applies the plan in one immediate transaction.

mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
