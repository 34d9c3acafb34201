use plugin_system::prelude::*;

#[plugin_type(name = "gateway", descriptoin = "Payment gateways")]
pub trait Gateway {
    fn pay(&self, amount: u64);
}

fn main() {}
