//! Sub-types: `parent = Trait`, with or without the supertrait written out, and the items'
//! impls of the parent trait marked `via`.

use plugin_system::prelude::*;

#[plugin_type(name = "gateway")]
pub trait Gateway {
    fn pay(&self, amount: u64) -> String;
}

// The supertrait written out.
#[plugin_type(name = "card_gateway", parent = Gateway)]
pub trait CardGateway: Gateway {
    fn refund(&self, amount: u64) -> String;
}

// The supertrait added by the macro; a sub-type of a sub-type.
#[plugin_type(name = "debit_gateway", parent = CardGateway)]
pub trait DebitGateway {
    fn balance(&self) -> u64;
}

#[derive(Default)]
pub struct Maestro;

#[plugin_item(name = "maestro")]
impl DebitGateway for Maestro {
    fn balance(&self) -> u64 {
        7
    }
}

#[plugin_item(via = DebitGateway)]
impl CardGateway for Maestro {
    fn refund(&self, amount: u64) -> String {
        format!("refund {amount}")
    }
}

#[plugin_item(via = CardGateway)]
impl Gateway for Maestro {
    fn pay(&self, amount: u64) -> String {
        format!("pay {amount}")
    }
}

fn main() {
    let plugins = Plugins::builder().build().unwrap();
    // The default instance of the sub-sub-type's item serves all three types.
    assert_eq!(plugins.get::<dyn Gateway>().unwrap().pay(1), "pay 1");
    assert_eq!(plugins.get::<dyn CardGateway>().unwrap().refund(2), "refund 2");
    assert_eq!(plugins.get::<dyn DebitGateway>().unwrap().balance(), 7);
    let parent = <dyn DebitGateway as PluginType>::info().parent().unwrap();
    assert_eq!(parent.name(), "card_gateway");
}
