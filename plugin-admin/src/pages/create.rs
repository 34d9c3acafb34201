//! Creating an instance in two steps: find the item (searchable, paged, grouped by type and
//! category), then fill the form generated from its config schema.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use plugin_runtime::NewInstance;
use plugin_runtime::registry::ItemInfo;
use serde::Deserialize;

use super::{Shared, quoted, redirect};
use crate::AdminState;
use crate::auth::{Flash, User};
use crate::csrf::{Checked, Pairs};
use crate::error::AdminError;
use crate::form::{self, Filled, Meta};
use crate::pages::items::{ItemPage, PER_PAGE, homepage, item_page};
use crate::text::{count, query_encode, rich};
use crate::view::{csrf, page as layout, pager};

/// The first step's query.
#[derive(Deserialize, Default)]
pub(crate) struct PickQuery {
    q: Option<String>,
    /// Only configurable items.
    configurable: Option<String>,
    /// Hidden items too.
    hidden: Option<String>,
    offset: Option<String>,
}

fn matches(item: &ItemInfo, needle: &str) -> bool {
    let ty = item.plugin_type();
    [
        item.name(),
        ty.name(),
        ty.namespace(),
        item.description(),
        item.category().unwrap_or_default(),
    ]
    .iter()
    .any(|text| text.to_lowercase().contains(needle))
}

pub(crate) async fn pick(
    State(state): Shared,
    user: User,
    Query(query): Query<PickQuery>,
) -> Response {
    let registry = state.plugins.registry();
    let needle = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let only_configurable = query.configurable.is_some();
    let show_hidden = query
        .hidden
        .as_deref()
        .is_some_and(|hidden| !hidden.is_empty());
    let candidates: Vec<&'static ItemInfo> = registry
        .items()
        .filter(|item| !only_configurable || item.is_configurable())
        .filter(|item| needle.as_deref().is_none_or(|needle| matches(item, needle)))
        .collect();
    let ItemPage {
        hidden,
        total,
        offset,
        shown,
        groups,
    } = item_page(candidates, show_hidden, query.offset.as_deref());
    let q = needle.clone().unwrap_or_default();
    let link_with = |offset: usize, hidden: bool| {
        format!(
            "{}?q={}{}{}&offset={offset}",
            state.path("/new"),
            query_encode(&q),
            if only_configurable {
                "&configurable=1"
            } else {
                ""
            },
            if hidden { "&hidden=1" } else { "" }
        )
    };
    let link = |offset: usize| link_with(offset, show_hidden);
    let body = html! {
        p { "Find the implementation to configure, then fill in its form." }
        form.filters method="get" action=(state.path("/new")) {
            label { "Search items" input type="search" name="q" value=(q) placeholder="name, type, category…" autofocus; }
            label.check { input type="checkbox" name="configurable" value="1" checked[only_configurable]; span { "Configurable only" } }
            label.check { input type="checkbox" name="hidden" value="1" checked[show_hidden]; span { "Show hidden items" } }
            button type="submit" { "Search" }
            @if needle.is_some() || only_configurable || show_hidden { a href=(state.path("/new")) { "Clear" } }
        }
        p.count #result-count { (count(total)) @if total == 1 { " item" } @else { " items" } @if needle.is_some() { " match" } }
        @if hidden > 0 && !show_hidden {
            p.count #hidden-items {
                (count(hidden)) @if hidden == 1 { " hidden item is" } @else { " hidden items are" } " not shown. "
                a href=(link_with(0, true)) { "Show hidden items" }
            }
        }
        @for (ty, categories) in &groups {
            section.group {
                h2 { (ty.key()) }
                @for (category, items) in categories {
                    @if let Some(category) = category { h3 { (category) } }
                    ul.items {
                        @for item in items {
                            li {
                                a href=(format!("{}?item={}", state.path("/new/item"), query_encode(&registry.short_key(&item.key())))) {
                                    (item.name())
                                }
                                " " span.help { (item.version()) }
                                @if item.is_configurable() { " " span.badge { "configurable" } }
                                @if item.is_hidden() { " " span.badge { "hidden" } }
                                @if !item.description().is_empty() { div.help { (rich(item.description())) } }
                            }
                        }
                    }
                }
            }
        }
        @if total == 0 { p { "No item matches." } }
        (pager(offset, shown, total, PER_PAGE, link))
    };
    layout(&state, Some(&user), "New instance", None, body).into_response()
}

/// The second step's query: the item, as `TYPE/ITEM` or `NAMESPACE:TYPE/ITEM`.
#[derive(Deserialize)]
pub(crate) struct ItemQuery {
    item: String,
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<ItemQuery>,
) -> Result<Response, AdminError> {
    let item = state.plugins.registry().item_named(&query.item)?;
    Ok(form_page(&state, &user, item, &Filled::defaults(item)).into_response())
}

fn form_page(state: &AdminState, user: &User, item: &ItemInfo, filled: &Filled) -> Markup {
    let key = state.plugins.registry().short_key(&item.key());
    let action = format!("{}?item={}", state.path("/new/item"), query_encode(&key));
    let body = html! {
        p {
            "Item " code { (key) } " " (item.version())
            @if let Some(category) = item.category() { " " span.badge.badge-category { (category) } }
            @if let Some(url) = item.homepage() { " · " (homepage(url)) }
        }
        @if !item.description().is_empty() { p.help { (rich(item.description())) } }
        form #instance-form method="post" action=(action) novalidate {
            (csrf(user))
            (form::fields(item, filled, form::Mode::Create))
            button.primary type="submit" { "Create" }
        }
    };
    layout(
        state,
        Some(user),
        &format!("New {}", item.name()),
        None,
        body,
    )
}

pub(crate) async fn submit(
    State(state): Shared,
    Query(query): Query<ItemQuery>,
    Checked { user, form }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let item = state.plugins.registry().item_named(&query.item)?;
    let mut filled = Filled::from_form(&form);
    let meta = Meta::read(&form, &mut filled);
    let config = form::read_config(item, &form, None, &mut filled);
    if let (Some(meta), true) = (meta, filled.errors.is_empty()) {
        let mut new = NewInstance::new(item.key(), meta.name)
            .description(meta.description)
            .status(meta.status)
            .priority(meta.priority);
        if let Some(scope) = meta.scope {
            new = new.scope(scope);
        }
        if let Some(values) = config {
            new = new.config_values(values);
        }
        let actor = user.actor();
        let created = state
            .blocking(move |plugins| Ok(plugins.acting_as(actor).create_instance(new)))
            .await?;
        match created {
            Ok(created) => {
                let flash = Flash::Done(format!("Created {}.", quoted(&created.name)));
                return Ok(redirect(&state, &user, "/instances", flash));
            }
            Err(err) if is_unavailable(&err) => return Err(err.into()),
            Err(err) => form::place_error(&mut filled, &err),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        form_page(&state, &user, item, &filled),
    )
        .into_response())
}

/// A write the database could not take: a 503 page, not a form error.
pub(crate) fn is_unavailable(err: &plugin_runtime::Error) -> bool {
    err.store_kind() == Some(plugin_runtime::store::StoreErrorKind::Unavailable)
}
