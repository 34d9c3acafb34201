//! Every `#[config(...)]` key and supported field type, through a renamed facade.

use plugin_system as renamed;
use plugin_system::PluginConfig;

/// Settings of a plugin that uses every option.
#[derive(PluginConfig, Clone)]
#[config(crate = renamed)]
pub struct Everything {
    /// Secret API key.
    #[config(secret, min_length = 8, max_length = 64)]
    pub api_key: String,
    #[config(default = 30, min = 1, max = 300, alias = "timeout", alias = "wait")]
    pub timeout_secs: u32,
    #[config(url, default = "https://api.example.com")]
    pub endpoint: String,
    #[config(email, label = "Contact", help = "Where alerts go.")]
    pub contact: Option<String>,
    #[config(choices("usd", "eur"), default = "usd")]
    pub currency: String,
    #[config(pattern = "^[A-Z]{3}$")]
    pub code: String,
    #[config(min = -1.5, max = 2.5)]
    pub ratio: f32,
    #[config(default = ["a", "b"])]
    pub tags: Vec<String>,
    pub sandbox: bool,
    pub retries: Option<i64>,
    pub size: usize,
}

fn main() {
    let _ = Everything::schema();
    let _ = Everything::json_schema();
}
