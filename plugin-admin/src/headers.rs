//! The security headers of every admin response.
//!
//! - `Content-Security-Policy`: nothing loads but the admin's own stylesheet; no script at
//!   all (the admin has none, so an injected one cannot run); forms post only to the admin;
//!   `frame-ancestors 'none'`: no page, same-site or not, can frame it.
//! - `X-Frame-Options: DENY`: the same for browsers that predate `frame-ancestors`.
//! - `X-Content-Type-Options: nosniff`: responses are what their type says.
//! - `Cache-Control: no-store`: pages with instance data stay out of caches (the stylesheet
//!   sets its own caching).
//! - `Referrer-Policy: no-referrer`: links out of the admin do not carry its URLs.
//! - `Cross-Origin-Opener-Policy` and `Cross-Origin-Resource-Policy: same-origin`.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The policy: only the admin's stylesheet, no script, forms to the admin, never framed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const HEADERS: [(HeaderName, &str); 6] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
];

/// Adds the security headers to a response (the layer around every route).
pub(crate) async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
