use plugin_system::PluginConfig;

/// Takes the typed config instead of the stored values.
fn host_became_server(config: SmtpConfig) -> SmtpConfig {
    config
}

#[derive(PluginConfig)]
#[config(version = 2, upgrades = [host_became_server])]
pub struct SmtpConfig {
    pub server: String,
}

fn main() {}
