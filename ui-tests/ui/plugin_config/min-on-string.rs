use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(min = 1)]
    pub name: String,
}

fn main() {}
