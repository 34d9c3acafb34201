//! The shop's plugin routes and storefront banners (issue 14): each Stripe instance receives
//! its own webhooks at its own path, gone once it is disabled; the banner an operator edits
//! shows on the next page.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plugin_system::admin::Auth;
use plugin_system::prelude::*;
use plugin_system::{InstanceQuery, InstanceUpdate, Key, Status};
use shop_contracts::PaymentGateway;
use tower::ServiceExt;

fn seeded() -> (tempfile::TempDir, Plugins, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let plugins = Plugins::builder()
        .database_url(url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    shop::seed_demo_instances(&plugins).unwrap();
    let app = shop::app(plugins.clone(), Auth::token("a-token-for-tests").unwrap());
    (dir, plugins, app)
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn id_of(plugins: &Plugins, name: &str) -> plugin_system::InstanceId {
    plugins
        .instances(&InstanceQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .rows
        .into_iter()
        .find(|row| row.meta.name == name)
        .unwrap()
        .meta
        .id
}

#[tokio::test]
async fn each_stripe_instance_receives_its_own_webhooks_until_it_is_disabled() {
    let (_dir, plugins, app) = seeded();
    let stripe = plugins.get::<dyn PaymentGateway>().unwrap().meta().clone();
    let path = format!("/plugins/payment_gateway/stripe/{}/webhook", stripe.id);
    let home = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert!(home.1.contains(&format!("POST {path}")), "{}", home.1);
    let webhook = || {
        Request::post(&path)
            .header("stripe-signature", "t=1,v1=demo")
            .body(Body::from("payment_intent.succeeded\n{}"))
            .unwrap()
    };
    assert_eq!(
        send(&app, webhook()).await,
        (
            StatusCode::OK,
            "received payment_intent.succeeded (test mode)".into()
        )
    );
    let unsigned = Request::post(&path).body(Body::from("x")).unwrap();
    assert_eq!(send(&app, unsigned).await.0, StatusCode::BAD_REQUEST);
    plugins.set_status(&[stripe.id], Status::Disabled).unwrap();
    assert_eq!(send(&app, webhook()).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_storefront_shows_the_banner_as_an_operator_last_edited_it() {
    let (_dir, plugins, app) = seeded();
    let page = || Request::get("/").body(Body::empty()).unwrap();
    let before = send(&app, page()).await.1;
    assert!(
        before.contains(
            r#"<p class="banner"><strong>Winter sale:</strong> 10% off every order this week.</p>"#
        ),
        "{before}"
    );
    let banner = id_of(&plugins, "Winter sale");
    let version = plugins.instance(banner).unwrap().meta.version;
    let update = InstanceUpdate {
        config: Some(
            shop_notifiers::AnnouncementConfig {
                headline: "Last day:".into(),
                text: "the sale ends tonight.".into(),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    plugins.update_instance(banner, version, update).unwrap();
    let after = send(&app, page()).await.1;
    assert!(
        after.contains("<strong>Last day:</strong> the sale ends tonight."),
        "{after}"
    );
    assert!(!after.contains("Winter sale:"), "{after}");
}
