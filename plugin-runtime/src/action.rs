//! Admin actions: what a plugin type offers operators to run against one instance ("Test the
//! connection"), declared on the trait and run by tools that do not know the type.
//!
//! ```ignore
//! #[plugin_type(name = "payment_gateway")]
//! pub trait PaymentGateway {
//!     fn charge(&self, order: &Order) -> Result<String, PluginError>;
//!
//!     /// Asks the provider whether the instance's credentials are accepted.
//!     #[action(label = "Test the connection")]
//!     fn check_connection(&self) -> Result<String, PluginError>;
//! }
//! ```
//!
//! `#[plugin_type]` registers each such method in the type's [`TypeInfo`](crate::registry::TypeInfo)
//! (see [`TypeInfo::actions`](crate::registry::TypeInfo::actions)); [`Plugins::run_action`]
//! runs one against an instance as the snapshot holds it, isolated, and audits the run. The
//! admin and the CLI list and run them from these descriptors alone.
//!
//! [`Plugins::run_action`]: crate::Plugins::run_action

use std::fmt;
use std::time::Duration;

use crate::error::PluginError;
use crate::instance::InstanceMeta;
use crate::registration::{ErasedPlugin, Loaded};

/// How long [`Plugins::run_action`](crate::Plugins::run_action) waits for an action before it
/// reports it failed ("did not finish within 30 s") and leaves it running on its own thread.
pub const ACTION_DEADLINE: Duration = Duration::from_secs(30);

/// The most characters of an action's text that an [`ActionOutcome`] (and its audit row)
/// keeps; longer output is cut there and says so. The text is the plugin's own output, shown
/// to operators, not a log.
pub const MAX_ACTION_TEXT: usize = 1000;

/// Runs an action against a loaded plugin: `None` when the plugin is not of the action's type
/// (the runtime tries each view of an instance; only its declaring type's matches).
#[doc(hidden)]
pub type ActionFn = fn(&ErasedPlugin) -> Option<Result<String, PluginError>>;

/// One action a plugin type offers per instance: a method of the trait marked
/// `#[action(label = "...")]`, taking `&self` and returning `Result<String, PluginError>`.
/// Read-only: only `#[plugin_type]` makes one.
pub struct ActionInfo {
    name: &'static str,
    label: &'static str,
    description: &'static str,
    run: ActionFn,
}

impl ActionInfo {
    /// An action (what the macro generates).
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        label: &'static str,
        description: &'static str,
        run: ActionFn,
    ) -> ActionInfo {
        ActionInfo {
            name,
            label,
            description,
            run,
        }
    }

    /// The method's name (`check_connection`): what `run_action` and
    /// `plugins instance action ID NAME` are given.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What its button says (`Test the connection`): `#[action(label = "...")]`.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// For operators: the method's doc comment (empty when it has none).
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// Runs it against `plugin`, when `plugin` is of the action's type.
    pub(crate) fn run(&self, plugin: &ErasedPlugin) -> Option<Result<String, PluginError>> {
        (self.run)(plugin)
    }
}

impl fmt::Debug for ActionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionInfo")
            .field("name", &self.name)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// What one run of an action did: [`Plugins::run_action`](crate::Plugins::run_action)'s answer
/// once the action ran (or was given up on). An action that returned an error, panicked or
/// took longer than its deadline is a failed outcome, not an [`Error`](crate::Error): the run
/// happened, and is audited.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    /// The instance it ran against, as the snapshot held it.
    pub instance: InstanceMeta,
    /// The action.
    pub action: &'static ActionInfo,
    /// Whether it returned `Ok`.
    pub ok: bool,
    /// What it returned (its `Ok` text, or its error with the causes), or why it failed (it
    /// panicked, it did not finish in time): at most [`MAX_ACTION_TEXT`] characters, with the
    /// instance's secret config values replaced by `***`.
    pub text: String,
    /// How long it ran (until the deadline, for one that did not finish).
    pub elapsed: Duration,
}

/// Downcasts a loaded plugin to type `T` (`dyn Trait`) and calls `call` on it: the generated
/// run function of an action.
pub fn run_on<T: ?Sized + Send + Sync + 'static>(
    plugin: &ErasedPlugin,
    call: fn(&T) -> Result<String, PluginError>,
) -> Option<Result<String, PluginError>> {
    let loaded = plugin.downcast_ref::<Loaded<T>>()?;
    Some(call(&loaded.plugin))
}

/// `text` with every secret replaced by `***` and cut to [`MAX_ACTION_TEXT`] characters.
pub(crate) fn clean_text(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    // Longest first: a secret that contains another is masked whole.
    let mut secrets: Vec<&String> = secrets.iter().filter(|secret| !secret.is_empty()).collect();
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "***");
    }
    match text.char_indices().nth(MAX_ACTION_TEXT) {
        Some((cut, _)) => {
            text.truncate(cut);
            text.push_str(&format!("… (cut at {MAX_ACTION_TEXT} characters)"));
            text
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_long_text_is_cut_on_a_character() {
        let secrets = vec!["sk_test_123".to_owned(), String::new()];
        assert_eq!(
            clean_text("key sk_test_123 refused (sk_test_123)", &secrets),
            "key *** refused (***)"
        );
        let long = "é".repeat(MAX_ACTION_TEXT + 5);
        let cut = clean_text(&long, &[]);
        assert!(cut.starts_with(&"é".repeat(MAX_ACTION_TEXT)));
        assert!(cut.ends_with("… (cut at 1000 characters)"), "{cut}");
        assert_eq!(cut.chars().filter(|c| *c == 'é').count(), MAX_ACTION_TEXT);
        let exact = "a".repeat(MAX_ACTION_TEXT);
        assert_eq!(clean_text(&exact, &[]), exact);
    }
}
