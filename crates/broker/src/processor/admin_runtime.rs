//! GET_BROKER_RUNTIME_INFO (28): a KVTable (`{"table":{k:v}}`, every value a string) with the
//! keys RocketMQ 5.x writes (`AdminBrokerProcessor.prepareRuntimeInfo` and
//! `DefaultMessageStore.getRuntimeInfo`), in Java's formats; see docs/protocol-notes.md.
//!
//! Apogee has no request thread pools: `sendThreadPoolQueueSize` is the number of sends
//! waiting at the send gate, the other queue sizes and head wait times are 0, and the
//! capacities are Java's defaults so that tools computing ratios stay sane.
//!
//! Apogee adds what an operator must see when the store is damaged or degraded (keys Java
//! does not have): `storeRecoveryCut`, `storeFlushFailure`, `storeWritable`,
//! `dispatchCorruptRecords`, `dispatchErrors`, `dispatchDeferredRecords`,
//! `dispatchLastError` and `pullSuspendedCount`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use apogee_model::system_topic::SCHEDULE_TOPIC;
use apogee_protocol::body::KvTable;
use apogee_protocol::{RemotingCommand, RequestCode, version};
use apogee_remoting::Connection;
use apogee_store::retention::{disk_space, disk_usage};
use apogee_store::{QueueReader, StoreAdmin, StoreHealth};

use super::{Handler, SendGate, success};
use crate::BrokerError;
use crate::service::long_polling::PullWaiters;
use crate::service::schedule::ScheduleService;
use crate::stats::{BrokerStats, human_bytes, java_double};

/// Java's `BrokerConfig` queue capacities (send, pull, lite pull, query, end transaction).
const JAVA_QUEUE_CAPACITIES: [(&str, u32); 5] = [
    ("sendThreadPoolQueueCapacity", 10_000),
    ("pullThreadPoolQueueCapacity", 100_000),
    ("litePullThreadPoolQueueCapacity", 100_000),
    ("queryThreadPoolQueueCapacity", 20_000),
    ("EndTransactionThreadPoolQueueCapacity", 100_000),
];

/// The runtime-info family.
pub struct RuntimeInfoProcessor {
    pub store: Arc<dyn StoreAdmin>,
    /// The delay levels' queues (their progress is a runtime key).
    pub queues: Arc<dyn QueueReader>,
    pub stats: BrokerStats,
    pub schedule: Arc<ScheduleService>,
    /// Pending timers and delivery lag (`timer*` keys).
    pub timer: Arc<crate::service::timer::TimerService>,
    pub gate: SendGate,
    pub waiters: PullWaiters,
    /// POP: messages in flight and counts (`pop*` keys, Apogee's own).
    pub pop: crate::manager::pop_state::PopStates,
    pub replication: crate::ha::Replication,
}

impl Handler for RuntimeInfoProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::GET_BROKER_RUNTIME_INFO];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let table = KvTable {
            table: self.runtime_info(),
        };
        let body =
            serde_json::to_vec(&table).map_err(|e| BrokerError::SystemError(e.to_string()))?;
        Ok(success(request).with_body(body))
    }
}

impl RuntimeInfoProcessor {
    /// Every key, in key order.
    pub fn runtime_info(&self) -> BTreeMap<String, String> {
        let mut info: BTreeMap<String, String> = self
            .stats
            .runtime_info_now()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let mut put = |k: &str, v: String| {
            info.insert(k.to_owned(), v);
        };
        put("brokerActive", "true".into());
        put("brokerVersionDesc", version::CURRENT_DESC.into());
        put("brokerVersion", version::CURRENT.to_string());
        // Apogee's own: the process's CPU time so far (`apogee bench` divides its growth over a
        // run by the messages moved).
        if let Some(micros) = apogee_runtime::process_cpu_micros() {
            put("processCpuMicros", micros.to_string());
        }
        self.store_info(&mut put);
        health_info(&self.store.health(), &mut put);
        put("pullSuspendedCount", self.waiters.parked().to_string());
        for (key, value) in self.replication.runtime_keys() {
            put(key, value);
        }
        for (level, delivered) in self.schedule.level_offsets() {
            let max = self.queues.max_offset_in_queue(SCHEDULE_TOPIC, level - 1);
            put(
                &format!("scheduleMessageOffset_{level}"),
                format!("{delivered},{max}"),
            );
        }
        let timer = self.timer.view();
        put("timerReadBehind", timer.read_behind_ms.to_string());
        put("timerOffsetBehind", timer.offset_behind.to_string());
        put("timerCongestNum", timer.pending.to_string());
        put(
            "timerEnqueueTps",
            format!("{:.1}", timer.counters.enqueue_tps),
        );
        put(
            "timerDequeueTps",
            format!("{:.1}", timer.counters.dequeue_tps),
        );
        let pop = self.pop.figures();
        put("popInflightNum", pop.inflight.to_string());
        put("popMessageTotal", pop.popped.to_string());
        put("popAckTotal", pop.acked.to_string());
        put("popChangeInvisibleTotal", pop.changed.to_string());
        put("popReviveTotal", pop.revived.to_string());
        put("sendThreadPoolQueueSize", self.gate.queued().to_string());
        for key in [
            "pullThreadPoolQueueSize",
            "litePullThreadPoolQueueSize",
            "queryThreadPoolQueueSize",
            "EndTransactionQueueSize",
            "sendThreadPoolQueueHeadWaitTimeMills",
            "pullThreadPoolQueueHeadWaitTimeMills",
            "litePullThreadPoolQueueHeadWaitTimeMills",
            "queryThreadPoolQueueHeadWaitTimeMills",
        ] {
            put(key, "0".into());
        }
        for (key, capacity) in JAVA_QUEUE_CAPACITIES {
            put(key, capacity.to_string());
        }
        info
    }

    /// Offsets, disk usage and the flush backlog.
    fn store_info(&self, put: &mut impl FnMut(&str, String)) {
        let store = &self.store;
        let config = store.config();
        let max = store.commit_log_max_offset();
        put(
            "commitLogMinOffset",
            store.commit_log_min_offset().to_string(),
        );
        put("commitLogMaxOffset", max.to_string());
        // Apogee's own: CommitLog writes since start (sends read together are written
        // together; `apogee bench` reports messages per write).
        put(
            "commitLogWritesTotal",
            store.commit_log_writes().to_string(),
        );
        put(
            "dispatchBehindBytes",
            (max - store.dispatched_offset()).max(0).to_string(),
        );
        put("pageCacheLockTimeMills", store.lock_held_ms().to_string());
        put(
            "earliestMessageTimeStamp",
            store.earliest_message_time().unwrap_or(-1).to_string(),
        );
        put("startAcceptSendRequestTimeStamp", "0".into());
        // No transient store pool: Java reports Integer.MAX_VALUE then.
        put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
        put(
            "remainHowManyDataToFlush",
            human_bytes(u64::try_from(max - store.durable_offset()).unwrap_or(0)),
        );
        let commit_log = config.commit_log_dir();
        let ratio = java_double(disk_ratio(&commit_log));
        put(
            &format!("commitLogDiskRatio_{}", commit_log.display()),
            ratio.clone(),
        );
        put("commitLogDiskRatio", ratio);
        put(
            "consumeQueueDiskRatio",
            java_double(disk_ratio(&config.consume_queue_dir())),
        );
        if let Ok((total, free)) = disk_space(&config.root) {
            put(
                "commitLogDirCapacity",
                format!(
                    "Total : {}, Free : {}.",
                    human_bytes(total),
                    human_bytes(free)
                ),
            );
        }
    }
}

/// Apogee's store-health keys: recovery damage, dispatch trouble, a failed flush.
fn health_info(health: &StoreHealth, put: &mut impl FnMut(&str, String)) {
    let cut = health
        .recovery
        .cut
        .as_ref()
        .map_or_else(String::new, |cut| {
            let kept: Vec<String> = cut
                .quarantined
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            format!(
                "offset={} belowDurable={} reason={} kept=[{}]",
                cut.offset,
                cut.below_durable,
                cut.reason,
                kept.join(",")
            )
        });
    put("storeRecoveryCut", cut);
    put(
        "storeFlushFailure",
        health.flush_failure.clone().unwrap_or_default(),
    );
    put("storeWritable", health.flush_failure.is_none().to_string());
    put("dispatchCorruptRecords", health.corrupt_records.to_string());
    put("dispatchErrors", health.dispatch_errors.to_string());
    put(
        "dispatchDeferredRecords",
        health.deferred_records.to_string(),
    );
    put(
        "dispatchLastError",
        health.last_dispatch_error.clone().unwrap_or_default(),
    );
}

/// Java 5.x `getDiskPartitionSpaceUsedPercent`: the used share rounded up to a whole percent,
/// as a fraction (`0.53`); -1 when the path cannot be measured.
fn disk_ratio(path: &Path) -> f64 {
    if !path.exists() {
        return -1.0;
    }
    match disk_usage(path) {
        Ok(used) => (used * 100.0).ceil() / 100.0,
        Err(_) => -1.0,
    }
}
