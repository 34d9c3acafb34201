//! One-time-password providers for the demo shop. The shop fails over from the first to the
//! next when one is down; `simulate_outage` lets an operator see that happen.

use plugin_system::prelude::*;
use shop_contracts::OtpSender;

/// A provider's credentials.
#[derive(PluginConfig, Clone)]
pub struct ProviderConfig {
    /// The account or API key id.
    #[config(min_length = 2)]
    pub account: String,
    /// The API secret.
    #[config(secret, min_length = 8)]
    pub secret: String,
    /// Answer every request with "service unavailable" (to watch the failover).
    pub simulate_outage: bool,
}

/// One provider, named for its messages.
pub struct Provider {
    name: &'static str,
    config: ProviderConfig,
}

impl Provider {
    fn send(&self, phone: &str) -> Result<String, PluginError> {
        if self.config.simulate_outage {
            return Err(PluginError::new(format!(
                "{} is unavailable (503)",
                self.name
            )));
        }
        Ok(format!("{}-msg-to-{phone}", self.name))
    }
}

/// Twilio Verify.
pub struct Twilio(Provider);

impl From<ProviderConfig> for Twilio {
    fn from(config: ProviderConfig) -> Self {
        Twilio(Provider {
            name: "twilio",
            config,
        })
    }
}

/// Codes by SMS through Twilio.
#[plugin_item(name = "twilio", config = ProviderConfig, priority = 10)]
impl OtpSender for Twilio {
    fn send_code(&self, phone: &str, _code: &str) -> Result<String, PluginError> {
        self.0.send(phone)
    }
}

/// Vonage Verify.
pub struct Vonage(Provider);

impl From<ProviderConfig> for Vonage {
    fn from(config: ProviderConfig) -> Self {
        Vonage(Provider {
            name: "vonage",
            config,
        })
    }
}

/// Codes by SMS through Vonage.
#[plugin_item(name = "vonage", config = ProviderConfig, priority = 20)]
impl OtpSender for Vonage {
    fn send_code(&self, phone: &str, _code: &str) -> Result<String, PluginError> {
        self.0.send(phone)
    }
}
