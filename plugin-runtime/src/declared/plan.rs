//! The plan: what would make the store match a declared file, step by step, for an operator to
//! review before anything is written (like `terraform plan`).

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::file::{DeclaredFile, DeclaredInstance};
use crate::config::{ConfigSchema, ConfigValues, effective};
use crate::instance::{InstanceMeta, InstanceRecord};
use crate::keys::{InstanceId, ItemKey};
use crate::registry::Registry;

/// What becomes of stored instances the file does not list.
#[derive(Clone, Copy)]
pub enum Prune<'a> {
    /// They are left alone, and are not steps of the plan at all: a file that declares some
    /// instances says nothing about the others.
    Keep,
    /// Those the predicate picks are deleted. The caller decides which may go (typically:
    /// instances its store marks as managed by a file of the same source name), so this module
    /// does not need to know where that mark is kept.
    Delete(&'a dyn Fn(&InstanceRecord) -> bool),
}

impl fmt::Debug for Prune<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prune::Keep => f.write_str("Keep"),
            Prune::Delete(_) => f.write_str("Delete(..)"),
        }
    }
}

/// One thing that differs between a stored instance and its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The status.
    Status {
        /// Stored.
        from: crate::Status,
        /// Declared.
        to: crate::Status,
    },
    /// The priority (only when the file gives one: an omitted priority leaves the stored one).
    Priority {
        /// Stored.
        from: i32,
        /// Declared.
        to: i32,
    },
    /// The description (its text is not repeated in the plan).
    Description,
    /// The instance is not yet managed by this file: applying marks it so (it was managed by
    /// hand, `None`, or by another file), and from then on it is edited through the file.
    Managed {
        /// What managed it before.
        from: Option<String>,
    },
    /// A config field whose effective value (defaults and former names applied) differs. A
    /// secret's value is never shown: only that it differs (a reference against a stored
    /// value differs; two equal references are equal).
    Config {
        /// The field's name.
        field: String,
        /// Whether the field is secret.
        secret: bool,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Status { from, to } => {
                write!(f, "status {} → {}", from.as_str(), to.as_str())
            }
            Change::Priority { from, to } => write!(f, "priority {from} → {to}"),
            Change::Description => f.write_str("description"),
            Change::Managed { from: None } => f.write_str("taken over from hand edits"),
            Change::Managed { from: Some(file) } => write!(f, "taken over from the file {file}"),
            Change::Config {
                field,
                secret: true,
            } => write!(f, "{field} (secret)"),
            Change::Config { field, .. } => f.write_str(field),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The entry has no stored instance: create it.
    Create(DeclaredInstance),
    /// The stored instance differs from its entry: write the entry over it.
    Update {
        /// The stored instance.
        id: InstanceId,
        /// Its version when planned: write with it, so a change made since the plan is a
        /// conflict rather than silently overwritten.
        version: i64,
        /// What the file declares.
        entry: DeclaredInstance,
        /// What differs, in the order status, priority, description, who manages it, config
        /// fields.
        changes: Vec<Change>,
        /// Why the whole config is rewritten, when it is: the stored config could not be
        /// opened, or there is none.
        note: Option<String>,
    },
    /// The stored instance matches its entry: nothing to do.
    Leave {
        /// The stored instance.
        id: InstanceId,
        /// What the file declares.
        entry: DeclaredInstance,
    },
    /// A stored instance the file no longer lists, picked by [`Prune::Delete`].
    Delete {
        /// The instance to delete (its version too, for the same conflict check).
        meta: InstanceMeta,
    },
}

/// The steps that make the store match a file: entries in file order, then deletions in key
/// order. Printed (`Display`) as a review.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
}

/// How many steps of each kind a plan has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCounts {
    /// Instances to create.
    pub create: usize,
    /// Instances to update.
    pub update: usize,
    /// Instances to delete.
    pub delete: usize,
    /// Instances that already match.
    pub leave: usize,
}

impl Plan {
    /// True when applying it would write nothing (only [`Step::Leave`]s, or no step): what a
    /// CI drift check asks.
    pub fn is_empty(&self) -> bool {
        self.steps
            .iter()
            .all(|step| matches!(step, Step::Leave { .. }))
    }

    /// How many steps of each kind.
    pub fn counts(&self) -> PlanCounts {
        let mut counts = PlanCounts::default();
        for step in &self.steps {
            match step {
                Step::Create(_) => counts.create += 1,
                Step::Update { .. } => counts.update += 1,
                Step::Delete { .. } => counts.delete += 1,
                Step::Leave { .. } => counts.leave += 1,
            }
        }
        counts
    }
}

/// The review: one line per create, update and delete (`+`, `~`, `-`), then a summary line.
/// Unchanged instances are only counted, so a file of hundreds of instances with one change
/// shows one line. No value of a secret is ever printed (the plan holds none).
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            match step {
                Step::Create(entry) => writeln!(f, "+ create {}", entry_name(entry))?,
                Step::Update {
                    entry,
                    changes,
                    note,
                    ..
                } => {
                    write!(f, "~ update {}: ", entry_name(entry))?;
                    write_changes(f, changes)?;
                    writeln!(f)?;
                    if let Some(note) = note {
                        writeln!(f, "    note: {note}")?;
                    }
                }
                Step::Delete { meta } => writeln!(
                    f,
                    "- delete {}",
                    super::describe(&meta.item, meta.scope.as_deref(), &meta.name)
                )?,
                Step::Leave { .. } => {}
            }
        }
        let counts = self.counts();
        if self.is_empty() {
            write!(
                f,
                "No changes ({} declared instance{} up to date).",
                counts.leave,
                plural(counts.leave)
            )
        } else {
            write!(
                f,
                "Plan: {} to create, {} to update, {} to delete, {} unchanged.",
                counts.create, counts.update, counts.delete, counts.leave
            )
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn entry_name(entry: &DeclaredInstance) -> String {
    super::describe(&entry.item, entry.scope.as_deref(), &entry.name)
}

/// `status active → disabled, priority 10 → 20, config: timeout_secs, api_key (secret)`.
fn write_changes(f: &mut fmt::Formatter<'_>, changes: &[Change]) -> fmt::Result {
    let (config, other): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|change| matches!(change, Change::Config { .. }));
    let mut parts: Vec<String> = other.iter().map(ToString::to_string).collect();
    if !config.is_empty() {
        let fields: Vec<String> = config.iter().map(ToString::to_string).collect();
        parts.push(format!("config: {}", fields.join(", ")));
    }
    if parts.is_empty() {
        parts.push("config rewritten".to_owned());
    }
    f.write_str(&parts.join(", "))
}

/// Compares `file` with the `current` stored instances: each entry is a create, an update
/// or a leave; with [`Prune::Delete`], stored instances the file does not list and the
/// predicate picks are deletes.
///
/// Instances are matched by item, scope and name (the store's unique key). `open` reads a
/// stored instance's config (the caller holds the keyring); when it fails, the instance is an
/// update that rewrites the whole config, with the reason as its note. `registry` gives each
/// item's schema, so configs are compared by effective value (a default written out equals
/// the default left out; a value stored under a field's former name equals it under the new
/// one).
pub fn plan(
    file: &DeclaredFile,
    current: &[InstanceRecord],
    open: &dyn Fn(&InstanceRecord) -> Result<Option<ConfigValues>, String>,
    registry: &Registry,
    prune: Prune<'_>,
) -> Plan {
    let stored: HashMap<(&ItemKey, Option<&str>, &str), &InstanceRecord> = current
        .iter()
        .map(|record| {
            let meta = &record.meta;
            (
                (&meta.item, meta.scope.as_deref(), meta.name.as_str()),
                record,
            )
        })
        .collect();
    let mut matched = HashSet::new();
    let mut steps = Vec::with_capacity(file.entries.len());
    for entry in &file.entries {
        match stored.get(&entry.identity()) {
            None => steps.push(Step::Create(entry.clone())),
            Some(record) => {
                matched.insert(record.meta.id);
                steps.push(compare(&file.source, entry, record, open, registry));
            }
        }
    }
    if let Prune::Delete(pick) = prune {
        let mut gone: Vec<&InstanceRecord> = current
            .iter()
            .filter(|record| !matched.contains(&record.meta.id) && pick(record))
            .collect();
        gone.sort_by(|a, b| {
            let key = |r: &InstanceRecord| {
                (
                    r.meta.item.clone(),
                    r.meta.scope.clone(),
                    r.meta.name.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        steps.extend(gone.into_iter().map(|record| Step::Delete {
            meta: record.meta.clone(),
        }));
    }
    Plan { steps }
}

fn compare(
    source: &str,
    entry: &DeclaredInstance,
    record: &InstanceRecord,
    open: &dyn Fn(&InstanceRecord) -> Result<Option<ConfigValues>, String>,
    registry: &Registry,
) -> Step {
    let meta = &record.meta;
    let mut changes = Vec::new();
    if entry.status != meta.status {
        changes.push(Change::Status {
            from: meta.status,
            to: entry.status,
        });
    }
    if let Some(to) = entry.priority.filter(|&to| to != meta.priority) {
        changes.push(Change::Priority {
            from: meta.priority,
            to,
        });
    }
    if entry.description != record.description {
        changes.push(Change::Description);
    }
    if record.managed_by.as_deref() != Some(source) {
        changes.push(Change::Managed {
            from: record.managed_by.clone(),
        });
    }
    let mut note = None;
    if let Some(next) = &entry.config {
        let schema = registry
            .item(&entry.item)
            .ok()
            .and_then(|item| item.schema());
        match open(record) {
            Ok(Some(stored)) => changes.extend(config_changes(schema, &stored, next)),
            Ok(None) => {
                note = Some("it has no stored config: the file's config is written".to_owned());
                changes.extend(declared_fields(schema, next));
            }
            Err(reason) => {
                note = Some(format!(
                    "its stored config cannot be opened ({reason}): the file's config replaces it"
                ));
                changes.extend(declared_fields(schema, next));
            }
        }
    }
    if changes.is_empty() && note.is_none() {
        Step::Leave {
            id: meta.id,
            entry: entry.clone(),
        }
    } else {
        Step::Update {
            id: meta.id,
            version: meta.version,
            entry: entry.clone(),
            changes,
            note,
        }
    }
}

/// The fields whose effective values differ, in schema order. Without a schema (the item is
/// not in this registry), the keys whose stored values differ.
fn config_changes(
    schema: Option<&ConfigSchema>,
    stored: &ConfigValues,
    next: &ConfigValues,
) -> Vec<Change> {
    let Some(schema) = schema else {
        let mut keys: Vec<&String> = stored.keys().chain(next.keys()).collect();
        keys.sort();
        keys.dedup();
        return keys
            .into_iter()
            .filter(|key| stored.get(*key) != next.get(*key))
            .map(|key| Change::Config {
                field: key.clone(),
                secret: false,
            })
            .collect();
    };
    schema
        .fields
        .iter()
        .filter(|field| effective(stored, field) != effective(next, field))
        .map(|field| Change::Config {
            field: field.name.to_owned(),
            secret: field.is_secret(),
        })
        .collect()
}

/// Every field the file's config sets (in schema order): what a rewrite of the whole config
/// changes.
fn declared_fields(schema: Option<&ConfigSchema>, next: &ConfigValues) -> Vec<Change> {
    match schema {
        Some(schema) => schema
            .fields
            .iter()
            .filter(|field| effective(next, field).is_some())
            .map(|field| Change::Config {
                field: field.name.to_owned(),
                secret: field.is_secret(),
            })
            .collect(),
        None => next
            .keys()
            .map(|key| Change::Config {
                field: key.clone(),
                secret: false,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use serde_json::json;

    use super::*;
    use crate::declared::test_registry::registry;
    use crate::keys::Status;

    fn file(text: &str) -> DeclaredFile {
        match DeclaredFile::parse("plugins.toml", text, registry()) {
            Ok(file) => file,
            Err(errors) => panic!("{errors}"),
        }
    }

    fn record(
        item: &str,
        scope: Option<&str>,
        name: &str,
        status: Status,
        priority: i32,
    ) -> InstanceRecord {
        InstanceRecord {
            meta: InstanceMeta {
                id: InstanceId::new(),
                name: name.into(),
                item: item.parse().expect("a key"),
                status,
                priority,
                scope: scope.map(Into::into),
                version: 7,
            },
            description: String::new(),
            sealed_config: Some(Vec::new()),
            orphaned: false,
            managed_by: Some("plugins.toml".into()),
            created_at: SystemTime::UNIX_EPOCH,
            updated_at: SystemTime::UNIX_EPOCH,
        }
    }

    fn values(value: serde_json::Value) -> ConfigValues {
        value.as_object().cloned().unwrap_or_default()
    }

    const STRIPE: &str = "shop:payment_gateway/stripe";
    const MANUAL: &str = "shop:payment_gateway/manual";

    const FILE: &str = r#"
[[instance]]
item = "shop:payment_gateway/stripe"
name = "Stripe (EU)"
scope = "acme"
status = "disabled"
priority = 20
[instance.config]
api_key = { env = "STRIPE_KEY" }
timeout_secs = 60

[[instance]]
item = "shop:payment_gateway/manual"
name = "Manual"

[[instance]]
item = "shop:payment_gateway/manual"
name = "New"
"#;

    /// The stored instances FILE is planned against: Stripe differs, Manual matches, New is
    /// missing, and two more are not in the file.
    fn current() -> Vec<InstanceRecord> {
        let mut manual = record(MANUAL, None, "Manual", Status::Active, 3);
        manual.sealed_config = None;
        vec![
            record(STRIPE, Some("acme"), "Stripe (EU)", Status::Active, 10),
            manual,
            record(MANUAL, None, "Old", Status::Active, 50),
            record(STRIPE, None, "Operator's", Status::Active, 10),
        ]
    }

    fn stored_stripe(_: &InstanceRecord) -> Result<Option<ConfigValues>, String> {
        Ok(Some(values(
            json!({"api_key": "sk_live_stored", "timeout_secs": 30}),
        )))
    }

    #[test]
    fn entries_are_created_updated_or_left_and_others_kept() {
        let current = current();
        let plan = plan(
            &file(FILE),
            &current,
            &stored_stripe,
            registry(),
            Prune::Keep,
        );
        assert_eq!(
            plan.steps.len(),
            3,
            "unlisted instances are no steps with Keep"
        );
        let Step::Update {
            id,
            version,
            changes,
            note,
            ..
        } = &plan.steps[0]
        else {
            panic!("an update: {:?}", plan.steps[0]);
        };
        assert_eq!((*id, *version), (current[0].meta.id, 7));
        assert_eq!(note, &None);
        assert_eq!(
            changes,
            &[
                Change::Status {
                    from: Status::Active,
                    to: Status::Disabled
                },
                Change::Priority { from: 10, to: 20 },
                Change::Config {
                    field: "api_key".into(),
                    secret: true
                },
                Change::Config {
                    field: "timeout_secs".into(),
                    secret: false
                },
            ]
        );
        assert!(
            matches!(&plan.steps[1], Step::Leave { id, .. } if *id == current[1].meta.id),
            "an omitted priority leaves the stored one alone: {:?}",
            plan.steps[1]
        );
        assert!(matches!(&plan.steps[2], Step::Create(entry) if entry.name == "New"));
        assert_eq!(
            plan.counts(),
            PlanCounts {
                create: 1,
                update: 1,
                delete: 0,
                leave: 1
            }
        );
        assert!(!plan.is_empty());
    }

    #[test]
    fn prune_deletes_only_what_the_caller_picks() {
        let current = current();
        let managed = |record: &InstanceRecord| record.meta.name == "Old";
        let plan = plan(
            &file(FILE),
            &current,
            &stored_stripe,
            registry(),
            Prune::Delete(&managed),
        );
        let deleted: Vec<&str> = plan
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Delete { meta } => Some(meta.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["Old"], "the operator's own instance stays");
        // A listed instance is never deleted, whatever the predicate says.
        let everything = |_: &InstanceRecord| true;
        let plan = super::plan(
            &file(FILE),
            &current,
            &stored_stripe,
            registry(),
            Prune::Delete(&everything),
        );
        assert_eq!(plan.counts().delete, 2);
        assert!(
            matches!(plan.steps.last(), Some(Step::Delete { meta }) if meta.name == "Operator's")
        );
    }

    #[test]
    fn configs_compare_by_effective_value() {
        let text = "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
                    [instance.config]\napi_key = { env = \"K\" }\ntimeout_secs = 30\n";
        let current = vec![record(STRIPE, None, "S", Status::Active, 10)];
        // Stored under the former name, the default left out: the same config.
        let same = |_: &InstanceRecord| Ok(Some(values(json!({"key": {"$env": "K"}}))));
        let plan = plan(&file(text), &current, &same, registry(), Prune::Keep);
        assert!(plan.is_empty(), "{plan}");
        assert!(matches!(plan.steps[0], Step::Leave { .. }));
        // Another reference differs, and so does a stored value against a reference.
        for stored in [
            json!({"api_key": {"$env": "OTHER"}}),
            json!({"api_key": "sk_live_x"}),
        ] {
            let open = move |_: &InstanceRecord| Ok(Some(values(stored.clone())));
            let plan = super::plan(&file(text), &current, &open, registry(), Prune::Keep);
            let Step::Update { changes, .. } = &plan.steps[0] else {
                panic!("an update");
            };
            assert_eq!(
                changes,
                &[Change::Config {
                    field: "api_key".into(),
                    secret: true
                }]
            );
        }
    }

    #[test]
    fn a_config_that_cannot_be_opened_is_rewritten_with_a_note() {
        let text = "[[instance]]\nitem = \"shop:payment_gateway/stripe\"\nname = \"S\"\n\
                    [instance.config]\napi_key = { env = \"K\" }\n";
        let current = vec![record(STRIPE, None, "S", Status::Active, 10)];
        let broken = |_: &InstanceRecord| Err("no key opens it".to_owned());
        let plan = plan(&file(text), &current, &broken, registry(), Prune::Keep);
        let Step::Update { changes, note, .. } = &plan.steps[0] else {
            panic!("an update: {plan:?}");
        };
        assert_eq!(
            note.as_deref(),
            Some(
                "its stored config cannot be opened (no key opens it): the file's config replaces it"
            )
        );
        let fields: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(fields, ["api_key (secret)", "timeout_secs", "currency"]);
        let none = |_: &InstanceRecord| Ok(None);
        let plan = super::plan(&file(text), &current, &none, registry(), Prune::Keep);
        assert!(
            matches!(&plan.steps[0], Step::Update { note: Some(note), .. } if note.contains("no stored config"))
        );
    }

    #[test]
    fn a_description_change_is_named_not_quoted() {
        let text = "[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \"M\"\n\
                    description = \"new words\"\n";
        let mut stored = record(MANUAL, None, "M", Status::Active, 50);
        stored.description = "old words".into();
        let plan = plan(
            &file(text),
            &[stored],
            &|_| Ok(None),
            registry(),
            Prune::Keep,
        );
        assert_eq!(
            plan.to_string(),
            "~ update shop:payment_gateway/manual \"M\": description\n\
             Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged."
        );
    }

    #[test]
    fn the_review_prints_steps_and_a_summary_without_secrets() {
        let current = current();
        let old = |record: &InstanceRecord| record.meta.name == "Old";
        let plan = plan(
            &file(FILE),
            &current,
            &stored_stripe,
            registry(),
            Prune::Delete(&old),
        );
        let text = plan.to_string();
        assert_eq!(
            text,
            "~ update shop:payment_gateway/stripe \"Stripe (EU)\" (tenant acme): status active → \
             disabled, priority 10 → 20, config: api_key (secret), timeout_secs\n\
             + create shop:payment_gateway/manual \"New\"\n\
             - delete shop:payment_gateway/manual \"Old\"\n\
             Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."
        );
        assert!(!text.contains("sk_live"), "{text}");
        assert!(!format!("{plan:?}").contains("sk_live"));
    }

    #[test]
    fn a_plan_that_changes_nothing_says_so() {
        let text = "[[instance]]\nitem = \"shop:payment_gateway/manual\"\nname = \"M\"\n";
        let stored = record(MANUAL, None, "M", Status::Active, 50);
        let plan = plan(
            &file(text),
            &[stored],
            &|_| Ok(None),
            registry(),
            Prune::Keep,
        );
        assert!(plan.is_empty());
        assert_eq!(
            plan.to_string(),
            "No changes (1 declared instance up to date)."
        );
        assert!(Plan::default().is_empty());
    }

    #[test]
    fn an_instance_managed_by_hand_or_another_file_is_taken_over() {
        let file = file(
            r#"
            [[instance]]
            item = "shop:payment_gateway/manual"
            name = "M"
            "#,
        );
        for (before, said) in [
            (None, "taken over from hand edits"),
            (Some("other.toml"), "taken over from the file other.toml"),
        ] {
            let mut stored = record(MANUAL, None, "M", Status::Active, 10);
            stored.sealed_config = None;
            stored.managed_by = before.map(Into::into);
            let plan = plan(&file, &[stored], &|_| Ok(None), registry(), Prune::Keep);
            let Step::Update { changes, .. } = &plan.steps[0] else {
                panic!("{plan}");
            };
            let changes: Vec<String> = changes.iter().map(ToString::to_string).collect();
            assert_eq!(changes, [said]);
        }
    }
}
