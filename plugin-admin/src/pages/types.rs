//! The plugin types, with their instance counts (from the snapshot), searchable and paged.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{Shared, flash};
use crate::auth::User;
use crate::error::AdminError;
use crate::text::{count, query_encode, rich};
use crate::view::{page as layout, pager};

/// Types per page.
const PER_PAGE: usize = 50;

/// The page's query.
#[derive(Deserialize, Default)]
pub(crate) struct TypesQuery {
    q: Option<String>,
    offset: Option<String>,
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<TypesQuery>,
) -> Result<Response, AdminError> {
    let counts = state
        .blocking(|plugins| {
            plugins.refresh()?;
            Ok(plugins.instance_counts())
        })
        .await?;
    let registry = state.plugins.registry();
    let needle = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let matching: Vec<_> = registry
        .types()
        .iter()
        .filter(|ty| {
            needle.as_deref().is_none_or(|needle| {
                ty.info.key().to_string().to_lowercase().contains(needle)
                    || ty.info.description().to_lowercase().contains(needle)
            })
        })
        .collect();
    let total = matching.len();
    let offset = query
        .offset
        .as_deref()
        .and_then(|offset| offset.parse().ok())
        .unwrap_or(0usize)
        .min(total);
    let shown: Vec<_> = matching.into_iter().skip(offset).take(PER_PAGE).collect();
    let q = needle.clone().unwrap_or_default();
    let link =
        |offset: usize| format!("{}?q={}&offset={offset}", state.path("/"), query_encode(&q));
    let body = html! {
        form.filters method="get" action=(state.path("/")) {
            label { "Search types " input type="search" name="q" value=(q); }
            button type="submit" { "Search" }
            @if needle.is_some() { a href=(state.path("/")) { "Clear" } }
        }
        @if needle.is_some() { p.count { (count(total)) " of " (count(registry.types().len())) " types match" } }
        div.scroll {
            table #types.cards {
                thead { tr { th { "Type" } th { "Contract" } th { "Description" } th { "Items" } th { "Active" } th { "Reserved" } th { "Disabled" } th { "Failing" } } }
                tbody {
                    @for ty in &shown {
                        @let key = ty.info.key();
                        @let counted = counts.get(&key).copied().unwrap_or_default();
                        tr {
                            td data-label="Type" {
                                a href=(format!("{}?type={}", state.path("/instances"), query_encode(&key.to_string()))) { (key) }
                                @if let Some(parent) = ty.info.parent() {
                                    div.help { "sub-type of " (parent.key()) }
                                }
                            }
                            td data-label="Contract" { "v" (ty.info.version()) }
                            td data-label="Description" { (rich(ty.info.description())) }
                            td data-label="Items" {
                                a href=(format!("{}?type={}", state.path("/items"), query_encode(&key.to_string()))) { (ty.items.len()) }
                            }
                            td data-label="Active" { (counted.active) }
                            td data-label="Reserved" { (counted.reserved) }
                            td data-label="Disabled" { (counted.disabled) }
                            td data-label="Failing" { @if counted.failing > 0 { span.fails { (counted.failing) } } @else { "0" } }
                        }
                    }
                }
            }
        }
        (pager(offset, shown.len(), total, PER_PAGE, link))
    };
    let flash = flash(&state, &user);
    Ok(layout(&state, Some(&user), "Plugin types", flash.as_ref(), body).into_response())
}
