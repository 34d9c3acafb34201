//! One tenant's view: per plugin type, the instances the tenant could be served (its own and
//! the global ones), whether each is served to it and why, and switches of the global ones
//! (on, off, or as the item says) for that tenant alone.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use plugin_runtime::{Activation, Error, InstanceId};
use serde::Deserialize;

use super::instances::confirm_forced;
use super::{Shared, flash, quoted, redirect};
use crate::auth::{Flash, User};
use crate::csrf::{Checked, Pairs, value};
use crate::error::AdminError;
use crate::text::query_encode;
use crate::view::{csrf, page as layout};

/// The page's query: which tenant.
#[derive(Deserialize, Default)]
pub(crate) struct TenantQuery {
    tenant: Option<String>,
}

pub(crate) async fn page(
    State(state): Shared,
    user: User,
    Query(query): Query<TenantQuery>,
) -> Result<Response, AdminError> {
    let tenant = query
        .tenant
        .map(|tenant| tenant.trim().to_owned())
        .filter(|tenant| !tenant.is_empty());
    let view = match &tenant {
        Some(tenant) => {
            let tenant = tenant.clone();
            let view = state
                .blocking(move |plugins| {
                    plugins.refresh()?;
                    Ok(plugins.tenant_view(&tenant))
                })
                .await?;
            Some(view)
        }
        None => None,
    };
    let registry = state.plugins.registry();
    let body = html! {
        p { "What one tenant is served of each plugin type, and why. A global instance can be switched off for the tenant alone (it stays served to the others), or on (what an item activated per tenant needs); the tenant's own instances have their status instead." }
        form #tenant-pick.toolbar method="get" action=(state.path("/tenants")) {
            label { "Tenant " input type="text" name="tenant" value=(tenant.as_deref().unwrap_or("")) required; }
            button type="submit" { "Show" }
        }
        @if let Some(view) = &view {
            @if view.types.is_empty() {
                p #tenant-empty { "Tenant " code { (view.tenant) } " has no instance of its own, and there is no global one." }
            }
            @for ty in &view.types {
                section.tenant-type {
                    h2 { code { (ty.plugin_type) } }
                    table.cards {
                        thead { tr { th { "Name" } th { "Item" } th { "Status and priority" } th { "For " (view.tenant) } th { "Switch" } } }
                        tbody {
                            @for instance in &ty.instances {
                                @let meta = &instance.meta;
                                tr.muted[!instance.served] {
                                    td data-label="Name" {
                                        a href=(state.path(&format!("/instances/{}/edit", meta.id))) { (meta.name) }
                                        @if ty.selected == Some(meta.id) { " " span.badge.badge-serving title="What this tenant's lookups of the type return now" { "selected" } }
                                    }
                                    td data-label="Item" { (registry.short_key(&meta.item)) }
                                    td data-label="Status and priority" { (meta.status.as_str()) ", " (meta.priority) }
                                    td.why data-label=(format!("For {}", view.tenant)) {
                                        strong { @if instance.served { "served" } @else { "not served" } }
                                        ": " (instance.why)
                                    }
                                    td data-label="Switch" {
                                        @if meta.scope.is_none() {
                                            form.switch id=(format!("switch-{}", meta.id)) method="post" action=(state.path("/tenants/switch")) {
                                                (csrf(&user))
                                                input type="hidden" name="tenant" value=(view.tenant);
                                                input type="hidden" name="id" value=(meta.id);
                                                button type="submit" name="activation" value="off" { "Off" }
                                                button type="submit" name="activation" value="on" { "On" }
                                                button type="submit" name="activation" value="default" { "As its item says" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let flash = flash(&state, &user);
    Ok(layout(&state, Some(&user), "Tenants", flash.as_ref(), body).into_response())
}

/// Switches one global instance for one tenant; a switch that would take away what an
/// ACTIVE instance of the tenant needs is answered with who needs it and the choice to
/// force it.
pub(crate) async fn switch(
    State(state): Shared,
    Checked { user, form }: Checked<Pairs>,
) -> Result<Response, AdminError> {
    let tenant = value(&form, "tenant").unwrap_or_default().trim().to_owned();
    let id: InstanceId = value(&form, "id").unwrap_or_default().parse()?;
    let activation = match value(&form, "activation") {
        Some("on") => Activation::On,
        Some("off") => Activation::Off,
        Some("default") => Activation::Default,
        _ => {
            return Err(Error::InvalidInput {
                field: "activation",
                reason: "on, off or default".into(),
            }
            .into());
        }
    };
    let forced = value(&form, "force") == Some("yes");
    let actor = user.actor();
    let for_tenant = tenant.clone();
    let written = state
        .blocking(move |plugins| {
            let writer = match forced {
                true => plugins.acting_as(actor).forced(),
                false => plugins.acting_as(actor),
            };
            let name = plugins.instance(id)?.meta.name;
            Ok(writer
                .set_activation(&for_tenant, id, activation)
                .map(|changed| (name, changed)))
        })
        .await?;
    let (name, changed) = match written {
        Err(required @ Error::Required { .. }) => {
            return Ok(confirm_forced(
                &state,
                &user,
                "/tenants/switch",
                &form,
                &required,
            ));
        }
        other => other?,
    };
    let now = match activation {
        Activation::On => "switched on",
        Activation::Off => "switched off",
        Activation::Default => "as its item says",
    };
    let done = match changed {
        true => format!("{} is {now} for tenant `{tenant}`.", quoted(&name)),
        false => format!("{} was already {now} for tenant `{tenant}`.", quoted(&name)),
    };
    let back = format!("/tenants?tenant={}", query_encode(&tenant));
    Ok(redirect(&state, &user, &back, Flash::Done(done)))
}
