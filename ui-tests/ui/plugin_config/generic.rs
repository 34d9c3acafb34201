use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config<T> {
    pub value: T,
}

fn main() {}
