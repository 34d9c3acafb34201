use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

#[derive(Default)]
pub struct Stripe;

#[plugin_item(
    name = "stripe",
    version = "1.0 beta",
    authors = ["Ada: the first", " ", 7],
    homepage = "https://"
)]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

#[derive(Default)]
pub struct PayPal;

#[plugin_item(name = "paypal", version = 2, homepage = "https://paypal.com/a b")]
impl Gateway for PayPal {
    fn pay(&self, amount: u64) -> String {
        format!("paypal {amount}")
    }
}

fn main() {}
