//! A registry of hand-made items for this module's tests: two types, a configurable item with
//! secrets, defaults, an alias and a list, a config-less one, and one of another type.

use std::sync::OnceLock;

use crate::__private::{ErasedObject, ErasedPlugin, relabel, type_id_of};
use crate::config::{ConfigSchema, ConfigValues, DefaultValue, FieldKind, FieldSchema};
use crate::error::PluginError;
use crate::instance::InstanceMeta;
use crate::registration::{ItemInfo, ItemParts, Location, Needs, TypeInfo, TypeParts};
use crate::registry::Registry;

trait Gateway: Send + Sync {}
trait Notifier: Send + Sync {}

const HERE: Location = Location::new("declared/test_registry.rs", 1);

const fn type_parts(name: &'static str) -> TypeParts {
    TypeParts {
        name,
        namespace: "shop",
        description: "",
        rust_path: "shop::Type",
        crate_name: "shop",
        location: HERE,
        fingerprint: "0",
        version: 1,
        type_id: type_id_of::<dyn Gateway>,
        relabel: relabel::<dyn Gateway>,
        selector: None,
        critical: false,
        parent: None,
        actions: &[],
    }
}

static GATEWAY: TypeInfo = TypeInfo::from_parts(type_parts("payment_gateway"));
static NOTIFIER: TypeInfo = TypeInfo::from_parts(TypeParts {
    type_id: type_id_of::<dyn Notifier>,
    relabel: relabel::<dyn Notifier>,
    ..type_parts("notifier")
});

fn gateway() -> &'static TypeInfo {
    &GATEWAY
}
fn notifier() -> &'static TypeInfo {
    &NOTIFIER
}

static STRIPE_FIELDS: [FieldSchema; 6] = [
    FieldSchema::new("api_key", "Api key", FieldKind::Secret)
        .with_min_length(8)
        .with_aliases(&["key"]),
    FieldSchema::new("webhook_secret", "Webhook secret", FieldKind::Secret)
        .with_optional(true)
        .with_required(false),
    FieldSchema::new("timeout_secs", "Timeout", FieldKind::Integer)
        .with_default(DefaultValue::Integer(30))
        .with_min(1.0)
        .with_max(300.0),
    FieldSchema::new("currency", "Currency", FieldKind::Choice(&["usd", "eur"]))
        .with_default(DefaultValue::Text("usd")),
    FieldSchema::new("tags", "Tags", FieldKind::ListOfText).with_required(false),
    FieldSchema::new("fee", "Fee", FieldKind::Float)
        .with_optional(true)
        .with_required(false),
];
static STRIPE_SCHEMA: ConfigSchema =
    ConfigSchema::new("StripeConfig", &STRIPE_FIELDS).with_description("Stripe settings.");
fn stripe_schema() -> &'static ConfigSchema {
    &STRIPE_SCHEMA
}

static EMAIL_FIELDS: [FieldSchema; 3] = [
    FieldSchema::new("smtp_url", "SMTP URL", FieldKind::Url),
    FieldSchema::new("password", "Password", FieldKind::Secret),
    FieldSchema::new("tls", "TLS", FieldKind::Bool).with_required(false),
];
static EMAIL_SCHEMA: ConfigSchema = ConfigSchema::new("EmailConfig", &EMAIL_FIELDS);
fn email_schema() -> &'static ConfigSchema {
    &EMAIL_SCHEMA
}

fn not_built(_: Option<&ConfigValues>, _: &Needs<'_>) -> Result<ErasedObject, PluginError> {
    Err(PluginError::new("test items are not built"))
}

fn no_view(_: &ErasedObject, _: InstanceMeta) -> Option<ErasedPlugin> {
    None
}

const fn item(name: &'static str, priority: i32) -> ItemParts {
    ItemParts {
        name,
        description: "a test item",
        priority,
        category: None,
        version: "1.0.0",
        authors: "",
        homepage: None,
        hidden: false,
        per_tenant: false,
        renamed_from: &[],
        rust_type: "Item",
        module: "shop",
        crate_name: "shop",
        location: HERE,
        plugin_type: gateway,
        config: None,
        build: not_built,
        needs: &[],
        view: no_view,
        also: &[],
        lifecycle: None,
    }
}

static ITEMS: [ItemInfo; 3] = [
    ItemInfo::from_parts(ItemParts {
        config: Some(stripe_schema),
        ..item("stripe", 10)
    }),
    ItemInfo::from_parts(item("manual", 50)),
    ItemInfo::from_parts(ItemParts {
        config: Some(email_schema),
        plugin_type: notifier,
        hidden: true,
        ..item("email", 5)
    }),
];

/// `shop:payment_gateway/stripe` (configurable, priority 10), `shop:payment_gateway/manual`
/// (no config, priority 50) and `shop:notifier/email` (configurable, hidden, priority 5).
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| match Registry::collect(&[], &ITEMS, &[]) {
        Ok(registry) => registry,
        Err(err) => panic!("the test registry is valid: {err}"),
    })
}
