use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self);
}

#[plugin_type(name = "card_gateway", parent = Gateway)]
pub trait CardGateway: Gateway {
    fn refund(&self);
}

#[derive(Default)]
pub struct Visa;

#[plugin_item(name = "visa")]
impl CardGateway for Visa {
    fn refund(&self) {}
}

impl Gateway for Visa {
    fn pay(&self) {}
}

fn main() {}
