use plugin_system::prelude::*;

#[plugin_type(name = "user_registered")]
pub trait UserRegistered {
    fn user_registered(&self, user: &str);
}

pub trait Audited {
    fn audit(&self);
}

#[derive(Default)]
pub struct OrderEmails;

#[plugin_item(name = "order_emails", also = [Audited])]
impl UserRegistered for OrderEmails {
    fn user_registered(&self, _: &str) {}
}

impl Audited for OrderEmails {
    fn audit(&self) {}
}

fn main() {}
