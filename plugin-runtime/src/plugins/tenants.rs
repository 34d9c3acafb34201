//! What one tenant is served, and why: for operators (`plugins tenant show`, the admin's
//! tenant page), read from the snapshot (no query).

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;

use super::Plugins;
use super::snapshot::{EntryState, TenantAccess};
use crate::instance::InstanceMeta;
use crate::keys::{InstanceId, Status, TypeKey};

/// Every plugin type with an instance the tenant could be served (its own, or a global one),
/// each with those instances and why each is served to the tenant or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    /// The tenant.
    pub tenant: String,
    /// Per plugin type, sorted by key.
    pub types: Vec<TenantTypeView>,
}

/// One plugin type, as one tenant is served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantTypeView {
    /// The type.
    pub plugin_type: TypeKey,
    /// The instance `scoped(tenant).get` selects now.
    pub selected: Option<InstanceId>,
    /// Its instances the tenant's own or global: the served ones first, in selection order
    /// (ACTIVE, then RESERVED, by priority), then the others.
    pub instances: Vec<TenantInstance>,
}

/// One instance, and why the tenant is served it or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInstance {
    /// The instance.
    pub meta: InstanceMeta,
    /// Whether the tenant's lookups can reach it.
    pub served: bool,
    /// Why.
    pub why: TenantReason,
}

/// Why a tenant is served an instance, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantReason {
    /// The tenant's own instance.
    Own,
    /// A global instance, served to every tenant that has not switched it off.
    Global,
    /// A global instance the tenant switched on (its item is activated per tenant, or it
    /// was switched off before).
    SwitchedOn,
    /// A global instance the tenant switched off.
    SwitchedOff,
    /// A global instance of a `per_tenant` item the tenant has not switched on.
    NeedsActivation,
    /// DISABLED: served to no one.
    Disabled,
    /// It does not load: served to no one (the reason).
    DoesNotLoad(String),
}

impl fmt::Display for TenantReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantReason::Own => f.write_str("the tenant's own"),
            TenantReason::Global => f.write_str("global"),
            TenantReason::SwitchedOn => f.write_str("global, switched on for the tenant"),
            TenantReason::SwitchedOff => f.write_str("global, switched off for the tenant"),
            TenantReason::NeedsActivation => {
                f.write_str("global, activated per tenant: not switched on")
            }
            TenantReason::Disabled => f.write_str("disabled"),
            TenantReason::DoesNotLoad(reason) => write!(f, "does not load: {reason}"),
        }
    }
}

impl Plugins {
    /// What `tenant` is served of each plugin type, and why (see [`TenantView`]). One pass
    /// over the snapshot's instances, however many types there are.
    pub fn tenant_view(&self, tenant: &str) -> TenantView {
        let snapshot = self.inner.snapshot.load();
        let registry = self.inner.registry;
        let mut by_type: HashMap<TypeId, Vec<TenantInstance>> = HashMap::new();
        for entry in snapshot.entries() {
            let Some(own_type) = entry.own_type else {
                continue;
            };
            if entry.meta.scope.as_deref().is_some_and(|own| own != tenant) {
                continue;
            }
            let (served, why) = match &entry.state {
                EntryState::Failed(reason) => (false, TenantReason::DoesNotLoad(reason.clone())),
                EntryState::Orphaned => (
                    false,
                    TenantReason::DoesNotLoad("its item's code is gone".into()),
                ),
                _ if entry.meta.status == Status::Disabled => (false, TenantReason::Disabled),
                _ if entry.meta.scope.is_some() => (true, TenantReason::Own),
                _ => match snapshot.tenant_access(tenant, entry) {
                    TenantAccess::SwitchedOn => (true, TenantReason::SwitchedOn),
                    TenantAccess::SwitchedOff => (false, TenantReason::SwitchedOff),
                    TenantAccess::NeedsActivation => (false, TenantReason::NeedsActivation),
                    TenantAccess::Default => (true, TenantReason::Global),
                },
            };
            by_type.entry(own_type).or_default().push(TenantInstance {
                meta: entry.meta.clone(),
                served,
                why,
            });
        }
        let mut types = Vec::with_capacity(by_type.len());
        for (type_id, mut instances) in by_type {
            let Some(registered) = registry.type_of(type_id) else {
                continue;
            };
            instances.sort_by(|a, b| {
                (!a.served, a.meta.status, a.meta.priority, &a.meta.name).cmp(&(
                    !b.served,
                    b.meta.status,
                    b.meta.priority,
                    &b.meta.name,
                ))
            });
            types.push(TenantTypeView {
                plugin_type: registered.info.key(),
                selected: snapshot
                    .view(Some(tenant), type_id)
                    .first_meta()
                    .map(|meta| meta.id),
                instances,
            });
        }
        types.sort_by(|a, b| a.plugin_type.cmp(&b.plugin_type));
        TenantView {
            tenant: tenant.to_owned(),
            types,
        }
    }
}
