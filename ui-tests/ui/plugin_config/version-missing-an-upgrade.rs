use plugin_system::PluginConfig;
use plugin_system::config::ConfigValues;

fn host_became_server(values: ConfigValues) -> Result<ConfigValues, String> {
    Ok(values)
}

/// Version 3, but only the upgrade from version 1 to 2 is listed.
#[derive(PluginConfig)]
#[config(version = 3, upgrades = [host_became_server])]
pub struct SmtpConfig {
    pub server: String,
    pub port: u16,
}

fn main() {}
