//! Hostile input through the store, on every backend: markup, quotes, SQL, NUL bytes, very
//! long strings and malformed ids. Each is stored and read back exactly, or refused with a
//! typed error that names the field; nothing half-written.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "sqlite")]

mod support;

use plugin_system::config::ConfigValues;
use plugin_system::prelude::*;
use plugin_system::{Error, InstanceId, InstanceUpdate, Key, MAX_INSTANCE_NAME};
use support::TestDatabase;

#[plugin_type(name = "webhook")]
pub trait Webhook {
    fn target(&self) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct WebhookConfig {
    /// Any text: it goes to the remote end as it is.
    pub payload: String,
    #[config(secret)]
    pub signing_key: String,
}

pub struct Hook(WebhookConfig);

impl From<WebhookConfig> for Hook {
    fn from(config: WebhookConfig) -> Self {
        Hook(config)
    }
}

#[plugin_item(name = "hook", config = WebhookConfig)]
impl Webhook for Hook {
    fn target(&self) -> String {
        self.0.payload.clone()
    }
}

fn plugins(db: &TestDatabase) -> Plugins {
    Plugins::builder()
        .database_url(&db.url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap()
}

fn hook(name: &str, payload: &str) -> NewInstance {
    NewInstance::of::<dyn Webhook>("hook", name).config(&WebhookConfig {
        payload: payload.into(),
        signing_key: "k".into(),
    })
}

on_every_backend!(
    hostile_names_and_descriptions_are_stored_exactly,
    control_characters_and_overlong_values_are_refused_with_the_field,
    config_values_of_any_content_round_trip,
);

fn hostile_names_and_descriptions_are_stored_exactly(db: &TestDatabase) {
    let plugins = plugins(db);
    let names = [
        "<script>alert(1)</script>",
        "Robert'); DROP TABLE plugin_instances;--",
        r#""double" and 'single' quotes \ backslash"#,
        "Ünïcødé 名前 🚀 emoji",
        "%s %n {} $1 ${HOME}",
        &"x".repeat(MAX_INSTANCE_NAME),
    ];
    for name in names {
        let created = plugins
            .create_instance(hook(name, "p").description("line one\nline two\t<b>bold</b>"))
            .unwrap_or_else(|err| panic!("{name:?}: {err}"));
        let stored = plugins.instance(created.id).unwrap();
        assert_eq!(stored.meta.name, name);
        assert_eq!(stored.description, "line one\nline two\t<b>bold</b>");
    }
    // The tables are all still there, and hold exactly those rows.
    assert_eq!(plugins.instances(&Default::default()).total, names.len());
}

fn control_characters_and_overlong_values_are_refused_with_the_field(db: &TestDatabase) {
    let plugins = plugins(db);
    let refused = [
        (hook("nul\0byte", "p"), "name"),
        (hook(&"x".repeat(MAX_INSTANCE_NAME + 1), "p"), "name"),
        (hook(" padded", "p"), "name"),
        (hook("ok", "p").description("nul\0here"), "description"),
        (hook("ok", "p").description("y".repeat(2001)), "description"),
        (hook("ok", "p").scope("tenant\u{7}bell"), "scope"),
    ];
    for (new, field) in refused {
        let err = plugins.create_instance(new).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
    assert!(
        plugins.instances(&Default::default()).total == 0,
        "nothing written"
    );

    let created = plugins.create_instance(hook("ok", "p")).unwrap();
    let err = plugins
        .update_instance(
            created.id,
            created.version,
            InstanceUpdate {
                description: Some("\0".into()),
                ..InstanceUpdate::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "description",
                ..
            }
        ),
        "{err}"
    );

    // Malformed and unknown ids are typed errors on every path.
    for text in [
        "",
        "not-a-uuid",
        "01a20000-0000-0000-0000",
        "' OR 1=1 --",
        "\0",
    ] {
        let err = Error::from(text.parse::<InstanceId>().unwrap_err());
        assert!(matches!(err, Error::MalformedId(_)), "{text:?}: {err}");
    }
}

fn config_values_of_any_content_round_trip(db: &TestDatabase) {
    let plugins = plugins(db);
    // Configs are sealed before they reach the database: any content is bytes there.
    let payloads = [
        "nul\0inside".to_owned(),
        "'; DELETE FROM plugin_instances; --".to_owned(),
        "<img src=x onerror=alert(1)>".to_owned(),
        "z".repeat(100_000),
    ];
    for (index, payload) in payloads.iter().enumerate() {
        let created = plugins
            .create_instance(hook(&format!("hook {index}"), payload))
            .unwrap();
        let values: ConfigValues = plugins.config_values(created.id).unwrap().unwrap();
        assert_eq!(values["payload"].as_str(), Some(payload.as_str()));
        let served = plugins.get_by_id::<dyn Webhook>(created.id).unwrap();
        assert_eq!(&served.target(), payload);
    }
}
