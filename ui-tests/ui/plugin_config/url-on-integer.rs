use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(url)]
    pub port: u16,
}

fn main() {}
