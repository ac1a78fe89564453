//! The `apogee namesrv` binary as a user runs it: starts, answers over TCP, stops cleanly
//! on SIGTERM, and refuses bad configuration with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};

const BIN: &str = env!("CARGO_BIN_EXE_apogee");

#[tokio::test]
async fn given_namesrv_binary_when_started_should_serve_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "namesrv",
            "--listen-address",
            "127.0.0.1",
            "--listen-port",
            "0",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(20), line)
        .await
        .expect("no start-up line")
        .unwrap()
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .expect("address in start-up line")
        .to_owned();

    let client = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_INFO),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("did not exit on SIGTERM")
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn given_unknown_config_key_when_started_should_fail_and_name_the_key() {
    let out = Command::new(BIN)
        .args(["namesrv", "--set", "listen_prot=1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen_prot"), "{err}");
}

#[test]
fn given_print_default_config_should_print_the_annotated_file() {
    let out = Command::new(BIN)
        .args(["namesrv", "--print-default-config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("listen_port = 9876"));
}
