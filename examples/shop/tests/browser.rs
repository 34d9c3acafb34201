//! The admin and the shop in a real headless Chromium (Debian's `chromium` and
//! `chromedriver`): log in, create a configured instance through the wizard (one invalid field,
//! then fixed), see the shop select it, test its connection from its edit page, disable it
//! with a bulk action and see the shop switch, and never find the secret in a page; a stale edit refused twice; pages of a few hundred
//! instances; the delete confirmation; a spoofed notice not shown; the pages at 390 px wide
//! without horizontal scrolling; an instance a declared file manages, read-only until released.
//! Screenshots of the pages go to `target/tmp/screenshots/`.
//!
//! Without Chromium the test is skipped with a message, unless `CI` is set (then it fails):
//! `scripts/test` installs it.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use plugin_system::admin::Auth;
use plugin_system::prelude::*;
use plugin_system::{InstanceId, Key, Status};

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
        // Straight to standard output: the harness captures only `print!`, and a skip that
        // nobody sees would pass for a browser test that ran.
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let _ = writeln!(
            std::io::stdout(),
            "SKIPPED {test}: {message} (set CI=1 to fail instead)"
        );
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
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).await.unwrap();
}

/// Logs in through the login form.
async fn log_in(client: &Client, base: &str) {
    client.goto(&format!("{base}/admin")).await.unwrap();
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
    text_of(client, Locator::Id("types")).await;
}

/// Marks the page in the browser, so [`new_page`] can tell the page that replaces it from it
/// (when both have the element a test reads next).
async fn mark_page(client: &Client) {
    client
        .execute("document.documentElement.dataset.old = '1';", vec![])
        .await
        .unwrap();
}

/// Waits for the page after the marked one.
async fn new_page(client: &Client) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("html:not([data-old])"))
        .await
        .unwrap();
}

/// What scrolls sideways: the page, when it is wider than the window, and every element that
/// scrolls its own content sideways (a table in an `overflow-x: auto` box passes the page's
/// check and still hides its columns). Empty when nothing does.
async fn scrolls_sideways(client: &Client) -> Vec<String> {
    let found = client
        .execute(
            r#"
            const wide = [];
            const root = document.documentElement;
            if (root.scrollWidth > root.clientWidth) {
                wide.push(`the page (${root.scrollWidth} px in ${root.clientWidth} px)`);
            }
            for (const element of document.body.querySelectorAll('*')) {
                const overflow = getComputedStyle(element).overflowX;
                if ((overflow === 'auto' || overflow === 'scroll')
                    && element.scrollWidth > element.clientWidth + 1) {
                    const name = element.tagName.toLowerCase()
                        + (element.className ? '.' + element.className : '');
                    wide.push(`${name} (${element.scrollWidth} px in ${element.clientWidth} px)`);
                }
            }
            return wide;
            "#,
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
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

/// Clicks the element `css` finds.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Submits the instances page's bulk form with `action` (the ticked rows).
async fn submit_bulk(client: &Client, action: &str) {
    client
        .form(Locator::Id("bulk"))
        .await
        .unwrap()
        .set_by_name("action", action)
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
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

    // The items, with what each says about itself: Stripe's homepage is a link.
    client.goto(&format!("{base}/admin/items")).await.unwrap();
    let homepage = text_of(
        &client,
        Locator::Css("a.url[href='https://docs.stripe.com/api']"),
    )
    .await;
    assert_eq!(homepage, "https://docs.stripe.com/api");
    visited.record(&client).await;
    screenshot(&client, "admin-items").await;

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
    let notice = text_of(&client, Locator::Css(".flash-done")).await;
    assert!(notice.contains("Created “Stripe live”"), "{notice}");
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

    // Its type's action, read from the descriptor: "Test the connection" runs against the
    // instance and the page says what it found (the secret masked, were it said).
    click(&client, "form[action$='/actions/check_connection'] button").await;
    let result = text_of(&client, Locator::Id("action-result")).await;
    assert!(result.contains("Test the connection: done"), "{result}");
    assert!(
        result.contains("connected to https://api.stripe.com in live mode, settling in EUR"),
        "{result}"
    );
    visited.record(&client).await;
    screenshot(&client, "admin-edit-action").await;

    // A bulk "disable" of it: the shop switches back.
    client
        .goto(&format!("{base}/admin/instances"))
        .await
        .unwrap();
    click(&client, &format!("input[type=checkbox][value='{id}']")).await;
    submit_bulk(&client, "disable").await;
    let notice = text_of(&client, Locator::Css(".flash-done")).await;
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

/// The id of the instance named `name`.
fn id_of(plugins: &Plugins, name: &str) -> InstanceId {
    plugins
        .instances(&plugin_system::InstanceQuery {
            search: Some(name.to_owned()),
            ..Default::default()
        })
        .rows
        .into_iter()
        .find(|row| row.meta.name == name)
        .unwrap()
        .meta
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_is_kept_from_overwriting_deleting_or_believing_by_mistake() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let client = browser(driver_port).await;
    log_in(&client, &base).await;

    // A stale edit: opened at version 1, another operator disables the instance, Save.
    let paypal = id_of(&plugins, "PayPal sandbox");
    let edit = format!("{base}/admin/instances/{paypal}/edit");
    client.goto(&edit).await.unwrap();
    let form = client.form(Locator::Id("instance-form")).await.unwrap();
    form.set_by_name("instance_priority", "7").await.unwrap();
    plugins
        .acting_as("admin:bob")
        .set_status(&[paypal], Status::Disabled)
        .unwrap();
    form.submit().await.unwrap();
    let refusal = text_of(&client, Locator::Id("conflict")).await;
    assert!(refusal.contains("Not saved"), "{refusal}");
    assert!(refusal.contains("admin:bob"), "{refusal}");
    screenshot(&client, "admin-edit-conflict").await;

    // Save again from the refusal: refused again; their change stands.
    mark_page(&client).await;
    client
        .form(Locator::Id("instance-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    new_page(&client).await;
    let again = text_of(&client, Locator::Id("conflict")).await;
    assert!(again.contains("Not saved"), "{again}");
    let stored = plugins.instance(paypal).unwrap();
    assert_eq!(
        (stored.meta.status, stored.meta.priority),
        (Status::Disabled, 20)
    );

    // Ticking "save my values over it" is what overwrites.
    click(&client, "input[name=overwrite]").await;
    client
        .form(Locator::Id("instance-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let saved = text_of(&client, Locator::Css(".flash-done")).await;
    assert!(saved.contains("Saved “PayPal sandbox”"), "{saved}");
    let stored = plugins.instance(paypal).unwrap();
    assert_eq!(
        (stored.meta.status, stored.meta.priority),
        (Status::Reserved, 7)
    );

    // Delete asks first.
    let stripe = id_of(&plugins, "Stripe (test mode)");
    client
        .goto(&format!("{base}/admin/instances/{stripe}/edit"))
        .await
        .unwrap();
    mark_page(&client).await;
    client
        .find(Locator::LinkText("Delete…"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    new_page(&client).await;
    let question = text_of(&client, Locator::Css("main")).await;
    assert!(question.contains("Delete instance?"), "{question}");
    assert!(question.contains("serving now"), "{question}");
    assert!(plugins.instance(stripe).is_ok(), "asking deletes nothing");
    screenshot(&client, "admin-delete-confirm").await;
    click(&client, "button.danger").await;
    let deleted = text_of(&client, Locator::Css(".flash-done")).await;
    assert!(
        deleted.contains("Deleted “Stripe (test mode)”"),
        "{deleted}"
    );
    assert!(plugins.instance(stripe).is_err());

    // Bulk delete asks first too.
    let twilio = id_of(&plugins, "Twilio Verify");
    let vonage = id_of(&plugins, "Vonage Verify");
    client
        .goto(&format!("{base}/admin/instances"))
        .await
        .unwrap();
    for id in [twilio, vonage] {
        click(&client, &format!("input[type=checkbox][value='{id}']")).await;
    }
    submit_bulk(&client, "delete").await;
    let question = text_of(&client, Locator::Id("confirm-delete")).await;
    assert!(question.contains("Delete 2 instance(s)"), "{question}");
    assert!(plugins.instance(twilio).is_ok() && plugins.instance(vonage).is_ok());
    screenshot(&client, "admin-bulk-delete-confirm").await;
    click(&client, "#confirm-delete button.danger").await;
    let deleted = text_of(&client, Locator::Css(".flash-done")).await;
    assert!(deleted.contains("2 instance(s) deleted"), "{deleted}");

    // A message in a link is not the admin's to show.
    let spoof = "Your session expired, log in again at https://evil.example";
    client
        .goto(&format!(
            "{base}/admin/instances?notice={}",
            spoof.replace(' ', "%20")
        ))
        .await
        .unwrap();
    text_of(&client, Locator::Id("instances")).await;
    let html = client.source().await.unwrap();
    assert!(
        !html.contains("session expired"),
        "the spoofed notice is shown"
    );
    screenshot(&client, "admin-spoofed-notice-ignored").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_who_disables_what_another_instance_needs_is_told_who_and_can_force_it() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let client = browser(driver_port).await;
    log_in(&client, &base).await;

    // The customer e-mails render through the shop templates: disabling them is refused.
    let templates = id_of(&plugins, "Shop templates");
    client
        .goto(&format!("{base}/admin/instances/{templates}/edit"))
        .await
        .unwrap();
    client
        .form(Locator::Id("instance-form"))
        .await
        .unwrap()
        .set_by_name("instance_status", "disabled")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let refusal = text_of(&client, Locator::Id("needed")).await;
    assert!(
        refusal.contains("cannot disable `Shop templates`: required by `Customer e-mails`"),
        "{refusal}"
    );
    screenshot(&client, "admin-edit-needed").await;
    assert_eq!(
        plugins.instance(templates).unwrap().meta.status,
        Status::Active
    );

    // Forced: saved, and the e-mails say why they are no longer served.
    click(&client, "input[name=force]").await;
    mark_page(&client).await;
    client
        .form(Locator::Id("instance-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    new_page(&client).await;
    assert_eq!(
        plugins.instance(templates).unwrap().meta.status,
        Status::Disabled
    );
    let listing = text_of(&client, Locator::Css("main")).await;
    // The reason's `code` is shown as code, without its backticks.
    assert!(listing.contains("needs template_renderer"), "{listing}");
    screenshot(&client, "admin-instances-after-forced-disable").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_edits_the_storefront_banner_and_the_shop_shows_the_edit() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let client = browser(driver_port).await;
    client.goto(&format!("{base}/")).await.unwrap();
    let before = text_of(&client, Locator::Id("banners")).await;
    assert_eq!(before, "Winter sale: 10% off every order this week.");
    screenshot(&client, "shop-banner-before").await;

    log_in(&client, &base).await;
    let banner = id_of(&plugins, "Winter sale");
    client
        .goto(&format!("{base}/admin/instances/{banner}/edit"))
        .await
        .unwrap();
    mark_page(&client).await;
    client
        .form(Locator::Id("instance-form"))
        .await
        .unwrap()
        .set_by_name("config.headline", "Last day:")
        .await
        .unwrap()
        .set_by_name("config.text", "the sale ends tonight.")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    new_page(&client).await;
    client.goto(&format!("{base}/")).await.unwrap();
    let after = text_of(&client, Locator::Id("banners")).await;
    assert_eq!(after, "Last day: the sale ends tonight.");
    screenshot(&client, "shop-banner-after").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_switches_a_global_gateway_off_for_one_tenant() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let client = browser(driver_port).await;
    log_in(&client, &base).await;
    let selected = |tenant: &str| {
        plugins
            .scoped(tenant)
            .get::<dyn shop_contracts::PaymentGateway>()
            .unwrap()
            .meta()
            .name
            .clone()
    };
    assert_eq!(selected("acme"), "Stripe (test mode)");

    client.goto(&format!("{base}/admin/tenants")).await.unwrap();
    mark_page(&client).await;
    client
        .form(Locator::Id("tenant-pick"))
        .await
        .unwrap()
        .set_by_name("tenant", "acme")
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    new_page(&client).await;
    let stripe = id_of(&plugins, "Stripe (test mode)");
    mark_page(&client).await;
    click(&client, &format!("#switch-{stripe} button[value=off]")).await;
    new_page(&client).await;
    let flash = text_of(&client, Locator::Css(".flash")).await;
    assert!(flash.contains("is switched off for tenant"), "{flash}");
    let main = text_of(&client, Locator::Css("main")).await;
    assert!(
        main.contains("not served: global, switched off for the tenant"),
        "{main}"
    );
    screenshot(&client, "admin-tenant-view").await;
    assert_eq!(selected("acme"), "cash_on_delivery");
    assert_eq!(selected("globex"), "Stripe (test mode)");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn hundreds_of_instances_page_and_every_page_fits_390_px() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    let writer = plugins.acting_as("application");
    for n in 0..300 {
        let status = if n % 7 == 0 {
            Status::Disabled
        } else {
            Status::Reserved
        };
        writer
            .create_instance(
                NewInstance::of::<dyn shop_contracts::PaymentGateway>(
                    "cash_on_delivery",
                    format!("Courier {n:03}"),
                )
                .status(status)
                .description("A courier who collects cash"),
            )
            .unwrap();
    }
    let total = plugins.instances(&Default::default()).total;
    assert!(total > 300);
    let client = browser(driver_port).await;
    log_in(&client, &base).await;

    client
        .goto(&format!("{base}/admin/instances"))
        .await
        .unwrap();
    let count = text_of(&client, Locator::Id("result-count")).await;
    assert!(count.contains(&format!("{total} instances")), "{count}");
    let rows = client.find_all(Locator::Css("tr[data-id]")).await.unwrap();
    assert_eq!(rows.len(), 50, "one page of rows");
    screenshot(&client, "admin-instances-page-1").await;
    mark_page(&client).await;
    client
        .find(Locator::LinkText("Next ›"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    new_page(&client).await;
    let pager = text_of(&client, Locator::Css(".pager .count")).await;
    assert!(pager.contains("Showing 51–100 of"), "{pager}");
    assert_eq!(
        client
            .find_all(Locator::Css("tr[data-id]"))
            .await
            .unwrap()
            .len(),
        50
    );
    screenshot(&client, "admin-instances-page-2").await;

    // Sorted by name, descending: the last courier first.
    client
        .goto(&format!("{base}/admin/instances?sort=name&desc=1"))
        .await
        .unwrap();
    let first = text_of(&client, Locator::Css("tr[data-id] td[data-label=Name] a")).await;
    let expected = plugins.instances(&plugin_system::InstanceQuery {
        sort: plugin_system::InstanceSort::Name,
        descending: true,
        limit: 1,
        ..Default::default()
    });
    assert_eq!(first, expected.rows[0].meta.name);

    // A phone's width: nothing scrolls sideways.
    client.set_window_size(390, 844).await.unwrap();
    let edit = id_of(&plugins, "PayPal sandbox");
    for (name, path) in [
        ("types", "/admin".to_owned()),
        ("items", "/admin/items?hidden=1".to_owned()),
        ("instances", "/admin/instances".to_owned()),
        ("new", "/admin/new".to_owned()),
        (
            "create",
            "/admin/new/item?item=payment_gateway/stripe".to_owned(),
        ),
        ("edit", format!("/admin/instances/{edit}/edit")),
        ("audit", "/admin/audit".to_owned()),
        ("tenants", "/admin/tenants?tenant=acme".to_owned()),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        text_of(&client, Locator::Css("main h1")).await;
        screenshot(&client, &format!("narrow-390px-{name}")).await;
        let wide = scrolls_sideways(&client).await;
        assert!(
            wide.is_empty(),
            "{path} scrolls sideways at 390 px: {wide:?}"
        );
    }
    // An action's result fits too: PayPal's check, on the edit page last visited.
    client
        .goto(&format!("{base}/admin/instances/{edit}/edit"))
        .await
        .unwrap();
    click(&client, "form[action$='/actions/check_connection'] button").await;
    let result = text_of(&client, Locator::Id("action-result")).await;
    assert!(
        result.contains("connected to api-m.sandbox.paypal.com as client demo-client"),
        "{result}"
    );
    screenshot(&client, "narrow-390px-edit-action").await;
    let wide = scrolls_sideways(&client).await;
    assert!(
        wide.is_empty(),
        "an action's result scrolls sideways: {wide:?}"
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_sees_a_file_managed_instance_read_only_and_releases_it() {
    let Some((_driver, driver_port)) = start_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (plugins, base) = start_shop(dir.path()).await;
    // The seeded Stripe instance, taken over by a declared file that reads its key from the
    // environment.
    let stripe = id_of(&plugins, "Stripe (test mode)");
    let item = plugins.instance(stripe).unwrap().meta.item.to_string();
    let path = dir.path().join("plugins.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[instance]]
item = "{item}"
name = "Stripe (test mode)"
description = "Cards; declared in plugins.toml"
[instance.config]
api_key = {{ env = "STRIPE_KEY" }}
currency = "eur"
"#
        ),
    )
    .unwrap();
    let file = plugins.read_file(&path).unwrap();
    plugins.apply_file(&file, false).unwrap();
    let client = browser(driver_port).await;
    log_in(&client, &base).await;

    // The list names the file; the row offers no edit.
    let list = format!("{base}/admin/instances");
    client.goto(&list).await.unwrap();
    let row = format!("tr[data-id='{stripe}']");
    let text = text_of(&client, Locator::Css(&row)).await;
    assert!(text.contains("managed by plugins.toml"), "{text}");
    for control in [
        "input[type=checkbox]",
        "select",
        "input[type=number]",
        "button",
    ] {
        let element = client
            .find(Locator::Css(&format!("{row} {control}")))
            .await
            .unwrap();
        assert!(!element.is_enabled().await.unwrap(), "{control} is enabled");
    }
    client.set_window_size(1280, 1300).await.unwrap();
    screenshot(&client, "admin-list-managed").await;
    client.set_window_size(1280, 1000).await.unwrap();

    // Its edit page: read-only under the notice, the key shown by the variable it names.
    let edit = format!("{base}/admin/instances/{stripe}/edit");
    client.goto(&edit).await.unwrap();
    let notice = text_of(&client, Locator::Id("managed")).await;
    assert!(
        notice.contains("Managed by the file plugins.toml: change it there and apply the file."),
        "{notice}"
    );
    let key = client
        .find(Locator::Css("input[name='config.api_key']"))
        .await
        .unwrap();
    assert!(!key.is_enabled().await.unwrap(), "the key input is enabled");
    assert_eq!(
        key.attr("placeholder").await.unwrap().as_deref(),
        Some("from env STRIPE_KEY")
    );
    assert!(
        client
            .find_all(Locator::Css("button.primary"))
            .await
            .unwrap()
            .is_empty(),
        "a Save button"
    );
    let html = client.source().await.unwrap();
    assert!(!html.contains("sk_test_demo"), "the old key is shown");
    // Tall enough to show the notice and the configuration with its key's reference.
    client.set_window_size(1280, 1500).await.unwrap();
    screenshot(&client, "admin-managed-instance").await;
    client.set_window_size(1280, 1000).await.unwrap();

    // Both fit a phone's width.
    client.set_window_size(390, 844).await.unwrap();
    for (name, page) in [("managed-instance", &edit), ("list-managed", &list)] {
        client.goto(page).await.unwrap();
        text_of(&client, Locator::Css("main h1")).await;
        if name == "list-managed" {
            // Its row, not the first ones.
            let script = format!("document.querySelector(\"{row}\").scrollIntoView();");
            client.execute(&script, vec![]).await.unwrap();
        }
        screenshot(&client, &format!("narrow-390px-{name}")).await;
        let wide = scrolls_sideways(&client).await;
        assert!(
            wide.is_empty(),
            "{page} scrolls sideways at 390 px: {wide:?}"
        );
    }
    client.set_window_size(1280, 1000).await.unwrap();

    // Released: editable again, the key still a reference.
    client.goto(&edit).await.unwrap();
    mark_page(&client).await;
    click(&client, "#release button").await;
    new_page(&client).await;
    let flash = text_of(&client, Locator::Css(".flash-done")).await;
    assert!(
        flash.contains("Released “Stripe (test mode)” from the file plugins.toml"),
        "{flash}"
    );
    assert_eq!(plugins.instance(stripe).unwrap().managed_by, None);
    let key = client
        .find(Locator::Css("#instance-form input[name='config.api_key']"))
        .await
        .unwrap();
    assert!(key.is_enabled().await.unwrap(), "the key input is disabled");
    screenshot(&client, "admin-managed-released").await;
    client.close().await.unwrap();
}
