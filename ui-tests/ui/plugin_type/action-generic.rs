use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    #[action(label = "Test the connection")]
    fn check_connection<T: Default>(&self) -> Result<String, PluginError>;
}

fn main() {}
