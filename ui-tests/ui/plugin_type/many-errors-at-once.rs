use plugin_system::prelude::*;

#[plugin_type(name = "Gateway")]
pub trait Gateway {
    fn pay<T>(&self, amount: T);
    fn create() -> Self;
}

fn main() {}
