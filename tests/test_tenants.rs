//! Per-tenant activation (issue 14 part 4), on every backend: a tenant switches a global
//! instance off (or on) for itself without copying it, and an item can require activation
//! per tenant. Scoped lookups, broadcasts, plugin routes, fragments and request hooks all
//! honour it; global lookups are unaffected; another process sees the switch.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "web")]

mod support;

use std::sync::Mutex;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use plugin_system::prelude::*;
use plugin_system::web::{
    Fragments, PluginRoutes, RequestHook, RequestHooks, RequestInfo, Routes, Tenant,
};
use plugin_system::{Activation, Error, InstanceId};
use support::TestDatabase;
use tower::ServiceExt;

/// Shipping providers: each serves a route, renders a badge, and hears every request.
#[plugin_type(name = "shipper")]
pub trait Shipper: Routes + RequestHook {
    fn label(&self) -> String;
    fn badge(&self) -> Result<maud::Markup, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct Label {
    pub label: String,
}

/// Which shipper heard which request (tests of all backends run at once: labels differ).
static HEARD: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub struct Courier(Label);

impl From<Label> for Courier {
    fn from(config: Label) -> Self {
        Courier(config)
    }
}

impl Routes for Courier {
    fn routes(&self) -> Router {
        let label = self.0.label.clone();
        Router::new().route("/track", get(move || async move { label }))
    }
}

#[async_trait]
impl RequestHook for Courier {
    async fn before(&self, request: &RequestInfo) -> Result<(), PluginError> {
        HEARD
            .lock()
            .unwrap()
            .push(format!("{} {}", self.0.label, request.uri.path()));
        Ok(())
    }
}

#[plugin_item(name = "courier", config = Label)]
impl Shipper for Courier {
    fn label(&self) -> String {
        self.0.label.clone()
    }

    fn badge(&self) -> Result<maud::Markup, PluginError> {
        Ok(maud::html! { b { (self.0.label) } })
    }
}

/// A premium service: served to a tenant only once the tenant switches it on.
pub struct Premium(Label);

impl From<Label> for Premium {
    fn from(config: Label) -> Self {
        Premium(config)
    }
}

impl Routes for Premium {
    fn routes(&self) -> Router {
        Router::new()
    }
}

#[async_trait]
impl RequestHook for Premium {}

#[plugin_item(name = "premium", config = Label, per_tenant)]
impl Shipper for Premium {
    fn label(&self) -> String {
        self.0.label.clone()
    }

    fn badge(&self) -> Result<maud::Markup, PluginError> {
        Ok(maud::html! { i { (self.0.label) } })
    }
}

fn shipper(item: &str, label: &str, priority: i32) -> NewInstance {
    NewInstance::of::<dyn Shipper>(item, label)
        .config(&Label {
            label: label.into(),
        })
        .priority(priority)
}

fn labels(plugins: &[Plugin<dyn Shipper>]) -> Vec<String> {
    plugins.iter().map(|plugin| plugin.label()).collect()
}

/// What a tenant (or, with `None`, a global lookup) gets: the selected shipper, the ACTIVE
/// ones, and what a broadcast reaches.
fn served(plugins: &Plugins, tenant: Option<&str>) -> (Option<String>, Vec<String>, Vec<String>) {
    let broadcast = |outcomes: Vec<plugin_system::Outcome<String, PluginError>>| {
        outcomes
            .into_iter()
            .filter_map(|outcome| outcome.result.ok())
            .collect::<Vec<_>>()
    };
    match tenant {
        Some(tenant) => {
            let scoped = plugins.scoped(tenant);
            (
                scoped.get::<dyn Shipper>().ok().map(|p| p.label()),
                labels(&scoped.active::<dyn Shipper>()),
                broadcast(scoped.each::<dyn Shipper, _, _>(|s| Ok(s.label()))),
            )
        }
        None => (
            plugins.get::<dyn Shipper>().ok().map(|p| p.label()),
            labels(&plugins.active::<dyn Shipper>()),
            broadcast(plugins.each::<dyn Shipper, _, _>(|s| Ok(s.label()))),
        ),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

async fn status_of(app: &Router, path: &str, tenant: &str) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    request.extensions_mut().insert(Tenant(tenant.into()));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn a_tenant_that_switched_a_global_instance_off_never_gets_it(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (first, second) = (format!("{tag}-fast"), format!("{tag}-slow"));
    let fast = plugins
        .create_instance(shipper("courier", &first, 1))
        .unwrap();
    plugins
        .create_instance(shipper("courier", &second, 2))
        .unwrap();
    let both = strings(&[&first, &second]);
    assert_eq!(
        served(&plugins, Some("acme")),
        (Some(first.clone()), both.clone(), both.clone())
    );
    // Another process, up to date before the switch.
    let other = db.handle();
    let before = other.refresh_stats();

    assert!(
        plugins
            .set_activation("acme", fast.id, Activation::Off)
            .unwrap()
    );
    let without = (
        Some(second.clone()),
        strings(&[&second]),
        strings(&[&second]),
    );
    assert_eq!(served(&plugins, Some("acme")), without);
    // What the tenant is served, and why: the served one first and selected.
    let view = plugins.tenant_view("acme");
    let shippers = view
        .types
        .iter()
        .find(|ty| ty.plugin_type.name == "shipper")
        .expect("the shipper type is listed");
    let seen: Vec<(&str, bool, String)> = shippers
        .instances
        .iter()
        .filter(|instance| instance.meta.name.starts_with(tag))
        .map(|instance| {
            (
                instance.meta.name.as_str(),
                instance.served,
                instance.why.to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (second.as_str(), true, "global".to_owned()),
            (
                first.as_str(),
                false,
                "global, switched off for the tenant".to_owned()
            ),
        ]
    );
    let selected = shippers.selected.expect("one is selected");
    assert_eq!(plugins.instance(selected).unwrap().meta.name, second);
    // Another tenant, and global lookups, still get it.
    assert_eq!(
        served(&plugins, Some("globex")),
        (Some(first.clone()), both.clone(), both.clone())
    );
    assert_eq!(served(&plugins, None).0, Some(first.clone()));
    // By id, for that tenant: refused like another tenant's instance.
    assert!(
        plugins
            .scoped("acme")
            .get_by_id::<dyn Shipper>(fast.id)
            .is_err()
    );
    assert!(
        plugins
            .scoped("globex")
            .get_by_id::<dyn Shipper>(fast.id)
            .is_ok()
    );
    // Set again as it is: nothing changes.
    assert!(
        !plugins
            .set_activation("acme", fast.id, Activation::Off)
            .unwrap()
    );

    // Its route, its fragment and its hook: gone for that tenant only.
    let app = Router::new()
        .nest(
            "/plugins",
            PluginRoutes::new(plugins.clone())
                .serve::<dyn Shipper>()
                .router(),
        )
        .route("/page", get(|| async { "page" }))
        .layer(RequestHooks::<dyn Shipper>::new(plugins.clone()));
    let route = format!("/plugins/shipper/courier/{}/track", fast.id);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(
            status_of(&app, &route, "acme").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_of(&app, &route, "globex").await,
            (StatusCode::OK, first.clone())
        );
        HEARD
            .lock()
            .unwrap()
            .retain(|heard| !heard.starts_with(tag));
        status_of(&app, "/page", "acme").await;
        let heard: Vec<String> = HEARD
            .lock()
            .unwrap()
            .iter()
            .filter(|heard| heard.starts_with(tag))
            .cloned()
            .collect();
        assert_eq!(heard, [format!("{second} /page")]);
    });
    let fragments = Fragments::cached();
    let badges = |tenant: &str| {
        let rendered =
            fragments.render::<dyn Shipper, _, _>(&plugins, Some(tenant), "page", |s| s.badge());
        maud::Render::render(&rendered).into_string()
    };
    assert_eq!(badges("acme"), format!("<b>{second}</b>"));
    assert_eq!(badges("globex"), format!("<b>{first}</b><b>{second}</b>"));

    // The other process reads the one switch, not everything.
    assert!(other.refresh().unwrap());
    assert_eq!(served(&other, Some("acme")), without);
    let after = other.refresh_stats();
    assert_eq!(after.full_reloads, before.full_reloads, "{after:?}");
    assert_eq!(after.last_rows_read, 1, "{after:?}");

    // Back to what its item says: served again.
    assert!(
        plugins
            .set_activation("acme", fast.id, Activation::Default)
            .unwrap()
    );
    assert_eq!(served(&plugins, Some("acme")).0, Some(first.clone()));
    assert_eq!(badges("acme"), format!("<b>{first}</b><b>{second}</b>"));
}

fn an_item_that_needs_activation_is_not_served_to_a_tenant_until_activated(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (plain, gold) = (format!("{tag}-plain"), format!("{tag}-gold"));
    plugins
        .create_instance(shipper("courier", &plain, 5))
        .unwrap();
    let premium = plugins
        .create_instance(shipper("premium", &gold, 1))
        .unwrap();
    // Global lookups are served it; a tenant is not, until it switches it on.
    assert_eq!(served(&plugins, None).0, Some(gold.clone()));
    let plain_only = (Some(plain.clone()), strings(&[&plain]), strings(&[&plain]));
    assert_eq!(served(&plugins, Some("acme")), plain_only);
    assert!(
        plugins
            .set_activation("acme", premium.id, Activation::On)
            .unwrap()
    );
    let both = strings(&[&gold, &plain]);
    assert_eq!(
        served(&plugins, Some("acme")),
        (Some(gold.clone()), both.clone(), both)
    );
    assert_eq!(served(&plugins, Some("globex")), plain_only);
    // A fresh handle (a restart) builds the same from the store.
    let restarted = db.handle();
    assert_eq!(served(&restarted, Some("acme")).0, Some(gold.clone()));
    assert_eq!(served(&restarted, Some("globex")), plain_only);
    // Deleted: its switches go with it.
    plugins.delete_instance(premium.id).unwrap();
    assert_eq!(served(&plugins, Some("acme")), plain_only);
}

fn a_tenant_s_own_instance_has_no_switch(db: &TestDatabase) {
    let plugins = db.handle();
    let own = plugins
        .create_instance(shipper("courier", &format!("{}-own", db.backend), 1).scope("acme"))
        .unwrap();
    let refused = plugins.set_activation("acme", own.id, Activation::Off);
    assert!(
        matches!(&refused, Err(Error::InvalidInput { reason, .. }) if reason.contains("belongs to tenant `acme`")),
        "{refused:?}"
    );
    let unknown = plugins.set_activation("acme", InstanceId::new(), Activation::Off);
    assert!(
        matches!(unknown, Err(Error::UnknownInstance(_))),
        "{unknown:?}"
    );
}

on_every_backend!(
    a_tenant_that_switched_a_global_instance_off_never_gets_it,
    an_item_that_needs_activation_is_not_served_to_a_tenant_until_activated,
    a_tenant_s_own_instance_has_no_switch,
);
