use plugin_system::prelude::*;

#[plugin_type(name = "pool")]
pub trait Pool {
    fn size(&self) -> usize;
}

#[derive(Default)]
pub struct Connections;

impl Lifecycle for Connections {}

#[plugin_item(name = "connections", lifecycle, async_lifecycle)]
impl Pool for Connections {
    fn size(&self) -> usize {
        4
    }
}

fn main() {}
