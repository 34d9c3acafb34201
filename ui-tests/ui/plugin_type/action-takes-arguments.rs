use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    #[action(label = "Refund a test payment")]
    fn refund(&self, amount: u64) -> Result<String, PluginError>;
}

fn main() {}
