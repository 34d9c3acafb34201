//! The admin's error: a response, so handlers use `?`. The status fits the error (404 for an
//! unknown instance, 400 for bad input, 409 for a conflict, 503 when the database cannot be
//! reached, 500 otherwise); the page is rendered by [`render`], a layer that knows where the
//! admin is mounted.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use plugin_runtime::Error;
use plugin_runtime::store::StoreErrorKind;

use crate::AdminState;
use crate::view;

/// Why a request was not done.
#[derive(Debug)]
pub(crate) struct AdminError {
    status: StatusCode,
    message: String,
}

impl AdminError {
    /// A refusal with this status and message (shown to the operator).
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 500: a failure of the admin or the runtime (logged).
    pub(crate) fn internal(message: impl Into<String>) -> AdminError {
        let message = message.into();
        tracing::error!(error = %message, "plugins admin: request failed");
        AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// The status that fits a runtime error.
pub(crate) fn status_of(err: &Error) -> StatusCode {
    if err.store_kind() == Some(StoreErrorKind::Unavailable) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match err {
        Error::UnknownInstance(_)
        | Error::UnknownItem { .. }
        | Error::UnknownType(_)
        | Error::UnknownAction { .. } => StatusCode::NOT_FOUND,
        Error::MalformedId(_) | Error::InvalidInput { .. } | Error::InvalidConfig { .. } => {
            StatusCode::BAD_REQUEST
        }
        Error::Conflict { .. }
        | Error::DuplicateInstanceName { .. }
        | Error::Required { .. }
        | Error::ManagedByFile { .. }
        | Error::NotBuilt { .. } => StatusCode::CONFLICT,
        // A batch is refused for what its entry is refused for.
        Error::InBatch { source, .. } => status_of(source),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A malformed instance id in a path or a form: 400, as the runtime's error says.
impl From<plugin_runtime::MalformedId> for AdminError {
    fn from(err: plugin_runtime::MalformedId) -> AdminError {
        AdminError::from(Error::from(err))
    }
}

impl From<Error> for AdminError {
    fn from(err: Error) -> AdminError {
        let status = status_of(&err);
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %err.report(), "plugins admin: the store is unreachable");
                AdminError::new(
                    status,
                    format!(
                        "The plugin database cannot be reached right now; nothing was changed. Try again in a moment. ({})",
                        err.report()
                    ),
                )
            }
            StatusCode::INTERNAL_SERVER_ERROR => AdminError::internal(err.report()),
            _ => AdminError::new(status, err.report()),
        }
    }
}

/// Marks a response as an error page for [`render`] to fill in.
#[derive(Clone)]
struct ErrorPage(String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorPage(self.message));
        response
    }
}

/// Renders the page of an [`AdminError`] (the layer around every route).
pub(crate) async fn render(State(state): State<Arc<AdminState>>, response: Response) -> Response {
    let Some(ErrorPage(message)) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    let body = html! {
        div.flash.flash-error role="alert" { (crate::text::rich(&message)) }
        p {
            a href=(state.path("/instances")) { "Back to the instances" }
            " · "
            a href=(state.path("/")) { "Plugin types" }
        }
    };
    (status, view::page(&state, None, "Not done", None, body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_batch_answers_with_its_entrys_status_and_message() {
        let entry = Error::InvalidInput {
            field: "name",
            reason: "empty".into(),
        };
        let batch = Error::InBatch {
            index: 3,
            source: Box::new(entry),
        };
        assert_eq!(status_of(&batch), StatusCode::BAD_REQUEST);
        let answer = AdminError::from(batch);
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.message.contains("entry 3"), "{}", answer.message);
        assert!(
            answer.message.contains("invalid name: empty"),
            "{}",
            answer.message
        );
    }
}
