//! Request hooks: plugins called around every request, as a tower layer.

use std::fmt::{self, Display};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use plugin_runtime::{Plugin, PluginError, PluginType, Plugins};
use tower::{Layer, Service};

use crate::{Tenant, panic_text};

/// The default time limit of one hook call.
const TIME_LIMIT: Duration = Duration::from_secs(1);

/// What a hook plugin type's instances do around each request: make it a supertrait of the
/// type's trait (`pub trait AuditHook: RequestHook {}`) and give [`RequestHooks`] the type.
/// Every method has an empty default: an item implements the ones it needs.
///
/// Hooks observe; they cannot change or stop the request. Each call has its own time limit
/// ([`RequestHooks::time_limit`]); a hook that fails, panics or runs out of time is logged
/// and skipped, and the request and the other hooks go on. Hooks that do I/O should await
/// it (they run on the async runtime), not block.
#[async_trait]
pub trait RequestHook {
    /// Before the application handles the request.
    async fn before(&self, request: &RequestInfo) -> Result<(), PluginError> {
        let _ = request;
        Ok(())
    }

    /// After the application answered, with the response's status (an error status too).
    async fn after(&self, request: &RequestInfo, status: StatusCode) -> Result<(), PluginError> {
        let _ = (request, status);
        Ok(())
    }

    /// When the application gave no response: its service failed, or its handler panicked
    /// (the client is then answered 500).
    async fn on_error(&self, request: &RequestInfo, error: &HookError) -> Result<(), PluginError> {
        let _ = (request, error);
        Ok(())
    }
}

/// What hooks are told about a request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Its method.
    pub method: Method,
    /// Its URI, as the layer received it.
    pub uri: Uri,
    /// Its headers.
    pub headers: HeaderMap,
    /// The tenant the application's layer said it is for.
    pub tenant: Option<Tenant>,
    /// When the layer received it.
    pub received: Instant,
}

impl RequestInfo {
    /// How long since the layer received the request.
    pub fn elapsed(&self) -> Duration {
        self.received.elapsed()
    }
}

/// Why the application gave no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// Its service returned an error (its text).
    Failed(String),
    /// Its handler panicked (the panic's message).
    Panicked(String),
}

impl Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookError::Failed(text) => write!(f, "the service failed: {text}"),
            HookError::Panicked(text) => write!(f, "the handler panicked: {text}"),
        }
    }
}

/// The layer: around each request, every ACTIVE instance of `T` the request's tenant is
/// served (its own, then the global ones; without a [`Tenant`], the global ones), in
/// selection order. The instances are read from the snapshot once per request, so one
/// request's hooks are the same before and after it.
///
/// ```no_run
/// # use plugin_system::prelude::*;
/// # use plugin_system::web::{RequestHook, RequestHooks};
/// #[plugin_type(name = "audit_hook")]
/// pub trait AuditHook: RequestHook {}
/// # fn app(plugins: Plugins, routes: axum::Router) -> axum::Router {
/// routes.layer(RequestHooks::<dyn AuditHook>::new(plugins))
/// # }
/// ```
pub struct RequestHooks<T: ?Sized> {
    plugins: Plugins,
    time_limit: Duration,
    hook_type: PhantomData<fn(&T)>,
}

impl<T: ?Sized> Clone for RequestHooks<T> {
    fn clone(&self) -> Self {
        RequestHooks {
            plugins: self.plugins.clone(),
            time_limit: self.time_limit,
            hook_type: PhantomData,
        }
    }
}

impl<T: ?Sized + PluginType + RequestHook> RequestHooks<T> {
    /// The layer, each hook call limited to one second.
    pub fn new(plugins: Plugins) -> RequestHooks<T> {
        RequestHooks {
            plugins,
            time_limit: TIME_LIMIT,
            hook_type: PhantomData,
        }
    }

    /// Limits each hook call to `limit` (a hook past it is skipped; the request goes on).
    pub fn time_limit(mut self, limit: Duration) -> RequestHooks<T> {
        self.time_limit = limit;
        self
    }

    /// The hooks of one request.
    fn instances(&self, tenant: Option<&Tenant>) -> Vec<Plugin<T>> {
        match tenant {
            Some(tenant) => self.plugins.scoped(tenant.name()).active::<T>(),
            None => self.plugins.active::<T>(),
        }
    }

    /// Runs one hook call within the time limit, isolated: its failure is logged, not
    /// passed on.
    async fn run(
        &self,
        hook: &Plugin<T>,
        phase: &'static str,
        call: impl Future<Output = Result<(), PluginError>>,
    ) {
        let guarded = AssertUnwindSafe(call).catch_unwind();
        let reason = match tokio::time::timeout(self.time_limit, guarded).await {
            Ok(Ok(Ok(()))) => return,
            Ok(Ok(Err(err))) => err.to_string(),
            Ok(Err(panic)) => format!("panicked: {}", panic_text(&*panic)),
            Err(_) => format!("did not return within {:?}", self.time_limit),
        };
        tracing::warn!(
            instance = %hook.meta().id,
            name = %hook.meta().name,
            phase,
            %reason,
            "request hook skipped; the request goes on"
        );
    }
}

impl<S, T: ?Sized + PluginType + RequestHook> Layer<S> for RequestHooks<T> {
    type Service = RequestHooksService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestHooksService {
            inner,
            hooks: self.clone(),
        }
    }
}

/// The service [`RequestHooks`] wraps around the application's.
pub struct RequestHooksService<S, T: ?Sized> {
    inner: S,
    hooks: RequestHooks<T>,
}

impl<S: Clone, T: ?Sized> Clone for RequestHooksService<S, T> {
    fn clone(&self) -> Self {
        RequestHooksService {
            inner: self.inner.clone(),
            hooks: self.hooks.clone(),
        }
    }
}

impl<S, T> Service<Request> for RequestHooksService<S, T>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display + Send + 'static,
    T: ?Sized + PluginType + RequestHook,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service that was polled ready handles this request; its clone the next one.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let hooks = self.hooks.clone();
        Box::pin(async move {
            let info = RequestInfo {
                method: request.method().clone(),
                uri: request.uri().clone(),
                headers: request.headers().clone(),
                tenant: request.extensions().get::<Tenant>().cloned(),
                received: Instant::now(),
            };
            let instances = hooks.instances(info.tenant.as_ref());
            for hook in &instances {
                hooks.run(hook, "before", hook.before(&info)).await;
            }
            let answered = AssertUnwindSafe(inner.call(request)).catch_unwind().await;
            let (result, error) = match answered {
                Ok(Ok(response)) => {
                    let status = response.status();
                    for hook in &instances {
                        hooks.run(hook, "after", hook.after(&info, status)).await;
                    }
                    return Ok(response);
                }
                Ok(Err(err)) => {
                    let error = HookError::Failed(err.to_string());
                    (Err(err), error)
                }
                Err(panic) => {
                    let error = HookError::Panicked(panic_text(&*panic));
                    // The path only: a query string may carry a token.
                    tracing::error!(path = %info.uri.path(), %error, "request handler panicked; answered 500");
                    let response = (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Body::from("internal error"),
                    )
                        .into_response();
                    (Ok(response), error)
                }
            };
            for hook in &instances {
                hooks
                    .run(hook, "on_error", hook.on_error(&info, &error))
                    .await;
            }
            result
        })
    }
}
