//! The demo shop (`examples/shop`): `cargo run --example shop` serves it on
//! http://127.0.0.1:8000/; `cargo run --example shop -- plugins --help` shows its plugins CLI.

// An example program: its items are public for the macros to register, not an API.
#![allow(missing_docs)]

fn main() -> std::process::ExitCode {
    shop::main()
}
