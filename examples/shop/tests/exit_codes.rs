//! Short CLI runs against PostgreSQL over TLS exit with their command's own code. libpq's
//! default `sslmode=prefer` negotiates TLS (and, before it, GSSAPI encryption, which loads
//! Kerberos); a connection still being opened on a background thread when `main` returns
//! raced the exit handlers of OpenSSL and krb5 and killed a finished command with SIGSEGV or
//! SIGABRT (`plugins check` exited 139 on a healthy store). Each run is the shop's real
//! binary on a fresh database of the local server.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]
#![cfg(feature = "postgres")]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use plugin_system::Key;
use support::TestDatabase;

/// How many times each command runs: the crash hit 5 to 20 runs in 100.
const RUNS: usize = 100;

/// Runs at once (each is a short process; the machine has few cores).
const PARALLEL: usize = 4;

fn shop(url: &str, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shop"))
        .arg("plugins")
        .args(args)
        .env("SHOP_DATABASE_URL", url)
        .env("PLUGIN_SYSTEM_KEY", key)
        .output()
        .unwrap()
}

/// Runs `args` [`RUNS`] times, [`PARALLEL`] at once; every run must exit 0 and print what
/// `expected` accepts.
fn every_run_succeeds(url: &str, key: &str, args: &[&str], expected: fn(&str) -> bool) {
    let next = AtomicUsize::new(0);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL)
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    while next.fetch_add(1, Ordering::SeqCst) < RUNS {
                        let output = shop(url, key, args);
                        let stdout = String::from_utf8_lossy(&output.stdout);
                        if output.status.code() != Some(0) || !expected(&stdout) {
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
        "{} of {RUNS} runs of `shop plugins {}` did not exit 0 with their output:\n{}",
        failures.len(),
        args.join(" "),
        failures.join("\n")
    );
}

#[test]
fn short_runs_over_tls_exit_with_their_own_code() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    support::assert_postgres_tls(&db.url);
    let key = Key::generate().to_base64().to_string();
    let synced = shop(&db.url, &key, &["sync"]);
    assert!(synced.status.success(), "{synced:?}");

    every_run_succeeds(&db.url, &key, &["list"], |out| {
        out.starts_with("ID") && out.lines().count() == 3
    });
    every_run_succeeds(&db.url, &key, &["check"], |out| {
        out.contains("2 of 2 instance(s) load")
    });
}
