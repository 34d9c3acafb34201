//! Declared files applied to the store (see [`crate::declared`] for the file itself): plan,
//! apply in one transaction, export, and handing an instance back to the operators.

use std::path::Path;

use super::{NewInstance, Plugins, snapshot};
use crate::declared::{self, DeclaredFile, Plan, Prune, Step};
use crate::error::Error;
use crate::instance::InstanceRecord;
use crate::keys::{InstanceId, Status};
use crate::registration::ItemInfo;
use crate::store::rules::{self, BulkEdit, InstanceChange};

impl Plugins {
    /// Reads the declared file at `path` and checks it against the registered items (every
    /// problem at once, each at its line: [`Error::InvalidFile`]). Instances it applies are
    /// marked with the file's *name* (`plugins.toml`), not its path, so CI and the server may
    /// keep it in different directories.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Result<DeclaredFile, Error> {
        let path = path.as_ref();
        let source = path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let unreadable = |reason: String| Error::InvalidInput {
            field: "file",
            reason: format!("cannot read {}: {reason}", path.display()),
        };
        let bytes = std::fs::read(path).map_err(|err| unreadable(err.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8".into()))?;
        DeclaredFile::parse(&source, &text, self.registry()).map_err(Error::InvalidFile)
    }

    /// What applying `file` would do, read from the store (nothing is written): each entry
    /// created, updated (naming what differs) or left; with `prune`, each instance this file
    /// marked once and no longer lists deleted. Instances the file does not list and did not
    /// mark are never in the plan. An empty plan ([`Plan::is_empty`]) means the store matches
    /// the file: what `plugins diff` checks.
    pub fn plan_file(&self, file: &DeclaredFile, prune: bool) -> Result<Plan, Error> {
        let current = self.inner.store.instances()?;
        Ok(self.plan_against(file, &current, prune))
    }

    fn plan_against(&self, file: &DeclaredFile, current: &[InstanceRecord], prune: bool) -> Plan {
        let inner = &*self.inner;
        let open = |record: &InstanceRecord| {
            let schema = inner
                .registry
                .item(&record.meta.item)
                .ok()
                .and_then(ItemInfo::schema);
            snapshot::open_config(inner.keyring.as_ref(), record, schema)
        };
        let ours = |record: &InstanceRecord| record.managed_by.as_deref() == Some(&file.source);
        let prune = match prune {
            true => Prune::Delete(&ours),
            false => Prune::Keep,
        };
        declared::plan(file, current, &open, inner.registry, prune)
    }

    /// Makes the store match `file`, in one transaction: creates, updates (written over the
    /// version the plan read, so an edit made meanwhile is an [`Error::Conflict`] and nothing
    /// is written) and, with `prune`, deletes (see [`plan_file`](Self::plan_file)). Every
    /// instance it lists is marked as managed by the file: the admin and the CLI then refuse
    /// to edit it until it is [released](Self::release). Each audit row names the file and
    /// its SHA-256 digest, and one more sums the apply up. Disabling or deleting what ACTIVE
    /// instances need is refused as for any write ([`Error::Required`]) unless the handle is
    /// [`forced`](Self::forced). Returns the plan it applied.
    pub fn apply_file(&self, file: &DeclaredFile, prune: bool) -> Result<Plan, Error> {
        let plan = self.plan_file(file, prune)?;
        if plan.is_empty() {
            return Ok(plan);
        }
        let mut creates = Vec::new();
        let mut edits = Vec::new();
        let mut deletes = Vec::new();
        let mut leaving = Vec::new();
        for step in &plan.steps {
            // An entry the file checked but the write refuses (a name rule, a secret the
            // keyring cannot seal) is reported at its line, as the file's own errors are.
            let line = match step {
                Step::Create(entry) | Step::Update { entry, .. } => entry.line,
                _ => 0,
            };
            let in_file = |err: Error| {
                Error::InvalidFile(declared::FileErrors {
                    source: file.source.clone(),
                    errors: vec![declared::FileError {
                        line,
                        message: err.report(),
                    }],
                })
            };
            match step {
                Step::Create(entry) => {
                    let mut new = NewInstance::new(entry.item.clone(), entry.name.clone())
                        .status(entry.status)
                        .description(entry.description.clone());
                    if let Some(priority) = entry.priority {
                        new = new.priority(priority);
                    }
                    if let Some(scope) = &entry.scope {
                        new = new.scope(scope.clone());
                    }
                    if let Some(config) = &entry.config {
                        new = new.config_values(config.clone());
                    }
                    let mut record = self.prepare_create(new).map_err(in_file)?;
                    record.managed_by = Some(file.source.clone());
                    creates.push(record);
                }
                Step::Update {
                    id,
                    version,
                    entry,
                    changes,
                    ..
                } => {
                    let item = self.inner.registry.item(&entry.item).map_err(in_file)?;
                    let config_changed = changes
                        .iter()
                        .any(|change| matches!(change, declared::Change::Config { .. }));
                    let config = match (config_changed, &entry.config) {
                        (true, Some(values)) => {
                            let sealed = self
                                .inner
                                .seal_config(item, *id, Some(values))
                                .map_err(in_file)?;
                            let fields = changes
                                .iter()
                                .filter_map(|change| match change {
                                    declared::Change::Config { field, .. } => Some(field.clone()),
                                    _ => None,
                                })
                                .collect();
                            sealed.map(|sealed| (sealed, fields))
                        }
                        _ => None,
                    };
                    if entry.status == Status::Disabled {
                        leaving.push(*id);
                    }
                    let change = InstanceChange {
                        name: None,
                        description: Some(entry.description.clone()),
                        status: Some(entry.status),
                        priority: entry.priority,
                        config,
                        managed_by: Some(Some(file.source.clone())),
                    };
                    edits.push((*id, *version, change));
                }
                Step::Delete { meta } => {
                    deletes.push(meta.id);
                    leaving.push(meta.id);
                }
                Step::Leave { .. } => {}
            }
        }
        self.check_still_needed(&leaving, "disable or delete")?;
        let from = format!("{} (sha256 {})", file.source, &file.digest);
        rules::apply_declared(
            &*self.inner.store,
            &creates,
            &edits,
            &deletes,
            &self.actor,
            &from,
        )?;
        self.inner.after_write();
        Ok(plan)
    }

    /// [`apply_file`](Self::apply_file) at start-up, where every replica of a deployment
    /// applies the same file at once: an apply that lost the race to another (a name it was
    /// creating now taken, an instance it was updating changed) plans again against what the
    /// winner wrote, and finds less or nothing to do.
    pub(super) fn apply_file_racing(&self, file: &DeclaredFile) -> Result<Plan, Error> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 1;
        loop {
            match self.apply_file(file, false) {
                Err(Error::Conflict { .. } | Error::DuplicateInstanceName { .. })
                    if attempt < ATTEMPTS =>
                {
                    attempt += 1;
                    self.refresh()?;
                }
                Err(err)
                    if err.store_kind() == Some(crate::store::StoreErrorKind::Conflict)
                        && attempt < ATTEMPTS =>
                {
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Every stored instance as a declared file (see [`declared::export`]): applied to an
    /// empty store, it makes the same instances. Secrets are written as the references they
    /// are stored as, or as a placeholder reference to set, never as their values.
    pub fn export_file(&self) -> Result<String, Error> {
        let inner = &*self.inner;
        let instances: Vec<(InstanceRecord, Option<crate::config::ConfigValues>)> = inner
            .store
            .instances()?
            .into_iter()
            .map(|record| {
                let schema = inner
                    .registry
                    .item(&record.meta.item)
                    .ok()
                    .and_then(ItemInfo::schema);
                let values = snapshot::open_config(inner.keyring.as_ref(), &record, schema)
                    .ok()
                    .flatten();
                (record, values)
            })
            .collect();
        Ok(declared::export(&instances, inner.registry))
    }

    /// Hands instances a declared file manages back to the operators, in one transaction
    /// (every id must exist), one audit row (`release`) per instance that was managed; returns
    /// how many were. The file's next apply takes them over again, reporting what was edited
    /// meanwhile; remove them from the file to keep them.
    pub fn release(&self, ids: &[InstanceId]) -> Result<usize, Error> {
        let released = rules::bulk_edit(&*self.inner.store, ids, BulkEdit::Release, &self.actor)?;
        if released > 0 {
            self.inner.after_write();
        }
        Ok(released)
    }
}
