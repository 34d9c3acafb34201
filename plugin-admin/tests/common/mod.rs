//! What the admin's HTTP tests share: plugins to administer, and a client that drives the
//! router request by request (tower's `oneshot`), keeping the session cookie.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use plugin_admin::{Admin, Auth};
use plugin_system::prelude::*;
use plugin_system::{InstanceId, Key};
use tower::ServiceExt;

#[plugin_type(name = "payment_gateway")]
pub trait PaymentGateway {
    fn charge(&self, amount: u64) -> String;
}

#[derive(PluginConfig, Clone)]
pub struct StripeConfig {
    /// Secret API key (`sk_live_...` or `sk_test_...`).
    #[config(secret, min_length = 8, pattern = "^sk_")]
    pub api_key: String,
    /// The API's address.
    #[config(url, default = "https://api.stripe.com")]
    pub endpoint: String,
    #[config(choices("eur", "usd"), default = "eur")]
    pub currency: String,
    #[config(default = 30, min = 1, max = 300)]
    pub timeout_secs: u32,
    pub sandbox: bool,
}

pub struct Stripe(StripeConfig);

impl From<StripeConfig> for Stripe {
    fn from(config: StripeConfig) -> Self {
        Stripe(config)
    }
}

/// Cards through Stripe.
#[plugin_item(name = "stripe", config = StripeConfig, priority = 10, category = "cards")]
impl PaymentGateway for Stripe {
    fn charge(&self, amount: u64) -> String {
        format!("stripe:{amount}:{}", self.0.currency)
    }
}

#[derive(Default)]
pub struct Cash;

#[plugin_item(name = "cash", priority = 50)]
impl PaymentGateway for Cash {
    fn charge(&self, amount: u64) -> String {
        format!("cash:{amount}")
    }
}

pub const TOKEN: &str = "correct-horse-battery-staple";
pub const SECRET: &str = "sk_live_TOPSECRET_42";
pub const STRIPE: &str = "plugin-admin:payment_gateway/stripe";

pub struct Client {
    pub app: Router,
    pub plugins: Plugins,
    pub cookie: Option<String>,
    pub csrf: String,
    /// The address requests come from (what login throttling counts by).
    pub from: Option<SocketAddr>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub location: Option<String>,
    pub cookie: Option<String>,
    pub body: String,
}

pub fn plugins() -> Plugins {
    Plugins::builder()
        .keyring(Keyring::new(Key::generate()))
        .no_watch()
        .build()
        .unwrap()
}

impl Client {
    pub fn new() -> Client {
        Client::of(plugins(), |admin| admin)
    }

    /// The admin of `plugins`, as `configure` sets it up (mounted at /admin).
    pub fn of(plugins: Plugins, configure: impl FnOnce(Admin) -> Admin) -> Client {
        let admin = configure(
            Admin::new(plugins.clone(), Auth::token(TOKEN).unwrap()).mounted_at("/admin"),
        );
        Client {
            app: Router::new().nest("/admin", admin.router()),
            plugins,
            cookie: None,
            csrf: String::new(),
            from: None,
        }
    }

    pub async fn logged_in() -> Client {
        Client::new().log_in().await
    }

    pub async fn log_in(mut self) -> Client {
        let reply = self.post("/admin/login", &[("token", TOKEN)]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        self.cookie = reply
            .cookie
            .map(|cookie| cookie.split(';').next().unwrap().to_owned());
        let page = self.get("/admin").await;
        self.csrf = csrf_of(&page.body);
        self
    }

    pub async fn send(&self, mut request: Request<Body>) -> Reply {
        if let Some(from) = self.from {
            request.extensions_mut().insert(ConnectInfo(from));
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let header_text = |name| {
            headers
                .get(name)
                .map(|value: &header::HeaderValue| value.to_str().unwrap().to_owned())
        };
        let location = header_text(header::LOCATION);
        let cookie = header_text(header::SET_COOKIE);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            location,
            cookie,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = form
            .iter()
            .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
            .collect();
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body.join("&"))).unwrap())
            .await
    }

    /// A form post with this user's CSRF token.
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut with_token = vec![("csrf", self.csrf.as_str())];
        with_token.extend_from_slice(form);
        self.post(path, &with_token).await
    }

    /// The page a redirect leads to.
    pub async fn follow(&self, reply: &Reply) -> Reply {
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        self.get(reply.location.as_deref().unwrap()).await
    }

    pub async fn create_stripe(&self, name: &str, key: &str) -> Reply {
        self.submit(
            &format!("/admin/new/item?item={}", encode(STRIPE)),
            &[
                ("instance_name", name),
                ("instance_description", ""),
                ("instance_status", "active"),
                ("instance_priority", "10"),
                ("instance_scope", ""),
                ("config.api_key", key),
                ("config.endpoint", "https://api.stripe.com"),
                ("config.currency", "usd"),
                ("config.timeout_secs", "30"),
                ("config.sandbox", "false"),
            ],
        )
        .await
    }

    /// The id of the instance named `name`.
    pub fn id_of(&self, name: &str) -> InstanceId {
        self.plugins
            .instances(&plugin_system::InstanceQuery {
                search: Some(name.to_owned()),
                limit: usize::MAX,
                ..Default::default()
            })
            .rows
            .into_iter()
            .find(|row| row.meta.name == name)
            .unwrap_or_else(|| panic!("no instance named {name}"))
            .meta
            .id
    }
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub fn csrf_of(html: &str) -> String {
    input_value(html, "csrf").expect("a CSRF input")
}

/// The value of the first input named `name` in a page (as maud writes inputs:
/// `name="…" value="…"`).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next().unwrap().to_owned())
}

/// Every form field of the page's form `id` as a browser would send it: inputs with a value
/// (checkboxes only when checked), the selected option of each select, and textareas.
pub fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html.find(&format!(r#"id="{id}""#)).expect("the form");
    let end = start + html[start..].find("</form>").unwrap();
    let form = &html[start..end];
    let mut fields = Vec::new();
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!(r#" {name}=""#);
        let at = tag.find(&marker)? + marker.len();
        Some(tag[at..].split('"').next().unwrap().to_owned())
    };
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let close = rest.find('>').unwrap();
        let tag = &rest[..close];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_default();
            let checked = tag.contains(" checked");
            if let Some(name) = attr(tag, "name")
                && (kind != "checkbox" || checked)
            {
                fields.push((name, unescape(&attr(tag, "value").unwrap_or_default())));
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[..rest.find("</select>").unwrap()];
            let chosen = body
                .split("<option")
                .skip(1)
                .find(|option| option.contains(" selected"))
                .or_else(|| body.split("<option").nth(1))
                .and_then(|option| attr(option, "value"))
                .unwrap_or_default();
            fields.push((name, unescape(&chosen)));
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let text = &rest[close + 1..rest.find("</textarea>").unwrap()];
            fields.push((name, unescape(text)));
        }
        rest = &rest[1..];
    }
    fields
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The form `fields` with `changes` applied (a field is replaced, or added).
pub fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = fields.to_vec();
    for (name, value) in changes {
        match fields.iter_mut().find(|(key, _)| key == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    fields
}

pub fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

/// How many times `needle` occurs in `haystack`.
pub fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}
