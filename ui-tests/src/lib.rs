//! Compile-time contracts of plugin-system; see `tests/compiletest.rs`.
//!
//! The library is one more contract: what the macros generate passes the lints a strict crate
//! denies, in a library, where they apply (built by every `cargo test -p ui-tests`).
#![deny(missing_docs, missing_debug_implementations, unused_qualifications)]

use plugin_system::prelude::*;

/// Payment gateways.
#[plugin_type(name = "gateway")]
pub trait Gateway {
    /// Pays `amount`.
    fn pay(&self, amount: u64) -> String;
}

/// The settings of [`Stripe`].
#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    /// Secret API key.
    #[config(secret)]
    pub api_key: String,
    /// The port to connect to.
    #[config(default = 443)]
    pub port: u16,
}

/// A configurable gateway.
#[derive(Debug)]
pub struct Stripe {
    config: StripeConfig,
}

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe { config }
    }
}

#[plugin_item(name = "stripe", config = StripeConfig)]
impl Gateway for Stripe {
    fn pay(&self, amount: u64) -> String {
        format!("stripe:{} {amount}", self.config.port)
    }
}

/// A gateway without settings.
#[derive(Debug, Default)]
pub struct Paypal;

#[plugin_item(name = "paypal")]
impl Gateway for Paypal {
    fn pay(&self, amount: u64) -> String {
        format!("paypal {amount}")
    }
}
