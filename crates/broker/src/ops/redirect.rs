//! Where a message is really stored, decided by one ordered pipeline of pure steps over its
//! destination and [`Properties`] (REMOTING.md §3.1 steps 6–9, §6.7, §6.10):
//!
//! 1. a retry message past its group's limit → `%DLQ%{group}` queue 0;
//! 2. `TRAN_MSG=true` → the half queue (delay and timer wait for the commit);
//! 3. `DELAY` level > 0 → `SCHEDULE_TOPIC_XXXX` queue level − 1 (timer properties dropped:
//!    the level wins, as in Java);
//! 4. `TIMER_DELIVER_MS` / `TIMER_DELAY_MS` / `TIMER_DELAY_SEC` / `__STARTDELIVERTIME` with a
//!    time in the future → `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS`.
//!
//! Steps 3–4 ([`schedule`]) also run when a committed transaction is stored.

use apogee_model::system_topic::{
    HALF_TOPIC, SCHEDULE_TOPIC, TIMER_TOPIC, dlq_topic, group_of_retry,
};
use apogee_protocol::record::sys_flag;
use apogee_protocol::{Properties, property};

use crate::BrokerError;

/// Where a message goes: changed in place by the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub topic: String,
    pub queue_id: i32,
    pub sys_flag: i32,
}

/// The broker settings the steps read.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Delay levels configured (`messageDelayLevel`).
    pub delay_levels: usize,
    /// `timerWheelEnable`.
    pub timer_enabled: bool,
    /// `timerMaxDelaySec` in ms.
    pub timer_max_delay_ms: i64,
    pub now_ms: i64,
}

/// What the send itself says.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendFacts {
    pub reconsume_times: i32,
    /// For a send to a retry topic: the group's (or the header's) maximum reconsume times.
    pub retry_max: Option<i32>,
}

/// Which step moved the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    None,
    /// Moved to the group's dead-letter topic (the caller makes sure it exists).
    DeadLetter,
    Half,
    Delay {
        level: i32,
    },
    Timer {
        deliver_ms: i64,
    },
}

/// Runs the pipeline for a send.
pub fn for_send(
    props: &mut Properties,
    dest: &mut Destination,
    policy: &Policy,
    facts: SendFacts,
) -> Result<Redirect, BrokerError> {
    if let (Some(group), Some(max)) = (group_of_retry(&dest.topic), facts.retry_max)
        && facts.reconsume_times > max
    {
        dest.topic = dlq_topic(group);
        dest.queue_id = 0;
        // No delay on the way to the DLQ (REMOTING.md: Java writes -1 there).
        props.insert(property::DELAY, "-1");
        return Ok(Redirect::DeadLetter);
    }
    let delayed = delay_level(props).is_some_and(|l| l > 0);
    // Java skips the half path for a retried delay message of a pre-4.6.1 client.
    if is_transactional(props) && !(facts.reconsume_times > 0 && delayed) {
        park(props, dest, HALF_TOPIC, 0);
        dest.sys_flag &= !sys_flag::TRANSACTION_MASK;
        return Ok(Redirect::Half);
    }
    schedule(props, dest, policy)
}

/// Steps 3–4: a delay level or a timer.
pub fn schedule(
    props: &mut Properties,
    dest: &mut Destination,
    policy: &Policy,
) -> Result<Redirect, BrokerError> {
    if let Some(level) = delay_level(props).filter(|l| *l > 0) {
        for key in TIMER_KEYS {
            props.remove(key);
        }
        let levels = i64::try_from(policy.delay_levels.max(1)).unwrap_or(1);
        let level = i32::try_from(level.clamp(1, levels)).unwrap_or(1);
        park(props, dest, SCHEDULE_TOPIC, level - 1);
        return Ok(Redirect::Delay { level });
    }
    if !props.contains_any(&TIMER_FACTS)
        || dest.topic == TIMER_TOPIC
        || props.contains(property::TIMER_OUT_MS)
    {
        return Ok(Redirect::None);
    }
    let Some(deliver_ms) = timer_deliver_ms(props, policy.now_ms)? else {
        return Ok(Redirect::None);
    };
    if !policy.timer_enabled {
        return Err(BrokerError::SystemError(
            "accurate timer message is not enabled, timerWheelEnable is false".into(),
        ));
    }
    if deliver_ms <= policy.now_ms {
        if props.contains(property::TIMER_DEL_UNIQKEY) {
            return Err(timer_illegal(policy));
        }
        // Already due: stored for consumers at once.
        return Ok(Redirect::None);
    }
    if deliver_ms - policy.now_ms > policy.timer_max_delay_ms {
        return Err(timer_illegal(policy));
    }
    props.insert(property::TIMER_OUT_MS, &deliver_ms.to_string());
    park(props, dest, TIMER_TOPIC, 0);
    Ok(Redirect::Timer { deliver_ms })
}

/// Every property the timer steps below read: without any of them a send is not a timer's.
const TIMER_FACTS: [&str; 5] = [
    property::TIMER_OUT_MS,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
    property::TIMER_DELIVER_MS,
    property::START_DELIVER_TIME,
];

const TIMER_KEYS: [&str; 3] = [
    property::TIMER_DELIVER_MS,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
];

/// The absolute delivery time a message asks for, if it asks (Java's order: seconds, then
/// ms, then the absolute time; then Aliyun's `__STARTDELIVERTIME`).
fn timer_deliver_ms(props: &Properties, now_ms: i64) -> Result<Option<i64>, BrokerError> {
    let number = |key: &str| -> Result<Option<i64>, BrokerError> {
        props
            .get(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    BrokerError::MessageIllegal(format!(
                        "timer message illegal, {key} is not a number: {v}"
                    ))
                })
            })
            .transpose()
    };
    if let Some(secs) = number(property::TIMER_DELAY_SEC)? {
        return Ok(Some(now_ms.saturating_add(secs.saturating_mul(1000))));
    }
    if let Some(ms) = number(property::TIMER_DELAY_MS)? {
        return Ok(Some(now_ms.saturating_add(ms)));
    }
    if let Some(at) = number(property::TIMER_DELIVER_MS)? {
        return Ok(Some(at));
    }
    number(property::START_DELIVER_TIME)
}

/// Java's remark for WHEEL_TIMER_MSG_ILLEGAL.
fn timer_illegal(policy: &Policy) -> BrokerError {
    BrokerError::MessageIllegal(format!(
        "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set del msg, the delay time should be bigger than the current time",
        policy.timer_max_delay_ms
    ))
}

/// Remembers the real destination in `REAL_TOPIC`/`REAL_QID` and moves the message.
fn park(props: &mut Properties, dest: &mut Destination, topic: &str, queue_id: i32) {
    props.insert(property::REAL_TOPIC, &dest.topic);
    props.insert(property::REAL_QUEUE_ID, &dest.queue_id.to_string());
    topic.clone_into(&mut dest.topic);
    dest.queue_id = queue_id;
}

/// The `DELAY` level, when it is a number.
pub fn delay_level(props: &Properties) -> Option<i64> {
    props
        .get(property::DELAY)
        .and_then(|l| l.trim().parse::<i64>().ok())
}

/// `TRAN_MSG` parsed as Java's `Boolean.parseBoolean`.
pub fn is_transactional(props: &Properties) -> bool {
    props
        .get(property::TRANSACTION_PREPARED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
#[path = "redirect_tests.rs"]
mod tests;
