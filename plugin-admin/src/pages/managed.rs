//! Instances a declared file manages (`plugins apply FILE`): the runtime refuses every hand
//! edit of them, so the admin offers none. Their edit page shows them read-only under a notice
//! with a button that releases them from the file; their delete page, a quick edit in the
//! list and a bulk action that includes them answer with the notice, and nothing is written.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use plugin_runtime::InstanceId;

use super::{Shared, quoted, redirect};
use crate::AdminState;
use crate::auth::{Flash, User};
use crate::csrf::{Checked, Pairs};
use crate::error::AdminError;
use crate::view::{csrf, page as layout};

/// The notice at the top of a managed instance's pages: where it is changed, and the button
/// that hands it back to hand edits.
pub(crate) fn notice(state: &AdminState, user: &User, id: InstanceId, file: &str) -> Markup {
    html! {
        div.notice role="note" #managed {
            p {
                "Managed by the file " code { (file) } ": change it there and apply the file. "
                "To edit it here, release it from the file first (the file's next apply takes it over again)."
            }
            form #release method="post" action=(state.path(&format!("/instances/{id}/release"))) {
                (csrf(user))
                button type="submit" { "Release from the file" }
            }
        }
    }
}

/// The flash of a list edit refused because the instance is managed (nothing was written).
pub(crate) fn refused_flash(name: &str, file: &str) -> Flash {
    Flash::Refused(format!(
        "Not saved: {} is managed by the file `{file}`: change it there and apply the file. \
         To edit it here, release it from the file first (on its edit page).",
        quoted(name)
    ))
}

/// A selected instance a declared file manages.
pub(crate) struct Managed {
    pub(crate) id: InstanceId,
    pub(crate) name: String,
    pub(crate) file: String,
}

/// The answer (409) to a bulk action whose selection includes managed instances: which ones,
/// by which file, and how to release them. The runtime refuses the whole batch, so nothing
/// was written.
pub(crate) fn refuse_bulk(
    state: &AdminState,
    user: &User,
    selected: usize,
    managed: &[Managed],
    back: &str,
) -> Response {
    let body = html! {
        div.flash.flash-error role="alert" #managed-refusal {
            "Nothing was changed: " (managed.len()) " of the " (selected) " selected instance(s) "
            @if managed.len() == 1 { "is" } @else { "are" }
            " managed by a declared file, and the admin does not edit those (the file's next apply would undo it)."
        }
        ul.items {
            @for row in managed {
                li {
                    a href=(state.path(&format!("/instances/{}/edit", row.id))) { (row.name) }
                    " — managed by the file " code { (row.file) }
                }
            }
        }
        p {
            "Change them in their file and apply it. To edit one here, open it and press "
            strong { "Release from the file" } " (the file's next apply takes it over again); "
            "or select only the other instances."
        }
        p { a href=(back) { "Back to the instances" } }
    };
    let page = layout(state, Some(user), "Managed by a file", None, body);
    (StatusCode::CONFLICT, page).into_response()
}

/// The delete page of a managed instance (409): the notice, no way to delete it.
pub(crate) fn refuse_delete(
    state: &AdminState,
    user: &User,
    id: InstanceId,
    name: &str,
    file: &str,
) -> Response {
    let body = html! {
        p { "Not deleted: " strong { (name) } " is managed by a declared file." }
        (notice(state, user, id, file))
        p { a href=(state.path(&format!("/instances/{id}/edit"))) { "Back to the instance" } }
    };
    let page = layout(state, Some(user), "Managed by a file", None, body);
    (StatusCode::CONFLICT, page).into_response()
}

/// `POST /instances/{id}/release`: hands the instance back to hand edits (audited by the
/// runtime) and opens its edit page, editable again.
pub(crate) async fn release(
    State(state): Shared,
    Path(id): Path<String>,
    Checked { user, form: _ }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let actor = user.actor();
    let (record, released) = state
        .blocking(move |plugins| {
            let record = plugins.instance(id)?;
            let released = plugins.acting_as(actor).release(&[id])?;
            Ok((record, released))
        })
        .await?;
    let name = quoted(&record.meta.name);
    let flash = match (released, record.managed_by) {
        (1.., Some(file)) => Flash::Done(format!(
            "Released {name} from the file `{file}`: you can edit it here. The file's next apply \
             takes it over again; remove it from the file to keep your edits."
        )),
        _ => Flash::Done(format!(
            "{name} is not managed by a file (any more): nothing to release."
        )),
    };
    Ok(redirect(
        &state,
        &user,
        &format!("/instances/{id}/edit"),
        flash,
    ))
}
