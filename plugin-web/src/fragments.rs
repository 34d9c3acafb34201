//! Typed page fragments: every ACTIVE instance of a plugin type renders its piece of a page.

use std::collections::HashMap;
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock, Weak};

use maud::{Markup, PreEscaped, Render};
use plugin_runtime::{InstanceId, InstanceMeta, Plugin, PluginType, Plugins};

use crate::{panic_text, read, write};

/// How many keys one instance's cache holds before it starts over.
const KEYS_PER_INSTANCE: usize = 1_024;

/// Renders the fragments of a plugin type's ACTIVE instances, in selection order, optionally
/// with a cache.
///
/// ```no_run
/// # use plugin_system::prelude::*;
/// # use plugin_system::web::Fragments;
/// #[plugin_type(name = "product_badge")]
/// pub trait ProductBadge {
///     fn badge(&self, product: &str) -> Result<maud::Markup, PluginError>;
/// }
/// # fn page(plugins: &Plugins, fragments: &Fragments) -> maud::Markup {
/// let badges = fragments.render::<dyn ProductBadge, _, _>(plugins, Some("acme"), "tea", |badge| {
///     badge.badge("tea")
/// });
/// maud::html! { div.badges { (badges) } }
/// # }
/// ```
///
/// A fragment that fails or panics is left out and reported ([`Rendered::skipped`], and a
/// warning in the log); the others are rendered. With [`cached`](Self::cached), an instance's
/// output is kept per key until the instance is built again (its config changed, or what it
/// needs did), so an operator's edit shows on the next request, and a cached fragment costs a
/// lookup. Keep one `Fragments` per slot for the life of the application (it is cheap to
/// clone; clones share the cache).
#[derive(Clone, Default)]
pub struct Fragments {
    cache: Option<Arc<RwLock<Cache>>>,
}

/// What each instance rendered, per key, and the object that rendered it.
#[derive(Default)]
struct Cache {
    by_instance: HashMap<InstanceId, Cached>,
    /// Past this many instances, those whose objects are gone are dropped.
    purge_at: usize,
}

struct Cached {
    /// The built object the fragments came from, held weakly: the cache never keeps a
    /// retired instance alive, and the object's allocation cannot be reused while the entry
    /// remembers it, so a new object never passes for the old one.
    object: Box<dyn Held>,
    by_key: HashMap<String, String>,
}

/// A weak reference to a built object of any plugin type: only its address and whether it
/// is still alive matter here.
trait Held: Send + Sync {
    fn address(&self) -> *const ();
    fn alive(&self) -> bool;
}

impl<T: ?Sized + Send + Sync> Held for Weak<T> {
    fn address(&self) -> *const () {
        self.as_ptr().cast()
    }

    fn alive(&self) -> bool {
        self.strong_count() > 0
    }
}

/// The fragments of one slot, in selection order, and the instances left out.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Each rendering instance and its HTML.
    pub fragments: Vec<(InstanceMeta, Markup)>,
    /// The instances whose fragment failed or panicked.
    pub skipped: Vec<Skipped>,
}

/// An instance left out of a slot, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The instance.
    pub meta: InstanceMeta,
    /// Its error, or the panic's message.
    pub reason: String,
}

impl Render for Rendered {
    /// The fragments one after the other.
    fn render_to(&self, buffer: &mut String) {
        for (_, fragment) in &self.fragments {
            buffer.push_str(&fragment.0);
        }
    }
}

impl Fragments {
    /// Renders on every call.
    pub fn new() -> Fragments {
        Fragments::default()
    }

    /// Keeps each instance's output per key, until the instance is built again.
    pub fn cached() -> Fragments {
        Fragments {
            cache: Some(Arc::new(RwLock::new(Cache::default()))),
        }
    }

    /// Renders every ACTIVE instance of `T` that `scope` is served (its own, then the global
    /// ones; `None`: the global ones), in selection order, through `render`. `key` names what
    /// is rendered (the page, the product) for the cache; use one key per distinct output.
    pub fn render<T, M, E>(
        &self,
        plugins: &Plugins,
        scope: Option<&str>,
        key: &str,
        render: impl Fn(&T) -> Result<M, E>,
    ) -> Rendered
    where
        T: ?Sized + PluginType,
        M: Render,
        E: Display,
    {
        let instances: Vec<Plugin<T>> = match scope {
            Some(scope) => plugins.scoped(scope).active::<T>(),
            None => plugins.active::<T>(),
        };
        let mut rendered = Rendered::default();
        for plugin in instances {
            let object = plugin.shared();
            if let Some(hit) = self.lookup(&plugin, &object, key) {
                rendered
                    .fragments
                    .push((plugin.meta().clone(), PreEscaped(hit)));
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| render(&plugin)));
            let reason = match outcome {
                Ok(Ok(markup)) => {
                    let html = markup.render().into_string();
                    self.store(&plugin, &object, key, &html);
                    rendered
                        .fragments
                        .push((plugin.meta().clone(), PreEscaped(html)));
                    continue;
                }
                Ok(Err(err)) => err.to_string(),
                Err(panic) => format!("panicked: {}", panic_text(&*panic)),
            };
            tracing::warn!(
                instance = %plugin.meta().id,
                name = %plugin.meta().name,
                %reason,
                "plugin fragment left out"
            );
            rendered.skipped.push(Skipped {
                meta: plugin.meta().clone(),
                reason,
            });
        }
        rendered
    }

    /// Drops every cached fragment (for example after a change of what the keys stand for).
    pub fn clear(&self) {
        if let Some(cache) = &self.cache {
            write(cache).by_instance.clear();
        }
    }

    fn lookup<T: ?Sized + PluginType>(
        &self,
        plugin: &Plugin<T>,
        object: &Arc<T>,
        key: &str,
    ) -> Option<String> {
        let cache = read(self.cache.as_ref()?);
        let cached = cache.by_instance.get(&plugin.meta().id)?;
        if cached.object.address() != Arc::as_ptr(object).cast() {
            return None;
        }
        cached.by_key.get(key).cloned()
    }

    fn store<T: ?Sized + PluginType>(
        &self,
        plugin: &Plugin<T>,
        object: &Arc<T>,
        key: &str,
        html: &str,
    ) {
        let Some(cache) = &self.cache else {
            return;
        };
        let mut cache = write(cache);
        let cached = cache
            .by_instance
            .entry(plugin.meta().id)
            .or_insert_with(|| Cached {
                object: Box::new(Arc::downgrade(object)),
                by_key: HashMap::new(),
            });
        // Built again since: what it rendered before is stale.
        if cached.object.address() != Arc::as_ptr(object).cast()
            || cached.by_key.len() >= KEYS_PER_INSTANCE
        {
            cached.object = Box::new(Arc::downgrade(object));
            cached.by_key.clear();
        }
        cached.by_key.insert(key.to_owned(), html.to_owned());
        if cache.by_instance.len() >= cache.purge_at.max(64) {
            cache.by_instance.retain(|_, cached| cached.object.alive());
            cache.purge_at = cache.by_instance.len() * 2;
        }
    }
}
