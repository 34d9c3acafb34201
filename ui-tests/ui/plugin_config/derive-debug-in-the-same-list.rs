use plugin_system::PluginConfig;

// A derive never sees the other derives of its own list, so this is rustc's conflicting-impls
// error (the `derive-debug-too` case shows the message when the derive can see it).
#[derive(PluginConfig, Debug)]
pub struct Config {
    #[config(secret)]
    pub api_key: String,
}

fn main() {}
