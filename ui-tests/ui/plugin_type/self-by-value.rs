use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(self, amount: u64);
}

fn main() {}
