//! The write path (issue 12): what writes cost at 1,000, 10,000 and 100,000 instances, on
//! SQLite (a file, WAL) and PostgreSQL (`PLUGIN_SYSTEM_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, a schema of its own per size). `cargo bench
//! --all-features --bench writes`; it prints markdown tables and asserts nothing about time
//! (it panics when a write fails or another process never serves a change).
//!
//! Per backend and size N, on a fresh store: N instances of one config-less item, 10 per
//! scope (N/10 tenants), plus the global default instance the start-up sync creates.
//!
//! - **bulk fill**: `create_instances` in batches of [`FILL_BATCH`] (one batch for 1,000);
//! - **one create**, **one status change**, **status of 100 at once**: single calls of the
//!   writing handle (no watcher; each call includes its own snapshot update);
//! - **served by another process**: a child (`--serve`) with its own handle (default
//!   staleness bound, 1 s) reports when `get_by_id` / `scoped(t).get` serves each change,
//!   and what its `refresh_stats()` say the change cost it;
//! - **cold start**: a fresh child (`--cold`) from its `main` to the first successful
//!   `scoped(t).get` (connect, migrations check, sync, full load), and its peak memory;
//! - **idle**: a child (`--idle`) holding one handle, blocked for [`IDLE`], and the CPU
//!   time it spent meanwhile.

// Benchmarks are binaries; nothing here is an API.
#![allow(missing_docs)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plugin_system::prelude::*;
use plugin_system::{Error, InstanceId, InstanceMeta, ItemKey, Status};
use support::BenchNotifier;

/// Store sizes (instances, besides the sync's default one); `BENCH_WRITES_SIZES=1000,10000`
/// runs others (for a quick check).
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Instances per scope: N/10 scopes.
const PER_SCOPE: usize = 10;
/// Instances per `create_instances` call of the bulk fill.
const FILL_BATCH: usize = 10_000;
/// Single creates and single status changes measured per size.
const SINGLE_WRITES: usize = 30;
/// Status changes of [`BULK`] instances at once measured per size.
const BULK_WRITES: usize = 10;
const BULK: usize = 100;
/// A series of writes stops early (after at least [`MIN_SAMPLES`]) once it has run this
/// long, so that slow writes at 100,000 keep the whole run within minutes; the tables say
/// how many samples each figure has.
const SERIES_BUDGET: Duration = Duration::from_secs(20);
const MIN_SAMPLES: usize = 5;
/// Changes another process must serve, per size (half status changes, half creates).
const PROPAGATED: usize = 10;
/// Longest wait for another process to serve a change before the benchmark fails.
const SERVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a cold start (or the idle child) to report.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);
/// Cold starts per size (the table shows their median).
const COLD_STARTS: usize = 3;
/// How long the idle child stays blocked.
const IDLE: Duration = Duration::from_secs(10);
/// The reading children's staleness bound (the default: the revision is polled every 0.5 s).
const STALENESS: Duration = Duration::from_secs(1);
/// `/proc/<pid>/stat` counts CPU time in clock ticks of `sysconf(_SC_CLK_TCK)`, which is 100
/// on Linux (USER_HZ, fixed for every architecture we run on).
const CLOCK_TICKS_PER_SECOND: u64 = 100;

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(&args[2]),
        Some("--cold") => cold(started, &args[2], &args[3]),
        Some("--idle") => idle(&args[2]),
        // `cargo bench` passes `--bench`.
        _ => parent(),
    }
}

// ---------------------------------------------------------------------------------------
// The parent: writes, and reads what its children report.
// ---------------------------------------------------------------------------------------

fn parent() {
    let run = Instant::now();
    let mut writes = Vec::new();
    let mut serving = Vec::new();
    let mut idles = Vec::new();
    let mut skipped = Vec::new();
    let sizes: Vec<usize> = match std::env::var("BENCH_WRITES_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("BENCH_WRITES_SIZES: numbers"))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for (index, &n) in sizes.iter().enumerate() {
            let (url, _store) = match backend.fresh(n) {
                Ok(fresh) => fresh,
                Err(reason) => {
                    let line = format!("{}: skipped: {reason}", backend.name());
                    println!("{line}");
                    skipped.push(line);
                    break;
                }
            };
            let last = index + 1 == sizes.len();
            let figures = measure(backend.name(), &url, n, last);
            writes.push(figures.writes);
            serving.push(figures.serving);
            idles.extend(figures.idle);
        }
    }
    print_report(&writes, &serving, &idles, &skipped, run.elapsed());
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// What keeps a fresh store alive (its directory, its schema) until dropped.
#[allow(dead_code)] // held for its `Drop` only
enum FreshStore {
    Sqlite(tempfile::TempDir),
    Postgres(support::PgSchema),
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// An empty database of this backend: its URL, and what removes it.
    fn fresh(self, n: usize) -> Result<(String, FreshStore), String> {
        match self {
            Backend::Sqlite => {
                let (dir, url) = support::sqlite();
                Ok((url, FreshStore::Sqlite(dir)))
            }
            Backend::Postgres => {
                let schema = support::postgres_schema(&format!("bench_writes_{n}"))?;
                Ok((schema.url.clone(), FreshStore::Postgres(schema)))
            }
        }
    }
}

/// One size's rows of the report.
struct Figures {
    writes: String,
    serving: String,
    idle: Option<String>,
}

fn scope_name(index: usize) -> String {
    format!("tenant_{index:05}")
}

fn measure(backend: &str, url: &str, n: usize, idle_too: bool) -> Figures {
    eprintln!("{backend}, {n} instances: filling");
    let registry = support::registry(1, 1);
    let item: ItemKey = registry.items().next().unwrap().key();
    // The writer: syncs the registry into the empty store (its one default instance), no
    // watcher (each write refreshes its snapshot itself; nothing else writes meanwhile).
    let writer = Plugins::builder()
        .registry(registry)
        .database_url(url)
        .no_watch()
        .build()
        .expect("the writing handle opens the empty store");

    // Memory of a process serving the empty store: the baseline of "bytes per instance".
    let empty = cold_starts(url, "-");

    // 1. Bulk fill.
    let scopes = n / PER_SCOPE;
    let mut pending: Vec<NewInstance> = (0..n)
        .map(|k| {
            NewInstance::new(item.clone(), format!("instance_{k:06}")).scope(scope_name(k % scopes))
        })
        .collect();
    let mut instances: Vec<InstanceMeta> = Vec::with_capacity(n);
    let filling = Instant::now();
    while !pending.is_empty() {
        let rest = pending.split_off(FILL_BATCH.min(pending.len()));
        let batch = std::mem::replace(&mut pending, rest);
        instances.extend(writer.create_instances(batch).expect("bulk create"));
    }
    let fill = filling.elapsed();
    assert_eq!(instances.len(), n);
    eprintln!("  filled in {}", show(fill));

    // 2. One create at a time, into existing scopes.
    let creates = series(SINGLE_WRITES, |i| {
        let new =
            NewInstance::new(item.clone(), format!("extra_{i:03}")).scope(scope_name(i % scopes));
        writer.create_instance(new).expect("create one instance");
    });
    eprintln!("  one create: median {}", show(quantile(&creates, 0.5)));

    // 3. One instance's status, flipped.
    let one = instances[0].id;
    let mut one_disabled = false;
    let flips = series(SINGLE_WRITES, |_| {
        one_disabled = !one_disabled;
        let changed = writer
            .set_status(&[one], status(one_disabled))
            .expect("set the status of one instance");
        assert_eq!(changed, 1, "set_status changed nothing");
    });
    eprintln!(
        "  one status change: median {}",
        show(quantile(&flips, 0.5))
    );

    // 4. A hundred instances' status at once (10 scopes' worth).
    let hundred: Vec<InstanceId> = instances[n - BULK..].iter().map(|meta| meta.id).collect();
    let mut hundred_disabled = false;
    let bulk = series(BULK_WRITES, |_| {
        hundred_disabled = !hundred_disabled;
        let changed = writer
            .set_status(&hundred, status(hundred_disabled))
            .expect("set the status of 100 instances");
        assert_eq!(changed, BULK, "set_status did not change all 100");
    });
    eprintln!("  status of 100: median {}", show(quantile(&bulk, 0.5)));
    // Leave everything ACTIVE again (not timed).
    for (disabled, ids) in [(one_disabled, vec![one]), (hundred_disabled, hundred)] {
        if disabled {
            writer.set_status(&ids, Status::Active).unwrap();
        }
    }

    // 5. Another process serves the changes.
    let propagated = propagate(&writer, &item, url, &instances);
    eprintln!("  served: median {}", show(propagated.quantile(0.5)));

    // 6, 7. Cold start on the filled store, its memory.
    let filled = cold_starts(url, &scope_name(0));
    eprintln!("  cold start: median {}", show(filled.time));

    // 8. An idle handle.
    let idle = idle_too.then(|| {
        eprintln!("  idle for {} s", IDLE.as_secs());
        let report = Child::spawn(&["--idle", url]);
        let line = report.expect("IDLE", IDLE + CHILD_TIMEOUT);
        let words: Vec<&str> = line.split(' ').collect();
        let seconds: f64 = words[1].parse().unwrap();
        let ticks: u64 = words[2].parse().unwrap();
        let tick_ms = ticks * 1000 / CLOCK_TICKS_PER_SECOND;
        let ms: f64 = words[3].parse().unwrap();
        format!(
            "| {backend} | {} | {seconds:.1} s | {:.1} ms/s ({ticks} ticks = {tick_ms} ms) | {:.3} ms/s ({ms:.1} ms) |",
            thousands(n),
            tick_ms as f64 / seconds,
            ms / seconds,
        )
    });

    let writes = format!(
        "| {backend} | {} | {} | {} | {} | {} | {} |",
        thousands(n),
        thousands(scopes),
        show(fill),
        spread(&creates),
        spread(&flips),
        spread(&bulk),
    );
    let per_instance = (filled.peak_kib as f64 - empty.peak_kib as f64) * 1024.0 / n as f64;
    let serving = format!(
        "| {backend} | {} | {} / {} / {} | {} | {} full, {} incremental | {} | {:.1} MiB | {:.0} B ({:.1} MiB empty) |",
        thousands(n),
        show(propagated.quantile(0.5)),
        show(propagated.quantile(0.9)),
        show(propagated.quantile(1.0)),
        propagated.rows(),
        propagated.full,
        propagated.incremental,
        show(filled.time),
        filled.peak_kib as f64 / 1024.0,
        per_instance,
        empty.peak_kib as f64 / 1024.0,
    );
    Figures {
        writes,
        serving,
        idle,
    }
}

fn status(disabled: bool) -> Status {
    match disabled {
        true => Status::Disabled,
        false => Status::Active,
    }
}

/// Times up to `count` calls of `op` (fewer once [`SERIES_BUDGET`] is spent); sorted.
fn series(count: usize, mut op: impl FnMut(usize)) -> Vec<Duration> {
    let started = Instant::now();
    let mut times = Vec::with_capacity(count);
    for i in 0..count {
        if i >= MIN_SAMPLES && started.elapsed() > SERIES_BUDGET {
            break;
        }
        let call = Instant::now();
        op(i);
        times.push(call.elapsed());
    }
    times.sort();
    times
}

/// What another process saw of [`PROPAGATED`] changes.
struct Propagated {
    /// From the start of the write call to the child's first lookup serving it; sorted.
    latencies: Vec<Duration>,
    /// Instance rows the child read for each change; sorted.
    rows: Vec<u64>,
    full: u64,
    incremental: u64,
}

impl Propagated {
    fn quantile(&self, q: f64) -> Duration {
        quantile(&self.latencies, q)
    }

    fn rows(&self) -> String {
        let (low, high) = (self.rows[0], self.rows[self.rows.len() - 1]);
        let median = self.rows[self.rows.len() / 2];
        match low == high {
            true => thousands(median as usize),
            false => format!(
                "{} ({}–{})",
                thousands(median as usize),
                thousands(low as usize),
                thousands(high as usize)
            ),
        }
    }
}

/// Writes [`PROPAGATED`] changes, spread over the polling period as real writes are, each
/// once the child watches for it, and collects when the child served each.
fn propagate(
    writer: &Plugins,
    item: &ItemKey,
    url: &str,
    instances: &[InstanceMeta],
) -> Propagated {
    let mut child = Child::spawn(&["--serve", url]);
    child.expect("READY", CHILD_TIMEOUT);
    let watched = instances[1].id;
    let mut disabled = false;
    let mut figures = Propagated {
        latencies: Vec::new(),
        rows: Vec::new(),
        full: 0,
        incremental: 0,
    };
    for change in 0..PROPAGATED {
        std::thread::sleep(Duration::from_millis(50 + (change as u64 * 37) % 400));
        let write: Box<dyn FnOnce() + '_> = match change % 2 {
            // A status change, seen through `get_by_id`.
            0 => {
                disabled = !disabled;
                let word = if disabled { "disabled" } else { "active" };
                child.send(&format!("STATUS {watched} {word}"));
                let status = status(disabled);
                Box::new(move || {
                    writer
                        .set_status(&[watched], status)
                        .expect("status change");
                })
            }
            // A new tenant's first instance, seen through `scoped(t).get`.
            _ => {
                let scope = format!("new_tenant_{change:02}");
                let name = format!("first_of_{change:02}");
                child.send(&format!("SCOPE {scope} {name}"));
                let new = NewInstance::new(item.clone(), name).scope(scope);
                Box::new(move || {
                    writer.create_instance(new).expect("create in a new scope");
                })
            }
        };
        child.expect("WATCHING", CHILD_TIMEOUT);
        let written = unix_micros();
        write();
        let line = child.expect("SEEN", SERVE_TIMEOUT + Duration::from_secs(5));
        let words: Vec<u64> = line
            .split(' ')
            .skip(1)
            .map(|w| w.parse().unwrap())
            .collect();
        let seen = u128::from(words[0]);
        figures
            .latencies
            .push(Duration::from_micros(seen.saturating_sub(written) as u64));
        figures.full += words[1];
        figures.incremental += words[2];
        figures.rows.push(words[3]);
    }
    figures.latencies.sort();
    figures.rows.sort();
    figures
}

/// The median of [`COLD_STARTS`] cold starts.
struct Cold {
    time: Duration,
    peak_kib: u64,
}

fn cold_starts(url: &str, scope: &str) -> Cold {
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..COLD_STARTS {
        let child = Child::spawn(&["--cold", url, scope]);
        let line = child.expect("COLD", CHILD_TIMEOUT);
        let words: Vec<u64> = line
            .split(' ')
            .skip(1)
            .map(|w| w.parse().unwrap())
            .collect();
        times.push(Duration::from_micros(words[0]));
        peaks.push(words[1]);
    }
    times.sort();
    peaks.sort();
    Cold {
        time: times[times.len() / 2],
        peak_kib: peaks[peaks.len() / 2],
    }
}

/// A child process running this binary in one of its roles, its stdout read line by line
/// on a thread of its own (so a silent child fails the benchmark instead of hanging it).
struct Child {
    process: std::process::Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Child {
    fn spawn(args: &[&str]) -> Child {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn a child");
        let stdout = process.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Child {
            stdin: process.stdin.take(),
            process,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to the child");
    }

    /// The child's next line, which must start with `word`; panics after `timeout`.
    fn expect(&self, word: &str, timeout: Duration) -> String {
        let line = match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the child said nothing for {timeout:?} (waiting for {word})")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the child exited (waiting for {word})")
            }
        };
        assert!(
            line.split(' ').next() == Some(word),
            "the child said `{line}` (waiting for {word})"
        );
        line
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Closing its stdin ends a `--serve` child; the others have said all they say.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The children.
// ---------------------------------------------------------------------------------------

/// A reading process: for each line on stdin (`STATUS <id> active|disabled` or `SCOPE
/// <scope> <name>`) it answers `WATCHING`, looks up until its snapshot serves that change,
/// then answers `SEEN <unix µs> <full reloads> <incremental updates> <rows read>` (the last
/// three since the previous change). Ends when stdin closes.
fn serve(url: &str) {
    let plugins = Plugins::builder()
        .registry(support::registry(1, 1))
        .database_url(url)
        .skip_sync()
        .max_staleness(STALENESS)
        .build()
        .expect("the reading handle opens the store");
    let plugins = &plugins;
    let mut before = plugins.refresh_stats();
    println!("READY");
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split(' ').collect();
        let served: Box<dyn Fn() -> bool + '_> = match words[..] {
            ["STATUS", id, word] => {
                let id: InstanceId = id.parse().unwrap();
                let disabled = word == "disabled";
                Box::new(move || match plugins.get_by_id::<dyn BenchNotifier>(id) {
                    Ok(plugin) => !disabled && plugin.meta().status == Status::Active,
                    Err(Error::Disabled { .. }) => disabled,
                    Err(err) => panic!("get_by_id({id}): {err}"),
                })
            }
            ["SCOPE", scope, name] => {
                let (scope, name) = (scope.to_owned(), name.to_owned());
                Box::new(move || {
                    let plugin = plugins
                        .scoped(&scope)
                        .get::<dyn BenchNotifier>()
                        .expect("scoped get");
                    plugin.meta().name == name
                })
            }
            _ => panic!("unknown request `{line}`"),
        };
        println!("WATCHING");
        let deadline = Instant::now() + SERVE_TIMEOUT;
        // A short sleep between lookups: the resolution stays far below the polling
        // interval, and the child does not take a core from the writer.
        while !served() {
            if Instant::now() > deadline {
                println!("TIMEOUT after {SERVE_TIMEOUT:?}: `{line}` never served");
                std::process::exit(1);
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        let at = unix_micros();
        let stats = plugins.refresh_stats();
        println!(
            "SEEN {at} {} {} {}",
            stats.full_reloads - before.full_reloads,
            stats.incremental_updates - before.incremental_updates,
            stats.rows_read - before.rows_read,
        );
        before = stats;
    }
}

/// A process starting cold: from `main` to the first lookup that serves (the scope's own
/// instance, or with `-` the global one); answers `COLD <µs> <peak KiB>`.
fn cold(started: Instant, url: &str, scope: &str) {
    let plugins = Plugins::builder()
        .registry(support::registry(1, 1))
        .database_url(url)
        .max_staleness(STALENESS)
        .build()
        .expect("a cold handle opens the store");
    let plugin = match scope {
        "-" => plugins.get::<dyn BenchNotifier>(),
        scope => plugins.scoped(scope).get::<dyn BenchNotifier>(),
    }
    .expect("the first lookup serves");
    let elapsed = started.elapsed();
    if scope != "-" {
        assert_eq!(plugin.meta().scope.as_deref(), Some(scope));
    }
    println!(
        "COLD {} {}",
        elapsed.as_micros(),
        support::peak_memory_kib()
    );
}

/// A process holding one handle and doing nothing: answers `IDLE <seconds> <clock ticks>
/// <ms>`, its CPU time (user + system, every thread) while blocked for [`IDLE`].
fn idle(url: &str) {
    let plugins = Plugins::builder()
        .registry(support::registry(1, 1))
        .database_url(url)
        .max_staleness(STALENESS)
        .build()
        .expect("an idle handle opens the store");
    plugins.get::<dyn BenchNotifier>().expect("a lookup serves");
    let (ticks_before, ms_before) = (cpu_ticks(), cpu_ms());
    let started = Instant::now();
    // Blocked on a channel nobody signals: the process's only activity is the watcher's.
    let (_never_sent, never) = mpsc::channel::<()>();
    let _ = never.recv_timeout(IDLE);
    let seconds = started.elapsed().as_secs_f64();
    let (ticks_after, ms_after) = (cpu_ticks(), cpu_ms());
    println!(
        "IDLE {seconds:.3} {} {:.3}",
        ticks_after - ticks_before,
        ms_after - ms_before
    );
    drop(plugins);
}

/// utime + stime of this process (every thread), in clock ticks (`/proc/self/stat`).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    // Fields 14 (utime) and 15 (stime); fields[0] is field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The CPU time of this process (every thread, exited ones included) in ms, to the
/// nanosecond: `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`. (A clock tick is 10 ms, coarse for
/// an idle process.) Declared here rather than taken from `libc`, which the facade does not
/// depend on.
fn cpu_ms() -> f64 {
    /// `struct timespec` on 64-bit Linux: `time_t` and `long` are both `long`.
    #[repr(C)]
    struct Timespec {
        tv_sec: std::ffi::c_long,
        tv_nsec: std::ffi::c_long,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: std::ffi::c_int, time: *mut Timespec) -> std::ffi::c_int;
    }
    /// `CLOCK_PROCESS_CPUTIME_ID` of `<time.h>` on Linux.
    const CLOCK_PROCESS_CPUTIME_ID: std::ffi::c_int = 2;
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `struct timespec` for the call's duration.
    let status = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    time.tv_sec as f64 * 1e3 + time.tv_nsec as f64 / 1e6
}

// ---------------------------------------------------------------------------------------
// Figures and the report.
// ---------------------------------------------------------------------------------------

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Median / p90 (samples).
fn spread(sorted: &[Duration]) -> String {
    format!(
        "{} / {} ({})",
        show(quantile(sorted, 0.5)),
        show(quantile(sorted, 0.9)),
        sorted.len()
    )
}

/// A duration with three significant digits or so.
fn show(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    match ms {
        ms if ms < 10.0 => format!("{ms:.2} ms"),
        ms if ms < 1000.0 => format!("{ms:.1} ms"),
        ms => format!("{:.2} s", ms / 1e3),
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim().trim_start_matches(':').trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    format!("{model}, {cores} cores")
}

/// Today (UTC) as YYYY-MM-DD, from the days since 1970 (the proleptic Gregorian calendar in
/// 400-year eras of 146,097 days).
fn today() -> String {
    let days = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn print_report(
    writes: &[String],
    serving: &[String],
    idles: &[String],
    skipped: &[String],
    took: Duration,
) {
    println!();
    println!("# Write path (`benches/writes.rs`)");
    println!();
    println!(
        "Machine: {}. Date: {} (UTC). Whole run: {}.",
        machine(),
        today(),
        show(took)
    );
    for line in skipped {
        println!("{line}");
    }
    println!();
    println!(
        "Each store: N instances of one config-less item (one synthetic type), {PER_SCOPE} per \
         scope (N/{PER_SCOPE} scopes), plus the global default instance of the start-up sync; a \
         fresh database per size (SQLite: a file in WAL mode; PostgreSQL: a schema of its \
         own). The writer is a handle without a watcher: each write call returns after its \
         own snapshot update. Bulk fill: `create_instances` in batches of \
         {}, timed together. Writes: median / p90 (samples); a series stops after {} s \
         (at least {MIN_SAMPLES} samples).",
        thousands(FILL_BATCH),
        SERIES_BUDGET.as_secs(),
    );
    println!();
    println!(
        "| backend | N | scopes | bulk fill | one `create_instance` | one `set_status` | `set_status` of {BULK} |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in writes {
        println!("{row}");
    }
    println!();
    println!(
        "Another process (staleness bound {} s: the revision polled every {} ms; PostgreSQL \
         also pushes): {PROPAGATED} changes per size, alternately a status change (watched \
         with `get_by_id`) and a create in a new scope (watched with `scoped(t).get`), timed \
         from the start of the write call to the first lookup serving it. Rows read per \
         change and refreshes: the child's `refresh_stats()`, per change. Cold start: a \
         fresh process, from `main` to the first `scoped(t).get` serving the tenant's own \
         instance (connect, migrations check, sync, full load), median of {COLD_STARTS}. Peak \
         memory: VmHWM of that process; per instance: its excess over a process that opened \
         the same store empty, divided by N.",
        STALENESS.as_secs(),
        STALENESS.as_millis() / 2,
    );
    println!();
    println!(
        "| backend | N | until served: median / p90 / max | rows read per change: median (min–max) | refreshes | cold start | peak memory | per instance (empty store) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in serving {
        println!("{row}");
    }
    println!();
    println!(
        "Idle: a process holding one handle (staleness bound {} s) on the largest store, \
         blocked on a channel for {} s after start-up; its CPU time meanwhile \
         (`/proc/self/stat` utime + stime, {CLOCK_TICKS_PER_SECOND} ticks per second, \
         sampled; and `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, to the nanosecond).",
        STALENESS.as_secs(),
        IDLE.as_secs(),
    );
    println!();
    println!("| backend | N | idle for | CPU (clock ticks) | CPU (`CLOCK_PROCESS_CPUTIME_ID`) |");
    println!("|---|---|---|---|---|");
    for row in idles {
        println!("{row}");
    }
}
