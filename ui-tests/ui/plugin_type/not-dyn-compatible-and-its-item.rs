use plugin_system::prelude::*;

// Only the method is reported; the item is not also told the trait is not dyn compatible.
#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay<T: Into<u64>>(&self, amount: T);
}

#[derive(Default)]
pub struct Stripe;

#[plugin_item(name = "stripe")]
impl Gateway for Stripe {
    fn pay<T: Into<u64>>(&self, _amount: T) {}
}

fn main() {}
