use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(min = 1, min = 2)]
    pub retries: u32,
}

fn main() {}
