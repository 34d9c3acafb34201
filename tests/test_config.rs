//! `#[derive(PluginConfig)]` through the facade: the DESIGN §4 `StripeConfig`, forms, stored
//! rows, JSON Schema, and secrets kept out of `Debug`.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use plugin_system::config::{ConfigValues, FieldKind, FormData};
use plugin_system::prelude::*;
use plugin_system::{Error, InstanceUpdate, Key};
use serde_json::{Value, json};

/// Stripe settings.
#[derive(PluginConfig, Clone, PartialEq)]
pub struct StripeConfig {
    /// Secret API key.
    #[config(secret, min_length = 8)]
    pub api_key: String,
    #[config(default = 30, min = 1, max = 300, alias = "timeout")]
    pub timeout_secs: u32,
    #[config(url, default = "https://api.stripe.com")]
    pub endpoint: String,
    #[config(choices("usd", "eur"))]
    pub currency: String,
    pub sandbox: bool,
    pub webhook: Option<String>,
}

fn values(value: Value) -> ConfigValues {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn stripe() -> StripeConfig {
    StripeConfig {
        api_key: "sk_live_12345678".into(),
        timeout_secs: 45,
        endpoint: "https://eu.stripe.example".into(),
        currency: "eur".into(),
        sandbox: true,
        webhook: None,
    }
}

#[test]
fn round_trip_through_stored_values() {
    let config = stripe();
    let stored = config.to_values();
    assert_eq!(
        Value::Object(stored.clone()),
        json!({
            "api_key": "sk_live_12345678", "timeout_secs": 45,
            "endpoint": "https://eu.stripe.example", "currency": "eur",
            "sandbox": true, "webhook": null
        })
    );
    assert_eq!(StripeConfig::from_values(&stored), Ok(config));
}

#[test]
fn defaults_fill_missing_fields() {
    let config = StripeConfig::from_values(&values(json!({
        "api_key": "sk_test_abcdefgh", "currency": "usd"
    })));
    assert_eq!(
        config,
        Ok(StripeConfig {
            api_key: "sk_test_abcdefgh".into(),
            timeout_secs: 30,
            endpoint: "https://api.stripe.com".into(),
            currency: "usd".into(),
            sandbox: false,
            webhook: None,
        })
    );
}

#[test]
fn an_alias_reads_an_old_row() {
    let old_row = values(json!({"api_key": "sk_test_abcdefgh", "currency": "usd", "timeout": 90}));
    let config = StripeConfig::from_values(&old_row).map(|config| config.timeout_secs);
    assert_eq!(config, Ok(90));
}

#[test]
fn a_form_round_trip() {
    let form = FormData::from_pairs([
        ("api_key", "sk_test_abcdefgh"),
        ("timeout_secs", "12"),
        ("endpoint", ""),
        ("currency", "usd"),
        ("sandbox", "on"),
        ("webhook", " https://shop.example/hook "),
    ]);
    let config = StripeConfig::from_form(&form);
    assert_eq!(
        config,
        Ok(StripeConfig {
            api_key: "sk_test_abcdefgh".into(),
            timeout_secs: 12,
            endpoint: "https://api.stripe.com".into(),
            currency: "usd".into(),
            sandbox: true,
            webhook: Some("https://shop.example/hook".into()),
        })
    );
}

#[test]
fn a_form_with_three_bad_fields_gives_three_errors() {
    let form = FormData::from_pairs([
        ("api_key", "short"),
        ("timeout_secs", "ten"),
        ("endpoint", "https://api.stripe.com"),
        ("currency", "gbp"),
    ]);
    let errors = StripeConfig::from_form(&form).expect_err("three fields are wrong");
    let got: Vec<(&str, &str)> = errors
        .errors()
        .iter()
        .map(|error| (error.field.as_str(), error.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("api_key", "must be at least 8 characters long"),
            ("timeout_secs", "enter a whole number (got \"ten\")"),
            ("currency", "must be one of \"usd\", \"eur\""),
        ]
    );
    let shown = errors.to_string();
    assert!(
        shown.starts_with("api_key: must be at least 8 characters long; timeout_secs: "),
        "{shown}"
    );
    assert!(
        !shown.contains("short"),
        "error messages must not echo a secret: {shown}"
    );
}

#[test]
fn a_stored_value_out_of_the_rust_range_is_a_field_error() {
    let row = values(json!({
        "api_key": "sk_test_abcdefgh", "currency": "usd", "timeout_secs": -1, "sandbox": "yes"
    }));
    let errors = StripeConfig::from_values(&row).expect_err("two fields are wrong");
    let got: Vec<String> = errors.into_iter().map(|error| error.to_string()).collect();
    assert_eq!(
        got,
        [
            "timeout_secs: -1 is out of range: must be between 0 and 4294967295",
            "sandbox: expected true or false, found text",
        ]
    );
}

#[test]
fn the_schema_describes_each_field() {
    let schema = StripeConfig::schema();
    assert_eq!(schema.name, "StripeConfig");
    assert_eq!(schema.description, "Stripe settings.");
    let api_key = &schema.fields[0];
    assert_eq!(
        (api_key.name, api_key.label, api_key.help),
        ("api_key", "Api key", "Secret API key.")
    );
    assert_eq!(api_key.kind, FieldKind::Secret);
    assert!(api_key.required);
    assert_eq!(schema.fields[1].aliases, ["timeout"]);
    assert_eq!(schema.fields[3].kind, FieldKind::Choice(&["usd", "eur"]));
    assert!(!schema.fields[4].required && schema.fields[5].optional);
    assert_eq!(StripeConfig::secret_fields(), ["api_key"]);
}

#[test]
fn json_schema_field_by_field() {
    let schema = StripeConfig::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["title"], "StripeConfig");
    assert_eq!(schema["description"], "Stripe settings.");
    assert_eq!(schema["required"], json!(["api_key", "currency"]));
    let props = &schema["properties"];
    assert_eq!(
        props["api_key"],
        json!({"type": "string", "title": "Api key", "description": "Secret API key.",
               "minLength": 8, "writeOnly": true})
    );
    assert_eq!(
        props["timeout_secs"],
        json!({"type": "integer", "title": "Timeout secs", "default": 30,
               "minimum": 1, "maximum": 300, "x-aliases": ["timeout"]})
    );
    assert_eq!(
        props["endpoint"],
        json!({"type": "string", "title": "Endpoint", "default": "https://api.stripe.com",
               "format": "uri"})
    );
    assert_eq!(
        props["currency"],
        json!({"type": "string", "title": "Currency", "enum": ["usd", "eur"]})
    );
    assert_eq!(
        props["sandbox"],
        json!({"type": "boolean", "title": "Sandbox"})
    );
    assert_eq!(
        props["webhook"],
        json!({"type": ["string", "null"], "title": "Webhook"})
    );
    assert_eq!(props.as_object().map(|props| props.len()), Some(6));
}

#[test]
fn debug_and_redacted_values_hide_the_secret() {
    let config = stripe();
    let shown = format!("{config:?}");
    assert!(!shown.contains("sk_live"), "{shown}");
    assert_eq!(
        shown,
        "StripeConfig { api_key: \"***\", timeout_secs: 45, endpoint: \"https://eu.stripe.example\", \
         currency: \"eur\", sandbox: true, webhook: None }"
    );
    assert_eq!(config.redacted_values()["api_key"], "***");
    assert_eq!(config.redacted_values()["timeout_secs"], 45);
}

#[test]
fn validate_catches_values_set_in_code() {
    let mut config = stripe();
    assert_eq!(config.validate(), Ok(()));
    config.timeout_secs = 0;
    config.endpoint = "ftp://files.example".into();
    config.currency = "gbp".into();
    let errors = config.validate().expect_err("three constraints are broken");
    let fields: Vec<&str> = errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    assert_eq!(fields, ["timeout_secs", "endpoint", "currency"]);
}

/// Every attribute and field type together, including a facade path override.
mod kitchen_sink {
    use plugin_system as renamed;
    use plugin_system::PluginConfig;
    use serde_json::json;

    #[derive(PluginConfig)]
    #[config(crate = renamed)]
    pub struct Everything {
        #[config(email, label = "Contact", help = "Where alerts go.")]
        pub contact: Option<String>,
        #[config(pattern = "^[A-Z]{3}$", default = "ABC", max_length = 3)]
        pub code: String,
        #[config(min = -1.5, max = 2.5, default = 0.5)]
        pub ratio: f64,
        #[config(min = -10, default = -3)]
        pub offset: i8,
        #[config(default = ["a", "b"])]
        pub tags: Vec<String>,
        #[config(default = true)]
        pub enabled: bool,
        pub big: Option<u64>,
        pub r#type: Option<f32>,
    }

    #[test]
    fn defaults_and_constraints() {
        let config = Everything::from_values(&serde_json::Map::new());
        let config = config.map(|c| (c.code, c.ratio, c.offset, c.tags, c.enabled, c.r#type));
        assert_eq!(
            config,
            Ok((
                "ABC".into(),
                0.5,
                -3,
                vec!["a".into(), "b".into()],
                true,
                None
            ))
        );
        let schema = Everything::schema();
        assert_eq!(schema.fields[0].label, "Contact");
        assert_eq!(schema.fields[0].help, "Where alerts go.");
        assert_eq!(schema.fields[7].name, "type");

        let bad =
            json!({"contact": "nobody", "code": "abc", "ratio": 3, "offset": -11, "type": "x"});
        let errors = Everything::from_values(bad.as_object().unwrap_or(&serde_json::Map::new()));
        let fields: Vec<String> = errors
            .err()
            .into_iter()
            .flatten()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["contact", "code", "ratio", "offset", "type"]);
    }
}

#[plugin_type(name = "counter")]
pub trait Counter {
    fn count(&self) -> u32;
}

#[derive(PluginConfig, Clone)]
pub struct CounterConfig {
    #[config(default = 1, min = 0)]
    pub count: u32,
    #[config(default = "tally")]
    pub label: String,
}

pub struct Tally(CounterConfig);

impl From<CounterConfig> for Tally {
    fn from(config: CounterConfig) -> Self {
        Tally(config)
    }
}

#[plugin_item(name = "tally", config = CounterConfig)]
impl Counter for Tally {
    fn count(&self) -> u32 {
        self.0.count
    }
}

/// A misspelled key (`"Count": 3`) used to be stored and the field silently kept its default.
/// Every write path refuses it, with the message `--set` gives: the key, a did-you-mean, the
/// fields.
#[test]
fn a_misspelled_config_key_is_refused_on_create_and_on_update() {
    let plugins = Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let misspelled = values(json!({"Count": 3}));
    let err = plugins
        .create_instance(
            NewInstance::of::<dyn Counter>("tally", "Tally").config_values(misspelled.clone()),
        )
        .unwrap_err();
    let Error::InvalidConfig { errors, .. } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    let error = &errors.errors()[0];
    assert_eq!(error.field, "Count");
    assert_eq!(
        error.message,
        "unknown field `Count`; did you mean `count`? the fields are: count, label"
    );
    assert_eq!(
        plugins.instances(&Default::default()).total,
        0,
        "nothing stored"
    );

    let created = plugins
        .create_instance(
            NewInstance::of::<dyn Counter>("tally", "Tally")
                .config_values(values(json!({"count": 3}))),
        )
        .unwrap();
    let update = InstanceUpdate {
        config: Some(misspelled),
        ..InstanceUpdate::default()
    };
    let err = plugins
        .update_instance(created.id, created.version, update)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert_eq!(
        plugins.get::<dyn Counter>().unwrap().count(),
        3,
        "the stored config stays"
    );
}

/// What `fn main() -> Result<(), plugin_system::Error>` prints when the key is missing: Rust
/// prints `Error: {:?}`, which used to be `Error: Crypto(MissingKey { hint: ".." })`. It must
/// be the helpful text: which variable to set, and how to make a key.
#[test]
fn a_main_without_a_key_prints_what_to_do() {
    let err = Plugins::builder()
        .key_from_env("PLUGIN_SYSTEM_TEST_KEY_NEVER_SET")
        .no_watch()
        .build()
        .unwrap_err();
    let printed = format!("Error: {err:?}");
    assert_eq!(
        printed,
        "Error: no encryption key: configurable plugin items store encrypted configs; set the \
         environment variable PLUGIN_SYSTEM_TEST_KEY_NEVER_SET to a base64 32-byte key \
         (generate one with `Key::generate().to_base64()` or `plugins keys generate`)"
    );
}
