//! Who may use the admin, and the CSRF tokens that tie each form to its user.
//!
//! Two ways in: a token the operator types once (from the environment; the admin then keeps
//! a session in an `HttpOnly`, `SameSite=Strict` cookie), or the application's own check of
//! the request (its session, its SSO headers). Either way, each user gets a random CSRF token
//! that every state-changing form must send back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use plugin_runtime::Error;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::AdminState;

/// The name of the session cookie.
pub(crate) const COOKIE: &str = "plugin_admin";

/// How long a login lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The shortest login token accepted (a guessable token is no protection).
const MIN_TOKEN_LENGTH: usize = 16;

/// How the admin knows who is asking.
#[derive(Clone)]
pub struct Auth(Kind);

#[derive(Clone)]
enum Kind {
    Token(Arc<Zeroizing<String>>),
    Custom(Arc<Check>),
}

/// The application's check: the user's name, or `None` to refuse the request.
type Check = dyn Fn(&HeaderMap) -> Option<String> + Send + Sync;

impl Auth {
    /// A login page that asks for this token (at least 16 characters).
    pub fn token(token: impl Into<String>) -> Result<Auth, Error> {
        let token = Zeroizing::new(token.into());
        if token.chars().count() < MIN_TOKEN_LENGTH {
            return Err(Error::InvalidInput {
                field: "admin token",
                reason: format!("use at least {MIN_TOKEN_LENGTH} characters"),
            });
        }
        Ok(Auth(Kind::Token(Arc::new(token))))
    }

    /// [`token`](Self::token) from an environment variable; its absence is an error naming it.
    pub fn token_from_env(variable: &str) -> Result<Auth, Error> {
        let token = std::env::var(variable).map_err(|_| Error::InvalidInput {
            field: "admin token",
            reason: format!("set {variable} to the token operators log in with"),
        })?;
        Auth::token(token)
    }

    /// The application's own check: the user's name from the request (its session cookie,
    /// its proxy's headers), or `None` to refuse it (401).
    pub fn custom(check: impl Fn(&HeaderMap) -> Option<String> + Send + Sync + 'static) -> Auth {
        Auth(Kind::Custom(Arc::new(check)))
    }

    /// Whether operators log in with a token (there is a login page).
    pub(crate) fn has_login_page(&self) -> bool {
        matches!(self.0, Kind::Token(_))
    }

    /// Whether `candidate` is the login token (in constant time).
    pub(crate) fn accepts(&self, candidate: &str) -> bool {
        match &self.0 {
            Kind::Token(token) => token.as_bytes().ct_eq(candidate.as_bytes()).into(),
            Kind::Custom(_) => false,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Token(_) => f.write_str("Auth::Token(***)"),
            Kind::Custom(_) => f.write_str("Auth::Custom"),
        }
    }
}

/// Logins (token mode) and CSRF tokens (both modes), in memory.
#[derive(Default)]
pub(crate) struct Sessions {
    by_key: Mutex<HashMap<String, Session>>,
}

#[derive(Clone)]
struct Session {
    user: String,
    csrf: String,
    expires: Instant,
}

fn random_token() -> String {
    // Two v4 UUIDs: 244 random bits from the OS generator.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.by_key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a login; returns the session id for the cookie.
    pub(crate) fn start(&self, user: &str) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, session| session.expires > now);
        sessions.insert(
            id.clone(),
            Session {
                user: user.to_owned(),
                csrf: random_token(),
                expires: now + SESSION_LIFETIME,
            },
        );
        id
    }

    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn find(&self, id: &str) -> Option<Session> {
        let sessions = self.lock();
        sessions
            .get(id)
            .filter(|session| session.expires > Instant::now())
            .cloned()
    }

    /// The CSRF token of a user the application authenticates (made on first use).
    fn csrf_of(&self, user: &str) -> String {
        let key = format!("user:{user}");
        let mut sessions = self.lock();
        sessions
            .entry(key)
            .or_insert_with(|| Session {
                user: user.to_owned(),
                csrf: random_token(),
                expires: Instant::now() + SESSION_LIFETIME,
            })
            .csrf
            .clone()
    }
}

/// The authenticated user of a request; handlers take it as an argument, so no page is
/// reachable without one.
pub(crate) struct User {
    pub(crate) name: String,
    /// The token this user's forms carry.
    pub(crate) csrf: String,
    /// The session id (token mode), for logging out.
    pub(crate) session: Option<String>,
}

impl User {
    /// The refusal of a form whose CSRF token is missing or wrong (compared in constant
    /// time); `None` when the token is right.
    pub(crate) fn csrf_refusal(&self, form: &[(String, String)]) -> Option<Response> {
        let sent = form
            .iter()
            .find(|(key, _)| key == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes())) {
            return None;
        }
        Some(
            (
                StatusCode::FORBIDDEN,
                "forbidden: the form's CSRF token is missing or wrong; reload the page and try again",
            )
                .into_response(),
        )
    }
}

/// The value of the session cookie, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<Arc<AdminState>> for User {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AdminState>,
    ) -> Result<User, Response> {
        match &state.auth.0 {
            Kind::Token(_) => session_cookie(&parts.headers)
                .and_then(|id| Some((id, state.sessions.find(id)?)))
                .map(|(id, session)| User {
                    name: session.user,
                    csrf: session.csrf,
                    session: Some(id.to_owned()),
                })
                .ok_or_else(|| Redirect::to(&state.path("/login")).into_response()),
            Kind::Custom(check) => match check(&parts.headers) {
                Some(name) => Ok(User {
                    csrf: state.sessions.csrf_of(&name),
                    name,
                    session: None,
                }),
                None => Err((
                    StatusCode::UNAUTHORIZED,
                    "unauthorized: the application did not recognise this request",
                )
                    .into_response()),
            },
        }
    }
}
