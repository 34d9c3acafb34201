//! A bounded load test of the shop and its admin on loopback: a fixed number of requests from
//! a fixed number of concurrent clients, then it stops. Every response must be a success; the
//! throughput and latencies are printed (`cargo test --release -p shop --test load --
//! --ignored --nocapture`; the figures in benches/REPORT.md come from that), never asserted.
//! Ignored in a plain `cargo test`, where 3,000 debug requests would only slow every run;
//! `.ci/run` runs it explicitly, once.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use plugin_system::Key;
use plugin_system::admin::Auth;
use plugin_system::prelude::*;

const REQUESTS: usize = 3000;
const CLIENTS: usize = 16;
const TOKEN: &str = "load-test-admin-token";

type Body = Empty<axum::body::Bytes>;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a load test: .ci/run runs it explicitly (cargo test --test load -- --ignored)"]
async fn the_shop_and_the_admin_answer_every_request_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = Plugins::builder()
        .database_url(format!("sqlite://{}", dir.path().join("shop.db").display()))
        .keyring(Keyring::new(Key::generate()))
        .build()
        .unwrap();
    shop::seed_demo_instances(&plugins).unwrap();
    let app = shop::app(plugins, Auth::token(TOKEN).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
    let cookie = login(&base).await;
    // A third each: the shop's page, the admin's instance list, the admin's type list.
    let paths = ["/", "/admin/instances", "/admin"];
    let started = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(REQUESTS)));
    let mut workers = Vec::new();
    for worker in 0..CLIENTS {
        let (client, base, cookie, latencies) = (
            client.clone(),
            base.clone(),
            cookie.clone(),
            latencies.clone(),
        );
        workers.push(tokio::spawn(async move {
            for n in (worker..REQUESTS).step_by(CLIENTS) {
                let path = paths[n % paths.len()];
                let request = axum::http::Request::get(format!("{base}{path}"))
                    .header("cookie", &cookie)
                    .body(Body::new())
                    .unwrap();
                let sent = Instant::now();
                let response = client.request(request).await.unwrap();
                let status = response.status();
                response.into_body().collect().await.unwrap();
                assert!(status.is_success(), "{path}: {status}");
                latencies.lock().unwrap().push(sent.elapsed());
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.lock().unwrap().clone();
    assert_eq!(latencies.len(), REQUESTS);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "load: {REQUESTS} requests from {CLIENTS} clients in {:.2} s: {:.0} requests/s; latency median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The admin session cookie, from a real login.
async fn login(base: &str) -> String {
    let client: Client<_, String> = Client::builder(TokioExecutor::new()).build_http();
    let request = axum::http::Request::post(format!("{base}/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}
