//! `apogee admin <command>` against a real `apogee standalone`: every command's output is
//! parsed (JSON, and the human tables where scripts would scrape them), errors are checked
//! for what they tell the operator, and live consumers follow resets and block deletes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apogee_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, Message, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig,
};
use common::*;
use serde_json::{Value, json};

const CLUSTER: &str = "DefaultCluster";

#[tokio::test]
async fn given_standalone_admin_commands_should_manage_topics_groups_and_messages() {
    let mut s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();

    let clusters = admin_json(ns, &["clusterList"]);
    assert_eq!(clusters["brokers"][0]["cluster"], CLUSTER);
    assert_eq!(clusters["brokers"][0]["addr"], s.broker.as_str());
    let rows = table(&String::from_utf8_lossy(
        &admin(ns, &["clusterList"]).stdout,
    ));
    assert_eq!(rows[0]["Broker Name"], "broker-a");
    assert!(admin_err(ns, &["clusterList", "-c", "Nope"]).contains("clusterList"));

    // Topics.
    let created = admin_json(
        ns,
        &[
            "updateTopic",
            "-c",
            CLUSTER,
            "-t",
            "AdminT",
            "-r",
            "4",
            "-w",
            "4",
        ],
    );
    assert_eq!(created["brokers"], serde_json::json!([s.broker]));
    let topics = admin_json(ns, &["topicList"]);
    assert!(
        topics["topics"]
            .as_array()
            .unwrap()
            .contains(&Value::from("AdminT"))
    );
    let route = admin_json(ns, &["topicRoute", "-t", "AdminT"]);
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
    let err = admin_err(ns, &["topicRoute", "-t", "Missing"]);
    assert!(
        err.contains("No route info of this topic: Missing"),
        "{err}"
    );
    assert!(!err.contains("backtrace"), "{err}");
    let err = admin_err(ns, &["updateTopic", "-c", CLUSTER, "-t", "Bad", "-p", "5"]);
    assert!(err.contains("perm must be"), "{err}");
    let err = admin_err(ns, &["updateTopic", "-c", CLUSTER, "-t", "bad topic!"]);
    assert!(err.contains("bad topic!"), "{err}");

    // Messages.
    let sent = admin_json(
        ns,
        &[
            "sendMessage",
            "-t",
            "AdminT",
            "-p",
            "hello admin",
            "-k",
            "order-7",
            "-c",
            "TagA",
        ],
    );
    assert_eq!(sent["sendStatus"], "SEND_OK");
    let (qid, msg_id, offset_id) = (
        sent["queueId"].as_i64().unwrap(),
        sent["msgId"].as_str().unwrap().to_owned(),
        sent["offsetMsgId"].as_str().unwrap().to_owned(),
    );
    let pinned = admin_json(
        ns,
        &[
            "sendMessage",
            "-t",
            "AdminT",
            "-p",
            "second",
            "-b",
            "broker-a",
            "-i",
            "3",
        ],
    );
    assert_eq!(
        (pinned["queueId"].as_i64(), pinned["queueOffset"].as_i64()),
        (Some(3), Some(i64::from(qid == 3)))
    );

    let status = admin_json(ns, &["topicStatus", "-t", "AdminT"]);
    let queues = status["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 4);
    let max: i64 = queues
        .iter()
        .map(|q| q["maxOffset"].as_i64().unwrap())
        .sum();
    assert_eq!(max, 2);
    let rows = table(&String::from_utf8_lossy(
        &admin(ns, &["topicStatus", "-t", "AdminT"]).stdout,
    ));
    assert_eq!(rows.len(), 4);
    let in_3 = 1 + i64::from(qid == 3);
    assert_eq!(rows[3]["Max Offset"], in_3.to_string());

    let by_offset_id = admin_json(ns, &["queryMsgById", "-i", &offset_id]);
    assert_eq!(by_offset_id["messages"][0]["body"], "hello admin");
    assert_eq!(by_offset_id["messages"][0]["msgId"], msg_id.as_str());
    assert_eq!(by_offset_id["messages"][0]["brokerName"], "broker-a");
    let by_uniq = admin_json(ns, &["queryMsgById", "-i", &msg_id, "-t", "AdminT"]);
    assert_eq!(by_uniq["messages"][0]["offsetMsgId"], offset_id.as_str());
    let err = admin_err(ns, &["queryMsgById", "-i", &msg_id]);
    assert!(err.contains("give its topic"), "{err}");
    let by_key = admin_json(ns, &["queryMsgByKey", "-t", "AdminT", "-k", "order-7"]);
    assert_eq!(by_key["messages"].as_array().unwrap().len(), 1);
    assert_eq!(by_key["messages"][0]["tags"], "TagA");
    let none = admin_json(ns, &["queryMsgByKey", "-t", "AdminT", "-k", "order-8"]);
    assert!(none["messages"].as_array().unwrap().is_empty());
    let qid_text = qid.to_string();
    let at = admin_json(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "AdminT",
            "-b",
            "broker-a",
            "-i",
            &qid_text,
            "-o",
            "0",
        ],
    );
    assert_eq!(at["messages"][0]["msgId"], msg_id.as_str());
    let err = admin_err(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "AdminT",
            "-b",
            "broker-a",
            "-i",
            &qid_text,
            "-o",
            "9",
        ],
    );
    assert!(err.contains("topicStatus"), "{err}");
    let consumed = admin_json(ns, &["consumeMessage", "-t", "AdminT"]);
    let mut bodies: Vec<&str> = consumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["hello admin", "second"]);
    let one = admin_json(
        ns,
        &[
            "consumeMessage",
            "-t",
            "AdminT",
            "-b",
            "broker-a",
            "-i",
            "3",
        ],
    );
    assert_eq!(one["messages"].as_array().unwrap().len(), in_3 as usize);
    // Reading through the tools commits nothing.
    let progress = admin_json(
        ns,
        &["consumerProgress", "-g", "TOOLS_CONSUMER", "-t", "AdminT"],
    );
    assert!(
        progress["queues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["consumerOffset"].as_i64().unwrap() <= 0),
        "{progress}"
    );

    // Subscription groups.
    let group = admin_json(
        ns,
        &[
            "updateSubGroup",
            "-c",
            CLUSTER,
            "-g",
            "AdminG",
            "-r",
            "5",
            "-d",
            "false",
        ],
    );
    assert_eq!(group["config"]["retryMaxTimes"], 5);
    assert_eq!(group["config"]["consumeBroadcastEnable"], false);
    let groups = admin_json(ns, &["consumerProgress"]);
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"AdminG"), "{groups}");
    admin_json(
        ns,
        &[
            "deleteSubGroup",
            "-b",
            &s.broker,
            "-g",
            "AdminG",
            "-r",
            "true",
        ],
    );
    let groups = admin_json(ns, &["consumerProgress"]);
    assert!(!groups.to_string().contains("\"AdminG\""), "{groups}");

    admin_json(ns, &["deleteTopic", "-c", CLUSTER, "-t", "AdminT"]);
    assert!(admin_err(ns, &["topicStatus", "-t", "AdminT"]).contains("No route info"));
    s.stop().await;
}

// In-process clients must keep running while the test thread waits on an `apogee admin`
// process (the broker relays consumerStatus to them), so they get their own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_live_consumer_admin_should_show_it_reset_it_and_refuse_to_delete_its_topic() {
    let mut s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    admin_json(
        ns,
        &[
            "updateTopic",
            "-c",
            CLUSTER,
            "-t",
            "LiveT",
            "-r",
            "2",
            "-w",
            "2",
        ],
    );

    let mut client = ClientConfig::new(ns).instance_name("admin-test");
    client.heartbeat_interval = Duration::from_secs(1);
    client.rebalance_interval = Duration::from_secs(1);
    client.persist_offset_interval = Duration::from_millis(200);
    let producer = Producer::start(client.clone(), ProducerConfig::new("LivePG"))
        .await
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..10 {
        let r = producer
            .send(Message::new("LiveT", format!("m{i}")))
            .await
            .unwrap();
        sent.push(r);
    }
    let received = Arc::new(AtomicUsize::new(0));
    let mut config = PushConsumerConfig::new("LiveG");
    config.consume_from = ConsumeFrom::FirstOffset;
    let seen = Arc::clone(&received);
    let consumer = PushConsumer::builder(client.clone(), config)
        .subscribe("LiveT", "*")
        .listener(move |batch: &[apogee_client::MessageExt]| {
            seen.fetch_add(batch.len(), Ordering::SeqCst);
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();

    let done = |want: i64| {
        let ns = ns.to_owned();
        move || {
            let ns = ns.clone();
            async move {
                let out = admin(
                    &ns,
                    &["consumerProgress", "-g", "LiveG", "-t", "LiveT", "--json"],
                );
                out.status.success()
                    && serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|p| {
                        let queues = p["queues"].as_array().cloned().unwrap_or_default();
                        let consumed: i64 = queues
                            .iter()
                            .map(|q| q["consumerOffset"].as_i64().unwrap_or(0))
                            .sum();
                        queues.len() == 2 && consumed == want && p["diffTotal"] == 0
                    })
            }
        }
    };
    wait_until("LiveG consumed all 10", done(10)).await;
    assert_eq!(received.load(Ordering::SeqCst), 10);

    let members = admin_json(ns, &["consumerConnection", "-g", "LiveG"]);
    assert_eq!(members["connections"].as_array().unwrap().len(), 1);
    assert_eq!(members["messageModel"], "CLUSTERING");
    assert_eq!(members["consumeType"], "CONSUME_PASSIVELY");
    assert!(members["subscriptions"].to_string().contains("LiveT"));
    let rows = table(&String::from_utf8_lossy(
        &admin(ns, &["consumerConnection", "-g", "LiveG"]).stdout,
    ));
    assert!(rows[0]["ClientId"].ends_with("@admin-test"), "{rows:?}");
    let producers = admin_json(ns, &["producerConnection", "-g", "LivePG", "-t", "LiveT"]);
    assert_eq!(producers["connections"].as_array().unwrap().len(), 1);

    // What the live client reports about itself, relayed by the broker.
    let status = admin_json(ns, &["consumerStatus", "-g", "LiveG"]);
    let (client_id, info) = status.as_object().unwrap().iter().next().unwrap();
    assert!(client_id.ends_with("@admin-test"), "{status}");
    assert_eq!(info["properties"]["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
    assert!(
        info["subscriptionSet"].to_string().contains("LiveT"),
        "{info}"
    );
    let held = info["mqTable"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|mq| mq.contains("\"LiveT\""))
        .count();
    assert_eq!(held, 2, "{info}");

    // Put and get rates and 24-hour counts per group, and every group's progress per broker.
    let all = admin_json(ns, &["statsAll", "-t", "LiveT"]);
    let row = &all["stats"][0];
    assert_eq!(
        (&row["topic"], &row["group"]),
        (&json!("LiveT"), &json!("LiveG")),
        "{all}"
    );
    assert!(row["inMsg24Hour"].as_i64().unwrap() >= 10, "{all}");
    assert!(row["outMsg24Hour"].as_i64().unwrap() >= 10, "{all}");
    assert_eq!(row["accumulation"], 0, "{all}");
    let text = String::from_utf8_lossy(&admin(ns, &["statsAll", "-a"]).stdout).into_owned();
    assert!(text.starts_with("#Topic"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("LiveT ") && l.contains(" LiveG ")),
        "{text}"
    );
    let broker = admin_json(ns, &["brokerConsumeStats", "-b", &s.broker]);
    assert_eq!(broker["totalDiff"], 0, "{broker}");
    assert!(
        broker["consumeStatsList"].to_string().contains("LiveG"),
        "{broker}"
    );
    let text = String::from_utf8_lossy(&admin(ns, &["brokerConsumeStats", "-b", &s.broker]).stdout)
        .into_owned();
    assert!(text.contains("Diff Total: 0"), "{text}");

    // The live client runs its listener once more on a stored message, relayed by the broker.
    let before = received.load(Ordering::SeqCst);
    let direct = admin_json(
        ns,
        &[
            "queryMsgById",
            "-i",
            &sent[3].offset_msg_id,
            "-g",
            "LiveG",
            "-d",
            client_id,
        ],
    );
    assert_eq!(
        direct["results"][0]["result"]["consumeResult"], "CR_SUCCESS",
        "{direct}"
    );
    assert_eq!(received.load(Ordering::SeqCst), before + 1);
    let out = admin(
        ns,
        &[
            "queryMsgById",
            "-i",
            &sent[3].msg_id,
            "-t",
            "LiveT",
            "-g",
            "LiveG",
            "-d",
            client_id,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS"
        ),
        "{text}"
    );
    let unique = admin_json(
        ns,
        &["queryMsgByUniqueKey", "-i", &sent[4].msg_id, "-t", "LiveT"],
    );
    assert_eq!(unique["messages"][0]["body"], "m4", "{unique}");
    let direct = admin_json(
        ns,
        &[
            "queryMsgByUniqueKey",
            "-i",
            &sent[4].msg_id,
            "-t",
            "LiveT",
            "-g",
            "LiveG",
            "-d",
            client_id,
        ],
    );
    assert_eq!(
        direct["results"][0]["result"]["consumeResult"], "CR_SUCCESS",
        "{direct}"
    );

    // Offsets copied to a new group.
    admin_json(
        ns,
        &[
            "cloneGroupOffset",
            "-s",
            "LiveG",
            "-d",
            "LiveG2",
            "-t",
            "LiveT",
        ],
    );
    let cloned = admin_json(ns, &["consumerProgress", "-g", "LiveG2", "-t", "LiveT"]);
    let committed: i64 = cloned["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["consumerOffset"].as_i64().unwrap())
        .sum();
    assert_eq!(committed, 10, "{cloned}");

    // Deleting a topic with a consumer online is refused and keeps the topic.
    let err = admin_err(ns, &["deleteTopic", "-c", CLUSTER, "-t", "LiveT"]);
    assert!(err.contains("LiveT"), "{err}");
    admin_json(ns, &["topicRoute", "-t", "LiveT"]);

    // Back to the start: the live consumer gets all ten again.
    let reset = admin_json(
        ns,
        &["resetOffsetByTime", "-g", "LiveG", "-t", "LiveT", "-s", "0"],
    );
    let offsets = reset["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 2);
    assert!(offsets.iter().all(|o| o["offset"] == 0), "{reset}");
    wait_until("the reset is redelivered", || {
        let received = Arc::clone(&received);
        async move { received.load(Ordering::SeqCst) >= 20 }
    })
    .await;
    wait_until("LiveG consumed all 10 again", done(10)).await;

    // To the end: nothing is redelivered, progress stays complete.
    let reset = admin_json(
        ns,
        &[
            "resetOffsetByTime",
            "-g",
            "LiveG",
            "-t",
            "LiveT",
            "-s",
            "now",
        ],
    );
    let total: i64 = reset["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offset"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 10, "{reset}");

    // A forced delete goes through even with the consumer online.
    admin_json(ns, &["deleteTopic", "-c", CLUSTER, "-t", "LiveT", "-f"]);
    assert!(admin_err(ns, &["topicRoute", "-t", "LiveT"]).contains("No route info"));
    consumer.shutdown().await;
    producer.shutdown().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_standalone_admin_should_report_broker_status_and_change_its_config_live() {
    let mut s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    let b = s.broker.as_str();
    admin_json(ns, &["updateTopic", "-b", b, "-t", "StatusT"]);

    // Sends keep running while the broker's 10 s put TPS is read.
    let mut client = ClientConfig::new(ns).instance_name("status-test");
    client.heartbeat_interval = Duration::from_secs(1);
    let producer = Producer::start(client, ProducerConfig::new("StatusPG"))
        .await
        .unwrap();
    let sending = tokio::spawn(async move {
        loop {
            if producer
                .send(Message::new("StatusT", "tick"))
                .await
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let put_tps = |ns: String, b: String| async move {
        let status = admin_json(&ns, &["brokerStatus", "-b", &b]);
        let tps = status[b.as_str()]["putTps"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        tps.split(' ')
            .next()
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    wait_until("putTps > 0 while sending", || {
        let check = put_tps(ns.to_owned(), b.to_owned());
        async move { check.await > 0.0 }
    })
    .await;
    sending.abort();
    let status = admin_json(ns, &["brokerStatus", "-b", b]);
    let stats = &status[b];
    assert!(
        stats["msgPutTotalTodayNow"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0,
        "{stats}"
    );
    assert!(
        stats["runtime"].as_str().unwrap().contains("days"),
        "{stats}"
    );
    assert!(
        stats["bootTimestamp"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
    let rows = table(&String::from_utf8_lossy(
        &admin(ns, &["clusterList"]).stdout,
    ));
    assert!(!rows[0]["Version"].is_empty(), "{rows:?}");
    assert!(rows[0]["InTPS"].parse::<f64>().is_ok(), "{rows:?}");
    let human = String::from_utf8_lossy(&admin(ns, &["brokerStatus", "-b", b]).stdout).into_owned();
    assert!(human.lines().any(|l| l.starts_with("putTps")), "{human}");

    // Broker config: read, change live, refuse protected keys.
    let config = admin_json(ns, &["getBrokerConfig", "-b", b]);
    assert_eq!(config[b]["fileReservedTime"], "72");
    admin_json(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            b,
            "-k",
            "fileReservedTime",
            "-v",
            "48",
        ],
    );
    let config = admin_json(ns, &["getBrokerConfig", "-c", CLUSTER]);
    assert_eq!(config[b]["fileReservedTime"], "48");
    let err = admin_err(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            b,
            "-k",
            "storePathRootDir",
            "-v",
            "/tmp/x",
        ],
    );
    assert!(err.contains("black list"), "{err}");
    let err = admin_err(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            b,
            "-k",
            "fileReservedTime",
            "-v",
            "soon",
        ],
    );
    assert!(
        err.contains("fileReservedTime") || err.contains("bad value"),
        "{err}"
    );
    s.stop().await;
}
