//! Each instance's own routes, under a namespace of its own.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use plugin_runtime::{InstanceId, Plugin, PluginType, Plugins};
use tower::ServiceExt;

use crate::{Tenant, read, write};

/// What a plugin type's instances serve over HTTP: make it a supertrait of the type's trait
/// (`pub trait PaymentGateway: Routes { ... }`), so every item of the type says what it
/// serves (an item with nothing to serve returns `Router::new()`).
///
/// `routes` is called once per built instance, the first time a request reaches it, and again
/// after the instance is built anew (its config changed): put what the handlers need (a
/// clone of the config, a client) into the router's state.
pub trait Routes {
    /// This instance's routes, relative to its namespace (`/webhook` is served at
    /// `/{type}/{item}/{instance id}/webhook`).
    fn routes(&self) -> Router;
}

/// The routes of every instance of some plugin types, as one [`Router`] to mount (for
/// example with `Router::nest("/plugins", routes)`):
///
/// ```no_run
/// # use plugin_system::prelude::*;
/// # use plugin_system::web::{PluginRoutes, Routes};
/// #[plugin_type(name = "payment_gateway")]
/// pub trait PaymentGateway: Routes {
///     fn charge(&self, cents: u64) -> Result<String, PluginError>;
/// }
/// # fn app(plugins: Plugins) -> axum::Router {
/// let plugins_routes = PluginRoutes::new(plugins)
///     .serve::<dyn PaymentGateway>()
///     .router();
/// axum::Router::new().nest("/plugins", plugins_routes)
/// # }
/// ```
///
/// Each request is matched against the snapshot of that moment: the instance must exist,
/// be of the type and item its path names, be ACTIVE or RESERVED (a reserved gateway still
/// receives the webhooks of the payments it took), have loaded (and started), and belong to
/// the request's [`Tenant`] or be global. Anything else answers 404, the same 404 for every
/// reason, so a path tells a caller nothing about instances it may not reach.
pub struct PluginRoutes {
    plugins: Plugins,
    router: Router,
    /// The names of the types served so far.
    served: Vec<String>,
}

impl PluginRoutes {
    /// No routes yet: add plugin types with [`serve`](Self::serve).
    pub fn new(plugins: Plugins) -> PluginRoutes {
        PluginRoutes {
            plugins,
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// Serves the routes of `T`'s instances under `/{T's name}/`.
    ///
    /// # Panics
    ///
    /// When a type of the same name is served already (two types named alike in different
    /// crates): a mistake in the application's start-up code, like a route axum refuses.
    pub fn serve<T: ?Sized + PluginType + Routes>(mut self) -> PluginRoutes {
        let name = T::info().key().name;
        assert!(
            !self.served.contains(&name),
            "PluginRoutes: two plugin types named `{name}` serve routes"
        );
        let dispatch = Dispatch::<T> {
            plugins: self.plugins.clone(),
            routers: Arc::new(RwLock::new(Routers::default())),
        };
        let handler = move |request: Request| {
            let dispatch = dispatch.clone();
            async move { dispatch.call(request).await }
        };
        self.router = self
            .router
            .route(
                &format!("/{name}/{{item}}/{{instance}}"),
                any(handler.clone()),
            )
            .route(
                &format!("/{name}/{{item}}/{{instance}}/"),
                any(handler.clone()),
            )
            .route(
                &format!("/{name}/{{item}}/{{instance}}/{{*rest}}"),
                any(handler),
            );
        self.served.push(name);
        self
    }

    /// The router to mount.
    pub fn router(self) -> Router {
        self.router
    }
}

/// One instance's router, and the built object it came from (held weakly: the cache never
/// keeps a retired instance alive, and its allocation cannot be reused while the entry
/// remembers it, so a new object never passes for the old one).
struct CachedRouter<T: ?Sized> {
    object: Weak<T>,
    router: Router,
}

/// The routers built so far, per instance.
struct Routers<T: ?Sized> {
    by_instance: HashMap<InstanceId, CachedRouter<T>>,
    /// Past this many entries, those of objects gone are dropped (deleted or rebuilt
    /// instances' routers do not pile up).
    purge_at: usize,
}

impl<T: ?Sized> Default for Routers<T> {
    fn default() -> Self {
        Routers {
            by_instance: HashMap::new(),
            purge_at: 64,
        }
    }
}

struct Dispatch<T: ?Sized> {
    plugins: Plugins,
    routers: Arc<RwLock<Routers<T>>>,
}

impl<T: ?Sized> Clone for Dispatch<T> {
    fn clone(&self) -> Self {
        Dispatch {
            plugins: self.plugins.clone(),
            routers: Arc::clone(&self.routers),
        }
    }
}

impl<T: ?Sized + PluginType + Routes> Dispatch<T> {
    async fn call(&self, request: Request) -> Response {
        let Some((item, id, rest)) = split(request.uri().path()) else {
            return not_found();
        };
        let tenant = request.extensions().get::<Tenant>().cloned();
        let Some(plugin) = self.served(id, tenant.as_ref()) else {
            return not_found();
        };
        if plugin.meta().item.name != item {
            return not_found();
        }
        let router = self.router_of(&plugin);
        // The instance sees its own paths: `/webhook`, not the namespace in front of it.
        let request = match with_path(request, &rest) {
            Ok(request) => request,
            Err(_) => return not_found(),
        };
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(infallible) => match infallible {},
        }
    }

    /// The instance `id` if it serves the request's tenant (or, without one, if it is global).
    fn served(&self, id: InstanceId, tenant: Option<&Tenant>) -> Option<Plugin<T>> {
        match tenant {
            Some(tenant) => self.plugins.scoped(tenant.name()).get_by_id::<T>(id).ok(),
            None => self
                .plugins
                .get_by_id::<T>(id)
                .ok()
                .filter(|plugin| plugin.meta().scope.is_none()),
        }
    }

    /// The router of the built object `plugin` views, built on first use.
    fn router_of(&self, plugin: &Plugin<T>) -> Router {
        let object = plugin.shared();
        let id = plugin.meta().id;
        let same = |cached: &CachedRouter<T>| {
            std::ptr::addr_eq(cached.object.as_ptr(), Arc::as_ptr(&object))
        };
        if let Some(cached) = read(&self.routers).by_instance.get(&id)
            && same(cached)
        {
            return cached.router.clone();
        }
        let router = object.routes();
        let mut routers = write(&self.routers);
        routers.by_instance.insert(
            id,
            CachedRouter {
                object: Arc::downgrade(&object),
                router: router.clone(),
            },
        );
        if routers.by_instance.len() >= routers.purge_at {
            routers
                .by_instance
                .retain(|_, cached| cached.object.strong_count() > 0);
            routers.purge_at = (routers.by_instance.len() * 2).max(64);
        }
        router
    }
}

/// `/{item}/{instance}/{rest...}` of a path below the type's prefix: the item's name, the
/// instance id, and the rest (with its leading `/`).
fn split(path: &str) -> Option<(String, InstanceId, String)> {
    let mut parts = path.trim_start_matches('/').splitn(4, '/');
    let _type = parts.next()?;
    let item = parts.next()?.to_owned();
    let id = parts.next()?.parse().ok()?;
    let rest = format!("/{}", parts.next().unwrap_or(""));
    Some((item, id, rest))
}

/// `request` with `path` instead of its path (the query kept).
fn with_path(mut request: Request, path: &str) -> Result<Request, axum::http::Error> {
    let uri = request.uri();
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let new: Uri = Uri::builder().path_and_query(path_and_query).build()?;
    *request.uri_mut() = new;
    Ok(request)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Body::from("not found")).into_response()
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn a_path_splits_into_item_instance_and_the_rest() {
        let id = plugin_runtime::InstanceId::new();
        let (item, parsed, rest) = split(&format!("/gateway/stripe/{id}/webhook/v2")).unwrap();
        assert_eq!(
            (item.as_str(), parsed, rest.as_str()),
            ("stripe", id, "/webhook/v2")
        );
        let (_, _, rest) = split(&format!("/gateway/stripe/{id}")).unwrap();
        assert_eq!(rest, "/");
        assert!(split("/gateway/stripe/not-an-id/webhook").is_none());
        assert!(split("/gateway/stripe").is_none());
    }
}
