use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    pub timeout: u32,
    #[config(alias = "timeout")]
    pub timeout_secs: u32,
}

fn main() {}
