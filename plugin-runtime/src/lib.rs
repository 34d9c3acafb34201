//! Runtime of [plugin-system](https://docs.rs/plugin-system): the registry the linker collects,
//! typed configs, the `Store` trait, selection and the snapshot lookups read.
//!
//! Applications use it through the `plugin-system` facade; see its documentation for the
//! quickstart.

mod action;
pub mod config;
mod crypto;
pub mod declared;
mod error;
mod instance;
mod keys;
mod plugin_config;
mod plugins;
mod registration;
pub mod registry;
pub mod select;
pub mod store;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod time;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use action::{ACTION_DEADLINE, ActionInfo, ActionOutcome, MAX_ACTION_TEXT};
pub use crypto::{CryptoError, Key, Keyring};
pub use error::{Error, PluginError, UNLOADABLE_CHECKED, UNLOADABLE_LISTED};
pub use instance::{
    Activation, ActivationKey, ActivationRecord, InstanceMeta, InstanceRecord, MAX_DESCRIPTION,
    MAX_INSTANCE_NAME, PriorityChange,
};
pub use keys::{InstanceId, ItemKey, MalformedId, MalformedKey, Status, TypeKey, UnknownStatus};
pub use plugin_config::PluginConfig;
pub use plugins::{
    AllFailed, Attempt, BreakerState, Clock, ConfigMigration, Failure, HealthPolicy, InstancePage,
    InstanceQuery, InstanceSort, InstanceSummary, InstanceUpdate, LoadFailure, LoadState,
    MigratedConfig, NewInstance, Outcome, Plugins, PluginsBuilder, RefreshStats, ScopeFilter,
    Scoped, Served, ShutdownReport, StatusCounts, StoreHealth, SystemClock, TenantInstance,
    TenantReason, TenantTypeView, TenantView,
};
pub use registration::{
    AlsoListed, AlsoServes, AsyncLifecycle, ConfiglessItem, DefaultSelector, FromConfig, FromNeeds,
    Lifecycle, Needs, NoConfig, Plugin, PluginItem, PluginType, SameConfig, ThreadSafe,
};
pub use time::utc_text;

pub use plugin_macros::{PluginConfig, plugin_item, plugin_type};

/// Names the crates that hold plugin registrations, so the linker keeps them, and makes a
/// crate that registered nothing a start-up error.
///
/// The linker drops a crate nobody refers to, and a crate whose only contents are
/// `#[plugin_item]`s is such a crate: its plugins would silently be missing. Name every plugin
/// crate once, in the binary (or in a crate the binary names):
///
/// ```ignore
/// plugin_system::link!(payments_stripe, notifiers_email);
/// ```
///
/// Each name is the crate's name as Rust spells it (underscores). At start-up the registry
/// checks that each named crate contributed at least one plugin type or item.
#[macro_export]
macro_rules! link {
    ($($krate:ident),+ $(,)?) => {
        $( $crate::__link_one!($krate); )+
    };
}
