use std::collections::HashMap;

use plugin_system::PluginConfig;

#[derive(PluginConfig)]
pub struct Config {
    pub name: String,
    pub headers: HashMap<String, String>,
}

fn main() {}
