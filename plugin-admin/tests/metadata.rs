//! What items and types say about themselves, in the admin: the items page (version,
//! authors, homepage, grouped by type and category), hidden items left out unless asked for
//! (there and in the create wizard), the types' contract versions.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::http::StatusCode;
use common::Client;
use plugin_system::prelude::*;

/// Shipping carriers: a contract at its second version.
#[plugin_type(name = "carrier", version = 2)]
pub trait Carrier {
    fn ship(&self, parcel: &str) -> String;
}

#[derive(Default)]
pub struct Dhl;

/// Parcels worldwide.
#[plugin_item(
    name = "dhl",
    category = "parcels",
    version = "3.1.0-rc.1",
    authors = ["Ada Lovelace <ada@example.com>", "<b>Eve</b>"],
    homepage = "https://dhl.example/api?a=1&b=2"
)]
impl Carrier for Dhl {
    fn ship(&self, parcel: &str) -> String {
        format!("dhl {parcel}")
    }
}

#[derive(Default)]
pub struct Ups;

#[plugin_item(name = "ups", category = "parcels", version = "1.0.0")]
impl Carrier for Ups {
    fn ship(&self, parcel: &str) -> String {
        format!("ups {parcel}")
    }
}

#[derive(Default)]
pub struct BikeCourier;

/// Same-day, in town.
#[plugin_item(name = "bike_courier", category = "local")]
impl Carrier for BikeCourier {
    fn ship(&self, parcel: &str) -> String {
        format!("bike {parcel}")
    }
}

#[derive(Default)]
pub struct LegacyPost;

/// Kept for old orders; operators need not see it.
#[plugin_item(name = "legacy_post", category = "parcels", hidden)]
impl Carrier for LegacyPost {
    fn ship(&self, parcel: &str) -> String {
        format!("post {parcel}")
    }
}

/// The position of `needle` in `body` (the test fails when it is missing).
fn at(body: &str, needle: &str) -> usize {
    body.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page: {body}"))
}

#[tokio::test]
async fn the_items_page_shows_each_item_s_metadata_grouped_by_category_and_escaped() {
    let admin = Client::logged_in().await;
    let page = admin.get("/admin/items?type=carrier").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    // Grouped by category, each category once, its items under it.
    let (local, parcels) = (at(body, "<h3>local</h3>"), at(body, "<h3>parcels</h3>"));
    assert!(local < parcels, "categories in order: {body}");
    assert_eq!(common::occurrences(body, "<h3>parcels</h3>"), 1, "{body}");
    let (bike, dhl, ups) = (
        at(body, "<code>bike_courier</code>"),
        at(body, "<code>dhl</code>"),
        at(body, "<code>ups</code>"),
    );
    assert!(local < bike && bike < parcels, "bike_courier under local");
    assert!(parcels < dhl && dhl < ups, "dhl and ups under parcels");
    // Version, authors (markup shown as text), homepage as a link (escaped in the attribute).
    assert!(
        body.contains(r#"<td data-label="Version">3.1.0-rc.1</td>"#),
        "{body}"
    );
    assert!(
        body.contains("Ada Lovelace &lt;ada@example.com&gt;<br>&lt;b&gt;Eve&lt;/b&gt;"),
        "{body}"
    );
    assert!(!body.contains("<b>Eve</b>"), "{body}");
    assert!(
        body.contains(
            r#"<a class="url" href="https://dhl.example/api?a=1&amp;b=2" rel="noopener noreferrer">"#
        ),
        "{body}"
    );
    // An item that gives no version has its crate's; the type's contract version is shown.
    assert!(
        body.contains(&format!(
            r#"<td data-label="Version">{}</td>"#,
            env!("CARGO_PKG_VERSION")
        )),
        "{body}"
    );
    assert!(body.contains("contract v2"), "{body}");
    // Only the asked-for type's items.
    assert!(!body.contains("<code>stripe</code>"), "{body}");
}

#[tokio::test]
async fn hidden_items_are_shown_only_when_the_operator_asks() {
    let admin = Client::logged_in().await;
    let items = admin.get("/admin/items").await;
    assert!(!items.body.contains("legacy_post"), "{}", items.body);
    assert!(
        items.body.contains("1 hidden item is not shown."),
        "{}",
        items.body
    );
    assert!(
        items
            .body
            .contains(r#"href="/admin/items?q=&amp;type=&amp;hidden=1&amp;offset=0""#),
        "a link that shows them: {}",
        items.body
    );
    let shown = admin.get("/admin/items?hidden=1").await;
    let row = at(&shown.body, "<code>legacy_post</code>");
    assert!(
        shown.body[row..]
            .starts_with(r#"<code>legacy_post</code> <span class="badge">hidden</span>"#),
        "marked hidden: {}",
        shown.body
    );
    assert!(
        shown.body.contains(r#"<tr class="muted">"#),
        "{}",
        shown.body
    );

    // The create wizard leaves it out too, unless asked.
    let wizard = admin.get("/admin/new").await;
    assert!(!wizard.body.contains("legacy_post"), "{}", wizard.body);
    assert!(
        wizard.body.contains("1 hidden item is not shown."),
        "{}",
        wizard.body
    );
    let asked = admin.get("/admin/new?hidden=1").await;
    assert!(asked.body.contains(">legacy_post</a>"), "{}", asked.body);
}

#[tokio::test]
async fn the_types_page_shows_each_type_s_contract_version_and_links_its_items() {
    let admin = Client::logged_in().await;
    let types = admin.get("/admin").await;
    assert!(
        types.body.contains(r#"<td data-label="Contract">v2</td>"#),
        "carrier's: {}",
        types.body
    );
    assert!(
        types.body.contains(r#"<td data-label="Contract">v1</td>"#),
        "payment_gateway's default: {}",
        types.body
    );
    assert!(
        types
            .body
            .contains(r#"href="/admin/items?type=plugin-admin%3Acarrier">4</a>"#),
        "{}",
        types.body
    );
}
