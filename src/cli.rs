//! The `plugins` subcommand the application embeds in its own binary (feature `cli`), like
//! Django's `manage.py`: only the application's binary has its plugins linked in.
//!
//! ```no_run
//! use clap::Parser;
//! use plugin_system::cli::PluginsCli;
//! use plugin_system::prelude::*;
//!
//! #[derive(Parser)]
//! enum Shop {
//!     /// Serve the shop.
//!     Serve,
//!     /// Manage the shop's plugins.
//!     Plugins(PluginsCli),
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let builder = Plugins::builder()
//!         .database_url("sqlite://shop.db")
//!         .key_from_env("PLUGIN_SYSTEM_KEY");
//!     match Shop::parse() {
//!         Shop::Serve => std::process::ExitCode::SUCCESS,
//!         Shop::Plugins(cli) => cli.run(builder),
//!     }
//! }
//! ```
//!
//! Every command prints its result on standard output; an error is one line on standard
//! error (`error: ...`) and exit code 1 (2 for a malformed command line). `check` also exits
//! with 1 when an instance does not load, and `instance action` when the action it ran
//! failed (its output still says what the action said).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use plugin_runtime::config::{
    ConfigSchema, ConfigValues, FormData, values_from_form, values_with_form,
};
use plugin_runtime::registry::{ItemInfo, Registry};
use plugin_runtime::sync::{SyncMode, SyncOptions};
use plugin_runtime::{
    Activation, Error, InstanceId, InstanceQuery, InstanceSummary, InstanceUpdate, ItemKey, Key,
    LoadState, NewInstance, Plugins, PluginsBuilder, PriorityChange, Status,
};

/// Manage this application's plugins: sync the registry, inspect and edit instances, check
/// that everything loads, rotate keys.
#[derive(Debug, Args)]
pub struct PluginsCli {
    #[command(subcommand)]
    command: Command,
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The plugin system refused (bad input, unknown id, conflict, database...).
    Plugins(Error),
    /// The output could not be written.
    Output(std::io::Error),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Each problem of a declared file on a line of its own, as compilers list them.
            CliError::Plugins(Error::InvalidFile(errors)) => write!(f, "{errors}"),
            CliError::Plugins(err) => f.write_str(&one_line(&err.report())),
            CliError::Output(err) => write!(f, "cannot write the output: {err}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        CliError::Plugins(err)
    }
}

impl From<plugin_runtime::MalformedId> for CliError {
    fn from(err: plugin_runtime::MalformedId) -> Self {
        CliError::Plugins(err.into())
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Output(err)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync the plugin types and items of this binary into the database.
    Sync {
        /// `create` keeps operators' edits; `update` also refreshes descriptions, categories
        /// and default priorities from the code.
        #[arg(long, value_enum, default_value_t = ModeArg::Create)]
        mode: ModeArg,
        /// Delete the rows whose code is gone (and their instances) instead of marking them
        /// orphaned.
        #[arg(long)]
        prune: bool,
        /// Print what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the instances: type, item (with its version and category), name, scope, status,
    /// priority, and whether it loads.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create, edit, re-status, re-prioritise or delete instances.
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Exit with 1 when any instance does not load (for deploy pipelines), listing them.
    Check,
    /// Re-seal the configs stored under an older config version (`#[config(version = N)]`)
    /// under the current one, through their upgrades; exit with 1 when any cannot be (each
    /// kept as it was, with why).
    Migrate {
        /// Print what would be migrated; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the JSON Schema of an item's config, or with `--file` of a whole declared file
    /// (for editors: put `#:schema ./plugins.schema.json` on the file's first line).
    Schema {
        /// The item: `TYPE/ITEM` (or `NAMESPACE:TYPE/ITEM`).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        item: Option<String>,
        /// The schema of a declared file (`plugins apply FILE`) instead.
        #[arg(long)]
        file: bool,
    },
    /// Make the instances match a declared file (TOML, secrets as `{ env = ".." }` or
    /// `{ file = ".." }` references): check every entry (every error at once, at its line),
    /// print the plan, apply it in one transaction. Instances it lists become read-only in
    /// the admin and the CLI until released.
    Apply {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the instances this file applied once and no longer lists.
        #[arg(long)]
        prune: bool,
    },
    /// Print how the instances differ from a declared file; exit with 1 when they do (for CI
    /// and drift alerts), 0 when they match.
    Diff {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Count the instances this file applied once and no longer lists as differences.
        #[arg(long)]
        prune: bool,
        /// One JSON object instead of the review: the file, its digest, each step (create,
        /// update with what differs, delete) and the counts.
        #[arg(long)]
        json: bool,
    },
    /// Print every instance as a declared file (secrets as references or placeholders to
    /// set, never their values).
    Export,
    /// What a tenant is served, and switch global instances on or off for it.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Serve the web admin alone (operators log in with the token in PLUGIN_ADMIN_TOKEN).
    #[cfg(feature = "admin")]
    Admin {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8000")]
        bind: std::net::SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
enum InstanceCommand {
    /// Create an instance; its config is validated like the admin's form.
    Create {
        /// The item: `TYPE/ITEM` (or `NAMESPACE:TYPE/ITEM`).
        #[arg(long)]
        item: String,
        /// The instance's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_enum, default_value_t = StatusArg::Active)]
        status: StatusArg,
        /// Default: the item's priority.
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i32>,
        /// A tenant: the instance serves only this scope's lookups.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change an instance's name, description or config (`--set` changes only the fields it
    /// names; `--config` replaces the whole config).
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Set the status of one or more instances.
    Status {
        #[arg(value_enum)]
        status: StatusArg,
        #[arg(required = true)]
        ids: Vec<String>,
        /// Disable even the last instance that ACTIVE instances need (they stop being
        /// served, each saying which need failed); without it, that is refused.
        #[arg(long)]
        force: bool,
    },
    /// Set or shift the priority of one or more instances (lower is preferred).
    Priority {
        #[arg(required = true)]
        ids: Vec<String>,
        /// Set it to this value.
        #[arg(long, allow_negative_numbers = true, conflicts_with = "shift")]
        set: Option<i32>,
        /// Add this (negative: towards preferred).
        #[arg(long, allow_negative_numbers = true)]
        shift: Option<i32>,
    },
    /// Create many instances in one transaction from a JSON file (`-`: standard input): an
    /// array of objects with `item` and `name`, and optionally `config` (an object),
    /// `status`, `priority`, `scope` and `description`. All are created, or none; prints
    /// the new ids, one per line, in the file's order.
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run an admin action of an instance's plugin type (`#[action]`, like the admin's
    /// "Test the connection"), printing what it said; exit with 1 when it fails. Without
    /// NAME, list the actions the instance offers.
    Action {
        id: String,
        /// The action's name (`check_connection`).
        name: Option<String>,
    },
    /// Hand instances a declared file manages back to hand edits (the file's next apply
    /// takes them over again unless they are removed from it).
    Release {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete an instance.
    Delete {
        id: String,
        /// Delete it even when it is the last instance that ACTIVE instances need (they stop
        /// being served, each saying which need failed); without it, that is refused.
        #[arg(long)]
        force: bool,
    },
}

/// One instance of an `instance import` file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportEntry {
    item: String,
    name: String,
    #[serde(default)]
    config: Option<ConfigValues>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    priority: Option<i32>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// A JSON file with the whole config (an object).
    #[arg(long, value_name = "FILE", conflicts_with = "set")]
    config: Option<PathBuf>,
    /// One config field, as a form would send it (repeat for more).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Per plugin type, the instances the tenant could be served (its own and the global
    /// ones) and why each is served to it or not; `*` marks the one selected now.
    Show { tenant: String },
    /// Serve a global instance to the tenant (what an item activated per tenant needs).
    On { tenant: String, id: String },
    /// Never serve a global instance to the tenant (it stays served to the others).
    Off {
        tenant: String,
        id: String,
        /// Even when an ACTIVE instance of the tenant needs it (it stops being served,
        /// saying which need failed); without it, that is refused.
        #[arg(long)]
        force: bool,
    },
    /// Forget the tenant's switch of a global instance: as its item says again.
    Default {
        tenant: String,
        id: String,
        /// As for `off`: an instance of an item activated per tenant goes away.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new random key (base64): put it first in PLUGIN_SYSTEM_KEY, the old ones after.
    Generate,
    /// Re-encrypt every stored config under the current (first) key.
    Rotate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Reserved,
    Disabled,
}

impl From<StatusArg> for Status {
    fn from(status: StatusArg) -> Status {
        match status {
            StatusArg::Active => Status::Active,
            StatusArg::Reserved => Status::Reserved,
            StatusArg::Disabled => Status::Disabled,
        }
    }
}

impl PluginsCli {
    /// Runs the command with the application's builder (its database URL and keys), printing
    /// to standard output; an error is one line on standard error and exit code 1.
    pub fn run(self, builder: PluginsBuilder) -> ExitCode {
        let stdout = std::io::stdout();
        match self.run_to(builder, &mut stdout.lock()) {
            Ok(code) => code,
            // The reader went away (`| head`): nothing left to say.
            Err(CliError::Output(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        }
    }

    /// [`run`](Self::run), writing the output to `out`.
    pub fn run_to(
        self,
        builder: PluginsBuilder,
        out: &mut dyn Write,
    ) -> Result<ExitCode, CliError> {
        if let Command::Keys(KeysCommand::Generate) = self.command {
            writeln!(out, "{}", &*Key::generate().to_base64())?;
            return Ok(ExitCode::SUCCESS);
        }
        // The CLI syncs only when asked; only the long-running admin watches for changes.
        let builder = builder.skip_sync();
        #[cfg(feature = "admin")]
        let builder = match self.command {
            Command::Admin { .. } => builder,
            _ => builder.no_watch(),
        };
        #[cfg(not(feature = "admin"))]
        let builder = builder.no_watch();
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let plugins = builder.build()?.acting_as(format!("cli:{user}"));
        match self.command {
            Command::Sync {
                mode,
                prune,
                dry_run,
            } => sync(&plugins, mode, prune, dry_run, out),
            Command::List { json } => list(&plugins, json, out),
            Command::Instance(command) => instance(&plugins, command, out),
            Command::Check => check(&plugins, out),
            Command::Migrate { dry_run } => migrate(&plugins, dry_run, out),
            Command::Schema { item: None, .. } => {
                let json = plugin_runtime::declared::file_json_schema(plugins.registry());
                writeln!(out, "{json:#}")?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Schema {
                item: Some(item), ..
            } => {
                let key = parse_item(plugins.registry(), &item)?;
                let schema =
                    plugins
                        .registry()
                        .item(&key)?
                        .schema()
                        .ok_or_else(|| Error::InvalidInput {
                            field: "item",
                            reason: format!("`{key}` takes no config"),
                        })?;
                let json = plugin_runtime::config::json_schema(schema);
                writeln!(out, "{json:#}")?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Apply {
                file,
                dry_run,
                prune,
            } => {
                let file = plugins.read_file(&file)?;
                let plan = match dry_run {
                    true => plugins.plan_file(&file, prune)?,
                    false => plugins.apply_file(&file, prune)?,
                };
                writeln!(out, "{plan}")?;
                if dry_run {
                    writeln!(out, "Dry run: nothing was written.")?;
                } else if !plan.is_empty() {
                    writeln!(out, "Applied {} (sha256 {}).", file.source, file.digest)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Diff { file, prune, json } => {
                let file = plugins.read_file(&file)?;
                let plan = plugins.plan_file(&file, prune)?;
                match json {
                    true => writeln!(out, "{:#}", plan_json(&file, &plan))?,
                    false => writeln!(out, "{plan}")?,
                }
                Ok(if plan.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Command::Export => {
                out.write_all(plugins.export_file()?.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Tenant(command) => tenant(&plugins, command, out),
            Command::Keys(KeysCommand::Rotate) => {
                let rewritten = plugins.rotate_keys()?;
                writeln!(
                    out,
                    "{rewritten} config(s) re-encrypted under the current key"
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys(KeysCommand::Generate) => unreachable!("handled before connecting"),
            #[cfg(feature = "admin")]
            Command::Admin { bind } => {
                let auth = plugin_admin::Auth::token_from_env("PLUGIN_ADMIN_TOKEN")?;
                plugin_admin::Admin::new(plugins, auth).serve(bind)?;
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn tenant(
    plugins: &Plugins,
    command: TenantCommand,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let (tenant, id, activation, force) = match command {
        TenantCommand::Show { tenant } => {
            let view = plugins.tenant_view(&tenant);
            if view.types.is_empty() {
                writeln!(
                    out,
                    "tenant {tenant}: no instance of its own and none global"
                )?;
            }
            for ty in &view.types {
                writeln!(out, "{}", ty.plugin_type)?;
                for instance in &ty.instances {
                    let mark = if ty.selected == Some(instance.meta.id) {
                        "*"
                    } else {
                        " "
                    };
                    let served = if instance.served {
                        "served"
                    } else {
                        "not served"
                    };
                    writeln!(
                        out,
                        "  {mark} {}  {}  {}  {} {}  {served}: {}",
                        instance.meta.id,
                        instance.meta.name,
                        plugins.registry().short_key(&instance.meta.item),
                        instance.meta.status.as_str(),
                        instance.meta.priority,
                        instance.why
                    )?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        TenantCommand::On { tenant, id } => (tenant, id, Activation::On, false),
        TenantCommand::Off { tenant, id, force } => (tenant, id, Activation::Off, force),
        TenantCommand::Default { tenant, id, force } => (tenant, id, Activation::Default, force),
    };
    let id: InstanceId = id.parse().map_err(Error::from)?;
    let changed = forced(plugins, force).set_activation(&tenant, id, activation)?;
    let said = match (changed, activation) {
        (false, _) => "unchanged",
        (true, Activation::On) => "switched on",
        (true, Activation::Off) => "switched off",
        (true, _) => "as its item says",
    };
    writeln!(out, "{id} for tenant {tenant}: {said}")?;
    Ok(ExitCode::SUCCESS)
}

fn sync(
    plugins: &Plugins,
    mode: ModeArg,
    prune: bool,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let options = SyncOptions {
        mode: match mode {
            ModeArg::Create => SyncMode::Create,
            ModeArg::Update => SyncMode::Update,
        },
        prune,
        dry_run,
    };
    let report = plugins.sync(&options)?;
    for action in &report.actions {
        writeln!(out, "{}{action}", if dry_run { "would " } else { "" })?;
    }
    // What a deployment changed in its plugins' releases: `item ...: version 1.0.0 → 1.1.0`.
    let prefix = if dry_run { "would record " } else { "" };
    let contracts = report.contracts_changed.iter().map(ToString::to_string);
    let versions = report.versions_changed.iter().map(ToString::to_string);
    for change in contracts.chain(versions) {
        writeln!(out, "{prefix}{change}")?;
    }
    writeln!(
        out,
        "types: {} created, {} found, {} updated, {} orphaned, {} deleted; \
         items: {} created, {} found, {} updated, {} renamed, {} orphaned, {} deleted; \
         instances: {} created, {} deleted ({} of them configured){}",
        report.types_created,
        report.types_found,
        report.types_updated,
        report.types_orphaned,
        report.types_deleted,
        report.items_created,
        report.items_found,
        report.items_updated,
        report.items_renamed,
        report.items_orphaned,
        report.items_deleted,
        report.instances_created,
        report.instances_deleted,
        report.configured_instances_deleted,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn list(plugins: &Plugins, json: bool, out: &mut dyn Write) -> Result<ExitCode, CliError> {
    let records = plugins
        .instances(&InstanceQuery {
            limit: usize::MAX,
            ..InstanceQuery::default()
        })
        .rows;
    let problem = |record: &InstanceSummary| match &record.load {
        LoadState::Loaded | LoadState::NotStarted => None,
        LoadState::Failed(reason) => Some(reason.clone()),
        LoadState::Orphaned => Some("its item's code is gone (orphaned)".to_owned()),
    };
    // What the item says about itself, from this binary's code (none for an orphaned item).
    let registry = plugins.registry();
    let item_of = |record: &InstanceSummary| registry.item(&record.meta.item).ok();
    if json {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|record| {
                let meta = &record.meta;
                let item = item_of(record);
                serde_json::json!({
                    "id": meta.id.to_string(),
                    "type": meta.item.type_key.to_string(),
                    "item": meta.item.name,
                    "name": meta.name,
                    "scope": meta.scope,
                    "status": meta.status.as_str(),
                    "priority": meta.priority,
                    "version": meta.version,
                    "description": record.description,
                    "managed_by": record.managed_by,
                    "loads": problem(record).is_none(),
                    "error": problem(record),
                    "item_version": item.map(|item| item.version()),
                    "item_authors": item.map(|item| item.authors().collect::<Vec<_>>()),
                    "item_homepage": item.and_then(|item| item.homepage()),
                    "item_category": item.and_then(|item| item.category()),
                    "item_hidden": item.map(|item| item.is_hidden()),
                    "type_version": item.map(|item| item.plugin_type().version()),
                    "serves": item.map(serves),
                    "actions": item.map(|item| item
                        .plugin_type()
                        .actions()
                        .iter()
                        .map(|action| action.name())
                        .collect::<Vec<_>>()),
                })
            })
            .collect();
        writeln!(out, "{:#}", serde_json::Value::Array(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 11]> = records
        .iter()
        .map(|record| {
            let meta = &record.meta;
            let item = item_of(record);
            [
                meta.id.to_string(),
                meta.item.to_string(),
                item.map_or("-", |item| item.version()).to_owned(),
                item.and_then(|item| item.category())
                    .unwrap_or("-")
                    .to_owned(),
                meta.name.clone(),
                meta.scope.clone().unwrap_or_else(|| "-".into()),
                meta.status.as_str().to_owned(),
                meta.priority.to_string(),
                match item.map(serves) {
                    Some(types) if types.len() > 1 => types[1..].join(","),
                    _ => "-".to_owned(),
                },
                record.managed_by.clone().unwrap_or_else(|| "-".into()),
                match problem(record) {
                    None => "yes".to_owned(),
                    Some(reason) => format!("no: {reason}"),
                },
            ]
        })
        .collect();
    let header = [
        "ID",
        "ITEM",
        "VERSION",
        "CATEGORY",
        "NAME",
        "SCOPE",
        "STATUS",
        "PRIORITY",
        "ALSO_SERVES",
        "MANAGED_BY",
        "LOADS",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|title| title.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(column, (cell, width))| match column {
                7 => format!("{cell:>width$}"),
                10 => cell.clone(),
                _ => format!("{cell:<width$}"),
            })
            .collect();
        writeln!(out, "{}", cells.join("  "))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The handle to write through: `plugins`, or with `--force` its forced form (writes that
/// take away what ACTIVE instances need are done instead of refused).
fn forced(plugins: &Plugins, force: bool) -> Plugins {
    match force {
        true => plugins.forced(),
        false => plugins.clone(),
    }
}

/// The keys of the plugin types an item's instances serve: its own, then its `also` types.
fn serves(item: &ItemInfo) -> Vec<String> {
    item.serves().map(|ty| ty.key().to_string()).collect()
}

fn check(plugins: &Plugins, out: &mut dyn Write) -> Result<ExitCode, CliError> {
    let failures = plugins.load_failures();
    let total = plugins.instances(&InstanceQuery::default()).total;
    for failure in &failures {
        writeln!(
            out,
            "{} `{}` ({}): {}",
            failure.meta.id, failure.meta.name, failure.meta.item, failure.reason
        )?;
    }
    writeln!(
        out,
        "{} of {total} instance(s) load; {} do(es) not",
        total - failures.len(),
        failures.len()
    )?;
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `diff --json`: the plan as data, for CI jobs and drift alerts (unchanged instances are
/// counted, not listed; no secret value is in a plan).
fn plan_json(
    file: &plugin_runtime::declared::DeclaredFile,
    plan: &plugin_runtime::declared::Plan,
) -> serde_json::Value {
    use plugin_runtime::declared::Step;
    let steps: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .filter_map(|step| {
            Some(match step {
                Step::Create(entry) => serde_json::json!({
                    "step": "create",
                    "item": entry.item.to_string(),
                    "scope": entry.scope,
                    "name": entry.name,
                    "line": entry.line,
                }),
                Step::Update {
                    id,
                    entry,
                    changes,
                    note,
                    ..
                } => serde_json::json!({
                    "step": "update",
                    "id": id.to_string(),
                    "item": entry.item.to_string(),
                    "scope": entry.scope,
                    "name": entry.name,
                    "line": entry.line,
                    "changes": changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "note": note,
                }),
                Step::Delete { meta } => serde_json::json!({
                    "step": "delete",
                    "id": meta.id.to_string(),
                    "item": meta.item.to_string(),
                    "scope": meta.scope,
                    "name": meta.name,
                }),
                Step::Leave { .. } => return None,
            })
        })
        .collect();
    let counts = plan.counts();
    serde_json::json!({
        "file": file.source,
        "sha256": file.digest,
        "differs": !plan.is_empty(),
        "steps": steps,
        "counts": {
            "create": counts.create,
            "update": counts.update,
            "delete": counts.delete,
            "unchanged": counts.leave,
        },
    })
}

fn migrate(plugins: &Plugins, dry_run: bool, out: &mut dyn Write) -> Result<ExitCode, CliError> {
    let migration = plugins.migrate_configs(dry_run)?;
    let verb = if dry_run { "would migrate" } else { "migrated" };
    for done in &migration.migrated {
        writeln!(
            out,
            "{verb} {} `{}` ({}): config version {} → {}",
            done.meta.id, done.meta.name, done.meta.item, done.from, done.to
        )?;
    }
    for failure in &migration.failed {
        writeln!(
            out,
            "cannot migrate {} `{}` ({}), kept as it was: {}",
            failure.meta.id, failure.meta.name, failure.meta.item, failure.reason
        )?;
    }
    writeln!(
        out,
        "{} config(s) {verb}; {} cannot be{}",
        migration.migrated.len(),
        migration.failed.len(),
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    )?;
    Ok(if migration.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn instance(
    plugins: &Plugins,
    command: InstanceCommand,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    match command {
        InstanceCommand::Create {
            item,
            name,
            config,
            status,
            priority,
            scope,
            description,
        } => {
            let key = parse_item(plugins.registry(), &item)?;
            let values = config.new_values(plugins.registry(), &key)?;
            let mut new = NewInstance::new(key, name)
                .status(status.into())
                .description(description);
            if let Some(values) = values {
                new = new.config_values(values);
            }
            if let Some(priority) = priority {
                new = new.priority(priority);
            }
            if let Some(scope) = scope {
                new = new.scope(scope);
            }
            let meta = plugins.create_instance(new)?;
            writeln!(out, "{}", meta.id)?;
        }
        InstanceCommand::Edit {
            id,
            name,
            description,
            config,
        } => {
            let id: InstanceId = id.parse()?;
            let current = plugins.instance(id)?;
            let values = config.edited_values(plugins, &current.meta.item, id)?;
            let meta = plugins.update_instance(
                id,
                current.meta.version,
                InstanceUpdate {
                    name,
                    description,
                    config: values,
                    ..InstanceUpdate::default()
                },
            )?;
            writeln!(out, "{} is at version {}", meta.id, meta.version)?;
        }
        InstanceCommand::Status { status, ids, force } => {
            let ids = parse_ids(&ids)?;
            let changed = forced(plugins, force).set_status(&ids, status.into())?;
            writeln!(out, "{changed} instance(s) changed")?;
        }
        InstanceCommand::Priority { ids, set, shift } => {
            let ids = parse_ids(&ids)?;
            let change = match (set, shift) {
                (Some(value), _) => PriorityChange::Set(value),
                (None, Some(delta)) => PriorityChange::Shift(delta),
                (None, None) => {
                    return Err(Error::InvalidInput {
                        field: "priority",
                        reason: "give --set VALUE or --shift DELTA".into(),
                    }
                    .into());
                }
            };
            let changed = plugins.set_priority(&ids, change)?;
            writeln!(out, "{changed} instance(s) changed")?;
        }
        InstanceCommand::Import { file } => {
            let created = plugins.create_instances(import_entries(plugins.registry(), &file)?)?;
            for meta in created {
                writeln!(out, "{}", meta.id)?;
            }
        }
        InstanceCommand::Action { id, name } => {
            return action(plugins, id.parse()?, name.as_deref(), out);
        }
        InstanceCommand::Delete { id, force } => {
            let id: InstanceId = id.parse()?;
            forced(plugins, force).delete_instance(id)?;
            writeln!(out, "{id} deleted")?;
        }
        InstanceCommand::Release { ids } => {
            let ids = parse_ids(&ids)?;
            let released = plugins.release(&ids)?;
            writeln!(
                out,
                "{released} instance(s) released: edit them by hand now, or the file's next \
                 apply takes them over again"
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `instance action ID [NAME]`: runs the action and prints `ok: TEXT` or `failed: TEXT`
/// (exit 1), or lists what the instance offers.
fn action(
    plugins: &Plugins,
    id: InstanceId,
    name: Option<&str>,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let Some(name) = name else {
        let meta = plugins.instance(id)?.meta;
        let actions = plugins
            .registry()
            .type_by_key(&meta.item.type_key)
            .map(|ty| ty.info.actions())
            .unwrap_or_default();
        if actions.is_empty() {
            writeln!(out, "{id} (`{}`) offers no actions", meta.name)?;
        }
        for action in actions {
            match action.description() {
                "" => writeln!(out, "{}  {}", action.name(), action.label())?,
                about => writeln!(
                    out,
                    "{}  {}: {}",
                    action.name(),
                    action.label(),
                    // A doc comment's lines are one text, wrapped.
                    about.split_whitespace().collect::<Vec<_>>().join(" ")
                )?,
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let outcome = plugins.run_action(id, name)?;
    let said = if outcome.ok { "ok" } else { "failed" };
    writeln!(out, "{said}: {}", one_line(&outcome.text))?;
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

impl ConfigArgs {
    /// The config of a new instance: the JSON file, or the `--set` fields as a form.
    fn new_values(
        &self,
        registry: &Registry,
        key: &ItemKey,
    ) -> Result<Option<ConfigValues>, Error> {
        if let Some(values) = self.file()? {
            return Ok(Some(values));
        }
        let Some(schema) = registry.item(key)?.schema() else {
            return match self.set.is_empty() {
                true => Ok(None),
                false => Err(Error::InvalidInput {
                    field: "--set",
                    reason: format!("`{key}` takes no config"),
                }),
            };
        };
        let form = self.form(schema)?;
        values_from_form(schema, &form)
            .map(Some)
            .map_err(|errors| Error::InvalidConfig {
                item: key.to_string(),
                errors,
            })
    }

    /// The config after an edit: the JSON file, or the stored config with the `--set` fields
    /// replaced; `None` when neither is given (the config stays).
    fn edited_values(
        &self,
        plugins: &Plugins,
        key: &ItemKey,
        id: InstanceId,
    ) -> Result<Option<ConfigValues>, Error> {
        if let Some(values) = self.file()? {
            return Ok(Some(values));
        }
        if self.set.is_empty() {
            return Ok(None);
        }
        let schema = plugins
            .registry()
            .item(key)?
            .schema()
            .ok_or_else(|| Error::InvalidInput {
                field: "--set",
                reason: format!("`{key}` takes no config"),
            })?;
        let stored = plugins.config_values(id)?.unwrap_or_default();
        let form = self.form(schema)?;
        values_with_form(schema, &stored, &form)
            .map(Some)
            .map_err(|errors| Error::InvalidConfig {
                item: key.to_string(),
                errors,
            })
    }

    fn file(&self) -> Result<Option<ConfigValues>, Error> {
        let Some(path) = &self.config else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|err| Error::InvalidInput {
            field: "config",
            reason: format!("cannot read {}: {err}", path.display()),
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| Error::InvalidInput {
                field: "config",
                reason: format!("{} is not a JSON object: {err}", path.display()),
            })
    }

    /// The `--set FIELD=VALUE` pairs as form data; an unknown field is an error.
    fn form(&self, schema: &ConfigSchema) -> Result<FormData, Error> {
        let mut form = FormData::new();
        for pair in &self.set {
            let (field, value) = pair.split_once('=').ok_or_else(|| Error::InvalidInput {
                field: "--set",
                reason: format!("`{pair}` is not FIELD=VALUE"),
            })?;
            if let Some(reason) = plugin_runtime::config::unknown_field(schema, field) {
                return Err(Error::InvalidInput {
                    field: "--set",
                    reason,
                });
            }
            form.push(field, value);
        }
        Ok(form)
    }
}

/// The instances an import file describes, checked as far as the file alone can say (each
/// entry's item and status); the rest is [`Plugins::create_instances`]'s to check.
fn import_entries(registry: &Registry, path: &PathBuf) -> Result<Vec<NewInstance>, Error> {
    let unreadable = |reason: String| Error::InvalidInput {
        field: "import file",
        reason,
    };
    let text = match path.as_os_str() == "-" {
        true => std::io::read_to_string(std::io::stdin()),
        false => std::fs::read_to_string(path),
    }
    .map_err(|err| unreadable(format!("cannot read {}: {err}", path.display())))?;
    let entries: Vec<ImportEntry> = serde_json::from_str(&text).map_err(|err| {
        unreadable(format!(
            "{} is not a JSON array of instances: {err}",
            path.display()
        ))
    })?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            import_entry(registry, entry).map_err(|err| Error::InBatch {
                index,
                source: Box::new(err),
            })
        })
        .collect()
}

fn import_entry(registry: &Registry, entry: ImportEntry) -> Result<NewInstance, Error> {
    let key = parse_item(registry, &entry.item)?;
    let status = match &entry.status {
        Some(text) => text.parse::<Status>()?,
        None => Status::Active,
    };
    let mut new = NewInstance::new(key, entry.name)
        .status(status)
        .description(entry.description);
    if let Some(values) = entry.config {
        new = new.config_values(values);
    }
    if let Some(priority) = entry.priority {
        new = new.priority(priority);
    }
    if let Some(scope) = entry.scope {
        new = new.scope(scope);
    }
    Ok(new)
}

/// `TYPE/ITEM` (the type's name must be unique across namespaces) or `NAMESPACE:TYPE/ITEM`.
fn parse_item(registry: &Registry, text: &str) -> Result<ItemKey, Error> {
    registry.item_named(text).map(|item| item.key())
}

fn parse_ids(ids: &[String]) -> Result<Vec<InstanceId>, Error> {
    ids.iter()
        .map(|id| id.parse::<InstanceId>().map_err(Error::from))
        .collect()
}

/// Errors are one line: the lines of a message joined with "; " (after a line ending in a
/// colon, with a space).
fn one_line(message: &str) -> String {
    let mut joined = String::new();
    for line in message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        if !joined.is_empty() {
            joined.push_str(if joined.ends_with(':') { " " } else { "; " });
        }
        joined.push_str(line);
    }
    joined
}
