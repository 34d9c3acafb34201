//! Payment gateways for the demo shop: cash on delivery (no config), Stripe and PayPal
//! (configured by an operator, with secrets). They do not reach real providers: each returns
//! the reference a real call would.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use plugin_system::prelude::*;
use plugin_system::web::Routes;
use shop_contracts::{Order, PaymentGateway};

/// Pay the courier. Needs no config, so every sync keeps an ACTIVE instance of it.
#[derive(Default)]
pub struct CashOnDelivery;

/// No provider calls back.
impl Routes for CashOnDelivery {
    fn routes(&self) -> Router {
        Router::new()
    }
}

/// Cash, collected by the courier.
#[plugin_item(name = "cash_on_delivery", priority = 50)]
impl PaymentGateway for CashOnDelivery {
    fn charge(&self, order: &Order) -> Result<String, PluginError> {
        Ok(format!("cod-{}", order.id))
    }
}

/// Stripe credentials.
#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    /// Secret API key (`sk_live_...` or `sk_test_...`).
    #[config(secret, min_length = 8, pattern = "^sk_(live|test)_")]
    pub api_key: String,
    /// The API's address.
    #[config(url, default = "https://api.stripe.com")]
    pub endpoint: String,
    /// Settlement currency.
    #[config(choices("eur", "usd"), default = "eur")]
    pub currency: String,
    /// Seconds before a charge times out.
    #[config(default = 30, min = 1, max = 300)]
    pub timeout_secs: u32,
}

/// Stripe, configured from its config.
pub struct Stripe {
    config: StripeConfig,
}

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe { config }
    }
}

impl Stripe {
    fn mode(&self) -> &'static str {
        if self.config.api_key.starts_with("sk_live_") {
            "live"
        } else {
            "test"
        }
    }
}

/// Stripe calls `POST /webhook` with each event (simulated: the event's type is the body's
/// first line, and a real deployment would check the `Stripe-Signature` header against the
/// endpoint's signing secret). Each instance receives its own account's events.
impl Routes for Stripe {
    fn routes(&self) -> Router {
        let mode = self.mode();
        Router::new().route(
            "/webhook",
            post(move |headers: HeaderMap, body: String| async move {
                if !headers.contains_key("stripe-signature") {
                    return (
                        StatusCode::BAD_REQUEST,
                        "no Stripe-Signature header".to_owned(),
                    );
                }
                let event = body.lines().next().unwrap_or("").trim().to_owned();
                (StatusCode::OK, format!("received {event} ({mode} mode)"))
            }),
        )
    }
}

/// Cards through Stripe.
#[plugin_item(
    name = "stripe",
    config = StripeConfig,
    priority = 10,
    category = "cards",
    homepage = "https://docs.stripe.com/api"
)]
impl PaymentGateway for Stripe {
    fn charge(&self, order: &Order) -> Result<String, PluginError> {
        Ok(format!(
            "stripe-{}-{}-{}{}",
            self.mode(),
            order.id,
            order.amount_cents,
            self.config.currency
        ))
    }

    /// Simulated: Stripe accepts a key of the right shape. (A real check would ask
    /// `GET /v1/balance` with the key.)
    fn check_connection(&self) -> Result<String, PluginError> {
        let key = &self.config.api_key;
        let (mode, rest) = match (key.strip_prefix("sk_live_"), key.strip_prefix("sk_test_")) {
            (Some(rest), _) => ("live", rest),
            (_, Some(rest)) => ("test", rest),
            _ => {
                return Err(PluginError::new(
                    "Stripe refused the key: it is not a secret key (sk_live_... or sk_test_...)",
                ));
            }
        };
        if rest.len() < 12 || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(PluginError::new(format!(
                "Stripe refused the {mode} key: it is not a key Stripe issued (too short, or \
                 characters a Stripe key does not have)"
            )));
        }
        Ok(format!(
            "connected to {} in {mode} mode, settling in {}",
            self.config.endpoint,
            self.config.currency.to_uppercase()
        ))
    }
}

/// PayPal credentials.
#[derive(PluginConfig, Clone)]
pub struct PayPalConfig {
    /// The REST app's client id.
    #[config(min_length = 4)]
    pub client_id: String,
    /// The REST app's secret.
    #[config(secret, min_length = 8)]
    pub client_secret: String,
    /// Use the sandbox.
    pub sandbox: bool,
}

/// PayPal, configured from its config.
pub struct PayPal {
    config: PayPalConfig,
}

impl From<PayPalConfig> for PayPal {
    fn from(config: PayPalConfig) -> Self {
        PayPal { config }
    }
}

/// PayPal's webhooks are not simulated.
impl Routes for PayPal {
    fn routes(&self) -> Router {
        Router::new()
    }
}

/// PayPal checkout.
#[plugin_item(
    name = "paypal",
    config = PayPalConfig,
    priority = 20,
    category = "wallets",
    homepage = "https://developer.paypal.com/api/rest/"
)]
impl PaymentGateway for PayPal {
    fn charge(&self, order: &Order) -> Result<String, PluginError> {
        let place = if self.config.sandbox {
            "sandbox"
        } else {
            "live"
        };
        Ok(format!("paypal-{place}-{}", order.id))
    }

    /// Simulated: PayPal grants a token to a client id and secret it could have issued. (A
    /// real check would ask `POST /v1/oauth2/token`.)
    fn check_connection(&self) -> Result<String, PluginError> {
        let host = if self.config.sandbox {
            "api-m.sandbox.paypal.com"
        } else {
            "api-m.paypal.com"
        };
        if self.config.client_id.chars().any(char::is_whitespace) {
            return Err(PluginError::new(format!(
                "{host} refused the client id `{}`: a client id has no spaces",
                self.config.client_id
            )));
        }
        Ok(format!(
            "connected to {host} as client `{}`",
            self.config.client_id
        ))
    }
}
