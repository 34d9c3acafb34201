use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(pattern = "^(yes|no)$")]
    pub enabled: bool,
}

fn main() {}
