use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway<T> {
    fn pay(&self, amount: T);
}

fn main() {}
