//! What instances need, in the admin (issue 13): disabling or deleting the last instance an
//! ACTIVE instance needs is answered with who needs it and the choice to force it; an instance
//! says which extension points it serves besides its own.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::http::StatusCode;
use common::{Client, borrowed, form_fields};
use plugin_system::prelude::*;
use plugin_system::{LoadState, Status};

#[plugin_type(name = "renderer")]
pub trait Renderer {
    fn render(&self, text: &str) -> String;
}

#[derive(Default)]
pub struct Plain;

#[plugin_item(name = "plain")]
impl Renderer for Plain {
    fn render(&self, text: &str) -> String {
        text.to_owned()
    }
}

#[plugin_type(name = "welcome")]
pub trait Welcome {
    fn welcome(&self, user: &str) -> String;
}

#[plugin_type(name = "farewell")]
pub trait Farewell {
    fn farewell(&self, user: &str) -> String;
}

pub struct Mails {
    renderer: Plugin<dyn Renderer>,
}

impl FromNeeds<NoConfig> for Mails {
    fn from_needs(_: NoConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(Mails {
            renderer: needs.get::<dyn Renderer>()?,
        })
    }
}

#[plugin_item(name = "mails", needs = [Renderer], also = [Farewell])]
impl Welcome for Mails {
    fn welcome(&self, user: &str) -> String {
        self.renderer.render(&format!("hello {user}"))
    }
}

#[plugin_item(also)]
impl Farewell for Mails {
    fn farewell(&self, user: &str) -> String {
        self.renderer.render(&format!("bye {user}"))
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

#[tokio::test]
async fn a_bulk_disable_of_what_others_need_says_who_and_can_be_forced() {
    let client = Client::logged_in().await;
    let renderer = id_of_item(&client, "plain");
    let mails = id_of_item(&client, "mails");
    let id = renderer.to_string();
    let refused = client
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", &id)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert!(
        refused.body.contains("required by `mails`"),
        "{}",
        refused.body
    );
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Active,
        "a refused write changed nothing"
    );
    // The page's button repeats the action, forced.
    let fields = form_fields(&refused.body, "confirm-force");
    assert!(
        fields.contains(&("force".to_owned(), "yes".to_owned())),
        "{fields:?}"
    );
    let forced = client
        .post("/admin/instances/bulk", &borrowed(&fields))
        .await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER, "{}", forced.body);
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Disabled
    );
    let dependent = client
        .plugins
        .instances(&plugin_system::InstanceQuery::default())
        .rows
        .into_iter()
        .find(|row| row.meta.id == mails)
        .unwrap();
    assert!(
        matches!(&dependent.load, LoadState::Failed(reason) if reason.starts_with("needs `renderer`")),
        "{:?}",
        dependent.load
    );
}

#[tokio::test]
async fn deleting_what_others_need_says_who_and_can_be_forced() {
    let client = Client::logged_in().await;
    let renderer = id_of_item(&client, "plain");
    let path = format!("/admin/instances/{renderer}/delete");
    let refused = client.submit(&path, &[("confirm", "yes")]).await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert!(
        refused.body.contains("required by `mails`"),
        "{}",
        refused.body
    );
    assert!(client.plugins.instance(renderer).is_ok(), "not deleted");
    let fields = form_fields(&refused.body, "confirm-force");
    let forced = client.post(&path, &borrowed(&fields)).await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER, "{}", forced.body);
    assert!(client.plugins.instance(renderer).is_err(), "deleted");
}

#[tokio::test]
async fn an_instance_and_its_item_say_which_other_extension_points_they_serve() {
    let client = Client::logged_in().await;
    let instances = client.get("/admin/instances").await;
    assert!(
        instances
            .body
            .contains("also serves <code>plugin-admin:farewell</code>"),
        "{}",
        instances.body
    );
    let items = client.get("/admin/items").await;
    assert_eq!(
        common::occurrences(&items.body, "also serves <code>"),
        1,
        "{}",
        items.body
    );
}

#[tokio::test]
async fn an_edit_that_disables_what_others_need_says_who_and_can_be_forced() {
    let client = Client::logged_in().await;
    let renderer = id_of_item(&client, "plain");
    let path = format!("/admin/instances/{renderer}/edit");
    let page = client.get(&path).await;
    let mut fields = form_fields(&page.body, "instance-form");
    set(&mut fields, "instance_status", "disabled");
    let refused = client.post(&path, &borrowed(&fields)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("required by `mails`"),
        "{}",
        refused.body
    );
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Active,
        "a refused save changed nothing"
    );
    // The refusal keeps the operator's values and offers to save them anyway.
    let mut again = form_fields(&refused.body, "instance-form");
    assert!(
        again.contains(&("instance_status".to_owned(), "disabled".to_owned())),
        "{again:?}"
    );
    assert!(
        refused.body.contains(r#"name="force" value="yes""#),
        "{}",
        refused.body
    );
    // Saved again without ticking it: refused again.
    let still = client.post(&path, &borrowed(&again)).await;
    assert_eq!(still.status, StatusCode::CONFLICT, "{}", still.body);
    again.push(("force".to_owned(), "yes".to_owned()));
    let forced = client.post(&path, &borrowed(&again)).await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER, "{}", forced.body);
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Disabled
    );
}

#[tokio::test]
async fn a_quick_disable_in_the_list_of_what_others_need_says_who_and_can_be_forced() {
    let client = Client::logged_in().await;
    let renderer = id_of_item(&client, "plain");
    let meta = client.plugins.instance(renderer).unwrap().meta;
    let path = format!("/admin/instances/{renderer}/quick");
    let (version, priority) = (meta.version.to_string(), meta.priority.to_string());
    let refused = client
        .submit(
            &path,
            &[
                (&format!("version.{renderer}"), &version),
                (&format!("status.{renderer}"), "disabled"),
                (&format!("priority.{renderer}"), &priority),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert!(
        refused.body.contains("required by `mails`"),
        "{}",
        refused.body
    );
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Active
    );
    let fields = form_fields(&refused.body, "confirm-force");
    let forced = client.post(&path, &borrowed(&fields)).await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER, "{}", forced.body);
    assert_eq!(
        client.plugins.instance(renderer).unwrap().meta.status,
        Status::Disabled
    );
}

/// Sets a form field's value (it must be there).
fn set(fields: &mut [(String, String)], name: &str, to: &str) {
    let field = fields
        .iter_mut()
        .find(|(key, _)| key == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = to.to_owned();
}
