use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

pub struct Stripe<T>(T);

#[plugin_item(name = "stripe")]
impl<T: Send + Sync + 'static> Gateway for Stripe<T> {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

fn main() {}
