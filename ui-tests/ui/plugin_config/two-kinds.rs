use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(url, email)]
    pub contact: String,
}

fn main() {}
