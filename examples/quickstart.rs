//! The README's first example: declare an extension point, ship two implementations, let the
//! store decide which one serves. Run it with `cargo run --example quickstart`.

// An example program: its items are public for the macros to register, not an API.
#![allow(missing_docs)]

use plugin_system::prelude::*;
use plugin_system::{Key, Status};

/// Payment gateways. (The doc comment becomes the type's description.)
#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    /// Charges `amount` cents; returns the payment's reference.
    fn create_payment(&self, amount: u64) -> Result<String, PluginError>;
}

/// Settings of one Stripe account.
#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    /// Secret API key.
    #[config(secret, min_length = 8)]
    pub api_key: String,
    /// Seconds before a request gives up.
    #[config(default = 30, min = 1, max = 300)]
    pub timeout_secs: u32,
    /// Test mode.
    pub sandbox: bool,
}

/// A Stripe account.
pub struct Stripe {
    config: StripeConfig,
}

impl FromConfig<StripeConfig> for Stripe {
    fn from_config(config: StripeConfig) -> Result<Self, PluginError> {
        if config.api_key.starts_with("sk_") {
            Ok(Stripe { config })
        } else {
            Err(PluginError::new("Stripe keys start with `sk_`"))
        }
    }
}

/// Card payments through Stripe.
#[plugin_item(name = "stripe", config = StripeConfig, priority = 10)]
impl PaymentGateway for Stripe {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        let mode = if self.config.sandbox { "test" } else { "live" };
        Ok(format!("stripe:{mode}:{amount}"))
    }
}

/// Pay on delivery.
#[derive(Default)]
pub struct CashOnDelivery;

/// Cash collected by the courier: needs no config, so sync gives it an ACTIVE instance.
#[plugin_item(name = "cash_on_delivery", priority = 50)]
impl PaymentGateway for CashOnDelivery {
    fn create_payment(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("cod:{amount}"))
    }
}

fn main() -> Result<(), plugin_system::Error> {
    // A fresh SQLite file for this run (a real app keeps one, or uses postgres:// or mysql://).
    let path = std::env::temp_dir().join(format!("plugin-quickstart-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    println!("database: {url}");

    // Configs are stored encrypted; a real app reads the key with `.key_from_env(..)`.
    let plugins = Plugins::builder()
        .database_url(&url) // migrate, sync the registry into it, load
        .keyring(Keyring::new(Key::generate()))
        .build()?;

    let chosen = plugins.get::<dyn PaymentGateway>()?;
    println!(
        "before any configuration: `{}` (item {}) -> {}",
        chosen.meta().name,
        chosen.meta().item,
        chosen
            .create_payment(1000)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| e)
    );

    let stripe = plugins.create_instance(
        NewInstance::of::<dyn PaymentGateway>("stripe", "Stripe Production").config(
            &StripeConfig {
                api_key: "sk_live_0123456789".into(),
                timeout_secs: 20,
                sandbox: false,
            },
        ),
    )?;
    let chosen = plugins.get::<dyn PaymentGateway>()?;
    println!(
        "after adding Stripe (priority {}): `{}` -> {}",
        stripe.priority,
        chosen.meta().name,
        chosen
            .create_payment(1000)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| e)
    );

    plugins.set_status(&[stripe.id], Status::Disabled)?;
    let chosen = plugins.get::<dyn PaymentGateway>()?;
    println!("after disabling Stripe: `{}`", chosen.meta().name);

    drop(plugins);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
