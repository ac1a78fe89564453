//! What a run does, as plain structs: where the load goes ([`Target`]), when it stops
//! ([`Limit`]), how producers ([`ProducerSettings`]) and consumers ([`ConsumerSettings`])
//! behave. `produce`, `consume` and `e2e` each take one of [`ProduceConfig`], [`ConsumeConfig`],
//! [`E2eConfig`]. Every struct has a `Default` that works against `apogee standalone`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::error::{BenchError, Result};

/// The largest body a producer accepts (the client's and the broker's default, 4 MiB).
pub const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Upper bound of producers, consumers or TCP connections in one run.
pub const TASKS_MAX: usize = 1024;
/// Upper bound of sends in flight per producer (or frames per connection).
pub const IN_FLIGHT_MAX: usize = 65_536;
/// Upper bound of messages per batch send.
pub const BATCH_MAX: usize = 1024;

/// The cluster and topic under load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// NameServer addresses, `;`-separated.
    pub namesrv: String,
    pub topic: String,
    /// The cluster whose masters get the topic when it does not exist yet.
    pub cluster: String,
    /// Read and write queues per broker when the topic is created.
    pub queues: u32,
    /// Access key and secret every request is signed with, if any.
    pub credentials: Option<(String, String)>,
}

impl Default for Target {
    fn default() -> Self {
        Self {
            namesrv: "127.0.0.1:9876".into(),
            topic: "BenchTopic".into(),
            cluster: "DefaultCluster".into(),
            queues: 8,
            credentials: None,
        }
    }
}

/// When a run stops: after `messages` (in total, over all tasks), after `duration`, whichever
/// comes first. Neither: producers send [`Limit::DEFAULT_MESSAGES`]; consumers read until the
/// topic has been idle for their idle timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limit {
    pub messages: Option<u64>,
    pub duration: Option<Duration>,
}

impl Limit {
    pub const DEFAULT_MESSAGES: u64 = 100_000;

    pub fn messages(count: u64) -> Self {
        Self {
            messages: Some(count),
            duration: None,
        }
    }

    pub fn duration(duration: Duration) -> Self {
        Self {
            messages: None,
            duration: Some(duration),
        }
    }

    /// The message count producers aim for: the given one, or the default unless a duration
    /// was given.
    pub(crate) fn producer_messages(&self) -> Option<u64> {
        match (self.messages, self.duration) {
            (None, None) => Some(Self::DEFAULT_MESSAGES),
            (messages, _) => messages,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.messages == Some(0) {
            return Err(BenchError::Config("--messages must be at least 1".into()));
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return Err(BenchError::Config("--duration must be positive".into()));
        }
        Ok(())
    }

    fn describe(&self, into: &mut Map<String, Value>) {
        if let Some(m) = self.messages {
            into.insert("messages".into(), json!(m));
        }
        if let Some(d) = self.duration {
            into.insert("duration_s".into(), json!(d.as_secs_f64()));
        }
    }
}

/// Sync: each producer waits for one send before the next. Async: callback sends, up to
/// `in_flight` outstanding per producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendMode {
    #[default]
    Async,
    Sync,
}

/// Where a consumer group with no committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    First,
    Last,
}

/// How the producers behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// Body bytes per message.
    pub size: usize,
    pub producers: usize,
    /// Sends outstanding per producer (async mode).
    pub in_flight: usize,
    /// Messages per send; above 1 uses `send_batch`.
    pub batch: usize,
    /// Messages per second over all producers; 0 = as fast as possible.
    pub rate: u64,
    pub mode: SendMode,
    /// Producer group; each producer gets its own client instance (own connections).
    pub group: String,
    /// Timer messages: due (delay ms, spread ms) after their send; their stamp is the due
    /// time, so end-to-end latency is how late each was delivered.
    pub timer: Option<(u64, u64)>,
    /// Above 1: message `i` goes to topic `<topic>-<i mod topics>` (the names `bench topics`
    /// creates), not to the topic itself.
    pub topics: usize,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            size: 1024,
            producers: 4,
            in_flight: 32,
            batch: 1,
            rate: 0,
            mode: SendMode::Async,
            group: "apogee_bench_producer".into(),
            timer: None,
            topics: 1,
        }
    }
}

impl ProducerSettings {
    fn validate(&self) -> Result<()> {
        check_range("--size", self.size, 1, MESSAGE_BYTES_MAX)?;
        check_range("--producers", self.producers, 1, TASKS_MAX)?;
        check_range("--in-flight", self.in_flight, 1, IN_FLIGHT_MAX)?;
        check_range("--batch", self.batch, 1, BATCH_MAX)?;
        check_range("--topics", self.topics, 1, crate::topics::TOPICS_MAX)?;
        if self.topics > 1 && self.batch > 1 {
            return Err(BenchError::Config(
                "--topics spreads single sends; a batch goes to one topic".into(),
            ));
        }
        if self.timer.is_some() && self.batch > 1 {
            return Err(BenchError::Config(
                "timer messages cannot be batched (the broker refuses them)".into(),
            ));
        }
        if self.size.saturating_mul(self.batch) > MESSAGE_BYTES_MAX {
            return Err(BenchError::Config(format!(
                "a batch of {} × {} B exceeds the {MESSAGE_BYTES_MAX} B request limit",
                self.batch, self.size
            )));
        }
        check_group(&self.group)
    }

    fn describe(&self, into: &mut Map<String, Value>) {
        into.insert("size".into(), json!(self.size));
        into.insert("producers".into(), json!(self.producers));
        into.insert("mode".into(), json!(mode_name(self.mode)));
        if self.mode == SendMode::Async {
            into.insert("in_flight".into(), json!(self.in_flight));
        }
        into.insert("batch".into(), json!(self.batch));
        into.insert("rate".into(), json!(self.rate));
        into.insert("producer_group".into(), json!(self.group));
        if self.topics > 1 {
            into.insert("topics".into(), json!(self.topics));
        }
        if let Some((delay, spread)) = self.timer {
            into.insert("timer_delay_ms".into(), json!(delay));
            into.insert("timer_spread_ms".into(), json!(spread));
        }
    }
}

/// How the consumers behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Push consumers of one group (clustering: they share the queues).
    pub consumers: usize,
    pub group: String,
    /// Start of a group that has no committed offset; `None`: first for `consume`, last for
    /// `e2e`.
    pub from: Option<StartFrom>,
    /// Stop when nothing arrived for this long.
    pub idle_timeout: Duration,
    /// Consume by POP (simple consumers: receive, then one batch ack) instead of pulling.
    pub pop: bool,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            consumers: 1,
            group: "apogee_bench_consumer".into(),
            from: None,
            idle_timeout: Duration::from_secs(10),
            pop: false,
        }
    }
}

impl ConsumerSettings {
    fn validate(&self) -> Result<()> {
        check_range("--consumers", self.consumers, 1, TASKS_MAX)?;
        if self.idle_timeout.is_zero() {
            return Err(BenchError::Config("--idle-timeout must be positive".into()));
        }
        check_group(&self.group)
    }

    fn describe(&self, from: StartFrom, into: &mut Map<String, Value>) {
        into.insert("consumers".into(), json!(self.consumers));
        if self.pop {
            into.insert("pop".into(), json!(true));
        }
        into.insert("consumer_group".into(), json!(self.group));
        let from = match from {
            StartFrom::First => "first",
            StartFrom::Last => "last",
        };
        into.insert("from".into(), json!(from));
        into.insert(
            "idle_timeout_s".into(),
            json!(self.idle_timeout.as_secs_f64()),
        );
    }
}

/// `produce`: producers only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceConfig {
    pub target: Target,
    pub limit: Limit,
    pub producer: ProducerSettings,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// `consume`: consumers only, reading what is in the topic (and what arrives).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumeConfig {
    pub target: Target,
    pub limit: Limit,
    pub consumer: ConsumerSettings,
    pub progress: bool,
}

/// `e2e`: consumers start first, then producers; latency is measured from the send
/// timestamp in each body to its receipt. The limit applies to the producers; consumers run
/// until they have every message of this run or go idle. The default consumer group is
/// [`E2eConfig::DEFAULT_GROUP`], so e2e runs do not move the offsets `consume` runs use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2eConfig {
    pub target: Target,
    pub limit: Limit,
    pub producer: ProducerSettings,
    pub consumer: ConsumerSettings,
    pub progress: bool,
}

impl ProduceConfig {
    pub fn validate(&self) -> Result<()> {
        check_target(&self.target)?;
        self.limit.validate()?;
        self.producer.validate()
    }

    pub(crate) fn settings(&self) -> Map<String, Value> {
        let mut map = target_settings(&self.target);
        self.limit.describe(&mut map);
        self.producer.describe(&mut map);
        map
    }
}

impl ConsumeConfig {
    pub fn validate(&self) -> Result<()> {
        check_target(&self.target)?;
        self.limit.validate()?;
        self.consumer.validate()
    }

    pub(crate) fn start_from(&self) -> StartFrom {
        self.consumer.from.unwrap_or(StartFrom::First)
    }

    pub(crate) fn settings(&self) -> Map<String, Value> {
        let mut map = target_settings(&self.target);
        self.limit.describe(&mut map);
        self.consumer.describe(self.start_from(), &mut map);
        map
    }
}

impl Default for E2eConfig {
    fn default() -> Self {
        Self {
            target: Target::default(),
            limit: Limit::default(),
            producer: ProducerSettings::default(),
            consumer: ConsumerSettings {
                group: Self::DEFAULT_GROUP.into(),
                ..ConsumerSettings::default()
            },
            progress: false,
        }
    }
}

impl E2eConfig {
    pub const DEFAULT_GROUP: &str = "apogee_bench_e2e";

    pub fn validate(&self) -> Result<()> {
        check_target(&self.target)?;
        self.limit.validate()?;
        self.producer.validate()?;
        self.consumer.validate()?;
        if self.producer.size < crate::stamp::STAMP_BYTES {
            return Err(BenchError::Config(format!(
                "e2e needs --size of at least {} B to carry the send timestamp",
                crate::stamp::STAMP_BYTES
            )));
        }
        Ok(())
    }

    pub(crate) fn start_from(&self) -> StartFrom {
        self.consumer.from.unwrap_or(StartFrom::Last)
    }

    pub(crate) fn settings(&self) -> Map<String, Value> {
        let mut map = target_settings(&self.target);
        self.limit.describe(&mut map);
        self.producer.describe(&mut map);
        self.consumer.describe(self.start_from(), &mut map);
        map
    }
}

pub(crate) fn mode_name(mode: SendMode) -> &'static str {
    match mode {
        SendMode::Async => "async",
        SendMode::Sync => "sync",
    }
}

fn target_settings(target: &Target) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("namesrv".into(), json!(target.namesrv));
    map.insert("topic".into(), json!(target.topic));
    map
}

pub(crate) fn check_range(flag: &str, value: usize, low: usize, high: usize) -> Result<()> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(BenchError::Config(format!(
            "{flag} is {value}; it must be {low}–{high}"
        )))
    }
}

fn check_target(target: &Target) -> Result<()> {
    apogee_model::TopicName::new(target.topic.clone())
        .map_err(|e| BenchError::Config(format!("topic `{}`: {e}", target.topic)))?;
    if target.namesrv.trim().is_empty() {
        return Err(BenchError::Config("no NameServer address".into()));
    }
    if !(1..=1024).contains(&target.queues) {
        return Err(BenchError::Config(format!(
            "--queues is {}; it must be 1–1024",
            target.queues
        )));
    }
    Ok(())
}

fn check_group(group: &str) -> Result<()> {
    apogee_model::GroupName::new(group)
        .map(|_| ())
        .map_err(|e| BenchError::Config(format!("group `{group}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_defaults_should_validate_against_standalone() {
        assert!(ProduceConfig::default().validate().is_ok());
        assert!(ConsumeConfig::default().validate().is_ok());
        assert!(E2eConfig::default().validate().is_ok());
        assert_eq!(ProduceConfig::default().target.namesrv, "127.0.0.1:9876");
    }

    #[test]
    fn given_no_limit_should_default_producers_to_a_count_but_not_with_a_duration() {
        assert_eq!(
            Limit::default().producer_messages(),
            Some(Limit::DEFAULT_MESSAGES)
        );
        assert_eq!(
            Limit::duration(Duration::from_secs(1)).producer_messages(),
            None
        );
        assert_eq!(Limit::messages(5).producer_messages(), Some(5));
    }

    #[test]
    fn given_out_of_range_settings_should_name_the_flag() {
        let mut config = ProduceConfig::default();
        config.producer.producers = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("--producers"), "{err}");

        let mut config = ProduceConfig::default();
        config.producer.size = 1024 * 1024;
        config.producer.batch = 8;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("batch"), "{err}");

        let mut config = E2eConfig::default();
        config.producer.size = 8;
        assert!(config.validate().is_err());

        let mut config = ConsumeConfig::default();
        config.target.topic = "bad topic!".into();
        assert!(config.validate().is_err());
    }

    #[test]
    fn given_no_start_should_read_from_first_for_consume_and_last_for_e2e() {
        assert_eq!(ConsumeConfig::default().start_from(), StartFrom::First);
        assert_eq!(E2eConfig::default().start_from(), StartFrom::Last);
    }
}
