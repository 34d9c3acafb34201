//! The demo shop: a small web shop whose payment gateways, notifiers and OTP providers are
//! plugins from three plugin crates, chosen by operators.
//!
//! `shop` (or `shop serve`) opens the database (`SHOP_DATABASE_URL`, default
//! `sqlite://shop.db`), migrates and syncs it, creates demo instances on the first run, and
//! serves the shop on `SHOP_BIND` (default `127.0.0.1:8000`). `shop plugins ...` is the
//! plugins CLI of this binary (`shop plugins --help`).
//!
//! The web admin is mounted at `/admin`; operators log in with the token in
//! `PLUGIN_ADMIN_TOKEN` (without it, the demo makes one up and prints it).
//!
//! Configs are encrypted with the keys in `PLUGIN_SYSTEM_KEY` (base64, comma-separated, the
//! current one first); without it the demo keeps a key of its own in `shop.key` (created on
//! the first run), which a real deployment would not do.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use clap::{Parser, Subcommand};
use maud::{DOCTYPE, Markup, html};
use plugin_system::admin::{Admin, Auth};
use plugin_system::cli::PluginsCli;
use plugin_system::prelude::*;
use plugin_system::web::{Fragments, PluginRoutes};
use plugin_system::{Failure, Key, NewInstance, PluginsBuilder, Status};
use shop_contracts::{
    Notifier, Order, OrderConfirmed, OtpSender, PaymentGateway, StorefrontBanner, TemplateRenderer,
    UserRegistered,
};
use shop_payments::StripeConfig;

// The plugin crates register their plugins only if the binary names them.
plugin_system::link!(shop_payments, shop_notifiers, shop_otp);

/// The demo shop.
#[derive(Debug, Parser)]
#[command(name = "shop", version)]
struct Shop {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the shop (the default).
    Serve {
        /// Where to listen.
        #[arg(long, env = "SHOP_BIND", default_value = "127.0.0.1:8000")]
        bind: SocketAddr,
    },
    /// Manage the shop's plugins: sync, list, create and edit instances, check, keys.
    Plugins(PluginsCli),
}

/// Runs the shop's command line.
pub fn main() -> ExitCode {
    let shop = Shop::parse();
    let builder = match builder() {
        Ok(builder) => builder,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    match shop.command {
        Some(Command::Plugins(cli)) => cli.run(builder),
        Some(Command::Serve { bind }) => serve(builder, bind),
        None => {
            let bind = std::env::var("SHOP_BIND")
                .ok()
                .and_then(|bind| bind.parse().ok())
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8000)));
            serve(builder, bind)
        }
    }
}

/// The database and keys of this shop.
fn builder() -> Result<PluginsBuilder, String> {
    let url = std::env::var("SHOP_DATABASE_URL").unwrap_or_else(|_| "sqlite://shop.db".into());
    let builder = Plugins::builder().database_url(url);
    if std::env::var_os("PLUGIN_SYSTEM_KEY").is_some() {
        return Ok(builder.key_from_env("PLUGIN_SYSTEM_KEY"));
    }
    Ok(builder.keyring(demo_keyring()?))
}

/// The demo's own key, kept in `shop.key` (readable by its owner only).
fn demo_keyring() -> Result<Keyring, String> {
    let path = std::env::var("SHOP_KEY_FILE").unwrap_or_else(|_| "shop.key".into());
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Keyring::from_base64_list(text.trim()).map_err(|err| format!("{path}: {err}"));
    }
    let key = Key::generate();
    write_private(&path, key.to_base64().as_bytes()).map_err(|err| format!("{path}: {err}"))?;
    eprintln!("shop: no PLUGIN_SYSTEM_KEY; created a demo key in {path}");
    Ok(Keyring::new(key))
}

fn write_private(path: &str, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

fn serve(builder: PluginsBuilder, bind: SocketAddr) -> ExitCode {
    // What the runtime and the admin log while serving (sync, load failures, failed admin
    // logins) goes to stderr, where an operator of the demo sees it. (The `plugins` commands
    // keep their one-line errors.)
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let plugins = match builder.build().and_then(|plugins| {
        seed_demo_instances(&plugins)?;
        Ok(plugins)
    }) {
        Ok(plugins) => plugins,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(run_server(plugins.clone(), bind));
    // Closes what the plugins opened (the customer e-mails' SMTP pool), dependents first.
    let report = plugins.shutdown(std::time::Duration::from_secs(5));
    if !report.is_clean() {
        eprintln!("shop: plugins still busy at shutdown: {report:?}");
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(plugins: Plugins, bind: SocketAddr) -> std::io::Result<()> {
    let (auth, token) = admin_auth()?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let address = listener.local_addr()?;
    println!("shop: serving on http://{address}/");
    println!("shop: plugins admin on http://{address}/admin (log in with {token})");
    println!("shop: or manage its plugins with `shop plugins --help`");
    // With each connection's address: the admin throttles failed logins per client.
    let service = app(plugins, auth).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// The admin's login: `PLUGIN_ADMIN_TOKEN`, or a token made up for this run (printed: this is
/// a demo). Returns how to describe the token on the console.
fn admin_auth() -> std::io::Result<(Auth, String)> {
    let to_io = |err: plugin_system::Error| std::io::Error::other(err.to_string());
    if std::env::var_os("PLUGIN_ADMIN_TOKEN").is_some() {
        let auth = Auth::token_from_env("PLUGIN_ADMIN_TOKEN").map_err(to_io)?;
        return Ok((auth, "the token in PLUGIN_ADMIN_TOKEN".into()));
    }
    let token = demo_token();
    Ok((
        Auth::token(token.clone()).map_err(to_io)?,
        format!("the token {token}"),
    ))
}

/// A random token for this run.
fn demo_token() -> String {
    Key::generate()
        .to_base64()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect()
}

/// The shop's routes, with the plugins admin at `/admin` and the payment gateways' own
/// routes (their webhooks) at `/plugins/payment_gateway/{item}/{instance id}/`.
pub fn app(plugins: Plugins, auth: Auth) -> Router {
    let admin = Admin::new(plugins.clone(), auth)
        .mounted_at("/admin")
        .router();
    let plugin_routes = PluginRoutes::new(plugins.clone())
        .serve::<dyn PaymentGateway>()
        .router();
    let state = ShopState {
        plugins,
        banners: Fragments::cached(),
    };
    Router::new()
        .route("/", get(home))
        .route("/checkout", post(checkout))
        .route("/register", post(register))
        .with_state(Arc::new(state))
        .nest("/admin", admin)
        .nest("/plugins", plugin_routes)
}

/// What the shop's pages read: the plugins, and the storefront banners' cache (one for the
/// life of the shop; an operator's edit shows on the next page).
struct ShopState {
    plugins: Plugins,
    banners: Fragments,
}

impl std::ops::Deref for ShopState {
    type Target = Plugins;

    fn deref(&self) -> &Plugins {
        &self.plugins
    }
}

/// On the first run, the instances an operator would create: Stripe (test mode) selected,
/// PayPal in reserve, a storefront banner, email updates, the customer e-mails (welcome and
/// order e-mails from one SMTP account), and two OTP providers, the first of them down.
pub fn seed_demo_instances(plugins: &Plugins) -> Result<(), plugin_system::Error> {
    let everything = plugin_system::InstanceQuery {
        limit: usize::MAX,
        ..Default::default()
    };
    let configured = plugins.instances(&everything).rows.iter().any(|row| {
        plugins
            .registry()
            .item(&row.meta.item)
            .is_ok_and(|item| item.is_configurable())
    });
    if configured {
        return Ok(());
    }
    let stripe = StripeConfig {
        api_key: "sk_test_demo_0123456789".into(),
        endpoint: "https://api.stripe.com".into(),
        currency: "eur".into(),
        timeout_secs: 30,
    };
    plugins.create_instance(
        NewInstance::of::<dyn PaymentGateway>("stripe", "Stripe (test mode)")
            .config(&stripe)
            .description("Cards; test key"),
    )?;
    plugins.create_instance(
        NewInstance::of::<dyn PaymentGateway>("paypal", "PayPal sandbox")
            .config(&shop_payments::PayPalConfig {
                client_id: "demo-client".into(),
                client_secret: "demo-secret-value".into(),
                sandbox: true,
            })
            .status(Status::Reserved),
    )?;
    plugins.create_instance(
        NewInstance::of::<dyn Notifier>("email", "Order emails").config(
            &shop_notifiers::EmailConfig {
                smtp_host: "smtp.example.com".into(),
                from: "orders@shop.example".into(),
                password: "demo-smtp-password".into(),
            },
        ),
    )?;
    plugins.create_instance(
        NewInstance::of::<dyn StorefrontBanner>("announcement", "Winter sale").config(
            &shop_notifiers::AnnouncementConfig {
                headline: "Winter sale:".into(),
                text: "10% off every order this week.".into(),
            },
        ),
    )?;
    plugins.create_instance(
        NewInstance::of::<dyn TemplateRenderer>("placeholders", "Shop templates").config(
            &shop_notifiers::TemplatesConfig {
                signature: "The demo shop".into(),
            },
        ),
    )?;
    plugins.create_instance(
        NewInstance::of::<dyn UserRegistered>("customer_emails", "Customer e-mails").config(
            &shop_notifiers::EmailConfig {
                smtp_host: "smtp.example.com".into(),
                from: "hello@shop.example".into(),
                password: "demo-smtp-password".into(),
            },
        ),
    )?;
    for (item, name, outage) in [
        ("twilio", "Twilio Verify", true),
        ("vonage", "Vonage Verify", false),
    ] {
        plugins.create_instance(NewInstance::of::<dyn OtpSender>(item, name).config(
            &shop_otp::ProviderConfig {
                account: format!("demo-{item}"),
                secret: format!("demo-{item}-secret"),
                simulate_outage: outage,
            },
        ))?;
    }
    Ok(())
}

type Shared = State<Arc<ShopState>>;

async fn home(State(plugins): Shared) -> Markup {
    let selected = plugins.get::<dyn PaymentGateway>();
    let notifiers = plugins.active::<dyn Notifier>();
    let banners = plugins.banners.render::<dyn StorefrontBanner, _, _>(
        &plugins.plugins,
        None,
        "storefront",
        |banner| banner.banner(),
    );
    page(html! {
        div #banners { (banners) }
        h2 { "Payment" }
        @match &selected {
            Ok(gateway) => {
                p #selected-gateway {
                    "Checkout pays with " strong { (gateway.meta().name) }
                    " (item " code { (gateway.meta().item.name) } ", priority " (gateway.meta().priority) ")."
                }
                p #webhook {
                    "Its webhooks: " code { "POST /plugins/payment_gateway/" (gateway.meta().item.name) "/" (gateway.meta().id) "/webhook" }
                }
            },
            Err(err) => p #selected-gateway { "No payment gateway: " (err) },
        }
        form method="post" action="/checkout" {
            button type="submit" { "Pay order #1001 (€42.00)" }
        }
        form method="post" action="/register" {
            button type="submit" { "Register as ada@example.com" }
        }
        p { a href="/admin" { "Plugins admin" } }
        h2 { "Order updates go to" }
        ul #notifiers {
            @for notifier in &notifiers {
                li { (notifier.meta().name) " (" (notifier.meta().item.name) ")" }
            }
        }
    })
}

async fn checkout(State(plugins): Shared) -> Markup {
    let order = Order {
        id: 1001,
        amount_cents: 4200,
    };
    let payment = plugins
        .get::<dyn PaymentGateway>()
        .map_err(|err| err.to_string())
        .and_then(|gateway| {
            let reference = gateway.charge(&order).map_err(|err| err.to_string())?;
            Ok((gateway.meta().name.clone(), reference))
        });
    let notified = plugins
        .each::<dyn Notifier, _, _>(|notifier| notifier.notify(CUSTOMER, "order 1001 is paid"));
    let confirmed = match &payment {
        Ok(_) => {
            plugins.each::<dyn OrderConfirmed, _, _>(|hook| hook.order_confirmed(&order, CUSTOMER))
        }
        Err(_) => Vec::new(),
    };
    let otp =
        plugins.first_ok::<dyn OtpSender, _, _>(|sender| sender.send_code("+15550100", "493817"));
    page(html! {
        h2 { "Order #1001" }
        @match &payment {
            Ok((gateway, reference)) => p #payment { "Paid with " strong { (gateway) } ": " code { (reference) } },
            Err(err) => p #payment { "Payment failed: " (err) },
        }
        h3 { "Notifications" }
        (outcomes(&notified))
        h3 { "Order confirmed" }
        (outcomes(&confirmed))
        h3 { "Sign-in code" }
        @match &otp {
            Ok(served) => {
                p #otp { "Sent by " strong { (served.plugin.meta().name) } ": " code { (served.value) } }
                @for attempt in &served.passed {
                    p { "Skipped " (attempt.meta.name) ": " (failure_text(&attempt.failure)) }
                }
            },
            Err(all) => p #otp { (all) },
        }
        p { a href="/" { "Back to the shop" } }
    })
}

/// The demo's one customer.
const CUSTOMER: &str = "ada@example.com";

/// A customer registers: every ACTIVE `user_registered` hook is told.
async fn register(State(plugins): Shared) -> Markup {
    let told = plugins.each::<dyn UserRegistered, _, _>(|hook| hook.user_registered(CUSTOMER));
    page(html! {
        h2 { "Welcome, " (CUSTOMER) }
        h3 { "Registration hooks" }
        (outcomes(&told))
        p { a href="/" { "Back to the shop" } }
    })
}

/// What each plugin called did, one per line.
fn outcomes(outcomes: &[plugin_system::Outcome<String, PluginError>]) -> Markup {
    html! {
        ul {
            @for outcome in outcomes {
                li {
                    (outcome.meta.name) ": "
                    @match &outcome.result {
                        Ok(reference) => (reference),
                        Err(failure) => (failure_text(failure)),
                    }
                }
            }
        }
    }
}

fn failure_text(failure: &Failure<PluginError>) -> String {
    failure.to_string()
}

fn page(body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Demo shop" }
            }
            body {
                h1 { "Demo shop" }
                (body)
            }
        }
    }
}
