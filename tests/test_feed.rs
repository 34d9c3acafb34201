//! PostgreSQL's push channel (LISTEN/NOTIFY) over a network that goes silent: a host that
//! accepts connections and never answers (a dead peer behind a load balancer, a black-holed
//! route). The watcher re-subscribes when its LISTEN connection breaks; with no connect
//! time-out that subscription waited forever, and the handle stopped seeing other processes'
//! writes for good. Now it gives up, polls meanwhile, and re-subscribes with a back-off.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugin_system::prelude::*;
use plugin_system::{Key, Status};
use support::TestDatabase;

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

/// A TCP relay to the database server that can go silent: it then drops the connections it
/// relays, and accepts new ones without ever answering (it holds them open, reads nothing).
struct Relay {
    port: u16,
    silent: Arc<AtomicBool>,
    /// Connections accepted while silent.
    unanswered: Arc<AtomicUsize>,
    relayed: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn to(upstream: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = Arc::new(AtomicBool::new(false));
        let unanswered = Arc::new(AtomicUsize::new(0));
        let relayed: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (quiet, count, tracked, upstream) = (
            silent.clone(),
            unanswered.clone(),
            relayed.clone(),
            upstream.to_owned(),
        );
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if quiet.load(Ordering::SeqCst) {
                    // Accepted, never answered.
                    held.push(client);
                    count.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut list = tracked.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                drop(list);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buffer = [0; 16 * 1024];
                        while let Ok(read) = from.read(&mut buffer) {
                            if read == 0 || to.write_all(&buffer[..read]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay {
            port,
            silent,
            unanswered,
            relayed,
        }
    }

    /// The relayed connections drop; new ones are accepted and never answered.
    fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
        for stream in self.relayed.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn answer_again(&self) {
        self.silent.store(false, Ordering::SeqCst);
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
    let relay = Relay::to(server);
    let url = db.url.replacen(
        &format!("@{server}/"),
        &format!("@127.0.0.1:{}/", relay.port),
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
        relay.unanswered.load(Ordering::SeqCst) > 0
    });
    relay.answer_again();

    // Another process's write still reaches the handle: the watcher was not stuck.
    let post = writer.get::<dyn Courier>().unwrap().meta().id;
    writer.set_status(&[post], Status::Disabled).unwrap();
    wait_until("the handle serving the other process's write", || {
        watched.get::<dyn Courier>().unwrap().ship() == "drone"
    });
    assert!(watched.store_health().reachable);
}
