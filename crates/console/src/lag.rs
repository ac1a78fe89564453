//! How far behind a group is: the store time of the oldest message it has not consumed (the
//! message at its committed offset, on every queue where it is behind), from which the consume
//! delay is `now − that time`.

use apogee_client::{Admin, ConsumeStats};

/// The earliest store time among the first unconsumed message of every queue with a backlog;
/// `None` without a backlog (or when none of those messages can be read any more).
pub async fn oldest_unconsumed(
    admin: &Admin,
    stats: &ConsumeStats,
    broker: Option<&str>,
) -> Option<i64> {
    let mut oldest: Option<i64> = None;
    for (queue, o) in &stats.offset_table {
        if o.broker_offset <= o.consumer_offset || broker.is_some_and(|b| b != queue.broker_name) {
            continue;
        }
        if let Ok(Some(m)) = admin.message_at(queue, o.consumer_offset).await {
            oldest = Some(oldest.map_or(m.store_timestamp, |t| t.min(m.store_timestamp)));
        }
    }
    oldest
}

/// Milliseconds from the oldest unconsumed message's store time to `now` (0 without backlog).
pub fn delay_ms(oldest: Option<i64>, now: i64) -> i64 {
    oldest.map_or(0, |t| (now - t).max(0))
}
