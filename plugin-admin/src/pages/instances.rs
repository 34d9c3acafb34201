//! The instances: one page of rows (50), filtered, searched and sorted by the runtime from
//! its snapshot (one refresh and one listing per request, whatever the table holds), with
//! status and priority editable in place and bulk actions on the selected rows.
//!
//! The whole table is one form (the bulk form); each row's Save button posts the same form
//! to that row's own address (`formaction`), which reads only that row's inputs. No control
//! points at another form (`form="…"`), which browsers resolve slowly on big pages.
//!
//! A row a declared file manages says so (a badge naming the file) and offers no edit: its
//! quick-edit controls and its checkbox are disabled. A quick edit or a bulk action that
//! reaches one anyway (a list loaded before the file took it over) is answered with which
//! instances the file manages and how to release them; the runtime refuses the whole write.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use plugin_runtime::{
    Error, InstanceId, InstancePage, InstanceQuery, InstanceSort, InstanceSummary, InstanceUpdate,
    LoadState, PriorityChange, ScopeFilter, Status,
};
use serde::{Deserialize, Serialize};

use super::managed::{self, Managed};
use super::{Shared, flash, quoted, redirect};
use crate::AdminState;
use crate::auth::{Flash, User};
use crate::csrf::{Checked, Pairs, value};
use crate::error::AdminError;
use crate::pages::items::also_serves;
use crate::text::{count, rich};
use crate::view::{csrf, page as layout, pager};

/// Rows per page.
pub(crate) const PER_PAGE: usize = 50;

/// The list's query string: filters, order and page. Unknown keys are ignored, empty values
/// mean "any".
#[derive(Deserialize, Serialize, Default, Clone, Debug)]
pub(crate) struct ListQuery {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
}

/// The sortable columns: (query value, heading, order).
const SORTS: [(&str, &str, InstanceSort); 6] = [
    ("name", "Name", InstanceSort::Name),
    ("item", "Item", InstanceSort::Item),
    ("scope", "Scope", InstanceSort::Scope),
    ("status", "Status", InstanceSort::Status),
    ("priority", "Priority", InstanceSort::Priority),
    ("updated", "Changed", InstanceSort::Updated),
];

impl ListQuery {
    /// Empty values dropped, so links stay short and "any" is one spelling.
    fn normalized(mut self) -> ListQuery {
        for field in [
            &mut self.type_key,
            &mut self.item,
            &mut self.status,
            &mut self.scope,
            &mut self.q,
            &mut self.problems,
            &mut self.sort,
            &mut self.desc,
            &mut self.offset,
        ] {
            *field = field
                .take()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty());
        }
        self
    }

    /// Whether any filter is set (not the order or the page).
    fn filtered(&self) -> bool {
        self.type_key.is_some()
            || self.item.is_some()
            || self.status.is_some()
            || self.scope.is_some()
            || self.q.is_some()
            || self.problems.is_some()
    }

    fn offset(&self) -> usize {
        self.offset
            .as_deref()
            .and_then(|offset| offset.parse().ok())
            .unwrap_or(0)
    }

    fn sort(&self) -> InstanceSort {
        SORTS
            .iter()
            .find(|(key, ..)| Some(*key) == self.sort.as_deref())
            .map_or(InstanceSort::Item, |(.., sort)| *sort)
    }

    fn descending(&self) -> bool {
        self.desc.is_some()
    }

    /// The query string of this list (without `?`).
    pub(crate) fn encoded(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The list's address with a change applied.
    fn href(&self, state: &AdminState, change: impl FnOnce(&mut ListQuery)) -> String {
        let mut next = self.clone();
        change(&mut next);
        let query = next.encoded();
        if query.is_empty() {
            state.path("/instances")
        } else {
            format!("{}?{query}", state.path("/instances"))
        }
    }

    /// The runtime's query, or the filter a person got wrong.
    fn to_query(&self, state: &AdminState) -> Result<InstanceQuery, Error> {
        let registry = state.plugins.registry();
        let plugin_type = self
            .type_key
            .as_deref()
            .map(|text| registry.type_named(text))
            .transpose()?;
        let item = self
            .item
            .as_deref()
            .map(|text| registry.item_named(text).map(|item| item.key()))
            .transpose()?;
        let status = self.status.as_deref().map(str::parse).transpose()?;
        let scope = self.scope.as_deref().map(|scope| match scope {
            "-" => ScopeFilter::Global,
            tenant => ScopeFilter::Tenant(tenant.to_owned()),
        });
        Ok(InstanceQuery {
            plugin_type,
            item,
            status,
            scope,
            search: self.q.clone(),
            problems_only: self.problems.is_some(),
            sort: self.sort(),
            descending: self.descending(),
            offset: self.offset(),
            limit: PER_PAGE,
        })
    }

    /// The list query carried by a form's `back` field (anything else is dropped).
    pub(crate) fn from_back(form: &[(String, String)]) -> ListQuery {
        value(form, "back")
            .and_then(|back| serde_urlencoded::from_str::<ListQuery>(back).ok())
            .unwrap_or_default()
            .normalized()
    }
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let query = query.normalized();
    let (listing, filter_error) = match query.to_query(&state) {
        Ok(runtime_query) => {
            let listing = state
                .blocking(move |plugins| {
                    plugins.refresh()?;
                    Ok(plugins.instances(&runtime_query))
                })
                .await?;
            (listing, None)
        }
        Err(err) => (
            InstancePage {
                total: 0,
                rows: Vec::new(),
            },
            Some(err),
        ),
    };
    let flash = flash(&state, &user);
    let body = html! {
        (filters(&state, &query, filter_error.as_ref()))
        (table(&state, &user, &query, &listing))
    };
    Ok(layout(&state, Some(&user), "Instances", flash.as_ref(), body).into_response())
}

fn filters(state: &AdminState, query: &ListQuery, error: Option<&Error>) -> Markup {
    let registry = state.plugins.registry();
    let chosen_type = query
        .type_key
        .as_deref()
        .and_then(|text| registry.type_named(text).ok())
        .and_then(|key| registry.type_by_key(&key));
    let example = registry.example_item_key();
    html! {
        form.filters method="get" action=(state.path("/instances")) {
            label { "Type" select name="type" {
                option value="" { "any" }
                @for ty in registry.types() {
                    @let key = ty.info.key().to_string();
                    option value=(key) selected[chosen_type.is_some_and(|c| c.info.key() == ty.info.key())] { (key) }
                }
            } }
            @if let Some(ty) = chosen_type {
                label { "Item" select name="item" {
                    option value="" { "any" }
                    @for item in &ty.items {
                        @let key = registry.short_key(&item.key());
                        option value=(key) selected[query.item.as_deref() == Some(key.as_str())] { (item.name()) }
                    }
                } }
            } @else {
                label { "Item" input type="text" name="item" value=[query.item.as_deref()] placeholder=(example) size="18"; }
            }
            label { "Status" select name="status" {
                option value="" { "any" }
                @for status in Status::ALL {
                    option value=(status.as_str()) selected[query.status.as_deref() == Some(status.as_str())] { (status.as_str()) }
                }
            } }
            label { "Scope" input type="text" name="scope" value=[query.scope.as_deref()] placeholder="tenant; - for global" size="16"; }
            label { "Search" input type="search" name="q" value=[query.q.as_deref()] placeholder="name, item, id…" size="16"; }
            label.check { input type="checkbox" name="problems" value="1" checked[query.problems.is_some()]; span { "Problems only" } }
            @if let Some(sort) = &query.sort { input type="hidden" name="sort" value=(sort); }
            @if query.desc.is_some() { input type="hidden" name="desc" value="1"; }
            button type="submit" { "Filter" }
            @if query.filtered() {
                a href=(query.href(state, |q| *q = ListQuery { sort: q.sort.take(), desc: q.desc.take(), ..ListQuery::default() })) { "Clear filters" }
            }
        }
        @if let Some(error) = error {
            div.flash.flash-error role="alert" { "The filter cannot be used: " (rich(&error.to_string())) }
        }
    }
}

fn table(state: &AdminState, user: &User, query: &ListQuery, listing: &InstancePage) -> Markup {
    let registry = state.plugins.registry();
    let offset = query.offset();
    let sort = query.sort();
    let heading = |key: &str, label: &str, column: InstanceSort| {
        let current = sort == column;
        let descending = current && !query.descending();
        let href = query.href(state, |q| {
            q.sort = Some(key.to_owned());
            q.desc = descending.then(|| "1".to_owned());
            q.offset = None;
        });
        let aria = current.then(|| {
            if query.descending() {
                "descending"
            } else {
                "ascending"
            }
        });
        html! {
            th aria-sort=[aria] {
                a href=(href) { (label) @if current { @if query.descending() { " ▼" } @else { " ▲" } } }
            }
        }
    };
    let link = |offset: usize| {
        query.href(state, |q| {
            q.offset = (offset > 0).then(|| offset.to_string());
        })
    };
    html! {
        p.count #result-count {
            @if query.filtered() {
                (count(listing.total)) @if listing.total == 1 { " instance matches" } @else { " instances match" }
            } @else {
                (count(listing.total)) @if listing.total == 1 { " instance" } @else { " instances" }
            }
        }
        form #bulk method="post" action=(state.path("/instances/bulk")) {
            (csrf(user))
            input type="hidden" name="back" value=(query.encoded());
            div.toolbar {
                label { "With the selected: " select name="action" {
                    option value="" { "choose an action…" }
                    option value="activate" { "activate" }
                    option value="reserve" { "reserve" }
                    option value="disable" { "disable" }
                    option value="priority_up" { "priority up (−1)" }
                    option value="priority_down" { "priority down (+1)" }
                    option value="delete" { "delete…" }
                } }
                button type="submit" name="bulk" value="1" { "Apply" }
            }
            table #instances.cards {
                thead { tr {
                    th { span.visually-hidden { "Select" } }
                    (heading("name", "Name", InstanceSort::Name))
                    (heading("item", "Item", InstanceSort::Item))
                    (heading("scope", "Scope", InstanceSort::Scope))
                    (heading("status", "Status and priority", InstanceSort::Status))
                    th { "Loads" }
                } }
                tbody {
                    @for row in &listing.rows {
                        (row_of(state, registry, row))
                    }
                }
            }
        }
        @if listing.rows.is_empty() {
            p { "No instance matches." @if query.filtered() { " " a href=(query.href(state, |q| *q = ListQuery::default())) { "Clear filters" } } }
        }
        (pager(offset, listing.rows.len(), listing.total, PER_PAGE, link))
        p.help { "Sort by priority: " a href=(query.href(state, |q| { q.sort = Some("priority".into()); q.desc = None; q.offset = None; })) { "lowest first" } ". Sort by last change: " a href=(query.href(state, |q| { q.sort = Some("updated".into()); q.desc = Some("1".into()); q.offset = None; })) { "newest first" } "." }
    }
}

fn row_of(
    state: &AdminState,
    registry: &plugin_runtime::registry::Registry,
    row: &InstanceSummary,
) -> Markup {
    let meta = &row.meta;
    let id = meta.id;
    let item = registry.item(&meta.item).ok();
    let category = item.and_then(|item| item.category());
    // Edited in its file only: the controls the runtime would refuse are disabled.
    let managed_by = row.managed_by.as_deref();
    let locked = managed_by.is_some();
    let why = managed_by.map(|file| {
        format!(
            "Declared in the file {file}: change it there and apply the file. To edit it here, release it from the file on its edit page."
        )
    });
    html! {
        tr data-id=(id) class=[(meta.status == Status::Disabled).then_some("muted")] {
            td data-label="Select" { input type="checkbox" name="id" value=(id) aria-label=(format!("select {}", meta.name)) disabled[locked] title=[why.as_deref()]; }
            td data-label="Name" {
                a href=(state.path(&format!("/instances/{id}/edit"))) { (meta.name) }
                @if row.serving { " " span.badge.badge-serving title="What lookups of its type return now" { "serving" } }
                @if let Some(file) = managed_by { " " span.badge.badge-managed title=[why.as_deref()] { "managed by " (file) } }
                @if !row.description.is_empty() { div.help { (row.description) } }
            }
            td data-label="Item" {
                (registry.short_key(&meta.item))
                @if let Some(category) = category { " " span.badge.badge-category { (category) } }
                @if let Some(item) = item { (also_serves(item)) }
            }
            td data-label="Scope" { (meta.scope.as_deref().unwrap_or("—")) }
            td data-label="Status" {
                div.quick {
                    select name=(format!("status.{id}")) aria-label=(format!("status of {}", meta.name)) disabled[locked] title=[why.as_deref()] {
                        @for status in Status::ALL {
                            option value=(status.as_str()) selected[meta.status == status] { (status.as_str()) }
                        }
                    }
                    input type="number" name=(format!("priority.{id}")) value=(meta.priority) aria-label=(format!("priority of {}", meta.name)) disabled[locked] title=[why.as_deref()];
                    input type="hidden" name=(format!("version.{id}")) value=(meta.version);
                    button type="submit" formaction=(state.path(&format!("/instances/{id}/quick"))) disabled[locked] title=[why.as_deref()] { "Save" }
                }
            }
            td data-label="Loads" {
                @match &row.load {
                    LoadState::Loaded => span { "yes" },
                    LoadState::Failed(reason) => span.fails { "no: " (rich(reason)) },
                    LoadState::Orphaned => span.fails { "no: its item's code is gone" },
                    LoadState::NotStarted => span { "not started (disabled)" },
                }
                " · " a href=(state.path(&format!("/audit?instance={id}"))) { "history" }
            }
        }
    }
}

/// A bulk action.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Status(Status),
    Priority(PriorityChange),
    Delete,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "activate" => Action::Status(Status::Active),
            "reserve" => Action::Status(Status::Reserved),
            "disable" => Action::Status(Status::Disabled),
            "priority_up" => Action::Priority(PriorityChange::Shift(-1)),
            "priority_down" => Action::Priority(PriorityChange::Shift(1)),
            "delete" => Action::Delete,
            _ => return None,
        })
    }
}

/// The bulk form, typed: the action and the selected ids.
struct BulkForm {
    action: Option<Action>,
    ids: Vec<InstanceId>,
    confirmed: bool,
    /// The operator chose to take away what ACTIVE instances need (after being told which).
    forced: bool,
    back: ListQuery,
}

impl BulkForm {
    fn read(form: &Pairs) -> Result<BulkForm, AdminError> {
        let ids = form
            .iter()
            .filter(|(key, _)| key == "id")
            .map(|(_, id)| id.parse::<InstanceId>().map_err(Error::from))
            .collect::<Result<Vec<InstanceId>, Error>>()?;
        let action = match value(form, "action").unwrap_or_default() {
            "" => None,
            text => Some(
                Action::parse(text)
                    .ok_or_else(|| AdminError::bad_request("unknown bulk action"))?,
            ),
        };
        Ok(BulkForm {
            action,
            ids,
            confirmed: value(form, "confirm") == Some("yes"),
            forced: value(form, "force") == Some("yes"),
            back: ListQuery::from_back(form),
        })
    }
}

pub(crate) async fn bulk(
    State(state): Shared,
    Checked { user, form }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let bulk = BulkForm::read(&form)?;
    let back = format!("/instances?{}", bulk.back.encoded());
    let Some(action) = bulk.action else {
        let flash = Flash::Refused("Choose an action for the selected instances.".into());
        return Ok(redirect(&state, &user, &back, flash));
    };
    if bulk.ids.is_empty() {
        let flash = Flash::Refused("Select at least one instance.".into());
        return Ok(redirect(&state, &user, &back, flash));
    }
    let found = managed_among(&state, &bulk.ids).await?;
    if !found.is_empty() {
        return Ok(refuse_managed(&state, &user, &bulk, &found));
    }
    let ids = bulk.ids.clone();
    let actor = user.actor();
    let forced = bulk.forced;
    let writer = move |plugins: &plugin_runtime::Plugins| match forced {
        true => plugins.acting_as(actor).forced(),
        false => plugins.acting_as(actor),
    };
    // The write's own result comes back as it is, so a refusal to take away what ACTIVE
    // instances need can be answered with the choice to force it.
    let written = match action {
        Action::Status(status) => {
            state
                .blocking(move |plugins| Ok(writer(plugins).set_status(&ids, status)))
                .await?
        }
        Action::Priority(change) => {
            state
                .blocking(move |plugins| Ok(writer(plugins).set_priority(&ids, change)))
                .await?
        }
        Action::Delete if !bulk.confirmed => {
            return confirm_delete(&state, &user, &bulk).await;
        }
        Action::Delete => {
            state
                .blocking(move |plugins| Ok(writer(plugins).delete_instances(&ids)))
                .await?
        }
    };
    let changed = match written {
        // A file took one over after the check above: the whole batch was refused.
        Err(err @ Error::ManagedByFile { .. }) => {
            let found = managed_among(&state, &bulk.ids).await?;
            if found.is_empty() {
                // Released again since: the runtime's refusal as it is.
                return Err(err.into());
            }
            return Ok(refuse_managed(&state, &user, &bulk, &found));
        }
        Err(required @ Error::Required { .. }) => {
            return Ok(confirm_forced(
                &state,
                &user,
                "/instances/bulk",
                &form,
                &required,
            ));
        }
        other => other?,
    };
    let done = match action {
        Action::Delete => format!("{changed} instance(s) deleted."),
        _ => format!("{changed} instance(s) changed."),
    };
    Ok(redirect(&state, &user, &back, Flash::Done(done)))
}

/// The selected instances a declared file manages (an unknown id is the runtime's 404).
async fn managed_among(state: &AdminState, ids: &[InstanceId]) -> Result<Vec<Managed>, AdminError> {
    let ids = ids.to_vec();
    state
        .blocking(move |plugins| {
            let mut found = Vec::new();
            for id in ids {
                let record = plugins.instance(id)?;
                if let Some(file) = record.managed_by {
                    found.push(Managed {
                        id,
                        name: record.meta.name,
                        file,
                    });
                }
            }
            Ok(found)
        })
        .await
}

/// The refusal of a bulk action that includes managed instances.
fn refuse_managed(state: &AdminState, user: &User, bulk: &BulkForm, found: &[Managed]) -> Response {
    let back = format!("{}?{}", state.path("/instances"), bulk.back.encoded());
    managed::refuse_bulk(state, user, bulk.ids.len(), found, &back)
}

/// The step before a bulk delete: what would go, and a button that really deletes.
async fn confirm_delete(
    state: &AdminState,
    user: &User,
    bulk: &BulkForm,
) -> Result<Response, AdminError> {
    let ids = bulk.ids.clone();
    let records = state
        .blocking(move |plugins| {
            ids.iter()
                .map(|id| plugins.instance(*id))
                .collect::<Result<Vec<_>, Error>>()
        })
        .await?;
    let registry = state.plugins.registry();
    let body = html! {
        p { "Delete these " (records.len()) " instance(s)? Their configuration is gone for good; lookups stop serving them at once." }
        ul {
            @for record in &records {
                li { strong { (record.meta.name) } " — " (registry.short_key(&record.meta.item)) ", " (record.meta.status.as_str()) }
            }
        }
        form #confirm-delete method="post" action=(state.path("/instances/bulk")) {
            (csrf(user))
            input type="hidden" name="action" value="delete";
            input type="hidden" name="confirm" value="yes";
            input type="hidden" name="back" value=(bulk.back.encoded());
            @for record in &records { input type="hidden" name="id" value=(record.meta.id); }
            div.toolbar {
                button.danger type="submit" { "Delete " (records.len()) " instance(s)" }
                a href=(format!("{}?{}", state.path("/instances"), bulk.back.encoded())) { "Cancel" }
            }
        }
    };
    Ok(layout(state, Some(user), "Delete instances?", None, body).into_response())
}

/// A write refused because ACTIVE instances need what it takes away: the refusal, and a
/// button that repeats the same form (posted to `action` again) with `force` (the dependents
/// then stop being served).
pub(crate) fn confirm_forced(
    state: &AdminState,
    user: &User,
    action: &str,
    form: &[(String, String)],
    refusal: &Error,
) -> Response {
    let action = state.path(action);
    let body = html! {
        div.flash.flash-error role="alert" { (refusal) }
        p { "Forced, the instances that need it stop being served (each says which need failed) until something serves what they need again." }
        form #confirm-force method="post" action=(action) {
            (csrf(user))
            @for (key, text) in form.iter().filter(|(key, _)| key != "csrf" && key != "force") {
                input type="hidden" name=(key) value=(text);
            }
            input type="hidden" name="force" value="yes";
            div.toolbar {
                button.danger type="submit" { "Do it anyway" }
                a href=(state.path("/instances")) { "Cancel" }
            }
        }
    };
    layout(state, Some(user), "Needed by other instances", None, body).into_response()
}

pub(crate) async fn quick(
    State(state): Shared,
    Path(id): Path<String>,
    Checked { user, form }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let id: InstanceId = id.parse()?;
    let back = format!("/instances?{}", ListQuery::from_back(&form).encoded());
    let field = |name: &str| value(&form, &format!("{name}.{id}")).or_else(|| value(&form, name));
    let invalid = |field: &'static str| Error::InvalidInput {
        field,
        reason: "missing or not a number".into(),
    };
    let version: i64 = field("version")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| invalid("version"))?;
    let status: Status = field("status")
        .unwrap_or_default()
        .parse::<Status>()
        .map_err(Error::from)?;
    let priority: i32 = field("priority")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| invalid("priority"))?;
    let actor = user.actor();
    let forced = value(&form, "force") == Some("yes");
    let result = state
        .blocking(move |plugins| {
            let update = InstanceUpdate {
                status: Some(status),
                priority: Some(priority),
                ..InstanceUpdate::default()
            };
            let writer = match forced {
                true => plugins.acting_as(actor).forced(),
                false => plugins.acting_as(actor),
            };
            match writer.update_instance(id, version, update) {
                Ok(meta) => Ok(Ok(meta)),
                Err(
                    err @ (Error::Conflict { .. }
                    | Error::Required { .. }
                    | Error::ManagedByFile { .. }),
                ) => Ok(Err(err)),
                Err(err) => Err(err),
            }
        })
        .await?;
    let flash = match result {
        Ok(meta) => Flash::Done(format!(
            "Saved {}: {}, priority {}.",
            quoted(&meta.name),
            meta.status.as_str(),
            meta.priority
        )),
        Err(required @ Error::Required { .. }) => {
            // This row's values only (the list's form holds every row's).
            let again = [
                ("version".to_owned(), version.to_string()),
                ("status".to_owned(), status.as_str().to_owned()),
                ("priority".to_owned(), priority.to_string()),
                ("back".to_owned(), value(&form, "back").unwrap_or_default().to_owned()),
            ];
            let action = format!("/instances/{id}/quick");
            return Ok(confirm_forced(&state, &user, &action, &again, &required));
        }
        Err(Error::ManagedByFile { instance, file, .. }) => managed::refused_flash(&instance, &file),
        Err(_) => Flash::Refused(
            "Not saved: someone changed that instance after this list was loaded. The list now shows its current state; change it again if you still want to.".into(),
        ),
    };
    Ok(redirect(&state, &user, &back, flash))
}
