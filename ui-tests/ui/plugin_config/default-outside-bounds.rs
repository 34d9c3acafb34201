use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(default = 0, min = 1, max = 300)]
    pub timeout_secs: u32,
}

fn main() {}
