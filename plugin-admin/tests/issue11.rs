//! Issue 11, tried from outside: each finding has its test here (through the router, request
//! by request).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use common::{
    Client, PaymentGateway, SECRET, STRIPE, borrowed, encode, form_fields, input_value,
    occurrences, with,
};
use plugin_system::InstanceRecord;
use plugin_system::prelude::*;
use plugin_system::store::{AuditQuery, AuditRecord, Store, Transaction};
use plugin_system::store::{MemoryStore, StoreError, StoreErrorKind};
use plugin_system::{Error, InstanceId, Key, Status};

/// Finding 1: a save from a stale page is refused, and so is pressing Save again on the
/// refusal; the refusal shows what the other operator changed; only an explicit choice
/// overwrites.
#[tokio::test]
async fn a_stale_save_is_refused_twice_shows_the_other_change_and_never_overwrites_silently() {
    let admin = Client::logged_in().await;
    admin.create_stripe("Stripe live", SECRET).await;
    let id = admin.id_of("Stripe live");
    let edit = format!("/admin/instances/{id}/edit");
    let opened = admin.get(&edit).await;
    assert_eq!(input_value(&opened.body, "version").as_deref(), Some("1"));
    let mine = with(
        &form_fields(&opened.body, "instance-form"),
        &[("instance_priority", "5")],
    );

    // Another operator disables it meanwhile.
    admin
        .plugins
        .acting_as("admin:bob")
        .set_status(&[id], Status::Disabled)
        .unwrap();

    let refused = admin.submit_fields(&edit, &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("Not saved"), "{}", refused.body);
    assert!(
        refused.body.contains("admin:bob"),
        "who changed it: {}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<td>Status</td><td>active</td><td>disabled</td><td>active</td>"),
        "what differs: {}",
        refused.body
    );
    let again = form_fields(&refused.body, "instance-form");
    assert_eq!(
        again
            .iter()
            .find(|(k, _)| k == "version")
            .map(|(_, v)| v.as_str()),
        Some("1"),
        "the refusal's form still carries the version its values were read at"
    );

    // Save again, as the refusal page stands: refused again, nothing overwritten.
    let twice = admin.submit_fields(&edit, &again).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    let stored = admin.plugins.instance(id).unwrap();
    assert_eq!(stored.meta.status, Status::Disabled, "their change stands");
    assert_eq!(stored.meta.priority, 10);

    // Ticking "save my values over it" is the one way to overwrite.
    let overwrite = with(&again, &[("overwrite", "2")]);
    let saved = admin.submit_fields(&edit, &overwrite).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = admin.plugins.instance(id).unwrap();
    assert_eq!(
        (stored.meta.status, stored.meta.priority),
        (Status::Active, 5)
    );
}

/// Finding 2: pages are bounded (50 rows, a total, next and previous, sortable columns), the
/// item filter lists only the chosen type's items, the wizard is searchable, and the audit
/// reads older pages and one instance's history.
#[tokio::test]
async fn lists_are_paged_sorted_and_searchable_at_any_size() {
    let admin = Client::logged_in().await;
    let writer = admin.plugins.acting_as("application");
    for n in 0..130 {
        writer
            .create_instance(
                NewInstance::of::<dyn PaymentGateway>("cash", format!("till {n:03}")).status(
                    if n % 10 == 0 {
                        Status::Disabled
                    } else {
                        Status::Active
                    },
                ),
            )
            .unwrap();
    }
    let first = admin.get("/admin/instances").await;
    assert_eq!(
        occurrences(&first.body, "<tr data-id="),
        50,
        "one page of rows"
    );
    assert!(first.body.contains("131 instances"), "the total");
    assert!(first.body.contains("Showing 1–50 of 131"));
    assert!(first.body.contains(r#"rel="next""#));
    assert!(!first.body.contains(r#"rel="prev""#));
    assert!(
        !first.body.contains(r#"form="row-"#),
        "no per-row form attributes"
    );
    assert!(
        !first.body.contains(r#"<select name="item""#),
        "no item list until a type is chosen"
    );
    assert!(
        first.body.contains("badge-serving"),
        "the serving instance is marked"
    );

    let disabled = admin.get("/admin/instances?status=disabled").await;
    assert_eq!(
        occurrences(&disabled.body, r#"class="muted""#),
        13,
        "disabled rows are muted"
    );
    let last = admin.get("/admin/instances?offset=100").await;
    assert_eq!(occurrences(&last.body, "<tr data-id="), 31);
    assert!(last.body.contains(r#"rel="prev""#) && !last.body.contains(r#"rel="next""#));

    let by_name = admin.get("/admin/instances?sort=name&desc=1").await;
    let first_row = by_name.body.find("till 129").unwrap();
    assert!(
        first_row < by_name.body.find("till 128").unwrap(),
        "sorted by name, descending"
    );

    let searched = admin.get("/admin/instances?q=till%2012").await;
    assert!(
        searched.body.contains("10 instances match"),
        "till 120 to 129"
    );
    assert!(searched.body.contains("Clear filters"));

    let typed = admin
        .get(&format!(
            "/admin/instances?type={}",
            encode("plugin-admin:payment_gateway")
        ))
        .await;
    assert!(
        typed.body.contains(r#"<select name="item""#),
        "the chosen type's items"
    );
    assert!(typed.body.contains(">stripe</option>") && typed.body.contains(">cash</option>"));

    let wizard = admin.get("/admin/new?q=card").await;
    assert!(wizard.body.contains(">stripe</a>"), "found by its category");
    assert!(!wizard.body.contains(">cash</a>"), "{}", wizard.body);

    // 131 create rows (and a sync row): the trail reads in pages.
    let trail = admin.get("/admin/audit").await;
    assert_eq!(
        occurrences(&trail.body, r#"<tr><td data-label="When">"#),
        50
    );
    let older = trail
        .body
        .split(r#"?before="#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let page_two = admin.get(&format!("/admin/audit?before={older}")).await;
    assert_eq!(
        occurrences(&page_two.body, r#"<tr><td data-label="When">"#),
        50
    );
    assert!(page_two.body.contains("Newer"));
    let one = admin.id_of("till 007");
    let history = admin.get(&format!("/admin/audit?instance={one}")).await;
    assert!(
        history.body.contains("History of till 007"),
        "{}",
        history.body
    );
    assert_eq!(
        occurrences(&history.body, r#"<tr><td data-label="When">"#),
        1,
        "only its own rows"
    );
}

/// A store whose reads wait at a gate the test opens: a handler that ran them on an async
/// worker would hold the (only) worker until then.
#[derive(Debug)]
struct GatedStore {
    inner: MemoryStore,
    closed: Arc<(Mutex<bool>, Condvar)>,
    waiting: Arc<AtomicBool>,
}

impl GatedStore {
    fn wait_at_gate(&self) {
        let (lock, opened) = &*self.closed;
        let mut closed = lock.lock().unwrap();
        if *closed {
            self.waiting.store(true, Ordering::SeqCst);
            // Bounded: a test that fails must not hang.
            let deadline = Instant::now() + Duration::from_secs(10);
            while *closed && Instant::now() < deadline {
                closed = opened
                    .wait_timeout(closed, Duration::from_millis(100))
                    .unwrap()
                    .0;
            }
            self.waiting.store(false, Ordering::SeqCst);
        }
    }
}

impl Store for GatedStore {
    fn revision(&self) -> Result<u64, StoreError> {
        self.inner.revision()
    }
    fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        self.inner.instances()
    }
    fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        self.inner.instance(id)
    }
    fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        self.inner.instances_by_id(ids)
    }
    fn activations(&self) -> Result<Vec<plugin_system::ActivationRecord>, StoreError> {
        self.inner.activations()
    }
    fn activations_by_key(
        &self,
        keys: &[plugin_system::ActivationKey],
    ) -> Result<Vec<plugin_system::ActivationRecord>, StoreError> {
        self.inner.activations_by_key(keys)
    }
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.wait_at_gate();
        self.inner.audit(query)
    }
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.inner.write(work)
    }
}

/// Finding 3: a request waiting on the store does not hold an async worker; on a
/// one-thread runtime, another request is answered meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn store_work_runs_off_the_async_workers() {
    let closed = Arc::new((Mutex::new(false), Condvar::new()));
    let waiting = Arc::new(AtomicBool::new(false));
    let store = GatedStore {
        inner: MemoryStore::new(),
        closed: closed.clone(),
        waiting: waiting.clone(),
    };
    let plugins = Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .store(store)
        .no_watch()
        .build()
        .unwrap();
    let admin = Arc::new(Client::of(plugins, |admin| admin).log_in().await);
    *closed.0.lock().unwrap() = true;

    let slow = tokio::spawn({
        let admin = admin.clone();
        async move { admin.get("/admin/audit").await.status }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !waiting.load(Ordering::SeqCst) && Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
    let quick = admin.get("/admin/instances").await;
    let answered_while_waiting = waiting.load(Ordering::SeqCst);
    *closed.0.lock().unwrap() = false;
    closed.1.notify_all();
    assert_eq!(quick.status, StatusCode::OK);
    assert!(
        answered_while_waiting,
        "the second request was answered only after the first left the store"
    );
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
}

/// A store that cannot be reached.
#[derive(Debug)]
struct DownStore {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl DownStore {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "connection refused",
            )),
            false => Ok(()),
        }
    }
}

impl Store for DownStore {
    fn revision(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revision()
    }
    fn instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        self.check()?;
        self.inner.instances()
    }
    fn instance(&self, id: InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        self.check()?;
        self.inner.instance(id)
    }
    fn instances_by_id(&self, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, StoreError> {
        self.check()?;
        self.inner.instances_by_id(ids)
    }
    fn activations(&self) -> Result<Vec<plugin_system::ActivationRecord>, StoreError> {
        self.check()?;
        self.inner.activations()
    }
    fn activations_by_key(
        &self,
        keys: &[plugin_system::ActivationKey],
    ) -> Result<Vec<plugin_system::ActivationRecord>, StoreError> {
        self.check()?;
        self.inner.activations_by_key(keys)
    }
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.check()?;
        self.inner.audit(query)
    }
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.check()?;
        self.inner.write(work)
    }
}

/// The admin's error type: an unreachable database is a 503 page, not a 500.
#[tokio::test]
async fn an_unreachable_database_is_a_503_page() {
    let down = Arc::new(AtomicBool::new(false));
    let plugins = Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .store(DownStore {
            inner: MemoryStore::new(),
            down: down.clone(),
        })
        .no_watch()
        .build()
        .unwrap();
    let admin = Client::of(plugins, |admin| admin).log_in().await;
    let id = admin.id_of("cash");
    down.store(true, Ordering::SeqCst);
    for path in [
        "/admin/audit".to_owned(),
        format!("/admin/instances/{id}/edit"),
    ] {
        let reply = admin.get(&path).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(reply.body.contains("cannot be reached"), "{}", reply.body);
    }
    let bulk = admin
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", &id.to_string())],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Finding 4: a message in the URL is never shown; the server's own flash shows once.
#[tokio::test]
async fn only_the_server_sets_flash_messages() {
    let admin = Client::logged_in().await;
    let spoof = "Your session expired, log in again at https://evil.example";
    for path in ["/admin", "/admin/instances", "/admin/audit", "/admin/new"] {
        let page = admin.get(&format!("{path}?notice={}", encode(spoof))).await;
        assert!(
            !page.body.contains("session expired"),
            "{path} shows the link's text"
        );
    }
    let id = admin.id_of("cash").to_string();
    let done = admin
        .submit(
            "/admin/instances/bulk",
            &[("action", "disable"), ("id", &id)],
        )
        .await;
    assert!(
        !done.location.unwrap().contains("notice"),
        "no message in the URL"
    );
    let next = admin.get("/admin/instances").await;
    assert!(next.body.contains("1 instance(s) changed."));
    let reload = admin.get("/admin/instances").await;
    assert!(
        !reload.body.contains("1 instance(s) changed."),
        "shown once"
    );
}

/// Finding 5: every response carries the security headers; the cookie can be `Secure`.
#[tokio::test]
async fn every_response_carries_security_headers() {
    let admin = Client::logged_in().await;
    let unknown = format!("/admin/instances/{}/edit", InstanceId::new());
    for path in [
        "/admin",
        "/admin/login",
        "/admin/instances",
        "/admin/admin.css",
        unknown.as_str(),
    ] {
        let reply = admin.get(path).await;
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{path}: no {name}"))
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        if path != "/admin/admin.css" {
            assert_eq!(header("cache-control"), "no-store", "{path}");
        }
    }
    let page = admin.get("/admin/instances").await;
    assert!(
        !page.body.contains("<style"),
        "no inline style for the policy to allow"
    );
    assert!(!page.body.contains("<script"));

    let plain = Client::new().log_in().await;
    let login = plain
        .post("/admin/login", &[("token", common::TOKEN)])
        .await;
    let cookie = login.cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let secure = Client::of(common::plugins(), |admin| admin.secure_cookie(true));
    let login = secure
        .post("/admin/login", &[("token", common::TOKEN)])
        .await;
    assert!(login.cookie.unwrap().contains("; Secure"));
}

/// Finding 6: an edit of one field is audited as that field alone.
#[tokio::test]
async fn an_edit_of_the_endpoint_audits_only_the_endpoint() {
    let admin = Client::logged_in().await;
    admin.create_stripe("Stripe live", SECRET).await;
    let id = admin.id_of("Stripe live");
    let edit = format!("/admin/instances/{id}/edit");
    let opened = admin.get(&edit).await;
    let fields = with(
        &form_fields(&opened.body, "instance-form"),
        &[("config.endpoint", "https://eu.stripe.example")],
    );
    let saved = admin.submit_fields(&edit, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let latest = admin
        .plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(1)
        })
        .unwrap();
    assert_eq!(latest[0].entry.detail, "changed: config (endpoint)");
    assert_eq!(
        admin.plugins.config_values(id).unwrap().unwrap()["api_key"],
        SECRET
    );
}

/// Finding 7: failed logins are throttled per client, with a clear message, and logged.
#[tokio::test]
async fn failed_logins_are_throttled_per_client_and_logged() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let plugins = common::plugins();
    let mut mallory = Client::of(plugins.clone(), |admin| admin);
    mallory.from = Some(SocketAddr::from(([192, 0, 2, 7], 40_000)));
    for _ in 0..5 {
        let reply = mallory
            .post("/admin/login", &[("token", "guess-guess-guess")])
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right token waits: guessing is slowed, not only counted.
    let throttled = mallory
        .post("/admin/login", &[("token", common::TOKEN)])
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled.body.contains("Too many failed logins"),
        "{}",
        throttled.body
    );
    assert!(throttled.headers.contains_key(header::RETRY_AFTER));
    assert!(throttled.cookie.is_none());

    // Another client is not held up by mallory's failures (same admin).
    let mut ada = Client {
        app: mallory.app.clone(),
        plugins,
        cookie: None,
        csrf: String::new(),
        from: Some(SocketAddr::from(([198, 51, 100, 1], 50_000))),
    };
    ada = ada.log_in().await;
    assert_eq!(ada.get("/admin").await.status, StatusCode::OK);

    let text = log.text();
    assert_eq!(
        occurrences(&text, "failed login (wrong token)"),
        5,
        "{text}"
    );
    assert!(text.contains("192.0.2.7"), "the client is named: {text}");
    assert!(text.contains("too many failed logins"), "{text}");
}

/// What a subscriber wrote.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

/// Finding 11: the admin takes `TYPE/ITEM` wherever a person types an item, and its example
/// names a real item.
#[tokio::test]
async fn items_are_taken_as_type_slash_item_and_the_example_is_real() {
    let admin = Client::logged_in().await;
    let short = admin
        .get("/admin/new/item?item=payment_gateway/stripe")
        .await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.body);
    let long = admin
        .get(&format!("/admin/new/item?item={}", encode(STRIPE)))
        .await;
    assert_eq!(long.status, StatusCode::OK);
    let created = admin
        .submit(
            "/admin/new/item?item=payment_gateway/cash",
            &[
                ("instance_name", "till"),
                ("instance_status", "active"),
                ("instance_priority", "5"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let filtered = admin
        .get("/admin/instances?item=payment_gateway/cash")
        .await;
    assert!(
        filtered.body.contains("2 instances match"),
        "{}",
        filtered.body
    );

    let wrong = admin.get("/admin/new/item?item=stripe").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("TYPE/ITEM"), "{}", wrong.body);
    assert!(
        wrong.body.contains("<code>payment_gateway/stripe</code>"),
        "a real example: {}",
        wrong.body
    );
    assert!(
        !wrong.body.contains("shop:"),
        "no namespace this binary lacks"
    );
}

/// Finding 11: at 390 px the navigation wraps and the instance table becomes cards.
#[tokio::test]
async fn narrow_screens_get_a_layout_of_their_own() {
    let admin = Client::logged_in().await;
    let page = admin.get("/admin/instances").await;
    assert!(
        page.body
            .contains(r#"name="viewport" content="width=device-width"#)
    );
    assert!(
        page.body
            .contains(r#"<table class="cards" id="instances">"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-label="Status""#));
    let css = admin.get("/admin/admin.css").await.body;
    assert!(css.contains("flex-wrap: wrap"), "the header wraps");
    assert!(css.contains("@media (max-width: 700px)"));
    assert!(css.contains("table.cards thead { display: none; }"));
}

/// Deleting asks first, one instance or many.
#[tokio::test]
async fn deleting_asks_first() {
    let admin = Client::logged_in().await;
    admin.create_stripe("Stripe live", SECRET).await;
    let id = admin.id_of("Stripe live");
    let path = format!("/admin/instances/{id}/delete");
    let unconfirmed = admin.submit(&path, &[]).await;
    assert_eq!(unconfirmed.location.as_deref(), Some(path.as_str()));
    assert!(
        admin.plugins.instance(id).is_ok(),
        "not deleted without the confirmation"
    );
    let confirm = admin.get(&path).await;
    assert!(confirm.body.contains("Delete it"), "{}", confirm.body);
    assert!(confirm.body.contains("serving now"), "{}", confirm.body);
    let deleted = admin.submit(&path, &[("confirm", "yes")]).await;
    assert!(
        admin
            .follow(&deleted)
            .await
            .body
            .contains("Deleted “Stripe live”.")
    );
    assert!(admin.plugins.instance(id).is_err());

    let cash = admin.id_of("cash").to_string();
    let ask = admin
        .submit(
            "/admin/instances/bulk",
            &[("action", "delete"), ("id", &cash)],
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Delete 1 instance(s)"), "{}", ask.body);
    assert!(admin.plugins.instance(cash.parse().unwrap()).is_ok());
    let fields = form_fields(&ask.body, "confirm-delete");
    // All or nothing: with an id that is gone, nothing is deleted.
    let gone = InstanceId::new().to_string();
    let mut with_gone = fields.clone();
    with_gone.push(("id".to_owned(), gone));
    let refused = admin
        .submit_fields("/admin/instances/bulk", &with_gone)
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(admin.plugins.instance(cash.parse().unwrap()).is_ok());
    let done = admin.submit_fields("/admin/instances/bulk", &fields).await;
    assert!(
        admin
            .follow(&done)
            .await
            .body
            .contains("1 instance(s) deleted.")
    );
    assert!(admin.plugins.instance(cash.parse().unwrap()).is_err());
}

/// A refused form sums its errors up at the top; help and errors read as text, not markup
/// syntax or a bare regular expression.
#[tokio::test]
async fn a_refused_form_sums_up_its_errors_readably() {
    let admin = Client::logged_in().await;
    let reply = admin
        .submit(
            &format!("/admin/new/item?item={}", encode(STRIPE)),
            &[
                ("instance_name", ""),
                ("instance_priority", "soon"),
                ("config.api_key", "pk_wrong_key"),
                ("config.endpoint", "https://api.stripe.com"),
                ("config.timeout_secs", "30"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = reply.body.find(r#"class="summary""#).expect("a summary");
    assert!(
        summary < reply.body.find(r#"name="instance_name""#).unwrap(),
        "at the top"
    );
    assert!(reply.body.contains("2 problems"), "{}", reply.body);
    assert!(
        reply
            .body
            .contains(r##"<a href="#instance_priority">Priority</a>"##)
    );
    assert!(
        reply.body.contains("is not in the expected form"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("<code>sk_live_...</code>"),
        "help shown as code"
    );
    assert!(
        !reply.body.contains("`sk_live_...`"),
        "no literal backticks"
    );

    let form = admin
        .get(&format!("/admin/new/item?item={}", encode(STRIPE)))
        .await;
    assert!(form.body.contains("<code>sk_live_...</code>"));
}

impl Client {
    async fn submit_fields(&self, path: &str, fields: &[(String, String)]) -> common::Reply {
        self.post(path, &borrowed(fields)).await
    }
}
