//! Timer messages over real sockets (REMOTING.md §6.7): every way of asking for a delivery
//! time, never early, msgId kept; refusals with RocketMQ's codes; cancellation by unique key;
//! the timer store's admin codes and runtime keys; pending timers across a restart and across
//! a lost timer log (rebuilt from the timer queue).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use apogee_protocol::record::{StoredRecord, find_property};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_runtime::{Clock, SystemClock};
use common::*;

fn now() -> i64 {
    SystemClock.now_ms()
}

fn props(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect()
}

fn timer_send(topic: &str, uniq: &str, pair: (&str, String)) -> RemotingCommand {
    let p = props(&[("UNIQ_KEY", uniq.to_owned()), (pair.0, pair.1)]);
    send_v2(topic, 0, &p, b"tick")
}

/// Pulls `topic` queue 0 until `count` messages are there (or fails after a timeout).
async fn wait_messages(
    c: &Cluster,
    topic: &str,
    count: usize,
    within: Duration,
) -> Vec<StoredRecord> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let r = c
            .call(pull(topic, 0, i64::try_from(got.len()).unwrap(), "*", 0))
            .await;
        if r.response_code() == ResponseCode::SUCCESS {
            got.extend(records(&r.body));
        }
        if got.len() >= count {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic}: {} of {count} timers delivered",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn property(r: &StoredRecord, key: &str) -> Option<String> {
    find_property(std::str::from_utf8(&r.properties).unwrap(), key).map(str::to_owned)
}

#[tokio::test]
async fn given_each_timer_property_should_deliver_at_its_time_never_early_with_its_msg_id() {
    let c = cluster(|_| {}).await;
    let t0 = now();
    let sends = [
        ("u-sec", ("TIMER_DELAY_SEC", "1".to_owned())),
        ("u-ms", ("TIMER_DELAY_MS", "1500".to_owned())),
        ("u-abs", ("TIMER_DELIVER_MS", (t0 + 2_000).to_string())),
        ("u-ali", ("__STARTDELIVERTIME", (t0 + 1_200).to_string())),
    ];
    for (uniq, pair) in sends.clone() {
        let r = c.call(timer_send("Timed", uniq, pair)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    let got = wait_messages(&c, "Timed", 4, WAIT).await;
    let mut seen = BTreeMap::new();
    for r in &got {
        let out: i64 = property(r, "TIMER_OUT_MS").unwrap().parse().unwrap();
        assert!(
            r.store_timestamp >= out,
            "delivered {} ms early",
            out - r.store_timestamp
        );
        assert!(out >= t0 + 1_000, "fire time {} ms after sending", out - t0);
        assert_eq!(property(r, "REAL_TOPIC"), None);
        assert!(property(r, "TIMER_DEQUEUE_MS").is_some());
        assert_eq!(&r.body[..], b"tick");
        seen.insert(property(r, "UNIQ_KEY").unwrap(), out);
    }
    let keys: Vec<_> = seen.keys().cloned().collect();
    assert_eq!(
        keys,
        ["u-abs", "u-ali", "u-ms", "u-sec"],
        "each once, msgId kept"
    );
    assert_eq!(
        seen["u-abs"],
        t0 + 2_000,
        "an absolute time is kept to the millisecond"
    );
}

#[tokio::test]
async fn given_bad_timers_should_refuse_them_with_rocketmqs_codes() {
    let c = cluster(|_| {}).await;
    let too_far = (now() + 41 * 86_400_000).to_string();
    let r = c
        .call(timer_send("Timed", "far", ("TIMER_DELIVER_MS", too_far)))
        .await;
    assert_eq!(r.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    assert!(
        r.remark
            .as_deref()
            .unwrap_or("")
            .contains("max delay 3456000000ms"),
        "{:?}",
        r.remark
    );
    let r = c
        .call(timer_send(
            "Timed",
            "nan",
            ("TIMER_DELAY_SEC", "soon".into()),
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    let r = c
        .call(timer_send("rmq_sys_wheel_timer", "x", ("A", "b".into())))
        .await;
    assert_eq!(
        r.response_code(),
        ResponseCode::NO_PERMISSION,
        "the timer topic is the broker's"
    );

    let off = cluster(|raw| raw.timer_wheel_enable = false).await;
    let r = off
        .call(timer_send("Timed", "off", ("TIMER_DELAY_SEC", "1".into())))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("accurate timer message is not enabled, timerWheelEnable is false")
    );
}

#[tokio::test]
async fn given_a_cancellation_should_deliver_only_the_timers_it_does_not_name() {
    let c = cluster(|_| {}).await;
    let at = (now() + 1_500).to_string();
    for uniq in ["keep", "drop"] {
        let r = c
            .call(timer_send("Cancel", uniq, ("TIMER_DELIVER_MS", at.clone())))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    let cancel = props(&[
        ("UNIQ_KEY", "canceller".into()),
        ("TIMER_DELIVER_MS", at.clone()),
        ("TIMER_DEL_UNIQKEY", "Cancel+drop".into()),
    ]);
    let r = c.call(send_v2("Cancel", 0, &cancel, b"")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let got = wait_messages(&c, "Cancel", 1, WAIT).await;
    wait_until("the cancellation never applied", || async {
        c.broker().timer().view().counters.cancelled >= 1
    })
    .await;
    let r = c.call(pull("Cancel", 0, 0, "*", 0)).await;
    let all: Vec<_> = records(&r.body)
        .iter()
        .map(|r| property(r, "UNIQ_KEY").unwrap())
        .collect();
    assert_eq!(
        all,
        ["keep"],
        "first seen: {:?}",
        property(&got[0], "UNIQ_KEY")
    );
}

#[tokio::test]
async fn given_pending_timers_should_report_them_in_metrics_checkpoint_and_runtime_info() {
    let c = cluster(|_| {}).await;
    let later = (now() + 3_600_000).to_string();
    for i in 0..3 {
        let r = c
            .call(timer_send(
                "Later",
                &format!("l{i}"),
                ("TIMER_DELIVER_MS", later.clone()),
            ))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    let metrics = || async {
        let request = RemotingCommand::bare_request(RequestCode::GET_TIMER_METRICS);
        let r = c.call(request).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
    };
    wait_until("three timers of Later in GET_TIMER_METRICS", || async {
        metrics().await.pointer("/timingCount/Later/count") == Some(&serde_json::json!(3))
    })
    .await;
    let metrics = metrics().await;
    assert!(
        metrics.pointer("/dataVersion/timestamp").is_some(),
        "{metrics}"
    );
    wait_until("a checkpoint covering the three timer messages", || async {
        let request = RemotingCommand::bare_request(RequestCode::GET_TIMER_CHECK_POINT);
        let r = c.call(request).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        assert_eq!(r.body.len(), 56, "Java's TimerCheckpoint.encode");
        i64::from_be_bytes(r.body[16..24].try_into().unwrap()) == 3
    })
    .await;
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_BROKER_RUNTIME_INFO,
        ))
        .await;
    let info: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        info.pointer("/table/timerCongestNum"),
        Some(&serde_json::json!("3")),
        "{info}"
    );
    assert_eq!(
        info.pointer("/table/timerOffsetBehind"),
        Some(&serde_json::json!("0"))
    );
}

/// Sends `n` timers to `topic`, due `after_ms` from now.
async fn send_timers(c: &Cluster, topic: &str, n: usize, after_ms: i64) {
    let at = (now() + after_ms).to_string();
    for i in 0..n {
        let r = c
            .call(timer_send(
                topic,
                &format!("{topic}-{i}"),
                ("TIMER_DELIVER_MS", at.clone()),
            ))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
}

fn unique_keys(got: &[StoredRecord]) -> std::collections::BTreeSet<String> {
    got.iter()
        .map(|r| property(r, "UNIQ_KEY").unwrap())
        .collect()
}

#[tokio::test]
async fn given_pending_timers_when_restarted_or_the_timer_log_is_lost_should_deliver_each_once() {
    let mut c = cluster(|_| {}).await;
    send_timers(&c, "Survive", 100, 2_500).await;
    wait_until("timers never enqueued", || async {
        c.broker().timer().view().pending >= 100
    })
    .await;
    c.restart_broker().await;
    send_timers(&c, "Rebuilt", 50, 2_500).await;
    // A lost timer log: rebuilt from the timer queue, already-delivered timers not repeated.
    wait_until("timers never enqueued", || async {
        c.broker().timer().view().pending >= 150
    })
    .await;
    c.broker.take().unwrap().stop().await;
    std::fs::remove_dir_all(c.dir.path().join("store").join("timerlog")).unwrap();
    let broker = start_broker(c.raw.clone()).await;
    c.addr = broker.local_addr().to_string();
    c.broker = Some(broker);
    let survived = wait_messages(&c, "Survive", 100, WAIT).await;
    let rebuilt = wait_messages(&c, "Rebuilt", 50, WAIT).await;
    assert_eq!(unique_keys(&survived).len(), 100);
    assert_eq!(unique_keys(&rebuilt).len(), 50);
    // Once delivered, a further restart with a lost log delivers nothing again.
    let last_due = survived
        .iter()
        .chain(&rebuilt)
        .map(|r| property(r, "TIMER_OUT_MS").unwrap().parse::<i64>().unwrap())
        .max()
        .unwrap();
    wait_until("no checkpoint past the deliveries", || async {
        c.broker().timer().checkpoint().unwrap().last_read_time_ms > last_due
    })
    .await;
    c.broker.take().unwrap().stop().await;
    std::fs::remove_dir_all(c.dir.path().join("store").join("timerlog")).unwrap();
    let broker = start_broker(c.raw.clone()).await;
    c.addr = broker.local_addr().to_string();
    c.broker = Some(broker);
    send_timers(&c, "Marker", 1, 300).await;
    wait_messages(&c, "Marker", 1, WAIT).await;
    let r = c.call(pull("Survive", 0, 100, "*", 0)).await;
    assert_ne!(
        r.response_code(),
        ResponseCode::SUCCESS,
        "nothing delivered twice"
    );
    assert_eq!(survived.len(), 100);
}

/// A broker on a manual clock: timer passes run when the test says, at the time it sets.
async fn manual_broker() -> (Cluster, apogee_runtime::ManualClock) {
    let mut c = cluster(|_| {}).await;
    c.broker.take().unwrap().stop().await;
    let clock = apogee_runtime::ManualClock::new(now());
    let config = apogee_broker::BrokerConfig::try_from(c.raw.clone()).unwrap();
    let shutdown = apogee_runtime::Shutdown::new();
    let broker = apogee_broker::Broker::start(config, shutdown, std::sync::Arc::new(clock.clone()))
        .await
        .unwrap();
    c.client.close_connection(&c.addr);
    c.addr = broker.local_addr().to_string();
    c.broker = Some(broker);
    (c, clock)
}

/// Runs one timer pass now and answers how many timers were delivered in all.
async fn pass(c: &Cluster) -> u64 {
    let timer = std::sync::Arc::clone(c.broker().timer());
    tokio::task::spawn_blocking(move || timer.pass().unwrap())
        .await
        .unwrap();
    c.broker().timer().view().counters.delivered
}

#[tokio::test]
async fn given_5_and_65_second_timers_should_deliver_each_at_its_millisecond_and_not_before() {
    let (c, clock) = manual_broker().await;
    let t0 = clock.now_ms();
    for (uniq, secs) in [("five", "5"), ("sixty-five", "65")] {
        let r = c
            .call(timer_send("Later", uniq, ("TIMER_DELAY_SEC", secs.into())))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    wait_until("timers never enqueued", || async {
        c.broker().timer().view().pending >= 2
    })
    .await;
    for (at, delivered) in [(4_999, 0), (5_000, 1), (64_999, 1), (65_000, 2)] {
        clock.set_ms(t0 + at);
        assert_eq!(pass(&c).await, delivered, "at +{at} ms");
    }
    let got = wait_messages(&c, "Later", 2, WAIT).await;
    let when: Vec<(String, i64)> = got
        .iter()
        .map(|r| (property(r, "UNIQ_KEY").unwrap(), r.store_timestamp - t0))
        .collect();
    assert_eq!(
        when,
        [
            ("five".to_owned(), 5_000),
            ("sixty-five".to_owned(), 65_000)
        ]
    );
}
