//! `apogee bench` as a user runs it: against a real `apogee standalone` process (produce, then
//! consume what was produced) and the raw baselines, reading the JSON report each prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{BIN, Standalone};

const WAIT: Duration = Duration::from_secs(60);

/// Runs `apogee bench <args>` to completion (bounded); returns its stdout.
fn bench(args: &[&str]) -> String {
    let mut child = Command::new(BIN)
        .arg("bench")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("apogee bench {args:?} did not finish within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "apogee bench {args:?}: {status}\n{err}");
    assert!(
        err.is_empty(),
        "no progress bar or logs off a terminal: {err}"
    );
    out
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("--json prints only JSON ({e}): {out}"))
}

fn assert_ordered(latency: &Value, count: u64) {
    let at = |k: &str| latency[k].as_u64().unwrap();
    assert_eq!(at("count"), count, "{latency}");
    assert!(at("p50_us") <= at("p99_us"), "{latency}");
    assert!(at("p99_us") <= at("max_us"), "{latency}");
    assert!(latency["mean_us"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn given_standalone_when_bench_produces_then_consumes_should_report_every_message() {
    let mut standalone = Standalone::start(&[]).await;
    let namesrv = standalone.namesrv.clone();
    let dir = &standalone.dir;

    let produced = json(&bench(&[
        "produce",
        "-n",
        &namesrv,
        "--topic",
        "BenchBinary",
        "--messages",
        "2000",
        "--size",
        "512",
        "--json",
    ]));
    assert_eq!(produced["mode"], "produce");
    assert_eq!(produced["sent"]["messages"], 2000, "{produced}");
    assert_eq!(produced["sent"]["bytes"], 2000 * 512);
    assert_eq!(produced["error_total"], 0, "{produced}");
    assert!(produced["sent"]["msgs_per_s"].as_f64().unwrap() > 0.0);
    assert_ordered(&produced["send_latency"], 2000);

    let report_file = dir.path().join("consume.json");
    let consumed = json(&bench(&[
        "consume",
        "-n",
        &namesrv,
        "--topic",
        "BenchBinary",
        "--messages",
        "2000",
        "--json",
        "--json-out",
        report_file.to_str().unwrap(),
    ]));
    assert_eq!(consumed["mode"], "consume");
    assert_eq!(consumed["received"]["messages"], 2000, "{consumed}");
    assert_eq!(consumed["received"]["bytes"], 2000 * 512);
    assert_eq!(consumed["error_total"], 0);
    assert_ordered(&consumed["e2e_latency"], 2000);
    assert!(consumed.get("notes").is_none(), "{consumed}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(written, consumed, "--json-out holds the same report");

    // The same messages again, by POP with a group of its own.
    let popped = json(&bench(&[
        "consume",
        "-n",
        &namesrv,
        "--topic",
        "BenchBinary",
        "--messages",
        "2000",
        "--pop",
        "-c",
        "2",
        "-g",
        "bench_pop",
        "--json",
    ]));
    assert_eq!(popped["settings"]["pop"], true, "{popped}");
    assert_eq!(popped["received"]["messages"], 2000, "{popped}");
    assert_ordered(&popped["e2e_latency"], 2000);

    standalone.stop().await;
}

#[test]
fn given_raw_tcp_should_echo_every_frame_and_print_a_table_or_json() {
    let report = json(&bench(&[
        "raw-tcp",
        "--messages",
        "2000",
        "--size",
        "1k",
        "--connections",
        "2",
        "--json",
    ]));
    assert_eq!(report["mode"], "raw-tcp");
    assert_eq!(report["sent"]["messages"], 2000);
    assert_eq!(report["sent"]["bytes"], 2000 * 1024);
    assert_eq!(report["error_total"], 0);

    let table = bench(&["raw-tcp", "--messages", "100", "--size", "64"]);
    assert!(table.starts_with("apogee bench raw-tcp: "), "{table}");
    assert!(table.contains("msgs/s"), "{table}");
    assert!(table.contains("errors: none"), "{table}");
}

#[test]
fn given_raw_disk_should_append_and_fsync_as_asked_then_remove_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let synced = json(&bench(&[
        "raw-disk",
        "--dir",
        path,
        "--messages",
        "500",
        "--size",
        "256",
        "--sync",
        "--batch",
        "10",
        "--json",
    ]));
    assert_eq!(synced["mode"], "raw-disk");
    assert_eq!(synced["sent"]["messages"], 500);
    assert_eq!(synced["extra"]["fsyncs"], 50);
    assert_eq!(synced["settings"]["flush"], "sync");

    let buffered = json(&bench(&[
        "raw-disk",
        "--dir",
        path,
        "--messages",
        "500",
        "--size",
        "256",
        "--json",
    ]));
    assert_eq!(buffered["sent"]["messages"], 500);
    assert_eq!(buffered["extra"]["fsyncs"], 0, "async: only the final sync");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
