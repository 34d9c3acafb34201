use plugin_system::prelude::*;

#[plugin_type(name = "pool")]
pub trait Pool {
    fn size(&self) -> usize;
}

#[derive(Default)]
pub struct Connections;

// `lifecycle` runs start and stop hooks, which `Connections` does not have.
#[plugin_item(name = "connections", lifecycle)]
impl Pool for Connections {
    fn size(&self) -> usize {
        4
    }
}

fn main() {}
