use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn payments(&self) -> impl Iterator<Item = u64>;
}

fn main() {}
