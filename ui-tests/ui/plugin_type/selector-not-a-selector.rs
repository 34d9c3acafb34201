use plugin_system::prelude::*;

#[derive(Default)]
pub struct Nearest;

#[plugin_type(name = "gateway", selector = Nearest)]
pub trait Gateway {
    fn pay(&self, amount: u64);
}

fn main() {}
