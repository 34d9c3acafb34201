//! The admin's pages, one module each, and what they share.

pub(crate) mod actions;
pub(crate) mod audit;
pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod edit;
pub(crate) mod instances;
pub(crate) mod items;
pub(crate) mod login;
pub(crate) mod managed;
pub(crate) mod tenants;
pub(crate) mod types;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AdminState;
use crate::auth::{Flash, User};

/// The state every handler takes.
pub(crate) type Shared = State<Arc<AdminState>>;

/// A redirect (303) to an admin path, with a flash message for the user's next page.
pub(crate) fn redirect(state: &AdminState, user: &User, path: &str, flash: Flash) -> Response {
    state.sessions.set_flash(&user.key, flash);
    Redirect::to(&state.path(path)).into_response()
}

/// The flash message waiting for this user (shown once).
pub(crate) fn flash(state: &AdminState, user: &User) -> Option<Flash> {
    state.sessions.take_flash(&user.key)
}

/// “name” in a message.
pub(crate) fn quoted(name: &str) -> String {
    format!("“{name}”")
}
