//! Lookups: the hot path. Each reads the current snapshot (an atomic load), probes one map
//! and clones an `Arc`: no query, no decryption, no lock.

use std::any::TypeId;
use std::sync::Arc;

use super::Plugins;
use super::health::{AllFailed, Outcome, Served};
use super::snapshot::{EntryState, TenantAccess};
use crate::Error;
use crate::instance::InstanceMeta;
use crate::keys::InstanceId;
use crate::registration::{Loaded, Plugin, PluginType};
use crate::select::{Context, InOrder, Selector};

impl Plugins {
    /// The selected plugin of type `T`: the first ACTIVE instance by (priority, id); if none,
    /// the first RESERVED one; DISABLED, orphaned and unloadable instances are never chosen.
    /// Global instances only: tenants' instances are served by [`scoped`](Self::scoped).
    pub fn get<T: ?Sized + PluginType>(&self) -> Result<Plugin<T>, Error> {
        self.get_in::<T>(None)
    }

    /// Calls `f` with the selected plugin of type `T` (as [`get`](Self::get) selects it) and
    /// its metadata, without taking a reference count: for the hottest paths, where many
    /// threads look up the same plugin at once and the shared count would be contended.
    pub fn with<T: ?Sized + PluginType, R>(
        &self,
        f: impl FnOnce(&T, &InstanceMeta) -> R,
    ) -> Result<R, Error> {
        let snapshot = self.inner.snapshot.load();
        let loaded = snapshot
            .view(None, TypeId::of::<T>())
            .first()
            .and_then(|plugin| plugin.downcast_ref::<Loaded<T>>())
            .ok_or_else(|| self.no_instance::<T>(None))?;
        Ok(f(&loaded.plugin, &loaded.meta))
    }

    /// Every loadable ACTIVE instance of `T`, in selection order.
    pub fn active<T: ?Sized + PluginType>(&self) -> Vec<Plugin<T>> {
        self.part_in::<T>(None, Part::Active)
    }

    /// Every loadable RESERVED instance of `T`, in selection order.
    pub fn reserved<T: ?Sized + PluginType>(&self) -> Vec<Plugin<T>> {
        self.part_in::<T>(None, Part::Reserved)
    }

    /// The plugin of type `T` that the type's selector picks for this request (the default
    /// selection when the type has none). See [`crate::select`].
    pub fn select<T: ?Sized + PluginType>(&self, context: &Context) -> Result<Plugin<T>, Error> {
        self.select_in::<T>(None, context)
    }

    /// Lookups for one scope (a tenant): its own instances first, then the global ones
    /// (ACTIVE ones of both before any RESERVED one).
    pub fn scoped<'a>(&'a self, scope: &'a str) -> Scoped<'a> {
        Scoped {
            plugins: self,
            scope,
        }
    }

    /// Sets the selector of type `T` for [`select`](Self::select), replacing the one its
    /// `#[plugin_type(selector = ...)]` declares.
    pub fn set_selector<T: ?Sized + PluginType>(&self, selector: impl Selector) {
        let selector: Arc<dyn Selector> = Arc::new(selector);
        self.inner.selectors.rcu(|current| {
            let mut next = (**current).clone();
            next.insert(TypeId::of::<T>(), Arc::clone(&selector));
            next
        });
    }

    fn get_in<T: ?Sized + PluginType>(&self, scope: Option<&str>) -> Result<Plugin<T>, Error> {
        let snapshot = self.inner.snapshot.load();
        snapshot
            .selected(scope, TypeId::of::<T>())
            .and_then(Plugin::from_erased)
            .ok_or_else(|| self.no_instance::<T>(scope))
    }

    pub(super) fn part_in<T: ?Sized + PluginType>(
        &self,
        scope: Option<&str>,
        part: Part,
    ) -> Vec<Plugin<T>> {
        let snapshot = self.inner.snapshot.load();
        let view = snapshot.view(scope, TypeId::of::<T>());
        match part {
            Part::Active => view.active().filter_map(Plugin::from_erased).collect(),
            Part::Reserved => view.reserved().filter_map(Plugin::from_erased).collect(),
        }
    }

    fn select_in<T: ?Sized + PluginType>(
        &self,
        scope: Option<&str>,
        context: &Context,
    ) -> Result<Plugin<T>, Error> {
        let snapshot = self.inner.snapshot.load();
        let view = snapshot.view(scope, TypeId::of::<T>());
        let selectors = self.inner.selectors.load();
        let selector: &dyn Selector = match selectors.get(&TypeId::of::<T>()) {
            Some(selector) => selector.as_ref(),
            None => &InOrder,
        };
        selector
            .select(&view.candidates(&mut Vec::new()), context)
            .and_then(|index| view.plugin_at(index))
            .and_then(Plugin::from_erased)
            .ok_or_else(|| self.no_instance::<T>(scope))
    }
}

/// Which candidates a list lookup returns.
#[derive(Clone, Copy)]
pub(super) enum Part {
    Active,
    Reserved,
}

impl Plugins {
    /// The error of a lookup of `T` in `scope` that found nothing: naming the instances that
    /// would have served but do not load, and why.
    fn no_instance<T: ?Sized + PluginType>(&self, scope: Option<&str>) -> Error {
        let snapshot = self.inner.snapshot.load();
        let wanted = TypeId::of::<T>();
        let registry = self.inner.registry;
        let serves = |item: &crate::keys::ItemKey| {
            registry.item(item).is_ok_and(|item| {
                item.serves().any(|mut info| {
                    loop {
                        if info.trait_object_id() == wanted {
                            break true;
                        }
                        match info.parent() {
                            Some(parent) => info = parent,
                            None => break false,
                        }
                    }
                })
            })
        };
        let (unloadable, checked_all) =
            snapshot.unloadable_for(scope, &serves, crate::error::UNLOADABLE_CHECKED);
        let more = unloadable
            .len()
            .saturating_sub(crate::error::UNLOADABLE_LISTED);
        let unloadable = unloadable
            .into_iter()
            .take(crate::error::UNLOADABLE_LISTED)
            .filter_map(|entry| match &entry.state {
                EntryState::Failed(reason) => Some(format!("`{}`: {reason}", entry.meta.name)),
                _ => None,
            })
            .collect();
        Error::NoInstance {
            plugin_type: T::info().key().to_string(),
            scope: scope.map(str::to_owned),
            unloadable,
            more,
            checked_all,
        }
    }
}

/// Lookups for one scope (tenant), from [`Plugins::scoped`]: the tenant's instances first,
/// then the global ones.
#[derive(Clone, Copy)]
pub struct Scoped<'a> {
    plugins: &'a Plugins,
    scope: &'a str,
}

impl Scoped<'_> {
    /// The selected plugin of type `T` for this scope.
    pub fn get<T: ?Sized + PluginType>(&self) -> Result<Plugin<T>, Error> {
        self.plugins.get_in::<T>(Some(self.scope))
    }

    /// Every loadable ACTIVE instance of `T` for this scope, the scope's own first.
    pub fn active<T: ?Sized + PluginType>(&self) -> Vec<Plugin<T>> {
        self.plugins.part_in::<T>(Some(self.scope), Part::Active)
    }

    /// Every loadable RESERVED instance of `T` for this scope, the scope's own first.
    pub fn reserved<T: ?Sized + PluginType>(&self) -> Vec<Plugin<T>> {
        self.plugins.part_in::<T>(Some(self.scope), Part::Reserved)
    }

    /// The plugin the type's selector picks among this scope's candidates.
    pub fn select<T: ?Sized + PluginType>(&self, context: &Context) -> Result<Plugin<T>, Error> {
        self.plugins.select_in::<T>(Some(self.scope), context)
    }

    /// The instance `id` as [`Plugins::get_by_id`] serves it, when this scope may be served
    /// it: the scope's own instances and the global ones, never another tenant's
    /// ([`Error::OtherScope`]). What a request of this tenant that names an instance (a
    /// plugin's route, say) reads.
    pub fn get_by_id<T: ?Sized + PluginType>(&self, id: InstanceId) -> Result<Plugin<T>, Error> {
        let plugin = self.plugins.get_by_id::<T>(id)?;
        let refused = |why| Error::NotServedToTenant {
            id,
            instance: plugin.meta().name.clone(),
            tenant: self.scope.to_owned(),
            why,
        };
        match &plugin.meta().scope {
            Some(scope) if scope != self.scope => Err(Error::OtherScope {
                id,
                instance: plugin.meta().name.clone(),
                scope: scope.clone(),
                asked: self.scope.to_owned(),
            }),
            Some(_) => Ok(plugin),
            None => {
                let snapshot = self.plugins.inner.snapshot.load();
                let access = snapshot
                    .entry(id)
                    .map(|entry| snapshot.tenant_access(self.scope, entry));
                match access {
                    Some(TenantAccess::SwitchedOff) => Err(refused("the tenant switched it off")),
                    Some(TenantAccess::NeedsActivation) => Err(refused(
                        "its item is activated per tenant, and the tenant has not switched it on",
                    )),
                    _ => Ok(plugin),
                }
            }
        }
    }

    /// Broadcast in this scope: [`Plugins::each`] over this scope's ACTIVE instances (its
    /// own, then the global ones).
    pub fn each<T: ?Sized + PluginType, R, E>(
        &self,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Vec<Outcome<R, E>> {
        self.plugins.each_in(Some(self.scope), call)
    }

    /// Failover in this scope: [`Plugins::first_ok`] over this scope's candidates.
    pub fn first_ok<T: ?Sized + PluginType, R, E>(
        &self,
        call: impl Fn(&T) -> Result<R, E>,
    ) -> Result<Served<T, R, E>, AllFailed<E>> {
        self.plugins.first_ok_in(Some(self.scope), call)
    }

    /// [`each`](Self::each) for async plugin methods, each call with its own `timeout`
    /// (feature `async`).
    #[cfg(feature = "async")]
    pub async fn each_async<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        timeout: std::time::Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Vec<Outcome<R, E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        self.plugins
            .each_async_in(Some(self.scope), timeout, call)
            .await
    }

    /// [`first_ok`](Self::first_ok) for async plugin methods, each attempt with its own
    /// `timeout` (feature `async`).
    #[cfg(feature = "async")]
    pub async fn first_ok_async<T: ?Sized + PluginType, R, E, Fut>(
        &self,
        timeout: std::time::Duration,
        call: impl Fn(Plugin<T>) -> Fut,
    ) -> Result<Served<T, R, E>, AllFailed<E>>
    where
        Fut: Future<Output = Result<R, E>>,
    {
        self.plugins
            .first_ok_async_in(Some(self.scope), timeout, call)
            .await
    }

    /// The tenant these lookups are for.
    pub fn scope(&self) -> &str {
        self.scope
    }
}

impl std::fmt::Debug for Scoped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoped")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
