use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(default = "thirty")]
    pub timeout_secs: u32,
}

fn main() {}
