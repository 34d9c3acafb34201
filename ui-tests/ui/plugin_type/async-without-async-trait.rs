use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    async fn pay(&self, amount: u64) -> String;
}

fn main() {}
