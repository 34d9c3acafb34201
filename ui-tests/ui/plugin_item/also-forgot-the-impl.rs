use plugin_system::prelude::*;

#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    fn user_registered(&self, user: &str);
}

#[plugin_type(name = "order_confirmed")]
pub trait OrderConfirmed {
    fn order_confirmed(&self, order: u64);
}

#[derive(Default)]
pub struct OrderEmails;

// Declares a second extension point, but no impl of `OrderConfirmed` is registered.
#[plugin_item(name = "order_emails", also = [OrderConfirmed])]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, _: &str) {}
}

fn main() {}
