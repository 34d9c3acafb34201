//! The plugin items: what each implementation says about itself (version, authors, homepage,
//! category), grouped by type and then category, searchable and paged. Items marked
//! `#[plugin_item(hidden)]` are left out unless the operator asks (`?hidden=1`).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use plugin_runtime::registry::{ItemInfo, TypeInfo};
use serde::Deserialize;

use super::{Shared, flash};
use crate::auth::User;
use crate::text::{count, query_encode, rich};
use crate::view::{page as layout, pager};

/// Items per page.
pub(crate) const PER_PAGE: usize = 50;

/// The page's query.
#[derive(Deserialize, Default)]
pub(crate) struct ItemsQuery {
    q: Option<String>,
    /// Only this type's items (`NAMESPACE:TYPE` or a unique `TYPE`).
    #[serde(rename = "type")]
    type_key: Option<String>,
    /// Show hidden items too.
    hidden: Option<String>,
    offset: Option<String>,
}

/// One type's items on the page, by category.
pub(crate) type ByCategory = BTreeMap<Option<&'static str>, Vec<&'static ItemInfo>>;

fn matches(item: &ItemInfo, needle: &str) -> bool {
    let ty = item.plugin_type();
    [
        item.name(),
        ty.name(),
        ty.namespace(),
        item.description(),
        item.category().unwrap_or_default(),
        item.version(),
    ]
    .into_iter()
    .chain(item.authors())
    .any(|text| text.to_lowercase().contains(needle))
}

/// Whether an item was asked to be hidden from listings and the operator did not ask for it.
fn left_out(item: &ItemInfo, show_hidden: bool) -> bool {
    item.is_hidden() && !show_hidden
}

/// One page of items, as the Items page and the create wizard list them: hidden items left
/// out unless asked for, `PER_PAGE` from `offset`, grouped by type (in registry order) and then
/// by category.
pub(crate) struct ItemPage {
    /// Hidden items among the candidates (left out unless asked for).
    pub(crate) hidden: usize,
    /// The items listed, over all pages.
    pub(crate) total: usize,
    /// Where this page starts.
    pub(crate) offset: usize,
    /// How many this page shows.
    pub(crate) shown: usize,
    pub(crate) groups: Vec<(&'static TypeInfo, ByCategory)>,
}

/// The page of `candidates` (in registry order) starting at the `offset` a query asked for.
pub(crate) fn item_page(
    candidates: Vec<&'static ItemInfo>,
    show_hidden: bool,
    offset: Option<&str>,
) -> ItemPage {
    let hidden = candidates.iter().filter(|item| item.is_hidden()).count();
    let found: Vec<&'static ItemInfo> = candidates
        .into_iter()
        .filter(|item| !left_out(item, show_hidden))
        .collect();
    let total = found.len();
    let offset = offset
        .and_then(|offset| offset.parse().ok())
        .unwrap_or(0usize)
        .min(total);
    let shown = &found[offset..(offset + PER_PAGE).min(total)];
    let mut groups: Vec<(&'static TypeInfo, ByCategory)> = Vec::new();
    for item in shown {
        let ty = item.plugin_type();
        if groups
            .last()
            .is_none_or(|(last, _)| !std::ptr::eq(*last, ty))
        {
            groups.push((ty, BTreeMap::new()));
        }
        if let Some((_, categories)) = groups.last_mut() {
            categories.entry(item.category()).or_default().push(item);
        }
    }
    ItemPage {
        hidden,
        total,
        offset,
        shown: shown.len(),
        groups,
    }
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<ItemsQuery>,
) -> Response {
    let registry = state.plugins.registry();
    let trimmed = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let needle = trimmed(&query.q).map(|q| q.to_lowercase());
    let type_filter = trimmed(&query.type_key);
    let show_hidden = trimmed(&query.hidden).is_some();
    let of_type = |info: &TypeInfo| {
        type_filter
            .as_deref()
            .is_none_or(|wanted| info.key().to_string() == wanted || info.name() == wanted)
    };
    let candidates: Vec<&'static ItemInfo> = registry
        .items()
        .filter(|item| of_type(item.plugin_type()))
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
    let type_text = type_filter.clone().unwrap_or_default();
    let link = |offset: usize, hidden: bool| {
        format!(
            "{}?q={}&type={}{}&offset={offset}",
            state.path("/items"),
            query_encode(&q),
            query_encode(&type_text),
            if hidden { "&hidden=1" } else { "" }
        )
    };
    let filtered = needle.is_some() || type_filter.is_some();
    let body = html! {
        form.filters method="get" action=(state.path("/items")) {
            label { "Search items" input type="search" name="q" value=(q) placeholder="name, category, author…"; }
            @if let Some(type_key) = &type_filter { input type="hidden" name="type" value=(type_key); }
            label.check { input type="checkbox" name="hidden" value="1" checked[show_hidden]; span { "Show hidden items" } }
            button type="submit" { "Search" }
            @if filtered || show_hidden { a href=(state.path("/items")) { "Clear" } }
        }
        p.count #result-count {
            (count(total)) @if total == 1 { " item" } @else { " items" }
            @if filtered { " match" }
            @if let Some(type_key) = &type_filter { " of type " code { (type_key) } }
        }
        @if hidden > 0 {
            p.count #hidden-items {
                @if show_hidden {
                    (count(hidden)) " of them hidden (marked " span.badge { "hidden" } "). "
                    a href=(link(0, false)) { "Leave hidden items out" }
                } @else {
                    (count(hidden)) @if hidden == 1 { " hidden item is" } @else { " hidden items are" } " not shown. "
                    a href=(link(0, true)) { "Show hidden items" }
                }
            }
        }
        @for (ty, categories) in &groups {
            section.group {
                h2 {
                    (ty.key())
                    " " span.badge title="The version of the type's contract" { "contract v" (ty.version()) }
                }
                @for (category, items) in categories {
                    @if let Some(category) = category { h3 { (category) } }
                    (table(items))
                }
            }
        }
        @if total == 0 { p { "No item matches." } }
        (pager(offset, shown, total, PER_PAGE, |offset| link(offset, show_hidden)))
    };
    let flash = flash(&state, &user);
    layout(&state, Some(&user), "Plugin items", flash.as_ref(), body).into_response()
}

/// One category's items: a row each.
fn table(items: &[&'static ItemInfo]) -> Markup {
    html! {
        div.scroll {
            table.items-table.cards {
                thead { tr { th { "Item" } th { "Version" } th { "Authors" } th { "Homepage" } th { "Description" } } }
                tbody {
                    @for item in items {
                        tr.muted[item.is_hidden()] {
                            td data-label="Item" {
                                code { (item.name()) }
                                @if item.is_configurable() { " " span.badge { "configurable" } }
                                @if item.is_hidden() { " " span.badge { "hidden" } }
                                (also_serves(item))
                            }
                            td data-label="Version" { (item.version()) }
                            td data-label="Authors" { (authors(item)) }
                            td data-label="Homepage" { @if let Some(url) = item.homepage() { (homepage(url)) } }
                            td data-label="Description" { (rich(item.description())) }
                        }
                    }
                }
            }
        }
    }
}

/// The plugin types an item's instances serve besides its own (`also = [...]`): one line
/// each, for the pages that show an item or its instances.
pub(crate) fn also_serves(item: &ItemInfo) -> Markup {
    html! {
        @for ty in item.also_serves() {
            div.help.also-serves { "also serves " code { (ty.key()) } }
        }
    }
}

/// The item's authors, one per line (`Name <address>` as written).
pub(crate) fn authors(item: &ItemInfo) -> Markup {
    html! {
        @for (index, author) in item.authors().enumerate() {
            @if index > 0 { br; }
            (author)
        }
    }
}

/// A homepage as a link. Only `http://` and `https://` URLs are links (the macro accepts no
/// other; a registration made by hand might): anything else is shown as text, never followed.
pub(crate) fn homepage(url: &str) -> Markup {
    if url.starts_with("https://") || url.starts_with("http://") {
        html! { a.url href=(url) rel="noopener noreferrer" { (url) } }
    } else {
        html! { span.url { (url) } }
    }
}
