use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(crate = plugin_system)]
    pub name: String,
}

fn main() {}
