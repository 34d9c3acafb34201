use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn currency(&self) -> &str {
        "USD"
    }
}

fn main() {}
