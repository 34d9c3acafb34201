//! Config versions: a config whose shape changed names its version and an upgrade from each
//! older one (`#[config(version = 3, upgrades = [v1_to_v2, v2_to_v3])]`), so a row stored by
//! older code is read, not lost.
//!
//! The version a config was sealed under travels inside the sealed plaintext, under
//! [`VERSION_KEY`], so it is as tamper-proof as the values (AES-GCM authenticates both) and
//! needs no column of its own; a config without the key is version 1, which is every config
//! stored before versions existed. Reading a row runs the upgrades from its version to the
//! code's, in memory: the row itself changes only when `plugins migrate` re-seals it.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

use super::{ConfigSchema, ConfigValues};

/// One step of a config's history: the values as version N stored them in, the values as
/// version N + 1 reads them out, or why they cannot be carried over (said to the operator as
/// the instance's load failure, so name the field and never its secret value).
///
/// ```
/// use plugin_runtime::config::ConfigValues;
///
/// /// Version 2 renamed `host` to `server` and made the port a number.
/// fn v1_to_v2(mut values: ConfigValues) -> Result<ConfigValues, String> {
///     if let Some(host) = values.remove("host") {
///         values.insert("server".into(), host);
///     }
///     if let Some(port) = values.remove("port") {
///         let text = port.as_str().ok_or("`port` is not text")?;
///         let number: u16 = text.parse().map_err(|_| format!("`port` {text:?} is not a number"))?;
///         values.insert("port".into(), number.into());
///     }
///     Ok(values)
/// }
/// # let mut old = ConfigValues::new();
/// # old.insert("host".into(), "smtp.example.com".into());
/// # old.insert("port".into(), "587".into());
/// # let new = v1_to_v2(old).unwrap();
/// # assert_eq!(new["server"], "smtp.example.com");
/// # assert_eq!(new["port"], 587);
/// ```
pub type Upgrade = fn(ConfigValues) -> Result<ConfigValues, String>;

/// The key of a sealed config's plaintext that holds the version it was written under
/// (absent: version 1). No field can have this name: a Rust identifier has no `$`.
pub const VERSION_KEY: &str = "$version";

/// Why stored values could not be brought to the code's version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The row was written by code with a later version than this code's (a rollback): it is
    /// refused, never read as if it were this version.
    Newer {
        /// The version the row was written under.
        stored: u32,
        /// This code's version.
        current: u32,
    },
    /// The upgrade from `from` to `from + 1` returned an error or panicked.
    Failed {
        /// The version the failing step starts from.
        from: u32,
        /// The version it leads to.
        to: u32,
        /// What the upgrade said (or the panic's message).
        reason: String,
    },
    /// The version key holds something that is not a version (1 or more).
    Malformed,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Newer { stored, current } => write!(
                f,
                "the stored config is version {stored}, newer than this code's version \
                 {current} (written by a later release?): it is not read, and the row is kept \
                 as it is"
            ),
            Self::Failed { from, to, reason } => {
                write!(f, "config version {from} → {to} failed: {reason}")
            }
            Self::Malformed => write!(f, "the stored config's `{VERSION_KEY}` is not a version"),
        }
    }
}

impl std::error::Error for UpgradeError {}

impl ConfigSchema {
    /// Makes this version `version` of the config, with `upgrades[i]` taking version `i + 1`
    /// to `i + 2` (so there is one fewer upgrade than the version). A mismatch fails to
    /// compile where the schema is a `static`; `#[derive(PluginConfig)]` checks it first with
    /// a message naming the missing or extra upgrade.
    pub const fn with_version(mut self, version: u32, upgrades: &'static [Upgrade]) -> Self {
        assert!(version >= 1, "a config version starts at 1");
        assert!(
            upgrades.len() as u64 + 1 == version as u64,
            "a config of version N needs an upgrade from each older version: N - 1 of them"
        );
        self.version = version;
        self.upgrades = upgrades;
        self
    }

    /// Brings values stored under version `from` to this schema's version, step by step, in
    /// memory. Values already at it are returned as they are; a later version is refused.
    pub fn upgrade(&self, values: ConfigValues, from: u32) -> Result<ConfigValues, UpgradeError> {
        if from > self.version {
            return Err(UpgradeError::Newer {
                stored: from,
                current: self.version,
            });
        }
        let mut values = values;
        for version in from..self.version {
            let step = self.upgrades[(version - 1) as usize];
            // An upgrade is operator-facing code run on every stored row: a panic in one is
            // that instance's load failure, not the whole load's.
            values = match catch_unwind(AssertUnwindSafe(|| step(values))) {
                Ok(Ok(next)) => next,
                Ok(Err(reason)) => {
                    return Err(UpgradeError::Failed {
                        from: version,
                        to: version + 1,
                        reason,
                    });
                }
                Err(panic) => {
                    return Err(UpgradeError::Failed {
                        from: version,
                        to: version + 1,
                        reason: format!("it panicked: {}", crate::error::panic_message(&panic)),
                    });
                }
            };
        }
        Ok(values)
    }
}

/// Splits stored plaintext values into the config's values and the version they were
/// written under (1 when the key is absent).
pub fn split_version(mut values: ConfigValues) -> Result<(ConfigValues, u32), UpgradeError> {
    let version = match values.remove(VERSION_KEY) {
        None => 1,
        Some(Value::Number(number)) => number
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n >= 1)
            .ok_or(UpgradeError::Malformed)?,
        Some(_) => return Err(UpgradeError::Malformed),
    };
    Ok((values, version))
}

/// The values as they are sealed under `version`: with the version key from version 2 on
/// (a version 1 config is stored as it was before versions existed, so older code reads it).
pub(crate) fn versioned(values: &ConfigValues, version: u32) -> std::borrow::Cow<'_, ConfigValues> {
    if version <= 1 {
        return std::borrow::Cow::Borrowed(values);
    }
    let mut sealed = values.clone();
    sealed.insert(VERSION_KEY.to_owned(), version.into());
    std::borrow::Cow::Owned(sealed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(value: Value) -> ConfigValues {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("a test writes an object"),
        }
    }

    fn rename_host(mut values: ConfigValues) -> Result<ConfigValues, String> {
        let host = values.remove("host").ok_or("no `host`")?;
        values.insert("server".into(), host);
        Ok(values)
    }

    fn add_port(mut values: ConfigValues) -> Result<ConfigValues, String> {
        values.entry("port").or_insert(json!(25));
        Ok(values)
    }

    fn panics(_: ConfigValues) -> Result<ConfigValues, String> {
        panic!("the upgrade's own bug")
    }

    static V3: ConfigSchema =
        ConfigSchema::new("Mail", &[]).with_version(3, &[rename_host, add_port]);

    #[test]
    fn each_step_from_the_stored_version_runs_in_order() {
        let from_1 = V3.upgrade(values(json!({"host": "a"})), 1);
        assert_eq!(from_1, Ok(values(json!({"server": "a", "port": 25}))));
        // From version 2, only the second step runs (`host` is no longer there).
        let from_2 = V3.upgrade(values(json!({"server": "b"})), 2);
        assert_eq!(from_2, Ok(values(json!({"server": "b", "port": 25}))));
        let current = V3.upgrade(values(json!({"server": "c", "port": 1})), 3);
        assert_eq!(current, Ok(values(json!({"server": "c", "port": 1}))));
    }

    #[test]
    fn a_failing_step_says_which_step_and_why() {
        let err = V3.upgrade(values(json!({"server": "a"})), 1).unwrap_err();
        assert_eq!(err.to_string(), "config version 1 → 2 failed: no `host`",);
        static PANICS: ConfigSchema = ConfigSchema::new("Mail", &[]).with_version(2, &[panics]);
        let err = PANICS.upgrade(ConfigValues::new(), 1).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config version 1 → 2 failed: it panicked: the upgrade's own bug"),
            "{err}"
        );
    }

    #[test]
    fn a_row_from_a_later_version_is_refused() {
        let err = V3.upgrade(values(json!({"server": "a"})), 4).unwrap_err();
        assert_eq!(
            err,
            UpgradeError::Newer {
                stored: 4,
                current: 3
            }
        );
        assert!(
            err.to_string()
                .contains("version 4, newer than this code's version 3")
        );
    }

    #[test]
    fn the_version_travels_with_the_values_from_version_2_on() {
        let plain = values(json!({"a": 1}));
        assert_eq!(*versioned(&plain, 1), plain);
        let sealed = versioned(&plain, 3).into_owned();
        assert_eq!(sealed[VERSION_KEY], json!(3));
        assert_eq!(split_version(sealed), Ok((plain.clone(), 3)));
        assert_eq!(split_version(plain.clone()), Ok((plain, 1)));
        for bad in [json!(0), json!("2"), json!(-1), json!(1.5)] {
            let stored = values(json!({VERSION_KEY: bad}));
            assert_eq!(split_version(stored), Err(UpgradeError::Malformed));
        }
    }
}
