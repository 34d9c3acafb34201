//! Admin actions (issue 14 part 5): an instance's edit page lists what its plugin type offers
//! (`#[action]`, read from the descriptor), a button each; pressing one runs it as the
//! operator and shows what it said, escaped and without secrets, and the run is audited.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::http::StatusCode;
use common::Client;
use plugin_system::prelude::*;
use plugin_system::store::AuditQuery;
use plugin_system::{InstanceId, Status};

/// Sends text messages.
#[plugin_type(name = "sms_gateway")]
pub trait SmsGateway {
    fn send(&self, to: &str, text: &str) -> Result<String, PluginError>;

    /// Logs in to the provider with the instance's token, sending nothing.
    #[action(label = "Test the connection")]
    fn check_connection(&self) -> Result<String, PluginError>;

    #[action(label = "Crash on purpose")]
    fn explode(&self) -> Result<String, PluginError> {
        panic!("the gateway exploded")
    }
}

#[derive(PluginConfig, Clone)]
pub struct SmsConfig {
    pub account: String,
    #[config(secret, min_length = 8)]
    pub token: String,
}

pub struct Sms(SmsConfig);

impl FromConfig<SmsConfig> for Sms {
    fn from_config(config: SmsConfig) -> Result<Self, PluginError> {
        match config.account.as_str() {
            "broken" => Err(PluginError::new("no such account: `broken`")),
            _ => Ok(Sms(config)),
        }
    }
}

#[plugin_item(name = "sms", config = SmsConfig)]
impl SmsGateway for Sms {
    fn send(&self, to: &str, _: &str) -> Result<String, PluginError> {
        Ok(format!("sms to {to}"))
    }

    fn check_connection(&self) -> Result<String, PluginError> {
        match self.0.account.as_str() {
            "locked" => Err(PluginError::new("the provider locked account `locked`")),
            // Whatever a plugin says is shown escaped, and its secrets masked.
            account => Ok(format!(
                "logged in as <b>{account}</b> with token {}",
                self.0.token
            )),
        }
    }
}

const TOKEN_VALUE: &str = "tok-VERY-SECRET-1";

fn sms(client: &Client, name: &str, account: &str) -> InstanceId {
    client
        .plugins
        .create_instance(
            NewInstance::of::<dyn SmsGateway>("sms", name).config(&SmsConfig {
                account: account.into(),
                token: TOKEN_VALUE.into(),
            }),
        )
        .unwrap()
        .id
}

/// The text of the page's `#action-result` notice, tags and all.
fn result_of(body: &str) -> &str {
    let start = body
        .find("id=\"action-result\"")
        .unwrap_or_else(|| panic!("no action result in {body}"));
    let end = body[start..].find("</div>").expect("the notice ends") + start;
    &body[start..end]
}

#[tokio::test]
async fn the_edit_page_lists_the_actions_of_the_instances_type_with_a_form_each() {
    let client = Client::logged_in().await;
    let id = sms(&client, "Office", "shop");
    let page = client.get(&format!("/admin/instances/{id}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("<h2 id=\"actions-title\">Actions</h2>"),
        "{body}"
    );
    for (name, label) in [
        ("check_connection", "Test the connection"),
        ("explode", "Crash on purpose"),
    ] {
        let form = format!("action=\"/admin/instances/{id}/actions/{name}\"");
        let at = body
            .find(&form)
            .unwrap_or_else(|| panic!("no form for {name}"));
        let form_html = &body[at..at + body[at..].find("</form>").unwrap()];
        assert!(form_html.contains("name=\"csrf\""), "{form_html}");
        assert!(
            form_html.contains(&format!(">{label}</button>")),
            "{form_html}"
        );
    }
    assert!(body.contains("<span class=\"help\">Logs in to the provider with the instance"));
    assert!(!body.contains("id=\"action-result\""));

    // A type that offers no action: no section.
    let cash = common::Client::id_of(&client, "cash");
    let page = client.get(&format!("/admin/instances/{cash}/edit")).await;
    assert!(!page.body.contains("actions-title"), "{}", page.body);
}

#[tokio::test]
async fn pressing_an_action_runs_it_as_the_operator_and_shows_what_it_said() {
    let client = Client::logged_in().await;
    let id = sms(&client, "Office", "shop");
    let reply = client
        .submit(
            &format!("/admin/instances/{id}/actions/check_connection"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let notice = result_of(&reply.body);
    assert!(notice.contains("flash-done"), "{notice}");
    assert!(notice.contains("Test the connection: done"), "{notice}");
    assert!(
        notice.contains("logged in as &lt;b&gt;shop&lt;/b&gt; with token ***"),
        "{notice}"
    );
    assert!(!reply.body.contains(TOKEN_VALUE));
    // The page is the edit page still: its form is there, its secret not.
    assert!(reply.body.contains("id=\"instance-form\""));

    let rows = client
        .plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(10)
        })
        .unwrap();
    let row = &rows[0].entry;
    assert_eq!(row.action, "action");
    assert!(row.actor.starts_with("admin:"), "{}", row.actor);
    assert_eq!(
        row.detail,
        "check_connection: ok: logged in as <b>shop</b> with token ***"
    );
}

#[tokio::test]
async fn an_action_that_fails_or_panics_is_shown_failed_and_the_admin_keeps_serving() {
    let client = Client::logged_in().await;
    let locked = sms(&client, "Locked", "locked");
    let reply = client
        .submit(
            &format!("/admin/instances/{locked}/actions/check_connection"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let notice = result_of(&reply.body);
    assert!(notice.contains("flash-error"), "{notice}");
    assert!(notice.contains("Test the connection: failed"), "{notice}");
    assert!(
        notice.contains("the provider locked account <code>locked</code>"),
        "{notice}"
    );

    let reply = client
        .submit(&format!("/admin/instances/{locked}/actions/explode"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let notice = result_of(&reply.body);
    assert!(notice.contains("Crash on purpose: failed"), "{notice}");
    assert!(
        notice.contains("the action panicked: the gateway exploded"),
        "{notice}"
    );
    let page = client.get(&format!("/admin/instances/{locked}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn an_action_that_cannot_run_says_why_on_the_page() {
    let client = Client::logged_in().await;
    let id = sms(&client, "Office", "shop");
    let reply = client
        .submit(&format!("/admin/instances/{id}/actions/reboot"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let notice = result_of(&reply.body);
    assert!(notice.contains("reboot: not run"), "{notice}");
    assert!(
        notice.contains("its actions: <code>check_connection</code>, <code>explode</code>"),
        "{notice}"
    );

    // An instance that does not load: not run, and why (409: the instance's state).
    let broken = sms(&client, "Broken", "broken");
    let reply = client
        .submit(
            &format!("/admin/instances/{broken}/actions/check_connection"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let notice = result_of(&reply.body);
    assert!(notice.contains("Test the connection: not run"), "{notice}");
    assert!(
        notice.contains("does not load: no such account: <code>broken</code>"),
        "{notice}"
    );

    // A DISABLED instance runs its actions (a test before enabling it).
    client.plugins.set_status(&[id], Status::Disabled).unwrap();
    let reply = client
        .submit(
            &format!("/admin/instances/{id}/actions/check_connection"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(result_of(&reply.body).contains("Test the connection: done"));
}

#[tokio::test]
async fn running_an_action_needs_the_forms_csrf_token() {
    let client = Client::logged_in().await;
    let id = sms(&client, "Office", "shop");
    let path = format!("/admin/instances/{id}/actions/check_connection");
    for form in [vec![], vec![("csrf", "forged")]] {
        let reply = client.post(&path, &form).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    let rows = client
        .plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(10)
        })
        .unwrap();
    assert!(rows.iter().all(|row| row.entry.action != "action"));
}
