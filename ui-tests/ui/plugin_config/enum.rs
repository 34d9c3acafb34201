use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub enum Config {
    Usd,
    Eur,
}

fn main() {}
