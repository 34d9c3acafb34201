use plugin_system::PluginConfig;
use plugin_system::config::ConfigValues;

fn host_became_server(values: ConfigValues) -> Result<ConfigValues, String> {
    Ok(values)
}

fn port_became_a_number(values: ConfigValues) -> Result<ConfigValues, String> {
    Ok(values)
}

/// Version 2 has one older version, but two upgrades are listed.
#[derive(PluginConfig)]
#[config(version = 2, upgrades = [host_became_server, port_became_a_number])]
pub struct SmtpConfig {
    pub server: String,
    pub port: u16,
}

fn main() {}
