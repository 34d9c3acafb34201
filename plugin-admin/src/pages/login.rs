//! Logging in and out (token mode). Failed logins are logged (`tracing`, at WARN, with the
//! client's address) and throttled per client: after a few, the client must wait before its
//! next token is even checked.

use axum::Form;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::Shared;
use crate::AdminState;
use crate::auth::{Client, session_set_cookie};
use crate::csrf::Checked;
use crate::view::page as layout;

/// The login form.
#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

/// The log-out form (its CSRF token is all it carries).
#[derive(Deserialize)]
pub(crate) struct Logout {}

pub(crate) async fn page(State(state): Shared) -> Response {
    if !state.auth.has_login_page() {
        return Redirect::to(&state.path("/")).into_response();
    }
    form(&state, None).into_response()
}

use axum::extract::State;

fn form(state: &AdminState, error: Option<&str>) -> Markup {
    layout(
        state,
        None,
        "Log in",
        None,
        html! {
            form method="post" action=(state.path("/login")) {
                @if let Some(error) = error { div.flash.flash-error role="alert" { (error) } }
                div.field {
                    label for="token" { "Admin token" }
                    input type="password" id="token" name="token" autocomplete="current-password" autofocus;
                }
                button.primary type="submit" { "Log in" }
            }
        },
    )
}

pub(crate) async fn submit(
    State(state): Shared,
    client: Client,
    Form(login): Form<Login>,
) -> Response {
    if !state.auth.has_login_page() {
        return Redirect::to(&state.path("/")).into_response();
    }
    if let Some(wait) = state.throttle.wait(&client) {
        // Rounded up: "wait 30 seconds", not 29 and a fraction.
        let seconds = wait.as_millis().div_ceil(1000).max(1);
        tracing::warn!(client = %client, wait_secs = seconds, "plugins admin: login refused, too many failed logins from this client");
        let message = format!(
            "Too many failed logins from your address. Wait {seconds} seconds, then try again."
        );
        let mut response =
            (StatusCode::TOO_MANY_REQUESTS, form(&state, Some(&message))).into_response();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if !state.auth.accepts(&login.token) {
        let failures = state.throttle.failed(&client);
        tracing::warn!(client = %client, failures, "plugins admin: failed login (wrong token)");
        let page = form(&state, Some("That is not the admin token."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    state.throttle.succeeded(&client);
    tracing::info!(client = %client, "plugins admin: operator logged in");
    let session = state.sessions.start("operator");
    (
        [(
            header::SET_COOKIE,
            session_set_cookie(&state, Some(&session)),
        )],
        Redirect::to(&state.path("/")),
    )
        .into_response()
}

pub(crate) async fn logout(
    State(state): Shared,
    Checked { user, .. }: Checked<Logout>,
) -> Response {
    state.sessions.end(&user.key);
    (
        [(header::SET_COOKIE, session_set_cookie(&state, None))],
        Redirect::to(&state.path("/login")),
    )
        .into_response()
}
