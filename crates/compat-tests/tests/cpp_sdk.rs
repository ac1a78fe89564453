//! Apache's C++ client (rocketmq-client-cpp's `librocketmq.so`, as shipped in the PyPI wheel
//! `rocketmq==0.4.4`, the most used Python client and the core of older Go/Node native
//! clients) against an in-process Apogee. Each test runs one scenario of
//! `cpp/scenarios.py` in a virtualenv (`target/cpp-sdk-venv`, created with the wheel when
//! missing; `.ci/run` creates it first) and fails when the scenario does, including when
//! nothing arrives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

/// The wheel the tests drive.
const WHEEL: &str = "rocketmq==0.4.4";
/// Longest one scenario may take (the retry one waits for a 10 s delay level).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    )
}

/// The virtualenv's python, with the wheel installed (once per process; a file lock keeps
/// test binaries that run at once from installing twice).
fn python() -> PathBuf {
    static READY: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut ready = READY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(python) = ready.as_ref() {
        return python.clone();
    }
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("cpp-sdk-venv.lock")).unwrap();
    lock.lock().unwrap();
    let venv = target.join("cpp-sdk-venv");
    let python = venv.join("bin/python");
    let importable = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", "import rocketmq.client"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable(&python) {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(made.success(), "cannot create {}", venv.display());
        let installed = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", WHEEL])
            .status()
            .expect("pip install");
        assert!(
            installed.success(),
            "pip install {WHEEL} failed (PyPI unreachable?)"
        );
        assert!(importable(&python), "{WHEEL} installed but does not import");
    }
    *ready = Some(python.clone());
    python
}

/// Runs `scenario` against a fresh Apogee; panics with the scenario's output when it fails.
async fn run(scenario: &str) {
    let python = tokio::task::spawn_blocking(python).await.unwrap();
    let apogee = common::start(|_| {}).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cpp/scenarios.py");
    let logs = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new(&python)
        .arg(&script)
        .args([&apogee.namesrv_addr, scenario, &common::unique("c")])
        // The C++ client writes its logs under $HOME/logs/rocketmq-cpp.
        .env("HOME", logs.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let output = tokio::time::timeout(SCENARIO_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{scenario}: no result within {SCENARIO_TIMEOUT:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(&format!("OK {scenario}")),
        "C++ client scenario {scenario} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

#[tokio::test]
async fn given_cpp_sync_async_and_oneway_sends_should_reach_a_cpp_push_consumer_once_each() {
    run("sends").await;
}

#[tokio::test]
async fn given_cpp_batch_send_should_be_stored_and_delivered_as_its_messages() {
    run("batch").await;
}

#[tokio::test]
async fn given_cpp_tag_or_subscription_should_receive_only_those_tags() {
    run("tag_filter").await;
}

#[tokio::test]
async fn given_cpp_orderly_sends_should_reach_an_orderly_consumer_in_key_order() {
    run("orderly").await;
}

#[tokio::test]
async fn given_cpp_pull_consumer_should_read_every_queue_from_offset_zero() {
    run("pull").await;
}

#[tokio::test]
async fn given_cpp_reconsume_later_should_redeliver_with_a_raised_reconsume_count() {
    run("retry").await;
}
