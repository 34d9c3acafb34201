//! The admin's tenant page (issue 14): what one tenant is served and why, and switches of
//! global instances for that tenant alone; a switch that takes away what the tenant's
//! ACTIVE instance needs asks before forcing.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::http::StatusCode;
use common::{Client, borrowed, form_fields};
use plugin_system::prelude::*;

#[plugin_type(name = "courier")]
pub trait Courier {
    fn ship(&self) -> String;
}

#[derive(Default)]
pub struct Ground;

#[plugin_item(name = "ground")]
impl Courier for Ground {
    fn ship(&self) -> String {
        "ground".into()
    }
}

#[derive(Default)]
pub struct Express;

#[plugin_item(name = "express", per_tenant, priority = 1)]
impl Courier for Express {
    fn ship(&self) -> String {
        "express".into()
    }
}

fn id_of_item(client: &Client, item: &str) -> plugin_system::InstanceId {
    client
        .plugins
        .instances(&plugin_system::InstanceQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .rows
        .into_iter()
        .find(|row| row.meta.item.name == item)
        .unwrap_or_else(|| panic!("no instance of {item}"))
        .meta
        .id
}

fn shipped(client: &Client, tenant: &str) -> String {
    client
        .plugins
        .scoped(tenant)
        .get::<dyn Courier>()
        .unwrap()
        .ship()
}

#[tokio::test]
async fn a_tenant_s_page_says_what_it_is_served_and_why_and_switches_a_global_instance() {
    let client = Client::logged_in().await;
    let express = id_of_item(&client, "express");
    let page = client.get("/admin/tenants?tenant=acme").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("global, activated per tenant: not switched on"),
        "{}",
        page.body
    );
    assert_eq!(shipped(&client, "acme"), "ground");
    // Switch express on for acme: its row's form, with the "On" button.
    let mut fields = form_fields(&page.body, &format!("switch-{express}"));
    fields.push(("activation".to_owned(), "on".to_owned()));
    let switched = client
        .post("/admin/tenants/switch", &borrowed(&fields))
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.body);
    let after = client.follow(&switched).await;
    assert!(
        after.body.contains("is switched on for tenant"),
        "{}",
        after.body
    );
    assert!(
        after.body.contains("global, switched on for the tenant"),
        "{}",
        after.body
    );
    assert_eq!(shipped(&client, "acme"), "express");
    assert_eq!(
        shipped(&client, "globex"),
        "ground",
        "for that tenant alone"
    );
    // Off again, from the page as it is now.
    let mut fields = form_fields(&after.body, &format!("switch-{express}"));
    fields.push(("activation".to_owned(), "off".to_owned()));
    let off = client
        .post("/admin/tenants/switch", &borrowed(&fields))
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(shipped(&client, "acme"), "ground");
}
