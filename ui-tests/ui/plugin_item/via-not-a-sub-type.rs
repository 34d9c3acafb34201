use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self);
}

// Not declared with `parent = Gateway`.
#[plugin_type(name = "refunds")]
pub trait Refunds: Gateway {
    fn refund(&self);
}

#[derive(Default)]
pub struct Visa;

#[plugin_item(name = "visa")]
impl Refunds for Visa {
    fn refund(&self) {}
}

#[plugin_item(via = Refunds)]
impl Gateway for Visa {
    fn pay(&self) {}
}

fn main() {}
