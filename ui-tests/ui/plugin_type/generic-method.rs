use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay<T: Into<u64>>(&self, amount: T);
}

fn main() {}
