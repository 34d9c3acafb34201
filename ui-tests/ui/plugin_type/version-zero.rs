use plugin_system::prelude::*;

#[plugin_type(name = "gateway", version = 0)]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

fn main() {}
