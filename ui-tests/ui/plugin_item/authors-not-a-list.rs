use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

#[derive(Default)]
pub struct Stripe;

#[plugin_item(name = "stripe", authors = "Ada <ada@example.com>")]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

fn main() {}
