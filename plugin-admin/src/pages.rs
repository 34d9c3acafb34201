//! The admin's pages and the writes behind its forms.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plugin_runtime::registry::ItemInfo;
use plugin_runtime::{
    Error, InstanceId, InstanceRecord, InstanceUpdate, ItemKey, NewInstance, PriorityChange, Status,
};
use serde::Deserialize;

use crate::AdminState;
use crate::auth::{COOKIE, User};
use crate::form::{self, Filled};
use crate::view::{csrf, page};

type Shared = State<Arc<AdminState>>;
type Pairs = Form<Vec<(String, String)>>;

#[derive(Deserialize, Default)]
pub(crate) struct Notice {
    notice: Option<String>,
}

/// The handle the user's writes go through: audited as `admin:<user>`.
fn writer(state: &AdminState, user: &User) -> plugin_runtime::Plugins {
    state.plugins.acting_as(format!("admin:{}", user.name))
}

/// A redirect to an admin path, with a notice for the next page.
fn redirect(state: &AdminState, path: &str, notice: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{}{separator}notice={}",
        state.path(path),
        query_encode(notice)
    ))
    .into_response()
}

/// Percent-encodes a query value.
fn query_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The page of a refused request: the error, with the status that fits it.
fn refused(state: &AdminState, user: &User, err: &Error) -> Response {
    error_page(state, user, status_of(err), &err.to_string())
}

/// The page of a read the store could not answer (the database is down).
fn unreadable(state: &AdminState, user: &User, err: &Error) -> Response {
    error_page(
        state,
        user,
        StatusCode::SERVICE_UNAVAILABLE,
        &err.to_string(),
    )
}

/// A page with a status code (errors the operator can act on).
fn error_page(state: &AdminState, user: &User, status: StatusCode, message: &str) -> Response {
    let body = html! { p.error { (message) } p { a href=(state.path("/instances")) { "Back to the instances" } } };
    (status, page(state, Some(user), "Not done", None, body)).into_response()
}

// Logging in and out (token mode).

#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

pub(crate) async fn login_page(State(state): Shared) -> Response {
    if !state.auth.has_login_page() {
        return Redirect::to(&state.path("/")).into_response();
    }
    login_form(&state, None).into_response()
}

fn login_form(state: &AdminState, error: Option<&str>) -> Markup {
    page(
        state,
        None,
        "Log in",
        None,
        html! {
            form method="post" action=(state.path("/login")) {
                @if let Some(error) = error { p.error { (error) } }
                div.field {
                    label for="token" { "Admin token" }
                    input type="password" id="token" name="token" autocomplete="current-password" autofocus;
                }
                button type="submit" { "Log in" }
            }
        },
    )
}

pub(crate) async fn login(State(state): Shared, Form(login): Form<Login>) -> Response {
    if !state.auth.accepts(&login.token) {
        tracing::warn!("plugins admin: a login with a wrong token");
        let page = login_form(&state, Some("That is not the admin token."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let session = state.sessions.start("operator");
    with_cookie(&state, &session, "", "/")
}

/// A redirect to `to` that sets the session cookie to `value` (with `attributes` added).
fn with_cookie(state: &AdminState, value: &str, attributes: &str, to: &str) -> Response {
    let path = if state.base.is_empty() {
        "/"
    } else {
        &state.base
    };
    let cookie = format!("{COOKIE}={value}; Path={path}; HttpOnly; SameSite=Strict{attributes}");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&state.path(to)),
    )
        .into_response()
}

pub(crate) async fn logout(State(state): Shared, user: User, Form(form): Pairs) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    if let Some(session) = &user.session {
        state.sessions.end(session);
    }
    with_cookie(&state, "", "; Max-Age=0", "/login")
}

// Types.

pub(crate) async fn types(State(state): Shared, user: User, Query(q): Query<Notice>) -> Response {
    let counts = state.plugins.instance_counts();
    let registry = state.plugins.registry();
    let body = html! {
        table #types {
            thead { tr { th { "Type" } th { "Description" } th { "Items" } th { "Active" } th { "Reserved" } th { "Disabled" } } }
            tbody {
                @for ty in registry.types() {
                    @let key = ty.info.key();
                    @let count = counts.get(&key).copied().unwrap_or_default();
                    @let (active, reserved, disabled) = (count.active, count.reserved, count.disabled);
                    tr {
                        td {
                            a href=(format!("{}?type={}", state.path("/instances"), query_encode(&key.to_string()))) { (key) }
                            @if let Some(parent) = ty.info.parent() {
                                div.help { "sub-type of " (parent.key()) }
                            }
                        }
                        td { (ty.info.description()) }
                        td { (ty.items.len()) }
                        td { (active) } td { (reserved) } td { (disabled) }
                    }
                }
            }
        }
    };
    page(
        &state,
        Some(&user),
        "Plugin types",
        q.notice.as_deref(),
        body,
    )
    .into_response()
}

// Instances.

#[derive(Deserialize, Default)]
pub(crate) struct Filters {
    #[serde(rename = "type")]
    type_key: Option<String>,
    item: Option<String>,
    status: Option<String>,
    scope: Option<String>,
    q: Option<String>,
    notice: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

pub(crate) async fn instances(
    State(state): Shared,
    user: User,
    Query(filters): Query<Filters>,
) -> Response {
    let mut records: Vec<InstanceRecord> = state
        .plugins
        .instances(&plugin_runtime::InstanceQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .rows
        .into_iter()
        .map(|row| InstanceRecord {
            meta: row.meta,
            description: row.description,
            sealed_config: None,
            orphaned: row.load == plugin_runtime::LoadState::Orphaned,
            created_at: row.updated_at,
            updated_at: row.updated_at,
        })
        .collect();
    let failures = state.plugins.load_failures();
    records.retain(|record| {
        let meta = &record.meta;
        given(&filters.type_key).is_none_or(|key| meta.item.type_key.to_string() == key)
            && given(&filters.item).is_none_or(|item| meta.item.to_string() == item)
            && given(&filters.status).is_none_or(|status| meta.status.as_str() == status)
            && given(&filters.scope).is_none_or(|scope| meta.scope.as_deref() == Some(scope))
            && given(&filters.q).is_none_or(|q| {
                let q = q.to_lowercase();
                meta.name.to_lowercase().contains(&q)
                    || record.description.to_lowercase().contains(&q)
            })
    });
    records.sort_by(|a, b| {
        (
            &a.meta.item.type_key,
            a.meta.status,
            a.meta.priority,
            a.meta.id,
        )
            .cmp(&(
                &b.meta.item.type_key,
                b.meta.status,
                b.meta.priority,
                b.meta.id,
            ))
    });
    let registry = state.plugins.registry();
    let selected = |value: &Option<String>, option: &str| given(value) == Some(option);
    let body = html! {
        form.filters method="get" action=(state.path("/instances")) {
            label { "Type " select name="type" {
                option value="" { "any" }
                @for ty in registry.types() {
                    @let key = ty.info.key().to_string();
                    option value=(key) selected[selected(&filters.type_key, &key)] { (key) }
                }
            } }
            label { "Item " select name="item" {
                option value="" { "any" }
                @for item in registry.items() {
                    @let key = item.key().to_string();
                    option value=(key) selected[selected(&filters.item, &key)] { (key) }
                }
            } }
            label { "Status " select name="status" {
                option value="" { "any" }
                @for status in ["active", "reserved", "disabled"] {
                    option value=(status) selected[selected(&filters.status, status)] { (status) }
                }
            } }
            label { "Scope " input type="text" name="scope" value=[given(&filters.scope)]; }
            label { "Search " input type="search" name="q" value=[given(&filters.q)]; }
            button type="submit" { "Filter" }
        }
        form #bulk method="post" action=(state.path("/instances/bulk")) {
            (csrf(&user))
            label { "With the selected: " select name="action" {
                option value="activate" { "activate" }
                option value="reserve" { "reserve" }
                option value="disable" { "disable" }
                option value="priority_up" { "priority up (−1)" }
                option value="priority_down" { "priority down (+1)" }
            } }
            " " button type="submit" { "Apply" }
        }
        table #instances {
            thead { tr {
                th { "" } th { "Name" } th { "Item" } th { "Scope" } th { "Status" } th { "Priority" } th { "" } th { "Loads" }
            } }
            tbody {
                @for record in &records {
                    @let meta = &record.meta;
                    @let row_form = format!("row-{}", meta.id);
                    tr data-id=(meta.id) {
                        td { input type="checkbox" name="id" value=(meta.id) form="bulk" aria-label=(format!("select {}", meta.name)); }
                        td {
                            a href=(state.path(&format!("/instances/{}/edit", meta.id))) { (meta.name) }
                            @if !record.description.is_empty() { div.help { (record.description) } }
                        }
                        td { (meta.item) }
                        td { (meta.scope.as_deref().unwrap_or("—")) }
                        td {
                            select name="status" form=(row_form) aria-label="status" {
                                @for status in [Status::Active, Status::Reserved, Status::Disabled] {
                                    option value=(status.as_str()) selected[meta.status == status] { (status.as_str()) }
                                }
                            }
                        }
                        td { input type="number" name="priority" value=(meta.priority) form=(row_form) aria-label="priority"; }
                        td {
                            form.inline id=(row_form) method="post" action=(state.path(&format!("/instances/{}/quick", meta.id))) {
                                (csrf(&user))
                                input type="hidden" name="version" value=(meta.version);
                                button type="submit" { "Save" }
                            }
                        }
                        td {
                            @if record.orphaned {
                                span.fails { "no: its item's code is gone" }
                            } @else if let Some(failure) = failures.iter().find(|f| f.meta.id == meta.id) {
                                span.fails { "no: " (failure.reason) }
                            } @else {
                                "yes"
                            }
                        }
                    }
                }
            }
        }
        @if records.is_empty() { p { "No instance matches." } }
    };
    page(
        &state,
        Some(&user),
        "Instances",
        filters.notice.as_deref(),
        body,
    )
    .into_response()
}

pub(crate) async fn bulk(State(state): Shared, user: User, Form(form): Pairs) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    let ids: Result<Vec<InstanceId>, Error> = form
        .iter()
        .filter(|(key, _)| key == "id")
        .map(|(_, id)| id.parse().map_err(Error::from))
        .collect();
    let ids = match ids {
        Ok(ids) if !ids.is_empty() => ids,
        Ok(_) => return redirect(&state, "/instances", "Select at least one instance."),
        Err(err) => return refused(&state, &user, &err),
    };
    let plugins = writer(&state, &user);
    let result = match form::value(&form, "action") {
        Some("activate") => plugins.set_status(&ids, Status::Active),
        Some("reserve") => plugins.set_status(&ids, Status::Reserved),
        Some("disable") => plugins.set_status(&ids, Status::Disabled),
        Some("priority_up") => plugins.set_priority(&ids, PriorityChange::Shift(-1)),
        Some("priority_down") => plugins.set_priority(&ids, PriorityChange::Shift(1)),
        _ => {
            return error_page(
                &state,
                &user,
                StatusCode::BAD_REQUEST,
                "unknown bulk action",
            );
        }
    };
    match result {
        Ok(changed) => redirect(
            &state,
            "/instances",
            &format!("{changed} instance(s) changed."),
        ),
        Err(err) => refused(&state, &user, &err),
    }
}

pub(crate) async fn quick_edit(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
    Form(form): Pairs,
) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    let parsed = (|| -> Result<(InstanceId, i64, Status, i32), Error> {
        let invalid = |field: &'static str| Error::InvalidInput {
            field,
            reason: "missing or not a number".into(),
        };
        Ok((
            id.parse()?,
            form::value(&form, "version")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| invalid("version"))?,
            form::value(&form, "status").unwrap_or_default().parse()?,
            form::value(&form, "priority")
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| invalid("priority"))?,
        ))
    })();
    let (id, version, status, priority) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => return refused(&state, &user, &err),
    };
    let update = InstanceUpdate {
        status: Some(status),
        priority: Some(priority),
        ..InstanceUpdate::default()
    };
    match writer(&state, &user).update_instance(id, version, update) {
        Ok(meta) => redirect(&state, "/instances", &format!("Saved `{}`.", meta.name)),
        Err(Error::Conflict { .. }) => redirect(
            &state,
            "/instances",
            "Not saved: someone changed that instance since this page was loaded; here it is now.",
        ),
        Err(err) => refused(&state, &user, &err),
    }
}

fn status_of(err: &Error) -> StatusCode {
    match err {
        Error::UnknownInstance(_) | Error::UnknownItem { .. } | Error::UnknownType(_) => {
            StatusCode::NOT_FOUND
        }
        Error::MalformedId { .. } | Error::InvalidInput { .. } | Error::InvalidConfig { .. } => {
            StatusCode::BAD_REQUEST
        }
        Error::Conflict { .. } | Error::DuplicateInstanceName { .. } => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

// Creating: pick an item, then fill its form.

pub(crate) async fn pick_item(State(state): Shared, user: User) -> Response {
    let registry = state.plugins.registry();
    let body = html! {
        p { "Pick the implementation to configure." }
        @for ty in registry.types() {
            @if !ty.items.is_empty() {
                h2 { (ty.info.key()) }
                ul {
                    @for item in &ty.items {
                        li {
                            a href=(format!("{}?item={}", state.path("/new/item"), query_encode(&item.key().to_string()))) {
                                (item.name())
                            }
                            @if item.is_configurable() { " — configurable" }
                            @if !item.description().is_empty() { div.help { (item.description()) } }
                        }
                    }
                }
            }
        }
    };
    page(&state, Some(&user), "New instance", None, body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ItemQuery {
    item: String,
}

fn find_item(state: &AdminState, text: &str) -> Result<&'static ItemInfo, Error> {
    state.plugins.registry().item(&text.parse::<ItemKey>()?)
}

pub(crate) async fn create_page(
    State(state): Shared,
    user: User,
    Query(query): Query<ItemQuery>,
) -> Response {
    match find_item(&state, &query.item) {
        Ok(item) => create_form(&state, &user, item, &Filled::defaults(item)).into_response(),
        Err(err) => refused(&state, &user, &err),
    }
}

fn create_form(state: &AdminState, user: &User, item: &ItemInfo, filled: &Filled) -> Markup {
    let action = format!(
        "{}?item={}",
        state.path("/new/item"),
        query_encode(&item.key().to_string())
    );
    let body = html! {
        p { "Item " code { (item.key()) } @if !item.description().is_empty() { ": " (item.description()) } }
        form #instance-form method="post" action=(action) {
            (csrf(user))
            (form::fields(item, filled, false))
            button type="submit" { "Create" }
        }
    };
    page(
        state,
        Some(user),
        &format!("New {}", item.name()),
        None,
        body,
    )
}

/// The instance's own fields from a form, with errors for the bad ones.
struct Meta {
    name: String,
    description: String,
    status: Status,
    priority: i32,
    scope: Option<String>,
}

fn read_meta(form: &[(String, String)], filled: &mut Filled) -> Option<Meta> {
    let name = form::value(form, "instance_name")
        .unwrap_or_default()
        .to_owned();
    let status = match form::value(form, "instance_status")
        .unwrap_or("active")
        .parse::<Status>()
    {
        Ok(status) => Some(status),
        Err(err) => {
            filled.error("instance_status", err.to_string());
            None
        }
    };
    let priority = match form::value(form, "instance_priority")
        .unwrap_or_default()
        .trim()
        .parse()
    {
        Ok(priority) => Some(priority),
        Err(_) => {
            filled.error("instance_priority", "enter a whole number");
            None
        }
    };
    let scope = form::value(form, "instance_scope")
        .map(str::trim)
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned);
    Some(Meta {
        name,
        description: form::value(form, "instance_description")
            .unwrap_or_default()
            .to_owned(),
        status: status?,
        priority: priority?,
        scope,
    })
}

/// The config a form submits, validated by the item's schema (errors go beside their
/// fields). On an edit, `stored` fills the secret fields left blank.
fn read_config(
    item: &ItemInfo,
    form: &[(String, String)],
    stored: Option<&plugin_runtime::config::ConfigValues>,
    filled: &mut Filled,
) -> Option<plugin_runtime::config::ConfigValues> {
    let schema = item.schema()?;
    let mut submitted = form::config_form(form);
    if let Some(stored) = stored {
        submitted.keep_stored_secrets(schema, stored);
    }
    match plugin_runtime::config::values_from_form(schema, &submitted) {
        Ok(values) => Some(values),
        Err(errors) => {
            let item = item.key().to_string();
            place_error(filled, &Error::InvalidConfig { item, errors });
            None
        }
    }
}

/// Puts the error of a refused write beside its field (or above the form).
fn place_error(filled: &mut Filled, err: &Error) {
    match err {
        Error::DuplicateInstanceName { .. } => {
            filled.error("instance_name", err.to_string());
        }
        Error::InvalidInput {
            field: "name",
            reason,
        } => filled.error("instance_name", reason.clone()),
        Error::InvalidConfig { errors, .. } => {
            for error in errors {
                filled.error(&format!("config.{}", error.field), error.message.clone());
            }
        }
        other => filled.error("", other.to_string()),
    }
}

pub(crate) async fn create(
    State(state): Shared,
    user: User,
    Query(query): Query<ItemQuery>,
    Form(form): Pairs,
) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    let item = match find_item(&state, &query.item) {
        Ok(item) => item,
        Err(err) => return refused(&state, &user, &err),
    };
    let mut filled = Filled::from_form(&form);
    let meta = read_meta(&form, &mut filled);
    let config = read_config(item, &form, None, &mut filled);
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
        match writer(&state, &user).create_instance(new) {
            Ok(created) => {
                return redirect(
                    &state,
                    "/instances",
                    &format!("Created `{}`.", created.name),
                );
            }
            Err(err) => place_error(&mut filled, &err),
        }
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        create_form(&state, &user, item, &filled),
    )
        .into_response()
}

// Editing.

pub(crate) async fn edit_page(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
) -> Response {
    let record = match id
        .parse::<InstanceId>()
        .map_err(Error::from)
        .and_then(|id| state.plugins.instance(id))
    {
        Ok(record) => record,
        Err(err) => return refused(&state, &user, &err),
    };
    let mut filled = Filled::default();
    filled.set("instance_name", record.meta.name.clone());
    filled.set("instance_description", record.description.clone());
    filled.set("instance_status", record.meta.status.as_str().to_owned());
    filled.set("instance_priority", record.meta.priority.to_string());
    if record.sealed_config.is_some() {
        match state.plugins.config_values(record.meta.id) {
            Ok(Some(values)) => filled.config(&values),
            Ok(None) => {}
            Err(err) => filled.error(
                "",
                format!(
                    "The stored config cannot be read ({err}); saving needs every field again."
                ),
            ),
        }
    }
    edit_form(&state, &user, &record, &filled)
}

fn edit_form(
    state: &AdminState,
    user: &User,
    record: &plugin_runtime::InstanceRecord,
    filled: &Filled,
) -> Response {
    let id = record.meta.id;
    let Ok(item) = state.plugins.registry().item(&record.meta.item) else {
        let body = html! {
            p { "The code of item " code { (record.meta.item) } " is gone from this deployment: the instance is kept, never selected, and can only be deleted." }
            (delete_form(state, user, id))
        };
        return page(state, Some(user), &record.meta.name, None, body).into_response();
    };
    let status = if filled.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = html! {
        p { "Item " code { (record.meta.item) } @if let Some(scope) = &record.meta.scope { ", scope " code { (scope) } } }
        form #instance-form method="post" action=(state.path(&format!("/instances/{id}/edit"))) {
            (csrf(user))
            input type="hidden" name="version" value=(record.meta.version);
            (form::fields(item, filled, true))
            button type="submit" { "Save" }
        }
        (delete_form(state, user, id))
    };
    (
        status,
        page(state, Some(user), &record.meta.name, None, body),
    )
        .into_response()
}

fn delete_form(state: &AdminState, user: &User, id: InstanceId) -> Markup {
    html! {
        form method="post" action=(state.path(&format!("/instances/{id}/delete"))) {
            (csrf(user))
            button type="submit" { "Delete this instance" }
        }
    }
}

pub(crate) async fn edit(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
    Form(form): Pairs,
) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    let record = match id
        .parse::<InstanceId>()
        .map_err(Error::from)
        .and_then(|id| state.plugins.instance(id))
    {
        Ok(record) => record,
        Err(err) => return refused(&state, &user, &err),
    };
    let Ok(item) = state.plugins.registry().item(&record.meta.item) else {
        return error_page(
            &state,
            &user,
            StatusCode::CONFLICT,
            "this instance's item code is gone; it can only be deleted",
        );
    };
    let mut filled = Filled::from_form(&form);
    let meta = read_meta(&form, &mut filled);
    let version: i64 = form::value(&form, "version")
        .and_then(|version| version.parse().ok())
        .unwrap_or(record.meta.version);
    let stored = state.plugins.config_values(record.meta.id).ok().flatten();
    let config = read_config(item, &form, stored.as_ref(), &mut filled)
        // Unchanged config: not re-encrypted, the plugin not rebuilt.
        .filter(|values| stored.as_ref() != Some(values));
    if let (Some(meta), true) = (meta, filled.errors.is_empty()) {
        let update = InstanceUpdate {
            name: Some(meta.name),
            description: Some(meta.description),
            status: Some(meta.status),
            priority: Some(meta.priority),
            config,
        };
        match writer(&state, &user).update_instance(record.meta.id, version, update) {
            Ok(saved) => {
                return redirect(&state, "/instances", &format!("Saved `{}`.", saved.name));
            }
            Err(Error::Conflict { .. }) => filled.error(
                "",
                "Not saved: someone changed this instance since you opened it. Reload the page to see their change.",
            ),
            Err(err) => place_error(&mut filled, &err),
        }
    }
    edit_form(&state, &user, &record, &filled)
}

pub(crate) async fn delete(
    State(state): Shared,
    user: User,
    Path(id): Path<String>,
    Form(form): Pairs,
) -> Response {
    if let Some(refused) = user.csrf_refusal(&form) {
        return refused;
    }
    match id
        .parse::<InstanceId>()
        .map_err(Error::from)
        .and_then(|id| writer(&state, &user).delete_instance(id))
    {
        Ok(()) => redirect(&state, "/instances", "Deleted."),
        Err(err) => refused(&state, &user, &err),
    }
}

// The audit trail.

pub(crate) async fn audit(State(state): Shared, user: User) -> Response {
    let trail = match state
        .plugins
        .audit(&plugin_runtime::store::AuditQuery::latest(200))
    {
        Ok(trail) => trail
            .into_iter()
            .map(|record| record.entry)
            .collect::<Vec<_>>(),
        Err(err) => {
            return unreadable(&state, &user, &err);
        }
    };
    let body = html! {
        table #audit {
            thead { tr { th { "When (UTC)" } th { "Who" } th { "What" } th { "Instance" } th { "Detail" } } }
            tbody {
                @for entry in &trail {
                    tr {
                        td { (utc(entry.at)) }
                        td { (entry.actor) }
                        td { (entry.action) }
                        td { @if let Some(id) = entry.instance { code { (id) } } }
                        td { (entry.detail) }
                    }
                }
            }
        }
    };
    page(&state, Some(&user), "Audit trail", None, body).into_response()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (civil-from-days, no date crate needed for one column).
fn utc(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::session_cookie;

    #[test]
    fn utc_dates() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00");
        let at = UNIX_EPOCH + Duration::from_secs(1_795_305_600 + 3661);
        assert_eq!(utc(at), "2026-11-22 01:01:01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29 00:00:00");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(query_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "theme=dark; plugin_admin=abc123; x=y".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
    }
}
