//! What differs between the backends beyond the SQL diesel writes for each: the [`Hooks`]
//! one connection type implements per backend (`sqlite.rs`, `postgres.rs`, `mysql.rs`). The
//! queries themselves are written once, in `store_body.rs`.

#[cfg(any(feature = "postgres", feature = "mysql"))]
use diesel::dsl;
use diesel::prelude::*;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use diesel::query_dsl::methods::LoadQuery;
use diesel::r2d2::R2D2Connection;
use plugin_runtime::Error;
use plugin_runtime::store::{ChangeFeed, StoreError};

use crate::rows::TxError;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::schema::plugin_revision;
use crate::{Backend, DatabaseUrl, DieselStore};

/// A backend's connection type, with what the store does differently on it.
pub(crate) trait Hooks: R2D2Connection + Sized + 'static {
    /// The backend, as URLs name it.
    const BACKEND: Backend;

    /// What the driver's `establish` gets for `url`.
    fn target(url: &DatabaseUrl) -> String {
        url.target().to_owned()
    }

    /// How many connections the store keeps open at most.
    fn pool_size(_url: &DatabaseUrl) -> usize {
        8
    }

    /// Prepares a new connection (session settings, pragmas) before its first use.
    fn setup(&mut self) -> QueryResult<()> {
        Ok(())
    }

    /// Runs `work` in a transaction that holds the store's write lock from its first
    /// statement (guarantee 1 of the `Store` trait), and commits it when `work` succeeds.
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, TxError>,
    ) -> Result<T, TxError>;

    /// Tells other processes, when the transaction commits, that a write happened. By
    /// default nothing: they poll the revision.
    fn announce_change(&mut self) -> QueryResult<()> {
        Ok(())
    }

    /// Brings the query planner's statistics of the tables up to date, inside a write that
    /// inserted many instances. By default nothing: SQLite plans these queries from their
    /// indexes, and MySQL recomputes statistics itself once a tenth of a table changed.
    fn refresh_statistics(&mut self) -> QueryResult<()> {
        Ok(())
    }

    /// A push channel of other processes' writes, when the backend has one.
    fn change_feed(_store: &DieselStore<Self>) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        Ok(None)
    }

    /// Applies the migrations that have not run yet, serialized with other processes
    /// migrating the same database.
    fn migrate(store: &DieselStore<Self>) -> Result<(), Error>;
}

/// `SELECT revision FROM plugin_revision WHERE id = 1 FOR UPDATE`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
type LockRevisionRow = dsl::ForUpdate<
    dsl::Filter<
        dsl::Select<plugin_revision::table, plugin_revision::revision>,
        dsl::Eq<plugin_revision::id, i32>,
    >,
>;

/// The write lock of the servers with row locks (PostgreSQL, MySQL): a transaction that
/// first locks the revision row, so writers queue on it, and (in READ COMMITTED) each
/// statement after the lock sees what the previous writer committed.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn revision_row_transaction<C, T>(
    conn: &mut C,
    work: impl FnOnce(&mut C) -> Result<T, TxError>,
) -> Result<T, TxError>
where
    C: Connection,
    for<'a> dsl::Limit<LockRevisionRow>: LoadQuery<'a, C, i64>,
{
    conn.transaction(|conn| {
        let lock: LockRevisionRow = plugin_revision::table
            .select(plugin_revision::revision)
            .filter(plugin_revision::id.eq(1))
            .for_update();
        lock.first::<i64>(conn)?;
        work(conn)
    })
}
