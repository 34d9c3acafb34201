//! **Make any Rust application pluggable: traits as extension points, implementations from any
//! linked crate, operator-managed instances chosen in nanoseconds.**
//!
//! ```standalone_crate
//! use plugin_system::prelude::*;
//!
//! /// Payment gateways. (The doc comment becomes the type's description.)
//! #[plugin_type(name = "payment_gateway")]
//! pub trait PaymentGateway {
//!     fn create_payment(&self, amount: u64) -> Result<String, PluginError>;
//! }
//!
//! #[derive(PluginConfig, Clone)]
//! pub struct StripeConfig {
//!     /// Secret API key.
//!     #[config(secret, min_length = 8)]
//!     pub api_key: String,
//!     #[config(default = 30, min = 1, max = 300)]
//!     pub timeout_secs: u32,
//! }
//!
//! pub struct Stripe {
//!     config: StripeConfig,
//! }
//!
//! impl From<StripeConfig> for Stripe {
//!     fn from(config: StripeConfig) -> Self {
//!         Stripe { config }
//!     }
//! }
//!
//! /// Card payments through Stripe.
//! #[plugin_item(name = "stripe", config = StripeConfig, priority = 10)]
//! impl PaymentGateway for Stripe {
//!     fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
//!         Ok(format!("stripe charged {amount} (timeout {}s)", self.config.timeout_secs))
//!     }
//! }
//!
//! /// Pay on delivery: needs no config, so sync creates an ACTIVE instance of it.
//! #[derive(Default)]
//! pub struct CashOnDelivery;
//!
//! #[plugin_item(name = "cash_on_delivery", priority = 50)]
//! impl PaymentGateway for CashOnDelivery {
//!     fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
//!         Ok(format!("collect {amount} at the door"))
//!     }
//! }
//!
//! # fn main() -> Result<(), plugin_system::Error> {
//! let plugins = Plugins::builder()
//!     .keyring(Keyring::new(plugin_system::Key::generate())) // configs are stored encrypted
//!     .build()?; // validate the registry, sync it into the store, load
//!
//! // Only the config-less item has an instance yet.
//! assert_eq!(plugins.get::<dyn PaymentGateway>()?.meta().item.name, "cash_on_delivery");
//!
//! // An operator (or the app) configures Stripe; it has the better priority, so it wins.
//! plugins.create_instance(
//!     NewInstance::of::<dyn PaymentGateway>("stripe", "Stripe Production").config(&StripeConfig {
//!         api_key: "sk_live_0123456789".into(),
//!         timeout_secs: 30,
//!     }),
//! )?;
//! let gateway = plugins.get::<dyn PaymentGateway>()?;
//! assert_eq!(gateway.create_payment(1000).unwrap(), "stripe charged 1000 (timeout 30s)");
//! assert_eq!(gateway.meta().name, "Stripe Production");
//! # Ok(())
//! # }
//! ```
//!
//! # The linker note: name your plugin crates
//!
//! Registrations are collected by the linker, and the linker drops a crate nobody refers to.
//! A crate whose only contents are `#[plugin_item]`s is such a crate, in debug and release,
//! with every linker. Name each plugin crate once in your binary:
//!
//! ```ignore
//! plugin_system::link!(payments_stripe, notifiers_email);
//! ```
//!
//! This keeps them linked, and makes a named crate that registered nothing a start-up error
//! instead of a silently empty plugin list.
//!
//! # Features
//!
//! - `sqlite` (default): the SQLite store, compiled in; `postgres`, `mysql`: PostgreSQL and
//!   MySQL/MariaDB (they need libpq and libmysqlclient or libmariadb). With any of them,
//!   `Plugins::builder().database_url("sqlite://plugins.db")` and the `database` module.
//! - `cli`: `cli::PluginsCli`, the `plugins` subcommand for the application's binary.
//! - `admin`: the `admin` module, the web admin (an axum `Router`), and `plugins admin` in the CLI.
//! - `web`: the `web` module: each instance's own routes under a namespace, page fragments from
//!   every ACTIVE instance (cached until the instance is built again), request hooks as a tower
//!   layer.
//!
//! # Details
//!
//! - `#[plugin_type(name = "...")]` goes on a trait. It must have at least one required method
//!   and be object-safe; the macro says which method breaks that. It adds `Send + Sync +
//!   'static` and `PluginItem<dyn Trait>`, which only `#[plugin_item]` implements, so an `impl` of
//!   the trait without `#[plugin_item]` does not compile. `namespace` defaults to the crate's
//!   package name, `description` to the doc comment. `version = 2` numbers the trait's
//!   contract (from 1, the default): raise it when items must follow a change of its methods.
//! - Inside it, `#[action(label = "Test the connection")]` on a method
//!   `fn name(&self) -> Result<String, PluginError>` (its doc comment the description, a
//!   default body allowed) makes it an admin action the type offers per instance: listed by
//!   [`registry::TypeInfo::actions`], run by [`Plugins::run_action`] (isolated, with a deadline,
//!   audited), by the admin's edit page and by `plugins instance action ID NAME`.
//! - `#[plugin_item(name = "...")]` goes on `impl Trait for Type`. With `config = Config`, the
//!   item is built by `FromConfig<Config>` (implemented for you when `Type: From<Config>`);
//!   without, by `Default` (or your own `FromConfig<NoConfig>`). Both may fail.
//! - What operators read about an item: `description` (default: the doc comment),
//!   `category = "cards"` (the admin groups by it), `version = "1.2.0"` and
//!   `authors = ["Ada <ada@example.com>"]` (default: the `Cargo.toml` of the crate the impl is
//!   in), `homepage = "https://..."` (an `http(s)://` URL the admin links to) and `hidden` (left
//!   out of the admin's listings unless asked for; registered, synced and served as any other).
//!   Sync records them, and reports (and audits) an item whose version changed since.
//! - `#[plugin_item(per_tenant)]`: the item's global instances are served to a tenant only
//!   once it switches them on (`Plugins::set_activation(tenant, id, Activation::On)`); any
//!   tenant can also switch a global instance off for itself. Global lookups are unaffected.
//! - `#[derive(PluginConfig)]` makes a typed config: a schema, form parsing with every field's
//!   error at once, validation, a JSON Schema, and a `Debug` that hides secrets.
//! - Lookups (`get`, `get_by_id`, `active`, `reserved`) never touch the store: they read a
//!   snapshot that every write through [`Plugins`] rebuilds.
//!
//! Selection: the first ACTIVE instance by (priority, id), lower priority preferred; if none,
//! the first RESERVED; DISABLED, orphaned and unloadable instances are never chosen.
//!
//! ```compile_fail
//! use plugin_system::prelude::*;
//!
//! #[plugin_type(name = "notifier")]
//! pub trait Notifier {
//!     fn send(&self, message: &str);
//! }
//!
//! #[derive(Default)]
//! struct Email;
//!
//! // Forgot #[plugin_item]: this would never be registered, so it does not compile.
//! impl Notifier for Email {
//!     fn send(&self, _: &str) {}
//! }
//! # fn main() {}
//! ```

// The application's API: handles, lookups, instances and their keys.
pub use plugin_runtime::{
    Activation, ActivationKey, ActivationRecord, InstanceId, InstanceMeta, InstanceRecord,
    InstanceUpdate, ItemKey, MAX_DESCRIPTION, MAX_INSTANCE_NAME, MalformedId, MalformedKey,
    NewInstance, Plugin, PluginType, Plugins, PluginsBuilder, PriorityChange, Scoped,
    ShutdownReport, Status, TypeKey, UnknownStatus,
};
// What operators' tools read: pages of instances, counts, load failures, store health.
pub use plugin_runtime::{
    InstancePage, InstanceQuery, InstanceSort, InstanceSummary, LoadFailure, LoadState,
    RefreshStats, ScopeFilter, StatusCounts, StoreHealth, TenantInstance, TenantReason,
    TenantTypeView, TenantView,
};
// Admin actions a plugin type offers per instance (`#[action]`), run by operators' tools.
pub use plugin_runtime::{ACTION_DEADLINE, ActionInfo, ActionOutcome, MAX_ACTION_TEXT};
// Failover and broadcast.
pub use plugin_runtime::{
    AllFailed, Attempt, BreakerState, Clock, Failure, HealthPolicy, Outcome, Served, SystemClock,
};
// Plugin code: configs, construction, start and stop, errors; encryption keys.
pub use plugin_runtime::{
    AsyncLifecycle, CryptoError, Error, FromConfig, FromNeeds, Key, Keyring, Lifecycle, Needs,
    NoConfig, PluginConfig, PluginError,
};
// What the compiler checks of a plugin item (their names appear in its error messages).
pub use plugin_runtime::{
    AlsoListed, AlsoServes, ConfiglessItem, DefaultSelector, PluginItem, SameConfig, ThreadSafe,
};
// The macros.
pub use plugin_runtime::{link, plugin_item, plugin_type};
// The parts for those who go further: config schemas and forms, the registry and its
// descriptors, selectors, the store trait (for store authors), sync.
/// Declares the conformance tests of a `Store` (feature `testing`); see
/// [`store::conformance`].
#[cfg(feature = "testing")]
pub use plugin_runtime::store_conformance;
/// Registries of any size for benchmarks (feature `testing`).
#[cfg(feature = "testing")]
pub use plugin_runtime::testing;
pub use plugin_runtime::{config, registry, select, store, sync};

#[doc(hidden)]
pub use plugin_runtime::__private;

/// The README's code blocks, compiled (and, unless marked `no_run`, run) as doctests, so
/// the README cannot drift from the API.
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "cli",
    feature = "admin",
    feature = "web",
    feature = "testing"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The web admin: an axum `Router` to mount (feature `admin`).
#[cfg(feature = "admin")]
pub use plugin_admin as admin;

/// Plugins that extend the web application: their own routes, page fragments, request hooks
/// (feature `web`).
#[cfg(feature = "web")]
pub use plugin_web as web;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod database;

/// What the README's code uses, in one import: the macros, the handle, new instances, the
/// context of a selection, and the traits plugin code implements. Names that could clash
/// with yours (`Error`, `Key`, `Status`) are not here: write `plugin_system::Error`.
pub mod prelude {
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
    pub use crate::database::DatabaseUrlExt as _;
    pub use plugin_runtime::select::Context;
    pub use plugin_runtime::{
        AsyncLifecycle, FromConfig, FromNeeds, Keyring, Lifecycle, Needs, NewInstance, NoConfig,
        Plugin, PluginConfig, PluginError, PluginType, Plugins, plugin_item, plugin_type,
    };
}
