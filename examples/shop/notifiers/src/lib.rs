//! Notifiers for the demo shop: email and SMS (configured), push (no config). The shop
//! broadcasts to every ACTIVE one. Deliveries are simulated: each returns its reference.

use plugin_system::prelude::*;
use shop_contracts::Notifier;

/// SMTP settings.
#[derive(PluginConfig, Clone)]
pub struct EmailConfig {
    /// The SMTP server.
    #[config(min_length = 1)]
    pub smtp_host: String,
    /// The sender address.
    #[config(email)]
    pub from: String,
    /// The SMTP password.
    #[config(secret)]
    pub password: String,
}

/// Email through SMTP.
pub struct Email {
    config: EmailConfig,
}

impl From<EmailConfig> for Email {
    fn from(config: EmailConfig) -> Self {
        Email { config }
    }
}

/// Order updates by email.
#[plugin_item(name = "email", config = EmailConfig, priority = 10, category = "messages")]
impl Notifier for Email {
    fn notify(&self, customer: &str, message: &str) -> Result<String, PluginError> {
        Ok(format!(
            "email from {} via {} to {customer}: {message}",
            self.config.from, self.config.smtp_host
        ))
    }
}

/// SMS gateway settings.
#[derive(PluginConfig, Clone)]
pub struct SmsConfig {
    /// The account.
    pub account: String,
    /// The API token.
    #[config(secret, min_length = 8)]
    pub token: String,
    /// The sender number, in international form.
    #[config(pattern = "^\\+[0-9]{6,15}$")]
    pub sender: String,
}

/// SMS through a gateway.
pub struct Sms {
    config: SmsConfig,
}

impl From<SmsConfig> for Sms {
    fn from(config: SmsConfig) -> Self {
        Sms { config }
    }
}

/// Order updates by SMS.
#[plugin_item(name = "sms", config = SmsConfig, priority = 20, category = "messages")]
impl Notifier for Sms {
    fn notify(&self, customer: &str, message: &str) -> Result<String, PluginError> {
        Ok(format!(
            "sms from {} to {customer}: {message}",
            self.config.sender
        ))
    }
}

/// Push notifications to the shop's app. Needs no config.
#[derive(Default)]
pub struct Push;

/// Order updates in the shop's mobile app.
#[plugin_item(name = "push", priority = 30, category = "apps")]
impl Notifier for Push {
    fn notify(&self, customer: &str, message: &str) -> Result<String, PluginError> {
        Ok(format!("push to {customer}: {message}"))
    }
}
