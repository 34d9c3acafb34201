//! The web side (issue 14): what a request costs through a plugin's own route, a page's
//! fragments and the request-hook layer, next to the same work without them. `cargo bench
//! --all-features --bench web`; figures in `benches/REPORT.md`.
//!
//! Each request goes straight to the router (tower's `oneshot`, no socket) on a
//! current-thread runtime, so the figures are the routing and the plugin work only.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use plugin_system::prelude::*;
use plugin_system::web::{Fragments, PluginRoutes, RequestHook, RequestHooks, Routes};
use plugin_system::{Key, NewInstance};
use tower::ServiceExt;

/// Instances whose routes are served (the request reaches one of them).
const GATEWAYS: usize = 10_000;
/// Banners on the page.
const BANNERS: usize = 10;
/// Hooks around each request.
const HOOKS: usize = 3;

#[plugin_type(name = "bench_gateway")]
pub trait Gateway: Routes {
    fn label(&self) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct Label {
    pub label: String,
}

pub struct Webhooked(Label);

impl From<Label> for Webhooked {
    fn from(config: Label) -> Self {
        Webhooked(config)
    }
}

impl Routes for Webhooked {
    fn routes(&self) -> Router {
        Router::new().route("/webhook", post(|body: String| async move { body }))
    }
}

#[plugin_item(name = "webhooked", config = Label)]
impl Gateway for Webhooked {
    fn label(&self) -> String {
        self.0.label.clone()
    }
}

#[plugin_type(name = "bench_banner")]
pub trait Banner {
    fn banner(&self) -> Result<maud::Markup, PluginError>;
}

pub struct Announcement(Label);

impl From<Label> for Announcement {
    fn from(config: Label) -> Self {
        Announcement(config)
    }
}

#[plugin_item(name = "announcement", config = Label)]
impl Banner for Announcement {
    fn banner(&self) -> Result<maud::Markup, PluginError> {
        Ok(maud::html! { p.banner { strong { (self.0.label) } " is on sale" } })
    }
}

#[plugin_type(name = "bench_hook")]
pub trait Hook: RequestHook {}

#[derive(Default)]
pub struct Counting(std::sync::atomic::AtomicU64);

#[async_trait]
impl RequestHook for Counting {
    async fn after(
        &self,
        _: &plugin_system::web::RequestInfo,
        _: axum::http::StatusCode,
    ) -> Result<(), PluginError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

#[plugin_item(name = "counting")]
impl Hook for Counting {}

fn plugins() -> Plugins {
    let plugins = support::handle_on(&support::memory_store(), &Keyring::new(Key::generate()));
    let labelled = |item: &str, n: usize| {
        (0..n)
            .map(|i| {
                let new = match item {
                    "webhooked" => NewInstance::of::<dyn Gateway>(item, format!("g{i}")),
                    _ => NewInstance::of::<dyn Banner>(item, format!("b{i}")),
                };
                new.config(&Label {
                    label: format!("#{i}"),
                })
            })
            .collect()
    };
    plugins
        .create_instances(labelled("webhooked", GATEWAYS))
        .unwrap();
    plugins
        .create_instances(labelled("announcement", BANNERS))
        .unwrap();
    // The sync made one default hook; two more.
    for i in 1..HOOKS {
        plugins
            .create_instance(NewInstance::of::<dyn Hook>("counting", format!("hook {i}")))
            .unwrap();
    }
    plugins
}

fn web(c: &mut Criterion) {
    let plugins = plugins();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let send = |app: &Router, path: &str| {
        let request = Request::post(path).body(Body::from("paid")).unwrap();
        runtime.block_on(app.clone().oneshot(request)).unwrap()
    };

    let plain = Router::new().route("/webhook", post(|body: String| async move { body }));
    let routed = Router::new().nest(
        "/plugins",
        PluginRoutes::new(plugins.clone())
            .serve::<dyn Gateway>()
            .router(),
    );
    let target = plugins.active::<dyn Gateway>()[GATEWAYS / 2].meta().id;
    let path = format!("/plugins/bench_gateway/webhooked/{target}/webhook");
    assert_eq!(send(&routed, &path).status(), 200);
    let mut group = c.benchmark_group("a webhook request");
    group.bench_function("axum route alone", |b| {
        b.iter(|| black_box(send(&plain, "/webhook")))
    });
    group.bench_function("through PluginRoutes, 10,000 instances", |b| {
        b.iter(|| black_box(send(&routed, &path)))
    });
    let hooked = plain
        .clone()
        .layer(RequestHooks::<dyn Hook>::new(plugins.clone()).time_limit(Duration::from_secs(1)));
    assert_eq!(plugins.active::<dyn Hook>().len(), HOOKS);
    group.bench_function("axum route with 3 request hooks", |b| {
        b.iter(|| black_box(send(&hooked, "/webhook")))
    });
    group.finish();

    let mut group = c.benchmark_group("a page's fragments, 10 banners");
    let uncached = Fragments::new();
    let cached = Fragments::cached();
    let render = |fragments: &Fragments| {
        fragments.render::<dyn Banner, _, _>(&plugins, None, "home", |banner| banner.banner())
    };
    assert_eq!(render(&cached).fragments.len(), BANNERS);
    group.bench_function("rendered each time", |b| {
        b.iter(|| black_box(render(&uncached)))
    });
    group.bench_function("cached", |b| b.iter(|| black_box(render(&cached))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = web
}
criterion_main!(benches);
