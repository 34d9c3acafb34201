//! Plugins that extend a web application (axum), built on the snapshot: every request reads
//! what is served now, with no query and no restart.
//!
//! - [`PluginRoutes`]: a plugin type whose trait has [`Routes`] as a supertrait lets each of
//!   its instances serve HTTP under a namespace of its own,
//!   `/{type}/{item}/{instance id}/...` (mounted where the application likes, say
//!   `/plugins`). A new instance is reachable at once; a disabled, deleted or failed one (or
//!   one whose start hook has not returned) answers 404; a tenant's instance answers only
//!   requests of that tenant ([`Tenant`]).
//! - [`Fragments`]: a typed slot: every ACTIVE instance of a plugin type renders its piece of
//!   a page, in selection order; a failing or panicking instance is skipped and reported;
//!   the output can be cached per instance and key, and an instance's cache is dropped when
//!   it is built again (its config changed).
//! - [`RequestHooks`]: a tower layer that calls every ACTIVE instance of a hook type
//!   ([`RequestHook`]) before each request, after it (with the status) and on error, in
//!   selection order, each with its own time limit and isolated from the others.
//!
//! The application keeps its own authentication: these are plain routers and layers, so a
//! plugin's routes sit behind whatever layers the application puts around them (a plugin
//! gets no free pass). The application's layer also says which tenant a request is for, by
//! inserting a [`Tenant`] into the request's extensions.

mod fragments;
mod hooks;
mod routes;

pub use fragments::{Fragments, Rendered, Skipped};
pub use hooks::{HookError, RequestHook, RequestHooks, RequestHooksService, RequestInfo};
pub use routes::{PluginRoutes, Routes};

/// The tenant a request is for, as the application decides it (from its session, its host
/// name, its path): its own layer inserts this into the request's extensions, in front of
/// [`PluginRoutes`] and [`RequestHooks`]. Without one, a request is served the global
/// instances only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tenant(pub String);

impl Tenant {
    /// The tenant's name (the scope of its instances).
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A read lock that outlives a panic of another holder: what the caches hold stays valid
/// (each write is one insert or removal).
pub(crate) fn read<T: ?Sized>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The write lock, as [`read`].
pub(crate) fn write<T: ?Sized>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A panic's message, when it has one.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}
