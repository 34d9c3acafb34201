use plugin_system::prelude::*;

#[plugin_type(name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
pub trait Gateway {
    fn pay(&self, amount: u64);
}

fn main() {}
