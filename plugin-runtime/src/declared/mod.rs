//! Declared instances: plugin instances written in a TOML file that operators review and
//! apply from CI, the way infrastructure is declared (Terraform, decK), instead of clicked in
//! the admin.
//!
//! A file lists the instances that should exist; their secrets are *referenced*
//! (`{ env = "STRIPE_KEY" }`, `{ file = "/run/secrets/stripe" }`, see
//! [`SecretRef`](crate::config::SecretRef)), never written in the file:
//!
//! ```toml
//! # plugins.toml
//! [[instance]]
//! item = "shop:payment_gateway/stripe"   # NAMESPACE:TYPE/ITEM, in full
//! name = "Stripe (EU)"
//! scope = "acme"            # optional: the tenant; absent = global
//! status = "active"         # optional: active | reserved | disabled (default active)
//! priority = 10             # optional: default = the item's priority (new instances)
//! description = "..."       # optional, default ""
//! [instance.config]          # optional when the item takes no config or every field has a default
//! api_key = { env = "STRIPE_KEY" }          # secret fields: a reference only
//! webhook_secret = { file = "/run/secrets/stripe_webhook" }
//! timeout_secs = 30
//! ```
//!
//! This module is pure: no database, no [`Plugins`](crate::Plugins) handle. It
//! - reads and checks a file ([`DeclaredFile::parse`]), reporting every problem at its line
//!   (`plugins.toml:12: ...`);
//! - compares it with the stored instances ([`plan()`]), giving the steps that would make the
//!   store match, printable as a review (`+ create`, `~ update`, `- delete`);
//! - writes the stored instances back as a file ([`export()`]), secrets as references;
//! - describes the file as a JSON Schema ([`file_json_schema`]) so editors check it as it is
//!   typed (taplo / "Even Better TOML": put `#:schema ./plugins.schema.json` on the first line).
//!
//! Applying a plan (writing, marking instances as managed by a file) is the caller's.
//!
//! Only TOML is read: YAML is out of scope, for want of a well-kept YAML crate that reports
//! where each value is (every error here names its line).

mod error;
mod export;
mod file;
mod plan;
mod schema;
#[cfg(test)]
mod test_registry;
mod value;

pub use error::{FileError, FileErrors};
pub use export::{export, export_at};
pub use file::{DeclaredFile, DeclaredInstance};
pub use plan::{Change, Plan, PlanCounts, Prune, Step, plan};
pub use schema::file_json_schema;

use crate::keys::ItemKey;

/// How plans and messages name an instance: `shop:payment_gateway/stripe "Stripe (EU)"`, then
/// ` (tenant acme)` for a tenant's.
pub(crate) fn describe(item: &ItemKey, scope: Option<&str>, name: &str) -> String {
    match scope {
        Some(scope) => format!("{item} {name:?} (tenant {scope})"),
        None => format!("{item} {name:?}"),
    }
}
