//! Start and stop hooks (blocking and async) and one item serving several plugin types.
use std::time::Duration;

use plugin_system::prelude::*;

#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    fn user_registered(&self, user: &str) -> String;
}

#[plugin_type(name = "order_confirmed")]
pub trait OrderConfirmed {
    fn order_confirmed(&self, order: u64) -> String;
}

#[plugin_type(name = "order_shipped")]
pub trait OrderShipped {
    fn order_shipped(&self, order: u64) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
}

pub struct OrderEmails {
    host: String,
}

impl From<SmtpConfig> for OrderEmails {
    fn from(config: SmtpConfig) -> Self {
        OrderEmails { host: config.host }
    }
}

impl Lifecycle for OrderEmails {
    const START_DEADLINE: Duration = Duration::from_secs(5);

    fn start(&self) -> Result<(), PluginError> {
        Ok(())
    }

    fn stop(&self) {}
}

// Three extension points, one config, one instance; the `also` impls may repeat the config.
#[plugin_item(
    name = "order_emails",
    config = SmtpConfig,
    also = [OrderConfirmed, OrderShipped],
    lifecycle
)]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, user: &str) -> String {
        format!("{user}@{}", self.host)
    }
}

#[plugin_item(also, config = SmtpConfig)]
impl OrderConfirmed for OrderEmails {
    fn order_confirmed(&self, order: u64) -> String {
        format!("{order}@{}", self.host)
    }
}

#[plugin_item(also)]
impl OrderShipped for OrderEmails {
    fn order_shipped(&self, order: u64) -> String {
        format!("shipped {order}@{}", self.host)
    }
}

/// Async hooks, with the defaults for what it does not write.
#[derive(Default)]
pub struct Webhooks;

impl AsyncLifecycle for Webhooks {
    async fn start(&self) -> Result<(), PluginError> {
        Ok(())
    }
}

#[plugin_item(name = "webhooks", async_lifecycle)]
impl OrderShipped for Webhooks {
    fn order_shipped(&self, order: u64) -> String {
        format!("POST {order}")
    }
}

fn main() {
    let plugins = Plugins::builder()
        .keyring(Keyring::new(plugin_system::Key::generate()))
        .build()
        .unwrap();
    plugins
        .create_instance(
            NewInstance::of::<dyn UserRegistered>("order_emails", "Order e-mails")
                .config(&SmtpConfig { host: "smtp.example.com".into() }),
        )
        .unwrap();
    assert_eq!(
        plugins.get::<dyn OrderConfirmed>().unwrap().order_confirmed(7),
        "7@smtp.example.com"
    );
    assert_eq!(plugins.active::<dyn OrderShipped>().len(), 2);
    assert!(plugins.shutdown(Duration::from_secs(5)).is_clean());
}
