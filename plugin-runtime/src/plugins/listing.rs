//! What operators' tools read: pages of instances filtered, searched and sorted from the
//! snapshot (no query), counts per type, one stored record, and the audit trail. The admin
//! and the CLI read only through these.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::Plugins;
use super::snapshot::{Entry, EntryState, Snapshot};
use crate::Error;
use crate::instance::{InstanceMeta, InstanceRecord};
use crate::keys::{InstanceId, Status};
use crate::keys::{ItemKey, TypeKey};
use crate::store::{AuditQuery, AuditRecord};

/// Which instances [`Plugins::instances`] lists, in which order, and which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceQuery {
    /// Only instances of this plugin type (its own items; not its sub-types').
    pub plugin_type: Option<TypeKey>,
    /// Only instances of this item.
    pub item: Option<ItemKey>,
    /// Only instances with this status.
    pub status: Option<Status>,
    /// Only global instances, or only one tenant's.
    pub scope: Option<ScopeFilter>,
    /// Only instances whose name, item, scope, description or id contains this text
    /// (case-insensitive).
    pub search: Option<String>,
    /// Only instances that do not load (bad config, wrong key, failed constructor, orphaned).
    pub problems_only: bool,
    /// The order of the rows.
    pub sort: InstanceSort,
    /// Reverse the order.
    pub descending: bool,
    /// How many matching rows to skip.
    pub offset: usize,
    /// At most this many rows (default 50).
    pub limit: usize,
}

impl Default for InstanceQuery {
    fn default() -> Self {
        InstanceQuery {
            plugin_type: None,
            item: None,
            status: None,
            scope: None,
            search: None,
            problems_only: false,
            sort: InstanceSort::Item,
            descending: false,
            offset: 0,
            limit: 50,
        }
    }
}

/// Global instances, or one tenant's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFilter {
    /// Instances without a scope.
    Global,
    /// The instances of this tenant.
    Tenant(String),
}

/// How [`InstanceQuery`] orders rows. Ties are broken by item, then selection order
/// (status, priority, id), so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstanceSort {
    /// By item key, then selection order: each item's instances as lookups rank them.
    #[default]
    Item,
    /// By instance name.
    Name,
    /// By status (ACTIVE, RESERVED, DISABLED).
    Status,
    /// By priority.
    Priority,
    /// By scope (global first).
    Scope,
    /// By last change, oldest first.
    Updated,
}

/// One page of [`Plugins::instances`].
#[derive(Debug, Clone)]
pub struct InstancePage {
    /// How many instances match the query (on every page).
    pub total: usize,
    /// The rows of this page.
    pub rows: Vec<InstanceSummary>,
}

/// One listed instance: its metadata, and how it serves now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSummary {
    /// Id, name, item, status, priority, scope, version.
    pub meta: InstanceMeta,
    /// The operator's description.
    pub description: String,
    /// When the row last changed.
    pub updated_at: SystemTime,
    /// Whether it loads, and why not.
    pub load: LoadState,
    /// True when it is what [`Plugins::get`] (for a global instance) or
    /// `scoped(scope).get` (for a tenant's) returns for its type right now.
    pub serving: bool,
    /// The declared file that manages it (edited there, read-only elsewhere), if any.
    pub managed_by: Option<String>,
}

/// Whether an instance loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadState {
    /// Constructed and ready to serve.
    Loaded,
    /// It does not load: why (never a config value).
    Failed(String),
    /// Its item's code is gone.
    Orphaned,
    /// DISABLED, of an item with start and stop hooks: built and started only when enabled.
    NotStarted,
}

/// How many instances of one type are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// ACTIVE instances.
    pub active: usize,
    /// RESERVED instances.
    pub reserved: usize,
    /// DISABLED instances.
    pub disabled: usize,
    /// Instances that do not load (whatever their status).
    pub failing: usize,
}

impl Plugins {
    /// A page of instances from the snapshot (what lookups serve now: no query). To include
    /// other processes' writes of the last `max_staleness`, call [`refresh`](Self::refresh)
    /// first.
    pub fn instances(&self, query: &InstanceQuery) -> InstancePage {
        let snapshot = self.inner.snapshot.load();
        let needle = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_lowercase);
        let mut matching: Vec<&Entry> = snapshot
            .entries()
            .filter(|entry| matches(query, needle.as_deref(), entry))
            .collect();
        let order = |entry: &&Entry| {
            let meta = &entry.meta;
            (meta.item.clone(), meta.status, meta.priority, meta.id)
        };
        match query.sort {
            InstanceSort::Item => matching.sort_by_cached_key(order),
            InstanceSort::Name => matching.sort_by_cached_key(|e| (e.meta.name.clone(), order(e))),
            InstanceSort::Status => matching.sort_by_cached_key(|e| (e.meta.status, order(e))),
            InstanceSort::Priority => {
                matching.sort_by_cached_key(|e| (e.meta.priority, order(e)));
            }
            InstanceSort::Scope => {
                matching.sort_by_cached_key(|e| (e.meta.scope.clone(), order(e)));
            }
            InstanceSort::Updated => matching.sort_by_cached_key(|e| (e.updated_at, order(e))),
        }
        if query.descending {
            matching.reverse();
        }
        let total = matching.len();
        let rows = matching
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|entry| summary(&snapshot, entry))
            .collect();
        InstancePage { total, rows }
    }

    /// How many instances of each plugin type are ACTIVE, RESERVED, DISABLED and failing, from
    /// the snapshot. Types without instances are left out.
    pub fn instance_counts(&self) -> BTreeMap<TypeKey, StatusCounts> {
        let snapshot = self.inner.snapshot.load();
        let mut counts: BTreeMap<TypeKey, StatusCounts> = BTreeMap::new();
        for entry in snapshot.entries() {
            let count = counts.entry(entry.meta.item.type_key.clone()).or_default();
            match entry.meta.status {
                Status::Active => count.active += 1,
                Status::Reserved => count.reserved += 1,
                Status::Disabled => count.disabled += 1,
            }
            if !matches!(
                entry.state,
                EntryState::Loaded { .. } | EntryState::NotStarted
            ) {
                count.failing += 1;
            }
        }
        counts
    }

    /// The stored row of one instance, read from the store now (for an edit form: its
    /// version is the one a save must carry).
    pub fn instance(&self, id: InstanceId) -> Result<InstanceRecord, Error> {
        self.inner
            .store
            .instance(id)?
            .ok_or(Error::UnknownInstance(id))
    }

    /// Rows of the audit trail, newest first: the latest, older or newer than a row, or one
    /// instance's history (see [`AuditQuery`]).
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        Ok(self.inner.store.audit(query)?)
    }
}

fn matches(query: &InstanceQuery, needle: Option<&str>, entry: &Entry) -> bool {
    let meta = &entry.meta;
    if query
        .plugin_type
        .as_ref()
        .is_some_and(|key| *key != meta.item.type_key)
        || query.item.as_ref().is_some_and(|key| *key != meta.item)
        || query.status.is_some_and(|status| status != meta.status)
        || query.problems_only
            && matches!(
                entry.state,
                EntryState::Loaded { .. } | EntryState::NotStarted
            )
    {
        return false;
    }
    match &query.scope {
        Some(ScopeFilter::Global) if meta.scope.is_some() => return false,
        Some(ScopeFilter::Tenant(tenant)) if meta.scope.as_ref() != Some(tenant) => return false,
        _ => {}
    }
    let Some(needle) = needle else {
        return true;
    };
    let contains = |text: &str| text.to_lowercase().contains(needle);
    contains(&meta.name)
        || contains(&meta.item.to_string())
        || meta.scope.as_deref().is_some_and(contains)
        || contains(&entry.description)
        || meta.id.to_string().contains(needle)
}

fn summary(snapshot: &Snapshot, entry: &Entry) -> InstanceSummary {
    let load = match &entry.state {
        EntryState::Loaded { .. } => LoadState::Loaded,
        EntryState::Failed(reason) => LoadState::Failed(reason.clone()),
        EntryState::Orphaned => LoadState::Orphaned,
        EntryState::NotStarted => LoadState::NotStarted,
    };
    InstanceSummary {
        meta: entry.meta.clone(),
        description: entry.description.clone(),
        updated_at: entry.updated_at,
        serving: snapshot.is_serving(entry),
        managed_by: entry.managed_by.clone(),
        load,
    }
}
