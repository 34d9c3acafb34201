#[test]
fn ui_plugin_config() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/plugin_config/*.rs");
    t.pass("pass/plugin_config_*.rs");
}
