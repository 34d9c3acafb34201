//! The reviewed messages (`.stderr` under this crate) never show the author the library's
//! insides: the hidden `__private` module, a file inside the library, a number standing for a
//! plugin type, or an item only generated code names. Each is a plain test over the files, so
//! it fails on a snapshot someone accepted without reading.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.stderr` below the crate's directory, `target/` left out.
fn stderr_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "target") {
                    walk(&path, found);
                }
            } else if path.extension().is_some_and(|ext| ext == "stderr") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new(env!("CARGO_MANIFEST_DIR")), &mut found);
    found.sort();
    assert!(found.len() > 40, "expected the ui cases, found {found:?}");
    found
}

/// The files (and their offending lines) for which `bad` holds on some line.
fn offenders(bad: impl Fn(&str) -> bool) -> Vec<String> {
    stderr_files()
        .iter()
        .flat_map(|path| {
            let text = fs::read_to_string(path).expect("a readable .stderr");
            text.lines()
                .filter(|line| bad(line))
                .map(|line| format!("{}: {line}", path.display()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn no_stderr_names_the_private_module() {
    let found = offenders(|line| line.contains("__private"));
    assert!(found.is_empty(), "internals shown:\n{}", found.join("\n"));
}

#[test]
fn no_stderr_points_into_the_library() {
    // trybuild writes the workspace's own files as `$WORKSPACE/…`; the cases are `ui/…`.
    let found = offenders(|line| line.contains("$WORKSPACE/"));
    assert!(
        found.is_empty(),
        "library paths shown:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_stderr_shows_a_number_key() {
    // A type's key is a 64-bit hash: twelve or more digits in a row is one.
    let found = offenders(|line| {
        line.split(|c: char| !c.is_ascii_digit())
            .any(|digits| digits.len() >= 12)
    });
    assert!(found.is_empty(), "number keys shown:\n{}", found.join("\n"));
}

#[test]
fn no_stderr_names_a_hidden_item() {
    // What generated code names but authors never write: the marker `#[plugin_type]` declares
    // beside each trait, the trait that names its trait object, the derive's `Debug` helpers,
    // and the const `#[plugin_item]` reads to require `ThreadSafe`.
    let hidden = [
        "__plugin_type_",
        "TraitObject",
        "ItemOf",
        "Shown<",
        "fmt_debug",
        "CHECKED",
    ];
    let found = offenders(|line| hidden.iter().any(|name| line.contains(name)));
    assert!(
        found.is_empty(),
        "hidden items shown:\n{}",
        found.join("\n")
    );
}
