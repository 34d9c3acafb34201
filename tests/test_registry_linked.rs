//! The registry of a binary whose `link!` names a crate that registered nothing: `build()`
//! fails with the typed error, every time it is called (the registry is collected once).

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use plugin_system::Error;
use plugin_system::prelude::*;

// `tempfile` is linked into this test binary but registers no plugin: a mistake `link!` must
// turn into a start-up error naming the crate and the `link!` line.
plugin_system::link!(tempfile);

#[test]
fn a_linked_crate_that_registered_nothing_fails_build_with_the_typed_error() {
    for _ in 0..2 {
        let err = Plugins::builder().build().unwrap_err();
        match &err {
            Error::MissingPluginCrate { krate, site } => {
                assert_eq!(krate, "tempfile");
                assert!(site.contains("test_registry_linked.rs"), "{site}");
            }
            other => panic!("expected MissingPluginCrate, got {other:?}"),
        }
    }
}
