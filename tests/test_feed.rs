//! PostgreSQL's push channel (LISTEN/NOTIFY) over a network that goes silent: a host that
//! accepts connections and never answers (a dead peer behind a load balancer, a black-holed
//! route). The watcher re-subscribes when its LISTEN connection breaks; with no connect
//! time-out that subscription waited forever, and the handle stopped seeing other processes'
//! writes for good. Now it gives up, polls meanwhile, and re-subscribes with a back-off.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(all(feature = "sqlite", feature = "postgres"))]

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
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_silent_host_does_not_stall_the_watcher() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let server = "127.0.0.1:5432";
    let relay = Outage::relay(server);
    let url = db.url.replacen(
        &format!("@{server}/"),
        &format!("@127.0.0.1:{}/", relay.port()),
        1,
    );
    assert_ne!(url, db.url, "the test database is on {server}");
    let keyring = Keyring::new(Key::generate());
    let watched = Plugins::builder()
        .database_url(&url)
        .keyring(keyring.clone())
        .max_staleness(Duration::from_millis(200))
        .build()
        .unwrap();
    let writer = Plugins::builder()
        .database_url(&db.url)
        .keyring(keyring)
        .no_watch()
        .build()
        .unwrap();
    assert_eq!(watched.get::<dyn Courier>().unwrap().ship(), "post");

    // The LISTEN connection breaks; the watcher's next subscription meets a silent host.
    relay.go_silent();
    wait_until("the watcher trying to subscribe again", || {
        relay.unanswered() > 0
    });
    relay.restore();

    // Another process's write still reaches the handle: the watcher was not stuck.
    let post = writer.get::<dyn Courier>().unwrap().meta().id;
    writer.set_status(&[post], Status::Disabled).unwrap();
    wait_until("the handle serving the other process's write", || {
        watched.get::<dyn Courier>().unwrap().ship() == "drone"
    });
    assert!(watched.store_health().reachable);
}

/// The LISTEN connection blocks: a wait ends when a write is announced, when its time is up,
/// or at once when its stop signal is raised (an idle handle wakes once per interval, not
/// every few milliseconds); a connection the server kills is an error, so the watcher
/// subscribes again.
#[test]
fn a_feed_sleeps_until_a_write_is_announced_its_time_is_up_or_it_is_stopped() {
    use plugin_system::store::stop_signal;
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    // A name of its own, to find (and kill) this test's LISTEN connection and no other.
    let application = format!("feed_test_{}", std::process::id());
    let url = format!("{}&application_name={application}", db.url);
    let store = plugin_system::database::open(&url).unwrap();
    let writer = Plugins::builder()
        .database_url(&db.url)
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap();
    let post = writer.get::<dyn Courier>().unwrap().meta().id;
    let mut feed = store
        .change_feed()
        .unwrap()
        .expect("PostgreSQL has a push channel");
    let (stopper, stop) = stop_signal().unwrap();

    assert!(
        !feed.wait(Duration::from_millis(20), &stop).unwrap(),
        "nothing announced"
    );
    // Announced while nobody waits: the next wait returns at once.
    writer.set_status(&[post], Status::Reserved).unwrap();
    assert!(feed.wait(Duration::from_secs(600), &stop).unwrap());
    assert!(
        !feed.wait(Duration::from_millis(20), &stop).unwrap(),
        "taken once"
    );

    // Announced during a long wait; then a long wait ended by the stop signal.
    let (sender, waited) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        for _ in 0..2 {
            sender
                .send(feed.wait(Duration::from_secs(600), &stop))
                .unwrap();
        }
        (feed, stop)
    });
    writer.set_status(&[post], Status::Active).unwrap();
    let hang = Duration::from_secs(120); // a hang detector, not a timing
    assert!(
        waited.recv_timeout(hang).unwrap().unwrap(),
        "the write was announced"
    );
    drop(stopper);
    assert!(
        !waited.recv_timeout(hang).unwrap().unwrap(),
        "the stop ended the wait"
    );
    let (mut feed, _stop) = waiter.join().unwrap();

    // The server ends the connection: the wait says the channel broke.
    let (_stopper, stop) = stop_signal().unwrap();
    let mut admin = diesel::PgConnection::establish(&db.url).unwrap();
    use diesel::{Connection, RunQueryDsl};
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = '{application}' AND query LIKE 'LISTEN%'"
    ))
    .execute(&mut admin)
    .unwrap();
    let broke = feed.wait(Duration::from_secs(600), &stop);
    let err = broke.expect_err("a killed connection is an error");
    assert_eq!(
        err.kind(),
        plugin_system::store::StoreErrorKind::Unavailable,
        "{err}"
    );
}

/// On PostgreSQL the writer hears its own NOTIFY: its watcher wakes, finds the snapshot
/// current (the write brought it up to date) and reads nothing. Before, every write was
/// reloaded twice in the writing process. The polling interval is long, so the check after
/// each write is the announcement's.
#[test]
fn on_postgresql_a_write_announced_back_to_its_writer_is_refreshed_once() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let plugins = Plugins::builder()
        .database_url(&db.url)
        .keyring(Keyring::new(Key::generate()))
        .max_staleness(Duration::from_secs(20))
        .build()
        .unwrap();
    let post = plugins.get::<dyn Courier>().unwrap().meta().id;
    for (round, status) in [Status::Reserved, Status::Active]
        .into_iter()
        .cycle()
        .take(10)
        .enumerate()
    {
        let before = plugins.refresh_stats();
        let checked = plugins.store_health().last_checked;
        plugins.set_status(&[post], status).unwrap();
        wait_until("the watcher's check after the write", || {
            plugins.store_health().last_checked > checked
        });
        let after = plugins.refresh_stats();
        let refreshes = (after.full_reloads + after.incremental_updates)
            - (before.full_reloads + before.incremental_updates);
        assert_eq!(refreshes, 1, "round {round}: {before:?} -> {after:?}");
        assert_eq!(
            (
                after.incremental_updates - before.incremental_updates,
                after.last_rows_read
            ),
            (1, 1),
            "round {round}: the changed row only, from the change log"
        );
    }
}

/// Applications in other schemas of the same database share the channel; their writes must
/// not wake this schema's handles (each would poll for nothing). Their announcements name
/// their schema.
#[test]
fn a_feed_ignores_writes_to_another_schema_of_the_database() {
    let (Some(ours), Some(theirs)) = (TestDatabase::postgres(), TestDatabase::postgres()) else {
        return;
    };
    let handle = |db: &TestDatabase| {
        Plugins::builder()
            .database_url(&db.url)
            .keyring(Keyring::new(Key::generate()))
            .no_watch()
            .build()
            .unwrap()
    };
    let (ours_writer, their_writer) = (handle(&ours), handle(&theirs));
    let store = plugin_system::database::open(&ours.url).unwrap();
    let mut feed = store.change_feed().unwrap().expect("a push channel");
    let (_stopper, stop) = plugin_system::store::stop_signal().unwrap();

    let theirs_post = their_writer.get::<dyn Courier>().unwrap().meta().id;
    their_writer
        .set_status(&[theirs_post], Status::Reserved)
        .unwrap();
    // Delivered at their commit, before this wait: it would return at once if it counted.
    assert!(
        !feed.wait(Duration::from_secs(2), &stop).unwrap(),
        "woken by another schema's write"
    );
    let post = ours_writer.get::<dyn Courier>().unwrap().meta().id;
    ours_writer.set_status(&[post], Status::Reserved).unwrap();
    assert!(
        feed.wait(Duration::from_secs(120), &stop).unwrap(),
        "our own write announced"
    );
}
