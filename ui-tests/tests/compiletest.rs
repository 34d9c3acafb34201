//! Compile-time contracts: every misuse in `ui/` must fail to compile with the reviewed
//! message in its `.stderr`; every supported form in `pass/` must compile and run.
//!
//! The messages are rustc's as of the toolchain CI uses (1.95); other versions word some
//! notes differently, so run this with that toolchain.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/**/*.rs");
    cases.pass("pass/*.rs");
}
