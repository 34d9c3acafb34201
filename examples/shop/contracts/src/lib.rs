//! The demo shop's extension points. Plugin crates implement them; the shop asks for them.

use plugin_system::prelude::*;
use plugin_system::web::Routes;

/// An order to pay.
#[derive(Debug, Clone)]
pub struct Order {
    /// The shop's order number.
    pub id: u64,
    /// The amount, in cents.
    pub amount_cents: u64,
}

/// Takes the customer's money. The shop charges through the selected gateway. Each instance
/// serves its own routes (its provider's webhooks) under
/// `/plugins/payment_gateway/{item}/{instance id}/`.
#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway: Routes {
    /// Charges the order; returns the payment's reference.
    fn charge(&self, order: &Order) -> Result<String, PluginError>;

    /// Asks the provider whether this instance's credentials are accepted, without charging
    /// anything. Says where it connected and in which mode; never a secret.
    #[action(label = "Test the connection")]
    fn check_connection(&self) -> Result<String, PluginError> {
        Ok("nothing to connect to: this gateway talks to no provider".to_owned())
    }
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

/// Renders the texts the shop sends (`{name}` and `{order}` filled in). Other plugins use it
/// through `needs = [TemplateRenderer]`.
#[plugin_type(name = "template_renderer")]
pub trait TemplateRenderer {
    /// `template` with its placeholders filled from `values` (`(placeholder, value)` pairs).
    fn render(&self, template: &str, values: &[(&str, &str)]) -> String;
}

/// Told when a customer registers. The shop calls every ACTIVE one.
#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    /// `customer` has just registered; returns what was done (a delivery reference).
    fn user_registered(&self, customer: &str) -> Result<String, PluginError>;
}

/// A banner on the storefront, above the products: every ACTIVE one, in selection order
/// (cached until an operator edits it).
#[plugin_type(name = "storefront_banner")]
pub trait StorefrontBanner {
    /// The banner's markup.
    fn banner(&self) -> Result<maud::Markup, PluginError>;
}

/// Told when an order is paid. The shop calls every ACTIVE one.
#[plugin_type(name = "order_confirmed")]
pub trait OrderConfirmed {
    /// `order` of `customer` is paid; returns what was done (a delivery reference).
    fn order_confirmed(&self, order: &Order, customer: &str) -> Result<String, PluginError>;
}
