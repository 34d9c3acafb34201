use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

#[derive(Default)]
pub struct Stripe {
    calls: std::cell::Cell<u32>,
}

#[plugin_item(name = "stripe")]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        self.calls.set(self.calls.get() + 1);
        format!("stripe {amount}")
    }
}

fn main() {}
