//! Admin actions (issue 14 part 5): a method of a plugin type marked `#[action]` runs against
//! one instance as the snapshot holds it, isolated (its error, panic or slowness is a failed
//! outcome, never a crash), its text cleaned of secrets, and every run audited.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use plugin_system::prelude::*;
use plugin_system::store::AuditQuery;
use plugin_system::{Error, InstanceId, Key, MAX_ACTION_TEXT, Status};
use support::TestDatabase;

/// Sends mail.
#[plugin_type(name = "mail_gateway")]
pub trait MailGateway {
    fn send(&self, to: &str) -> Result<String, PluginError>;

    /// Logs in to the SMTP server with the instance's password.
    #[action(label = "Test the connection")]
    fn check(&self) -> Result<String, PluginError>;

    #[action(label = "Crash on purpose")]
    fn explode(&self) -> Result<String, PluginError> {
        panic!("the gateway exploded")
    }

    #[action(label = "Wait for the test")]
    fn stall(&self) -> Result<String, PluginError> {
        let (started, release) = &*STALL.lock().unwrap();
        started.send(()).unwrap();
        release.recv().unwrap();
        Ok("released".to_owned())
    }

    /// Says everything it knows.
    #[action(label = "Tell all")]
    fn leak(&self) -> Result<String, PluginError> {
        Ok("nothing to tell".to_owned())
    }
}

/// `stall`'s signals: it says it started, then waits to be released (by the test, after the
/// deadline it was given has passed).
type Stall = (Sender<()>, Receiver<()>);
static STALL: std::sync::LazyLock<Mutex<Stall>> = std::sync::LazyLock::new(|| {
    let (started, _) = channel();
    let (_, release) = channel();
    Mutex::new((started, release))
});

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
    #[config(secret, min_length = 8)]
    pub password: String,
}

pub struct Smtp(SmtpConfig);

impl FromConfig<SmtpConfig> for Smtp {
    fn from_config(config: SmtpConfig) -> Result<Self, PluginError> {
        match config.host.as_str() {
            "refuse" => Err(PluginError::new("cannot resolve the SMTP host")),
            _ => Ok(Smtp(config)),
        }
    }
}

#[plugin_item(name = "smtp", config = SmtpConfig)]
impl MailGateway for Smtp {
    fn send(&self, to: &str) -> Result<String, PluginError> {
        Ok(format!("sent to {to}"))
    }

    fn check(&self) -> Result<String, PluginError> {
        match self.0.host.as_str() {
            "down.example" => Err(PluginError::with_source(
                "cannot reach down.example:587",
                std::io::Error::other("connection refused"),
            )),
            host => Ok(format!("logged in to {host}")),
        }
    }

    fn leak(&self) -> Result<String, PluginError> {
        let long = "x".repeat(2 * MAX_ACTION_TEXT);
        Ok(format!(
            "logged in as {} with password {}; {long}",
            self.0.host, self.0.password
        ))
    }
}

/// An SMTP pool opened when the instance starts.
#[derive(Default)]
pub struct Pooled;

impl Lifecycle for Pooled {}

#[plugin_item(name = "pooled", lifecycle)]
impl MailGateway for Pooled {
    fn send(&self, to: &str) -> Result<String, PluginError> {
        Ok(format!("pooled to {to}"))
    }

    fn check(&self) -> Result<String, PluginError> {
        Ok("pool open".to_owned())
    }
}

/// A mail gateway that also bounces mail back: a sub-type, with an action of its own.
#[plugin_type(name = "bouncing_gateway", parent = MailGateway)]
pub trait BouncingGateway: MailGateway {
    fn bounce(&self, to: &str) -> Result<String, PluginError>;

    /// Sends a bounce to the postmaster.
    #[action(label = "Send a test bounce")]
    fn test_bounce(&self) -> Result<String, PluginError>;
}

#[derive(Default)]
pub struct Bouncer;

#[plugin_item(name = "bouncer")]
impl BouncingGateway for Bouncer {
    fn bounce(&self, to: &str) -> Result<String, PluginError> {
        Ok(format!("bounced {to}"))
    }

    fn test_bounce(&self) -> Result<String, PluginError> {
        Ok("bounce sent".to_owned())
    }
}

#[plugin_item(via = BouncingGateway)]
impl MailGateway for Bouncer {
    fn send(&self, to: &str) -> Result<String, PluginError> {
        Ok(format!("bouncer sent to {to}"))
    }

    fn check(&self) -> Result<String, PluginError> {
        Ok("bouncer ready".to_owned())
    }
}

/// Tells the time; its action says where it runs.
#[plugin_type(name = "clock")]
pub trait Clock {
    fn now(&self) -> u64;

    /// Says whether it runs inside a tokio runtime.
    #[action(label = "Where am I")]
    fn whereabouts(&self) -> Result<String, PluginError> {
        Ok(match tokio::runtime::Handle::try_current() {
            Ok(_) => "inside a tokio runtime".to_owned(),
            Err(_) => "outside any runtime".to_owned(),
        })
    }
}

#[derive(Default)]
pub struct Wall;

#[plugin_item(name = "wall")]
impl Clock for Wall {
    fn now(&self) -> u64 {
        0
    }
}

/// An action needing tokio (a client's handle) runs inside the runtime of its caller, as the
/// admin calls it: from tokio's blocking pool.
#[cfg(feature = "async")]
#[test]
fn an_action_runs_inside_the_tokio_runtime_of_its_caller() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plugins = in_memory();
    let id = plugins.get::<dyn Clock>().unwrap().meta().id;
    let outcome = runtime
        .block_on(async move {
            tokio::task::spawn_blocking(move || plugins.run_action(id, "whereabouts")).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(outcome.text, "inside a tokio runtime");
}

const PASSWORD: &str = "pw-VERY-SECRET";

fn smtp(name: &str, host: &str) -> NewInstance {
    NewInstance::of::<dyn MailGateway>("smtp", name).config(&SmtpConfig {
        host: host.into(),
        password: PASSWORD.into(),
    })
}

fn in_memory() -> Plugins {
    Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap()
}

/// The audit rows about `id` of runs of actions, newest first: `(actor, detail)`.
fn action_rows(plugins: &Plugins, id: InstanceId) -> Vec<(String, String)> {
    plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(100)
        })
        .unwrap()
        .into_iter()
        .filter(|row| row.entry.action == "action")
        .map(|row| (row.entry.actor, row.entry.detail))
        .collect()
}

#[test]
fn the_type_describes_its_actions_in_declaration_order() {
    let info = <dyn MailGateway as PluginType>::info();
    let actions: Vec<(&str, &str, &str)> = info
        .actions()
        .iter()
        .map(|action| (action.name(), action.label(), action.description()))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "check",
                "Test the connection",
                "Logs in to the SMTP server with the instance's password."
            ),
            ("explode", "Crash on purpose", ""),
            ("stall", "Wait for the test", ""),
            ("leak", "Tell all", "Says everything it knows."),
        ]
    );
    // A sub-type offers its own actions, then its parent's.
    let names: Vec<&str> = <dyn BouncingGateway as PluginType>::info()
        .actions()
        .iter()
        .map(|action| action.name())
        .collect();
    assert_eq!(names, ["test_bounce", "check", "explode", "stall", "leak"]);
}

fn an_action_runs_against_the_instance_and_every_run_is_audited(db: &TestDatabase) {
    let plugins = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .no_watch()
        .build()
        .unwrap()
        .acting_as("admin:alice");
    let up = plugins
        .create_instance(smtp("Office", "mail.example"))
        .unwrap();
    let down = plugins
        .create_instance(smtp("Backup", "down.example"))
        .unwrap();

    let outcome = plugins.run_action(up.id, "check").unwrap();
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.text, "logged in to mail.example");
    assert_eq!(outcome.action.label(), "Test the connection");
    assert_eq!(outcome.instance.id, up.id);

    let failed = plugins.run_action(down.id, "check").unwrap();
    assert!(!failed.ok);
    assert_eq!(
        failed.text,
        "cannot reach down.example:587: connection refused"
    );

    assert_eq!(
        action_rows(&plugins, up.id),
        [(
            "admin:alice".to_owned(),
            "check: ok: logged in to mail.example".to_owned()
        )]
    );
    assert_eq!(
        action_rows(&plugins, down.id),
        [(
            "admin:alice".to_owned(),
            "check: failed: cannot reach down.example:587: connection refused".to_owned()
        )]
    );
    // Running an action changes nothing that is served: the revision did not move.
    assert!(!plugins.refresh().unwrap(), "the revision moved");
}

fn secrets_in_what_an_action_says_are_masked_and_its_text_is_cut(db: &TestDatabase) {
    let plugins = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .no_watch()
        .build()
        .unwrap();
    let meta = plugins
        .create_instance(smtp("Office", "mail.example"))
        .unwrap();

    let outcome = plugins.run_action(meta.id, "leak").unwrap();
    assert!(outcome.ok);
    assert!(
        outcome
            .text
            .starts_with("logged in as mail.example with password ***; xxx"),
        "{}",
        outcome.text
    );
    assert!(!outcome.text.contains(PASSWORD));
    let suffix = format!("… (cut at {MAX_ACTION_TEXT} characters)");
    assert!(outcome.text.ends_with(&suffix), "{}", outcome.text);
    assert_eq!(
        outcome.text.chars().count(),
        MAX_ACTION_TEXT + suffix.chars().count()
    );
    let rows = action_rows(&plugins, meta.id);
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].1.contains(PASSWORD), "{}", rows[0].1);
    assert!(
        rows[0]
            .1
            .starts_with("leak: ok: logged in as mail.example with password ***")
    );
}

/// A secret held as a reference (issue 15) is masked as the value it resolves to: the
/// plugin was built with the value, so that is what it could leak.
#[test]
fn a_secret_held_as_a_reference_is_masked_as_its_value() {
    use std::io::Write as _;
    let mut secret = tempfile::NamedTempFile::new().unwrap();
    writeln!(secret, "{PASSWORD}").unwrap();
    let plugins = in_memory();
    let mut config = plugin_system::config::ConfigValues::new();
    config.insert("host".into(), "mail.example".into());
    config.insert(
        "password".into(),
        serde_json::json!({"$file": secret.path().to_str().unwrap()}),
    );
    let meta = plugins
        .create_instance(NewInstance::of::<dyn MailGateway>("smtp", "Office").config_values(config))
        .unwrap();
    let outcome = plugins.run_action(meta.id, "leak").unwrap();
    assert!(outcome.ok);
    assert!(!outcome.text.contains(PASSWORD), "{}", outcome.text);
    assert!(
        outcome
            .text
            .starts_with("logged in as mail.example with password ***;"),
        "{}",
        outcome.text
    );
}

on_every_backend!(
    an_action_runs_against_the_instance_and_every_run_is_audited,
    secrets_in_what_an_action_says_are_masked_and_its_text_is_cut,
);

#[test]
fn a_panicking_action_is_a_failed_outcome_and_the_handle_keeps_serving() {
    let plugins = in_memory();
    let meta = plugins
        .create_instance(smtp("Office", "mail.example"))
        .unwrap();

    let outcome = plugins.run_action(meta.id, "explode").unwrap();
    assert!(!outcome.ok);
    assert_eq!(outcome.text, "the action panicked: the gateway exploded");
    assert_eq!(
        action_rows(&plugins, meta.id)[0].1,
        "explode: failed: the action panicked: the gateway exploded"
    );
    // The same instance still serves, and runs its other actions.
    let gateway = plugins.get_by_id::<dyn MailGateway>(meta.id).unwrap();
    assert_eq!(gateway.send("bob").unwrap(), "sent to bob");
    assert!(plugins.run_action(meta.id, "check").unwrap().ok);
}

#[test]
fn an_action_past_its_deadline_is_a_failed_outcome_and_is_left_running() {
    let plugins = in_memory();
    let meta = plugins
        .create_instance(smtp("Office", "mail.example"))
        .unwrap();
    let (started_tx, started) = channel();
    let (release, release_rx) = channel();
    *STALL.lock().unwrap() = (started_tx, release_rx);

    let stalled = std::thread::spawn({
        let plugins = plugins.clone();
        move || plugins.run_action_within(meta.id, "stall", Duration::from_millis(200))
    });
    // The action is running (and holds the lock that leaves `STALL` to it) until released.
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    let outcome = stalled.join().unwrap().unwrap();
    assert!(!outcome.ok);
    assert_eq!(
        outcome.text,
        "the action did not finish within 200ms (it is left running)"
    );
    assert!(outcome.elapsed >= Duration::from_millis(200));
    assert_eq!(
        action_rows(&plugins, meta.id)[0].1,
        "stall: failed: the action did not finish within 200ms (it is left running)"
    );
    // Pressed again while it still hangs: refused, not a second thread.
    let again = plugins.run_action(meta.id, "stall").unwrap();
    assert!(!again.ok);
    assert_eq!(
        again.text,
        "the action is still running from an earlier run; try again once it has finished"
    );
    // Released after its caller gave up, it finishes on its own thread: nothing else changes.
    release.send(()).unwrap();
    assert!(plugins.run_action(meta.id, "check").unwrap().ok);
}

#[test]
fn an_unknown_action_names_the_ones_the_type_offers_and_runs_nothing() {
    let plugins = in_memory();
    let meta = plugins
        .create_instance(smtp("Office", "mail.example"))
        .unwrap();

    let err = plugins.run_action(meta.id, "chek").unwrap_err();
    let Error::UnknownAction {
        action, available, ..
    } = &err
    else {
        panic!("expected UnknownAction, got {err:?}");
    };
    assert_eq!(action, "chek");
    assert_eq!(available, &["check", "explode", "stall", "leak"]);
    assert!(
        err.to_string()
            .ends_with("has no action `chek`; its actions: `check`, `explode`, `stall`, `leak`"),
        "{err}"
    );
    assert!(action_rows(&plugins, meta.id).is_empty());

    let unknown = InstanceId::new();
    assert!(matches!(
        plugins.run_action(unknown, "check"),
        Err(Error::UnknownInstance(id)) if id == unknown
    ));
}

#[test]
fn an_instance_that_does_not_load_says_why_and_runs_nothing() {
    let plugins = in_memory();
    let broken = plugins.create_instance(smtp("Broken", "refuse")).unwrap();

    let err = plugins.run_action(broken.id, "check").unwrap_err();
    assert!(
        matches!(&err, Error::Unloadable { reason, .. } if reason.contains("cannot resolve the SMTP host")),
        "{err:?}"
    );
    assert!(action_rows(&plugins, broken.id).is_empty());
}

#[test]
fn a_disabled_instance_runs_its_actions_unless_its_item_starts_its_instances() {
    let plugins = in_memory();
    let disabled = plugins
        .create_instance(smtp("Spare", "mail.example").status(Status::Disabled))
        .unwrap();
    let outcome = plugins.run_action(disabled.id, "check").unwrap();
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.instance.status, Status::Disabled);

    let pooled = plugins
        .create_instance(
            NewInstance::of::<dyn MailGateway>("pooled", "Pool").status(Status::Disabled),
        )
        .unwrap();
    let err = plugins.run_action(pooled.id, "check").unwrap_err();
    assert!(
        matches!(err, Error::NotBuilt { id, .. } if id == pooled.id),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("make it ACTIVE or RESERVED"),
        "{err}"
    );
    assert!(action_rows(&plugins, pooled.id).is_empty());

    plugins.set_status(&[pooled.id], Status::Active).unwrap();
    assert_eq!(
        plugins.run_action(pooled.id, "check").unwrap().text,
        "pool open"
    );
}

#[test]
fn a_sub_types_instance_runs_its_own_actions_and_its_parents() {
    let plugins = in_memory();
    let bouncer = plugins
        .instances(&plugin_system::InstanceQuery {
            search: Some("bouncer".into()),
            ..Default::default()
        })
        .rows
        .into_iter()
        .find(|row| row.meta.item.name == "bouncer")
        .expect("sync made the config-less item's instance")
        .meta;
    assert_eq!(
        plugins.run_action(bouncer.id, "test_bounce").unwrap().text,
        "bounce sent"
    );
    assert_eq!(
        plugins.run_action(bouncer.id, "check").unwrap().text,
        "bouncer ready"
    );
    // The parent's default body, which the item did not override.
    assert_eq!(
        plugins.run_action(bouncer.id, "leak").unwrap().text,
        "nothing to tell"
    );
}
