//! Admin actions: methods marked #[action] (required or with a default body, under any path
//! of `Result`, `String` and `PluginError`), listed in the type's descriptor and run against
//! an instance; the attribute is gone from the trait items implement.

use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> Result<String, PluginError>;

    /// Asks the provider whether the credentials are accepted.
    #[action(label = "Test the connection")]
    fn check_connection(&self) -> std::result::Result<std::string::String, plugin_system::PluginError>;

    #[action(label = "Show the balance")]
    fn balance(&self) -> Result<String, PluginError> {
        Ok("no balance to show".to_owned())
    }
}

#[derive(Default)]
pub struct Cash;

#[plugin_item(name = "cash")]
impl Gateway for Cash {
    fn pay(&self, amount: u64) -> Result<String, PluginError> {
        Ok(format!("paid {amount}"))
    }

    fn check_connection(&self) -> Result<String, PluginError> {
        Ok("nothing to connect to".to_owned())
    }
}

fn main() {
    let info = <dyn Gateway as PluginType>::info();
    let actions: Vec<(&str, &str, &str)> = info
        .actions()
        .iter()
        .map(|action| (action.name(), action.label(), action.description()))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "check_connection",
                "Test the connection",
                "Asks the provider whether the credentials are accepted."
            ),
            ("balance", "Show the balance", ""),
        ]
    );
    let plugins = Plugins::builder().build().unwrap();
    let cash = plugins.get::<dyn Gateway>().unwrap();
    assert_eq!(cash.balance().unwrap(), "no balance to show");
    let outcome = plugins.run_action(cash.meta().id, "check_connection").unwrap();
    assert!(outcome.ok);
    assert_eq!(outcome.text, "nothing to connect to");
}
