//! Notifiers for the demo shop: email and SMS (configured), push (no config), which the shop
//! broadcasts to; the customer e-mails, one plugin answering two hooks through a template
//! renderer it needs and an SMTP pool it opens when it starts; and announcements, banners on
//! the storefront. Deliveries are simulated: each returns its reference.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use plugin_system::prelude::*;
use shop_contracts::{
    Notifier, Order, OrderConfirmed, StorefrontBanner, TemplateRenderer, UserRegistered,
};

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

/// How the shop's texts end.
#[derive(PluginConfig, Clone)]
pub struct TemplatesConfig {
    /// Put after every text.
    #[config(default = "The demo shop")]
    pub signature: String,
}

/// Fills `{placeholder}`s in and signs.
pub struct Placeholders {
    config: TemplatesConfig,
}

impl From<TemplatesConfig> for Placeholders {
    fn from(config: TemplatesConfig) -> Self {
        Placeholders { config }
    }
}

/// Fills `{name}`-style placeholders in the shop's texts and signs them.
#[plugin_item(name = "placeholders", config = TemplatesConfig, category = "templates")]
impl TemplateRenderer for Placeholders {
    fn render(&self, template: &str, values: &[(&str, &str)]) -> String {
        let text = values
            .iter()
            .fold(template.to_owned(), |text, (placeholder, value)| {
                text.replace(&format!("{{{placeholder}}}"), value)
            });
        format!("{text} ({})", self.config.signature)
    }
}

/// A pool of SMTP connections (simulated: it only counts what it sends, and knows whether it
/// is open).
#[derive(Debug, Default)]
pub struct SmtpPool {
    open: AtomicBool,
    sent: AtomicU64,
}

impl SmtpPool {
    /// Sends one message through the pool; its reference.
    fn send(&self, host: &str, to: &str, body: &str) -> Result<String, PluginError> {
        if !self.open.load(Ordering::Acquire) {
            return Err(PluginError::new("the SMTP pool is closed"));
        }
        let number = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        Ok(format!("e-mail #{number} via {host} to {to}: {body}"))
    }
}

/// The customer e-mails' own text.
pub struct CustomerEmails {
    config: EmailConfig,
    renderer: Plugin<dyn TemplateRenderer>,
    pool: SmtpPool,
}

/// Built from the SMTP settings and the renderer it needs (resolved in its own scope).
impl FromNeeds<EmailConfig> for CustomerEmails {
    fn from_needs(config: EmailConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(CustomerEmails {
            config,
            renderer: needs.get::<dyn TemplateRenderer>()?,
            pool: SmtpPool::default(),
        })
    }
}

/// The pool opens before the instance is served and closes after it is retired.
impl Lifecycle for CustomerEmails {
    const START_DEADLINE: Duration = Duration::from_secs(10);

    fn start(&self) -> Result<(), PluginError> {
        self.pool.open.store(true, Ordering::Release);
        Ok(())
    }

    fn stop(&self) {
        self.pool.open.store(false, Ordering::Release);
    }
}

/// Welcome and order e-mails, from one SMTP account.
#[plugin_item(
    name = "customer_emails",
    config = EmailConfig,
    needs = [TemplateRenderer],
    also = [OrderConfirmed],
    lifecycle,
    category = "messages"
)]
impl UserRegistered for CustomerEmails {
    fn user_registered(&self, customer: &str) -> Result<String, PluginError> {
        let body = self
            .renderer
            .render("Welcome to the shop, {name}!", &[("name", customer)]);
        self.pool.send(&self.config.smtp_host, customer, &body)
    }
}

#[plugin_item(also)]
impl OrderConfirmed for CustomerEmails {
    fn order_confirmed(&self, order: &Order, customer: &str) -> Result<String, PluginError> {
        let body = self.renderer.render(
            "Order {order} is paid: thank you, {name}.",
            &[("order", &order.id.to_string()), ("name", customer)],
        );
        self.pool.send(&self.config.smtp_host, customer, &body)
    }
}

/// What a storefront announcement says. Version 2 of its shape: version 1 kept the whole
/// banner in one `message`; version 2 shows its headline in bold, so it has a field of its own.
#[derive(PluginConfig, Clone)]
#[config(version = 2, upgrades = [headline_split_off])]
pub struct AnnouncementConfig {
    /// The headline, in bold.
    #[config(min_length = 1, max_length = 80)]
    pub headline: String,
    /// The text after it.
    #[config(max_length = 200, default = "")]
    pub text: String,
}

/// Version 1 → 2: the headline is the `message` up to its first colon (included), the text
/// the rest; a message without a colon is all headline.
fn headline_split_off(
    mut values: plugin_system::config::ConfigValues,
) -> Result<plugin_system::config::ConfigValues, String> {
    let Some(message) = values.remove("message") else {
        return Ok(values);
    };
    let message = message.as_str().ok_or("`message` is not text")?;
    let (headline, text) = match message.split_once(':') {
        Some((headline, text)) => (format!("{headline}:"), text.trim().to_owned()),
        None => (message.to_owned(), String::new()),
    };
    values.insert("headline".into(), headline.into());
    values.insert("text".into(), text.into());
    Ok(values)
}

/// An announcement on the storefront.
pub struct Announcement {
    config: AnnouncementConfig,
}

impl From<AnnouncementConfig> for Announcement {
    fn from(config: AnnouncementConfig) -> Self {
        Announcement { config }
    }
}

/// A banner with a headline and a line of text, above the shop's products.
#[plugin_item(name = "announcement", config = AnnouncementConfig, category = "storefront")]
impl StorefrontBanner for Announcement {
    fn banner(&self) -> Result<maud::Markup, PluginError> {
        Ok(maud::html! {
            p.banner { strong { (self.config.headline) } " " (self.config.text) }
        })
    }
}
