//! Plugins that live (issue 13): start before serve, stop after, once, in order; one item
//! serving several extension points with one config.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use plugin_system::prelude::*;
use plugin_system::{Error, InstanceUpdate, Status};
use support::TestDatabase;

// ---------------------------------------------------------------------------------------
// What the pools did: every hook writes an event; tests wait for the events they expect
// (a signal, with a generous limit), each test with labels of its own (tests of all three
// backends run at once in this binary).
// ---------------------------------------------------------------------------------------

static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static EVENT: Condvar = Condvar::new();

fn record(event: String) {
    EVENTS.lock().unwrap().push(event);
    EVENT.notify_all();
}

fn events_of(label: &str) -> Vec<String> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|event| event.split_once(' ').is_some_and(|(_, of)| of == label))
        .cloned()
        .collect()
}

fn count(label: &str, what: &str) -> usize {
    events_of(label)
        .iter()
        .filter(|event| event.starts_with(&format!("{what} ")))
        .count()
}

/// Waits until `label` has had `n` events `what`, failing after ten seconds.
fn wait_for(label: &str, what: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut events = EVENTS.lock().unwrap();
    loop {
        let seen = events
            .iter()
            .filter(|event| *event == &format!("{what} {label}"))
            .count();
        if seen >= n {
            return;
        }
        let now = std::time::Instant::now();
        assert!(
            now < deadline,
            "waited 10 s for {n} `{what} {label}`; events: {:?}",
            events
                .iter()
                .filter(|event| event.ends_with(label))
                .collect::<Vec<_>>()
        );
        events = EVENT.wait_timeout(events, deadline - now).unwrap().0;
    }
}

/// Gates a blocking start: `open` lets the start of `label` return.
static GATES: Mutex<Option<HashMap<String, bool>>> = Mutex::new(None);
static GATE: Condvar = Condvar::new();

fn wait_at_gate(label: &str) {
    let mut gates = GATES.lock().unwrap();
    while !gates
        .get_or_insert_with(HashMap::new)
        .get(label)
        .copied()
        .unwrap_or(false)
    {
        gates = GATE.wait(gates).unwrap();
    }
}

fn open(label: &str) {
    GATES
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(label.to_owned(), true);
    GATE.notify_all();
}

// ---------------------------------------------------------------------------------------
// The plugin types and items.
// ---------------------------------------------------------------------------------------

/// Connection pools.
#[plugin_type(name = "pool")]
pub trait Pool {
    fn label(&self) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct PoolConfig {
    /// Which events are this instance's.
    pub label: String,
    /// How its start goes: "ok", "fail", "panic" or "block" (until the test opens its gate).
    #[config(choices("ok", "fail", "panic", "block"), default = "ok")]
    pub start: String,
}

pub struct Connections {
    config: PoolConfig,
}

impl From<PoolConfig> for Connections {
    fn from(config: PoolConfig) -> Self {
        Connections { config }
    }
}

impl Lifecycle for Connections {
    fn start(&self) -> Result<(), PluginError> {
        let label = &self.config.label;
        record(format!("starting {label}"));
        match self.config.start.as_str() {
            "fail" => return Err(PluginError::new("the server refused the connection")),
            "panic" => panic!("no socket"),
            "block" => wait_at_gate(label),
            _ => {}
        }
        record(format!("started {label}"));
        Ok(())
    }

    fn stop(&self) {
        record(format!("stopped {}", self.config.label));
    }
}

#[plugin_item(name = "connections", config = PoolConfig, priority = 10, lifecycle)]
impl Pool for Connections {
    fn label(&self) -> String {
        self.config.label.clone()
    }
}

/// Needs no config: its default instance is what selection falls back to.
#[derive(Default)]
pub struct Spare;

#[plugin_item(name = "spare", priority = 900)]
impl Pool for Spare {
    fn label(&self) -> String {
        "spare".into()
    }
}

fn pool(label: &str, start: &str) -> NewInstance {
    NewInstance::of::<dyn Pool>("connections", label).config(&PoolConfig {
        label: label.into(),
        start: start.into(),
    })
}

/// The load failure reported for instance `id` (`expected`: why the test expects one).
fn failure_of(
    plugins: &Plugins,
    id: plugin_system::InstanceId,
    expected: &str,
) -> plugin_system::LoadFailure {
    plugins
        .load_failures()
        .into_iter()
        .find(|failure| failure.meta.id == id)
        .unwrap_or_else(|| panic!("no load failure reported: {expected}"))
}

fn served(plugins: &Plugins) -> String {
    plugins.get::<dyn Pool>().unwrap().label()
}

// ---------------------------------------------------------------------------------------
// Lifecycle, on every backend.
// ---------------------------------------------------------------------------------------

fn a_plugin_whose_start_blocks_is_not_served_until_it_returns(db: &TestDatabase) {
    let plugins = db.handle();
    let label = format!("{}-blocking", db.backend);
    let writer = {
        let (plugins, label) = (plugins.clone(), label.clone());
        std::thread::spawn(move || plugins.create_instance(pool(&label, "block")).unwrap())
    };
    wait_for(&label, "starting", 1);
    // Built, committed, starting: not served yet.
    assert_eq!(served(&plugins), "spare");
    open(&label);
    let created = writer.join().unwrap();
    assert_eq!(count(&label, "started"), 1);
    assert_eq!(served(&plugins), label);
    assert_eq!(plugins.get::<dyn Pool>().unwrap().meta().id, created.id);
}

fn a_failing_start_is_a_load_failure_and_selection_falls_back(db: &TestDatabase) {
    let plugins = db.handle();
    for how in ["fail", "panic"] {
        let label = format!("{}-{how}", db.backend);
        let created = plugins.create_instance(pool(&label, how)).unwrap();
        assert_eq!(served(&plugins), "spare", "{how}");
        let failure = failure_of(
            &plugins,
            created.id,
            "the instance is reported as a load failure",
        );
        let expected = match how {
            "fail" => "its start hook failed: the server refused the connection",
            _ => "its start hook panicked: no socket",
        };
        assert_eq!(failure.reason, expected);
        match plugins.get_by_id::<dyn Pool>(created.id) {
            Err(Error::Unloadable { reason, .. }) => assert_eq!(reason, expected),
            other => panic!("{how}: {other:?}"),
        }
        // Never started, so never stopped.
        assert_eq!(count(&label, "stopped"), 0, "{how}");
    }
}

fn a_replaced_disabled_or_deleted_instance_is_stopped_once_after_its_handles_drop(
    db: &TestDatabase,
) {
    let plugins = db.handle();
    let first = format!("{}-first", db.backend);
    let created = plugins.create_instance(pool(&first, "ok")).unwrap();
    let held = plugins.get::<dyn Pool>().unwrap();
    assert_eq!(held.label(), first);

    // Replaced: a new config builds and starts a new object; the old one is stopped only
    // once the handle held above is dropped.
    let second = format!("{}-second", db.backend);
    let update = InstanceUpdate {
        config: Some(
            PoolConfig {
                label: second.clone(),
                start: "ok".into(),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    let updated = plugins
        .update_instance(created.id, created.version, update)
        .unwrap();
    assert_eq!(served(&plugins), second);
    assert_eq!(count(&second, "started"), 1);
    assert_eq!(
        count(&first, "stopped"),
        0,
        "stopped while a caller still held it"
    );
    assert_eq!(
        held.label(),
        first,
        "a held handle keeps serving what it was"
    );
    drop(held);
    wait_for(&first, "stopped", 1);

    // A status change that keeps it serving re-labels the started object: no restart.
    plugins.set_status(&[updated.id], Status::Reserved).unwrap();
    assert_eq!(count(&second, "started"), 1);
    assert_eq!(count(&second, "stopped"), 0);

    // Disabled: stopped, and not started again until enabled.
    plugins.set_status(&[updated.id], Status::Disabled).unwrap();
    wait_for(&second, "stopped", 1);
    assert_eq!(served(&plugins), "spare");
    assert!(matches!(
        plugins.get_by_id_allow_disabled::<dyn Pool>(updated.id),
        Err(Error::Disabled { .. })
    ));
    plugins.set_status(&[updated.id], Status::Active).unwrap();
    assert_eq!(count(&second, "started"), 2);
    assert_eq!(served(&plugins), second);

    // Deleted: stopped.
    plugins.delete_instance(updated.id).unwrap();
    wait_for(&second, "stopped", 2);
    assert_eq!(served(&plugins), "spare");

    // Each object was stopped once: shutting down stops none of them again.
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
    assert_eq!(count(&first, "stopped"), 1);
    assert_eq!(count(&second, "stopped"), 2);
}

fn shutdown_stops_everything_once_and_waits_for_held_handles_until_its_deadline(db: &TestDatabase) {
    let plugins = db.handle();
    let (kept, free) = (
        format!("{}-kept", db.backend),
        format!("{}-free", db.backend),
    );
    plugins.create_instance(pool(&kept, "ok")).unwrap();
    plugins
        .create_instance(pool(&free, "ok").priority(50))
        .unwrap();
    let held = plugins.get::<dyn Pool>().unwrap();
    assert_eq!(held.label(), kept);

    let report = plugins.shutdown(Duration::from_millis(300));
    assert_eq!(count(&kept, "stopped"), 1);
    assert_eq!(count(&free, "stopped"), 1);
    assert!(
        report.stopped.iter().any(|label| label.starts_with(&free)),
        "{report:?}"
    );
    assert!(
        report
            .stopped_while_held
            .iter()
            .any(|label| label.starts_with(&kept)),
        "{report:?}"
    );
    assert!(report.unfinished.is_empty(), "{report:?}");

    // Nothing is served after a shutdown, and nothing is started again.
    assert!(matches!(
        plugins.get::<dyn Pool>(),
        Err(Error::NoInstance { .. })
    ));
    let late = format!("{}-late", db.backend);
    plugins.create_instance(pool(&late, "ok")).unwrap();
    assert_eq!(count(&late, "starting"), 0);
    drop(held);
    assert_eq!(count(&kept, "stopped"), 1);
}

// ---------------------------------------------------------------------------------------
// A start that outlives its deadline, and async hooks (the in-memory store: the store
// plays no part).
// ---------------------------------------------------------------------------------------

pub struct Slow {
    label: String,
}

impl From<PoolConfig> for Slow {
    fn from(config: PoolConfig) -> Self {
        Slow {
            label: config.label,
        }
    }
}

impl Lifecycle for Slow {
    const START_DEADLINE: Duration = Duration::from_millis(50);

    fn start(&self) -> Result<(), PluginError> {
        record(format!("starting {}", self.label));
        wait_at_gate(&self.label);
        record(format!("started {}", self.label));
        Ok(())
    }

    fn stop(&self) {
        record(format!("stopped {}", self.label));
    }
}

#[plugin_item(name = "slow", config = PoolConfig, priority = 20, lifecycle)]
impl Pool for Slow {
    fn label(&self) -> String {
        self.label.clone()
    }
}

#[test]
fn a_start_past_its_deadline_fails_the_instance_and_is_stopped_when_it_returns() {
    let plugins = Plugins::builder()
        .keyring(support::keyring())
        .build()
        .unwrap();
    let label = "memory-slow".to_owned();
    let created = plugins
        .create_instance(
            NewInstance::of::<dyn Pool>("slow", &label).config(&PoolConfig {
                label: label.clone(),
                start: "ok".into(),
            }),
        )
        .unwrap();
    let failure = failure_of(
        &plugins,
        created.id,
        "a start past its deadline is a load failure",
    );
    assert_eq!(failure.reason, "its start hook did not return within 50 ms");
    assert_eq!(served(&plugins), "spare");
    // The start returns at last: the object it started is never served, and is stopped.
    open(&label);
    wait_for(&label, "stopped", 1);
    assert_eq!(count(&label, "started"), 1);
    assert_eq!(served(&plugins), "spare");
}

/// Pools whose hooks are async.
pub struct AsyncPool {
    label: String,
}

impl From<PoolConfig> for AsyncPool {
    fn from(config: PoolConfig) -> Self {
        AsyncPool {
            label: config.label,
        }
    }
}

impl AsyncLifecycle for AsyncPool {
    async fn start(&self) -> Result<(), PluginError> {
        // Yields once (woken at once) before it is done: a future, run to completion.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        record(format!("started {}", self.label));
        Ok(())
    }

    async fn stop(&self) {
        record(format!("stopped {}", self.label));
    }
}

#[plugin_item(name = "async_pool", config = PoolConfig, priority = 30, async_lifecycle)]
impl Pool for AsyncPool {
    fn label(&self) -> String {
        self.label.clone()
    }
}

#[test]
fn async_hooks_run_to_completion_before_serving_and_after_retiring() {
    let plugins = Plugins::builder()
        .keyring(support::keyring())
        .build()
        .unwrap();
    let label = "memory-async".to_owned();
    let created = plugins
        .create_instance(
            NewInstance::of::<dyn Pool>("async_pool", &label).config(&PoolConfig {
                label: label.clone(),
                start: "ok".into(),
            }),
        )
        .unwrap();
    assert_eq!(count(&label, "started"), 1);
    assert_eq!(served(&plugins), label);
    plugins.delete_instance(created.id).unwrap();
    wait_for(&label, "stopped", 1);
}

// ---------------------------------------------------------------------------------------
// One item, several extension points (seed 002's e-mail plugin answering two hooks).
// ---------------------------------------------------------------------------------------

#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    fn user_registered(&self, user: &str) -> String;
}

#[plugin_type(name = "order_confirmed")]
pub trait OrderConfirmed {
    fn order_confirmed(&self, order: u64) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
}

pub struct OrderEmails {
    config: SmtpConfig,
}

impl From<SmtpConfig> for OrderEmails {
    fn from(config: SmtpConfig) -> Self {
        OrderEmails { config }
    }
}

/// E-mails on sign-up and on order confirmation, through one SMTP server.
#[plugin_item(name = "order_emails", config = SmtpConfig, also = [OrderConfirmed])]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, user: &str) -> String {
        format!("welcome {user} via {}", self.config.host)
    }
}

#[plugin_item(also, config = SmtpConfig)]
impl OrderConfirmed for OrderEmails {
    fn order_confirmed(&self, order: u64) -> String {
        format!("order {order} via {}", self.config.host)
    }
}

#[test]
fn one_instance_serves_every_extension_point_its_item_lists_with_its_one_config() {
    let plugins = Plugins::builder()
        .keyring(support::keyring())
        .build()
        .unwrap();
    let created = plugins
        .create_instance(
            NewInstance::of::<dyn UserRegistered>("order_emails", "Order e-mails").config(
                &SmtpConfig {
                    host: "smtp.example.com".into(),
                },
            ),
        )
        .unwrap();
    let welcomed = plugins
        .each::<dyn UserRegistered, _, _>(|hook| Ok::<_, PluginError>(hook.user_registered("ada")));
    let confirmed = plugins
        .each::<dyn OrderConfirmed, _, _>(|hook| Ok::<_, PluginError>(hook.order_confirmed(7)));
    assert_eq!(
        welcomed
            .iter()
            .map(|served| (served.meta.id, served.result.as_ref().unwrap().clone()))
            .collect::<Vec<_>>(),
        vec![(created.id, "welcome ada via smtp.example.com".to_owned())]
    );
    assert_eq!(
        confirmed
            .iter()
            .map(|served| (served.meta.id, served.result.as_ref().unwrap().clone()))
            .collect::<Vec<_>>(),
        vec![(created.id, "order 7 via smtp.example.com".to_owned())]
    );
    // One object behind both views.
    let as_user = plugins.get_by_id::<dyn UserRegistered>(created.id).unwrap();
    let as_order = plugins.get_by_id::<dyn OrderConfirmed>(created.id).unwrap();
    assert_eq!(
        Arc::as_ptr(&as_user.shared()) as *const u8,
        Arc::as_ptr(&as_order.shared()) as *const u8
    );
    // A type it does not serve is refused by id, naming the instance's own type.
    assert!(matches!(
        plugins.get_by_id::<dyn Pool>(created.id),
        Err(Error::WrongType { .. })
    ));
    // The registry says which extension points the item serves.
    let item = plugins
        .registry()
        .items()
        .find(|item| item.name() == "order_emails")
        .unwrap();
    let served: Vec<String> = item.serves().map(|ty| ty.name().to_owned()).collect();
    assert_eq!(served, ["user_registered", "order_confirmed"]);
    let order_type = plugins
        .registry()
        .types()
        .iter()
        .find(|ty| ty.info.name() == "order_confirmed")
        .unwrap();
    assert!(order_type.items.is_empty());
    assert_eq!(order_type.also_served_by.len(), 1);
}

#[test]
fn a_disabled_multi_type_instance_serves_none_of_its_types() {
    let plugins = Plugins::builder()
        .keyring(support::keyring())
        .build()
        .unwrap();
    let created = plugins
        .create_instance(
            NewInstance::of::<dyn UserRegistered>("order_emails", "Order e-mails").config(
                &SmtpConfig {
                    host: "smtp.example.com".into(),
                },
            ),
        )
        .unwrap();
    plugins.set_status(&[created.id], Status::Disabled).unwrap();
    assert!(plugins.active::<dyn UserRegistered>().is_empty());
    assert!(plugins.active::<dyn OrderConfirmed>().is_empty());
    assert!(matches!(
        plugins.get_by_id::<dyn OrderConfirmed>(created.id),
        Err(Error::Disabled { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Dependencies: an item's constructor receives the plugins it needs, resolved in its scope.
// ---------------------------------------------------------------------------------------

/// Renders messages.
#[plugin_type(name = "template_renderer")]
pub trait TemplateRenderer {
    fn render(&self, text: &str) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct RendererConfig {
    /// Which events are this instance's.
    pub label: String,
    /// Put before every rendered text.
    pub prefix: String,
}

pub struct Renderer {
    config: RendererConfig,
}

impl From<RendererConfig> for Renderer {
    fn from(config: RendererConfig) -> Self {
        Renderer { config }
    }
}

impl Lifecycle for Renderer {
    fn start(&self) -> Result<(), PluginError> {
        record(format!("started {}", self.config.label));
        Ok(())
    }

    fn stop(&self) {
        record(format!("stopped {}", self.config.label));
    }
}

#[plugin_item(name = "prefixing", config = RendererConfig, lifecycle)]
impl TemplateRenderer for Renderer {
    fn render(&self, text: &str) -> String {
        format!("{}{text}", self.config.prefix)
    }
}

/// Sends mails.
#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn mail(&self, text: &str) -> String;
}

pub struct TemplatedMails {
    label: String,
    renderer: Plugin<dyn TemplateRenderer>,
}

impl FromNeeds<PoolConfig> for TemplatedMails {
    fn from_needs(config: PoolConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        record(format!("built {}", config.label));
        Ok(TemplatedMails {
            label: config.label,
            renderer: needs.get::<dyn TemplateRenderer>()?,
        })
    }
}

impl Lifecycle for TemplatedMails {
    fn start(&self) -> Result<(), PluginError> {
        record(format!("started {}", self.label));
        Ok(())
    }

    fn stop(&self) {
        record(format!("stopped {}", self.label));
    }
}

#[plugin_item(
    name = "templated",
    config = PoolConfig,
    needs = [TemplateRenderer],
    lifecycle
)]
impl Mailer for TemplatedMails {
    fn mail(&self, text: &str) -> String {
        self.renderer.render(text)
    }
}

fn renderer(label: &str, prefix: &str) -> NewInstance {
    NewInstance::of::<dyn TemplateRenderer>("prefixing", label).config(&RendererConfig {
        label: label.into(),
        prefix: prefix.into(),
    })
}

fn mailer(label: &str) -> NewInstance {
    NewInstance::of::<dyn Mailer>("templated", label).config(&PoolConfig {
        label: label.into(),
        start: "ok".into(),
    })
}

fn a_dependent_gets_what_it_needs_in_its_scope_and_is_rebuilt_when_that_changes(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (global, acme_renderer, mails) = (
        format!("{tag}-global-renderer"),
        format!("{tag}-acme-renderer"),
        format!("{tag}-acme-mails"),
    );
    // Not met yet: the instance exists, is not served, and says why.
    let created = plugins
        .create_instance(mailer(&mails).scope("acme"))
        .unwrap();
    let failure = failure_of(&plugins, created.id, "an unmet need is a load failure");
    assert_eq!(
        failure.reason,
        "needs `template_renderer`: no ACTIVE or RESERVED instance in scope `acme` or global"
    );
    // A global renderer meets it: the waiting dependent is built, started and served.
    plugins.create_instance(renderer(&global, "G:")).unwrap();
    let acme = plugins.scoped("acme");
    assert_eq!(acme.get::<dyn Mailer>().unwrap().mail("hi"), "G:hi");
    assert_eq!(count(&mails, "built"), 1);
    // The tenant's own renderer comes first in its scope: the dependent is rebuilt with it,
    // and the one built with the global renderer is stopped.
    let own = plugins
        .create_instance(renderer(&acme_renderer, "A:").scope("acme"))
        .unwrap();
    assert_eq!(acme.get::<dyn Mailer>().unwrap().mail("hi"), "A:hi");
    assert_eq!(count(&mails, "built"), 2);
    wait_for(&mails, "stopped", 1);
    // Its config changes: rebuilt again; a status change that keeps it selected does not.
    let update = InstanceUpdate {
        config: Some(
            RendererConfig {
                label: acme_renderer.clone(),
                prefix: "B:".into(),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    plugins
        .update_instance(own.id, own.version, update)
        .unwrap();
    assert_eq!(acme.get::<dyn Mailer>().unwrap().mail("hi"), "B:hi");
    assert_eq!(count(&mails, "built"), 3);
    plugins
        .set_priority(&[own.id], plugin_system::PriorityChange::Set(1))
        .unwrap();
    assert_eq!(count(&mails, "built"), 3);
    wait_for(&mails, "stopped", 2);
    // Another handle (another process) builds the same.
    let other = db.handle();
    assert_eq!(
        other.scoped("acme").get::<dyn Mailer>().unwrap().mail("hi"),
        "B:hi"
    );
    assert!(other.shutdown(Duration::from_secs(5)).is_clean());
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
}

fn disabling_what_an_active_instance_needs_is_refused_naming_it_unless_forced(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (render, mails) = (format!("{tag}-render"), format!("{tag}-mails"));
    let provider = plugins.create_instance(renderer(&render, "R:")).unwrap();
    let dependent = plugins
        .create_instance(mailer(&mails).scope("acme"))
        .unwrap();
    assert_eq!(
        plugins
            .scoped("acme")
            .get::<dyn Mailer>()
            .unwrap()
            .mail("x"),
        "R:x"
    );
    for refused in [
        plugins.set_status(&[provider.id], Status::Disabled),
        plugins.delete_instance(provider.id).map(|()| 0),
    ] {
        match refused {
            Err(err @ Error::Required { .. }) => {
                let text = err.to_string();
                assert!(text.contains(&format!("`{render}`")), "{text}");
                assert!(text.contains(&format!("`{mails} (scope acme)`")), "{text}");
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    assert_eq!(
        plugins
            .scoped("acme")
            .get::<dyn Mailer>()
            .unwrap()
            .mail("x"),
        "R:x",
        "a refused write changed nothing"
    );
    // A second provider makes the first one free to go.
    let spare = plugins
        .create_instance(renderer(&format!("{tag}-render-2"), "S:"))
        .unwrap();
    plugins
        .set_status(&[provider.id], Status::Disabled)
        .unwrap();
    assert_eq!(
        plugins
            .scoped("acme")
            .get::<dyn Mailer>()
            .unwrap()
            .mail("x"),
        "S:x"
    );
    // Forced: the dependent stops being served, and says why.
    assert!(matches!(
        plugins.set_status(&[spare.id], Status::Disabled),
        Err(Error::Required { .. })
    ));
    plugins
        .forced()
        .set_status(&[spare.id], Status::Disabled)
        .unwrap();
    assert!(plugins.scoped("acme").get::<dyn Mailer>().is_err());
    let failure = failure_of(
        &plugins,
        dependent.id,
        "the dependent reports its unmet need",
    );
    assert!(
        failure.reason.starts_with("needs `template_renderer`"),
        "{}",
        failure.reason
    );
    wait_for(&mails, "stopped", 2);
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
}

fn a_tenant_switching_off_what_its_dependent_needs_is_refused_unless_forced(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (render, mails) = (
        format!("{tag}-switch-render"),
        format!("{tag}-switch-mails"),
    );
    let provider = plugins.create_instance(renderer(&render, "R:")).unwrap();
    let dependent = plugins
        .create_instance(mailer(&mails).scope("acme"))
        .unwrap();
    let mail = |plugins: &Plugins| {
        plugins
            .scoped("acme")
            .get::<dyn Mailer>()
            .map(|mailer| mailer.mail("x"))
    };
    assert_eq!(mail(&plugins).unwrap(), "R:x");
    // The tenant's mailer needs the global renderer: the tenant cannot switch it off...
    let refused = plugins.set_activation("acme", provider.id, plugin_system::Activation::Off);
    assert!(
        matches!(&refused, Err(Error::Required { dependents, .. }) if dependents == &[format!("{mails} (scope acme)")]),
        "{refused:?}"
    );
    // ...but another tenant, which needs nothing, can.
    assert!(
        plugins
            .set_activation("globex", provider.id, plugin_system::Activation::Off)
            .unwrap()
    );
    assert_eq!(mail(&plugins).unwrap(), "R:x");
    // Forced: the mailer is built again without it, and says why it is not served.
    plugins
        .forced()
        .set_activation("acme", provider.id, plugin_system::Activation::Off)
        .unwrap();
    assert!(mail(&plugins).is_err());
    let failure = failure_of(&plugins, dependent.id, "the switch took its need away");
    assert_eq!(
        failure.reason,
        "needs `template_renderer`: no ACTIVE or RESERVED instance in scope `acme` or global"
    );
    // Switched back: built again with it.
    plugins
        .set_activation("acme", provider.id, plugin_system::Activation::Default)
        .unwrap();
    assert_eq!(mail(&plugins).unwrap(), "R:x");
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
}

fn shutdown_stops_dependents_before_what_they_need(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (render, mails) = (format!("{tag}-order-render"), format!("{tag}-order-mails"));
    plugins.create_instance(renderer(&render, "R:")).unwrap();
    plugins.create_instance(mailer(&mails)).unwrap();
    let report = plugins.shutdown(Duration::from_secs(5));
    assert!(report.is_clean(), "{report:?}");
    let order: Vec<String> = EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|event| {
            *event == &format!("stopped {render}") || *event == &format!("stopped {mails}")
        })
        .cloned()
        .collect();
    assert_eq!(
        order,
        [format!("stopped {mails}"), format!("stopped {render}")]
    );
    assert!(report.stopped[0].starts_with(&mails), "{report:?}");
}

/// The linked registry without the `connections` item: its code "removed" by a deployment.
fn without_connections() -> &'static plugin_system::registry::Registry {
    use plugin_system::__private::{ItemInfo, ItemParts};
    use plugin_system::registry::Registry;
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let owned: Vec<ItemInfo> = Registry::linked()
            .unwrap()
            .items()
            .filter(|item| item.name() != "connections")
            .map(|item| ItemInfo::from_parts(ItemParts { ..*item.parts() }))
            .collect();
        Registry::collect(&[], Vec::leak(owned), &[]).unwrap()
    })
}

fn an_instance_whose_code_is_gone_is_stopped(db: &TestDatabase) {
    let plugins = db.handle();
    let label = format!("{}-orphaned", db.backend);
    plugins.create_instance(pool(&label, "ok")).unwrap();
    assert_eq!(served(&plugins), label);
    // A deployment without the item's code syncs the store: its rows are orphaned.
    let other = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .registry(without_connections())
        .no_watch()
        .build()
        .unwrap();
    assert!(
        other
            .startup_sync()
            .is_some_and(|sync| sync.items_orphaned == 1)
    );
    assert!(plugins.refresh().unwrap());
    wait_for(&label, "stopped", 1);
    assert_eq!(served(&plugins), "spare");
    assert_eq!(count(&label, "stopped"), 1);
}

fn instances_written_together_start_side_by_side(db: &TestDatabase) {
    let plugins = db.handle();
    let tag = db.backend;
    let (first, second) = (format!("{tag}-side-a"), format!("{tag}-side-b"));
    // Each start blocks until its gate opens, and the gates open only once both starts have
    // begun: one start after the other, the first would wait out its deadline.
    let opener = std::thread::spawn({
        let (first, second) = (first.clone(), second.clone());
        move || {
            let both_began = std::panic::catch_unwind(|| {
                wait_for(&first, "starting", 1);
                wait_for(&second, "starting", 1);
            });
            open(&first);
            open(&second);
            both_began.is_ok()
        }
    });
    let created = plugins
        .create_instances(vec![pool(&first, "block"), pool(&second, "block")])
        .unwrap();
    assert!(
        opener.join().unwrap(),
        "the second start began before the first returned"
    );
    for (meta, label) in created.iter().zip([&first, &second]) {
        assert_eq!(
            &plugins.get_by_id::<dyn Pool>(meta.id).unwrap().label(),
            label
        );
    }
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
}

on_every_backend!(
    instances_written_together_start_side_by_side,
    an_instance_whose_code_is_gone_is_stopped,
    a_plugin_whose_start_blocks_is_not_served_until_it_returns,
    a_failing_start_is_a_load_failure_and_selection_falls_back,
    a_replaced_disabled_or_deleted_instance_is_stopped_once_after_its_handles_drop,
    shutdown_stops_everything_once_and_waits_for_held_handles_until_its_deadline,
    a_dependent_gets_what_it_needs_in_its_scope_and_is_rebuilt_when_that_changes,
    disabling_what_an_active_instance_needs_is_refused_naming_it_unless_forced,
    shutdown_stops_dependents_before_what_they_need,
    a_tenant_switching_off_what_its_dependent_needs_is_refused_unless_forced,
);
