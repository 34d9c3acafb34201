use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    #[config(defualt = 30)]
    pub timeout_secs: u32,
}

fn main() {}
