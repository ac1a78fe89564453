//! RocketMQ's system topics and the name rules built on them (`TopicValidator`, `MixAll`,
//! `TimerMessageStore`, `TransactionalMessageUtil`): one place for every crate, so no
//! `"%RETRY%"` literal is spelled twice.

/// The template new topics are created from (`AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Classic delay-level messages wait here, one queue per level (`SCHEDULE_TOPIC_XXXX`).
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Timer messages (any delivery time) wait here, queue 0 (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Half (prepared) transactional messages.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Commit/rollback marks of the half queue.
pub const OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked too often end up here.
pub const CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Where message traces go unless a client names its own trace topic.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Prefix of a consumer group's retry topic.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_PREFIX: &str = "%DLQ%";

/// `%RETRY%{group}`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// `%DLQ%{group}`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

/// Whether `topic` is a group's retry topic.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_PREFIX)
}

/// Whether `topic` is a group's dead-letter topic.
pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_PREFIX)
}

/// The group a retry topic belongs to.
pub fn group_of_retry(topic: &str) -> Option<&str> {
    topic.strip_prefix(RETRY_PREFIX)
}

/// The group a dead-letter topic belongs to.
pub fn group_of_dlq(topic: &str) -> Option<&str> {
    topic.strip_prefix(DLQ_PREFIX)
}

/// The retry topic of a POP group on a topic: `%RETRY%{group}_{topic}` (RocketMQ's V1, its
/// default) or `%RETRY%{group}+{topic}` (V2, `enableRetryTopicV2`).
pub fn pop_retry_topic(topic: &str, group: &str, v2: bool) -> String {
    let separator = if v2 { '+' } else { '_' };
    format!("{RETRY_PREFIX}{group}{separator}{topic}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_group_should_build_and_recognise_its_retry_and_dlq_topics() {
        assert_eq!(retry_topic("g"), "%RETRY%g");
        assert_eq!(dlq_topic("g"), "%DLQ%g");
        assert_eq!(group_of_retry("%RETRY%g"), Some("g"));
        assert_eq!(group_of_dlq("%DLQ%g"), Some("g"));
        assert!(is_retry_topic("%RETRY%g") && !is_retry_topic("g"));
        assert!(is_dlq_topic("%DLQ%g") && !is_dlq_topic("%RETRY%g"));
        assert_eq!(group_of_retry("T"), None);
    }
}
