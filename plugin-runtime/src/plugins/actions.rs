//! Running an admin action (`#[action(label = "...")]`) against one instance: as the snapshot
//! holds it, on a thread of its own with a deadline, a panic caught, every run audited.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::Plugins;
use super::lifecycle;
use super::snapshot::EntryState;
use crate::action::{ACTION_DEADLINE, ActionInfo, ActionOutcome, clean_text};
use crate::config::FieldKind;
use crate::error::panic_message;
use crate::instance::InstanceMeta;
use crate::keys::InstanceId;
use crate::registration::ErasedPlugin;
use crate::store::rules;
use crate::{Error, PluginError};

impl Plugins {
    /// Runs the action `name` of instance `id`'s plugin type (see
    /// [`TypeInfo::actions`](crate::registry::TypeInfo::actions)) against the instance as the
    /// snapshot holds it, and audits the run as this handle's actor; waits at most
    /// [`ACTION_DEADLINE`] (see [`run_action_within`](Self::run_action_within)).
    ///
    /// The action runs on a thread of its own: an error it returns, a panic, or a run past
    /// the deadline is a *failed* [`ActionOutcome`] saying so, never a crash. Its text is cut
    /// to [`MAX_ACTION_TEXT`](crate::MAX_ACTION_TEXT) characters, and the instance's secret
    /// config values in it are replaced by `***`, in the outcome and in the audit row (action
    /// `action`, detail `name: ok: text` or `name: failed: text`).
    ///
    /// A DISABLED instance runs its actions too (testing a connection before enabling it),
    /// unless its item has start and stop hooks: such an instance is not built
    /// ([`Error::NotBuilt`]). Nothing runs, and nothing is audited, for an unknown instance
    /// ([`Error::UnknownInstance`]), an action its type does not offer
    /// ([`Error::UnknownAction`], naming the ones it does), an instance that does not load
    /// ([`Error::Unloadable`], with the reason) or whose code is gone ([`Error::Orphaned`]),
    /// or when the store cannot be read or written (the run could not be audited).
    pub fn run_action(&self, id: InstanceId, name: &str) -> Result<ActionOutcome, Error> {
        self.run_action_within(id, name, ACTION_DEADLINE)
    }

    /// [`run_action`](Self::run_action), waiting at most `deadline` for the action. An action
    /// still running then is reported failed ("did not finish within ...") and left to finish
    /// on its thread, whose result is dropped.
    pub fn run_action_within(
        &self,
        id: InstanceId,
        name: &str,
        deadline: Duration,
    ) -> Result<ActionOutcome, Error> {
        let (meta, action, views) = self.action_target(id, name)?;
        let secrets = self.secret_values(&meta)?;
        let started = Instant::now();
        let (ok, text) = run_isolated(meta.id, action, views, deadline);
        let outcome = ActionOutcome {
            instance: meta,
            action,
            ok,
            text: clean_text(&text, &secrets),
            elapsed: started.elapsed(),
        };
        rules::record_action(&*self.inner.store, &self.actor, &outcome)?;
        tracing::info!(
            instance = %outcome.instance.id,
            action = action.name(),
            ok = outcome.ok,
            actor = %self.actor,
            "plugin action ran"
        );
        Ok(outcome)
    }

    /// The instance as the snapshot holds it, the action, and the plugin's views (the action
    /// runs on the one of its declaring type): or why the action cannot run.
    fn action_target(
        &self,
        id: InstanceId,
        name: &str,
    ) -> Result<(InstanceMeta, &'static ActionInfo, Vec<ErasedPlugin>), Error> {
        let snapshot = self.inner.snapshot.load();
        let entry = snapshot.entry(id).ok_or(Error::UnknownInstance(id))?;
        let meta = &entry.meta;
        let orphaned = || Error::Orphaned {
            id,
            instance: meta.name.clone(),
            item: meta.item.to_string(),
        };
        let ty = match (
            &entry.state,
            self.inner.registry.type_by_key(&meta.item.type_key),
        ) {
            (EntryState::Orphaned, _) | (_, None) => return Err(orphaned()),
            (_, Some(ty)) => ty.info,
        };
        let actions = ty.actions();
        let Some(action) = actions.iter().find(|action| action.name() == name).copied() else {
            return Err(Error::UnknownAction {
                id,
                instance: meta.name.clone(),
                plugin_type: ty.key().to_string(),
                action: name.to_owned(),
                available: actions
                    .iter()
                    .map(|action| action.name().to_owned())
                    .collect(),
            });
        };
        let views = match &entry.state {
            EntryState::Loaded { views, .. } => {
                views.iter().map(|(_, plugin)| Arc::clone(plugin)).collect()
            }
            EntryState::NotStarted => {
                return Err(Error::NotBuilt {
                    id,
                    instance: meta.name.clone(),
                });
            }
            EntryState::Failed(reason) => {
                return Err(Error::Unloadable {
                    id,
                    instance: meta.name.clone(),
                    item: meta.item.to_string(),
                    reason: reason.clone(),
                });
            }
            EntryState::Orphaned => return Err(orphaned()),
        };
        Ok((meta.clone(), action, views))
    }

    /// The values of the instance's secret config fields, to mask in what an action says.
    fn secret_values(&self, meta: &InstanceMeta) -> Result<Vec<String>, Error> {
        let Some(schema) = self
            .inner
            .registry
            .item(&meta.item)
            .ok()
            .and_then(|item| item.schema())
        else {
            return Ok(Vec::new());
        };
        if !schema.fields.iter().any(|f| f.kind == FieldKind::Secret) {
            return Ok(Vec::new());
        }
        let stored = self.config_values(meta.id)?.unwrap_or_default();
        // The values the plugin was built with: a secret held as a reference is masked as
        // what it resolves to (the reference itself names a variable, not a secret). When a
        // reference does not resolve here, the plugin was not built from it either.
        let values = crate::config::resolve_references(schema, &stored)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or(stored);
        Ok(schema
            .fields
            .iter()
            .filter(|field| field.kind == FieldKind::Secret)
            .filter_map(|field| values.get(field.name))
            .filter_map(|value| value.as_str().map(str::to_owned))
            .collect())
    }
}

/// Runs `action` on the view of its type among `views`, on a thread of its own, waiting until
/// `deadline`: whether it returned `Ok`, and its text (or why it failed).
/// The actions running now in this process, by instance and action: a second run of one
/// still running (a hung connection test pressed again) is refused instead of piling up
/// threads.
static RUNNING: Mutex<BTreeSet<(InstanceId, &'static str)>> = Mutex::new(BTreeSet::new());

/// An entry of [`RUNNING`], removed when the run's thread ends (or never starts).
struct Running((InstanceId, &'static str));

impl Drop for Running {
    fn drop(&mut self) {
        running().remove(&self.0);
    }
}

fn running() -> std::sync::MutexGuard<'static, BTreeSet<(InstanceId, &'static str)>> {
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_isolated(
    id: InstanceId,
    action: &'static ActionInfo,
    views: Vec<ErasedPlugin>,
    deadline: Duration,
) -> (bool, String) {
    type Answer = Result<Option<Result<String, PluginError>>, String>;
    let key = (id, action.name());
    if !running().insert(key) {
        return (
            false,
            "the action is still running from an earlier run; try again once it has finished"
                .to_owned(),
        );
    }
    let guard = Running(key);
    // The action runs inside the tokio runtime of its caller (or of the handle's build), as
    // start and stop hooks do: one that needs a tokio handle finds it.
    let context = lifecycle::runtime_context();
    let (sender, receiver) = mpsc::channel::<Answer>();
    let spawned = thread::Builder::new()
        .name("plugin-action".into())
        .spawn(move || {
            let _running = guard;
            let _entered = lifecycle::enter(&context);
            let run = || views.iter().find_map(|plugin| action.run(plugin));
            let answer = catch_unwind(AssertUnwindSafe(run)).map_err(|panic| panic_message(&panic));
            // The caller is gone when the deadline passed: nobody to tell.
            let _ = sender.send(answer);
        });
    if let Err(err) = spawned {
        return (false, format!("the action could not run: no thread: {err}"));
    }
    match receiver.recv_timeout(deadline) {
        Ok(Ok(Some(Ok(text)))) => (true, text),
        Ok(Ok(Some(Err(err)))) => (false, err.report()),
        // Only if the registry paired an action with another type's instance.
        Ok(Ok(None)) => (
            false,
            "the instance is not of the type that declares the action".to_owned(),
        ),
        Ok(Err(panic)) => (false, format!("the action panicked: {panic}")),
        Err(RecvTimeoutError::Timeout) => {
            tracing::warn!(
                action = action.name(),
                ?deadline,
                "plugin action did not finish in time; left running on its thread"
            );
            (
                false,
                format!("the action did not finish within {deadline:?} (it is left running)"),
            )
        }
        Err(RecvTimeoutError::Disconnected) => (
            false,
            "the action's thread ended without an answer".to_owned(),
        ),
    }
}
