use plugin_system::prelude::*;

#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    fn user_registered(&self, user: &str);
}

#[plugin_type(name = "order_confirmed")]
pub trait OrderConfirmed {
    fn order_confirmed(&self, order: u64);
}

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
}

#[derive(PluginConfig, Clone)]
pub struct ImapConfig {
    pub mailbox: String,
}

pub struct OrderEmails;

impl From<SmtpConfig> for OrderEmails {
    fn from(_: SmtpConfig) -> Self {
        OrderEmails
    }
}

#[plugin_item(name = "order_emails", config = SmtpConfig, also = [OrderConfirmed])]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, _: &str) {}
}

// One instance serves both types: it cannot be built from a second config.
#[plugin_item(also, config = ImapConfig)]
impl OrderConfirmed for OrderEmails {
    fn order_confirmed(&self, _: u64) {}
}

fn main() {}
