//! Access control through the binaries: `apogee standalone` with authentication and
//! authorization on, managed by `apogee admin` signing with --authAccessKey/--authSecretKey (or the
//! APOGEE_ACCESS_KEY/APOGEE_SECRET_KEY environment) using mqadmin's user and ACL commands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const ROOT: [&str; 4] = [
    "--authAccessKey",
    "root",
    "--authSecretKey",
    "root-secret-1",
];
/// Standalone flags: authentication and authorization on, root the initial super user.
const GUARDED: [&str; 6] = [
    "--set",
    "authentication_enabled=true",
    "--set",
    "authorization_enabled=true",
    "--set",
    r#"init_authentication_user='{"username":"root","password":"root-secret-1"}'"#,
];
const ALICE: [&str; 4] = [
    "--authAccessKey",
    "alice",
    "--authSecretKey",
    "alice-secret-1",
];

fn as_user(who: [&str; 4], args: &[&str]) -> Vec<String> {
    args.iter()
        .chain(who.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

fn json(ns: &str, who: [&str; 4], args: &[&str]) -> serde_json::Value {
    let args = as_user(who, args);
    admin_json(ns, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn err(ns: &str, who: [&str; 4], args: &[&str]) -> String {
    let args = as_user(who, args);
    admin_err(ns, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn given_a_guarded_standalone_should_manage_users_and_acls_with_signed_admin_commands() {
    let mut s = Standalone::start(&GUARDED).await;
    let (ns, b) = (s.namesrv.clone(), s.broker.clone());
    let unsigned = admin_err(&ns, &["listUser", "-b", &b]);
    assert!(unsigned.contains("username cannot be null."), "{unsigned}");
    grant_alice(&ns, &b);
    revoke_alice(&ns, &b);

    // The managed users survive a restart (config/acl.json).
    json(
        &ns,
        ROOT,
        &[
            "createUser",
            "-b",
            &b,
            "-u",
            "carol",
            "-p",
            "carol-secret-1",
        ],
    );
    copy_to_another_broker(&ns, &b).await;
    s.stop().await;
    let acl_json = std::fs::read_to_string(s.dir.path().join("store/config/acl.json")).unwrap();
    assert!(acl_json.contains("carol"), "{acl_json}");
}

/// copyUser and copyAcl put carol and her ACL on a second guarded broker.
async fn copy_to_another_broker(ns: &str, b: &str) {
    let mut other = Standalone::start(&GUARDED).await;
    let to = other.broker.clone();
    let grant = [
        "createAcl",
        "-b",
        b,
        "-s",
        "User:carol",
        "-r",
        "Group:g1",
        "-a",
        "Sub",
        "-d",
        "Allow",
    ];
    json(ns, ROOT, &grant);
    json(ns, ROOT, &["copyUser", "-f", b, "-t", &to, "-u", "carol"]);
    json(ns, ROOT, &["copyAcl", "-f", b, "-t", &to]);
    let users = json(ns, ROOT, &["getUser", "-b", &to, "-u", "carol"]);
    assert_eq!(users[0]["user"]["password"], "carol-secret-1", "{users}");
    let acl = json(ns, ROOT, &["getAcl", "-b", &to, "-s", "User:carol"]);
    let entry = &acl[0]["acl"]["policies"][0]["entries"][0];
    assert_eq!(entry["resource"], "Group:g1", "{acl}");
    other.stop().await;
}

/// alice is created and may do nothing; granted orders* she sends; she can neither
/// administer nor make herself super, and nobody can wipe retention.
fn grant_alice(ns: &str, b: &str) {
    json(
        ns,
        ROOT,
        &["createUser", "-b", b, "-u", "alice", "-p", "alice-secret-1"],
    );
    let users = json(ns, ROOT, &["getUser", "-b", b, "-u", "alice"]);
    assert_eq!(users[0]["user"]["userType"], "Normal", "{users}");
    assert_eq!(users[0]["user"]["userStatus"], "enable");
    let denied = err(ns, ALICE, &["sendMessage", "-t", "orders-1", "-p", "hi"]);
    assert!(denied.contains("no matched policies"), "{denied}");
    let grant = [
        "createAcl",
        "-b",
        b,
        "-s",
        "User:alice",
        "-r",
        "Topic:orders*,Group:cg",
        "-a",
        "Pub,Sub",
        "-d",
        "Allow",
    ];
    json(ns, ROOT, &grant);
    let acl = json(ns, ROOT, &["getAcl", "-b", b, "-s", "User:alice"]);
    let entries = &acl[0]["acl"]["policies"][0]["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 2, "{acl}");
    json(ns, ALICE, &["sendMessage", "-t", "orders-1", "-p", "hi"]);
    let escalate = err(
        ns,
        ALICE,
        &["updateUser", "-b", b, "-u", "alice", "-t", "Super"],
    );
    assert!(escalate.contains("Cluster:DefaultCluster"), "{escalate}");
    let wipe = [
        "updateBrokerConfig",
        "-b",
        b,
        "-k",
        "fileReservedTime",
        "-v",
        "0",
    ];
    let wipe = err(ns, ROOT, &wipe);
    assert!(wipe.contains("file_reserved_time"), "{wipe}");
}

/// One entry deleted, alice disabled (then refused), then deleted with her ACL.
fn revoke_alice(ns: &str, b: &str) {
    json(
        ns,
        ROOT,
        &["deleteAcl", "-b", b, "-s", "User:alice", "-r", "Group:cg"],
    );
    let listed = json(ns, ROOT, &["listAcl", "-b", b, "-s", "alice"]);
    let entries = &listed[0]["acl"]["policies"][0]["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 1, "{listed}");
    json(
        ns,
        ROOT,
        &["updateUser", "-b", b, "-u", "alice", "-s", "disable"],
    );
    let disabled = err(ns, ALICE, &["sendMessage", "-t", "orders-1", "-p", "hi"]);
    assert!(disabled.contains("User:alice is disabled."), "{disabled}");
    json(ns, ROOT, &["deleteUser", "-b", b, "-u", "alice"]);
    let users = json(ns, ROOT, &["listUser", "-b", b]);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root"]);
}

#[tokio::test]
async fn given_acl_1_commands_should_write_plain_acl_yml_and_apply_it_at_once() {
    let mut s = Standalone::start(&[
        "--set",
        "acl_enable=true",
        "--set",
        r#"init_authentication_user='{"username":"root","password":"root-secret-1"}'"#,
    ])
    .await;
    let (ns, b) = (s.namesrv.clone(), s.broker.clone());
    let legacy = [
        "--authAccessKey",
        "legacy-ak",
        "--authSecretKey",
        "legacy-sk-1",
    ];
    let short = err(
        &ns,
        ROOT,
        &["updateAclConfig", "-b", &b, "-a", "short", "-s", "x"],
    );
    assert!(short.contains("length should longer than 6"), "{short}");
    let account = [
        "updateAclConfig",
        "-b",
        &b,
        "-a",
        "legacy-ak",
        "-s",
        "legacy-sk-1",
        "-i",
        "DENY",
        "-t",
        "legacy=PUB|SUB",
    ];
    json(&ns, ROOT, &account);
    json(&ns, legacy, &["sendMessage", "-t", "legacy", "-p", "v1"]);
    let denied = err(&ns, legacy, &["sendMessage", "-t", "other", "-p", "x"]);
    assert!(denied.contains("the decision is deny."), "{denied}");

    json(
        &ns,
        ROOT,
        &[
            "updateGlobalWhiteAddr",
            "-b",
            &b,
            "-g",
            "10.9.*.*,192.168.1.1",
        ],
    );
    let config = json(&ns, ROOT, &["getAclConfig", "-b", &b]);
    let config = &config[0]["config"];
    assert_eq!(config["globalWhiteAddrs"][0], "10.9.*.*", "{config}");
    assert_eq!(config["plainAccessConfigs"][0]["accessKey"], "legacy-ak");
    let version = json(&ns, ROOT, &["clusterAclConfigVersion", "-b", &b]);
    assert_eq!(version[0]["version"]["counter"], 2, "{version}");

    json(&ns, ROOT, &["deleteAclConfig", "-b", &b, "-a", "legacy-ak"]);
    let gone = err(&ns, legacy, &["sendMessage", "-t", "legacy", "-p", "v2"]);
    assert!(gone.contains("User:legacy-ak is not found."), "{gone}");
    let yaml = std::fs::read_to_string(s.dir.path().join("store/config/plain_acl.yml")).unwrap();
    assert!(
        yaml.contains("10.9.*.*") && !yaml.contains("legacy-ak"),
        "{yaml}"
    );
    s.stop().await;
}
