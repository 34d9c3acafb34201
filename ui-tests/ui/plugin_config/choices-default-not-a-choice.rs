use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(choices("usd", "eur"), default = "gbp")]
    pub currency: String,
}

fn main() {}
