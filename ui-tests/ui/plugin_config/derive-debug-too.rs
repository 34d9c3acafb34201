use plugin_system::PluginConfig;

#[derive(PluginConfig)]
#[derive(Clone, Debug)]
pub struct Config {
    #[config(secret)]
    pub api_key: String,
}

fn main() {}
