//! Selection (DESIGN §8), through the facade, on the in-memory store: seed 000's table and the
//! rules around it.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use plugin_system::prelude::*;
use plugin_system::{Error, InstanceId, Key, PriorityChange, Status};

/// Payment gateways: every item is configurable, so no default instance interferes.
#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    #[config(secret, min_length = 8)]
    pub api_key: String,
    #[config(choices("usd", "eur"), default = "usd")]
    pub currency: String,
}

pub struct Stripe {
    config: StripeConfig,
}

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe { config }
    }
}

#[plugin_item(name = "stripe", config = StripeConfig, priority = 10)]
impl PaymentGateway for Stripe {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!(
            "{}:{amount}:{}",
            self.config.api_key, self.config.currency
        ))
    }
}

#[derive(PluginConfig, Clone)]
pub struct FlakyConfig {
    /// How the constructor misbehaves: "ok", "error" or "panic".
    #[config(choices("ok", "error", "panic"))]
    pub mode: String,
}

pub struct Flaky;

static FLAKY_BUILDS: AtomicUsize = AtomicUsize::new(0);

impl FromConfig<FlakyConfig> for Flaky {
    fn from_config(config: FlakyConfig) -> Result<Self, PluginError> {
        FLAKY_BUILDS.fetch_add(1, Ordering::SeqCst);
        match config.mode.as_str() {
            "error" => Err(PluginError::new("upstream rejected the credentials")),
            "panic" => panic!("constructor bug"),
            _ => Ok(Flaky),
        }
    }
}

#[plugin_item(name = "flaky", config = FlakyConfig)]
impl PaymentGateway for Flaky {
    fn create_payment(&self, _: u64) -> Result<String, PluginError> {
        Ok("flaky".into())
    }
}

/// A second type, to show `get_by_id` refuses another type's instance.
#[plugin_type(name = "notifier")]
pub trait Notifier {
    fn send(&self, message: &str) -> String;
}

#[derive(Default)]
pub struct Email;

#[plugin_item(name = "email")]
impl Notifier for Email {
    fn send(&self, message: &str) -> String {
        format!("email: {message}")
    }
}

fn plugins() -> Plugins {
    Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .build()
        .expect("the registry is valid and syncs")
}

fn stripe(name: &str, key: &str, status: Status, priority: i32) -> NewInstance {
    NewInstance::of::<dyn PaymentGateway>("stripe", name)
        .config(&StripeConfig {
            api_key: key.into(),
            currency: "eur".into(),
        })
        .status(status)
        .priority(priority)
}

#[test]
fn the_seed_table_selects_stripe_production() {
    let plugins = plugins();
    plugins
        .create_instance(stripe(
            "Stripe Production",
            "sk_production",
            Status::Active,
            10,
        ))
        .unwrap();
    plugins
        .create_instance(stripe("Stripe Backup", "sk_backup_key", Status::Active, 20))
        .unwrap();
    plugins
        .create_instance(stripe("Stripe Sandbox", "sk_sandbox", Status::Reserved, 1))
        .unwrap();

    let chosen = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(chosen.meta().name, "Stripe Production");
    assert_eq!(chosen.create_payment(5).unwrap(), "sk_production:5:eur");

    let active: Vec<_> = plugins
        .active::<dyn PaymentGateway>()
        .iter()
        .map(|p| p.meta().name.clone())
        .collect();
    assert_eq!(active, ["Stripe Production", "Stripe Backup"]);
    let reserved: Vec<_> = plugins
        .reserved::<dyn PaymentGateway>()
        .iter()
        .map(|p| p.meta().name.clone())
        .collect();
    assert_eq!(reserved, ["Stripe Sandbox"]);
}

#[test]
fn active_beats_a_reserved_instance_with_a_better_priority() {
    let plugins = plugins();
    plugins
        .create_instance(stripe("Fallback", "sk_fallback", Status::Reserved, -100))
        .unwrap();
    plugins
        .create_instance(stripe("Main", "sk_main_key", Status::Active, 1000))
        .unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().name,
        "Main"
    );
}

#[test]
fn reserved_serves_when_no_active_instance_loads() {
    let plugins = plugins();
    let main = plugins
        .create_instance(stripe("Main", "sk_main_key", Status::Active, 1))
        .unwrap();
    plugins
        .create_instance(stripe("Fallback", "sk_fallback", Status::Reserved, 5))
        .unwrap();
    plugins.set_status(&[main.id], Status::Disabled).unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().name,
        "Fallback"
    );
}

#[test]
fn ties_are_broken_by_id_so_the_older_instance_wins() {
    let plugins = plugins();
    let first = plugins
        .create_instance(stripe("First", "sk_first_k", Status::Active, 10))
        .unwrap();
    let second = plugins
        .create_instance(stripe("Second", "sk_second_", Status::Active, 10))
        .unwrap();
    assert!(first.id < second.id);
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().id,
        first.id
    );
    // Moving the older one behind makes the other win; moving it back restores it.
    plugins
        .set_priority(&[first.id], PriorityChange::Shift(1))
        .unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().id,
        second.id
    );
    plugins
        .set_priority(&[first.id], PriorityChange::Set(10))
        .unwrap();
    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().id,
        first.id
    );
}

#[test]
fn disabled_is_never_chosen() {
    let plugins = plugins();
    let only = plugins
        .create_instance(stripe("Only", "sk_only_key", Status::Disabled, -1000))
        .unwrap();
    let err = plugins.get::<dyn PaymentGateway>().unwrap_err();
    assert!(matches!(err, Error::NoInstance { .. }));
    assert!(err.to_string().contains("payment_gateway"), "{err}");
    assert!(plugins.active::<dyn PaymentGateway>().is_empty());
    assert!(plugins.reserved::<dyn PaymentGateway>().is_empty());

    // By id: refused unless disabled instances are allowed.
    let refused = plugins
        .get_by_id::<dyn PaymentGateway>(only.id)
        .unwrap_err();
    assert!(matches!(refused, Error::Disabled { .. }), "{refused}");
    let allowed = plugins
        .get_by_id_allow_disabled::<dyn PaymentGateway>(only.id)
        .unwrap();
    assert_eq!(allowed.meta().name, "Only");
}

#[test]
fn get_by_id_of_another_types_instance_is_refused() {
    let plugins = plugins();
    let gateway = plugins
        .create_instance(stripe("Gateway", "sk_gateway", Status::Active, 1))
        .unwrap();
    let err = plugins.get_by_id::<dyn Notifier>(gateway.id).unwrap_err();
    match &err {
        Error::WrongType {
            expected, actual, ..
        } => {
            assert!(expected.ends_with(":notifier"));
            assert!(actual.ends_with(":payment_gateway"));
        }
        other => panic!("expected WrongType, got {other}"),
    }
    let by_id = plugins.get_by_id::<dyn PaymentGateway>(gateway.id).unwrap();
    assert_eq!(by_id.meta().name, "Gateway");

    let unknown = plugins
        .get_by_id::<dyn PaymentGateway>(InstanceId::new())
        .unwrap_err();
    assert!(matches!(unknown, Error::UnknownInstance(_)));
    let malformed = "1; DROP TABLE plugin_instances"
        .parse::<InstanceId>()
        .unwrap_err();
    assert!(matches!(Error::from(malformed), Error::MalformedId(_)));
}

#[test]
fn config_less_items_get_a_default_active_instance() {
    let plugins = plugins();
    let notifier = plugins.get::<dyn Notifier>().unwrap();
    assert_eq!(notifier.send("hi"), "email: hi");
    assert_eq!(notifier.meta().name, "email");
    assert_eq!(notifier.meta().status, Status::Active);
    assert_eq!(notifier.meta().priority, 100);
}

#[test]
fn typed_config_reaches_the_plugin_and_defaults_apply() {
    let plugins = plugins();
    let mut values = serde_json::Map::new();
    values.insert("api_key".into(), "sk_from_form".into());
    plugins
        .create_instance(
            NewInstance::of::<dyn PaymentGateway>("stripe", "From values").config_values(values),
        )
        .unwrap();
    let chosen = plugins.get::<dyn PaymentGateway>().unwrap();
    assert_eq!(chosen.create_payment(7).unwrap(), "sk_from_form:7:usd");
}

#[test]
fn an_invalid_config_is_refused_and_nothing_is_written() {
    let plugins = plugins();
    let before = plugins.instances(&Default::default()).total;
    let mut values = serde_json::Map::new();
    values.insert("api_key".into(), "short".into());
    values.insert("currency".into(), "gbp".into());
    let err = plugins
        .create_instance(
            NewInstance::of::<dyn PaymentGateway>("stripe", "Bad").config_values(values),
        )
        .unwrap_err();
    match err {
        Error::InvalidConfig { errors, .. } => assert_eq!(errors.len(), 2, "{errors}"),
        other => panic!("expected InvalidConfig, got {other}"),
    }
    assert_eq!(plugins.instances(&Default::default()).total, before);
}

#[test]
fn a_constructor_error_or_panic_makes_that_instance_unloadable_and_others_serve() {
    let plugins = plugins();
    let flaky = |name: &str, mode: &str, priority: i32| {
        NewInstance::of::<dyn PaymentGateway>("flaky", name)
            .config(&FlakyConfig { mode: mode.into() })
            .priority(priority)
    };
    let erroring = plugins
        .create_instance(flaky("Erroring", "error", 1))
        .unwrap();
    let panicking = plugins
        .create_instance(flaky("Panicking", "panic", 2))
        .unwrap();
    plugins
        .create_instance(stripe("Healthy", "sk_healthy", Status::Active, 3))
        .unwrap();

    assert_eq!(
        plugins.get::<dyn PaymentGateway>().unwrap().meta().name,
        "Healthy"
    );
    let failures = plugins.load_failures();
    let reasons: Vec<_> = failures
        .iter()
        .map(|f| (f.meta.id, f.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|(id, r)| *id == erroring.id && r.contains("upstream rejected"))
    );
    assert!(
        reasons
            .iter()
            .any(|(id, r)| *id == panicking.id && r.contains("panicked: constructor bug"))
    );
    let err = plugins
        .get_by_id::<dyn PaymentGateway>(erroring.id)
        .unwrap_err();
    assert!(matches!(err, Error::Unloadable { .. }), "{err}");
}

#[test]
fn a_status_change_does_not_construct_the_plugin_again() {
    let plugins = plugins();
    let ok = plugins
        .create_instance(
            NewInstance::of::<dyn PaymentGateway>("flaky", "Builds once")
                .config(&FlakyConfig { mode: "ok".into() }),
        )
        .unwrap();
    let builds = FLAKY_BUILDS.load(Ordering::SeqCst);
    plugins.set_status(&[ok.id], Status::Reserved).unwrap();
    plugins
        .set_priority(&[ok.id], PriorityChange::Set(3))
        .unwrap();
    let plugin = plugins.get_by_id::<dyn PaymentGateway>(ok.id).unwrap();
    assert_eq!(plugin.meta().status, Status::Reserved);
    assert_eq!(plugin.meta().priority, 3);
    // Other tests build flaky instances concurrently; this instance's own rebuilds would show
    // as at least two more builds.
    assert!(FLAKY_BUILDS.load(Ordering::SeqCst) < builds + 2);
}

#[test]
fn a_stale_version_is_a_conflict_not_a_lost_update() {
    let plugins = plugins();
    let created = plugins
        .create_instance(stripe("Edited", "sk_edited_", Status::Active, 1))
        .unwrap();
    let update = |name: &str| plugin_system::InstanceUpdate {
        name: Some(name.into()),
        ..Default::default()
    };
    let first = plugins
        .update_instance(created.id, created.version, update("First edit"))
        .unwrap();
    assert_eq!(first.version, created.version + 1);
    let err = plugins
        .update_instance(created.id, created.version, update("Second edit"))
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(
        plugins
            .get_by_id::<dyn PaymentGateway>(created.id)
            .unwrap()
            .meta()
            .name,
        "First edit"
    );
}

#[test]
fn duplicate_instance_names_are_refused_per_item_and_scope() {
    let plugins = plugins();
    plugins
        .create_instance(stripe("Twin", "sk_twin_one", Status::Active, 1))
        .unwrap();
    let err = plugins
        .create_instance(stripe("Twin", "sk_twin_two", Status::Active, 1))
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateInstanceName { .. }), "{err}");
    plugins
        .create_instance(stripe("Twin", "sk_twin_two", Status::Active, 1).scope("acme"))
        .unwrap();
}
