use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    #[action(label = "Test the connection")]
    fn check_connection(&self) -> Result<String, PluginError>
    where
        Self: Sized;
}

fn main() {}
