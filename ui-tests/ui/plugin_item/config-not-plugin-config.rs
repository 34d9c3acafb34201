use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

pub struct StripeConfig {
    pub api_key: String,
}

pub struct Stripe;

impl From<StripeConfig> for Stripe {
    fn from(_: StripeConfig) -> Self {
        Stripe
    }
}

#[plugin_item(name = "stripe", config = StripeConfig)]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe {amount}")
    }
}

fn main() {}
