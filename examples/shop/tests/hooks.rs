//! The demo's customer e-mails (issue 13): one instance answers the registration and the
//! order hooks, renders through the template renderer it needs, and sends through an SMTP
//! pool it opens when it starts and closes when it stops.

use std::time::Duration;

use plugin_system::prelude::*;
use plugin_system::{InstanceUpdate, Key};
use shop_contracts::{Order, OrderConfirmed, UserRegistered};

fn seeded() -> (tempfile::TempDir, Plugins) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let plugins = Plugins::builder()
        .database_url(url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    shop::seed_demo_instances(&plugins).unwrap();
    (dir, plugins)
}

fn only<T>(mut outcomes: Vec<plugin_system::Outcome<String, T>>) -> String
where
    T: std::fmt::Debug,
{
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let outcome = outcomes.remove(0);
    assert_eq!(outcome.meta.name, "Customer e-mails");
    match outcome.result {
        Ok(sent) => sent,
        Err(failure) => panic!("{failure:?}"),
    }
}

#[test]
fn one_instance_answers_both_hooks_through_the_renderer_it_needs_and_its_pool() {
    let (_dir, plugins) = seeded();
    let welcome = only(
        plugins.each::<dyn UserRegistered, _, _>(|hook| hook.user_registered("ada@example.com")),
    );
    assert_eq!(
        welcome,
        "e-mail #1 via smtp.example.com to ada@example.com: Welcome to the shop, ada@example.com! (The demo shop)"
    );
    let order = Order {
        id: 1001,
        amount_cents: 4200,
    };
    let confirmed =
        only(plugins.each::<dyn OrderConfirmed, _, _>(|hook| {
            hook.order_confirmed(&order, "ada@example.com")
        }));
    // The same object (its pool counts both e-mails).
    assert_eq!(
        confirmed,
        "e-mail #2 via smtp.example.com to ada@example.com: Order 1001 is paid: thank you, ada@example.com. (The demo shop)"
    );

    // The renderer's config changes: the e-mails are rebuilt with the new one (and a new pool).
    let templates = plugins
        .active::<dyn shop_contracts::TemplateRenderer>()
        .remove(0);
    let update = InstanceUpdate {
        config: Some(
            shop_notifiers::TemplatesConfig {
                signature: "Shop team".into(),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    plugins
        .update_instance(templates.meta().id, templates.meta().version, update)
        .unwrap();
    let welcome = only(
        plugins.each::<dyn UserRegistered, _, _>(|hook| hook.user_registered("bob@example.com")),
    );
    assert!(welcome.starts_with("e-mail #1 "), "{welcome}");
    assert!(welcome.ends_with("(Shop team)"), "{welcome}");

    // Shutdown closes the pool: a handle kept past it can no longer send.
    let kept = plugins.get::<dyn UserRegistered>().unwrap();
    let report = plugins.shutdown(Duration::from_millis(100));
    assert!(report.unfinished.is_empty(), "{report:?}");
    let err = kept.user_registered("eve@example.com").unwrap_err();
    assert_eq!(err.to_string(), "the SMTP pool is closed");
}
