//! `shop`: serve the demo shop (the default), or `shop plugins ...` to manage its plugins.

fn main() -> std::process::ExitCode {
    shop::main()
}
