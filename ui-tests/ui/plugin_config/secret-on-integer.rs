use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(secret)]
    pub pin: u32,
}

fn main() {}
