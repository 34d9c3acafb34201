//! The web admin of plugin-system: an axum [`Router`] the application mounts.
//!
//! ```no_run
//! # fn app(plugins: plugin_runtime::Plugins) -> Result<axum::Router, plugin_runtime::Error> {
//! use plugin_admin::{Admin, Auth};
//!
//! let admin = Admin::new(plugins, Auth::token_from_env("PLUGIN_ADMIN_TOKEN")?)
//!     .mounted_at("/admin")
//!     .secure_cookie(true) // served over HTTPS
//!     .router();
//! let app = axum::Router::new().nest("/admin", admin);
//! # Ok(app) }
//! ```
//!
//! Pages (server-rendered HTML, every value escaped, no script, no front-end build step):
//! - **types** with their contract version and ACTIVE / RESERVED / DISABLED / failing instance
//!   counts, searchable and paged;
//! - **items**: each implementation's version, authors, homepage and description, grouped by
//!   type and category, searchable and paged; items marked `hidden` only when asked for;
//! - **instances**: a page of 50 rows (a total, next and previous, sortable columns), filters
//!   (type, the chosen type's items, status, scope, problems) and search, status and priority
//!   editable in the list, bulk activate / reserve / disable / priority up / down / delete
//!   (delete asks first), which instance serves now, and a "loads" column with the reason
//!   when an instance does not;
//! - **create** in two steps: find an item (searchable, grouped by type and category, hidden
//!   items only when asked for), then
//!   fill the form generated from its config schema, with the errors summed up at the top and
//!   each beside its field;
//! - **edit**: the same form; secrets are never sent to the browser (blank keeps them); a
//!   save from a page someone else's change made stale is refused, showing their change;
//! - **actions** on the edit page: the ones the instance's plugin type offers
//!   (`#[action(label = "...")]`, read from its descriptor), a button each; a press runs it
//!   against the instance as served and shows what it said (ok or failed), audited;
//! - **audit**: the trail, page by page (older, newer), and each instance's history.
//! - **instances a declared file manages** (`plugins apply FILE`): a badge in the list naming
//!   the file, no quick edit or bulk action on them (one that reaches them is refused, saying
//!   which file manages which), their edit page read-only under a notice, with the button
//!   that releases them from the file (then they are edited here until the file's next
//!   apply), and no delete; secrets stored as references (`{"$env": "STRIPE_KEY"}`) are shown
//!   as what they name, and kept when their input is left empty.
//!
//! Every page needs an authenticated user ([`Auth`]: a token from the environment, with
//! failed logins throttled per client and logged through `tracing`, or the application's own
//! check), and every state-changing request a CSRF token. Every response carries security
//! headers (a strict content security policy, no framing, `nosniff`, `no-store`, no
//! referrer). Store and snapshot work runs on tokio's blocking pool, never on the async
//! workers.
//!
//! Feature `serve`: `Admin::serve`, the admin alone on its own address (what the facade's
//! `plugins admin --bind` runs).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use plugin_runtime::{Error, Plugins};

mod auth;
mod csrf;
mod error;
mod form;
mod headers;
mod pages;
mod text;
mod view;

pub use auth::Auth;
use auth::{Sessions, Throttle};
use error::AdminError;

/// The admin of one [`Plugins`] handle. Writes go through the handle, so the application
/// serves them on its next lookup.
pub struct Admin {
    plugins: Plugins,
    auth: Auth,
    base: String,
    secure_cookie: bool,
}

impl Admin {
    /// The admin of `plugins`, guarded by `auth`.
    pub fn new(plugins: Plugins, auth: Auth) -> Admin {
        Admin {
            plugins,
            auth,
            base: String::new(),
            secure_cookie: false,
        }
    }

    /// The path the application nests the router under (`"/admin"`), for the links and the
    /// session cookie's path. Default: the root.
    pub fn mounted_at(mut self, base: &str) -> Admin {
        self.base = base.trim_end_matches('/').to_owned();
        self
    }

    /// Marks the session cookie `Secure`, so browsers send it over HTTPS only. Turn it on
    /// whenever operators reach the admin through HTTPS (default: off, for a plain-HTTP
    /// admin on loopback).
    pub fn secure_cookie(mut self, secure: bool) -> Admin {
        self.secure_cookie = secure;
        self
    }

    /// Serves the admin alone on `bind` until Ctrl-C (what `myapp plugins admin --bind`
    /// runs). Prints the address it listens on. (Feature `serve`.)
    #[cfg(feature = "serve")]
    pub fn serve(self, bind: std::net::SocketAddr) -> std::io::Result<()> {
        let router = self.router();
        tokio::runtime::Runtime::new()?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            println!("plugins admin: http://{}/", listener.local_addr()?);
            // The peer's address is what login throttling counts failures by.
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        })
    }

    /// The router to nest. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so login throttling can tell
    /// clients apart (without it, all clients share one count).
    pub fn router(self) -> Router {
        let state = Arc::new(AdminState {
            plugins: self.plugins,
            auth: self.auth,
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            base: self.base,
            secure_cookie: self.secure_cookie,
        });
        Router::new()
            .route("/", get(pages::types::page))
            .route("/admin.css", get(view::stylesheet))
            .route("/login", get(pages::login::page).post(pages::login::submit))
            .route("/logout", post(pages::login::logout))
            .route("/items", get(pages::items::page))
            .route("/instances", get(pages::instances::page))
            .route("/instances/bulk", post(pages::instances::bulk))
            .route("/instances/{id}/quick", post(pages::instances::quick))
            .route(
                "/instances/{id}/edit",
                get(pages::edit::page).post(pages::edit::submit),
            )
            .route("/instances/{id}/actions/{name}", post(pages::actions::run))
            .route("/instances/{id}/release", post(pages::managed::release))
            .route(
                "/instances/{id}/delete",
                get(pages::delete::confirm).post(pages::delete::submit),
            )
            .route("/new", get(pages::create::pick))
            .route(
                "/new/item",
                get(pages::create::page).post(pages::create::submit),
            )
            .route("/audit", get(pages::audit::page))
            .route("/tenants", get(pages::tenants::page))
            .route("/tenants/switch", post(pages::tenants::switch))
            .layer(axum::middleware::map_response_with_state(
                state.clone(),
                error::render,
            ))
            .layer(axum::middleware::map_response(headers::secure))
            .with_state(state)
    }
}

/// What every handler shares.
pub(crate) struct AdminState {
    pub(crate) plugins: Plugins,
    pub(crate) auth: Auth,
    pub(crate) sessions: Sessions,
    pub(crate) throttle: Throttle,
    /// Where the router is mounted (`""` or `"/admin"`).
    pub(crate) base: String,
    pub(crate) secure_cookie: bool,
}

impl AdminState {
    /// An absolute path inside the admin. (Its root is the mount point itself, `/admin`:
    /// a nested router does not answer `/admin/`.)
    pub(crate) fn path(&self, path: &str) -> String {
        match path {
            "/" if !self.base.is_empty() => self.base.clone(),
            _ => format!("{}{path}", self.base),
        }
    }

    /// Runs store or snapshot work (reads that query the store, writes, reloads) on tokio's
    /// blocking pool: a slow database or a long reload never holds an async worker.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, AdminError>
    where
        T: Send + 'static,
        F: FnOnce(&Plugins) -> Result<T, Error> + Send + 'static,
    {
        let plugins = self.plugins.clone();
        tokio::task::spawn_blocking(move || work(&plugins))
            .await
            .map_err(|join| AdminError::internal(format!("the admin's store work failed: {join}")))?
            .map_err(AdminError::from)
    }
}
