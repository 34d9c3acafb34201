//! A plugin type with async methods, through #[async_trait].

use async_trait::async_trait;
use plugin_system::prelude::*;

#[plugin_type(name = "mailer")]
#[async_trait]
pub trait Mailer {
    async fn send(&self, to: &str, body: &str) -> Result<u32, PluginError>;
}

#[derive(Default)]
pub struct Smtp;

#[plugin_item(name = "smtp")]
#[async_trait]
impl Mailer for Smtp {
    async fn send(&self, _to: &str, body: &str) -> Result<u32, PluginError> {
        Ok(body.len() as u32)
    }
}

fn main() {
    let plugins = Plugins::builder().build().unwrap();
    let mailer = plugins.get::<dyn Mailer>().unwrap();
    // The future is Send, so it can be spawned on any runtime.
    fn assert_send<F: Send>(_: &F) {}
    let future = mailer.send("ops@example.com", "hello");
    assert_send(&future);
}
