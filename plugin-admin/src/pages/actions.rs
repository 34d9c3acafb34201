//! The actions a plugin type offers per instance (`#[action(label = "...")]`), on the
//! instance's edit page: each with its label, its description and a button; a press runs it
//! (on the blocking pool, as the operator, audited by the runtime) and shows the page again
//! with what it said. The admin knows no plugin type: it reads the type's descriptor.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use plugin_runtime::registry::Registry;
use plugin_runtime::{ActionInfo, ActionOutcome, Error, InstanceId, InstanceMeta};

use super::Shared;
use super::create::is_unavailable;
use crate::AdminState;
use crate::auth::User;
use crate::csrf::{Checked, Pairs};
use crate::error::{AdminError, status_of};
use crate::text::rich;
use crate::view::csrf;

/// What pressing an action's button did.
pub(crate) enum Ran {
    /// It ran: ok or failed, with its text.
    Outcome(ActionOutcome),
    /// It did not run (the instance does not load, is not built, or its type has no such
    /// action): why not.
    NotRun {
        /// The action's name, as the button sent it.
        action: String,
        /// The runtime's reason.
        reason: Error,
    },
}

/// The actions an instance of this item offers: its type's (and its parents'), from the
/// registry. None for an instance whose type's code is gone.
fn offered(registry: &Registry, meta: &InstanceMeta) -> Vec<&'static ActionInfo> {
    registry
        .type_by_key(&meta.item.type_key)
        .map(|ty| ty.info.actions())
        .unwrap_or_default()
}

/// The section of the edit page: nothing when the type offers no action.
pub(crate) fn section(
    state: &AdminState,
    user: &User,
    meta: &InstanceMeta,
    ran: Option<&Ran>,
) -> Markup {
    let actions = offered(state.plugins.registry(), meta);
    if actions.is_empty() && ran.is_none() {
        return html! {};
    }
    let id = meta.id;
    html! {
        section #actions aria-labelledby="actions-title" {
            h2 #actions-title { "Actions" }
            @match ran {
                Some(Ran::Outcome(outcome)) => {
                    @let (class, said) = if outcome.ok { ("flash flash-done", "done") } else { ("flash flash-error", "failed") };
                    div class=(class) role="status" #action-result {
                        strong { (outcome.action.label()) ": " (said) } " "
                        span.action-text { (rich(&outcome.text)) }
                        " " span.help { "(" (elapsed(outcome)) ")" }
                    }
                }
                Some(Ran::NotRun { action, reason }) => {
                    @let label = actions.iter().find(|known| known.name() == action).map_or(action.as_str(), |known| known.label());
                    div.flash.flash-error role="alert" #action-result {
                        strong { (label) ": not run" } " " (rich(&reason.to_string()))
                    }
                }
                None => {}
            }
            @if !actions.is_empty() {
                ul.items.actions {
                    @for action in &actions {
                        li {
                            form.toolbar method="post" action=(state.path(&format!("/instances/{id}/actions/{}", action.name()))) {
                                (csrf(user))
                                button type="submit" name="action" value=(action.name()) { (action.label()) }
                                @if !action.description().is_empty() {
                                    span.help { (rich(action.description())) }
                                }
                            }
                        }
                    }
                }
                p.help { "An action runs against this instance as it is served now (save your changes first); every run is in its history." }
            }
        }
    }
}

/// How long it ran, as operators read it.
fn elapsed(outcome: &ActionOutcome) -> String {
    let millis = outcome.elapsed.as_millis();
    match millis {
        0..1000 => format!("{millis} ms"),
        _ => format!("{:.1} s", outcome.elapsed.as_secs_f64()),
    }
}

/// `POST /instances/{id}/actions/{name}`: runs the action as the operator and answers with
/// the edit page showing its result (200 when it ran, ok or failed; 404 for an action the
/// type does not offer; 409 when the instance cannot run it now).
pub(crate) async fn run(
    State(state): Shared,
    Path((id, name)): Path<(String, String)>,
    Checked { user, form: _ }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let actor = user.actor();
    let asked = name.clone();
    let result = state
        .blocking(move |plugins| Ok(plugins.acting_as(actor).run_action(id, &asked)))
        .await?;
    let (status, ran) = match result {
        Ok(outcome) => (StatusCode::OK, Ran::Outcome(outcome)),
        Err(err) if is_unavailable(&err) => return Err(err.into()),
        Err(err @ Error::UnknownInstance(_)) => return Err(err.into()),
        Err(reason) => {
            let status = match status_of(&reason) {
                StatusCode::NOT_FOUND => StatusCode::NOT_FOUND,
                _ => StatusCode::CONFLICT,
            };
            (
                status,
                Ran::NotRun {
                    action: name,
                    reason,
                },
            )
        }
    };
    super::edit::show(&state, &user, id, Some(&ran), status).await
}
