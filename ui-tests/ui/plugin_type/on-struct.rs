use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub struct Gateway {
    pub amount: u64,
}

fn main() {}
