//! Plugins that extend the web application (issue 14), on every backend: each instance's own
//! routes, reachable as soon as it is created and gone once it is disabled, a tenant's only
//! for that tenant; page fragments refreshed after an edit; request hooks around every
//! request; a failing or panicking fragment or hook skipped.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "web")]

mod support;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use maud::{Markup, html};
use plugin_system::prelude::*;
use plugin_system::web::{
    Fragments, HookError, PluginRoutes, RequestHook, RequestHooks, RequestInfo, Routes, Tenant,
};
use plugin_system::{InstanceUpdate, Status};
use support::TestDatabase;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/// Payment gateways, each of which receives its provider's webhooks.
#[plugin_type(name = "gateway")]
pub trait Gateway: Routes {
    fn label(&self) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct HookConfig {
    /// Says which instance answered.
    pub label: String,
}

pub struct Webhooked(HookConfig);

impl From<HookConfig> for Webhooked {
    fn from(config: HookConfig) -> Self {
        Webhooked(config)
    }
}

impl Routes for Webhooked {
    fn routes(&self) -> Router {
        let label = self.0.label.clone();
        let again = label.clone();
        Router::new()
            .route("/", get(move || async move { label }))
            .route(
                "/webhook",
                post(move |body: String| async move { format!("{again} got {body}") }),
            )
    }
}

#[plugin_item(name = "webhooked", config = HookConfig)]
impl Gateway for Webhooked {
    fn label(&self) -> String {
        self.0.label.clone()
    }
}

fn gateway(label: &str) -> NewInstance {
    NewInstance::of::<dyn Gateway>("webhooked", label).config(&HookConfig {
        label: label.into(),
    })
}

fn app(plugins: &Plugins) -> Router {
    let routes = PluginRoutes::new(plugins.clone())
        .serve::<dyn Gateway>()
        .router();
    Router::new().nest("/plugins", routes)
}

/// Sends `method path` (with `body`, and the tenant when given) and returns the status and
/// the body.
async fn send(
    app: &Router,
    method: &str,
    path: &str,
    body: &str,
    tenant: Option<&str>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body.to_owned()))
        .unwrap();
    if let Some(tenant) = tenant {
        request.extensions_mut().insert(Tenant(tenant.into()));
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn a_new_instance_s_route_is_reachable_at_once_and_answers_404_once_disabled(db: &TestDatabase) {
    let plugins = db.handle();
    let app = app(&plugins);
    runtime().block_on(async {
        let created = plugins.create_instance(gateway("first")).unwrap();
        let hook = format!("/plugins/gateway/webhooked/{}/webhook", created.id);
        assert_eq!(
            send(&app, "POST", &hook, "paid", None).await,
            (StatusCode::OK, "first got paid".into()),
            "reachable without a restart"
        );
        let root = format!("/plugins/gateway/webhooked/{}", created.id);
        assert_eq!(send(&app, "GET", &root, "", None).await.1, "first");
        // Its config changes: its routes are built again from the new one.
        let update = InstanceUpdate {
            config: Some(
                HookConfig {
                    label: "renamed".into(),
                }
                .to_values(),
            ),
            ..InstanceUpdate::default()
        };
        let updated = plugins
            .update_instance(created.id, created.version, update)
            .unwrap();
        assert_eq!(
            send(&app, "POST", &hook, "paid", None).await.1,
            "renamed got paid"
        );
        // RESERVED still serves (its webhooks keep arriving); DISABLED answers 404.
        plugins.set_status(&[updated.id], Status::Reserved).unwrap();
        assert_eq!(send(&app, "POST", &hook, "x", None).await.0, StatusCode::OK);
        plugins.set_status(&[updated.id], Status::Disabled).unwrap();
        assert_eq!(
            send(&app, "POST", &hook, "x", None).await.0,
            StatusCode::NOT_FOUND
        );
        plugins.set_status(&[updated.id], Status::Active).unwrap();
        assert_eq!(send(&app, "POST", &hook, "x", None).await.0, StatusCode::OK);
        // The path must name the instance's own item; an unknown route of it is its 404.
        let wrong_item = format!("/plugins/gateway/other/{}/webhook", created.id);
        assert_eq!(
            send(&app, "POST", &wrong_item, "x", None).await.0,
            StatusCode::NOT_FOUND
        );
        let unknown = format!("/plugins/gateway/webhooked/{}/nope", created.id);
        assert_eq!(
            send(&app, "GET", &unknown, "", None).await.0,
            StatusCode::NOT_FOUND
        );
        plugins.delete_instance(created.id).unwrap();
        assert_eq!(
            send(&app, "POST", &hook, "x", None).await.0,
            StatusCode::NOT_FOUND
        );
    });
}

fn a_tenant_s_route_answers_that_tenant_only(db: &TestDatabase) {
    let plugins = db.handle();
    let app = app(&plugins);
    runtime().block_on(async {
        let acme = plugins
            .create_instance(gateway("acme's").scope("acme"))
            .unwrap();
        let global = plugins.create_instance(gateway("everyone's")).unwrap();
        let path = |id| format!("/plugins/gateway/webhooked/{id}/webhook");
        assert_eq!(
            send(&app, "POST", &path(acme.id), "x", Some("acme")).await,
            (StatusCode::OK, "acme's got x".into())
        );
        for other in [Some("globex"), None] {
            assert_eq!(
                send(&app, "POST", &path(acme.id), "x", other).await.0,
                StatusCode::NOT_FOUND,
                "{other:?}"
            );
        }
        // A global instance serves every tenant.
        for tenant in [Some("acme"), Some("globex"), None] {
            assert_eq!(
                send(&app, "POST", &path(global.id), "x", tenant).await.0,
                StatusCode::OK,
                "{tenant:?}"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------
// Fragments
// ---------------------------------------------------------------------------------------

/// A piece of the product page.
#[plugin_type(name = "badge")]
pub trait Badge {
    fn badge(&self, product: &str) -> Result<Markup, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct BadgeConfig {
    /// What the badge says.
    pub text: String,
    /// How rendering goes: "ok", "fail" or "panic".
    #[config(choices("ok", "fail", "panic"), default = "ok")]
    pub mode: String,
}

/// How many times each badge text was rendered (tests of all backends run at once: each
/// uses texts of its own).
static RENDERS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn renders(text: &str) -> usize {
    RENDERS
        .lock()
        .unwrap()
        .iter()
        .filter(|seen| *seen == text)
        .count()
}

pub struct Labelled(BadgeConfig);

impl From<BadgeConfig> for Labelled {
    fn from(config: BadgeConfig) -> Self {
        Labelled(config)
    }
}

#[plugin_item(name = "labelled", config = BadgeConfig)]
impl Badge for Labelled {
    fn badge(&self, product: &str) -> Result<Markup, PluginError> {
        RENDERS.lock().unwrap().push(self.0.text.clone());
        match self.0.mode.as_str() {
            "fail" => Err(PluginError::new("the badge service is down")),
            "panic" => panic!("badge bug"),
            _ => Ok(html! { span.badge { (self.0.text) " on " (product) } }),
        }
    }
}

fn badge(text: &str, mode: &str, priority: i32) -> NewInstance {
    NewInstance::of::<dyn Badge>("labelled", text)
        .config(&BadgeConfig {
            text: text.into(),
            mode: mode.into(),
        })
        .priority(priority)
}

fn a_fragment_is_cached_refreshed_after_an_edit_and_a_failing_one_is_skipped(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (first, broken, panicking) = (
        format!("{tag}-new"),
        format!("{tag}-broken"),
        format!("{tag}-buggy"),
    );
    let shown = plugins.create_instance(badge(&first, "ok", 1)).unwrap();
    plugins.create_instance(badge(&broken, "fail", 2)).unwrap();
    plugins
        .create_instance(badge(&panicking, "panic", 3))
        .unwrap();
    let fragments = Fragments::cached();
    let render =
        || fragments.render::<dyn Badge, _, _>(&plugins, None, "tea", |badge| badge.badge("tea"));
    let page = render();
    assert_eq!(
        maud::Render::render(&page).into_string(),
        format!(r#"<span class="badge">{first} on tea</span>"#)
    );
    let skipped: Vec<(&str, &str)> = page
        .skipped
        .iter()
        .map(|s| (s.meta.name.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (broken.as_str(), "the badge service is down"),
            (panicking.as_str(), "panicked: badge bug"),
        ]
    );
    // Cached: the second page does not render it again (the failing ones are tried again).
    render();
    assert_eq!(renders(&first), 1);
    assert_eq!(renders(&broken), 2);
    // An operator edits it: the next page shows the edit.
    let update = InstanceUpdate {
        config: Some(
            BadgeConfig {
                text: format!("{first}-edited"),
                mode: "ok".into(),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    plugins
        .update_instance(shown.id, shown.version, update)
        .unwrap();
    assert_eq!(
        maud::Render::render(&render()).into_string(),
        format!(r#"<span class="badge">{first}-edited on tea</span>"#)
    );
    // Disabled: gone from the page.
    plugins.set_status(&[shown.id], Status::Disabled).unwrap();
    assert!(render().fragments.is_empty());
}

// ---------------------------------------------------------------------------------------
// Request hooks
// ---------------------------------------------------------------------------------------

/// Told about every request.
#[plugin_type(name = "audit_hook")]
pub trait AuditHook: RequestHook {}

#[derive(PluginConfig, Clone)]
pub struct RecorderConfig {
    /// Which events are this instance's.
    pub label: String,
    /// How its calls go: "ok", "panic", "fail" or "stall" (never returns).
    #[config(choices("ok", "panic", "fail", "stall"), default = "ok")]
    pub mode: String,
}

static CALLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn calls_of(tag: &str) -> Vec<String> {
    CALLS
        .lock()
        .unwrap()
        .iter()
        .filter(|call| call.starts_with(tag))
        .cloned()
        .collect()
}

pub struct Recorder(RecorderConfig);

impl From<RecorderConfig> for Recorder {
    fn from(config: RecorderConfig) -> Self {
        Recorder(config)
    }
}

impl Recorder {
    async fn note(&self, event: String) -> Result<(), PluginError> {
        match self.0.mode.as_str() {
            "panic" => panic!("hook bug"),
            "fail" => return Err(PluginError::new("audit log unreachable")),
            "stall" => std::future::pending::<()>().await,
            _ => {}
        }
        CALLS
            .lock()
            .unwrap()
            .push(format!("{} {event}", self.0.label));
        Ok(())
    }
}

#[async_trait]
impl RequestHook for Recorder {
    async fn before(&self, request: &RequestInfo) -> Result<(), PluginError> {
        self.note(format!("before {}", request.uri.path())).await
    }

    async fn after(&self, request: &RequestInfo, status: StatusCode) -> Result<(), PluginError> {
        self.note(format!("after {} {}", request.uri.path(), status.as_u16()))
            .await
    }

    async fn on_error(&self, request: &RequestInfo, error: &HookError) -> Result<(), PluginError> {
        self.note(format!("error {} {error}", request.uri.path()))
            .await
    }
}

#[plugin_item(name = "recorder", config = RecorderConfig)]
impl AuditHook for Recorder {}

fn recorder(label: &str, mode: &str, priority: i32) -> NewInstance {
    NewInstance::of::<dyn AuditHook>("recorder", label)
        .config(&RecorderConfig {
            label: label.into(),
            mode: mode.into(),
        })
        .priority(priority)
}

fn hooks_run_around_each_request_in_order_and_a_failing_one_is_skipped(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (first, second) = (format!("{tag}-a"), format!("{tag}-b"));
    // In selection order: the stalling, panicking and failing ones come first and must not
    // keep the others (or the request) from running.
    plugins
        .create_instance(recorder(&format!("{tag}-stalls"), "stall", 1))
        .unwrap();
    plugins
        .create_instance(recorder(&format!("{tag}-panics"), "panic", 2))
        .unwrap();
    plugins
        .create_instance(recorder(&format!("{tag}-fails"), "fail", 3))
        .unwrap();
    plugins.create_instance(recorder(&first, "ok", 4)).unwrap();
    plugins.create_instance(recorder(&second, "ok", 5)).unwrap();
    // A tenant's hook hears that tenant's requests only.
    let acme = format!("{tag}-acme");
    plugins
        .create_instance(recorder(&acme, "ok", 6).scope("acme"))
        .unwrap();
    let app = Router::new()
        .route("/shop", get(|| async { "shop" }))
        .route(
            "/broken",
            get(|| async {
                if true {
                    panic!("handler bug");
                }
                "never"
            }),
        )
        .layer(
            RequestHooks::<dyn AuditHook>::new(plugins.clone())
                .time_limit(Duration::from_millis(50)),
        );
    runtime().block_on(async {
        assert_eq!(
            send(&app, "GET", "/shop", "", None).await,
            (StatusCode::OK, "shop".into())
        );
        assert_eq!(
            calls_of(tag),
            [
                format!("{first} before /shop"),
                format!("{second} before /shop"),
                format!("{first} after /shop 200"),
                format!("{second} after /shop 200"),
            ]
        );
        CALLS.lock().unwrap().retain(|call| !call.starts_with(tag));
        // A handler that panics: answered 500, and the hooks hear why.
        assert_eq!(
            send(&app, "GET", "/broken", "", Some("acme")).await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            calls_of(tag),
            [
                format!("{acme} before /broken"),
                format!("{first} before /broken"),
                format!("{second} before /broken"),
                format!("{acme} error /broken the handler panicked: handler bug"),
                format!("{first} error /broken the handler panicked: handler bug"),
                format!("{second} error /broken the handler panicked: handler bug"),
            ]
        );
    });
}

on_every_backend!(
    a_new_instance_s_route_is_reachable_at_once_and_answers_404_once_disabled,
    a_tenant_s_route_answers_that_tenant_only,
    a_fragment_is_cached_refreshed_after_an_edit_and_a_failing_one_is_skipped,
    hooks_run_around_each_request_in_order_and_a_failing_one_is_skipped,
);
