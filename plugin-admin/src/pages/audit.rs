//! The audit trail, page by page (older, newer), and one instance's history.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use plugin_runtime::InstanceId;
use plugin_runtime::store::AuditQuery;
use serde::Deserialize;

use super::Shared;
use crate::auth::User;
use crate::error::AdminError;
use crate::view::page as layout;

/// Rows per page.
const PER_PAGE: usize = 50;

/// The name of every instance, by id (one listing of the snapshot), for the trail's rows.
fn names_of(plugins: &plugin_runtime::Plugins) -> HashMap<InstanceId, String> {
    plugins
        .instances(&plugin_runtime::InstanceQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .rows
        .into_iter()
        .map(|row| (row.meta.id, row.meta.name))
        .collect()
}

/// The page's query: an instance's history, and where the page starts.
#[derive(Deserialize, Default)]
pub(crate) struct TrailQuery {
    instance: Option<String>,
    before: Option<u64>,
    after: Option<u64>,
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<TrailQuery>,
) -> Result<Response, AdminError> {
    let instance: Option<InstanceId> = query
        .instance
        .as_deref()
        .filter(|id| !id.trim().is_empty())
        .map(str::parse)
        .transpose()?;
    let (before, after) = (query.before, query.after.filter(|_| query.before.is_none()));
    let (mut rows, names) = state
        .blocking(move |plugins| {
            // One row more than the page: whether there is a further page.
            let rows = plugins.audit(&AuditQuery {
                instance,
                before,
                after,
                limit: PER_PAGE + 1,
            })?;
            plugins.refresh()?;
            Ok((rows, names_of(plugins)))
        })
        .await?;
    let name = instance.and_then(|id| names.get(&id).cloned());
    let more = rows.len() > PER_PAGE;
    if more {
        // Newest first: reading older pages drops the oldest extra row; reading newer ones
        // (the rows just after `after`) drops the newest.
        if after.is_some() {
            rows.remove(0);
        } else {
            rows.truncate(PER_PAGE);
        }
    }
    let older = match (after.is_some(), more) {
        (true, _) | (false, true) => rows.last().map(|row| row.seq),
        (false, false) => None,
    };
    let newer = match (before.is_some(), after.is_some() && more) {
        (true, _) | (_, true) => rows.first().map(|row| row.seq),
        _ => None,
    };
    let base = state.path("/audit");
    let scope = instance.map_or_else(String::new, |id| format!("instance={id}&"));
    let title = match (&name, instance) {
        (Some(name), _) => format!("History of {name}"),
        (None, Some(_)) => "History of a deleted instance".to_owned(),
        (None, None) => "Audit trail".to_owned(),
    };
    let body = html! {
        @if let Some(id) = instance {
            p {
                code { (id) }
                @if name.is_some() { " · " a href=(state.path(&format!("/instances/{id}/edit"))) { "edit it" } }
                " · " a href=(base) { "the whole trail" }
            }
        }
        div.scroll {
            table #audit.cards {
                thead { tr { th { "When (UTC)" } th { "Who" } th { "What" } th { "Instance" } th { "Detail" } } }
                tbody {
                    @for row in &rows {
                        @let entry = &row.entry;
                        tr {
                            td data-label="When" { (plugin_runtime::utc_text(entry.at)) }
                            td data-label="Who" { (entry.actor) }
                            td data-label="What" { (entry.action) }
                            td data-label="Instance" {
                                @if let Some(id) = entry.instance {
                                    a href=(format!("{base}?instance={id}")) title=(id) {
                                        @match names.get(&id) {
                                            Some(name) => (name),
                                            None => { "deleted " code { (id.to_string()[24..]) } },
                                        }
                                    }
                                }
                            }
                            td data-label="Detail" { (entry.detail) }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p { "Nothing recorded here." } }
        nav.pager aria-label="Pages" {
            @if let Some(seq) = newer { a href=(format!("{base}?{scope}after={seq}")) rel="prev" { "‹ Newer" } a href=(format!("{base}?{}", scope.trim_end_matches('&'))) { "Newest" } }
            @if let Some(seq) = older { a href=(format!("{base}?{scope}before={seq}")) rel="next" { "Older ›" } }
        }
    };
    Ok(layout(&state, Some(&user), &title, None, body).into_response())
}
