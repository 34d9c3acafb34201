//! A plain application that opens its plugins on PostgreSQL over TLS, serves a lookup and
//! returns from `main` exits with its own code. libpq's default `sslmode=prefer` negotiates
//! TLS (and, before it, GSSAPI encryption, which loads Kerberos); a connection still being
//! opened or closed on a background thread when `main` returns raced the exit handlers of
//! OpenSSL and krb5, and a finished program died with SIGSEGV or SIGABRT in 5 to 20 runs of
//! 100. (`examples/shop/tests/exit_codes.rs` runs the CLI the same way.)

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use plugin_system::Key;
use plugin_system::prelude::*;
use support::TestDatabase;

#[plugin_type(name = "greeter")]
pub trait Greeter {
    fn greet(&self) -> String;
}

#[derive(Default)]
pub struct Hello;

#[plugin_item(name = "hello", priority = 10)]
impl Greeter for Hello {
    fn greet(&self) -> String {
        "hello".into()
    }
}

/// The variable that turns this test binary into the plain application.
const APP_URL: &str = "PLUGIN_SYSTEM_TEST_APP_URL";

/// How many times the application runs: the crash hit 5 to 20 runs in 100.
const RUNS: usize = 100;

/// Runs at once (each is a short process; the machine has few cores).
const PARALLEL: usize = 4;

/// Not a test of its own: the plain application `short_runs_over_tls_exit_with_their_own_code`
/// runs (this test binary with `--ignored --exact plain_application` and the variable above;
/// ignored, so a plain test run never counts it as a passing test). A handle with its watcher
/// (PostgreSQL's LISTEN connection included), one lookup, and back to the caller, whose exit
/// follows at once.
#[test]
#[ignore = "a child process of short_runs_over_tls_exit_with_their_own_code"]
fn plain_application() {
    let url = std::env::var(APP_URL).expect("run by short_runs_over_tls_exit_with_their_own_code");
    let plugins = Plugins::builder()
        .database_url(&url)
        .keyring(Keyring::new(Key::generate()))
        .build()
        .unwrap();
    println!("SERVED {}", plugins.get::<dyn Greeter>().unwrap().greet());
}

#[test]
fn short_runs_over_tls_exit_with_their_own_code() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    support::assert_postgres_tls(&db.url);
    // Migrated and synced once, so each run is as short as an application's start.
    drop(
        Plugins::builder()
            .database_url(&db.url)
            .no_watch()
            .build()
            .unwrap(),
    );
    let next = AtomicUsize::new(0);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL)
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    while next.fetch_add(1, Ordering::SeqCst) < RUNS {
                        let output = Command::new(std::env::current_exe().unwrap())
                            .args(["--ignored", "--exact", "plain_application", "--nocapture"])
                            .env(APP_URL, &db.url)
                            .output()
                            .unwrap();
                        let stdout = String::from_utf8_lossy(&output.stdout);
                        if output.status.code() != Some(0) || !stdout.contains("SERVED hello") {
                            failures.push(format!(
                                "{:?}: stdout {stdout:?}, stderr {:?}",
                                output.status,
                                String::from_utf8_lossy(&output.stderr)
                            ));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {RUNS} runs did not exit 0 after serving:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
