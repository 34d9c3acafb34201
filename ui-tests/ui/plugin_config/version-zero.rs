use plugin_system::PluginConfig;

#[derive(PluginConfig)]
#[config(version = 0)]
pub struct SmtpConfig {
    pub server: String,
}

fn main() {}
