use plugin_system::prelude::*;

// The type's mistake is reported once: its items add no errors of their own.
#[plugin_type(name = "Gateway")]
pub trait Gateway {
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

#[derive(Default)]
pub struct Paypal;

#[plugin_item(name = "paypal")]
impl Gateway for Paypal {
    fn pay(&self, amount: u64) -> String {
        format!("paypal {amount}")
    }
}

fn main() {}
