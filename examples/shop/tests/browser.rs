//! The admin and the shop in a real headless Chromium (Debian's `chromium` and
//! `chromedriver`): log in, create a configured instance through the wizard (one invalid field,
//! then fixed), see the shop select it, disable it with a bulk action and see the shop switch,
//! and never find the secret in a page. Screenshots of the main pages go to
//! `target/tmp/screenshots/`.
//!
//! Without Chromium the test is skipped with a message, unless `CI` is set (then it fails):
//! `scripts/test` installs it.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use plugin_system::Key;
use plugin_system::admin::Auth;
use plugin_system::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TOKEN: &str = "browser-test-admin-token";
const SECRET: &str = "sk_live_BROWSERSECRET_123";

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts chromedriver, or says why the test cannot run.
fn start_driver() -> Option<(Driver, u16)> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        let message =
            format!("{CHROMIUM} or {CHROMEDRIVER} is missing (Debian: chromium, chromium-driver)");
        assert!(
            std::env::var_os("CI").is_none(),
            "{message}; CI is set, so this fails"
        );
        eprintln!("SKIPPED: {message}");
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((driver, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(port: u16) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            // As the machine's probe runs it: no sandbox as root, no GPU, and no background
            // connections (the network is closed).
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000"
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// The shop with its admin, on a free port, over a fresh SQLite file.
async fn start_shop(dir: &Path) -> (Plugins, String) {
    let plugins = Plugins::builder()
        .database_url(format!("sqlite://{}", dir.join("shop.db").display()))
        .keyring(Keyring::new(Key::generate()))
        .build()
        .unwrap();
    shop::seed_demo_instances(&plugins).unwrap();
    let app = shop::app(plugins.clone(), Auth::token(TOKEN).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum_serve(listener, app).await });
    (plugins, base)
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    axum::serve(listener, app).await.unwrap();
}

/// Every page's HTML, to search for the secret at the end.
struct Visited(Vec<(String, String)>);

impl Visited {
    async fn record(&mut self, client: &Client) {
        let url = client.current_url().await.unwrap().to_string();
        self.0.push((url, client.source().await.unwrap()));
    }
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// The text of the element `locator` finds, waiting for it (a submitted form's next page may
/// still be loading).
async fn text_of(client: &Client, locator: Locator<'_>) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(locator)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn selected_gateway(client: &Client, base: &str) -> String {
    client.goto(&format!("{base}/")).await.unwrap();
    text_of(client, Locator::Id("selected-gateway")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_configures_selects_and_disables_a_gateway_in_the_browser() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let client = browser(driver_port).await;
    let mut visited = Visited(Vec::new());

    // The shop starts on the demo's Stripe instance.
    assert!(
        selected_gateway(&client, &base)
            .await
            .contains("Stripe (test mode)")
    );
    screenshot(&client, "shop-before").await;

    // Log in.
    client.goto(&format!("{base}/admin")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    screenshot(&client, "admin-login").await;
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
    let types = text_of(&client, Locator::Id("types")).await;
    assert!(types.contains("payment_gateway"), "{types}");
    visited.record(&client).await;
    screenshot(&client, "admin-types").await;

    // The wizard: pick Stripe, enter a key that is too short, then a good one.
    client.goto(&format!("{base}/admin/new")).await.unwrap();
    visited.record(&client).await;
    client
        .find(Locator::LinkText("stripe"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let form = client.form(Locator::Id("instance-form")).await.unwrap();
    form.set_by_name("instance_name", "Stripe live")
        .await
        .unwrap();
    form.set_by_name("instance_priority", "1").await.unwrap();
    form.set_by_name("config.api_key", "sk_live").await.unwrap();
    form.submit().await.unwrap();
    let errors = text_of(&client, Locator::Css(".errors")).await;
    assert!(errors.contains("at least 8 characters"), "{errors}");
    visited.record(&client).await;
    screenshot(&client, "admin-create-with-an-error").await;
    let form = client.form(Locator::Id("instance-form")).await.unwrap();
    form.set_by_name("config.api_key", SECRET).await.unwrap();
    form.submit().await.unwrap();
    let notice = text_of(&client, Locator::Css(".notice")).await;
    assert!(notice.contains("Created `Stripe live`"), "{notice}");
    visited.record(&client).await;
    screenshot(&client, "admin-instances").await;

    // The shop serves it at once.
    assert!(
        selected_gateway(&client, &base)
            .await
            .contains("Stripe live")
    );
    screenshot(&client, "shop-after-create").await;

    // Its edit page shows everything but the secret.
    let id = plugins
        .get::<dyn shop_contracts::PaymentGateway>()
        .unwrap()
        .meta()
        .id;
    client
        .goto(&format!("{base}/admin/instances/{id}/edit"))
        .await
        .unwrap();
    visited.record(&client).await;
    screenshot(&client, "admin-edit").await;

    // A bulk "disable" of it: the shop switches back.
    client
        .goto(&format!("{base}/admin/instances"))
        .await
        .unwrap();
    client
        .find(Locator::Css(&format!("input[type=checkbox][value='{id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .form(Locator::Id("bulk"))
        .await
        .unwrap()
        .set_by_name("action", "disable")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let notice = text_of(&client, Locator::Css(".notice")).await;
    assert!(notice.contains("1 instance(s) changed"), "{notice}");
    visited.record(&client).await;
    assert!(
        selected_gateway(&client, &base)
            .await
            .contains("Stripe (test mode)")
    );

    client.goto(&format!("{base}/admin/audit")).await.unwrap();
    visited.record(&client).await;
    screenshot(&client, "admin-audit").await;
    client.close().await.unwrap();

    for (url, html) in &visited.0 {
        assert!(!html.contains("BROWSERSECRET"), "{url} shows the secret");
    }
}
