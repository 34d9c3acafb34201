//! Editing an instance, safe against lost updates.
//!
//! The form carries the version its values were read at. A save against a newer stored
//! version is refused with what changed (the audit rows since the page was opened, and each
//! field where the stored value and the operator's differ); the refusal's form still carries
//! the *old* version, so pressing Save again is refused again. Only ticking "save my values
//! over their change" (which carries the version the operator has now seen) overwrites.
//! A save sends only the fields that differ from the stored row, so the audit names only
//! what the operator changed.
//!
//! An instance a declared file manages is shown read-only, under the notice that says where
//! it is changed and offers to release it (see [`super::managed`]); a save of it (a tab opened
//! before the file took it over) is refused with the same page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use plugin_runtime::config::{ConfigValues, FieldKind};
use plugin_runtime::registry::ItemInfo;
use plugin_runtime::store::{AuditQuery, AuditRecord};
use plugin_runtime::{Error, InstanceId, InstanceRecord, InstanceUpdate};

use super::actions::{self, Ran};
use super::create::is_unavailable;
use super::{Shared, flash, managed, quoted, redirect};
use crate::AdminState;
use crate::auth::{Flash, User};
use crate::csrf::{Checked, Pairs, value};
use crate::error::AdminError;
use crate::form::{self, Filled, Meta, Mode, text_of};
use crate::text::rich;
use crate::view::{csrf, page as layout};

/// What the edit page reads: the stored row, its config, and the newest audit row about it.
struct Loaded {
    record: InstanceRecord,
    config: Result<Option<ConfigValues>, Error>,
    seen: u64,
}

fn load(plugins: &plugin_runtime::Plugins, id: InstanceId) -> Result<Loaded, Error> {
    let record = plugins.instance(id)?;
    let config = match record.sealed_config {
        Some(_) => plugins.config_values(id),
        None => Ok(None),
    };
    let seen = plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(1)
        })?
        .first()
        .map_or(0, |row| row.seq);
    Ok(Loaded {
        record,
        config,
        seen,
    })
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let flash = flash(&state, &user);
    let notes = Notes {
        flash: flash.as_ref(),
        ..Notes::default()
    };
    render(&state, &user, id, notes, StatusCode::OK).await
}

/// The edit page of instance `id` as stored now, with what an action just did (`ran`),
/// answered with `status` (422 instead when the stored config of an instance that can be
/// edited cannot be read).
pub(crate) async fn show(
    state: &AdminState,
    user: &User,
    id: InstanceId,
    ran: Option<&Ran>,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let notes = Notes {
        ran,
        ..Notes::default()
    };
    render(state, user, id, notes, status).await
}

/// [`show`], with any of the [`Notes`].
async fn render(
    state: &AdminState,
    user: &User,
    id: InstanceId,
    notes: Notes<'_>,
    status: StatusCode,
) -> Result<Response, AdminError> {
    let loaded = state.blocking(move |plugins| load(plugins, id)).await?;
    let record = &loaded.record;
    let mut filled = Filled::default();
    filled.set("instance_name", record.meta.name.clone());
    filled.set("instance_description", record.description.clone());
    filled.set("instance_status", record.meta.status.as_str().to_owned());
    filled.set("instance_priority", record.meta.priority.to_string());
    match &loaded.config {
        Ok(Some(values)) => filled.config(values),
        Ok(None) => {}
        Err(err) => filled.error(
            "",
            format!("The stored config cannot be read ({err}); saving needs every field again."),
        ),
    }
    let form = EditForm {
        base_version: record.meta.version,
        seen: loaded.seen,
    };
    let status = if filled.errors.is_empty() || record.managed_by.is_some() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        edit_page(state, user, record, &filled, &form, notes),
    )
        .into_response())
}

/// What the edit page shows besides the instance.
#[derive(Default, Clone, Copy)]
struct Notes<'a> {
    /// Why a save was refused.
    refusal: Option<&'a Refusal>,
    /// What an action just did.
    ran: Option<&'a Ran>,
    /// The message of the request that led here (a release).
    flash: Option<&'a Flash>,
}

/// The hidden state of the edit form.
struct EditForm {
    /// The version the form's values were read at.
    base_version: i64,
    /// The newest audit row about the instance when the page was opened.
    seen: u64,
}

/// One field of a refusal: label, when the operator opened the page, stored now, theirs.
type Difference = (String, String, String, String);

/// The inputs whose opened value the form keeps (`was.<input>`), to show what changed.
/// Never a secret's.
fn tracked(item: &ItemInfo) -> Vec<(String, String)> {
    let mut inputs: Vec<(String, String)> = [
        ("Name", "instance_name"),
        ("Description", "instance_description"),
        ("Status", "instance_status"),
        ("Priority", "instance_priority"),
    ]
    .iter()
    .map(|(label, input)| ((*label).to_owned(), (*input).to_owned()))
    .collect();
    if let Some(schema) = item.schema() {
        for field in schema.fields.iter().filter(|f| f.kind != FieldKind::Secret) {
            inputs.push((form::label(field.label), format!("config.{}", field.name)));
        }
    }
    inputs
}

/// The value an input had when the page was first opened.
fn opened<'a>(filled: &'a Filled, input: &str) -> &'a str {
    let was = format!("was.{input}");
    if filled.has(&was) {
        filled.first(&was)
    } else {
        filled.first(input)
    }
}

/// What another operator changed, for the refusal.
struct Conflict {
    /// The audit rows about the instance since the page was opened, newest first.
    changes: Vec<AuditRecord>,
    /// Each field that someone changed: label, when the operator opened the page, stored
    /// now, the operator's.
    differences: Vec<Difference>,
}

/// Why a save was refused, shown above the form.
enum Refusal {
    /// Someone else saved first.
    Stale(Conflict),
    /// ACTIVE instances need what the save takes away (it disables the instance):
    /// [`Error::Required`], which the operator may force.
    Needed(Error),
}

fn edit_page(
    state: &AdminState,
    user: &User,
    record: &InstanceRecord,
    filled: &Filled,
    form: &EditForm,
    notes: Notes<'_>,
) -> Markup {
    let Notes {
        refusal,
        ran,
        flash,
    } = notes;
    let id = record.meta.id;
    let registry = state.plugins.registry();
    let managed_by = record.managed_by.as_deref();
    let Ok(item) = registry.item(&record.meta.item) else {
        let body = html! {
            p { "The code of item " code { (record.meta.item) } " is gone from this deployment: the instance is kept, never selected, and can only be deleted." }
            @if let Some(file) = managed_by {
                (managed::notice(state, user, id, file))
            } @else {
                p { a.button.danger href=(state.path(&format!("/instances/{id}/delete"))) { "Delete this instance…" } }
            }
        };
        return layout(state, Some(user), &record.meta.name, flash, body);
    };
    let body = html! {
        p {
            "Item " code { (registry.short_key(&record.meta.item)) }
            @if let Some(scope) = &record.meta.scope { ", scope " code { (scope) } }
            " · version " (record.meta.version)
            " · " a href=(state.path(&format!("/audit?instance={id}"))) { "history" }
        }
        @if let Some(file) = managed_by {
            (managed::notice(state, user, id, file))
        }
        @match refusal {
            Some(Refusal::Stale(conflict)) => (conflict_notice(&state.path(&format!("/instances/{id}/edit")), record, conflict)),
            Some(Refusal::Needed(required)) => div.flash.flash-error role="alert" #needed { (required) },
            None => {}
        }
        (actions::section(state, user, &record.meta, ran))
        @if managed_by.is_some() {
            div #instance-view {
                (form::fields(item, filled, Mode::ReadOnly))
                div.toolbar {
                    a href=(state.path("/instances")) { "Back to the instances" }
                }
            }
        } @else {
        form #instance-form method="post" action=(state.path(&format!("/instances/{id}/edit"))) novalidate {
            (csrf(user))
            input type="hidden" name="version" value=(form.base_version);
            input type="hidden" name="seen" value=(form.seen);
            @for (_, input) in tracked(item) {
                input type="hidden" name=(format!("was.{input}")) value=(opened(filled, &input));
            }
            (form::fields(item, filled, Mode::Edit))
            @if let Some(Refusal::Needed(_)) = refusal {
                div.field {
                    label {
                        input type="checkbox" name="force" value="yes";
                        " Save anyway: the instances that need it stop being served (each says which need failed) until something serves what they need again"
                    }
                }
            }
            @if let Some(Refusal::Stale(_)) = refusal {
                div.field {
                    label {
                        input type="checkbox" name="overwrite" value=(record.meta.version);
                        " I have seen their change: save my values over it"
                    }
                }
            }
            div.toolbar {
                button.primary type="submit" { "Save" }
                a href=(state.path("/instances")) { "Cancel" }
                a.button.danger href=(state.path(&format!("/instances/{id}/delete"))) { "Delete…" }
            }
        }
        }
    };
    layout(state, Some(user), &record.meta.name, flash, body)
}

fn conflict_notice(current: &str, record: &InstanceRecord, conflict: &Conflict) -> Markup {
    html! {
        div.summary role="alert" #conflict {
            strong { "Not saved: someone changed this instance since you opened it (it is now at version " (record.meta.version) ")." }
            @if !conflict.changes.is_empty() {
                p { "Their change:" }
                ul {
                    @for row in &conflict.changes {
                        li { (plugin_runtime::utc_text(row.entry.at)) " UTC, " (row.entry.actor) ": " (row.entry.action) @if !row.entry.detail.is_empty() { " (" (row.entry.detail) ")" } }
                    }
                }
            }
            @if conflict.differences.is_empty() {
                p { "Your values match what is stored now." }
            } @else {
                div.scroll {
                    table.diff {
                        thead { tr { th { "Field" } th { "When you opened it" } th { "Stored now" } th { "In your form" } } }
                        tbody {
                            @for (label, was, stored, yours) in &conflict.differences {
                                tr { td { (rich(label)) } td { (was) } td { (stored) } td { (yours) } }
                            }
                        }
                    }
                }
            }
            p { "Your values are still in the form below (type secrets again if you changed them). "
                "To keep theirs, " a href=(current) { "open the current version" } "; to replace theirs with yours, tick the box below the form and save." }
        }
    }
}

/// Each field someone changed since the page was opened, the other operator or this one
/// (never a secret's value).
fn differences(
    item: &ItemInfo,
    record: &InstanceRecord,
    stored: Option<&ConfigValues>,
    filled: &Filled,
) -> Vec<Difference> {
    tracked(item)
        .into_iter()
        .filter_map(|(label, input)| {
            let now = match input.as_str() {
                "instance_name" => record.meta.name.clone(),
                "instance_description" => record.description.clone(),
                "instance_status" => record.meta.status.as_str().to_owned(),
                "instance_priority" => record.meta.priority.to_string(),
                config => stored
                    .and_then(|values| values.get(config.trim_start_matches("config.")))
                    .map(text_of)
                    .unwrap_or_default(),
            };
            let was = opened(filled, &input).trim().to_owned();
            let yours = filled.first(&input).trim().to_owned();
            (now != was || yours != was).then_some((label, was, now, yours))
        })
        .collect()
}

pub(crate) async fn submit(
    State(state): Shared,
    Path(id): Path<String>,
    Checked { user, form }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let number = |name: &str| value(&form, name).and_then(|text| text.trim().parse::<i64>().ok());
    let edit = EditForm {
        base_version: number("version").ok_or_else(|| {
            AdminError::bad_request("the form has no version; open the edit page again")
        })?,
        seen: number("seen")
            .and_then(|seen| u64::try_from(seen).ok())
            .unwrap_or(0),
    };
    let overwrite = number("overwrite");
    let loaded = state.blocking(move |plugins| load(plugins, id)).await?;
    let record = loaded.record;
    if record.managed_by.is_some() {
        // A tab opened before a file took it over: the page as it is now, nothing written.
        return show(&state, &user, id, None, StatusCode::CONFLICT).await;
    }
    let Ok(item) = state.plugins.registry().item(&record.meta.item) else {
        return Err(AdminError::new(
            StatusCode::CONFLICT,
            "This instance's item code is gone; it can only be deleted.",
        ));
    };
    let stored = loaded.config.ok().flatten();
    let mut filled = Filled::from_form(&form);
    if let Some(stored) = &stored {
        filled.references(stored);
    }
    let meta = Meta::read(&form, &mut filled);
    let config = form::read_config(item, &form, stored.as_ref(), &mut filled);
    let (Some(meta), true) = (meta, filled.errors.is_empty()) else {
        let page = edit_page(&state, &user, &record, &filled, &edit, Notes::default());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    // The version this save may overwrite: the one the form was read at, or the newer one
    // the operator saw in a refusal and chose to overwrite.
    let expected = match overwrite {
        Some(seen_now) if seen_now == record.meta.version => seen_now,
        _ => edit.base_version,
    };
    if expected != record.meta.version {
        return refuse(
            &state,
            &user,
            &record,
            item,
            stored.as_ref(),
            &filled,
            &edit,
        )
        .await;
    }
    // Only what differs from the stored row: the audit names what the operator changed.
    let update = InstanceUpdate {
        name: (meta.name != record.meta.name).then_some(meta.name),
        description: (meta.description != record.description).then_some(meta.description),
        status: (meta.status != record.meta.status).then_some(meta.status),
        priority: (meta.priority != record.meta.priority).then_some(meta.priority),
        config: config.filter(|values| stored.as_ref() != Some(values)),
    };
    let nothing = update.name.is_none()
        && update.description.is_none()
        && update.status.is_none()
        && update.priority.is_none()
        && update.config.is_none();
    if nothing {
        let flash = Flash::Done(format!(
            "Nothing to save: {} is as you left it.",
            quoted(&record.meta.name)
        ));
        return Ok(redirect(&state, &user, "/instances", flash));
    }
    let actor = user.actor();
    let forced = value(&form, "force") == Some("yes");
    let saved = state
        .blocking(move |plugins| {
            let writer = match forced {
                true => plugins.acting_as(actor).forced(),
                false => plugins.acting_as(actor),
            };
            Ok(writer.update_instance(id, expected, update))
        })
        .await?;
    match saved {
        Ok(saved) => {
            let flash = Flash::Done(format!("Saved {}.", quoted(&saved.name)));
            Ok(redirect(&state, &user, "/instances", flash))
        }
        Err(Error::Conflict { .. }) => {
            // Changed between our read and our write: read again and show that change.
            let loaded = state.blocking(move |plugins| load(plugins, id)).await?;
            let stored = loaded.config.ok().flatten();
            refuse(
                &state,
                &user,
                &loaded.record,
                item,
                stored.as_ref(),
                &filled,
                &edit,
            )
            .await
        }
        Err(err) if is_unavailable(&err) => Err(err.into()),
        // A file took it over between our read and our write.
        Err(Error::ManagedByFile { .. }) => {
            show(&state, &user, id, None, StatusCode::CONFLICT).await
        }
        Err(required @ Error::Required { .. }) => {
            let refusal = Refusal::Needed(required);
            let notes = Notes {
                refusal: Some(&refusal),
                ..Notes::default()
            };
            let page = edit_page(&state, &user, &record, &filled, &edit, notes);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(err) => {
            form::place_error(&mut filled, &err);
            let page = edit_page(&state, &user, &record, &filled, &edit, Notes::default());
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// The refusal of a stale save (409): what changed, and the operator's values, still tied to
/// the version they were read at.
async fn refuse(
    state: &AdminState,
    user: &User,
    record: &InstanceRecord,
    item: &ItemInfo,
    stored: Option<&ConfigValues>,
    filled: &Filled,
    edit: &EditForm,
) -> Result<Response, AdminError> {
    let id = record.meta.id;
    let after = edit.seen;
    let changes = state
        .blocking(move |plugins| {
            plugins.audit(&AuditQuery {
                instance: Some(id),
                after: Some(after),
                ..AuditQuery::latest(20)
            })
        })
        .await?;
    let conflict = Refusal::Stale(Conflict {
        changes,
        differences: differences(item, record, stored, filled),
    });
    let notes = Notes {
        refusal: Some(&conflict),
        ..Notes::default()
    };
    let page = edit_page(state, user, record, filled, edit, notes);
    Ok((StatusCode::CONFLICT, page).into_response())
}
