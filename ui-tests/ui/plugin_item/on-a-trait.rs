use plugin_system::prelude::*;

#[plugin_item(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

fn main() {}
