//! Instances declared in a file (issue 15 parts 1–4): a reviewed TOML file is applied in one
//! transaction with audit rows naming it and its digest, compared with the store for drift,
//! exported back; its secrets are references read in each process when an instance is built,
//! never values; the instances it applies are read-only to hand edits until released.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod support;

use std::io::Write as _;
use std::time::Duration;

use plugin_system::prelude::*;
use plugin_system::store::AuditQuery;
use plugin_system::{Error, InstanceId, InstanceUpdate, Status};
use support::TestDatabase;

/// Takes payments.
#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn charge(&self, cents: u64) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct CardConfig {
    #[config(secret, min_length = 8)]
    pub api_key: String,
    #[config(default = 30, min = 1)]
    pub timeout_secs: u32,
}

pub struct Card(CardConfig);

impl From<CardConfig> for Card {
    fn from(config: CardConfig) -> Self {
        Card(config)
    }
}

#[plugin_item(name = "card", config = CardConfig)]
impl Gateway for Card {
    fn charge(&self, cents: u64) -> String {
        // What the plugin was given, shortened: the test reads that the reference was resolved.
        format!(
            "{cents} with key {}… ({}s)",
            &self.0.api_key[..4],
            self.0.timeout_secs
        )
    }
}

#[derive(Default)]
pub struct Cash;

#[plugin_item(name = "cash")]
impl Gateway for Cash {
    fn charge(&self, cents: u64) -> String {
        format!("{cents} in cash")
    }
}

const CARD: &str = "plugin-system:gateway/card";
const CASH: &str = "plugin-system:gateway/cash";
const KEY: &str = "sk_live_from_the_secret_file";

/// A secret file, as a container runtime mounts one (with its trailing newline).
fn secret_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{KEY}").unwrap();
    file
}

/// `text` as a file called `plugins.toml` in a directory of its own.
fn declared(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The file of [`file_text`] (`plugins.toml`) and the secret file it references, kept until
/// dropped.
struct TwoCards {
    secret: tempfile::NamedTempFile,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

fn two_cards() -> TwoCards {
    let secret = secret_file();
    let (dir, path) = declared(&file_text(secret.path()));
    TwoCards {
        secret,
        _dir: dir,
        path,
    }
}

fn file_text(secret: &std::path::Path) -> String {
    format!(
        r#"
[[instance]]
item = "{CARD}"
name = "Card (EU)"
priority = 5
description = "The EU card acquirer"
[instance.config]
api_key = {{ file = "{}" }}
timeout_secs = 10

[[instance]]
item = "{CARD}"
name = "Card (acme)"
scope = "acme"
status = "reserved"
[instance.config]
api_key = {{ file = "{}" }}
"#,
        secret.display(),
        secret.display()
    )
}

fn id_of(plugins: &Plugins, name: &str) -> InstanceId {
    plugins
        .instances(&Default::default())
        .rows
        .into_iter()
        .find(|row| row.meta.name == name)
        .unwrap_or_else(|| panic!("no instance {name}"))
        .meta
        .id
}

fn an_applied_file_matches_until_someone_edits_an_instance_it_released(db: &TestDatabase) {
    let plugins = db.handle();
    let TwoCards { secret, _dir, path } = two_cards();
    let file = plugins.read_file(&path).unwrap();

    let plan = plugins.apply_file(&file, false).unwrap();
    assert_eq!(plan.counts().create, 2, "{plan}");
    let eu = id_of(&plugins, "Card (EU)");
    // The reference is read when the instance is built: the plugin has the file's secret.
    assert_eq!(
        plugins.get_by_id::<dyn Gateway>(eu).unwrap().charge(100),
        "100 with key sk_l… (10s)"
    );
    let acme = plugins.scoped("acme").reserved::<dyn Gateway>();
    assert_eq!(acme.len(), 1);
    // The store holds the reference, never the value.
    let stored = plugins.config_values(eu).unwrap().unwrap();
    assert_eq!(
        stored["api_key"],
        serde_json::json!({"$file": secret.path().to_str().unwrap()})
    );

    // Audited with the file's name and digest.
    let audit = plugins.audit(&AuditQuery::latest(10)).unwrap();
    let from = format!("plugins.toml (sha256 {})", file.digest);
    assert_eq!(audit[0].entry.action, "apply");
    assert_eq!(
        audit[0].entry.detail,
        format!("{from}: 2 created, 0 updated, 0 deleted")
    );
    assert!(
        audit[1..3]
            .iter()
            .all(|row| row.entry.action == "create" && row.entry.detail.starts_with(&from)),
        "{audit:?}"
    );

    // Applied again: nothing to do, and another process sees the same.
    assert!(plugins.plan_file(&file, false).unwrap().is_empty());
    assert!(plugins.apply_file(&file, true).unwrap().is_empty());
    assert!(db.handle().plan_file(&file, true).unwrap().is_empty());

    // A hand edit of a managed instance is refused, in every form.
    let version = plugins.instance(eu).unwrap().meta.version;
    let edit = InstanceUpdate {
        priority: Some(1),
        ..InstanceUpdate::default()
    };
    for refused in [
        plugins.update_instance(eu, version, edit.clone()).map(drop),
        plugins.set_status(&[eu], Status::Disabled).map(drop),
        plugins.delete_instance(eu),
    ] {
        assert!(
            matches!(&refused, Err(Error::ManagedByFile { file, .. }) if file == "plugins.toml"),
            "{refused:?}"
        );
    }
    assert!(plugins.plan_file(&file, false).unwrap().is_empty());

    // Released, it is edited by hand like any other, and the diff reports the edit.
    assert_eq!(plugins.release(&[eu]).unwrap(), 1);
    let version = plugins.instance(eu).unwrap().meta.version;
    plugins.update_instance(eu, version, edit).unwrap();
    let drift = plugins.plan_file(&file, false).unwrap();
    assert!(!drift.is_empty());
    let review = drift.to_string();
    assert!(
        review.contains("~ update plugin-system:gateway/card \"Card (EU)\": priority 1 → 5, taken over from hand edits"),
        "{review}"
    );
    // Applying takes it back.
    plugins.apply_file(&file, false).unwrap();
    assert_eq!(plugins.instance(eu).unwrap().meta.priority, 5);
    assert!(plugins.plan_file(&file, false).unwrap().is_empty());
}

fn a_dry_run_writes_nothing(db: &TestDatabase) {
    let plugins = db.handle();
    let TwoCards {
        secret: _secret,
        _dir,
        path,
    } = two_cards();
    let file = plugins.read_file(&path).unwrap();
    let store = plugin_system::database::open(&db.url).unwrap();
    let revision = store.revision().unwrap();
    let audit = plugins.audit(&AuditQuery::latest(100)).unwrap().len();
    let plan = plugins.plan_file(&file, true).unwrap();
    assert_eq!(plan.counts().create, 2);
    assert_eq!(store.revision().unwrap(), revision);
    assert_eq!(
        plugins.audit(&AuditQuery::latest(100)).unwrap().len(),
        audit
    );
    assert!(
        plugins
            .instances(&Default::default())
            .rows
            .iter()
            .all(|row| row.meta.item.to_string() != CARD)
    );
}

fn a_literal_secret_is_refused_at_its_line_without_its_value(db: &TestDatabase) {
    let plugins = db.handle();
    let (_dir, path) = declared(&format!(
        "[[instance]]\nitem = \"{CARD}\"\nname = \"Card\"\n[instance.config]\napi_key = \"{KEY}\"\n"
    ));
    let err = plugins.read_file(&path).unwrap_err();
    let Error::InvalidFile(errors) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].line, 5);
    let message = errors.to_string();
    assert!(message.starts_with("plugins.toml:5: "), "{message}");
    assert!(message.contains("`api_key` is a secret"), "{message}");
    assert!(!message.contains(KEY), "{message}");
    assert!(!format!("{err:?}").contains(KEY));
}

fn a_missing_variable_is_that_instances_load_failure_naming_it(db: &TestDatabase) {
    let plugins = db.handle();
    let variable = format!("PLUGIN_TEST_UNSET_CARD_KEY_{}", db.backend.to_uppercase());
    let (_dir, path) = declared(&format!(
        "[[instance]]\nitem = \"{CARD}\"\nname = \"Card\"\n[instance.config]\napi_key = {{ env = \"{variable}\" }}\n\n[[instance]]\nitem = \"{CASH}\"\nname = \"Cash desk\"\n"
    ));
    let file = plugins.read_file(&path).unwrap();
    plugins.apply_file(&file, false).unwrap();
    let failure = plugins
        .load_failures()
        .into_iter()
        .find(|failure| failure.meta.name == "Card")
        .expect("the card does not load");
    assert!(
        failure.reason.contains(&format!("`{variable}`")) && failure.reason.contains("not set"),
        "{}",
        failure.reason
    );
    // The rest of the file serves.
    let cash = id_of(&plugins, "Cash desk");
    assert_eq!(
        plugins.get_by_id::<dyn Gateway>(cash).unwrap().charge(5),
        "5 in cash"
    );
    // A lookup that finds nothing says which instance would have served, and why it does
    // not: here once the cash desks are disabled (the file's, released first, and sync's).
    let cash_desks: Vec<InstanceId> = plugins
        .active::<dyn Gateway>()
        .into_iter()
        .map(|plugin| plugin.meta().id)
        .collect();
    plugins.release(&cash_desks).unwrap();
    plugins.set_status(&cash_desks, Status::Disabled).unwrap();
    let err = plugins.get::<dyn Gateway>().expect_err("nothing loads");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "no ACTIVE or RESERVED instance of plugin type `plugin-system:gateway` is available; \
             one that would serve does not load: `Card`: "
        ),
        "{message}"
    );
    assert!(message.contains(&format!("`{variable}`")), "{message}");
    let scoped = plugins
        .scoped("acme")
        .get::<dyn Gateway>()
        .expect_err("nothing loads");
    assert!(
        scoped.to_string().contains(
            "is available to tenant `acme` (its own or global); one that would serve does not \
             load: `Card`"
        ),
        "{scoped}"
    );
}

fn prune_deletes_only_what_this_file_applied(db: &TestDatabase) {
    let plugins = db.handle();
    let TwoCards { secret, _dir, path } = two_cards();
    plugins
        .apply_file(&plugins.read_file(&path).unwrap(), false)
        .unwrap();
    let by_hand = plugins
        .create_instance(NewInstance::of::<dyn Gateway>("cash", "Till"))
        .unwrap();
    // The file now lists only the EU card.
    let text = file_text(secret.path());
    let shorter = &text[..text
        .find("[[instance]]\nitem = \"plugin-system:gateway/card\"\nname = \"Card (acme)\"")
        .unwrap()];
    std::fs::write(&path, shorter).unwrap();
    let file = plugins.read_file(&path).unwrap();
    assert!(
        plugins.plan_file(&file, false).unwrap().is_empty(),
        "without --prune the rest stays"
    );
    let plan = plugins.apply_file(&file, true).unwrap();
    assert_eq!(plan.counts().delete, 1, "{plan}");
    assert!(
        plan.to_string()
            .contains("- delete plugin-system:gateway/card \"Card (acme)\" (tenant acme)")
    );
    let names: Vec<String> = plugins
        .instances(&Default::default())
        .rows
        .into_iter()
        .map(|row| row.meta.name)
        .collect();
    assert!(names.contains(&"Till".to_owned()) && names.contains(&"Card (EU)".to_owned()));
    assert!(!names.contains(&"Card (acme)".to_owned()), "{names:?}");
    assert!(plugins.instance(by_hand.id).is_ok());
}

fn an_export_applied_to_an_empty_store_makes_the_same_instances(db: &TestDatabase) {
    let plugins = db.handle();
    let secret = secret_file();
    let reference = serde_json::json!({"$file": secret.path().to_str().unwrap()});
    let mut config = plugin_system::config::ConfigValues::new();
    config.insert("api_key".into(), reference);
    config.insert("timeout_secs".into(), 45.into());
    plugins
        .create_instances(vec![
            NewInstance::of::<dyn Gateway>("card", "Card")
                .config_values(config.clone())
                .priority(-3)
                .description("by hand, \"quoted\"\nand on two lines"),
            NewInstance::of::<dyn Gateway>("card", "Card")
                .scope("acme")
                .status(Status::Disabled)
                .config_values(config),
            NewInstance::of::<dyn Gateway>("cash", "Till").scope("t-2"),
        ])
        .unwrap();
    let exported = plugins.export_file().unwrap();
    let shape = |plugins: &Plugins| {
        let mut rows: Vec<_> = plugins
            .instances(&Default::default())
            .rows
            .into_iter()
            .map(|row| {
                let config = plugins.config_values(row.meta.id).unwrap();
                let m = row.meta;
                (
                    m.item,
                    m.scope,
                    m.name,
                    m.status,
                    m.priority,
                    row.description,
                    config,
                )
            })
            .collect();
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        rows
    };
    let before = shape(&plugins);

    // An empty store: every instance gone (sync's own default instance included).
    let all: Vec<InstanceId> = plugins
        .instances(&Default::default())
        .rows
        .iter()
        .map(|row| row.meta.id)
        .collect();
    plugins.delete_instances(&all).unwrap();
    assert_eq!(plugins.instances(&Default::default()).total, 0);

    let (_dir, path) = declared(&exported);
    let file = plugins.read_file(&path).unwrap();
    let plan = plugins.apply_file(&file, false).unwrap();
    assert_eq!(plan.counts().create, before.len(), "{plan}\n{exported}");
    assert_eq!(shape(&plugins), before, "{exported}");
}

fn the_builder_applies_a_file_at_start_up(db: &TestDatabase) {
    use plugin_system::database::DatabaseUrlExt;
    let TwoCards {
        secret: _secret,
        _dir,
        path,
    } = two_cards();
    let plugins = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .no_watch()
        .apply_file(&path)
        .build()
        .unwrap();
    let eu = id_of(&plugins, "Card (EU)");
    assert_eq!(
        plugins.get_by_id::<dyn Gateway>(eu).unwrap().charge(1),
        "1 with key sk_l… (10s)"
    );
    // A file that does not read fails the start, naming the line.
    std::fs::write(
        &path,
        "[[instance]]\nitem = \"plugin-system:gateway/nope\"\nname = \"X\"\n",
    )
    .unwrap();
    let err = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .no_watch()
        .apply_file(&path)
        .build()
        .expect_err("a bad file fails the start");
    assert!(err.to_string().starts_with("plugins.toml:2: "), "{err}");
}

fn replicas_starting_at_once_with_the_same_file_all_start(db: &TestDatabase) {
    use plugin_system::database::DatabaseUrlExt;
    // The schema and the registry first, as a deploy step would: the race is the apply's.
    drop(db.handle());
    let TwoCards {
        secret: _secret,
        _dir,
        path,
    } = two_cards();
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        let replicas: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    Plugins::builder()
                        .database_url(&db.url)
                        .keyring(support::keyring())
                        .no_watch()
                        .apply_file(&path)
                        .build()
                        .map(drop)
                })
            })
            .collect();
        for replica in replicas {
            replica.join().unwrap().unwrap();
        }
    });
    let plugins = db.handle();
    let cards = plugins
        .instances(&Default::default())
        .rows
        .into_iter()
        .filter(|row| row.meta.item.to_string() == CARD)
        .count();
    assert_eq!(cards, 2);
    let applies = plugins
        .audit(&AuditQuery::latest(1000))
        .unwrap()
        .into_iter()
        .filter(|row| row.entry.action == "apply")
        .count();
    assert_eq!(
        applies, 1,
        "one replica applied, the others found nothing to do"
    );
}

/// A secret file rotated in place (as a Kubernetes secret volume is) reaches the plugins
/// without a restart: on `reread_secrets`, or by the watcher when asked to.
fn a_rotated_secret_file_is_read_again_without_a_restart(db: &TestDatabase) {
    use plugin_system::database::DatabaseUrlExt;
    let plugins = db.handle();
    let TwoCards { secret, _dir, path } = two_cards();
    plugins
        .apply_file(&plugins.read_file(&path).unwrap(), false)
        .unwrap();
    let eu = id_of(&plugins, "Card (EU)");
    let charge = |plugins: &Plugins| {
        plugins
            .get_by_id::<dyn Gateway>(eu)
            .map(|card| card.charge(1))
            .map_err(|err| err.to_string())
    };
    assert_eq!(charge(&plugins).unwrap(), "1 with key sk_l… (10s)");
    assert_eq!(plugins.reread_secrets(), 0, "nothing moved");

    let watching = Plugins::builder()
        .database_url(&db.url)
        .keyring(support::keyring())
        .max_staleness(Duration::from_millis(50))
        .reread_secrets_every(Duration::from_millis(50))
        .build()
        .unwrap();
    assert_eq!(charge(&watching).unwrap(), "1 with key sk_l… (10s)");

    // Rotated: both cards reference the file.
    std::fs::write(secret.path(), "sk_test_rotated_key\n").unwrap();
    assert_eq!(plugins.reread_secrets(), 2);
    assert_eq!(charge(&plugins).unwrap(), "1 with key sk_t… (10s)");
    assert_eq!(plugins.reread_secrets(), 0);
    // The watcher of another handle reads it again on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while charge(&watching).unwrap() != "1 with key sk_t… (10s)" {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never read the file again"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // Gone: the instance says why it does not load; back: it serves again.
    std::fs::remove_file(secret.path()).unwrap();
    assert_eq!(plugins.reread_secrets(), 2);
    let gone = charge(&plugins).unwrap_err();
    assert!(gone.contains("cannot be read"), "{gone}");
    std::fs::write(secret.path(), format!("{KEY}\n")).unwrap();
    assert_eq!(plugins.reread_secrets(), 2);
    assert_eq!(charge(&plugins).unwrap(), "1 with key sk_l… (10s)");
}

/// The variables that turn this test binary into the applying child of the kill test.
const CHILD_URL: &str = "PLUGIN_SYSTEM_TEST_APPLY_URL";
const CHILD_FILE: &str = "PLUGIN_SYSTEM_TEST_APPLY_FILE";
const STARTING: &str = "APPLY STARTS";
const DONE: &str = "APPLY DONE";
/// Entries of the file the child applies: enough that its transaction takes a while.
const ENTRIES: usize = 3_000;
/// Kills, spread evenly over twice the time of one uninterrupted apply (each later apply
/// plans against a larger store, so the last kills land around its commit and after it).
const KILLS: u32 = 8;

/// Not a test of its own: the child process the kill test kills (this test binary with
/// `--ignored --exact child_applies` and the variables above; ignored, so a plain run never
/// counts it as a passing test).
#[test]
#[ignore = "a child process of the kill test"]
fn child_applies() {
    use plugin_system::database::DatabaseUrlExt;
    let url = std::env::var(CHILD_URL).expect("run by the kill test");
    let path = std::env::var(CHILD_FILE).expect("run by the kill test");
    let plugins = Plugins::builder()
        .database_url(&url)
        .keyring(support::keyring())
        .skip_sync()
        .no_watch()
        .build()
        .unwrap();
    let file = plugins.read_file(&path).unwrap();
    println!("{STARTING}");
    plugins.apply_file(&file, false).unwrap();
    println!("{DONE}");
}

/// A file of [`ENTRIES`] config-less instances named `{prefix}-N`.
fn many(prefix: &str) -> String {
    (0..ENTRIES)
        .map(|i| {
            format!(
                "[[instance]]\nitem = \"{CASH}\"\nname = \"{prefix}-{i}\"\nscope = \"t{}\"\n\n",
                i % 100
            )
        })
        .collect()
}

/// Runs the child on `db` with the file at `path`; returns it once it is about to apply.
fn applying(
    db: &TestDatabase,
    path: &std::path::Path,
) -> (std::process::Child, impl Iterator<Item = String>) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_applies", "--nocapture"])
        .env(CHILD_URL, &db.url)
        .env(CHILD_FILE, path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    // Its signal, not a guess: the harness's own lines come first.
    assert!(
        lines.any(|line| line.contains(STARTING)),
        "the child never started"
    );
    (child, lines)
}

/// How many instances named `{prefix}-N` the store holds, and how many audit rows name them.
fn applied(plugins: &Plugins, prefix: &str) -> (usize, usize) {
    let ids: std::collections::HashSet<InstanceId> = plugins
        .instances(&plugin_system::InstanceQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .rows
        .into_iter()
        .filter(|row| row.meta.name.starts_with(&format!("{prefix}-")))
        .map(|row| row.meta.id)
        .collect();
    let audited = plugins
        .audit(&AuditQuery::latest(100_000))
        .unwrap()
        .into_iter()
        .filter(|row| row.entry.instance.is_some_and(|id| ids.contains(&id)))
        .count();
    (ids.len(), audited)
}

/// An apply killed (SIGKILL) at any moment leaves all of the file or none of it, never part;
/// the next apply completes it.
fn an_apply_killed_at_any_moment_leaves_all_of_the_file_or_none(db: &TestDatabase) {
    let plugins = db.handle();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("plugins.toml");
    std::fs::write(&reference, many("ref")).unwrap();
    let (mut child, mut lines) = applying(db, &reference);
    let started = std::time::Instant::now();
    assert!(
        lines.any(|line| line.contains(DONE)),
        "the uninterrupted apply failed"
    );
    let window = started.elapsed();
    assert!(child.wait().unwrap().success());
    plugins.refresh().unwrap();
    assert_eq!(applied(&plugins, "ref"), (ENTRIES, ENTRIES));

    let (mut none, mut all) = (0, 0);
    for kill in 0..KILLS {
        let prefix = format!("kill{kill}");
        let path = dir.path().join(format!("{prefix}.toml"));
        std::fs::write(&path, many(&prefix)).unwrap();
        let (mut child, _lines) = applying(db, &path);
        // The moment of the kill is the point of this test: a spread over the apply.
        let at = window * 2 * kill / KILLS;
        std::thread::sleep(at + Duration::from_millis(1));
        child.kill().unwrap();
        child.wait().unwrap();
        plugins.refresh().unwrap();
        match applied(&plugins, &prefix) {
            (0, 0) => none += 1,
            (n, m) if n == ENTRIES && m == ENTRIES => all += 1,
            left => panic!(
                "{}: a kill at {at:?} of {window:?} left part of the file: {left:?}",
                db.backend
            ),
        }
        // Whatever the kill left, applying again completes it.
        let file = plugins.read_file(&path).unwrap();
        plugins.apply_file(&file, false).unwrap();
        assert_eq!(applied(&plugins, &prefix).0, ENTRIES);
    }
    println!(
        "{}: {KILLS} kills over {window:?}: {none} left nothing, {all} all",
        db.backend
    );
}

on_every_backend!(
    a_rotated_secret_file_is_read_again_without_a_restart,
    an_apply_killed_at_any_moment_leaves_all_of_the_file_or_none,
    replicas_starting_at_once_with_the_same_file_all_start,
    an_applied_file_matches_until_someone_edits_an_instance_it_released,
    a_dry_run_writes_nothing,
    a_literal_secret_is_refused_at_its_line_without_its_value,
    a_missing_variable_is_that_instances_load_failure_naming_it,
    prune_deletes_only_what_this_file_applied,
    an_export_applied_to_an_empty_store_makes_the_same_instances,
    the_builder_applies_a_file_at_start_up,
);
