use plugin_system::prelude::*;

pub trait Gateway: Send + Sync {
    fn pay(&self, amount: u64) -> String;
}

#[derive(Default)]
pub struct Stripe;

#[plugin_item(name = "stripe")]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

fn main() {}
