use plugin_system::prelude::*;

#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn mail(&self, text: &str) -> String;
}

/// Not a plugin type: no `#[plugin_type]`.
pub trait TemplateRenderer: Send + Sync {
    fn render(&self, text: &str) -> String;
}

pub struct TemplatedMails;

impl FromNeeds<NoConfig> for TemplatedMails {
    fn from_needs(_: NoConfig, _: &Needs<'_>) -> Result<Self, PluginError> {
        Ok(TemplatedMails)
    }
}

#[plugin_item(name = "templated", needs = [TemplateRenderer])]
impl Mailer for TemplatedMails {
    fn mail(&self, text: &str) -> String {
        text.to_owned()
    }
}

fn main() {}
