use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    #[action(label = "Clear the cache")]
    fn clear_cache(&self);
}

fn main() {}
