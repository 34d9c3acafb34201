//! Config versions (issue 15 part 5): a config whose shape changed names its version and an
//! upgrade from each older one. A row stored by older code is upgraded in memory on load and
//! served; `migrate_configs` re-seals it under the new version, audited; an upgrade that fails
//! and a row newer than the code are that instance's load failure, and the row is kept byte
//! for byte. The older rows are written as older code wrote them: sealed plaintext without the
//! version key (version 1) or with one.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

mod support;

use plugin_system::config::{ConfigValues, VERSION_KEY};
use plugin_system::prelude::*;
use plugin_system::store::{AuditQuery, Changed};
use plugin_system::{InstanceId, InstanceRecord, InstanceUpdate};
use serde_json::{Value, json};
use support::{TestDatabase, keyring};

/// Sends mail.
#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn describe(&self) -> String;
}

/// Mail settings, version 3: version 2 renamed `host` to `server`; version 3 made `port`,
/// stored as text until then, a number.
#[derive(PluginConfig, Clone)]
#[config(version = 3, upgrades = [host_became_server, port_became_a_number])]
pub struct SmtpConfig {
    pub server: String,
    #[config(default = 25, min = 1)]
    pub port: u16,
    #[config(secret)]
    pub password: String,
}

fn host_became_server(mut values: ConfigValues) -> Result<ConfigValues, String> {
    let host = values.remove("host").ok_or("it has no `host`")?;
    values.insert("server".into(), host);
    Ok(values)
}

fn port_became_a_number(mut values: ConfigValues) -> Result<ConfigValues, String> {
    if let Some(port) = values.remove("port") {
        let text = port.as_str().ok_or("`port` is not text")?;
        let number: u16 = text
            .parse()
            .map_err(|_| format!("`port` {text:?} is not a number"))?;
        values.insert("port".into(), number.into());
    }
    Ok(values)
}

pub struct Smtp(SmtpConfig);

impl From<SmtpConfig> for Smtp {
    fn from(config: SmtpConfig) -> Self {
        Smtp(config)
    }
}

#[plugin_item(name = "smtp", config = SmtpConfig)]
impl Mailer for Smtp {
    fn describe(&self) -> String {
        format!("{}:{}", self.0.server, self.0.port)
    }
}

const PASSWORD: &str = "pw-VERY-SECRET";

/// An instance created by this code (sealed under version 3), then its row overwritten with
/// `plaintext` sealed as older (or newer) code would have, as a write of another process.
fn instance_stored_as(
    db: &TestDatabase,
    plugins: &Plugins,
    name: &str,
    plaintext: Value,
) -> InstanceId {
    let meta = plugins
        .create_instance(
            NewInstance::of::<dyn Mailer>("smtp", name).config(&SmtpConfig {
                server: "current.example".into(),
                port: 2525,
                password: PASSWORD.into(),
            }),
        )
        .unwrap();
    let store = plugin_system::database::open(&db.url).unwrap();
    let sealed = keyring().seal(meta.id, &serde_json::to_vec(&plaintext).unwrap());
    store
        .write(&mut |tx| {
            let mut record = tx.instances_by_id(&[meta.id])?.remove(0);
            record.sealed_config = Some(sealed.clone());
            record.meta.version += 1;
            tx.update_instances(std::slice::from_ref(&record))?;
            tx.bump_revision(Changed::Instances(&[meta.id]))?;
            Ok(())
        })
        .unwrap();
    plugins.refresh().unwrap();
    meta.id
}

/// The row as stored.
fn row(db: &TestDatabase, id: InstanceId) -> InstanceRecord {
    let store = plugin_system::database::open(&db.url).unwrap();
    store.instances_by_id(&[id]).unwrap().remove(0)
}

/// The row's plaintext, decrypted.
fn plaintext(db: &TestDatabase, id: InstanceId) -> Value {
    let sealed = row(db, id).sealed_config.unwrap();
    serde_json::from_slice(&keyring().open(id, &sealed).unwrap()).unwrap()
}

fn failure(plugins: &Plugins, id: InstanceId) -> Option<String> {
    plugins
        .load_failures()
        .into_iter()
        .find(|failure| failure.meta.id == id)
        .map(|failure| failure.reason)
}

fn a_version_1_row_is_served_through_the_upgrades_then_migrated(db: &TestDatabase) {
    let plugins = db.handle();
    let old = json!({"host": "old.example", "port": "587", "password": PASSWORD});
    let id = instance_stored_as(db, &plugins, "Old mail", old.clone());

    // Served as version 3 reads it, without touching the row.
    let served = plugins.get_by_id::<dyn Mailer>(id).unwrap();
    assert_eq!(served.describe(), "old.example:587");
    let values = plugins.config_values(id).unwrap().unwrap();
    assert_eq!(values["server"], "old.example");
    assert_eq!(values["port"], 587);
    assert!(!values.contains_key(VERSION_KEY), "{values:?}");
    assert_eq!(plaintext(db, id), old);

    // A dry run says what it would do, and writes nothing.
    let before = row(db, id);
    let dry = plugins.migrate_configs(true).unwrap();
    assert!(dry.dry_run);
    let planned: Vec<_> = dry
        .migrated
        .iter()
        .map(|m| (m.meta.id, m.from, m.to))
        .collect();
    assert_eq!(planned, [(id, 1, 3)]);
    assert!(dry.failed.is_empty(), "{:?}", dry.failed);
    assert_eq!(row(db, id), before);

    let migration = plugins.migrate_configs(false).unwrap();
    let done: Vec<_> = migration
        .migrated
        .iter()
        .map(|m| (m.meta.id, m.from, m.to))
        .collect();
    assert_eq!(done, [(id, 1, 3)]);
    assert_eq!(migration.migrated[0].meta.version, before.meta.version + 1);
    assert_eq!(
        plaintext(db, id),
        json!({"server": "old.example", "port": 587, "password": PASSWORD, VERSION_KEY: 3})
    );
    let audit: Vec<(String, String)> = plugins
        .audit(&AuditQuery {
            instance: Some(id),
            ..AuditQuery::latest(10)
        })
        .unwrap()
        .into_iter()
        .map(|row| (row.entry.action, row.entry.detail))
        .collect();
    assert_eq!(
        audit[0],
        ("migrate".to_owned(), "config version 1 → 3".to_owned())
    );
    assert!(
        audit.iter().all(|(_, detail)| !detail.contains(PASSWORD)),
        "{audit:?}"
    );

    // Another process reads the migrated row as it is; a second migration has nothing to do.
    let other = db.handle();
    assert_eq!(
        other.get_by_id::<dyn Mailer>(id).unwrap().describe(),
        "old.example:587"
    );
    let again = other.migrate_configs(false).unwrap();
    assert!(again.migrated.is_empty() && again.failed.is_empty());
    // The instance this code created was current all along: never migrated.
    assert_eq!(plugins.instances(&Default::default()).total, 1);
}

fn a_failing_upgrade_is_that_instances_load_failure_and_the_row_is_kept(db: &TestDatabase) {
    let plugins = db.handle();
    let good = instance_stored_as(
        db,
        &plugins,
        "Good mail",
        json!({"server": "good.example", "port": "25", "password": PASSWORD, VERSION_KEY: 2}),
    );
    let bad = instance_stored_as(
        db,
        &plugins,
        "Bad mail",
        json!({"server": "bad.example", "port": "submission", "password": PASSWORD, VERSION_KEY: 2}),
    );

    assert_eq!(
        failure(&plugins, bad).as_deref(),
        Some("config version 2 → 3 failed: `port` \"submission\" is not a number")
    );
    assert_eq!(
        plugins.get_by_id::<dyn Mailer>(good).unwrap().describe(),
        "good.example:25"
    );

    let before = row(db, bad);
    let migration = plugins.migrate_configs(false).unwrap();
    let migrated: Vec<InstanceId> = migration.migrated.iter().map(|m| m.meta.id).collect();
    assert_eq!(migrated, [good]);
    assert_eq!(migration.failed.len(), 1);
    assert_eq!(migration.failed[0].meta.id, bad);
    assert!(
        migration.failed[0]
            .reason
            .contains("config version 2 → 3 failed"),
        "{}",
        migration.failed[0].reason
    );
    assert_eq!(row(db, bad), before, "a failed upgrade rewrote its row");
    assert_eq!(plaintext(db, good)[VERSION_KEY], 3);
}

fn a_row_written_by_a_later_version_is_refused(db: &TestDatabase) {
    let plugins = db.handle();
    let newer = json!({"server": "new.example", "port": 25, "password": PASSWORD, "tls": true, VERSION_KEY: 4});
    let id = instance_stored_as(db, &plugins, "Newer mail", newer.clone());

    let reason = failure(&plugins, id).expect("a newer row loads");
    assert!(
        reason.contains("version 4, newer than this code's version 3"),
        "{reason}"
    );
    assert!(plugins.get_by_id::<dyn Mailer>(id).is_err());
    assert!(plugins.config_values(id).is_err());

    let before = row(db, id);
    let migration = plugins.migrate_configs(false).unwrap();
    assert!(migration.migrated.is_empty());
    assert_eq!(migration.failed.len(), 1);
    assert_eq!(row(db, id), before);
    assert_eq!(plaintext(db, id), newer);
}

fn an_edit_of_an_older_row_is_stored_under_the_current_version(db: &TestDatabase) {
    let plugins = db.handle();
    let id = instance_stored_as(
        db,
        &plugins,
        "Edited mail",
        json!({"host": "old.example", "password": PASSWORD}),
    );
    let meta = plugins.instance(id).unwrap().meta;
    let mut values = plugins.config_values(id).unwrap().unwrap();
    values.insert("port".into(), 465.into());
    plugins
        .update_instance(
            id,
            meta.version,
            InstanceUpdate {
                config: Some(values),
                ..InstanceUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(
        plaintext(db, id),
        json!({"server": "old.example", "port": 465, "password": PASSWORD, VERSION_KEY: 3})
    );
    assert_eq!(
        plugins.get_by_id::<dyn Mailer>(id).unwrap().describe(),
        "old.example:465"
    );
}

on_every_backend!(
    a_version_1_row_is_served_through_the_upgrades_then_migrated,
    a_failing_upgrade_is_that_instances_load_failure_and_the_row_is_kept,
    a_row_written_by_a_later_version_is_refused,
    an_edit_of_an_older_row_is_stored_under_the_current_version,
);

#[test]
fn the_schema_says_its_version() {
    let schema = <SmtpConfig as PluginConfig>::schema();
    assert_eq!(schema.version, 3);
    assert_eq!(schema.upgrades.len(), 2);
}
