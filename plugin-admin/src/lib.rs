//! The web admin of plugin-system: an axum [`Router`] the application mounts.
//!
//! ```no_run
//! # fn app(plugins: plugin_runtime::Plugins) -> Result<axum::Router, plugin_runtime::Error> {
//! use plugin_admin::{Admin, Auth};
//!
//! let admin = Admin::new(plugins, Auth::token_from_env("PLUGIN_ADMIN_TOKEN")?)
//!     .mounted_at("/admin")
//!     .router();
//! let app = axum::Router::new().nest("/admin", admin);
//! # Ok(app) }
//! ```
//!
//! Pages (server-rendered HTML, every value escaped, no front-end build step):
//! - **types** with their ACTIVE / RESERVED / DISABLED instance counts (one read of the
//!   instances for the whole page);
//! - **instances**: filters (type, item, status, scope) and search, status and priority
//!   editable in the list, bulk activate / reserve / disable / priority up / down, and a
//!   "loads" column with the reason when an instance does not;
//! - **create** in two steps: pick an item, then fill the form generated from its config
//!   schema, with each field's error beside it;
//! - **edit**: the same form; secrets are never sent to the browser (blank keeps them);
//! - **audit**: the latest writes.
//!
//! Every page needs an authenticated user ([`Auth`]: a token from the environment, or the
//! application's own check), and every state-changing request a CSRF token.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use plugin_runtime::Plugins;

mod auth;
mod form;
mod pages;
mod view;

pub use auth::Auth;
use auth::Sessions;

/// The admin of one [`Plugins`] handle. Writes go through the handle, so the application
/// serves them on its next lookup.
pub struct Admin {
    plugins: Plugins,
    auth: Auth,
    base: String,
}

impl Admin {
    /// The admin of `plugins`, guarded by `auth`.
    pub fn new(plugins: Plugins, auth: Auth) -> Admin {
        Admin {
            plugins,
            auth,
            base: String::new(),
        }
    }

    /// The path the application nests the router under (`"/admin"`), for the links and the
    /// session cookie's path. Default: the root.
    pub fn mounted_at(mut self, base: &str) -> Admin {
        self.base = base.trim_end_matches('/').to_owned();
        self
    }

    /// Serves the admin alone on `bind` until Ctrl-C (what `myapp plugins admin --bind`
    /// runs). Prints the address it listens on.
    pub fn serve(self, bind: std::net::SocketAddr) -> std::io::Result<()> {
        let router = self.router();
        tokio::runtime::Runtime::new()?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            println!("plugins admin: http://{}/", listener.local_addr()?);
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        })
    }

    /// The router to nest.
    pub fn router(self) -> Router {
        let state = Arc::new(AdminState {
            plugins: self.plugins,
            auth: self.auth,
            sessions: Sessions::default(),
            base: self.base,
        });
        Router::new()
            .route("/", get(pages::types))
            .route("/login", get(pages::login_page).post(pages::login))
            .route("/logout", post(pages::logout))
            .route("/instances", get(pages::instances))
            .route("/instances/bulk", post(pages::bulk))
            .route("/instances/{id}/quick", post(pages::quick_edit))
            .route(
                "/instances/{id}/edit",
                get(pages::edit_page).post(pages::edit),
            )
            .route("/instances/{id}/delete", post(pages::delete))
            .route("/new", get(pages::pick_item))
            .route("/new/item", get(pages::create_page).post(pages::create))
            .route("/audit", get(pages::audit))
            .with_state(state)
    }
}

/// What every handler shares.
pub(crate) struct AdminState {
    pub(crate) plugins: Plugins,
    pub(crate) auth: Auth,
    pub(crate) sessions: Sessions,
    /// Where the router is mounted (`""` or `"/admin"`).
    pub(crate) base: String,
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
}
