//! Harness for the binary's tests: a real `apogee standalone` process on free ports in a temp
//! dir, `apogee admin …` runs with parsed output, and deadline-bounded waiting.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_apogee");
/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);

/// Reads stdout until `count` lines containing "listening on" were seen; returns their addresses.
pub async fn listening_addrs(child: &mut Child, count: usize) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(addr) = line.split("listening on ").nth(1) {
                found.push(addr.split_whitespace().next().unwrap().to_owned());
                if found.len() == count {
                    break;
                }
            }
        }
        found
    });
    tokio::time::timeout(WAIT, lines)
        .await
        .expect("no start-up lines")
        .unwrap()
}

/// Sends SIGTERM and expects a clean exit.
pub async fn stop(mut child: Child, stderr_log: &Path) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(WAIT, status)
        .await
        .expect("did not exit on SIGTERM")
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{}",
        std::fs::read_to_string(stderr_log).unwrap_or_default()
    );
}

pub fn local(addr: &str) -> String {
    format!("127.0.0.1:{}", addr.rsplit(':').next().unwrap())
}

/// A running `apogee standalone` with small store files; killed when dropped.
pub struct Standalone {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub namesrv: String,
    pub broker: String,
    /// The management API (`http://` + this).
    pub console: String,
}

impl Standalone {
    pub async fn start(extra: &[&str]) -> Standalone {
        Self::start_in(tempfile::tempdir().unwrap(), extra).await
    }

    /// Starts on `dir` (a restart keeps what an earlier run stored there).
    pub async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Standalone {
        let mut child = Command::new(BIN)
            .args([
                "standalone",
                "--namesrv-port",
                "0",
                "-p",
                "0",
                "--console-port",
                "0",
                "--set",
                "broker_ip1=\"127.0.0.1\"",
                "--set",
                "grpc_listen_port=0",
                // Small files (they are allocated in full), and a host disk that happens to
                // be nearly full must not make the broker refuse writes or delete files.
                "--set",
                "mapped_file_size_commit_log=16777216",
                "--set",
                "mapped_file_size_consume_queue=200000",
                "--set",
                "disk_space_warning_level_ratio=99",
                "--set",
                "clean_file_forcibly_enable=false",
            ])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let addrs = listening_addrs(&mut child, 3).await;
        let standalone = Standalone {
            child: Some(child),
            namesrv: local(&addrs[0]),
            broker: local(&addrs[1]),
            console: local(&addrs[2]),
            dir,
        };
        let ns = standalone.namesrv.clone();
        wait_until("the broker registers", || {
            let ns = ns.clone();
            async move { admin(&ns, &["topicRoute", "-t", "TBW102"]).status.success() }
        })
        .await;
        standalone
    }

    /// SIGKILL: no shutdown work at all; returns the data dir for a restart.
    pub fn kill(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    /// SIGTERM and a clean exit expected; the data dir stays until `self` is dropped.
    pub async fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child, &self.dir.path().join("stderr.log")).await;
        }
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `apogee admin -n <namesrv> <args>`.
pub fn admin(namesrv: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["admin", "-n", namesrv])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Runs an admin command with `--json`, expects success and parses stdout.
pub fn admin_json(namesrv: &str, args: &[&str]) -> serde_json::Value {
    let out = admin(namesrv, &[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "admin {args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs an admin command that must fail; returns its stderr.
pub fn admin_err(namesrv: &str, args: &[&str]) -> String {
    let out = admin(namesrv, args);
    assert!(
        !out.status.success(),
        "admin {args:?} should fail but printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Rows of a human table: the `#`-header's column names and each row's cells.
pub fn table(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .expect("a table header")
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| h.trim_start_matches('#').to_owned())
        .collect();
    lines
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split_whitespace().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Polls `check` every 100 ms until it holds; panics after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A broker set's master address and in-sync count, as `getSyncStateSet -a controller` prints
/// them (`None` until the controller knows a master).
pub fn sync_state(controller: &str, broker_name: &str) -> Option<(String, usize)> {
    let out = admin(
        "127.0.0.1:1",
        &[
            "getSyncStateSet",
            "-a",
            controller,
            "-b",
            broker_name,
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let set = &json["replicasInfoTable"][broker_name];
    Some((
        set["masterAddress"].as_str()?.to_owned(),
        set["inSyncReplicas"].as_array()?.len(),
    ))
}
