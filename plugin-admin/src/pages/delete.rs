//! Deleting one instance: a page that says what goes, then the delete itself. An instance a
//! declared file manages is not deleted here: both answer with the notice that says where
//! it is changed (see [`super::managed`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{Shared, managed, quoted, redirect};
use crate::auth::{Flash, User};
use crate::csrf::Checked;
use crate::error::AdminError;
use crate::pages::instances::confirm_forced;
use crate::view::{csrf, page as layout};
use plugin_runtime::InstanceId;

/// The delete form: its CSRF token, the confirmation, and whether to delete it even when
/// ACTIVE instances need it.
#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    force: String,
}

pub(crate) async fn confirm(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let (record, serving) = state
        .blocking(move |plugins| {
            let record = plugins.instance(id)?;
            plugins.refresh()?;
            let serving = plugins
                .instances(&plugin_runtime::InstanceQuery {
                    search: Some(id.to_string()),
                    ..Default::default()
                })
                .rows
                .into_iter()
                .any(|row| row.meta.id == id && row.serving);
            Ok((record, serving))
        })
        .await?;
    if let Some(file) = &record.managed_by {
        return Ok(managed::refuse_delete(
            &state,
            &user,
            id,
            &record.meta.name,
            file,
        ));
    }
    let registry = state.plugins.registry();
    let body = html! {
        p {
            "Delete " strong { (record.meta.name) } " (" (registry.short_key(&record.meta.item))
            @if let Some(scope) = &record.meta.scope { ", scope " (scope) }
            ", " (record.meta.status.as_str()) ")? Its configuration is gone for good."
        }
        @if serving {
            div.flash.flash-error role="alert" { "It is serving now: lookups of its type switch to the next instance at once." }
        }
        form method="post" action=(state.path(&format!("/instances/{id}/delete"))) {
            (csrf(&user))
            input type="hidden" name="confirm" value="yes";
            div.toolbar {
                button.danger type="submit" { "Delete it" }
                a href=(state.path(&format!("/instances/{id}/edit"))) { "Cancel" }
            }
        }
    };
    Ok(layout(&state, Some(&user), "Delete instance?", None, body).into_response())
}

pub(crate) async fn submit(
    State(state): Shared,
    Path(id): Path<String>,
    Checked { user, form }: Checked<DeleteForm>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    if form.confirm != "yes" {
        // Not from the confirmation page: ask first.
        return Ok(
            axum::response::Redirect::to(&state.path(&format!("/instances/{id}/delete")))
                .into_response(),
        );
    }
    let actor = user.actor();
    let forced = form.force == "yes";
    let deleted = state
        .blocking(move |plugins| {
            let name = plugins.instance(id)?.meta.name;
            let writer = match forced {
                true => plugins.acting_as(actor).forced(),
                false => plugins.acting_as(actor),
            };
            Ok(writer.delete_instance(id).map(|()| name))
        })
        .await?;
    let name = match deleted {
        // The runtime refuses it whole: nothing was deleted.
        Err(plugin_runtime::Error::ManagedByFile { instance, file, .. }) => {
            return Ok(managed::refuse_delete(&state, &user, id, &instance, &file));
        }
        Err(required @ plugin_runtime::Error::Required { .. }) => {
            let again = [("confirm".to_owned(), "yes".to_owned())];
            let action = format!("/instances/{id}/delete");
            return Ok(confirm_forced(&state, &user, &action, &again, &required));
        }
        other => other?,
    };
    Ok(redirect(
        &state,
        &user,
        "/instances",
        Flash::Done(format!("Deleted {}.", quoted(&name))),
    ))
}
