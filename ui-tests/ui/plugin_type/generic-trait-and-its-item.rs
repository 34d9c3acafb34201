use plugin_system::prelude::*;

// Only the generic parameter is reported; the item adds no error of its own.
#[plugin_type(name = "gateway")]
pub trait Gateway<T> {
    fn pay(&self, amount: T);
}

#[derive(Default)]
pub struct Stripe;

#[plugin_item(name = "stripe")]
impl Gateway<u64> for Stripe {
    fn pay(&self, _amount: u64) {}
}

fn main() {}
