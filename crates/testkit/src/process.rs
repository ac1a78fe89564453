//! Servers as child processes of the `apogee` binary (its path comes from the test crate:
//! `env!("CARGO_BIN_EXE_apogee")`), for what only a real process can show: SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a child may take to print its listening lines.
const START_WAIT: Duration = Duration::from_secs(30);

/// A running child, SIGKILLed when dropped.
pub struct ChildServer {
    child: Option<Child>,
    /// The `127.0.0.1:<port>` of each "listening on" line it printed at start.
    pub addrs: Vec<String>,
}

impl ChildServer {
    /// Runs `bin args` (stderr into `log`) until it has printed `listening` lines with
    /// "listening on <addr>".
    pub async fn spawn(bin: &Path, args: &[String], log: &Path, listening: usize) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let addr = addr.split_whitespace().next().unwrap_or_default();
                    let port = addr.rsplit(':').next().unwrap_or_default();
                    found.push(format!("127.0.0.1:{port}"));
                    if found.len() == listening {
                        break;
                    }
                }
            }
            found
        });
        let addrs = tokio::time::timeout(START_WAIT, lines)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no start-up lines within {START_WAIT:?}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            })
            .expect("the reader thread");
        assert_eq!(
            addrs.len(),
            listening,
            "the process ended early: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        Self {
            child: Some(child),
            addrs,
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}
