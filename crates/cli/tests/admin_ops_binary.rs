//! The operations commands of `apogee admin` against a real `apogee standalone`:
//! updateKvConfig/deleteKvConfig, wipeWritePerm/addWritePerm, updateTopic -o and
//! updateOrderConf (the NameServer's ORDER_TOPIC_CONFIG), updateTopicList, queryCq, producer,
//! and the store cleanings cleanExpiredCQ, cleanUnusedTopic and deleteExpiredCommitLog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const CLUSTER: &str = "DefaultCluster";

/// KV config, and an ordered topic's layout in ORDER_TOPIC_CONFIG.
fn check_kv_and_order_conf(ns: &str, broker: &str) {
    admin_json(ns, &["updateKvConfig", "-s", "ns1", "-k", "k1", "-v", "v1"]);
    admin_json(ns, &["deleteKvConfig", "-s", "ns1", "-k", "k1"]);
    let cluster_args = [
        "updateTopic",
        "-c",
        CLUSTER,
        "-t",
        "OrderedT",
        "-w",
        "4",
        "-r",
        "4",
    ];
    admin_json(ns, &[&cluster_args[..], &["-o", "true"]].concat());
    let broker_args = [
        "updateTopic",
        "-b",
        broker,
        "-t",
        "OrderedT",
        "-w",
        "4",
        "-r",
        "4",
    ];
    let out = admin(ns, &[&broker_args[..], &["-o", "true"]].concat());
    let human = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(human.contains("orderConf=[broker-a:4]"), "{human}");
    let conf = admin_json(ns, &["updateOrderConf", "-t", "OrderedT", "-m", "get"]);
    assert_eq!(conf["orderConf"], "broker-a:4", "{conf}");
    admin_json(ns, &["updateOrderConf", "-t", "OrderedT", "-m", "delete"]);
    let conf = admin_json(ns, &["updateOrderConf", "-t", "OrderedT", "-m", "get"]);
    assert!(conf["orderConf"].is_null(), "{conf}");
}

/// Wiped topics route read-only, restored ones read-write.
fn check_write_perm(ns: &str) {
    let wiped = admin_json(ns, &["wipeWritePerm", "-b", "broker-a"]);
    assert!(wiped["topics"][0].as_i64().unwrap() > 0, "{wiped}");
    let route = admin_json(ns, &["topicRoute", "-t", "OrderedT"]);
    assert_eq!(route["queueDatas"][0]["perm"], 4);
    admin_json(ns, &["addWritePerm", "-b", "broker-a"]);
    let route = admin_json(ns, &["topicRoute", "-t", "OrderedT"]);
    assert_eq!(route["queueDatas"][0]["perm"], 6);
}

/// Whether one of the topic's two queues holds exactly one unit.
fn one_unit_in(ns: &str, topic: &str) -> bool {
    (0..2).any(|queue| {
        let queue = queue.to_string();
        let out = admin(
            ns,
            &["queryCq", "-t", topic, "-q", &queue, "-i", "0", "--json"],
        );
        out.status.success()
            && serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .is_ok_and(|cq| cq["queueData"].as_array().is_some_and(|u| u.len() == 1))
    })
}

#[tokio::test]
async fn given_standalone_operations_commands_should_change_and_show_what_mqadmin_does() {
    let mut s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    check_kv_and_order_conf(ns, &s.broker);
    check_write_perm(ns);
    // A list of topics from a file, in one request.
    let file = s.dir.path().join("topics.json");
    std::fs::write(
        &file,
        r#"[{"topicName":"ListedT1","readQueueNums":2,"writeQueueNums":2,"perm":6},
            {"topicName":"ListedT2","readQueueNums":3,"writeQueueNums":3,"perm":6}]"#,
    )
    .unwrap();
    admin_json(
        ns,
        &[
            "updateTopicList",
            "-c",
            CLUSTER,
            "-f",
            file.to_str().unwrap(),
        ],
    );
    let route = admin_json(ns, &["topicRoute", "-t", "ListedT2"]);
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 3);
    // A message, then its consume-queue unit (in one of the two queues; the other has no
    // consume queue yet) and the producer that sent it.
    admin_json(
        ns,
        &["sendMessage", "-t", "ListedT1", "-p", "hello", "-c", "TagA"],
    );
    wait_until("the unit to be dispatched", || {
        let ns = ns.to_owned();
        async move { one_unit_in(&ns, "ListedT1") }
    })
    .await;
    let producers = admin_json(ns, &["producer", "-b", &s.broker]);
    assert!(producers["data"].is_object(), "{producers}");
    let missing = admin_err(
        ns,
        &[
            "queryCq",
            "-t",
            "NoSuchTopic",
            "-q",
            "0",
            "-i",
            "0",
            "-b",
            &s.broker,
        ],
    );
    assert!(missing.contains("is not exist"), "{missing}");
    check_cleanings(ns, &s.broker);
    s.stop().await;
}

/// Every cleaning to one broker, a cluster and every broker; nothing live goes, and a broker
/// that cannot be reached fails the command.
fn check_cleanings(ns: &str, broker: &str) {
    for command in [
        "cleanExpiredCQ",
        "cleanUnusedTopic",
        "deleteExpiredCommitLog",
    ] {
        for target in [&["-b", broker][..], &["-c", CLUSTER], &[]] {
            let out = admin(ns, &[&[command][..], target].concat());
            let human = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && human == "success\n",
                "{command} {target:?}: {human}"
            );
        }
    }
    assert!(one_unit_in(ns, "ListedT1"), "a live queue stays");
    let err = admin_err(ns, &["cleanUnusedTopic", "-b", "127.0.0.1:1"]);
    assert!(err.contains("false: 127.0.0.1:1"), "{err}");
}
