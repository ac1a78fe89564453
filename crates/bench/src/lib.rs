//! Apogee's load generator, as a library the `apogee bench` subcommand drives.
//!
//! * [`produce`]: producers only: throughput and send → acknowledgement latency.
//! * [`consume`]: push consumers of one group reading the topic.
//! * [`e2e`]: both at once, with send → receipt latency from a timestamp in each body.
//! * [`checked`]: ordered sends retried until acknowledged and an orderly consumer, with a
//!   verdict on loss, duplicates, order and stalls (for chaos runs).
//! * [`topics`]: many topics created one request at a time, then every route looked up.
//! * [`raw`]: the machine's own limits to compare with: loopback TCP echo and file appends.
//!
//! Every run takes a plain config struct (defaults work against `apogee standalone`) and a
//! [`Shutdown`](apogee_runtime::Shutdown) that ends it early, and returns a [`Report`]
//! (human table via `Display`, JSON via [`Report::to_json`]). Failed sends are counted by
//! kind in the report; setting-up failures are [`BenchError`]s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), apogee_bench::BenchError> {
//! use apogee_bench::{Limit, ProduceConfig};
//! let config = ProduceConfig { limit: Limit::messages(10_000), ..ProduceConfig::default() };
//! let report = apogee_bench::produce(&config, apogee_runtime::Shutdown::new()).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

mod checked;
mod config;
mod consume;
mod cpu;
mod e2e;
mod error;
mod pacing;
mod pop;
mod produce;
mod progress;
pub mod raw;
mod report;
mod stamp;
mod stats;
mod topic;
mod topics;

pub use checked::{CheckedConfig, CheckedReport, checked};
pub use config::{
    ConsumeConfig, ConsumerSettings, E2eConfig, Limit, ProduceConfig, ProducerSettings, SendMode,
    StartFrom, Target,
};
pub use consume::consume;
pub use cpu::CpuProbe;
pub use e2e::e2e;
pub use error::{BenchError, Result};
pub use produce::produce;
pub use report::Report;
pub use stats::{LatencySummary, Throughput};
pub use topics::{TOPICS_MAX, TopicsConfig, topic_name, topics};
