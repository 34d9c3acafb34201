use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    #[action(label = "Reset the session")]
    fn reset(&mut self) -> Result<String, PluginError>;
}

fn main() {}
