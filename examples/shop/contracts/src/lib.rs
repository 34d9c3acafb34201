//! The demo shop's extension points. Plugin crates implement them; the shop asks for them.

use plugin_system::prelude::*;

/// An order to pay.
#[derive(Debug, Clone)]
pub struct Order {
    /// The shop's order number.
    pub id: u64,
    /// The amount, in cents.
    pub amount_cents: u64,
}

/// Takes the customer's money. The shop charges through the selected gateway.
#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    /// Charges the order; returns the payment's reference.
    fn charge(&self, order: &Order) -> Result<String, PluginError>;
}

/// Tells a customer about their order. The shop notifies through every ACTIVE notifier.
#[plugin_type(name = "notifier")]
pub trait Notifier {
    /// Sends `message` to `customer`; returns a delivery reference.
    fn notify(&self, customer: &str, message: &str) -> Result<String, PluginError>;
}

/// Sends one-time passwords. The shop fails over from one provider to the next.
#[plugin_type(name = "otp_sender")]
pub trait OtpSender {
    /// Sends `code` to `phone`; returns the provider's message id.
    fn send_code(&self, phone: &str, code: &str) -> Result<String, PluginError>;
}
