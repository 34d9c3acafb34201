//! The plugins CLI, through the shop's real binary: every subcommand, its success and its
//! error path. Each test has its own SQLite file and key.

// Test code: its items are public for the macros to register, not an API to document.
#![allow(missing_docs)]

use assert_cmd::Command;
use plugin_system::Key;
use tempfile::TempDir;

/// A shop database and key of its own.
struct Shop {
    dir: TempDir,
    key: String,
}

impl Shop {
    fn new() -> Shop {
        Shop {
            dir: tempfile::tempdir().unwrap(),
            key: Key::generate().to_base64().to_string(),
        }
    }

    /// `shop plugins ARGS...` against this shop.
    fn plugins(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.plugins_with_key(&self.key, args)
    }

    fn plugins_with_key(&self, key: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(key, args).assert()
    }

    /// `shop plugins ARGS...` against this shop's database with `key`, to run.
    fn command(&self, key: &str, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("shop").unwrap();
        command
            .arg("plugins")
            .args(args)
            .env("SHOP_DATABASE_URL", self.url())
            .env("PLUGIN_SYSTEM_KEY", key);
        command
    }

    /// The URL of this shop's database.
    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("shop.db").display())
    }

    /// Output of a successful command.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.plugins(args).success().get_output().stdout.clone();
        String::from_utf8(output).unwrap()
    }

    /// Standard error of a failed command (exit code 1), which must be one line.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.plugins(args).code(1).get_output().stderr.clone();
        let stderr = String::from_utf8(output).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        stderr
    }

    fn synced() -> Shop {
        let shop = Shop::new();
        shop.ok(&["sync"]);
        shop
    }

    fn create_stripe(&self, name: &str) -> String {
        self.ok(&[
            "instance",
            "create",
            "--item",
            "payment_gateway/stripe",
            "--name",
            name,
            "--set",
            "api_key=sk_test_0123456789",
            "--priority",
            "5",
        ])
        .trim()
        .to_owned()
    }
}

#[test]
fn sync_dry_run_then_sync_then_nothing_to_do() {
    let shop = Shop::new();
    let dry = shop.ok(&["sync", "--dry-run"]);
    assert!(dry.contains("would create type"), "{dry}");
    assert!(dry.contains("(dry run: nothing written)"), "{dry}");
    let first = shop.ok(&["sync"]);
    assert!(first.contains("types: 7 created"), "{first}");
    assert!(first.contains("items: 11 created"), "{first}");
    assert!(first.contains("instances: 2 created"), "{first}");
    let again = shop.ok(&["sync", "--mode", "update"]);
    assert!(
        again.contains("types: 0 created, 7 found, 0 updated"),
        "{again}"
    );
    let err = shop.plugins(&["sync", "--mode", "sideways"]).code(2);
    let stderr = String::from_utf8_lossy(&err.get_output().stderr).into_owned();
    assert!(stderr.contains("invalid value 'sideways'"), "{stderr}");
}

#[test]
fn an_unopenable_database_is_one_line_with_the_reason() {
    let output = Command::cargo_bin("shop")
        .unwrap()
        .args(["plugins", "list"])
        .env("SHOP_DATABASE_URL", "sqlite:///nonexistent-dir/x/shop.db")
        .env("PLUGIN_SYSTEM_KEY", Key::generate().to_base64().as_str())
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("Unable to open the database file"),
        "{stderr}"
    );
}

#[test]
fn admin_serves_the_admin_on_its_own_address_and_needs_a_token() {
    use std::io::{BufRead, BufReader, Read, Write};
    let shop = Shop::synced();
    let url = shop.url();
    let refused = Command::cargo_bin("shop")
        .unwrap()
        .args(["plugins", "admin", "--bind", "127.0.0.1:0"])
        .env("SHOP_DATABASE_URL", &url)
        .env("PLUGIN_SYSTEM_KEY", &shop.key)
        .env_remove("PLUGIN_ADMIN_TOKEN")
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8(refused)
            .unwrap()
            .contains("set PLUGIN_ADMIN_TOKEN")
    );

    let mut server = std::process::Command::new(assert_cmd::cargo::cargo_bin("shop"))
        .args(["plugins", "admin", "--bind", "127.0.0.1:0"])
        .env("SHOP_DATABASE_URL", &url)
        .env("PLUGIN_SYSTEM_KEY", &shop.key)
        .env("PLUGIN_ADMIN_TOKEN", "cli-admin-token-0123456789")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first line, read on a thread of its own so a server that never prints fails the
    // test after a liveness bound instead of hanging it.
    let stdout = server.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = match receiver.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = server.kill();
            panic!("`plugins admin` printed no address within 60 s");
        }
    };
    let address = line
        .trim()
        .strip_prefix("plugins admin: http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("Admin token"), "{response}");
}

#[test]
fn list_as_a_table_and_as_json() {
    let shop = Shop::synced();
    let table = shop.ok(&["list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("payment_gateway/cash_on_delivery"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["push", "cash_on_delivery"]);
    assert_eq!(json[0]["loads"], true);
}

#[test]
fn list_shows_each_item_s_version_and_category_and_the_json_all_its_metadata() {
    let shop = Shop::synced();
    let table = shop.ok(&["list"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
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
            "LOADS"
        ]
    );
    let version = env!("CARGO_PKG_VERSION"); // the workspace's, which the plugin crates share
    let push: Vec<&str> = table
        .lines()
        .find(|line| line.contains("notifier/push"))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        push[1..5],
        ["shop-contracts:notifier/push", version, "apps", "push"]
    );
    let cash: Vec<&str> = table
        .lines()
        .find(|line| line.contains("cash_on_delivery"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(cash[2..4], [version, "-"], "no category: {table}");

    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let push = &json[0];
    assert_eq!(push["item"], "push");
    assert_eq!(push["item_version"], version);
    assert_eq!(push["item_category"], "apps");
    assert_eq!(push["item_authors"], serde_json::json!([]));
    assert_eq!(push["item_homepage"], serde_json::Value::Null);
    assert_eq!(push["item_hidden"], false);
    assert_eq!(push["type_version"], 1);
    // The payments crate's Cargo.toml names its authors.
    let cash = &json[1];
    assert_eq!(cash["item"], "cash_on_delivery");
    assert_eq!(
        cash["item_authors"],
        serde_json::json!(["Shop Payments Team <payments@shop.example>"])
    );
    assert_eq!(cash["item_category"], serde_json::Value::Null);
    // The instance's own version (its edits) is still `version`.
    assert_eq!(cash["version"], 1);
}

#[test]
fn sync_prints_each_item_whose_version_changed_from_to() {
    use plugin_system::store::Transaction;
    use plugin_system::sync::{StoredItem, SyncAction};
    let shop = Shop::synced();
    // The database as the shop's previous release left it: push at 0.0.9.
    let url = shop.url();
    let store = plugin_system::database::open(&url).unwrap();
    store
        .write(&mut |tx: &mut dyn Transaction| {
            let push = tx
                .stored_state()?
                .items
                .into_iter()
                .find(|item| item.key.name == "push")
                .expect("push's row");
            tx.apply_sync(&[SyncAction::UpdateItem(StoredItem {
                version: "0.0.9".into(),
                ..push
            })])?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let line = format!(
        "item shop-contracts:notifier/push: version 0.0.9 → {}",
        env!("CARGO_PKG_VERSION")
    );
    let dry = shop.ok(&["sync", "--dry-run"]);
    assert!(dry.contains(&format!("would record {line}")), "{dry}");
    let synced = shop.ok(&["sync"]);
    assert!(synced.lines().any(|printed| printed == line), "{synced}");
    assert!(
        synced.contains("items: 0 created, 11 found, 1 updated"),
        "{synced}"
    );
    let again = shop.ok(&["sync"]);
    assert!(!again.contains("version"), "recorded once: {again}");
}

#[test]
fn create_validates_like_the_form_and_reports_every_field() {
    let shop = Shop::synced();
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/stripe",
        "--name",
        "Stripe",
        "--set",
        "api_key=short",
        "--set",
        "timeout_secs=0",
    ]);
    assert!(
        err.contains("api_key: must be at least 8 characters long"),
        "{err}"
    );
    assert!(err.contains("timeout_secs"), "{err}");
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/stripe",
        "--name",
        "S",
        "--set",
        "nope=1",
    ]);
    assert!(err.contains("unknown field `nope`"), "{err}");
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/bitcoin",
        "--name",
        "B",
    ]);
    assert!(err.contains("bitcoin"), "{err}");
    let err = shop.fails(&["instance", "create", "--item", "stripe", "--name", "S"]);
    assert!(err.contains("TYPE/ITEM"), "{err}");

    let long = "n".repeat(201);
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/stripe",
        "--name",
        &long,
        "--set",
        "api_key=sk_test_0123456789",
    ]);
    assert!(err.contains("longer than 200 characters"), "{err}");

    let id = shop.create_stripe("Stripe");
    assert_eq!(id.len(), 36, "{id}");
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/stripe",
        "--name",
        "Stripe",
        "--set",
        "api_key=sk_test_0123456789",
    ]);
    assert!(err.contains("already"), "a taken name: {err}");
    // The secret never reaches the listing.
    assert!(!shop.ok(&["list", "--json"]).contains("sk_test_0123456789"));
}

#[test]
fn create_from_a_json_file() {
    let shop = Shop::synced();
    let file = shop.dir.path().join("paypal.json");
    std::fs::write(
        &file,
        r#"{"client_id": "shop-app", "client_secret": "paypal-secret", "sandbox": true}"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let id = shop.ok(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/paypal",
        "--name",
        "PayPal",
        "--config",
        path,
        "--status",
        "reserved",
    ]);
    assert!(shop.ok(&["list"]).contains("reserved"), "{id}");
    std::fs::write(&file, "not json").unwrap();
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/paypal",
        "--name",
        "P2",
        "--config",
        path,
    ]);
    assert!(err.contains("is not a JSON object"), "{err}");

    // A misspelled key is refused as `--set` refuses it, never stored with the field defaulted.
    std::fs::write(
        &file,
        r#"{"client_id": "shop-app", "client_secret": "paypal-secret", "Sandbox": true}"#,
    )
    .unwrap();
    let err = shop.fails(&[
        "instance",
        "create",
        "--item",
        "payment_gateway/paypal",
        "--name",
        "P3",
        "--config",
        path,
    ]);
    assert!(
        err.contains("Sandbox") && err.contains("sandbox"),
        "names the key and the field it resembles: {err}"
    );
    assert!(!shop.ok(&["list"]).contains("P3"), "nothing stored");
}

/// The listed instances' names and scopes, sorted.
fn names_and_scopes(shop: &Shop) -> Vec<(String, Option<String>)> {
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let mut rows: Vec<(String, Option<String>)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let scope = row["scope"].as_str().map(str::to_owned);
            (row["name"].as_str().unwrap().to_owned(), scope)
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn import_creates_every_instance_of_the_file_or_none() {
    let shop = Shop::synced();
    let before = names_and_scopes(&shop);
    let file = shop.dir.path().join("import.json");
    let import = |json: &str| {
        std::fs::write(&file, json).unwrap();
        file.to_str().unwrap().to_owned()
    };

    // An entry that fails its checks: its index and its own error, and nothing created.
    let path = import(
        r#"[{"item": "payment_gateway/stripe", "name": "A", "config": {"api_key": "sk_test_0123456789"}},
            {"item": "payment_gateway/stripe", "name": "B", "config": {"api_key": "short"}}]"#,
    );
    let err = shop.fails(&["instance", "import", &path]);
    assert!(err.contains("entry 1 of the batch"), "{err}");
    assert!(err.contains("api_key: must be at least 8"), "{err}");
    assert_eq!(names_and_scopes(&shop), before, "nothing was created");

    // A name the file repeats in one scope, an unknown status, a misspelt field.
    let path = import(
        r#"[{"item": "payment_gateway/paypal", "name": "P", "config": {"client_id": "shop", "client_secret": "paypal-secret"}},
            {"item": "payment_gateway/paypal", "name": "P", "config": {"client_id": "shop", "client_secret": "paypal-secret"}}]"#,
    );
    let err = shop.fails(&["instance", "import", &path]);
    assert!(err.contains("already has an instance named `P`"), "{err}");
    let path =
        import(r#"[{"item": "payment_gateway/cash_on_delivery", "name": "C", "status": "on"}]"#);
    let err = shop.fails(&["instance", "import", &path]);
    assert!(err.contains("entry 0") && err.contains("`on`"), "{err}");
    let path = import(r#"[{"item": "payment_gateway/cash_on_delivery", "nmae": "C"}]"#);
    let err = shop.fails(&["instance", "import", &path]);
    assert!(err.contains("unknown field `nmae`"), "{err}");
    assert_eq!(names_and_scopes(&shop), before, "nothing was created");

    // A good file: every instance, its id printed in the file's order.
    let path = import(
        r#"[{"item": "payment_gateway/stripe", "name": "Stripe", "scope": "tenant-1", "config": {"api_key": "sk_test_0123456789"}},
            {"item": "payment_gateway/stripe", "name": "Stripe", "scope": "tenant-2", "config": {"api_key": "sk_test_9876543210"}, "priority": 3},
            {"item": "payment_gateway/paypal", "name": "PayPal", "status": "reserved", "config": {"client_id": "shop", "client_secret": "paypal-secret"}}]"#,
    );
    let ids: Vec<String> = shop
        .ok(&["instance", "import", &path])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let row = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&ids[0])["scope"], "tenant-1");
    assert_eq!(row(&ids[1])["priority"], 3);
    assert_eq!(row(&ids[2])["status"], "reserved");

    // Standard input, and a file that is not an array.
    let url = shop.url();
    let output = Command::cargo_bin("shop")
        .unwrap()
        .args(["plugins", "instance", "import", "-"])
        .env("SHOP_DATABASE_URL", url)
        .env("PLUGIN_SYSTEM_KEY", &shop.key)
        .write_stdin(r#"[{"item": "payment_gateway/cash_on_delivery", "name": "COD 2"}]"#)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(output).unwrap().lines().count(), 1);
    let path = import(r#"{"item": "payment_gateway/cash_on_delivery"}"#);
    let err = shop.fails(&["instance", "import", &path]);
    assert!(err.contains("is not a JSON array of instances"), "{err}");
    assert_eq!(names_and_scopes(&shop).len(), before.len() + 4);
}

#[test]
fn edit_status_priority_and_delete() {
    let shop = Shop::synced();
    let id = shop.create_stripe("Stripe");
    let edited = shop.ok(&[
        "instance",
        "edit",
        &id,
        "--set",
        "currency=usd",
        "--name",
        "Stripe US",
    ]);
    assert!(edited.contains("version 2"), "{edited}");
    let err = shop.fails(&["instance", "edit", &id, "--set", "currency=gbp"]);
    assert!(err.contains("currency"), "{err}");

    assert!(
        shop.ok(&["instance", "status", "reserved", &id])
            .contains("1 instance(s) changed")
    );
    assert!(
        shop.ok(&["instance", "priority", &id, "--shift", "-3"])
            .contains("1 instance(s) changed")
    );
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (
            row["name"].as_str(),
            row["status"].as_str(),
            row["priority"].as_i64()
        ),
        (Some("Stripe US"), Some("reserved"), Some(2))
    );

    let err = shop.fails(&["instance", "priority", &id]);
    assert!(err.contains("--set VALUE or --shift DELTA"), "{err}");
    assert!(shop.ok(&["instance", "delete", &id]).contains("deleted"));
    let err = shop.fails(&["instance", "delete", &id]);
    assert!(err.contains("no plugin instance with id"), "{err}");
    let err = shop.fails(&["instance", "status", "disabled", "not-an-id"]);
    assert!(err.contains("not a valid plugin instance id"), "{err}");
}

#[test]
fn check_fails_when_an_instance_does_not_load() {
    let shop = Shop::synced();
    shop.create_stripe("Stripe");
    assert!(shop.ok(&["check"]).contains("3 of 3 instance(s) load"));
    // Another key cannot open the stored config: `check` says which instance and exits 1.
    let other = Key::generate().to_base64().to_string();
    let output = shop
        .plugins_with_key(&other, &["check"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report = String::from_utf8(output).unwrap();
    assert!(report.contains("`Stripe`"), "{report}");
    assert!(report.contains("1 do(es) not"), "{report}");
}

#[test]
fn schema_prints_the_json_schema() {
    let shop = Shop::synced();
    let schema: serde_json::Value =
        serde_json::from_str(&shop.ok(&["schema", "payment_gateway/stripe"])).unwrap();
    assert_eq!(schema["properties"]["api_key"]["writeOnly"], true);
    assert_eq!(schema["required"], serde_json::json!(["api_key"]));
    let err = shop.fails(&["schema", "notifier/push"]);
    assert!(err.contains("takes no config"), "{err}");
}

#[test]
fn keys_generate_and_rotate() {
    let shop = Shop::synced();
    let generated = shop.ok(&["keys", "generate"]);
    let new = generated.trim();
    assert_eq!(new.len(), 44, "{new}");
    shop.create_stripe("Stripe");
    // The new key first, the old one kept until the rotation is done.
    let rotated = shop
        .plugins_with_key(&format!("{new},{}", shop.key), &["keys", "rotate"])
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8(rotated)
            .unwrap()
            .contains("1 config(s) re-encrypted")
    );
    // Now the new key alone reads everything.
    shop.plugins_with_key(new, &["check"]).success();
    // A keyring that cannot open a row rotates nothing and says which instance.
    let stranger = Key::generate().to_base64().to_string();
    let output = shop
        .plugins_with_key(&stranger, &["keys", "rotate"])
        .code(1)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert!(
        stderr.contains("`Stripe`") && stderr.contains("does not load"),
        "{stderr}"
    );
    // A malformed key is one clear line.
    let output = shop
        .plugins_with_key("not-base64!", &["list"])
        .code(1)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert!(stderr.contains("malformed encryption key"), "{stderr}");
}

/// A plugin type of this test binary only, in the shop's namespace: synced into a shop's
/// database, then gone from the code the shop's binary links, as after a deploy that removed
/// it. (Sync touches only the namespaces the binary registers.)
mod retired {
    use plugin_system::prelude::*;

    #[plugin_type(name = "fax_gateway", namespace = "shop-contracts")]
    pub trait FaxGateway {
        #[allow(dead_code)] // never served: the code is "gone"
        fn send(&self) -> String;
    }

    #[derive(PluginConfig, Clone)]
    pub struct FaxConfig {
        #[config(secret, min_length = 4)]
        pub token: String,
    }

    pub struct Fax(#[allow(dead_code)] FaxConfig);

    impl From<FaxConfig> for Fax {
        fn from(config: FaxConfig) -> Self {
            Fax(config)
        }
    }

    #[plugin_item(name = "fax", config = FaxConfig, priority = 10)]
    impl FaxGateway for Fax {
        fn send(&self) -> String {
            "fax".into()
        }
    }
}

#[test]
fn sync_prune_dry_run_names_the_configured_instances_it_would_destroy() {
    use plugin_system::prelude::*;
    let shop = Shop::new();
    // The retired code's type, item and one configured instance, in the shop's database.
    let url = shop.url();
    let retired = Plugins::builder()
        .database_url(&url)
        .keyring(Keyring::from_base64_list(&shop.key).unwrap())
        .no_watch()
        .build()
        .unwrap();
    let fax = retired
        .create_instance(
            NewInstance::of::<dyn retired::FaxGateway>("fax", "office fax").config(
                &retired::FaxConfig {
                    token: "t0ken".into(),
                },
            ),
        )
        .unwrap();
    drop(retired);
    shop.ok(&["sync"]);

    let dry = shop.ok(&["sync", "--prune", "--dry-run"]);
    let doomed = format!(
        "1 of them configured, their configs lost: `office fax` ({})",
        fax.id
    );
    assert!(
        dry.lines()
            .any(|line| line.starts_with("would delete") && line.contains(&doomed)),
        "{dry}"
    );
    assert!(
        dry.contains(
            "instances: 0 created, 1 deleted (1 of them configured) (dry run: nothing written)"
        ),
        "{dry}"
    );
    let listed = shop.ok(&["list"]);
    assert!(
        listed.contains("office fax"),
        "the dry run kept it: {listed}"
    );

    let pruned = shop.ok(&["sync", "--prune"]);
    assert!(pruned.contains(&doomed), "{pruned}");
    assert!(
        pruned.contains("1 deleted (1 of them configured)"),
        "{pruned}"
    );
    assert!(!shop.ok(&["list"]).contains("office fax"));
}

#[test]
fn disabling_or_deleting_what_an_active_instance_needs_is_refused_unless_forced() {
    let shop = Shop::synced();
    let templates = shop
        .ok(&[
            "instance",
            "create",
            "--item",
            "template_renderer/placeholders",
            "--name",
            "Shop templates",
        ])
        .trim()
        .to_owned();
    let emails = shop
        .ok(&[
            "instance",
            "create",
            "--item",
            "user_registered/customer_emails",
            "--name",
            "Customer e-mails",
            "--set",
            "smtp_host=smtp.example.com",
            "--set",
            "from=hello@shop.example",
            "--set",
            "password=demo-password",
        ])
        .trim()
        .to_owned();
    // The list says which extension points the instance serves besides its own.
    let table = shop.ok(&["list"]);
    let row: Vec<&str> = table
        .lines()
        .find(|line| line.contains(&emails))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert!(row.contains(&"shop-contracts:order_confirmed"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == emails.as_str())
        .unwrap();
    assert_eq!(
        row["serves"],
        serde_json::json!([
            "shop-contracts:user_registered",
            "shop-contracts:order_confirmed"
        ])
    );

    for refused in [
        shop.fails(&["instance", "status", "disabled", &templates]),
        shop.fails(&["instance", "delete", &templates]),
    ] {
        assert!(
            refused.contains("required by `Customer e-mails`"),
            "{refused}"
        );
    }
    assert!(
        shop.ok(&["list"])
            .lines()
            .any(|line| line.contains(&templates) && line.contains("active"))
    );
    shop.ok(&["instance", "status", "disabled", &templates, "--force"]);
    let check = shop
        .plugins(&["list", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&check).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == emails.as_str())
        .unwrap();
    assert_eq!(row["loads"], false);
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .starts_with("needs `template_renderer`"),
        "{row}"
    );
}

#[test]
fn instance_action_lists_runs_and_exits_1_when_the_action_failed() {
    let shop = Shop::synced();
    let good = shop
        .ok(&[
            "instance",
            "create",
            "--item",
            "payment_gateway/stripe",
            "--name",
            "Stripe",
            "--set",
            "api_key=sk_test_51HshopDEMOkey0123",
        ])
        .trim()
        .to_owned();
    // Too short to be a key Stripe issued: the simulated check refuses it.
    let short = shop.create_stripe("Stripe (short key)");

    let listed = shop.ok(&["instance", "action", &good]);
    assert_eq!(
        listed,
        "check_connection  Test the connection: Asks the provider whether this instance's \
         credentials are accepted, without charging anything. Says where it connected and in \
         which mode; never a secret.\n"
    );

    let ran = shop.ok(&["instance", "action", &good, "check_connection"]);
    assert_eq!(
        ran,
        "ok: connected to https://api.stripe.com in test mode, settling in EUR\n"
    );

    let output = shop
        .plugins(&["instance", "action", &short, "check_connection"])
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout,
        "failed: Stripe refused the test key: it is not a key Stripe issued (too short, or \
         characters a Stripe key does not have)\n"
    );
    assert!(output.stderr.is_empty(), "{:?}", output.stderr);
    assert!(!stdout.contains("sk_test_0123456789"));

    // The gateway without a provider answers with the trait's default body.
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let cash = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["item"] == "cash_on_delivery")
        .unwrap();
    assert_eq!(cash["actions"], serde_json::json!(["check_connection"]));
    let cash = cash["id"].as_str().unwrap();
    assert_eq!(
        shop.ok(&["instance", "action", cash, "check_connection"]),
        "ok: nothing to connect to: this gateway talks to no provider\n"
    );

    let err = shop.fails(&["instance", "action", &good, "chek_connection"]);
    assert!(
        err.contains("has no action `chek_connection`; its actions: `check_connection`"),
        "{err}"
    );
    let push = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["item"] == "push")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        shop.ok(&["instance", "action", &push])
            .ends_with("offers no actions\n")
    );
}

#[test]
fn a_tenant_is_shown_what_it_is_served_and_switches_global_instances() {
    let shop = Shop::synced();
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let cash = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["item"] == "cash_on_delivery")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let line_of = |shown: &str| {
        shown
            .lines()
            .find(|line| line.contains(&cash))
            .unwrap_or_else(|| panic!("{shown}"))
            .to_owned()
    };
    let shown = shop.ok(&["tenant", "show", "acme"]);
    assert!(
        shown.contains("shop-contracts:payment_gateway\n"),
        "{shown}"
    );
    let line = line_of(&shown);
    assert!(line.trim_start().starts_with('*'), "selected: {line}");
    assert!(line.ends_with("served: global"), "{line}");

    assert_eq!(
        shop.ok(&["tenant", "off", "acme", &cash]),
        format!("{cash} for tenant acme: switched off\n")
    );
    assert_eq!(
        shop.ok(&["tenant", "off", "acme", &cash]),
        format!("{cash} for tenant acme: unchanged\n")
    );
    let line = line_of(&shop.ok(&["tenant", "show", "acme"]));
    assert!(
        line.ends_with("not served: global, switched off for the tenant"),
        "{line}"
    );
    // Another tenant still gets it.
    assert!(line_of(&shop.ok(&["tenant", "show", "globex"])).ends_with("served: global"));
    assert_eq!(
        shop.ok(&["tenant", "default", "acme", &cash]),
        format!("{cash} for tenant acme: as its item says\n")
    );
    assert!(line_of(&shop.ok(&["tenant", "show", "acme"])).ends_with("served: global"));
    // A tenant's own instance has no switch.
    let own = shop
        .ok(&[
            "instance",
            "create",
            "--item",
            "payment_gateway/cash_on_delivery",
            "--name",
            "Acme's cash",
            "--scope",
            "acme",
        ])
        .trim()
        .to_owned();
    let refused = shop.fails(&["tenant", "off", "acme", &own]);
    assert!(refused.contains("belongs to tenant `acme`"), "{refused}");
    // It is listed as the tenant's own.
    let shown = shop.ok(&["tenant", "show", "acme"]);
    let own_line = shown
        .lines()
        .find(|line| line.contains(&own))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(own_line.ends_with("served: the tenant's own"), "{own_line}");
}

/// `shop plugins ARGS...` with the example file's secrets in the environment (Stripe's key;
/// PayPal's secret file and acme's SMTP password are left missing on purpose).
fn with_secrets(shop: &Shop, args: &[&str]) -> assert_cmd::assert::Assert {
    shop.command(&shop.key, args)
        .env("SHOP_STRIPE_KEY", "sk_live_from_the_environment")
        .env_remove("SHOP_ACME_SMTP_PASSWORD")
        .assert()
}

fn stdout(assert: assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn the_shipped_example_file_is_planned_applied_diffed_and_exported() {
    let shop = Shop::synced();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins.toml");

    let dry = shop.ok(&["apply", example, "--dry-run"]);
    assert!(
        dry.contains("+ create shop-contracts:payment_gateway/stripe \"Stripe\""),
        "{dry}"
    );
    assert!(
        dry.contains("+ create shop-contracts:notifier/email \"Order emails\" (tenant acme)"),
        "{dry}"
    );
    assert!(
        dry.contains("Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged."),
        "{dry}"
    );
    assert!(dry.contains("Dry run: nothing was written."), "{dry}");
    // Nothing was written: the store still differs from the file.
    let drift = stdout(shop.plugins(&["diff", example]).code(1));
    assert!(drift.contains("4 to create"), "{drift}");
    let as_data: serde_json::Value =
        serde_json::from_str(&stdout(shop.plugins(&["diff", example, "--json"]).code(1))).unwrap();
    assert_eq!(as_data["file"], "plugins.toml");
    assert_eq!(as_data["differs"], true);
    assert_eq!(as_data["counts"]["create"], 4, "{as_data}");
    assert_eq!(as_data["steps"][0]["step"], "create");
    assert_eq!(
        as_data["steps"][0]["item"],
        "shop-contracts:payment_gateway/stripe"
    );
    assert_eq!(as_data["steps"][0]["line"], 13, "{as_data}");

    let applied = stdout(with_secrets(&shop, &["apply", example]).success());
    assert!(
        applied.contains("Applied plugins.toml (sha256 "),
        "{applied}"
    );
    assert!(
        shop.ok(&["diff", example])
            .starts_with("No changes (4 declared instances up to date).")
    );

    // Each process reads the references: with Stripe's key in its environment, Stripe loads;
    // the secret file and the variable that are missing are named, and nothing else fails.
    let check = stdout(with_secrets(&shop, &["check"]).code(1));
    assert!(
        check.contains("`/run/secrets/paypal_client_secret`"),
        "{check}"
    );
    assert!(check.contains("`SHOP_ACME_SMTP_PASSWORD`"), "{check}");
    assert!(!check.contains("`Stripe`"), "{check}");
    // The table says who manages what.
    let list = shop.ok(&["list"]);
    let stripe_row = list
        .lines()
        .find(|line| line.contains("\"Stripe\"") || line.contains(" Stripe "))
        .unwrap();
    assert!(stripe_row.contains("plugins.toml"), "{list}");

    // A hand edit is refused until the instance is released; then the diff reports it.
    let id = stripe_row.split_whitespace().next().unwrap().to_owned();
    let refused = shop.fails(&["instance", "priority", &id, "--set", "1"]);
    assert!(
        refused.contains("managed by the file plugins.toml"),
        "{refused}"
    );
    let released = shop.ok(&["instance", "release", &id]);
    assert!(released.starts_with("1 instance(s) released"), "{released}");
    shop.ok(&["instance", "priority", &id, "--set", "1"]);
    let drift = stdout(shop.plugins(&["diff", example]).code(1));
    assert!(
        drift.contains("~ update shop-contracts:payment_gateway/stripe \"Stripe\": priority 1 → 5, taken over from hand edits"),
        "{drift}"
    );
    let as_data: serde_json::Value =
        serde_json::from_str(&stdout(shop.plugins(&["diff", example, "--json"]).code(1))).unwrap();
    assert_eq!(as_data["steps"][0]["id"], id.as_str(), "{as_data}");
    assert_eq!(
        as_data["steps"][0]["changes"],
        serde_json::json!(["priority 1 → 5", "taken over from hand edits"])
    );
    assert_eq!(as_data["counts"]["unchanged"], 3);

    // The export writes references, never values, and reads back as a file.
    let exported = shop.ok(&["export"]);
    assert!(
        exported.contains("api_key = { env = \"SHOP_STRIPE_KEY\" }"),
        "{exported}"
    );
    assert!(
        !exported.contains("sk_live_from_the_environment"),
        "{exported}"
    );
    let copy = shop.dir.path().join("exported.toml");
    std::fs::write(&copy, &exported).unwrap();
    shop.ok(&["apply", copy.to_str().unwrap(), "--dry-run"]);

    // The JSON Schema an editor validates the file with.
    let schema: serde_json::Value = serde_json::from_str(&shop.ok(&["schema", "--file"])).unwrap();
    assert!(
        schema
            .to_string()
            .contains("shop-contracts:payment_gateway/stripe")
    );
}

#[test]
fn a_file_with_mistakes_is_refused_with_every_problem_at_its_line() {
    let shop = Shop::synced();
    let bad = shop.dir.path().join("plugins.toml");
    std::fs::write(
        &bad,
        "[[instance]]\nitem = \"shop-contracts:payment_gateway/stripe\"\nname = \"Stripe\"\n[instance.config]\napi_key = \"sk_live_written_in_the_file\"\ntimeout_secs = 0\n\n[[instance]]\nitem = \"shop-contracts:payment_gateway/stripey\"\nname = \"Typo\"\n",
    )
    .unwrap();
    let output = shop
        .plugins(&["apply", bad.to_str().unwrap()])
        .code(1)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert!(stderr.contains("plugins.toml:5: "), "{stderr}");
    assert!(stderr.contains("plugins.toml:6: "), "{stderr}");
    assert!(stderr.contains("plugins.toml:9: "), "{stderr}");
    assert!(!stderr.contains("sk_live_written_in_the_file"), "{stderr}");
    // Nothing was written.
    assert!(!shop.ok(&["list"]).contains("Stripe"));
}

/// Overwrites the config of the instance `name` with `plaintext`, sealed as the shop's
/// previous release wrote it (version 1 of the announcement's shape: one `message`).
fn stored_as_version_1(shop: &Shop, name: &str, plaintext: serde_json::Value) -> String {
    use plugin_system::store::Changed;
    let store = plugin_system::database::open(&shop.url()).unwrap();
    let keyring = plugin_system::Keyring::from_base64_list(&shop.key).unwrap();
    let record = store
        .instances()
        .unwrap()
        .into_iter()
        .find(|record| record.meta.name == name)
        .unwrap();
    let id = record.meta.id;
    let sealed = keyring.seal(id, &serde_json::to_vec(&plaintext).unwrap());
    store
        .write(&mut |tx| {
            let mut record = record.clone();
            record.sealed_config = Some(sealed.clone());
            tx.update_instances(std::slice::from_ref(&record))?;
            tx.bump_revision(Changed::Instances(&[id]))?;
            Ok(())
        })
        .unwrap();
    id.to_string()
}

#[test]
fn migrate_re_seals_configs_of_an_older_shape_and_names_those_it_cannot() {
    let shop = Shop::synced();
    for name in ["Winter sale", "Broken"] {
        shop.ok(&[
            "instance",
            "create",
            "--item",
            "storefront_banner/announcement",
            "--name",
            name,
            "--set",
            "headline=Now",
        ]);
    }
    let winter = stored_as_version_1(
        &shop,
        "Winter sale",
        serde_json::json!({"message": "Winter sale: 10% off every order"}),
    );
    let broken = stored_as_version_1(&shop, "Broken", serde_json::json!({"message": 7}));

    // Served through the upgrade before any migration; the broken one says why it is not.
    let check = stdout(shop.plugins(&["check"]).code(1));
    assert!(
        check.contains(&format!("{broken} `Broken`"))
            && check.contains("config version 1 → 2 failed: `message` is not text"),
        "{check}"
    );
    assert!(!check.contains("Winter sale"), "{check}");

    let dry = stdout(shop.plugins(&["migrate", "--dry-run"]).code(1));
    assert!(
        dry.contains(&format!("would migrate {winter} `Winter sale`"))
            && dry.contains("config version 1 → 2"),
        "{dry}"
    );
    assert!(dry.contains("(dry run: nothing written)"), "{dry}");
    let done = stdout(shop.plugins(&["migrate"]).code(1));
    assert!(
        done.contains(&format!("migrated {winter} `Winter sale`")),
        "{done}"
    );
    assert!(
        done.contains(&format!("cannot migrate {broken} `Broken`")),
        "{done}"
    );
    assert!(done.contains("1 config(s) migrated; 1 cannot be"), "{done}");
    // Migrated once: the second run finds only the broken one.
    let again = stdout(shop.plugins(&["migrate"]).code(1));
    assert!(
        again.starts_with(&format!("cannot migrate {broken}")),
        "{again}"
    );
    let json: serde_json::Value = serde_json::from_str(&shop.ok(&["list", "--json"])).unwrap();
    let winter_row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == winter.as_str())
        .unwrap();
    assert_eq!(winter_row["loads"], true, "{winter_row}");
}
