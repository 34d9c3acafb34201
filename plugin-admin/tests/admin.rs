//! The admin over HTTP (the router, driven request by request): authentication, CSRF, the
//! create wizard with field errors, edits that keep secrets, bulk actions, escaping.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Client as Admin_, PaymentGateway, SECRET, STRIPE, encode};
use plugin_admin::{Admin, Auth};
use plugin_system::prelude::*;
use plugin_system::{InstanceId, Key};
use tower::ServiceExt;

#[tokio::test]
async fn every_page_needs_a_login_and_every_write_a_csrf_token() {
    let admin = Admin_::new();
    for path in [
        "/admin",
        "/admin/items",
        "/admin/instances",
        "/admin/new",
        "/admin/audit",
        "/admin/tenants?tenant=acme",
    ] {
        let reply = admin.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location.as_deref(), Some("/admin/login"), "{path}");
    }
    let id = InstanceId::new().to_string();
    let writes = [
        "/admin/instances/bulk".to_owned(),
        format!("/admin/instances/{id}/quick"),
        format!("/admin/instances/{id}/edit"),
        format!("/admin/instances/{id}/delete"),
        format!("/admin/instances/{id}/actions/check_connection"),
        format!("/admin/instances/{id}/release"),
        "/admin/tenants/switch".to_owned(),
        format!("/admin/new/item?item={}", encode(STRIPE)),
        "/admin/logout".to_owned(),
    ];
    for path in &writes {
        let reply = admin.post(path, &[("csrf", "x")]).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "unauthenticated {path}"
        );
    }

    // A wrong token is refused; the right one opens a session.
    let wrong = admin.post("/admin/login", &[("token", "guess")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let admin = Admin_::logged_in().await;
    let cookie = admin.cookie.clone().unwrap();
    assert!(cookie.starts_with("plugin_admin="), "{cookie}");
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);

    // Logged in, but without the form's token: refused.
    for path in &writes {
        for form in [vec![], vec![("csrf", "forged")]] {
            let reply = admin.post(path, &form).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {form:?}");
        }
    }

    // Logging out ends the session: the old cookie no longer opens a page.
    let out = admin.submit("/admin/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/admin/login"));
    assert!(out.cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(admin.get("/admin").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_application_can_bring_its_own_check() {
    let plugins = Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let auth = Auth::custom(|headers| {
        let user = headers.get("x-user")?.to_str().ok()?;
        (user == "ada").then(|| user.to_owned())
    });
    let app = Admin::new(plugins, auth).router();
    let request = |user: Option<&str>| {
        let mut request = Request::get("/instances");
        if let Some(user) = user {
            request = request.header("x-user", user);
        }
        request.body(Body::empty()).unwrap()
    };
    let refused = app.clone().oneshot(request(None)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let other = app.clone().oneshot(request(Some("mallory"))).await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    let ada = app.oneshot(request(Some("ada"))).await.unwrap();
    assert_eq!(ada.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_create_wizard_shows_field_errors_then_creates() {
    let admin = Admin_::logged_in().await;
    let pick = admin.get("/admin/new").await;
    assert!(pick.body.contains("stripe"), "{}", pick.body);
    let form = admin
        .get(&format!("/admin/new/item?item={}", encode(STRIPE)))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="config.api_key""#));
    assert!(form.body.contains(r#"type="password""#));

    // One invalid field: the form comes back with the error beside it, and no secret.
    let invalid = admin.create_stripe("Stripe live", "short").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        invalid.body.contains("must be at least 8 characters long"),
        "{}",
        invalid.body
    );
    assert!(
        invalid.body.contains(r#"value="Stripe live""#),
        "the name is kept"
    );
    assert!(
        !invalid.body.contains("short\""),
        "a typed secret is not sent back"
    );
    assert!(
        admin
            .plugins
            .get::<dyn PaymentGateway>()
            .unwrap()
            .meta()
            .name
            == "cash"
    );

    // Fixed: created, and the application serves it at once.
    let created = admin.create_stripe("Stripe live", SECRET).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let gateway = admin.plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(gateway.meta().name, "Stripe live");
    assert_eq!(gateway.charge(5), "stripe:5:usd");

    // A taken name is a form error, not a server error.
    let duplicate = admin.create_stripe("Stripe live", SECRET).await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("already"), "{}", duplicate.body);
}

#[tokio::test]
async fn secrets_never_reach_a_page_and_a_blank_secret_keeps_the_stored_one() {
    let admin = Admin_::logged_in().await;
    admin.create_stripe("Stripe live", SECRET).await;
    let id = admin.plugins.get::<dyn PaymentGateway>().unwrap().meta().id;
    let edit_path = format!("/admin/instances/{id}/edit");
    for path in [
        "/admin",
        "/admin/instances",
        "/admin/audit",
        edit_path.as_str(),
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("TOPSECRET"), "{path} shows the secret");
    }
    let saved = admin
        .submit(
            &edit_path,
            &[
                ("version", "1"),
                ("instance_name", "Stripe EU"),
                ("instance_description", "renamed"),
                ("instance_status", "active"),
                ("instance_priority", "10"),
                ("config.api_key", ""),
                ("config.endpoint", "https://api.stripe.com"),
                ("config.currency", "eur"),
                ("config.timeout_secs", "60"),
                ("config.sandbox", "false"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let values = admin.plugins.config_values(id).unwrap().unwrap();
    assert_eq!(values["api_key"], SECRET, "blank kept the stored secret");
    assert_eq!(values["timeout_secs"], 60);

    // Saving from a page opened before that edit is a conflict, not a lost update.
    let stale = admin
        .submit(
            &edit_path,
            &[
                ("version", "1"),
                ("instance_name", "Stale"),
                ("instance_status", "active"),
                ("instance_priority", "10"),
                ("config.endpoint", "https://api.stripe.com"),
                ("config.currency", "eur"),
                ("config.timeout_secs", "30"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body.contains("someone changed this instance"),
        "{}",
        stale.body
    );
    assert_eq!(admin.plugins.instance(id).unwrap().meta.name, "Stripe EU");
}

#[tokio::test]
async fn bulk_actions_and_inline_edits_change_what_the_application_serves() {
    let admin = Admin_::logged_in().await;
    admin.create_stripe("Stripe live", SECRET).await;
    let stripe = admin
        .plugins
        .get::<dyn PaymentGateway>()
        .unwrap()
        .meta()
        .clone();
    let id = stripe.id.to_string();
    let disabled = admin
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", &id)],
        )
        .await;
    assert!(
        admin
            .follow(&disabled)
            .await
            .body
            .contains("1 instance(s) changed."),
        "a notice"
    );
    assert_eq!(
        admin
            .plugins
            .get::<dyn PaymentGateway>()
            .unwrap()
            .meta()
            .name,
        "cash"
    );

    let version = admin
        .plugins
        .instance(stripe.id)
        .unwrap()
        .meta
        .version
        .to_string();
    let quick = admin
        .submit(
            &format!("/admin/instances/{id}/quick"),
            &[
                ("version", &version),
                ("status", "active"),
                ("priority", "1"),
            ],
        )
        .await;
    assert_eq!(quick.status, StatusCode::SEE_OTHER);
    let served = admin.plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(
        (served.meta().name.as_str(), served.meta().priority),
        ("Stripe live", 1)
    );

    let audit = admin.get("/admin/audit").await;
    assert!(
        audit.body.contains("admin:operator"),
        "writes are audited as the admin's user"
    );
    let list = admin.get("/admin/instances?status=active").await;
    assert!(
        list.body.contains("Stripe live") && list.body.contains(">yes<"),
        "{}",
        list.body
    );
    let types = admin.get("/admin").await;
    assert!(
        types.body.contains(
            r#"<td data-label="Active">2</td><td data-label="Reserved">0</td><td data-label="Disabled">0</td>"#
        ),
        "counts: {}",
        types.body
    );
}

#[tokio::test]
async fn markup_in_names_is_shown_as_text() {
    let admin = Admin_::logged_in().await;
    let hostile = "<script>alert(1)</script>";
    let created = admin.create_stripe(hostile, SECRET).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let list = admin.get("/admin/instances").await;
    assert!(list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!list.body.contains(hostile));
    let notice = admin
        .get("/admin/instances?notice=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
        .await;
    assert!(!notice.body.contains("<img"), "{}", notice.body);
}

#[tokio::test]
async fn hostile_form_input_and_malformed_ids_get_clear_answers() {
    let admin = Admin_::logged_in().await;
    for (name, expected) in [
        ("nul\u{0}byte", "control characters"),
        (&"x".repeat(201)[..], "longer than 200 characters"),
        ("", "must not be empty"),
    ] {
        let reply = admin.create_stripe(name, SECRET).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(reply.body.contains(expected), "{name:?}: {}", reply.body);
        assert!(!reply.body.contains("TOPSECRET"));
    }
    assert!(
        admin.plugins.instances(&Default::default()).total == 1,
        "only cash's default"
    );

    for path in [
        "/admin/instances/not-an-id/edit",
        "/admin/instances/%27%20OR%201=1/edit",
    ] {
        let reply = admin.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            reply.body.contains("not a valid plugin instance id"),
            "{}",
            reply.body
        );
    }
    let unknown = admin
        .get(&format!("/admin/instances/{}/edit", InstanceId::new()))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_item = admin.get("/admin/new/item?item=nonsense").await;
    assert_eq!(bad_item.status, StatusCode::BAD_REQUEST);
    let bulk = admin
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", "junk")],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::BAD_REQUEST);
}
