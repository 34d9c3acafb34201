use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(default = 300)]
    pub level: u8,
}

fn main() {}
