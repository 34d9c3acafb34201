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

#[plugin_item(name = "order_emails")]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, _: &str) {}
}

// `also`, but the item's registration does not list `OrderConfirmed`.
#[plugin_item(also)]
impl OrderConfirmed for OrderEmails {
    fn order_confirmed(&self, _: u64) {}
}

fn main() {}
