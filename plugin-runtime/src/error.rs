//! The one public error type of plugin-system, the store's error, and the error plugin code
//! returns.
//!
//! Every message names what it is about (the plugin type, the item, the instance), so an
//! operator reading a log line knows where to look without a debugger. Each error says its own
//! text once: a cause is reachable through [`std::error::Error::source`], never repeated in
//! the message. [`Error`]'s `Debug` prints the message and its causes the way a person reads
//! them, so `fn main() -> Result<(), plugin_system::Error>` shows the helpful text.

use std::fmt;

use crate::config::ConfigErrors;
use crate::crypto::CryptoError;
use crate::keys::{InstanceId, MalformedId, MalformedKey, Status, UnknownStatus};

/// Everything that can go wrong in plugin-system.
///
/// Match on the variants (they stay typed from the registry through `build()`, from the store
/// through every write); print it with `{}` for the message alone, or `{:?}` (what a `main`
/// returning this error prints) for the message and every cause.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two registrations claim the same key: reported with both definition sites.
    #[error("{what} `{key}` is registered twice: at {first} and at {second}; rename one of them")]
    DuplicateRegistration {
        /// "plugin type" or "plugin item".
        what: &'static str,
        /// The duplicated key (`namespace:type` or `namespace:type/item`).
        key: String,
        /// Where the first registration is.
        first: String,
        /// Where the second registration is.
        second: String,
    },
    /// A crate named with `plugin_system::link!` contributed no plugin type or item.
    #[error(
        "plugin crate `{krate}` (named by `link!` at {site}) registered no plugin type or item; \
         check that it has `#[plugin_type]`/`#[plugin_item]` registrations and is the crate you meant"
    )]
    MissingPluginCrate {
        /// The crate's name as Rust spells it (underscores).
        krate: String,
        /// The `link!` call that named it.
        site: String,
    },
    /// A registration breaks a rule only visible at start-up (e.g. a `renamed_from` cycle).
    #[error("invalid registration of {what}: {reason}")]
    InvalidRegistration {
        /// The type or item in question.
        what: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// No plugin type with this key is linked into this binary.
    #[error("unknown plugin type `{0}`: no linked crate registers it")]
    UnknownType(String),
    /// No plugin item with this name is registered for the type.
    #[error("unknown plugin item `{item}` of type `{type_name}`; known items: {known}")]
    UnknownItem {
        /// The type's key.
        type_name: String,
        /// The item name asked for.
        item: String,
        /// The item names that do exist, comma-separated.
        known: String,
    },
    /// No instance has this id.
    #[error("no plugin instance with id {0}")]
    UnknownInstance(InstanceId),
    /// The global instance is not served to this tenant
    /// ([`Scoped::get_by_id`](crate::Scoped::get_by_id)): the tenant switched it off, or its
    /// item is activated per tenant and the tenant has not switched it on
    /// ([`Plugins::set_activation`](crate::Plugins::set_activation)).
    #[error("plugin instance {id} (`{instance}`) is not served to tenant `{tenant}`: {why}")]
    NotServedToTenant {
        /// Its id.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// The tenant that asked.
        tenant: String,
        /// Why not.
        why: &'static str,
    },
    /// The instance belongs to another tenant than the scope asked for
    /// ([`Scoped::get_by_id`](crate::Scoped::get_by_id)): a tenant is served its own
    /// instances and the global ones, never another tenant's.
    #[error("plugin instance {id} (`{instance}`) belongs to scope `{scope}`, not `{asked}`")]
    OtherScope {
        /// Its id.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// The tenant it belongs to.
        scope: String,
        /// The tenant that asked.
        asked: String,
    },
    /// A string that should be an instance id is not one.
    #[error(transparent)]
    MalformedId(#[from] MalformedId),
    /// Selection found no ACTIVE or RESERVED instance that loads. When some would be there
    /// but do not load (a secret's variable unset, a config an upgrade cannot read), the
    /// message names them and why, so the failing lookup says what to fix.
    #[error(
        "no ACTIVE or RESERVED instance of plugin type `{plugin_type}` is available{}{}",
        .scope.as_ref().map(|scope| format!(" to tenant `{scope}` (its own or global)")).unwrap_or_default(),
        unloadable_text(.unloadable, *.more, *.checked_all)
    )]
    NoInstance {
        /// The plugin type looked up.
        plugin_type: String,
        /// The tenant it was looked up for (`None`: a global lookup).
        scope: Option<String>,
        /// The ACTIVE or RESERVED instances the lookup could have served that do not load:
        /// `` `name`: why `` each (never a config value), at most [`UNLOADABLE_LISTED`] of them.
        unloadable: Vec<String>,
        /// How many more do not load than `unloadable` lists.
        more: usize,
        /// Whether every instance that does not load was looked at: past
        /// [`UNLOADABLE_CHECKED`] of them (a lost key fails them all), only that many are,
        /// so that a failing lookup stays cheap during an outage.
        checked_all: bool,
    },
    /// `get_by_id` was asked for an instance of another plugin type.
    #[error(
        "plugin instance {id} (`{instance}`) belongs to plugin type `{actual}`, not `{expected}`"
    )]
    WrongType {
        /// The instance asked for.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// The type the caller asked for.
        expected: String,
        /// The type the instance belongs to.
        actual: String,
    },
    /// `get_by_id` found the instance, but it is not selectable.
    #[error("plugin instance {id} (`{instance}`) is {status}; allow disabled instances to load it")]
    Disabled {
        /// The instance asked for.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its status.
        status: Status,
    },
    /// The instance exists but could not be loaded (config, key, constructor).
    #[error("plugin instance {id} (`{instance}`, item `{item}`) does not load: {reason}")]
    Unloadable {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its item's key.
        item: String,
        /// Why it does not load.
        reason: String,
    },
    /// The instance's item is no longer registered by any linked crate.
    #[error(
        "plugin instance {id} (`{instance}`) belongs to item `{item}`, whose code is gone (orphaned)"
    )]
    Orphaned {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its item's key.
        item: String,
    },
    /// [`Plugins::run_action`](crate::Plugins::run_action) was asked for an action the
    /// instance's plugin type does not offer (`#[action(label = "...")]` on a method of its
    /// trait); nothing ran.
    #[error(
        "plugin type `{plugin_type}` of instance {id} (`{instance}`) has no action `{action}`; {}",
        offered(.available)
    )]
    UnknownAction {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// Its plugin type's key.
        plugin_type: String,
        /// The action asked for.
        action: String,
        /// The names of the actions it does offer, in order.
        available: Vec<String>,
    },
    /// The instance is not built, so no action can run against it: it is DISABLED, and its
    /// item's instances (which have start and stop hooks) are built and started only when
    /// they may serve.
    #[error(
        "plugin instance {id} (`{instance}`) is DISABLED and its item starts its instances only to serve them, so it is not built; make it ACTIVE or RESERVED to run its actions"
    )]
    NotBuilt {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
    },
    /// A config did not validate against its item's schema: every field's error.
    #[error("invalid config for item `{item}`: {errors}")]
    InvalidConfig {
        /// The item's key.
        item: String,
        /// Every field error.
        errors: ConfigErrors,
    },
    /// An instance with this name already exists for the item (in this scope).
    #[error("item `{item}` already has an instance named `{name}`{}", scope_suffix(.scope))]
    DuplicateInstanceName {
        /// The item's key.
        item: String,
        /// The duplicated name.
        name: String,
        /// The tenant scope, if any.
        scope: Option<String>,
    },
    /// An instance field is out of its bounds (empty name, name too long…).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Optimistic concurrency: someone else changed the instance since it was read.
    #[error(
        "plugin instance {id} was changed by someone else (you edited version {expected}, it is now at {actual}); reload and retry"
    )]
    Conflict {
        /// The instance.
        id: InstanceId,
        /// The version the writer read.
        expected: i64,
        /// The version stored now.
        actual: i64,
    },
    /// A write would disable or delete the last instance that serves what ACTIVE instances
    /// need (`#[plugin_item(needs = [...])]`); nothing was written.
    /// [`Plugins::forced`](crate::Plugins::forced) writes it anyway, and the dependents stop
    /// being served, each saying which need failed.
    #[error(
        "cannot {action} {}: required by {} (force it to stop serving them)",
        quoted(.instances),
        quoted(.dependents)
    )]
    Required {
        /// `disable` or `delete`.
        action: &'static str,
        /// The instances the write takes away that something needs.
        instances: Vec<String>,
        /// Every ACTIVE instance that would lose what it needs.
        dependents: Vec<String>,
    },
    /// The instance is managed by a declared file (`plugins apply FILE`): a hand edit would be
    /// undone by the next apply, so it is refused. Change the file, or release the instance
    /// ([`Plugins::release`](crate::Plugins::release)) to edit it by hand.
    #[error(
        "`{instance}` is managed by the file {file}: change it there and apply the file, or \
         release it from the file first (`plugins instance release {id}`)"
    )]
    ManagedByFile {
        /// The instance.
        id: InstanceId,
        /// Its name.
        instance: String,
        /// The file's name, as it was applied.
        file: String,
    },
    /// A declared file ([`crate::declared`]) was refused: every problem, each at its line.
    #[error("{0}")]
    InvalidFile(crate::declared::FileErrors),
    /// One entry of a batch ([`Plugins::create_instances`](crate::Plugins::create_instances),
    /// [`Plugins::update_instances`](crate::Plugins::update_instances)) failed its checks, so
    /// nothing of the batch was written; the entry's own error is the source.
    #[error("entry {index} of the batch (counting from 0) was refused, so none was written")]
    InBatch {
        /// The entry's position in the batch.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: Box<Error>,
    },
    /// Encryption keys: missing, malformed, or unable to open a stored config.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The store failed: see [`StoreError::kind`] (unreachable, conflict, constraint, corrupt
    /// rows, migrations). Its source is the driver's own error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A plugin's own code failed (a constructor, or a method called through `?`).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The database URL names a backend this build does not compile in.
    #[error(
        "{url} needs the `{feature}` feature of plugin-system, which this build does not enable"
    )]
    BackendNotEnabled {
        /// The URL (its password hidden).
        url: String,
        /// The cargo feature that compiles the backend in.
        feature: &'static str,
    },
    /// The watcher thread that serves other processes' writes could not be started.
    #[error("cannot start the thread that watches the store for other processes' writes")]
    Watcher(#[source] std::io::Error),
}

/// A status given as text that names none: an invalid `status` input.
impl From<UnknownStatus> for Error {
    fn from(err: UnknownStatus) -> Self {
        Error::InvalidInput {
            field: "status",
            reason: err.to_string(),
        }
    }
}

/// An item key given as text that is not one: an invalid `item` input.
impl From<MalformedKey> for Error {
    fn from(err: MalformedKey) -> Self {
        Error::InvalidInput {
            field: "item",
            reason: err.to_string(),
        }
    }
}

/// How many unloadable instances a [`Error::NoInstance`] names (the rest are counted).
pub const UNLOADABLE_LISTED: usize = 3;

/// How many instances that do not load a failing lookup looks at, at most, to say which
/// would have served it.
pub const UNLOADABLE_CHECKED: usize = 1_000;

fn unloadable_text(unloadable: &[String], more: usize, checked_all: bool) -> String {
    let listed = unloadable.join("; ");
    let text = match (unloadable.len() + more, more) {
        (0, _) => String::new(),
        (1, _) => format!("; one that would serve does not load: {listed}"),
        (n, 0) => format!("; {n} that would serve do not load: {listed}"),
        (n, more) => format!("; {n} that would serve do not load: {listed}; and {more} more"),
    };
    match checked_all {
        true => text,
        false => format!(
            "{text} (of the first {UNLOADABLE_CHECKED} instances that do not load; `plugins \
             check` lists them all)"
        ),
    }
}

impl Error {
    /// The kind of store failure, when this is one: lets a caller tell "the database is
    /// unreachable, retry later" (503) from a bug or bad data.
    pub fn store_kind(&self) -> Option<StoreErrorKind> {
        match self {
            Error::Store(err) => Some(err.kind()),
            _ => None,
        }
    }

    /// The message followed by each cause, joined with `": "`, on one line: for logs and
    /// command-line tools.
    pub fn report(&self) -> String {
        report(self)
    }

    /// This error, as the error of entry `index` of a batch.
    pub(crate) fn in_batch(self, index: usize) -> Error {
        Error::InBatch {
            index,
            source: Box::new(self),
        }
    }
}

/// `message: cause: cause`, skipping a cause whose text its parent already ends with.
pub(crate) fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reads like the message, then its causes (as anyhow prints an error), so the helpful text
/// is what `fn main() -> Result<(), Error>` shows.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        if source.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        while let Some(cause) = source {
            write!(f, "\n    {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// What kind of store failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused or lost, pool time-out, server gone):
    /// worth retrying later; lookups keep serving the last snapshot meanwhile.
    Unavailable,
    /// Another writer got in the way (a serialization failure, a lock time-out): retry.
    Conflict,
    /// A row broke a constraint (a unique key, a missing parent row).
    Constraint,
    /// A stored row cannot be read back (a malformed id, status or timestamp).
    Corrupt,
    /// The store's schema could not be created or upgraded.
    Migration,
    /// Anything else the store reports.
    Other,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Conflict => "conflict",
            StoreErrorKind::Constraint => "constraint",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::Migration => "migration",
            StoreErrorKind::Other => "other",
        })
    }
}

/// A failure of a [`Store`](crate::store::Store): its kind, what the store was doing, and the
/// driver's own error as the source.
///
/// ```
/// use plugin_runtime::store::{StoreError, StoreErrorKind};
///
/// let refused = std::io::Error::other("connection refused");
/// let err = StoreError::new(StoreErrorKind::Unavailable, "cannot reach redis://cache:6379")
///     .with_source(refused);
/// assert_eq!(err.kind(), StoreErrorKind::Unavailable);
/// assert_eq!(err.to_string(), "cannot reach redis://cache:6379");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// A store error of `kind`, saying what the store was doing (without the cause's text:
    /// attach the cause with [`with_source`](Self::with_source)).
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source` (the driver's error).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> StoreError {
        self.source = Some(source.into());
        self
    }

    /// Its kind.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The message, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn scope_suffix(scope: &Option<String>) -> String {
    match scope {
        Some(scope) => format!(" in scope `{scope}`"),
        None => String::new(),
    }
}

/// The error a plugin's own code returns (from its constructor or its trait methods).
///
/// A message plus an optional source, so plugin authors can wrap any error without
/// choosing an error crate: `PluginError::new("card declined")` or
/// `PluginError::with_source("gateway unreachable", io_error)`.
#[derive(Debug)]
pub struct PluginError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PluginError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message and each cause, joined with `": "`: what a load-failure report shows.
    pub fn report(&self) -> String {
        report(self)
    }
}

/// The message only: the cause is the [`source`](std::error::Error::source) (use
/// [`report`](PluginError::report) for both on one line).
impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<ConfigErrors> for PluginError {
    fn from(errors: ConfigErrors) -> Self {
        Self::new(format!("invalid config: {errors}"))
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// The actions a type does offer, for [`Error::UnknownAction`].
fn offered(actions: &[String]) -> String {
    match actions.is_empty() {
        true => "it offers no actions".to_owned(),
        false => format!("its actions: {}", quoted(actions)),
    }
}

/// Names as a message lists them: `a`, `b`.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_that_found_nothing_names_what_would_have_served_and_why_not() {
        let error = |unloadable: &[&str], more, checked_all| {
            Error::NoInstance {
                plugin_type: "shop:payment_gateway".into(),
                scope: Some("acme".into()),
                unloadable: unloadable.iter().map(|text| (*text).to_owned()).collect(),
                more,
                checked_all,
            }
            .to_string()
        };
        let start = "no ACTIVE or RESERVED instance of plugin type `shop:payment_gateway` is \
                     available to tenant `acme` (its own or global)";
        assert_eq!(error(&[], 0, true), start);
        assert_eq!(
            error(&["`Stripe`: no key"], 0, true),
            format!("{start}; one that would serve does not load: `Stripe`: no key")
        );
        assert_eq!(
            error(&["`A`: x", "`B`: y", "`C`: z"], 2, true),
            format!("{start}; 5 that would serve do not load: `A`: x; `B`: y; `C`: z; and 2 more")
        );
        assert!(error(&["`A`: x"], 0, false).ends_with(
            "(of the first 1000 instances that do not load; `plugins check` lists them all)"
        ));
    }

    #[test]
    fn plugin_error_says_its_message_once_and_keeps_its_source() {
        let io = std::io::Error::other("connection refused");
        let err = PluginError::with_source("gateway unreachable", io);
        assert_eq!(err.to_string(), "gateway unreachable");
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert_eq!(source.to_string(), "connection refused");
        assert_eq!(err.report(), "gateway unreachable: connection refused");
        let wrapped = Error::from(err);
        assert_eq!(wrapped.report(), "gateway unreachable: connection refused");
    }

    #[test]
    fn config_errors_inside_errors_are_said_once() {
        let mut errors = ConfigErrors::new();
        errors.add("token", "this field is required");
        let plugin = PluginError::from(errors.clone());
        assert_eq!(
            plugin.to_string(),
            "invalid config: token: this field is required"
        );
        let err = Error::InvalidConfig {
            item: "app:notifier/sms".into(),
            errors,
        };
        assert_eq!(
            err.report(),
            "invalid config for item `app:notifier/sms`: token: this field is required"
        );
    }

    #[test]
    fn debug_reads_like_the_message_then_its_causes() {
        let missing = CryptoError::MissingKey {
            hint: "PLUGIN_SYSTEM_KEY".into(),
        };
        let err = Error::from(missing.clone());
        assert_eq!(format!("{err:?}"), missing.to_string());
        assert!(
            format!("{err:?}").contains("set PLUGIN_SYSTEM_KEY"),
            "{err:?}"
        );

        let store = StoreError::new(StoreErrorKind::Unavailable, "cannot connect to db")
            .with_source(std::io::Error::other("connection refused"));
        let err = Error::from(store);
        assert_eq!(err.to_string(), "cannot connect to db");
        assert_eq!(
            format!("{err:?}"),
            "cannot connect to db\n\nCaused by:\n    connection refused"
        );
        assert_eq!(err.store_kind(), Some(StoreErrorKind::Unavailable));
    }

    #[test]
    fn duplicate_name_message_names_the_scope() {
        let err = Error::DuplicateInstanceName {
            item: "shop:payment_gateway/stripe".into(),
            name: "Stripe".into(),
            scope: Some("acme".into()),
        };
        assert_eq!(
            err.to_string(),
            "item `shop:payment_gateway/stripe` already has an instance named `Stripe` in scope `acme`"
        );
    }
}
