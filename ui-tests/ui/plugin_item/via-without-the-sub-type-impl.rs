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

#[plugin_item(via = CardGateway)]
impl Gateway for Visa {
    fn pay(&self) {}
}

fn main() {}
