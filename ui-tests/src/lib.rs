//! Compile-time contracts of plugin-system; see `tests/compiletest.rs`.
