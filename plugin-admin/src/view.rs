//! The page around every view: title, navigation, the flash message, the stylesheet (served
//! as a file: the content security policy allows no inline style). maud escapes every value
//! it renders; nothing here writes raw HTML from data.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

use crate::AdminState;
use crate::auth::{Flash, User};

const STYLE: &str = "
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 0; color: #1d232a; line-height: 1.4; }
header { background: #1d3557; color: #fff; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .3rem 1.1rem; align-items: center; }
header a, header button { color: #fff; text-decoration: none; background: none; border: 0; font: inherit; cursor: pointer; padding: .2rem 0; }
header a:hover, header button:hover { text-decoration: underline; }
header strong { margin-right: auto; }
header .user { color: #c9d6e8; }
main { padding: 1rem; max-width: 100%; }
h1 { font-size: 1.5rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.15rem; margin: 1.2rem 0 .4rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; color: #3b4652; }
a { color: #1f5fa8; }
code { font-family: ui-monospace, monospace; font-size: .92em; background: #f2f4f7; padding: 0 .2em; border-radius: 3px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border-bottom: 1px solid #d8dee4; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; white-space: nowrap; }
th a { color: inherit; }
.scroll { max-width: 100%; overflow-x: auto; }
.flash { border: 1px solid; padding: .5rem .8rem; margin: 0 0 .8rem; border-radius: 4px; }
.flash-done { background: #e7f5e9; border-color: #9bd3a3; }
.flash-error { background: #fdecea; border-color: #f1aeb5; color: #8a1c12; }
.error, .errors { color: #b42318; }
.errors { margin: .2rem 0; padding-left: 1.2rem; }
.summary { background: #fdecea; border: 1px solid #f1aeb5; padding: .5rem .8rem; border-radius: 4px; margin-bottom: .8rem; }
.summary ul { margin: .3rem 0 0; padding-left: 1.2rem; }
.fails { color: #b42318; font-size: .9em; }
.field { margin: .7rem 0; }
.field label { display: block; font-weight: 600; }
.field input[type=text], .field input[type=url], .field input[type=email], .field input[type=password], .field input[type=search], .field select, .field textarea { width: 28rem; max-width: 100%; }
.help { color: #5b6776; font-size: .9em; }
fieldset { border: 1px solid #d8dee4; border-radius: 4px; margin: .8rem 0; max-width: 40rem; min-width: 0; }
input, select, button, textarea { font: inherit; max-width: 100%; }
input[type=number] { width: 6em; }
button, .button { padding: .25rem .7rem; border: 1px solid #8894a3; border-radius: 4px; background: #f7f8fa; color: #1d232a; cursor: pointer; text-decoration: none; display: inline-block; }
button.primary { background: #1d3557; color: #fff; border-color: #1d3557; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.danger, .button.danger { background: #b42318; color: #fff; border-color: #b42318; }
.filters { display: flex; gap: .5rem .8rem; flex-wrap: wrap; align-items: end; margin-bottom: .6rem; }
.filters label { display: flex; flex-direction: column; font-size: .9em; }
.filters label.check { flex-direction: row; align-items: center; gap: .3rem; align-self: center; }
.toolbar { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: .4rem 0; }
.count { color: #3b4652; }
.pager { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin: .6rem 0; }
.badge { display: inline-block; font-size: .78em; padding: 0 .45em; border-radius: 9px; background: #e3e8ef; color: #1d232a; white-space: nowrap; }
.badge-serving { background: #1e7d32; color: #fff; }
.badge-category { background: #eef2ff; color: #2f3f86; }
.badge-managed { background: #fff4e5; color: #7a4100; border: 1px solid #f0c283; }
.notice { background: #eef4fb; border: 1px solid #a9c4e4; padding: .5rem .8rem; border-radius: 4px; margin: 0 0 .8rem; max-width: 48rem; }
.notice p { margin: 0 0 .5rem; }
fieldset:disabled { background: #f7f8fa; }
form.switch { display: flex; flex-wrap: wrap; gap: .3rem; }
.url { overflow-wrap: anywhere; }
table.items-table { table-layout: fixed; }
table.items-table td { overflow-wrap: anywhere; }
table.items-table th:nth-child(1) { width: 22%; }
table.items-table th:nth-child(2) { width: 11%; }
table.items-table th:nth-child(3) { width: 22%; }
table.items-table th:nth-child(4) { width: 18%; }
tr.muted td { color: #7a8591; background: #fafafa; }
tr.muted td a { color: #62788f; }
.quick { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; }
.diff td, .diff th { font-size: .95em; }
.items { list-style: none; padding: 0; margin: 0; }
.items li { padding: .3rem 0; border-bottom: 1px solid #eef0f3; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 700px) {
  main { padding: .7rem; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards thead { display: none; }
  table.cards tr { border: 1px solid #d8dee4; border-radius: 4px; margin-bottom: .6rem; padding: .3rem .5rem; }
  table.cards td { border: 0; padding: .2rem 0; overflow-wrap: anywhere; }
  table.cards td[data-label]::before { content: attr(data-label) ': '; font-weight: 600; color: #5b6776; }
  table.cards td:empty { display: none; }
  .field input[type=text], .field select, .field textarea { width: 100%; }
}
";

/// The stylesheet (public: it holds no data), cached for an hour.
pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

/// A whole page. `user` adds the navigation (and the log-out form with its CSRF token).
pub(crate) fn page(
    state: &AdminState,
    user: Option<&User>,
    title: &str,
    flash: Option<&Flash>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · plugins admin" }
                link rel="stylesheet" href=(state.path("/admin.css"));
            }
            body {
                header {
                    strong { "Plugins admin" }
                    @if let Some(user) = user {
                        nav.toolbar aria-label="Admin" {
                            a href=(state.path("/")) { "Types" }
                            a href=(state.path("/items")) { "Items" }
                            a href=(state.path("/instances")) { "Instances" }
                            a href=(state.path("/tenants")) { "Tenants" }
                            a href=(state.path("/new")) { "New instance" }
                            a href=(state.path("/audit")) { "Audit" }
                            span.user { (user.name) }
                            @if user.can_log_out {
                                form method="post" action=(state.path("/logout")) {
                                    (csrf(user))
                                    button type="submit" { "Log out" }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @match flash {
                        Some(Flash::Done(text)) => div.flash.flash-done role="status" { (crate::text::rich(text)) },
                        Some(Flash::Refused(text)) => div.flash.flash-error role="alert" { (crate::text::rich(text)) },
                        None => {},
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

/// "Showing 51–100 of 10,000" with previous and next links (`link(offset)` makes each).
pub(crate) fn pager(
    offset: usize,
    shown: usize,
    total: usize,
    limit: usize,
    link: impl Fn(usize) -> String,
) -> Markup {
    let last = total.saturating_sub(1) / limit.max(1) * limit.max(1);
    html! {
        nav.pager aria-label="Pages" {
            span.count {
                @if total == 0 { "Nothing to show" }
                @else { "Showing " (crate::text::count(offset + 1)) "–" (crate::text::count(offset + shown)) " of " (crate::text::count(total)) }
            }
            @if offset > 0 {
                a href=(link(0)) rel="first" { "« First" }
                a href=(link(offset.saturating_sub(limit))) rel="prev" { "‹ Previous" }
            }
            @if offset + shown < total {
                a href=(link(offset + limit)) rel="next" { "Next ›" }
                a href=(link(last)) rel="last" { "Last »" }
            }
        }
    }
}
