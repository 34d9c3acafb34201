use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(min_length = 3)]
    pub retries: u32,
}

fn main() {}
