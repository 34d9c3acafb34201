use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config(pub String, pub u32);

fn main() {}
