//! The rules of every write, written once over the [`Store`] primitives: what sync applies,
//! how a create checks names, how an update checks versions, what a bulk edit changes, what
//! each audit row says, and when the revision moves. Stores only carry them out.

use std::collections::HashMap;
use std::time::SystemTime;

use super::{AuditEntry, Changed, NameKey, Store, Transaction};
use crate::Error;
use crate::instance::PriorityChange;
use crate::instance::{Activation, ActivationKey, ActivationRecord, InstanceRecord};
use crate::keys::ItemKey;
use crate::keys::{InstanceId, Status};
use crate::registry::Registry;
use crate::sync::{StoredState, SyncAction, SyncOptions, SyncReport, plan};

/// Who sync writes as in the audit trail: the deployment, not a person.
pub(crate) const SYNC_ACTOR: &str = "plugin-system";

impl AuditEntry {
    fn new(actor: &str, action: &str, instance: Option<InstanceId>, detail: String) -> AuditEntry {
        AuditEntry {
            at: SystemTime::now(),
            actor: actor.into(),
            action: action.into(),
            instance,
            detail,
        }
    }
}

/// Runs `work` as one write; when it reports a change, records the `audit` rows it returns
/// and bumps the revision once, logging the instances the audit rows name as changed.
/// Returns what `work` produced.
fn write<T>(
    store: &dyn Store,
    mut work: impl FnMut(&mut dyn Transaction) -> Result<(T, Vec<AuditEntry>), Error>,
) -> Result<T, Error> {
    write_changing(store, |tx| {
        let (value, audit) = work(tx)?;
        Ok((value, audit, Some(Vec::new())))
    })
}

/// [`write`], for writes that change instances their audit rows do not name (a sync moving an
/// item's instances, a key rotation): `work` also returns those (`None`: too many to list,
/// logged as [`Changed::Everything`]).
fn write_changing<T>(
    store: &dyn Store,
    mut work: impl FnMut(
        &mut dyn Transaction,
    ) -> Result<(T, Vec<AuditEntry>, Option<Vec<InstanceId>>), Error>,
) -> Result<T, Error> {
    let mut output = None;
    store.write(&mut |tx| {
        let (value, audit, changed) = work(tx)?;
        if !audit.is_empty() {
            tx.append_audit(&audit)?;
            match changed {
                Some(mut changed) => {
                    changed.extend(audit.iter().filter_map(|entry| entry.instance));
                    changed.sort_unstable();
                    changed.dedup();
                    tx.bump_revision(Changed::Instances(&changed))?;
                }
                None => {
                    tx.bump_revision(Changed::Everything)?;
                }
            }
        }
        output = Some(value);
        Ok(())
    })?;
    output.ok_or_else(|| {
        Error::Store(super::StoreError::new(
            super::StoreErrorKind::Other,
            "the store committed a write without running it",
        ))
    })
}

/// Records one run of an admin action: an audit row of its own, in a write that changes no
/// instance, so the revision stays (other processes have nothing to reload).
pub(crate) fn record_action(
    store: &dyn Store,
    actor: &str,
    outcome: &crate::ActionOutcome,
) -> Result<(), Error> {
    let result = if outcome.ok { "ok" } else { "failed" };
    let detail = format!("{}: {result}: {}", outcome.action.name(), outcome.text);
    let entry = AuditEntry::new(actor, "action", Some(outcome.instance.id), detail);
    store.write(&mut |tx| Ok(tx.append_audit(std::slice::from_ref(&entry))?))
}

/// Makes the store match the registry in one transaction (nothing at all in a dry run or
/// when nothing differs).
pub(crate) fn sync(
    store: &dyn Store,
    registry: &Registry,
    options: &SyncOptions,
) -> Result<SyncReport, Error> {
    write_changing(store, |tx| {
        let state = tx.stored_state()?;
        let report = plan(registry, &state, options);
        if options.dry_run || report.is_noop() {
            return Ok((report, Vec::new(), Some(Vec::new())));
        }
        tx.apply_sync(&report.actions)?;
        let detail = format!("{} change(s)", report.actions.len());
        let mut audit = vec![AuditEntry::new(SYNC_ACTOR, "sync", None, detail)];
        // One row per version that moved, saying from what to what: the trail of releases.
        let versions = (report.contracts_changed.iter().map(ToString::to_string))
            .chain(report.versions_changed.iter().map(ToString::to_string));
        audit.extend(versions.map(|change| AuditEntry::new(SYNC_ACTOR, "version", None, change)));
        let changed = changed_by_sync(&state, &report.actions);
        Ok((report, audit, changed))
    })
}

/// Whether a write that changed `changed` of about `total` instances is logged as
/// [`Changed::Everything`]: a handle behind it reloads in full anyway (it reads the changed
/// rows only while they are at most a quarter of its instances), so listing them would only
/// cost the write a log row each (the first sync of 10,000 items: 24 ms).
pub(crate) fn too_much_to_list(changed: usize, total: usize) -> bool {
    changed > crate::plugins::INCREMENTAL_MINIMUM.max(total / crate::plugins::INCREMENTAL_SHARE)
}

/// The instances a sync's actions change: the ones it creates or deletes, and every instance
/// of an item it renames, orphans, revives or refreshes (their item key or orphan flag).
/// `None` when that is too much to list (see [`too_much_to_list`]).
fn changed_by_sync(state: &StoredState, actions: &[SyncAction]) -> Option<Vec<InstanceId>> {
    // Instances by item, once: an update-mode sync refreshes every item.
    let mut by_item: HashMap<&ItemKey, Vec<InstanceId>> = HashMap::new();
    for instance in &state.instances {
        by_item.entry(&instance.item).or_default().push(instance.id);
    }
    let of_item = |key: &ItemKey| by_item.get(key).map_or(&[][..], Vec::as_slice);
    let mut changed = Vec::new();
    let mut created = 0;
    for action in actions {
        match action {
            SyncAction::CreateType(_)
            | SyncAction::UpdateType(_)
            | SyncAction::OrphanType(_)
            | SyncAction::CreateItem(_) => {}
            SyncAction::DeleteType { instances, .. } | SyncAction::DeleteItem { instances, .. } => {
                changed.extend(instances.iter().map(|instance| instance.id));
            }
            SyncAction::UpdateItem(row) => changed.extend_from_slice(of_item(&row.key)),
            SyncAction::OrphanItem(key) => changed.extend_from_slice(of_item(key)),
            SyncAction::RenameItem { from, .. } => changed.extend_from_slice(of_item(from)),
            SyncAction::CreateDefaultInstance { id, .. } => {
                created += 1;
                changed.push(*id);
            }
            SyncAction::DeleteInstance { id, .. } => changed.push(*id),
        }
    }
    let total = state.instances.len() + created;
    (!too_much_to_list(changed.len(), total)).then_some(changed)
}

/// Inserts new instances (already validated and sealed), refusing a name its item already
/// has in that scope, or one the batch itself repeats.
pub(crate) fn create(
    store: &dyn Store,
    records: &[InstanceRecord],
    actor: &str,
) -> Result<(), Error> {
    write(store, |tx| Ok(((), create_in(tx, records, actor)?)))
}

/// [`create`]'s work inside a transaction: the name checks and the rows; returns the audit
/// rows.
fn create_in(
    tx: &mut dyn Transaction,
    records: &[InstanceRecord],
    actor: &str,
) -> Result<Vec<AuditEntry>, Error> {
    let keys: Vec<NameKey<'_>> = records.iter().map(NameKey::of).collect();
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    let taken = tx.find_instances(&keys)?;
    for (index, (record, key)) in records.iter().zip(&keys).enumerate() {
        let holder = taken.get(index).copied().flatten();
        if holder.is_some() || !seen.insert(*key) {
            return Err(duplicate_name(record));
        }
    }
    if !records.is_empty() {
        tx.insert_instances(records)?;
    }
    Ok(records
        .iter()
        .map(|record| {
            let detail = format!("name={:?} item={}", record.meta.name, record.meta.item);
            AuditEntry::new(actor, "create", Some(record.meta.id), detail)
        })
        .collect())
}

/// Refuses a hand edit of an instance a declared file manages: the file is where it changes
/// (or the operator releases it first), or the next apply would undo the edit.
fn refuse_managed(record: &InstanceRecord) -> Result<(), Error> {
    match &record.managed_by {
        Some(file) => Err(Error::ManagedByFile {
            id: record.meta.id,
            instance: record.meta.name.clone(),
            file: file.clone(),
        }),
        None => Ok(()),
    }
}

fn duplicate_name(record: &InstanceRecord) -> Error {
    Error::DuplicateInstanceName {
        item: record.meta.item.to_string(),
        name: record.meta.name.clone(),
        scope: record.meta.scope.clone(),
    }
}

/// A change to one instance, as the runtime computed it (config already sealed).
#[derive(Debug, Clone, Default)]
pub(crate) struct InstanceChange {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) status: Option<Status>,
    pub(crate) priority: Option<i32>,
    /// The new sealed config, with the names of the config fields whose values changed.
    pub(crate) config: Option<(Vec<u8>, Vec<String>)>,
    /// Who manages the instance from now on: `Some(Some(file))` a declared file (an apply),
    /// `Some(None)` the operators again (a release). `None` leaves it, and is refused for an
    /// instance a file manages.
    pub(crate) managed_by: Option<Option<String>>,
}

impl InstanceChange {
    /// The record after this change and the names of what actually changed ("description",
    /// "config (endpoint)"): fields set to the value they already had are not changes.
    fn applied_to(&self, current: &InstanceRecord) -> (InstanceRecord, Vec<String>) {
        let mut next = current.clone();
        let mut changed = Vec::new();
        if let Some(name) = &self.name
            && *name != current.meta.name
        {
            next.meta.name = name.clone();
            changed.push("name".to_owned());
        }
        if let Some(description) = &self.description
            && *description != current.description
        {
            next.description = description.clone();
            changed.push("description".to_owned());
        }
        if let Some(status) = self.status
            && status != current.meta.status
        {
            next.meta.status = status;
            changed.push("status".to_owned());
        }
        if let Some(priority) = self.priority
            && priority != current.meta.priority
        {
            next.meta.priority = priority;
            changed.push("priority".to_owned());
        }
        if let Some((sealed, fields)) = &self.config
            && !fields.is_empty()
        {
            next.sealed_config = Some(sealed.clone());
            changed.push(format!("config ({})", fields.join(", ")));
        }
        if let Some(managed_by) = &self.managed_by
            && *managed_by != current.managed_by
        {
            next.managed_by = managed_by.clone();
            changed.push(match managed_by {
                Some(file) => format!("managed by {file}"),
                None => "released from its file".to_owned(),
            });
        }
        (next, changed)
    }
}

/// One instance's change in a batch: the instance, the version its writer read, the change.
pub(crate) type Edit = (InstanceId, i64, InstanceChange);

/// Applies each change to its instance if that is still at the version its writer read (else
/// [`Error::Conflict`], and nothing is written), in one transaction: one audit row per
/// instance actually changed (changes that change nothing write nothing); a renamed instance
/// may not take a name another instance (or another rename of the batch) holds. Returns each
/// instance's record after the batch, in the order of `edits`.
pub(crate) fn update(
    store: &dyn Store,
    edits: &[Edit],
    actor: &str,
) -> Result<Vec<InstanceRecord>, Error> {
    write(store, |tx| update_in(tx, edits, actor))
}

/// [`update`]'s work inside a transaction: the records after the batch, and the audit rows.
fn update_in(
    tx: &mut dyn Transaction,
    edits: &[Edit],
    actor: &str,
) -> Result<(Vec<InstanceRecord>, Vec<AuditEntry>), Error> {
    let ids: Vec<InstanceId> = edits.iter().map(|(id, ..)| *id).collect();
    let mut distinct = std::collections::HashSet::new();
    if let Some(twice) = ids.iter().find(|id| !distinct.insert(**id)) {
        return Err(Error::InvalidInput {
            field: "instances",
            reason: format!("instance {twice} is changed twice in one batch"),
        });
    }
    let current: std::collections::HashMap<InstanceId, InstanceRecord> = existing(tx, &ids)?
        .into_iter()
        .map(|record| (record.meta.id, record))
        .collect();
    let now = SystemTime::now();
    let mut results = Vec::with_capacity(edits.len());
    let mut written = Vec::new();
    let mut audit = Vec::new();
    let mut renamed = Vec::new();
    for (id, expected_version, change) in edits {
        let current = &current[id];
        if change.managed_by.is_none() {
            refuse_managed(current)?;
        }
        if current.meta.version != *expected_version {
            return Err(Error::Conflict {
                id: *id,
                expected: *expected_version,
                actual: current.meta.version,
            });
        }
        let (mut next, changed) = change.applied_to(current);
        if changed.is_empty() {
            results.push(current.clone());
            continue;
        }
        if next.meta.name != current.meta.name {
            renamed.push(written.len());
        }
        next.meta.version += 1;
        next.updated_at = now;
        let detail = format!("changed: {}", changed.join(", "));
        audit.push(AuditEntry::new(actor, "update", Some(*id), detail));
        results.push(next.clone());
        written.push(next);
    }
    let keys: Vec<NameKey<'_>> = renamed.iter().map(|&i| NameKey::of(&written[i])).collect();
    let taken = tx.find_instances(&keys)?;
    let mut seen = std::collections::HashSet::new();
    for (index, key) in keys.iter().enumerate() {
        if taken.get(index).copied().flatten().is_some() || !seen.insert(*key) {
            return Err(duplicate_name(&written[renamed[index]]));
        }
    }
    if !written.is_empty() {
        tx.update_instances(&written)?;
    }
    Ok((results, audit))
}

/// The listed instances, or [`Error::UnknownInstance`] naming the first that does not exist
/// (the rule of every action on many instances: all of them, or none).
fn existing(tx: &mut dyn Transaction, ids: &[InstanceId]) -> Result<Vec<InstanceRecord>, Error> {
    let found = tx.instances_by_id(ids)?;
    match ids
        .iter()
        .find(|id| !found.iter().any(|record| record.meta.id == **id))
    {
        Some(missing) => Err(Error::UnknownInstance(*missing)),
        None => Ok(found),
    }
}

/// A bulk action on many instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkEdit {
    Status(Status),
    Priority(PriorityChange),
    /// Hands instances a declared file manages back to the operators.
    Release,
}

/// Applies `edit` to every listed instance (each must exist; otherwise nothing changes) in
/// one transaction: one audit row per instance it changes, versions bumped only for those.
/// Returns how many changed.
pub(crate) fn bulk_edit(
    store: &dyn Store,
    ids: &[InstanceId],
    edit: BulkEdit,
    actor: &str,
) -> Result<usize, Error> {
    write(store, |tx| {
        let found = existing(tx, ids)?;
        if edit != BulkEdit::Release {
            found.iter().try_for_each(refuse_managed)?;
        }
        let now = SystemTime::now();
        let mut changed = Vec::new();
        let mut audit = Vec::new();
        for mut record in found {
            if edit == BulkEdit::Release
                && let Some(file) = record.managed_by.take()
            {
                let detail = format!("released from {file}");
                audit.push(AuditEntry::new(
                    actor,
                    "release",
                    Some(record.meta.id),
                    detail,
                ));
                record.meta.version += 1;
                record.updated_at = now;
                changed.push(record);
                continue;
            }
            let meta = &mut record.meta;
            let entry = match edit {
                BulkEdit::Status(status) if status != meta.status => {
                    meta.status = status;
                    AuditEntry::new(actor, "status", Some(meta.id), status.as_str().into())
                }
                BulkEdit::Priority(change) if change.apply(meta.priority) != meta.priority => {
                    let (from, to) = (meta.priority, change.apply(meta.priority));
                    meta.priority = to;
                    AuditEntry::new(actor, "priority", Some(meta.id), format!("{from} -> {to}"))
                }
                _ => continue,
            };
            meta.version += 1;
            record.updated_at = now;
            audit.push(entry);
            changed.push(record);
        }
        if !changed.is_empty() {
            tx.update_instances(&changed)?;
        }
        Ok((changed.len(), audit))
    })
}

/// Deletes the listed instances in one transaction: each must exist (otherwise nothing is
/// deleted), and none may be managed by a declared file; one audit row per instance. Returns
/// how many were deleted.
pub(crate) fn delete(store: &dyn Store, ids: &[InstanceId], actor: &str) -> Result<usize, Error> {
    write(store, |tx| delete_in(tx, ids, actor, Managed::Refuse, ""))
}

/// Whether a write may touch instances a declared file manages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Managed {
    Refuse,
    /// The write is that file's own apply.
    Allow,
}

/// [`delete`]'s work inside a transaction; `detail` goes into each audit row.
fn delete_in(
    tx: &mut dyn Transaction,
    ids: &[InstanceId],
    actor: &str,
    managed: Managed,
    detail: &str,
) -> Result<(usize, Vec<AuditEntry>), Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found = existing(tx, &ids)?;
    if managed == Managed::Refuse {
        found.iter().try_for_each(refuse_managed)?;
    }
    if ids.is_empty() {
        return Ok((0, Vec::new()));
    }
    let deleted = tx.delete_instances(&ids)?;
    let audit = ids
        .iter()
        .map(|id| AuditEntry::new(actor, "delete", Some(*id), detail.to_owned()))
        .collect();
    Ok((deleted, audit))
}

/// The writes of one applied declared file: its creates, updates and deletes in one
/// transaction (all or nothing: a conflict with an edit made since the plan was read, a name
/// taken meanwhile, an instance gone, each aborts the whole apply). Every audit row names the
/// file and its digest (`from`), and one more row sums the apply up.
pub(crate) fn apply_declared(
    store: &dyn Store,
    creates: &[InstanceRecord],
    edits: &[Edit],
    deletes: &[InstanceId],
    actor: &str,
    from: &str,
) -> Result<(), Error> {
    write(store, |tx| {
        let mut audit = create_in(tx, creates, actor)?;
        let (_, updated) = update_in(tx, edits, actor)?;
        audit.extend(updated);
        let (_, deleted) = delete_in(tx, deletes, actor, Managed::Allow, "")?;
        audit.extend(deleted);
        if audit.is_empty() {
            return Ok(((), audit));
        }
        for entry in &mut audit {
            entry.detail = match entry.detail.is_empty() {
                true => from.to_owned(),
                false => format!("{from}: {}", entry.detail),
            };
        }
        let summary = format!(
            "{from}: {} created, {} updated, {} deleted",
            creates.len(),
            audit
                .iter()
                .filter(|entry| entry.action == "update")
                .count(),
            deletes.len()
        );
        audit.push(AuditEntry::new(actor, "apply", None, summary));
        Ok(((), audit))
    })
}

/// Sets tenants' switches of global instances in one transaction: each instance must exist
/// and be global (a tenant's own instances are switched by their status). One audit row per
/// switch that changes (`activation`, naming the tenant and what it is now); the revision
/// moves, logging the switches, only when one did. Returns how many changed.
pub(crate) fn activate(
    store: &dyn Store,
    switches: &[(ActivationKey, Activation)],
    actor: &str,
) -> Result<usize, Error> {
    let mut output = 0;
    store.write(&mut |tx| {
        let mut ids: Vec<InstanceId> = switches.iter().map(|(key, _)| key.instance).collect();
        ids.sort_unstable();
        ids.dedup();
        for record in existing(tx, &ids)? {
            if let Some(scope) = &record.meta.scope {
                return Err(Error::InvalidInput {
                    field: "instance",
                    reason: format!(
                        "`{}` belongs to tenant `{scope}`: a tenant switches global instances \
                         only (its own ones have their status)",
                        record.meta.name
                    ),
                });
            }
        }
        let keys: Vec<ActivationKey> = switches.iter().map(|(key, _)| key.clone()).collect();
        let stored: HashMap<ActivationKey, bool> = tx
            .activations_by_key(&keys)?
            .into_iter()
            .map(|record| (record.key, record.on))
            .collect();
        let mut set = Vec::new();
        let mut removed = Vec::new();
        let mut audit = Vec::new();
        let mut changed: Vec<ActivationKey> = Vec::new();
        for (key, activation) in switches {
            if changed.contains(key) {
                continue;
            }
            let now = stored.get(key).copied();
            let wanted = match activation {
                Activation::On => Some(true),
                Activation::Off => Some(false),
                Activation::Default => None,
            };
            if now == wanted {
                continue;
            }
            match wanted {
                Some(on) => set.push(ActivationRecord {
                    key: key.clone(),
                    on,
                    updated_at: SystemTime::now(),
                }),
                None => removed.push(key.clone()),
            }
            let said = match activation {
                Activation::On => "on",
                Activation::Off => "off",
                Activation::Default => "as its item says",
            };
            let detail = format!("tenant `{}`: {said}", key.scope);
            audit.push(AuditEntry::new(
                actor,
                "activation",
                Some(key.instance),
                detail,
            ));
            changed.push(key.clone());
        }
        if changed.is_empty() {
            output = 0;
            return Ok(());
        }
        tx.remove_activations(&removed)?;
        tx.set_activations(&set)?;
        tx.append_audit(&audit)?;
        tx.bump_revision(Changed::Activations(&changed))?;
        output = changed.len();
        Ok(())
    })?;
    Ok(output)
}

/// A config a migration re-seals: its new envelope, and the versions it goes from and to.
pub(crate) struct Resealed {
    pub sealed: Vec<u8>,
    pub from: u32,
    pub to: u32,
}

/// The step of a config migration for one row: `None` keeps it as it is (already current, or
/// nothing this migration reads), `Some(Err(reason))` keeps it and reports why.
pub(crate) type Migrate<'a> = dyn Fn(&InstanceRecord) -> Option<Result<Resealed, String>> + 'a;

/// What a migration did to one instance (its row as it is after the write): re-sealed from
/// one version to another, or kept and why.
pub(crate) type Migrated = (InstanceRecord, Result<(u32, u32), String>);

/// Re-seals the configs `migrate` upgrades, in one transaction, one audit row per instance;
/// a row it cannot upgrade is reported and kept as it was, never half-written. A dry run reads
/// the same rows and writes nothing.
pub(crate) fn migrate_configs(
    store: &dyn Store,
    migrate: &Migrate<'_>,
    dry_run: bool,
    actor: &str,
) -> Result<Vec<Migrated>, Error> {
    let step = |all: Vec<InstanceRecord>| -> Vec<Migrated> {
        let now = SystemTime::now();
        all.into_iter()
            .filter_map(|mut record| {
                let outcome = migrate(&record)?;
                Some(match outcome {
                    Ok(resealed) => {
                        record.sealed_config = Some(resealed.sealed);
                        record.meta.version += 1;
                        record.updated_at = now;
                        (record, Ok((resealed.from, resealed.to)))
                    }
                    Err(reason) => (record, Err(reason)),
                })
            })
            .collect()
    };
    if dry_run {
        return Ok(step(store.instances()?));
    }
    write_changing(store, |tx| {
        let all = tx.instances()?;
        let total = all.len();
        let outcomes = step(all);
        let rewritten: Vec<InstanceRecord> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(record, _)| record.clone())
            .collect();
        if rewritten.is_empty() {
            return Ok((outcomes, Vec::new(), Some(Vec::new())));
        }
        tx.update_instances(&rewritten)?;
        let audit = outcomes
            .iter()
            .filter_map(|(record, outcome)| {
                let (from, to) = outcome.as_ref().ok()?;
                let detail = format!("config version {from} → {to}");
                Some(AuditEntry::new(
                    actor,
                    "migrate",
                    Some(record.meta.id),
                    detail,
                ))
            })
            .collect();
        // The audit rows name each instance; past the listing limit, a full reload is cheaper.
        let changed = (!too_much_to_list(rewritten.len(), total)).then(Vec::new);
        Ok((outcomes, audit, changed))
    })
}

/// The re-encryption step of a key rotation: an instance's id and envelope in, the new
/// envelope out (`None`: keep it).
pub(crate) type Reseal<'a> = dyn Fn(InstanceId, &[u8]) -> Result<Option<Vec<u8>>, Error> + 'a;

/// Rewrites sealed configs in one transaction (key rotation): the first error aborts it,
/// leaving every row as it was. Versions do not change (the values do not). Returns how many
/// rows were rewritten.
pub(crate) fn reseal(store: &dyn Store, reseal: &Reseal<'_>, actor: &str) -> Result<usize, Error> {
    write_changing(store, |tx| {
        let mut rewritten = Vec::new();
        let all = tx.instances()?;
        let total = all.len();
        for mut record in all {
            if let Some(sealed) = &record.sealed_config
                && let Some(next) = reseal(record.meta.id, sealed)?
            {
                record.sealed_config = Some(next);
                rewritten.push(record);
            }
        }
        if rewritten.is_empty() {
            return Ok((0, Vec::new(), Some(Vec::new())));
        }
        tx.update_instances(&rewritten)?;
        let detail = format!("{} config(s) re-encrypted", rewritten.len());
        let changed = (!too_much_to_list(rewritten.len(), total))
            .then(|| rewritten.iter().map(|record| record.meta.id).collect());
        Ok((
            rewritten.len(),
            vec![AuditEntry::new(actor, "reseal", None, detail)],
            changed,
        ))
    })
}
