//! Store append throughput against the raw-disk baseline, measured in the same run:
//! `cargo run --release -p apogee-store --example append_throughput [-- <messages> <body bytes>]`.
//!
//! Baseline: `write_all` of the same number of bytes to one file (page cache, no fsync),
//! then the store appending records one by one (ASYNC_FLUSH) and in batches of 32.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use apogee_runtime::SystemClock;
use apogee_store::index::IndexSizing;
use apogee_store::{MessageStore, MessageToStore, StoreConfig};
use bytes::Bytes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let messages = args.first().copied().unwrap_or(200_000);
    let body_len = args.get(1).copied().unwrap_or(1024);
    let dir = tempfile::tempdir()?;
    let body = Bytes::from(vec![7u8; body_len]);
    let message = MessageToStore {
        topic: "Bench".into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:4000".parse()?,
        store_host: "127.0.0.1:10911".parse()?,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: body.clone(),
        properties: "TAGS\u{1}A\u{2}KEYS\u{1}k\u{2}".into(),
    };

    let record_len = 91 + body_len + 5 + message.properties.len();
    let started = Instant::now();
    let mut raw = std::fs::File::create(dir.path().join("raw"))?;
    let chunk = vec![7u8; record_len];
    for _ in 0..messages {
        raw.write_all(&chunk)?;
    }
    let raw_secs = started.elapsed().as_secs_f64();
    drop(raw);

    let mut rates = Vec::new();
    for (name, batch) in [
        ("store, 1 per append", 1usize),
        ("store, 32 per append", 32),
    ] {
        let root = dir.path().join(name.replace([' ', ','], "_"));
        let mut config = StoreConfig::new(&root);
        config.index = IndexSizing {
            slots: 500_000,
            entries: 2_000_000,
        };
        let store = MessageStore::open(config, Arc::new(SystemClock), Vec::new())?;
        let batch_messages = vec![message.clone(); batch];
        let started = Instant::now();
        for _ in 0..messages / batch {
            store.append(&batch_messages)?;
        }
        let secs = started.elapsed().as_secs_f64();
        store.shutdown();
        rates.push((name, secs));
    }

    let mb = (messages * record_len) as f64 / 1e6;
    println!("{messages} messages of {body_len} B ({mb:.0} MB of records)");
    println!("{:<24} {:>12} {:>10} {:>9}", "", "msgs/s", "MB/s", "vs raw");
    println!(
        "{:<24} {:>12.0} {:>10.0} {:>9}",
        "raw file write_all",
        messages as f64 / raw_secs,
        mb / raw_secs,
        "1.00"
    );
    for (name, secs) in rates {
        println!(
            "{:<24} {:>12.0} {:>10.0} {:>9.2}",
            name,
            messages as f64 / secs,
            mb / secs,
            raw_secs / secs
        );
    }
    Ok(())
}
