//! What `#[plugin_type]` and `#[plugin_item]` register: static descriptors the linker collects.
//!
//! The macros build these as `static`s inside the user's crate and add them to the two
//! distributed slices of [`crate::__private`]. Nothing here runs code at start-up: the registry
//! reads the slices when the application first asks for it.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::PluginConfig;
use crate::action::ActionInfo;
use crate::config::{ConfigSchema, ConfigValues};
use crate::error::PluginError;
use crate::instance::InstanceMeta;
use crate::keys::{ItemKey, TypeKey};
use crate::select::Selector;

/// Where a registration is written in the source: reported when two registrations collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    file: &'static str,
    line: u32,
}

impl Location {
    /// A place in the source (what the macros record with `file!()` and `line!()`).
    #[doc(hidden)]
    pub const fn new(file: &'static str, line: u32) -> Location {
        Location { file, line }
    }

    /// The file, as `file!()` spells it.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The line.
    pub fn line(&self) -> u32 {
        self.line
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A plugin type (an extension point), as `#[plugin_type]` registers it. Read-only: only the
/// macro makes one.
pub struct TypeInfo {
    parts: TypeParts,
}

/// What a [`TypeInfo`] is made of: filled in by `#[plugin_type]` (and by hand in the crate's
/// own tests and benchmarks). Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct TypeParts {
    pub name: &'static str,
    pub namespace: &'static str,
    pub description: &'static str,
    pub rust_path: &'static str,
    pub crate_name: &'static str,
    pub location: Location,
    pub fingerprint: &'static str,
    /// The contract's version, from 1 (see [`TypeInfo::version`]).
    pub version: u32,
    pub type_id: fn() -> TypeId,
    pub relabel: fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin,
    pub selector: Option<fn() -> Arc<dyn Selector>>,
    pub critical: bool,
    pub parent: Option<ParentLink>,
    /// The methods marked `#[action(label = "...")]`, in declaration order.
    pub actions: &'static [ActionInfo],
}

/// A sub-type's link to its parent type.
#[derive(Debug, Clone, Copy)]
pub struct ParentLink {
    info: fn() -> &'static TypeInfo,
    upcast: fn(&ErasedPlugin) -> Option<ErasedPlugin>,
}

impl ParentLink {
    /// The parent type and the upcast of a loaded sub-type plugin to it (the trait object
    /// upcast, sharing the constructed object). Made by `#[plugin_type(parent = ...)]`.
    #[doc(hidden)]
    pub const fn new(
        info: fn() -> &'static TypeInfo,
        upcast: fn(&ErasedPlugin) -> Option<ErasedPlugin>,
    ) -> ParentLink {
        ParentLink { info, upcast }
    }

    /// The parent type.
    pub fn info(&self) -> &'static TypeInfo {
        (self.info)()
    }

    pub(crate) fn upcast(&self) -> fn(&ErasedPlugin) -> Option<ErasedPlugin> {
        self.upcast
    }
}

impl TypeInfo {
    /// A type made of `parts` (what the macro generates).
    #[doc(hidden)]
    pub const fn from_parts(parts: TypeParts) -> TypeInfo {
        TypeInfo { parts }
    }

    /// What it is made of, for building variations of a registered type by hand (the crate's
    /// own tests and benchmarks). Not public API.
    #[doc(hidden)]
    pub fn parts(&self) -> &TypeParts {
        &self.parts
    }

    /// The stable key of the type: `namespace:name`.
    pub fn key(&self) -> TypeKey {
        TypeKey {
            namespace: self.parts.namespace.into(),
            name: self.parts.name.into(),
        }
    }

    /// The type's name (`payment_gateway`): `[a-z0-9_]+`.
    pub fn name(&self) -> &'static str {
        self.parts.name
    }

    /// Its namespace: the defining crate's package name unless given. With the name, the
    /// stored key, so moving the trait between modules does not orphan rows.
    pub fn namespace(&self) -> &'static str {
        self.parts.namespace
    }

    /// For operators: the trait's doc comment unless given.
    pub fn description(&self) -> &'static str {
        self.parts.description
    }

    /// The trait's Rust path (`shop::payments::PaymentGateway`).
    pub fn rust_path(&self) -> &'static str {
        self.parts.rust_path
    }

    /// The crate that defines the trait, as Rust spells it.
    pub fn crate_name(&self) -> &'static str {
        self.parts.crate_name
    }

    /// Where the `#[plugin_type]` attribute is.
    pub fn location(&self) -> Location {
        self.parts.location
    }

    /// A hash of the trait's method signatures: which contract a stored row was synced from.
    pub fn fingerprint(&self) -> &'static str {
        self.parts.fingerprint
    }

    /// The version of the type's contract (`#[plugin_type(version = 2)]`, default 1): raised by
    /// the trait's authors when its methods change in a way items must follow, so operators
    /// (and sync's report) can tell which contract a deployment's items were written for.
    pub fn version(&self) -> u32 {
        self.parts.version
    }

    /// Whether the type declares a selector (`#[plugin_type(selector = S)]`) for
    /// `Plugins::select`.
    pub fn has_selector(&self) -> bool {
        self.parts.selector.is_some()
    }

    /// `#[plugin_type(critical)]`: its instances are never skipped by a circuit breaker.
    pub fn is_critical(&self) -> bool {
        self.parts.critical
    }

    /// The parent type of a sub-type (`#[plugin_type(parent = Parent)]`), whose lookups also
    /// serve this type's instances.
    pub fn parent(&self) -> Option<&'static TypeInfo> {
        self.parts.parent.map(|link| link.info())
    }

    /// The admin actions an instance of this type offers operators: the trait's methods
    /// marked `#[action(label = "...")]`, in declaration order, then those of its parent
    /// types (a parent's action named like one before it is left out: the sub-type's
    /// method is the one an instance runs).
    pub fn actions(&self) -> Vec<&'static ActionInfo> {
        let mut actions: Vec<&'static ActionInfo> = self.parts.actions.iter().collect();
        let mut parent = self.parent();
        while let Some(ty) = parent {
            for action in ty.parts.actions {
                if !actions.iter().any(|known| known.name() == action.name()) {
                    actions.push(action);
                }
            }
            parent = ty.parent();
        }
        actions
    }

    /// `TypeId` of `dyn Trait`: how typed lookups find this type.
    pub(crate) fn trait_object_id(&self) -> TypeId {
        (self.parts.type_id)()
    }

    pub(crate) fn relabel(&self) -> fn(&ErasedPlugin, InstanceMeta) -> ErasedPlugin {
        self.parts.relabel
    }

    pub(crate) fn selector(&self) -> Option<fn() -> Arc<dyn Selector>> {
        self.parts.selector
    }

    pub(crate) fn parent_link(&self) -> Option<ParentLink> {
        self.parts.parent
    }
}

impl fmt::Debug for TypeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeInfo")
            .field("key", &self.key().to_string())
            .field("rust_path", &self.parts.rust_path)
            .field("location", &self.parts.location)
            .field(
                "parent",
                &self.parent().map(|parent| parent.key().to_string()),
            )
            .finish_non_exhaustive()
    }
}

/// A plugin item (an implementation), as `#[plugin_item]` registers it. Read-only: only the
/// macro makes one.
pub struct ItemInfo {
    parts: ItemParts,
}

/// What an [`ItemInfo`] is made of: filled in by `#[plugin_item]` (and by hand in the crate's
/// own tests and benchmarks). Not public API.
#[doc(hidden)]
pub struct ItemParts {
    pub name: &'static str,
    pub description: &'static str,
    pub priority: i32,
    pub category: Option<&'static str>,
    /// See [`ItemInfo::version`]: the defining crate's `CARGO_PKG_VERSION` unless given.
    pub version: &'static str,
    /// See [`ItemInfo::authors`]: separated by `:`, as `CARGO_PKG_AUTHORS` is.
    pub authors: &'static str,
    /// See [`ItemInfo::homepage`].
    pub homepage: Option<&'static str>,
    /// See [`ItemInfo::is_hidden`].
    pub hidden: bool,
    /// See [`ItemInfo::is_per_tenant`].
    pub per_tenant: bool,
    pub renamed_from: &'static [&'static str],
    pub rust_type: &'static str,
    pub module: &'static str,
    pub crate_name: &'static str,
    pub location: Location,
    pub plugin_type: fn() -> &'static TypeInfo,
    pub config: Option<fn() -> &'static ConfigSchema>,
    pub build: fn(Option<&ConfigValues>, &Needs<'_>) -> Result<ErasedObject, PluginError>,
    /// The plugin types its constructor needs (`needs = [...]`).
    pub needs: &'static [fn() -> &'static TypeInfo],
    /// The built object viewed as `plugin_type`.
    pub view: ViewFn,
    /// The other plugin types the one object serves (`also = [...]`).
    pub also: &'static [ServedType],
    /// Its start and stop hooks (`lifecycle`), if it has any.
    pub lifecycle: Option<LifecycleHooks>,
}

/// The start and stop hooks of an item, as `#[plugin_item(..., lifecycle)]` registers them
/// from its [`Lifecycle`] (or [`AsyncLifecycle`]) impl.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct LifecycleHooks {
    /// Starts a built object (an `async` start is run to completion on its own thread).
    pub start: fn(&ErasedObject) -> Result<(), PluginError>,
    /// Stops a started one.
    pub stop: fn(&ErasedObject),
    /// [`Lifecycle::START_DEADLINE`].
    pub start_deadline: Duration,
    /// [`Lifecycle::DRAIN_DEADLINE`].
    pub drain_deadline: Duration,
}

/// Views a built object as one plugin type, labelled with an instance's metadata: `None` when
/// the object is not of the item's type (which the registry never pairs).
#[doc(hidden)]
pub type ViewFn = fn(&ErasedObject, InstanceMeta) -> Option<ErasedPlugin>;

/// A further plugin type an item serves with the same object (`#[plugin_item(also = [...])]`).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ServedType {
    plugin_type: fn() -> &'static TypeInfo,
    view: ViewFn,
}

impl ServedType {
    /// The type and how the item's object is viewed as it (what the macro generates).
    #[doc(hidden)]
    pub const fn new(plugin_type: fn() -> &'static TypeInfo, view: ViewFn) -> ServedType {
        ServedType { plugin_type, view }
    }
}

impl fmt::Debug for ServedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServedType")
            .field(&(self.plugin_type)().key().to_string())
            .finish()
    }
}

impl ItemInfo {
    /// An item made of `parts` (what the macro generates).
    #[doc(hidden)]
    pub const fn from_parts(parts: ItemParts) -> ItemInfo {
        ItemInfo { parts }
    }

    /// What it is made of, for building variations of a registered item by hand (the
    /// crate's own tests and benchmarks). Not public API.
    #[doc(hidden)]
    pub fn parts(&self) -> &ItemParts {
        &self.parts
    }

    /// The stable key of the item: `namespace:type/item`.
    pub fn key(&self) -> ItemKey {
        ItemKey {
            type_key: self.plugin_type().key(),
            name: self.parts.name.into(),
        }
    }

    /// The item's name (`stripe`): `[a-z0-9_]+`, unique within its type.
    pub fn name(&self) -> &'static str {
        self.parts.name
    }

    /// For operators: the impl's doc comment unless given.
    pub fn description(&self) -> &'static str {
        self.parts.description
    }

    /// The priority new instances get (lower is preferred).
    pub fn priority(&self) -> i32 {
        self.parts.priority
    }

    /// A free grouping for operators (`"cards"`, `"wallets"`).
    pub fn category(&self) -> Option<&'static str> {
        self.parts.category
    }

    /// The item's version: `#[plugin_item(version = "...")]`, else the version of the crate
    /// that registers it (its `Cargo.toml`). Sync records it, and reports a change from the
    /// recorded one, so operators see which release of a plugin they run.
    pub fn version(&self) -> &'static str {
        self.parts.version
    }

    /// Who wrote the item: `#[plugin_item(authors = [...])]`, else the `authors` of the crate
    /// that registers it (its `Cargo.toml`), in order; none when neither names any. For
    /// operators deciding whom to ask about a plugin.
    pub fn authors(&self) -> impl Iterator<Item = &'static str> + use<> {
        // Stored as Cargo's `CARGO_PKG_AUTHORS` spells them: separated by `:`.
        let authors: &'static str = self.parts.authors;
        authors
            .split(':')
            .map(str::trim)
            .filter(|author| !author.is_empty())
    }

    /// Where to read about the item (`#[plugin_item(homepage = "https://...")]`): an
    /// `http://` or `https://` URL the admin links to.
    pub fn homepage(&self) -> Option<&'static str> {
        self.parts.homepage
    }

    /// `#[plugin_item(hidden)]`: the item is not shown to operators unless they ask (an
    /// internal or deprecated implementation). It is registered, synced and served as any
    /// other; only listings leave it out.
    pub fn is_hidden(&self) -> bool {
        self.parts.hidden
    }

    /// `#[plugin_item(per_tenant)]`: the item's global instances are served to a tenant only
    /// once that tenant switches them on ([`Activation::On`](crate::Activation::On)), like a
    /// plugin an event organiser enables for one event. Global (unscoped) lookups and a
    /// tenant's own instances of it are served as any other.
    pub fn is_per_tenant(&self) -> bool {
        self.parts.per_tenant
    }

    /// Earlier names of this item: sync moves their rows instead of orphaning them.
    pub fn renamed_from(&self) -> &'static [&'static str] {
        self.parts.renamed_from
    }

    /// The implementing Rust type, as written.
    pub fn rust_type(&self) -> &'static str {
        self.parts.rust_type
    }

    /// `module_path!()` of the impl.
    pub fn module(&self) -> &'static str {
        self.parts.module
    }

    /// The crate that registers the item, as Rust spells it (what `link!` checks).
    pub fn crate_name(&self) -> &'static str {
        self.parts.crate_name
    }

    /// Where the `#[plugin_item]` attribute is.
    pub fn location(&self) -> Location {
        self.parts.location
    }

    /// The plugin type this item implements.
    pub fn plugin_type(&self) -> &'static TypeInfo {
        (self.parts.plugin_type)()
    }

    /// True when instances of this item carry a config.
    pub fn is_configurable(&self) -> bool {
        self.parts.config.is_some()
    }

    /// The item's config schema, if it has one.
    pub fn schema(&self) -> Option<&'static ConfigSchema> {
        self.parts.config.map(|schema| schema())
    }

    /// The plugin types other than its own that the item serves with the same instance
    /// (`#[plugin_item(also = [...])]`): `each::<dyn Other>()` reaches its instances too.
    pub fn also_serves(&self) -> impl Iterator<Item = &'static TypeInfo> + '_ {
        self.parts.also.iter().map(|served| (served.plugin_type)())
    }

    /// Every plugin type the item serves: its own first, then [`also_serves`](Self::also_serves).
    pub fn serves(&self) -> impl Iterator<Item = &'static TypeInfo> + '_ {
        std::iter::once(self.plugin_type()).chain(self.also_serves())
    }

    /// Whether its instances are started before they serve and stopped after
    /// (`#[plugin_item(..., lifecycle)]`).
    pub fn has_lifecycle(&self) -> bool {
        self.parts.lifecycle.is_some()
    }

    pub(crate) fn lifecycle(&self) -> Option<&LifecycleHooks> {
        self.parts.lifecycle.as_ref()
    }

    /// The plugin types its constructor needs (`#[plugin_item(needs = [...])]`), resolved in
    /// each instance's own scope before it is built.
    pub fn needs(&self) -> impl Iterator<Item = &'static TypeInfo> + '_ {
        self.parts.needs.iter().map(|info| info())
    }

    /// Builds one object from its (already decrypted) config values and what it needs.
    pub(crate) fn build(
        &self,
        values: Option<&ConfigValues>,
        needs: &Needs<'_>,
    ) -> Result<ErasedObject, PluginError> {
        (self.parts.build)(values, needs)
    }

    /// The object viewed as each type the item serves, labelled with `meta`: its own type
    /// first, then the `also` types, in declaration order.
    pub(crate) fn views(
        &self,
        object: &ErasedObject,
        meta: &InstanceMeta,
    ) -> Vec<(&'static TypeInfo, ErasedPlugin)> {
        let own = (self.plugin_type(), self.parts.view);
        let also = self
            .parts
            .also
            .iter()
            .map(|served| ((served.plugin_type)(), served.view));
        std::iter::once(own)
            .chain(also)
            .filter_map(|(ty, view)| Some((ty, view(object, meta.clone())?)))
            .collect()
    }
}

impl fmt::Debug for ItemInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemInfo")
            .field("key", &self.key().to_string())
            .field("rust_type", &self.parts.rust_type)
            .field("priority", &self.parts.priority)
            .field("version", &self.parts.version)
            .field("configurable", &self.is_configurable())
            .field("location", &self.parts.location)
            .finish_non_exhaustive()
    }
}

/// A crate the application named with [`link!`](crate::link): it must contribute registrations.
#[derive(Debug)]
pub struct LinkedCrate {
    /// The crate's name as Rust spells it.
    pub crate_name: &'static str,
    /// Where `link!` names it.
    pub location: Location,
}

/// Implemented by `#[plugin_type]` for `dyn Trait`: makes the trait object a plugin type.
///
/// Generic code names plugin types as `T: ?Sized + PluginType`, and calls look like
/// `plugins.get::<dyn PaymentGateway>()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin type",
    label = "not a plugin type",
    note = "add `#[plugin_type(name = \"...\")]` to the trait"
)]
pub trait PluginType: Send + Sync + 'static {
    /// A hash of the type's stored key (`namespace:name`), computed at compile time; a
    /// `#[plugin_item(via = SubType)]` compares it with the sub-type's `PARENT_KEY`.
    const KEY: u64;

    /// The parent type's `KEY` for a sub-type (`#[plugin_type(parent = ...)]`), else 0.
    const PARENT_KEY: u64 = 0;

    /// The registration of this type.
    fn info() -> &'static TypeInfo;
}

/// Implemented by `#[plugin_item]` for each item of plugin type `T` (`dyn Trait`).
///
/// `#[plugin_type]` makes it a supertrait of the trait, so an implementation that was never
/// registered (an `impl Trait for Type` without `#[plugin_item]`) does not compile: the error
/// says "the trait `PluginItem<dyn Trait>` is not implemented for `Type`". Do not implement it
/// yourself; write `#[plugin_item(name = "...")]` above the impl.
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements a plugin type but is not registered as one of its items",
    label = "not registered as an item of `{T}`",
    note = "write `#[plugin_item(name = \"...\")]` above the `impl` so the plugin system can find and build `{Self}`",
    note = "if `{Self}` is registered as an item of a sub-type and this impl is of its parent trait, write `#[plugin_item(via = SubType)]` above it instead",
    note = "if this impl is one more extension point of an item registered on another impl, write `#[plugin_item(also)]` above it and list the trait in that item's `also = [...]`"
)]
pub trait PluginItem<T: ?Sized> {}

/// Implemented by `#[plugin_item(also)]` on `impl Other for Item`: the item's one object
/// serves plugin type `T` (`dyn Other`) too. The item's own `#[plugin_item(also = [Other])]`
/// requires it, so a declared extension point without its impl does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is declared to serve `{T}` (in `also = [...]`), but no impl of it is registered",
    label = "`{Self}` has no `#[plugin_item(also)]` impl of `{T}`",
    note = "write the trait's impl for `{Self}` with `#[plugin_item(also)]` above it, or take the trait out of `also = [...]`"
)]
pub trait AlsoServes<T: ?Sized + PluginType> {
    /// The object viewed as `T` (the trait object coercion, written where the impl is).
    fn coerce(item: Arc<Self>) -> Arc<T>;

    /// The item's built object viewed as `T`, labelled with `meta` (what `also = [...]`
    /// registers).
    #[doc(hidden)]
    fn view(object: &ErasedObject, meta: InstanceMeta) -> Option<ErasedPlugin>
    where
        Self: Sized + Send + Sync + 'static,
    {
        let item = Arc::clone(object).downcast::<Self>().ok()?;
        Some(Arc::new(Loaded {
            meta,
            plugin: Self::coerce(item),
        }))
    }
}

/// Implemented by `#[plugin_item(also = [Other])]` for each listed type: `Item` is one item
/// whose instances are built from `Config`. `#[plugin_item(also)]` on `impl Other for Item`
/// requires it, so an impl that no item lists, or that names another config, does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not list `{T}` among the extension points it serves",
    label = "no `#[plugin_item(also = [...])]` of `{Self}` lists `{T}`",
    note = "add the trait to `also = [...]` of the `#[plugin_item(name = \"...\")]` that registers `{Self}`, or register this impl as an item of its own with `#[plugin_item(name = \"...\")]`"
)]
pub trait AlsoListed<T: ?Sized> {
    /// The config the item's instances are built from ([`NoConfig`] when it has none).
    type Config;
}

/// `#[plugin_item(also, config = C)]` checks that `C` is the config its item is built from.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the config of this item: its instances are built from `{C}`",
    label = "one item, one config: this impl is served by the same instance, built from `{C}`",
    note = "write `config = {C}` here, or leave `config` out (an `also` impl shares its item's config)"
)]
pub trait SameConfig<C> {
    /// Named by the generated check.
    #[doc(hidden)]
    const CHECKED: () = ();
}

#[diagnostic::do_not_recommend]
impl<C> SameConfig<C> for C {}

/// What every plugin item is: `Send + Sync + 'static`, because one instance of it serves every
/// thread that uses the plugin.
///
/// `#[plugin_item]` requires it of the item, so that an item that is not thread-safe is told
/// why it must be, next to rustc's error naming the field that is not.
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` is shared between threads, so it must be `Send` and `Sync`",
    label = "one `{Self}` serves every thread that uses the plugin",
    note = "keep state that changes in a `std::sync::Mutex`, an `RwLock` or an atomic (`AtomicU32`), not in a `Cell`, `RefCell` or `Rc`; state of one call belongs in the method's local variables",
    note = "the other error names the field of `{Self}` that is not thread-safe"
)]
pub trait ThreadSafe {
    /// Named by `#[plugin_item]` to require the trait.
    #[doc(hidden)]
    const CHECKED: () = ();

    /// The built item behind `dyn Any` (named by `#[plugin_item]` where it checks the
    /// trait, so an item that is not thread-safe is told once).
    #[doc(hidden)]
    fn erase(item: Arc<Self>) -> ErasedObject;
}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> ThreadSafe for T {
    fn erase(item: Arc<Self>) -> ErasedObject {
        item
    }
}

/// Start and stop hooks of a plugin item, for items that hold something that must be opened
/// before they serve and closed after (a connection pool, a background task, a file).
///
/// Register them with `#[plugin_item(name = "...", lifecycle)]` on the item's impl. The
/// plugin system then builds each instance, *starts* it, and only then lets lookups return it;
/// a start that fails (or takes longer than [`START_DEADLINE`](Self::START_DEADLINE)) makes
/// the instance a load failure, and selection falls back to the next one. When the instance
/// is replaced (its config changed), disabled, deleted or orphaned, it is *stopped* once the
/// snapshot no longer serves it and every handle callers still hold has been dropped (or
/// [`DRAIN_DEADLINE`](Self::DRAIN_DEADLINE) has passed). `Plugins::shutdown` stops every
/// started instance. Each started instance is stopped at most once; a DISABLED instance is
/// neither built nor started.
///
/// ```ignore
/// impl Lifecycle for OrderEmails {
///     fn start(&self) -> Result<(), PluginError> {
///         self.pool.connect().map_err(|e| PluginError::with_source("SMTP pool", e))
///     }
///     fn stop(&self) {
///         self.pool.close();
///     }
/// }
/// ```
///
/// For hooks that are `async`, implement [`AsyncLifecycle`] and write
/// `#[plugin_item(..., async_lifecycle)]`.
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` is registered with `lifecycle` but does not implement `Lifecycle`",
    label = "`lifecycle` runs `<{Self} as Lifecycle>::start` and `stop`",
    note = "write `impl plugin_system::Lifecycle for {Self} {{ fn start(&self) -> Result<(), PluginError> {{ .. }} fn stop(&self) {{ .. }} }}`, or remove `lifecycle`",
    note = "for `async` hooks, implement `plugin_system::AsyncLifecycle` and write `async_lifecycle`"
)]
pub trait Lifecycle: Send + Sync + 'static {
    /// How long [`start`](Self::start) may take: an instance whose start has not returned by
    /// then is a load failure ("did not start within ..."), and is stopped if its start
    /// returns `Ok` later.
    const START_DEADLINE: Duration = Duration::from_secs(30);
    /// How long a retired instance waits for the handles callers still hold to be dropped
    /// before it is stopped anyway.
    const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

    /// Runs after the instance is built and before any lookup can return it. An error makes
    /// the instance a load failure with this reason.
    fn start(&self) -> Result<(), PluginError> {
        Ok(())
    }

    /// Runs once, after the instance stopped being served and its handles were dropped.
    fn stop(&self) {}
}

/// [`Lifecycle`] with `async` hooks: `#[plugin_item(name = "...", async_lifecycle)]`.
///
/// Each hook runs to completion on a thread of its own; with the `async` feature and a tokio
/// runtime current where the handle was built, inside that runtime (so the hooks can open
/// tokio sockets and spawn tasks on it).
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` is registered with `async_lifecycle` but does not implement `AsyncLifecycle`",
    label = "`async_lifecycle` runs `<{Self} as AsyncLifecycle>::start` and `stop`",
    note = "write `impl plugin_system::AsyncLifecycle for {Self} {{ async fn start(&self) -> Result<(), PluginError> {{ .. }} async fn stop(&self) {{ .. }} }}`, or write `lifecycle` for blocking hooks"
)]
pub trait AsyncLifecycle: Send + Sync + 'static {
    /// As [`Lifecycle::START_DEADLINE`].
    const START_DEADLINE: Duration = Duration::from_secs(30);
    /// As [`Lifecycle::DRAIN_DEADLINE`].
    const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

    /// As [`Lifecycle::start`].
    fn start(&self) -> impl Future<Output = Result<(), PluginError>> + Send {
        async { Ok(()) }
    }

    /// As [`Lifecycle::stop`].
    fn stop(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The plugins an item's constructor needs (`#[plugin_item(needs = [...])]`), already
/// resolved for the instance being built: in its own scope, as
/// `plugins.scoped(scope).get` selects, from the snapshot the instance will be served in.
///
/// An instance is built only when every need is met; when a needed instance changes or goes
/// away, its dependents are built again.
pub struct Needs<'a> {
    item: &'a str,
    resolved: &'a [(TypeId, ErasedPlugin)],
}

impl<'a> Needs<'a> {
    /// Needs resolved for an instance of `item` (its key, for messages).
    pub(crate) fn new(item: &'a str, resolved: &'a [(TypeId, ErasedPlugin)]) -> Needs<'a> {
        Needs { item, resolved }
    }

    /// Nothing given: what an item without `needs` is built with (and the crate's own
    /// benchmarks build items with). Not public API.
    #[doc(hidden)]
    pub fn none() -> Needs<'static> {
        Needs {
            item: "",
            resolved: &[],
        }
    }

    /// The plugin of type `T` this instance was given: `T` must be among the item's
    /// `needs = [...]`.
    pub fn get<T: ?Sized + PluginType>(&self) -> Result<Plugin<T>, PluginError> {
        let wanted = TypeId::of::<T>();
        self.resolved
            .iter()
            .find(|(type_id, _)| *type_id == wanted)
            .and_then(|(_, plugin)| Plugin::from_erased(plugin))
            .ok_or_else(|| {
                PluginError::new(format!(
                    "`{}` asks for `{}`, which is not among its `needs = [...]`",
                    self.item,
                    T::info().key()
                ))
            })
    }
}

impl fmt::Debug for Needs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Needs")
            .field("item", &self.item)
            .field("resolved", &self.resolved.len())
            .finish()
    }
}

/// How an item with `needs = [...]` builds itself from its typed config and the plugins it
/// needs ([`NoConfig`] for an item without a config).
///
/// ```ignore
/// impl FromNeeds<SmtpConfig> for OrderEmails {
///     fn from_needs(config: SmtpConfig, needs: &Needs<'_>) -> Result<Self, PluginError> {
///         let renderer = needs.get::<dyn TemplateRenderer>()?;
///         Ok(OrderEmails { config, renderer })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` has `needs = [...]`, so it is built by `FromNeeds<{C}>`, which it does not implement",
    label = "needs `impl FromNeeds<{C}> for {Self}`",
    note = "write `impl FromNeeds<{C}> for {Self} {{ fn from_needs(config: {C}, needs: &Needs<'_>) -> Result<Self, PluginError> {{ .. }} }}` and take each needed plugin with `needs.get::<dyn Trait>()?`"
)]
pub trait FromNeeds<C>: Sized {
    /// Builds the item from its config and what it needs.
    fn from_needs(config: C, needs: &Needs<'_>) -> Result<Self, PluginError>;
}

/// How an item builds itself from its typed config.
///
/// Implemented automatically for items whose type implements `From<Config>` (configurable
/// items) or `Default` (config-less items, whose config is [`NoConfig`]). Implement it yourself
/// when construction can fail:
///
/// ```ignore
/// impl FromConfig<StripeConfig> for Stripe {
///     fn from_config(config: StripeConfig) -> Result<Self, PluginError> {
///         let client = Client::new(&config.endpoint).map_err(|e| PluginError::with_source("bad endpoint", e))?;
///         Ok(Stripe { client, config })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` cannot be built from its config `{C}`",
    label = "needs `impl From<{C}> for {Self}`",
    note = "write `impl From<{C}> for {Self}`, or `impl FromConfig<{C}> for {Self}` when building it can fail"
)]
pub trait FromConfig<C>: Sized {
    /// Builds the item from its config.
    fn from_config(config: C) -> Result<Self, PluginError>;
}

/// An item registered without `config = ...`: it is built with [`FromConfig<NoConfig>`], which
/// every `Default` type has.
///
/// Implemented for every type that can be built that way; `#[plugin_item]` requires it of items
/// without a config, and a compile error naming it means the type has neither `Default` nor its
/// own `FromConfig<NoConfig>`.
#[diagnostic::on_unimplemented(
    message = "plugin item `{Self}` has no config, so it is built with `Default`, which `{Self}` does not implement",
    label = "add `#[derive(Default)]` to `{Self}`",
    note = "or, if it needs settings, give it a config: `#[plugin_item(name = \"...\", config = MyConfig)]` with `#[derive(PluginConfig)] struct MyConfig` and `impl From<MyConfig> for {Self}`",
    note = "or, if building it can fail, implement `FromConfig<NoConfig>` for `{Self}`"
)]
pub trait ConfiglessItem: Sized {
    /// Builds the item.
    fn build(config: NoConfig) -> Result<Self, PluginError>;
}

impl<T: FromConfig<NoConfig>> ConfiglessItem for T {
    fn build(config: NoConfig) -> Result<Self, PluginError> {
        T::from_config(config)
    }
}

/// A [`Selector`] that `#[plugin_type(selector = S)]` can create: every `Selector + Default`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a selector the plugin system can create",
    label = "`selector = ...` needs a type implementing `Selector` and `Default`",
    note = "implement `plugin_system::select::Selector` for `{Self}` and derive `Default`, or use a built-in selector: `plugin_system::select::RoundRobin`, `plugin_system::select::Weighted` or `plugin_system::select::InOrder`"
)]
pub trait DefaultSelector {
    /// The selector, shared.
    fn create() -> Arc<dyn Selector>;
}

#[diagnostic::do_not_recommend]
impl<S: Selector + Default> DefaultSelector for S {
    fn create() -> Arc<dyn Selector> {
        Arc::new(S::default())
    }
}

/// The "config" of an item declared without `config = ...`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoConfig;

impl<T: Default> FromConfig<NoConfig> for T {
    fn from_config(_: NoConfig) -> Result<Self, PluginError> {
        Ok(T::default())
    }
}

impl<C: PluginConfig, T: From<C>> FromConfig<C> for T {
    fn from_config(config: C) -> Result<Self, PluginError> {
        Ok(T::from(config))
    }
}

/// A loaded plugin behind `dyn Any`: an `Arc<Loaded<dyn Trait>>`, typed again on lookup.
#[doc(hidden)]
pub type ErasedPlugin = Arc<dyn Any + Send + Sync>;

/// A built item behind `dyn Any`: the `Arc<Item>` every view of one instance shares (its own
/// type, its parents, the `also` types), so the one object is one allocation.
#[doc(hidden)]
pub type ErasedObject = Arc<dyn Any + Send + Sync>;

/// A constructed plugin and the metadata of the instance it was built from.
#[doc(hidden)]
pub struct Loaded<T: ?Sized> {
    pub(crate) meta: InstanceMeta,
    pub(crate) plugin: Arc<T>,
}

/// A selected plugin: derefs to the trait object and carries its instance metadata.
///
/// Cheap to clone (one reference count) and `Send + Sync`, so it can be kept for the length of
/// a request or moved into a task. It does not change when an operator changes the instance:
/// the next lookup returns the new state.
pub struct Plugin<T: ?Sized + 'static> {
    loaded: Arc<Loaded<T>>,
}

impl<T: ?Sized + Send + Sync + 'static> Plugin<T> {
    pub(crate) fn from_erased(erased: &ErasedPlugin) -> Option<Self> {
        Arc::clone(erased)
            .downcast::<Loaded<T>>()
            .ok()
            .map(|loaded| Plugin { loaded })
    }
}

impl<T: ?Sized + 'static> Plugin<T> {
    /// The instance this plugin was built from: id, name, item, status, priority, scope.
    pub fn meta(&self) -> &InstanceMeta {
        &self.loaded.meta
    }

    /// The trait object itself, shared.
    pub fn shared(&self) -> Arc<T> {
        Arc::clone(&self.loaded.plugin)
    }
}

impl<T: ?Sized> Clone for Plugin<T> {
    fn clone(&self) -> Self {
        Plugin {
            loaded: Arc::clone(&self.loaded),
        }
    }
}

impl<T: ?Sized> std::ops::Deref for Plugin<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.loaded.plugin
    }
}

impl<T: ?Sized> fmt::Debug for Plugin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("meta", &self.loaded.meta)
            .finish_non_exhaustive()
    }
}
