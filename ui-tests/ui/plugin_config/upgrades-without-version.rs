use plugin_system::PluginConfig;
use plugin_system::config::ConfigValues;

fn host_became_server(values: ConfigValues) -> Result<ConfigValues, String> {
    Ok(values)
}

#[derive(PluginConfig)]
#[config(upgrades = [host_became_server])]
pub struct SmtpConfig {
    pub server: String,
}

fn main() {}
