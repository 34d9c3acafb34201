use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

pub struct Stripe {
    pub key: String,
}

#[plugin_item(name = "stripe")]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

fn main() {}
