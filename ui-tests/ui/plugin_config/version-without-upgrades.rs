use plugin_system::PluginConfig;

/// Version 2, and no way to read the rows version 1 stored.
#[derive(PluginConfig)]
#[config(version = 2)]
pub struct SmtpConfig {
    pub server: String,
}

fn main() {}
