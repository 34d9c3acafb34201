use plugin_system::PluginConfig;

pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

#[derive(PluginConfig)]
pub struct Config {
    pub name: String,
    pub endpoint: Endpoint,
}

fn main() {}
