use plugin_system::prelude::*;

#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn mail(&self, text: &str) -> String;
}

#[plugin_type(name = "template_renderer")]
pub trait TemplateRenderer {
    fn render(&self, text: &str) -> String;
}

// It needs a renderer, so it is built by `FromNeeds`, not `Default`.
#[derive(Default)]
pub struct TemplatedMails;

#[plugin_item(name = "templated", needs = [TemplateRenderer])]
impl Mailer for TemplatedMails {
    fn mail(&self, text: &str) -> String {
        text.to_owned()
    }
}

fn main() {}
