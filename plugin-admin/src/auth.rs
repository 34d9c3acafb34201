//! Who may use the admin, the CSRF tokens that tie each form to its user, the flash messages
//! only the server sets, and the throttle on failed logins.
//!
//! Two ways in: a token the operator types once (from the environment; the admin then keeps
//! a session in an `HttpOnly`, `SameSite=Strict` cookie, `Secure` when asked), or the
//! application's own check of the request (its session, its SSO headers). Either way, each
//! user gets a random CSRF token that every state-changing form must send back.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
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

/// A message for the user's next page. Only handlers set one (never a URL), so a link cannot
/// make the admin say something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flash {
    /// Something was done.
    Done(String),
    /// Something was refused.
    Refused(String),
}

/// Logins (token mode), CSRF tokens and flash messages (both modes), in memory.
#[derive(Default)]
pub(crate) struct Sessions {
    by_key: Mutex<HashMap<String, Session>>,
}

#[derive(Clone)]
struct Session {
    user: String,
    csrf: String,
    expires: Instant,
    flash: Option<Flash>,
}

fn random_token() -> String {
    // Two v4 UUIDs: 244 random bits from the OS generator.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sessions {
    fn new_session(user: &str) -> Session {
        Session {
            user: user.to_owned(),
            csrf: random_token(),
            expires: Instant::now() + SESSION_LIFETIME,
            flash: None,
        }
    }

    /// Starts a login; returns the session id for the cookie.
    pub(crate) fn start(&self, user: &str) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = lock(&self.by_key);
        sessions.retain(|_, session| session.expires > now);
        sessions.insert(id.clone(), Sessions::new_session(user));
        id
    }

    pub(crate) fn end(&self, key: &str) {
        lock(&self.by_key).remove(key);
    }

    fn find(&self, key: &str) -> Option<Session> {
        lock(&self.by_key)
            .get(key)
            .filter(|session| session.expires > Instant::now())
            .cloned()
    }

    /// The CSRF token of a user the application authenticates (made on first use).
    fn csrf_of(&self, key: &str, user: &str) -> String {
        let mut sessions = lock(&self.by_key);
        sessions
            .entry(key.to_owned())
            .or_insert_with(|| Sessions::new_session(user))
            .csrf
            .clone()
    }

    /// Keeps `flash` for the user's next page.
    pub(crate) fn set_flash(&self, key: &str, flash: Flash) {
        if let Some(session) = lock(&self.by_key).get_mut(key) {
            session.flash = Some(flash);
        }
    }

    /// The flash message waiting for this user, once.
    pub(crate) fn take_flash(&self, key: &str) -> Option<Flash> {
        lock(&self.by_key)
            .get_mut(key)
            .and_then(|session| session.flash.take())
    }
}

/// The authenticated user of a request; handlers take it as an argument, so no page is
/// reachable without one.
pub(crate) struct User {
    pub(crate) name: String,
    /// The token this user's forms carry.
    pub(crate) csrf: String,
    /// Where this user's session state lives (the session id, or `user:NAME`).
    pub(crate) key: String,
    /// Whether the user logged in with the token (and can log out).
    pub(crate) can_log_out: bool,
}

impl User {
    /// Whether a form's CSRF token is this user's (compared in constant time).
    pub(crate) fn csrf_matches(&self, sent: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes()))
    }

    /// Who the user's writes are audited as.
    pub(crate) fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }
}

/// The value of the session cookie, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// The `Set-Cookie` value of the session cookie: `value` for a login, `None` to remove it.
pub(crate) fn session_set_cookie(state: &AdminState, value: Option<&str>) -> String {
    let path = if state.base.is_empty() {
        "/".to_owned()
    } else {
        state.base.clone()
    };
    let mut cookie = Cookie::build((COOKIE, value.unwrap_or_default().to_owned()))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookie);
    if value.is_none() {
        cookie = cookie.removal();
    }
    cookie.build().to_string()
}

impl FromRequestParts<Arc<AdminState>> for User {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AdminState>,
    ) -> Result<User, Response> {
        match &state.auth.0 {
            Kind::Token(_) => session_cookie(&parts.headers)
                .and_then(|id| Some((state.sessions.find(&id)?, id)))
                .map(|(session, id)| User {
                    name: session.user,
                    csrf: session.csrf,
                    key: id,
                    can_log_out: true,
                })
                .ok_or_else(|| Redirect::to(&state.path("/login")).into_response()),
            Kind::Custom(check) => match check(&parts.headers) {
                Some(name) => {
                    let key = format!("user:{name}");
                    Ok(User {
                        csrf: state.sessions.csrf_of(&key, &name),
                        name,
                        key,
                        can_log_out: false,
                    })
                }
                None => Err((
                    StatusCode::UNAUTHORIZED,
                    "unauthorized: the application did not recognise this request",
                )
                    .into_response()),
            },
        }
    }
}

/// The address a request came from, when the server records it
/// (`into_make_service_with_connect_info`).
pub(crate) struct Client(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Client, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

/// Failed logins allowed per client before it must wait.
pub(crate) const FREE_FAILURES: u32 = 5;

/// The wait after the last free failure.
const FIRST_WAIT: Duration = Duration::from_secs(30);

/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Failed logins per client: after [`FREE_FAILURES`], each further failure makes the client
/// wait, twice as long each time (30 s, 1 min, 2 min, … up to 15 minutes), before its next
/// token is even checked;
/// a successful login clears the count.
#[derive(Default)]
pub(crate) struct Throttle {
    by_client: Mutex<HashMap<Option<IpAddr>, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    until: Option<Instant>,
    last: Instant,
}

impl Throttle {
    /// How long the client must still wait, if it must.
    pub(crate) fn wait(&self, client: &Client) -> Option<Duration> {
        let now = Instant::now();
        lock(&self.by_client)
            .get(&client.0)
            .and_then(|failures| failures.until)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a failed login; returns the client's failures so far.
    pub(crate) fn failed(&self, client: &Client) -> u32 {
        let now = Instant::now();
        let mut clients = lock(&self.by_client);
        // Forget clients that have been quiet for a day (the map stays small).
        clients
            .retain(|_, failures| now.duration_since(failures.last) < Duration::from_secs(86_400));
        let failures = clients.entry(client.0).or_insert(Failures {
            count: 0,
            until: None,
            last: now,
        });
        failures.count += 1;
        failures.last = now;
        if failures.count >= FREE_FAILURES {
            let doublings = (failures.count - FREE_FAILURES).min(10);
            let wait = (FIRST_WAIT * (1 << doublings)).min(MAX_WAIT);
            failures.until = Some(now + wait);
        }
        failures.count
    }

    /// A successful login: the client starts afresh.
    pub(crate) fn succeeded(&self, client: &Client) {
        lock(&self.by_client).remove(&client.0);
    }
}
