//! Instances a declared file manages, in the admin (issue 15 part 3): the list names the file
//! and offers no edit of them, their edit page is read-only under a notice with a button that
//! releases them, their delete page refuses, every write that reaches them anyway is refused
//! with the file named and writes nothing; a secret stored as a reference is shown by what it
//! names and kept when its input is left empty.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod common;

use axum::http::StatusCode;
use common::{Client, SECRET, borrowed, form_fields, occurrences, with};
use plugin_system::prelude::*;
use plugin_system::store::AuditQuery;
use plugin_system::{InstanceId, Status};
use serde_json::json;

/// Sends mail.
#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn send(&self, to: &str) -> String;

    /// Says hello to the server, sending nothing.
    #[action(label = "Test the connection")]
    fn check_connection(&self) -> Result<String, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
}

pub struct Smtp(SmtpConfig);

impl From<SmtpConfig> for Smtp {
    fn from(config: SmtpConfig) -> Self {
        Smtp(config)
    }
}

#[plugin_item(name = "smtp", config = SmtpConfig)]
impl Mailer for Smtp {
    fn send(&self, to: &str) -> String {
        format!("mail to {to} through {}", self.0.host)
    }

    fn check_connection(&self) -> Result<String, PluginError> {
        Ok(format!("{} said hello", self.0.host))
    }
}

/// The variable the declared Stripe key is read from (never set: only its name is shown).
const KEY_VARIABLE: &str = "PLUGIN_ADMIN_TEST_STRIPE_KEY";

/// The declared file: the Stripe instance "Managed", its key a reference.
fn stripe_file() -> String {
    format!(
        r#"
[[instance]]
item = "{}"
name = "Managed"
[instance.config]
api_key = {{ env = "{KEY_VARIABLE}" }}
currency = "usd"
"#,
        common::STRIPE
    )
}

/// Applies `text` as the declared file `plugins.toml` (from a directory of its own).
fn apply(plugins: &Plugins, text: &str) {
    let dir = std::env::temp_dir().join(format!("plugin-admin-declared-{}", InstanceId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plugins.toml");
    std::fs::write(&path, text).unwrap();
    let file = plugins.read_file(&path).unwrap();
    plugins.apply_file(&file, false).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A logged-in admin with the Stripe instance "Managed" (created by hand with a plain key,
/// then taken over by the file) and "Hand-made", which no file manages.
async fn with_managed() -> (Client, InstanceId, InstanceId) {
    let client = Client::logged_in().await;
    let created = client.create_stripe("Managed", SECRET).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let created = client.create_stripe("Hand-made", SECRET).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    apply(&client.plugins, &stripe_file());
    let managed = client.id_of("Managed");
    let free = client.id_of("Hand-made");
    assert_eq!(
        client
            .plugins
            .instance(managed)
            .unwrap()
            .managed_by
            .as_deref(),
        Some("plugins.toml")
    );
    assert_eq!(client.plugins.instance(free).unwrap().managed_by, None);
    (client, managed, free)
}

/// The notice a managed instance's pages show.
const NOTICE: &str = "Managed by the file <code>plugins.toml</code>: change it there and apply the file. To edit it here, release it from the file first (the file's next apply takes it over again).";

/// The `<tr>` of instance `id` in the list.
fn row(body: &str, id: InstanceId) -> &str {
    let start = body
        .find(&format!(r#"<tr data-id="{id}""#))
        .unwrap_or_else(|| panic!("no row of {id} in {body}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

#[tokio::test]
async fn a_managed_instance_s_edit_page_is_read_only_under_the_notice_with_a_release_button() {
    let (client, managed, free) = with_managed().await;
    let page = client
        .get(&format!("/admin/instances/{managed}/edit"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    let notice = body.find(NOTICE).unwrap_or_else(|| panic!("{body}"));
    // At the top: before the fields.
    assert!(notice < body.find("<legend>Instance</legend>").unwrap());
    let release =
        format!(r#"<form id="release" method="post" action="/admin/instances/{managed}/release">"#);
    let at = body.find(&release).unwrap_or_else(|| panic!("{body}"));
    let form = &body[at..at + body[at..].find("</form>").unwrap()];
    assert!(form.contains(r#"name="csrf""#), "{form}");
    assert!(form.contains(">Release from the file</button>"), "{form}");
    // Every input disabled (both fieldsets), no form to save and no Save, no delete.
    assert_eq!(occurrences(body, "<fieldset disabled>"), 2, "{body}");
    assert_eq!(occurrences(body, "<fieldset"), 2, "{body}");
    assert!(!body.contains(r#"id="instance-form""#), "{body}");
    assert!(!body.contains(">Save</button>"), "{body}");
    assert!(!body.contains("/delete\""), "{body}");
    assert!(!body.contains("TOPSECRET"), "the key is never shown");
    // A field the file leaves out shows the default that applies.
    assert!(
        body.contains(r#"name="config.endpoint" value="" placeholder="https://api.stripe.com""#),
        "{body}"
    );

    // An instance no file manages: the form as always, no notice.
    let page = client.get(&format!("/admin/instances/{free}/edit")).await;
    assert!(!page.body.contains("Managed by the file"), "{}", page.body);
    assert!(!page.body.contains("<fieldset disabled>"), "{}", page.body);
    assert!(page.body.contains(r#"id="instance-form""#), "{}", page.body);
    assert!(page.body.contains(">Save</button>"), "{}", page.body);
}

#[tokio::test]
async fn a_save_from_a_tab_opened_before_the_file_took_over_is_refused_with_the_notice() {
    let client = Client::logged_in().await;
    client.create_stripe("Managed", SECRET).await;
    let id = client.id_of("Managed");
    let path = format!("/admin/instances/{id}/edit");
    let page = client.get(&path).await;
    let fields = form_fields(&page.body, "instance-form");
    apply(&client.plugins, &stripe_file());
    let before = client.plugins.instance(id).unwrap();

    let changed = with(&fields, &[("instance_priority", "3")]);
    let refused = client.post(&path, &borrowed(&changed)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains(NOTICE), "{}", refused.body);
    assert!(!refused.body.contains(">Save</button>"), "{}", refused.body);
    let after = client.plugins.instance(id).unwrap();
    assert_eq!(after.meta.version, before.meta.version, "nothing written");
    assert_eq!(after.meta.priority, before.meta.priority);
    assert_eq!(
        client.plugins.config_values(id).unwrap().unwrap()["api_key"],
        json!({"$env": KEY_VARIABLE})
    );
}

#[tokio::test]
async fn the_list_names_the_file_and_offers_no_quick_edit_or_selection_of_a_managed_row() {
    let (client, managed, free) = with_managed().await;
    let page = client.get("/admin/instances").await;
    assert_eq!(page.status, StatusCode::OK);
    let row_of_managed = row(&page.body, managed);
    assert!(
        row_of_managed.contains(r#"<span class="badge badge-managed" title="Declared in the file plugins.toml: change it there and apply the file. To edit it here, release it from the file on its edit page.">managed by plugins.toml</span>"#),
        "{row_of_managed}"
    );
    // The checkbox, the status, the priority and Save.
    assert_eq!(
        occurrences(row_of_managed, " disabled"),
        4,
        "{row_of_managed}"
    );
    let row_of_free = row(&page.body, free);
    assert!(!row_of_free.contains("managed by"), "{row_of_free}");
    assert_eq!(occurrences(row_of_free, " disabled"), 0, "{row_of_free}");
}

#[tokio::test]
async fn a_quick_edit_of_a_managed_instance_is_refused_with_the_file_named_and_writes_nothing() {
    let (client, managed, _) = with_managed().await;
    let before = client.plugins.instance(managed).unwrap().meta;
    let version = before.version.to_string();
    let refused = client
        .submit(
            &format!("/admin/instances/{managed}/quick"),
            &[
                (&format!("version.{managed}"), &version),
                (&format!("status.{managed}"), "disabled"),
                (&format!("priority.{managed}"), "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    let list = client.follow(&refused).await;
    assert!(
        list.body.contains("Not saved: “Managed” is managed by the file <code>plugins.toml</code>: change it there and apply the file. To edit it here, release it from the file first (on its edit page)."),
        "{}",
        list.body
    );
    let after = client.plugins.instance(managed).unwrap().meta;
    assert_eq!(
        (after.version, after.status, after.priority),
        (before.version, before.status, before.priority)
    );
}

#[tokio::test]
async fn a_bulk_action_that_includes_a_managed_instance_says_which_file_and_writes_nothing() {
    let (client, managed, free) = with_managed().await;
    let versions = |client: &Client| {
        [managed, free].map(|id| client.plugins.instance(id).unwrap().meta.version)
    };
    let before = versions(&client);
    for action in ["disable", "priority_up", "delete"] {
        let refused = client
            .submit(
                "/admin/instances/bulk",
                &[
                    ("action", action),
                    ("id", &managed.to_string()),
                    ("id", &free.to_string()),
                    ("back", "status=active"),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "{action}: {}",
            refused.body
        );
        let body = &refused.body;
        assert!(
            body.contains(
                "Nothing was changed: 1 of the 2 selected instance(s) is managed by a declared file"
            ),
            "{action}: {body}"
        );
        assert!(
            body.contains(&format!(
                r#"<a href="/admin/instances/{managed}/edit">Managed</a> — managed by the file <code>plugins.toml</code>"#
            )),
            "{action}: {body}"
        );
        assert!(
            body.contains("<strong>Release from the file</strong>"),
            "{body}"
        );
        assert!(!body.contains(&format!("/instances/{free}/edit")), "{body}");
        assert!(
            body.contains(r#"href="/admin/instances?status=active""#),
            "{body}"
        );
        assert!(
            !body.contains("confirm-delete"),
            "no delete offered: {body}"
        );
        assert_eq!(versions(&client), before, "{action} wrote");
    }
    assert_eq!(
        client.plugins.instance(free).unwrap().meta.status,
        Status::Active
    );
    // Without the managed one, the same action goes through.
    let done = client
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", &free.to_string())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        client.plugins.instance(free).unwrap().meta.status,
        Status::Disabled
    );
}

#[tokio::test]
async fn the_delete_page_refuses_a_managed_instance_with_the_notice_and_no_delete_anyway() {
    let (client, managed, _) = with_managed().await;
    let path = format!("/admin/instances/{managed}/delete");
    let page = client.get(&path).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains(NOTICE), "{}", page.body);
    assert!(!page.body.contains("Delete it"), "{}", page.body);
    assert!(!page.body.contains(r#"name="confirm""#), "{}", page.body);
    for form in [
        vec![("confirm", "yes")],
        vec![("confirm", "yes"), ("force", "yes")],
    ] {
        let refused = client.submit(&path, &form).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(refused.body.contains(NOTICE), "{}", refused.body);
        assert!(!refused.body.contains("Do it anyway"), "{}", refused.body);
        assert!(client.plugins.instance(managed).is_ok(), "not deleted");
    }
}

#[tokio::test]
async fn releasing_hands_the_instance_back_audited_and_its_edit_page_saves_again() {
    let (client, managed, _) = with_managed().await;
    let released = client
        .submit(&format!("/admin/instances/{managed}/release"), &[])
        .await;
    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    let path = format!("/admin/instances/{managed}/edit");
    assert_eq!(released.location.as_deref(), Some(path.as_str()));
    assert_eq!(client.plugins.instance(managed).unwrap().managed_by, None);
    let audit = client
        .plugins
        .audit(&AuditQuery {
            instance: Some(managed),
            ..AuditQuery::latest(1)
        })
        .unwrap();
    assert_eq!(audit[0].entry.action, "release");
    assert_eq!(audit[0].entry.actor, "admin:operator");

    let page = client.follow(&released).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "Released “Managed” from the file <code>plugins.toml</code>: you can edit it here."
        ),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Managed by the file"), "{}", page.body);
    assert!(!page.body.contains("<fieldset disabled>"), "{}", page.body);
    let fields = form_fields(&page.body, "instance-form");
    let renamed = with(&fields, &[("instance_name", "Managed no more")]);
    let saved = client.post(&path, &borrowed(&renamed)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        client.plugins.instance(managed).unwrap().meta.name,
        "Managed no more"
    );

    // Releasing what no file manages says so and changes nothing.
    let version = client.plugins.instance(managed).unwrap().meta.version;
    let again = client
        .submit(&format!("/admin/instances/{managed}/release"), &[])
        .await;
    let page = client.follow(&again).await;
    assert!(
        page.body.contains("is not managed by a file"),
        "{}",
        page.body
    );
    assert_eq!(
        client.plugins.instance(managed).unwrap().meta.version,
        version
    );
}

#[tokio::test]
async fn admin_actions_stay_available_on_a_managed_instance() {
    let client = Client::logged_in().await;
    apply(
        &client.plugins,
        r#"
[[instance]]
item = "plugin-admin:mailer/smtp"
name = "Declared mail"
[instance.config]
host = "smtp.example.com"
"#,
    );
    let id = client.id_of("Declared mail");
    let page = client.get(&format!("/admin/instances/{id}/edit")).await;
    assert!(page.body.contains(NOTICE), "{}", page.body);
    assert!(
        page.body.contains(&format!(
            r#"action="/admin/instances/{id}/actions/check_connection""#
        )),
        "{}",
        page.body
    );
    let ran = client
        .submit(
            &format!("/admin/instances/{id}/actions/check_connection"),
            &[],
        )
        .await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    assert!(
        ran.body.contains("smtp.example.com said hello"),
        "{}",
        ran.body
    );
    assert!(ran.body.contains(NOTICE), "still read-only: {}", ran.body);
}

#[tokio::test]
async fn a_secret_stored_as_a_reference_is_shown_by_what_it_names_and_kept_by_an_empty_input() {
    let (client, managed, _) = with_managed().await;
    let placeholder = format!(r#"placeholder="from env {KEY_VARIABLE}""#);
    // Read-only, while the file manages it.
    let page = client
        .get(&format!("/admin/instances/{managed}/edit"))
        .await;
    assert!(page.body.contains(&placeholder), "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "Stored as a reference: read from <code>env {KEY_VARIABLE}</code> where the instance is built."
        )),
        "{}",
        page.body
    );

    client
        .submit(&format!("/admin/instances/{managed}/release"), &[])
        .await;
    let path = format!("/admin/instances/{managed}/edit");
    let page = client.get(&path).await;
    assert!(page.body.contains(&placeholder), "{}", page.body);
    assert!(
        page.body
            .contains("Leave it empty to keep the reference; a value you type replaces it."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("unchanged unless you type a new one"));
    let fields = form_fields(&page.body, "instance-form");
    assert!(
        fields.contains(&("config.api_key".to_owned(), String::new())),
        "the input is empty: {fields:?}"
    );
    let edited = with(&fields, &[("config.timeout_secs", "45")]);
    let saved = client.post(&path, &borrowed(&edited)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let values = client.plugins.config_values(managed).unwrap().unwrap();
    assert_eq!(values["api_key"], json!({"$env": KEY_VARIABLE}), "kept");
    assert_eq!(values["timeout_secs"], json!(45));

    // A refused save shows the form again, still saying where the key is read from.
    let page = client.get(&path).await;
    let fields = form_fields(&page.body, "instance-form");
    let bad = with(&fields, &[("config.timeout_secs", "9000")]);
    let refused = client.post(&path, &borrowed(&bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(&placeholder), "{}", refused.body);

    // A value typed over the reference replaces it (and is never shown).
    let page = client.get(&path).await;
    let fields = form_fields(&page.body, "instance-form");
    let typed = with(&fields, &[("config.api_key", SECRET)]);
    let saved = client.post(&path, &borrowed(&typed)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let values = client.plugins.config_values(managed).unwrap().unwrap();
    assert_eq!(values["api_key"], json!(SECRET));
    let page = client.get(&path).await;
    assert!(!page.body.contains("TOPSECRET"), "{}", page.body);
    assert!(!page.body.contains("from env"), "{}", page.body);
}
