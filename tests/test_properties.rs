//! Hostile input, generated: arbitrary form data through `from_form` and `values_from_form`,
//! arbitrary bytes through the envelope decoder. Each gives a value or an error, never a
//! panic. Case counts: 4,000 per property (`CASES`).

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use plugin_system::config::{ConfigValues, FormData, validate_values, values_from_form};
use plugin_system::prelude::*;
use plugin_system::{InstanceId, Key, PluginConfig};
use proptest::prelude::*;

/// Every field kind and constraint the derive supports.
#[derive(PluginConfig, Clone)]
pub struct Everything {
    #[config(secret, min_length = 8, max_length = 64)]
    pub api_key: String,
    #[config(url, default = "https://example.com")]
    pub endpoint: String,
    #[config(email)]
    pub contact: Option<String>,
    #[config(default = 30, min = 1, max = 300)]
    pub timeout_secs: u32,
    #[config(min = -1.5, max = 99.5)]
    pub ratio: Option<f64>,
    #[config(choices("eur", "usd"), default = "eur")]
    pub currency: String,
    #[config(pattern = "^[a-z]+$")]
    pub slug: String,
    pub sandbox: bool,
    pub tags: Vec<String>,
    pub retries: i8,
}

const CASES: u32 = 4000;

const FIELDS: [&str; 10] = [
    "api_key",
    "endpoint",
    "contact",
    "timeout_secs",
    "ratio",
    "currency",
    "slug",
    "sandbox",
    "tags",
    "retries",
];

/// Keys that mostly name real fields, values of any text (markup, NUL, huge numbers...).
fn form_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        4 => proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let value = prop_oneof![
        any::<String>(),
        "-?[0-9]{1,40}(\\.[0-9]{0,5})?",
        proptest::sample::select(vec![
            "", "on", "true", "false", "eur", "NaN", "inf", "1e400"
        ])
        .prop_map(str::to_owned),
    ];
    proptest::collection::vec((key, value), 0..24)
}

/// Found by the property below: the schema (the admin's and the CLI's check) accepted 200 for
/// an `i8` field, whose typed config then failed to build. The schema now holds the type's range.
#[test]
fn the_schema_knows_the_range_of_the_rust_type() {
    let form = FormData::from_pairs([("api_key", "00.00000"), ("retries", "200"), ("slug", "on")]);
    let errors = values_from_form(Everything::schema(), &form).unwrap_err();
    let retries: Vec<_> = errors
        .for_field("retries")
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(retries, ["must be at most 127"], "{errors}");
    assert!(Everything::from_form(&form).is_err());
    let retries = Everything::schema().field("retries").unwrap();
    assert_eq!((retries.min, retries.max), (Some(-128.0), Some(127.0)));
    // A bound of its own that is tighter stays.
    let timeout = Everything::schema().field("timeout_secs").unwrap();
    assert_eq!((timeout.min, timeout.max), (Some(1.0), Some(300.0)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn from_form_gives_a_config_or_field_errors_never_a_panic(pairs in form_pairs()) {
        let form = FormData::from_pairs(pairs.clone());
        match Everything::from_form(&form) {
            Ok(config) => {
                // A config that parsed is valid, and survives a round trip.
                prop_assert!(config.validate().is_ok());
                let again = Everything::from_values(&config.to_values()).unwrap();
                prop_assert_eq!(again.to_values(), config.to_values());
            }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
        // The schema-only path (the admin's) agrees on success or failure.
        let by_schema = values_from_form(Everything::schema(), &form);
        prop_assert_eq!(by_schema.is_ok(), Everything::from_form(&form).is_ok());
    }

    #[test]
    fn stored_values_of_any_shape_give_a_config_or_errors(values in proptest::collection::btree_map(
        proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            proptest::collection::vec(any::<String>(), 0..3).prop_map(serde_json::Value::from),
        ],
        0..10,
    )) {
        let values: ConfigValues = values.into_iter().collect();
        let schema = <Everything as PluginConfig>::schema();
        // What the admin and the CLI check (the schema, without the Rust type) agrees with
        // what building the typed config accepts: a stored row that passes the one builds.
        let checked = validate_values(schema, &values);
        match Everything::from_values(&values) {
            Ok(config) => {
                prop_assert!(checked.is_ok(), "built, but the schema check refused: {checked:?}");
                prop_assert!(config.validate().is_ok());
                // What it stores reads back as the same config.
                let again = Everything::from_values(&config.to_values());
                prop_assert!(again.is_ok_and(|again| again.to_values() == config.to_values()));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(checked.is_err(), "the schema check passed what does not build: {errors}");
                for error in &errors {
                    prop_assert!(FIELDS.contains(&error.field.as_str()), "{error}");
                    prop_assert!(!error.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn the_envelope_decoder_refuses_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let keyring = Keyring::new(Key::generate());
        prop_assert!(keyring.open(InstanceId::new(), &bytes).is_err());
    }

    #[test]
    fn any_change_to_a_sealed_envelope_is_detected(
        plaintext in proptest::collection::vec(any::<u8>(), 0..128),
        position in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let keyring = Keyring::new(Key::generate());
        let id = InstanceId::new();
        let mut envelope = keyring.seal(id, &plaintext);
        prop_assert_eq!(&keyring.open(id, &envelope).unwrap()[..], &plaintext[..]);
        let at = position.index(envelope.len());
        envelope[at] ^= flip;
        prop_assert!(keyring.open(id, &envelope).is_err());
        // And truncation.
        prop_assert!(keyring.open(id, &envelope[..at]).is_err());
    }
}
