//! The page around every view: title, navigation, notices, a little CSS. (maud escapes every
//! value it renders; nothing here writes raw HTML from data.)

use maud::{DOCTYPE, Markup, html};

use crate::AdminState;
use crate::auth::User;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0; color: #1d232a; }
header { background: #1d3557; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.2rem; align-items: center; }
header a, header button { color: #fff; text-decoration: none; background: none; border: 0; font: inherit; cursor: pointer; }
header strong { margin-right: auto; }
main { padding: 1rem 1.2rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border-bottom: 1px solid #d8dee4; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
.notice { background: #e7f5e9; border: 1px solid #9bd3a3; padding: .5rem .8rem; }
.error, .errors { color: #b42318; }
.fails { color: #b42318; font-size: .9em; }
.field { margin: .6rem 0; }
.field label { display: block; font-weight: 600; }
.help { color: #5b6776; font-size: .9em; }
form.inline { display: inline; }
input[type=number] { width: 6em; }
.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; }
";

/// A whole page. `user` adds the navigation (and the log-out form with its CSRF token).
pub(crate) fn page(
    state: &AdminState,
    user: Option<&User>,
    title: &str,
    notice: Option<&str>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · plugins admin" }
                style { (STYLE) }
            }
            body {
                header {
                    strong { "Plugins admin" }
                    @if let Some(user) = user {
                        a href=(state.path("/")) { "Types" }
                        a href=(state.path("/instances")) { "Instances" }
                        a href=(state.path("/new")) { "New instance" }
                        a href=(state.path("/audit")) { "Audit" }
                        span { (user.name) }
                        @if user.session.is_some() {
                            form.inline method="post" action=(state.path("/logout")) {
                                input type="hidden" name="csrf" value=(user.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(notice) = notice {
                        p.notice role="status" { (notice) }
                    }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF input every state-changing form carries.
pub(crate) fn csrf(user: &User) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}
