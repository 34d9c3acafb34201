//! The diesel-backed [`Store`](plugin_runtime::Store) of plugin-system: SQLite (bundled, the
//! default), PostgreSQL and MySQL/MariaDB.
//!
//! Not implemented yet: this crate reserves its place in the workspace. Until it lands,
//! applications use [`plugin_runtime::MemoryStore`] or their own `Store`.
