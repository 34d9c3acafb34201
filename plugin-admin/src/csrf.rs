//! The one place CSRF tokens are checked: [`Checked`], the extractor of every state-changing
//! form. It needs an authenticated [`User`], reads the body once, refuses it (403) unless its
//! `csrf` field is the user's token, and only then decodes the handler's typed form from it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::AdminState;
use crate::auth::User;
use crate::error::AdminError;

/// A form whose CSRF token checked out, and its user.
pub(crate) struct Checked<T> {
    /// Who sent it.
    pub(crate) user: User,
    /// The form, decoded.
    pub(crate) form: T,
}

/// The form as submitted: every field in order (for forms with repeated or generated fields:
/// selected ids, config inputs).
pub(crate) type Pairs = Vec<(String, String)>;

/// The first value of a field.
pub(crate) fn value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<AdminState>> for Checked<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<AdminState>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = User::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let pairs: Pairs = serde_urlencoded::from_bytes(&bytes).map_err(|err| {
            AdminError::bad_request(format!("the form cannot be read: {err}")).into_response()
        })?;
        if !user.csrf_matches(value(&pairs, "csrf").unwrap_or_default()) {
            return Err(AdminError::new(
                StatusCode::FORBIDDEN,
                "Forbidden: the form's CSRF token is missing or wrong. Reload the page and try again.",
            )
            .into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|err| {
            AdminError::bad_request(format!("the form is not what this page sends: {err}"))
                .into_response()
        })?;
        Ok(Checked { user, form })
    }
}
