//! Secrets stay secret: no config secret and no key in any log line (every `tracing` event
//! the library writes, captured at TRACE), in `Debug` output, in errors, or in the audit trail.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use plugin_system::prelude::*;
use plugin_system::store::{MemoryStore, Store};
use plugin_system::{InstanceUpdate, Key};

#[plugin_type(name = "mailer")]
pub trait Mailer {
    fn send(&self, to: &str) -> Result<String, PluginError>;
}

#[derive(PluginConfig, Clone)]
pub struct SmtpConfig {
    pub host: String,
    #[config(secret, min_length = 8, pattern = "^pw-")]
    pub password: String,
}

pub struct Smtp(SmtpConfig);

impl FromConfig<SmtpConfig> for Smtp {
    fn from_config(config: SmtpConfig) -> Result<Self, PluginError> {
        if config.host == "refuse" {
            // A constructor that fails must not leak its config either.
            return Err(PluginError::new("cannot reach the SMTP host"));
        }
        Ok(Smtp(config))
    }
}

#[plugin_item(name = "smtp", config = SmtpConfig)]
impl Mailer for Smtp {
    fn send(&self, to: &str) -> Result<String, PluginError> {
        Err(PluginError::new(format!(
            "{to} via {}: mailbox unavailable",
            self.0.host
        )))
    }
}

const SECRET: &str = "pw-VERY-SECRET-PASSWORD";

/// Every log line, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn smtp(name: &str, host: &str, password: &str) -> NewInstance {
    NewInstance::of::<dyn Mailer>("smtp", name).config(&SmtpConfig {
        host: host.into(),
        password: password.into(),
    })
}

#[test]
fn no_secret_or_key_in_logs_debug_output_errors_or_the_audit_trail() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let key = Key::generate();
    let key_text = key.to_base64().to_string();
    let store = Arc::new(MemoryStore::new());
    let plugins = Plugins::builder()
        .shared_store(store.clone())
        .keyring(Keyring::new(key.clone()))
        .no_watch()
        .build()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();

    // A good instance, one whose constructor fails, and a rejected config.
    let good = plugins
        .create_instance(smtp("Main", "smtp.example.com", SECRET))
        .unwrap();
    plugins
        .create_instance(smtp("Broken", "refuse", SECRET))
        .unwrap();
    let rejected = plugins
        .create_instance(smtp("Bad", "h", "pw-short"))
        .and(plugins.create_instance(smtp("Bad", "h", "VERY-SECRET-no-prefix")))
        .unwrap_err();
    seen.push(rejected.to_string());
    seen.push(format!("{rejected:?}"));
    let update = InstanceUpdate {
        config: Some(
            SmtpConfig {
                host: "smtp.example.com".into(),
                password: format!("{SECRET}-2"),
            }
            .to_values(),
        ),
        ..InstanceUpdate::default()
    };
    plugins
        .update_instance(good.id, good.version, update)
        .unwrap();

    // Failover over a failing plugin; load failures; another key that opens nothing.
    let all_failed = plugins
        .first_ok::<dyn Mailer, _, _>(|mailer| mailer.send("ada@example.com"))
        .unwrap_err();
    seen.push(all_failed.to_string());
    seen.push(format!("{all_failed:?}"));
    for failure in plugins.load_failures() {
        seen.push(format!("{failure:?} {}", failure.reason));
    }
    let stranger = Plugins::builder()
        .shared_store(store.clone())
        .keyring(Keyring::new(Key::generate()))
        .skip_sync()
        .no_watch()
        .build()
        .unwrap();
    for failure in stranger.load_failures() {
        seen.push(failure.reason.clone());
    }
    seen.push(stranger.rotate_keys().unwrap_err().to_string());

    // Debug output of everything an application might log.
    let config = SmtpConfig {
        host: "h".into(),
        password: SECRET.into(),
    };
    seen.push(format!("{config:?}"));
    seen.push(format!("{key:?} {:?}", Keyring::new(key.clone())));
    seen.push(format!("{plugins:?}"));
    seen.push(format!("{:?}", plugins.get::<dyn Mailer>()));
    seen.push(format!("{:?}", Store::instances(&*store).unwrap()));
    seen.push(format!("{:?}", plugins.instances(&Default::default())));
    let audit = plugin_system::store::AuditQuery::latest(100);
    for entry in plugins.audit(&audit).unwrap() {
        seen.push(format!("{entry:?}"));
    }
    let form = plugin_system::config::FormData::from_pairs([("password", SECRET)]);
    seen.push(format!("{form:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("does not load"), "the capture works: {logs}");
    assert!(logs.contains("plugin registry synced"), "{logs}");
    seen.push(logs);
    for text in &seen {
        assert!(!text.contains("VERY-SECRET"), "a secret leaked: {text}");
        assert!(!text.contains(&key_text), "the key leaked: {text}");
    }
}
