//! The instances page at 10,000 instances (1,000 plugin types × 10 items, as issue 11 tried
//! it): how many bytes the first page and a filtered page are, how long the server takes to
//! answer, and when Chromium's load event fires for it (Debian's `chromium` and
//! `chromedriver`). Prints a table; asserts nothing.
//!
//! `cargo bench -p plugin-admin --bench instances_page`

// Benchmark code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use plugin_admin::{Admin, Auth};
use plugin_system::prelude::*;
use plugin_system::registry::Registry;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TOKEN: &str = "bench-admin-token-0123456789";
const TYPES: usize = 1000;
const ITEMS: usize = 10;
const RUNS: usize = 7;

/// The contract every synthetic type shares.
#[plugin_type(name = "bench_greeter")]
pub trait BenchGreeter {
    fn greet(&self) -> usize;
}

#[derive(Default)]
pub struct Plain;

#[plugin_item(name = "plain")]
impl BenchGreeter for Plain {
    fn greet(&self) -> usize {
        1
    }
}

/// 1,000 types × 10 config-less items: the start-up sync gives each item an ACTIVE instance.
fn registry() -> &'static Registry {
    let plain = Registry::linked()
        .unwrap()
        .items()
        .find(|item| item.name() == "plain")
        .unwrap();
    plugin_runtime::testing::synthetic_registry(TYPES, ITEMS, plain).unwrap()
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let started = Instant::now();
    let plugins = Plugins::builder()
        .registry(registry())
        .no_watch()
        .build()
        .unwrap();
    let total = plugins.instances(&Default::default()).total;
    println!(
        "setup: {TYPES} types × {ITEMS} items, {total} instances (MemoryStore) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = axum::Router::new().nest(
        "/admin",
        Admin::new(plugins, Auth::token(TOKEN).unwrap())
            .mounted_at("/admin")
            .router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).await.unwrap();
    });
    let base = format!("http://{address}/admin");

    // The server's side: bytes and time per page, over plain HTTP.
    let http: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let login = http
        .request(
            axum::http::Request::post(format!("{base}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::from(format!("token={TOKEN}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let pages = [
        ("instances, first page", "/instances".to_owned()),
        ("instances, page 100", "/instances?offset=4950".to_owned()),
        (
            "instances, one type",
            "/instances?type=bench:type_0500".to_owned(),
        ),
        (
            "instances, sorted by name",
            "/instances?sort=name&desc=1".to_owned(),
        ),
        ("instances, searched", "/instances?q=item_07".to_owned()),
        ("types", String::new()),
        ("create wizard", "/new?q=type_09".to_owned()),
    ];
    println!("\n| page | bytes | server time (median of {RUNS}) |\n|---|---|---|");
    for (name, path) in &pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let sent = Instant::now();
            let response = http
                .request(
                    axum::http::Request::get(format!("{base}{path}"))
                        .header("cookie", &cookie)
                        .body(Full::default())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            bytes = response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .len();
            times.push(sent.elapsed().as_secs_f64() * 1e3);
        }
        println!("| {name} | {bytes} | {:.1} ms |", median(times));
    }

    // The browser's side: Chromium's load event for the first page of instances.
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        println!("\nskipped the browser: {CHROMIUM} or {CHROMEDRIVER} is missing");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000"
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    client.goto(&format!("{base}/login")).await.unwrap();
    client
        .form(Locator::Css("form"))
        .await
        .unwrap()
        .set_by_name("token", TOKEN)
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("types"))
        .await
        .unwrap();
    println!(
        "\n| page in Chromium | load event (median of {RUNS}) | slowest | DOM nodes |\n|---|---|---|---|"
    );
    for (name, path) in &pages[..4] {
        let mut loads = Vec::new();
        let mut nodes = 0;
        for _ in 0..RUNS {
            client.goto(&format!("{base}{path}")).await.unwrap();
            let timing = client
                .execute(
                    "const n = performance.getEntriesByType('navigation')[0];\
                     return [n.loadEventEnd - n.startTime, document.getElementsByTagName('*').length];",
                    vec![],
                )
                .await
                .unwrap();
            loads.push(timing[0].as_f64().unwrap());
            nodes = timing[1].as_u64().unwrap();
        }
        let slowest = loads.iter().copied().fold(0.0, f64::max);
        println!(
            "| {name} | {:.0} ms | {slowest:.0} ms | {nodes} |",
            median(loads)
        );
    }
    client.close().await.unwrap();
}
