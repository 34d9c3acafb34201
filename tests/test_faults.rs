//! The database goes away mid-run and comes back (through a relay the test cuts: the real
//! server keeps serving the other tests): lookups keep serving the last snapshot, writes fail
//! with a clear error, the handle says the store is unreachable, and everything recovers when
//! the database returns. Nothing written before the outage is lost. PostgreSQL and MySQL
//! (a SQLite file does not go away like a server).

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "sqlite")]

mod support;

use std::time::{Duration, Instant};

use plugin_system::prelude::*;
use plugin_system::{Key, Status};
use support::{Outage, TestDatabase};

#[plugin_type(name = "courier")]
pub trait Courier {
    fn ship(&self) -> String;
}

#[derive(Default)]
pub struct Post;

#[plugin_item(name = "post", priority = 10)]
impl Courier for Post {
    fn ship(&self) -> String {
        "post".into()
    }
}

#[derive(Default)]
pub struct Drone;

#[plugin_item(name = "drone", priority = 20)]
impl Courier for Drone {
    fn ship(&self) -> String {
        "drone".into()
    }
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server (`host:port`) of a `scheme://user@host:port/db` URL.
fn server_of(url: &str, default_port: u16) -> String {
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    let host = authority.rsplit('@').next().unwrap();
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    }
}

/// The URL with its server replaced by the relay on 127.0.0.1:`port`.
fn through(url: &str, server: &str, port: u16) -> String {
    let host = server
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(':');
    let replaced = url.replacen(&format!("@{server}/"), &format!("@127.0.0.1:{port}/"), 1);
    if replaced != url {
        return replaced;
    }
    url.replacen(&format!("@{host}/"), &format!("@127.0.0.1:{port}/"), 1)
}

#[allow(dead_code)] // used by the backends this build enables
fn the_database_goes_away_and_comes_back(db: &TestDatabase, default_port: u16) {
    let server = server_of(&db.url, default_port);
    let outage = Outage::relay(&server);
    let url = through(&db.url, &server, outage.port());
    assert_ne!(url, db.url, "the URL goes through the relay");
    let plugins = Plugins::builder()
        .database_url(&url)
        .keyring(Keyring::new(Key::generate()))
        .max_staleness(Duration::from_millis(200))
        .build()
        .unwrap();
    let post = plugins.get::<dyn Courier>().unwrap().meta().id;
    plugins
        .set_priority(&[post], plugin_system::PriorityChange::Set(5))
        .unwrap();

    outage.cut();
    wait_until("the handle noticing", || !plugins.store_health().reachable);
    let health = plugins.store_health();
    assert!(health.last_error.is_some(), "{health:?}");
    // Lookups serve the last snapshot.
    for _ in 0..1000 {
        assert_eq!(plugins.get::<dyn Courier>().unwrap().ship(), "post");
    }
    // A write fails, saying why, within the connection time-out.
    let started = Instant::now();
    let err = plugins.set_status(&[post], Status::Disabled).unwrap_err();
    assert_eq!(
        err.store_kind(),
        Some(plugin_system::store::StoreErrorKind::Unavailable),
        "{err:?}"
    );
    assert!(err.to_string().contains("no connection to the"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));

    outage.restore();
    wait_until("the handle recovering", || plugins.store_health().reachable);
    plugins.set_status(&[post], Status::Disabled).unwrap();
    assert_eq!(plugins.get::<dyn Courier>().unwrap().ship(), "drone");
    // Nothing written before the outage was lost.
    let stored = plugins.instance(post).unwrap();
    assert_eq!(
        (stored.meta.priority, stored.meta.status),
        (5, Status::Disabled)
    );
    plugins.refresh().unwrap();
    assert_eq!(plugins.instances(&Default::default()).total, 2);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_goes_away_and_comes_back() {
    if let Some(db) = TestDatabase::postgres() {
        the_database_goes_away_and_comes_back(&db, 5432);
    }
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_goes_away_and_comes_back() {
    if let Some(db) = TestDatabase::mysql() {
        the_database_goes_away_and_comes_back(&db, 3306);
    }
}
