//! Process plumbing shared by every server crate: how time is read ([`Clock`]), how a
//! process is told to stop ([`Shutdown`]), how configuration is loaded in layers
//! ([`config::load_layered`]) and how logging is set up ([`init_tracing`]).

mod clock;
pub mod config;
mod cpu;
mod periodic;
mod shutdown;

pub use clock::{Clock, ManualClock, SystemClock};
pub use cpu::{cpu_micros_of, process_cpu_micros};
pub use periodic::spawn_periodic_blocking;
pub use shutdown::Shutdown;

/// Installs a `tracing` subscriber that writes to stderr, filtered by `RUST_LOG`
/// (default `info`). Safe to call more than once; later calls are ignored.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
