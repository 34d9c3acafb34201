//! A plugin type that adds nothing to a supertrait takes its contract from it: items
//! implement the supertrait's methods (how `plugin_system::web::RequestHook` is used).

use plugin_system::prelude::*;

/// Not a plugin type: a contract several plugin types share.
pub trait Audited {
    fn audit(&self, event: &str) -> String;
}

#[plugin_type(name = "audit_sink")]
pub trait AuditSink: Audited {}

#[derive(Default)]
pub struct Stdout;

impl Audited for Stdout {
    fn audit(&self, event: &str) -> String {
        format!("audit: {event}")
    }
}

#[plugin_item(name = "stdout")]
impl AuditSink for Stdout {}

fn main() {
    let plugins = Plugins::builder().build().unwrap();
    let sink = plugins.get::<dyn AuditSink>().unwrap();
    assert_eq!(sink.audit("login"), "audit: login");
}
