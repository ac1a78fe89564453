//! The admin API against a real broker and NameServer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use apogee_client::{Admin, ClientError, Message, Producer, SubscriptionGroupConfig, TopicSpec};
use common::*;

const CLUSTER: &str = "DefaultCluster";

/// Waits until `group` has committed all `messages` stored in `topic` (lag 0).
async fn wait_caught_up(admin: &Admin, group: &str, topic: &str, messages: i64) {
    wait_until(
        &format!("{group} caught up with {messages} on {topic}"),
        || {
            let admin = admin.clone();
            let (group, topic) = (group.to_owned(), topic.to_owned());
            async move {
                let stats = admin.consume_stats(&group, Some(&topic)).await.unwrap();
                let stored: i64 = stats.offset_table.values().map(|o| o.broker_offset).sum();
                stored == messages && stats.total_diff() == 0
            }
        },
    )
    .await;
}

#[tokio::test]
async fn given_admin_should_manage_topics_and_groups() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();

    let info = admin.cluster_info().await.unwrap();
    assert!(
        info.cluster_addr_table
            .keys()
            .any(|c| c.as_str() == CLUSTER)
    );
    assert_eq!(
        admin.cluster_masters(CLUSTER).await.unwrap(),
        std::slice::from_ref(&cluster.broker_addr)
    );
    let err = admin.cluster_masters("NoSuchCluster").await.unwrap_err();
    assert!(err.to_string().contains("clusterList"), "{err}");

    let topic = unique("AdminTopic");
    let mut spec = TopicSpec::new(&topic);
    spec.read_queue_nums = 3;
    spec.write_queue_nums = 3;
    admin.create_topic_in_cluster(CLUSTER, &spec).await.unwrap();
    let route = admin.topic_route(&topic).await.unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 3);
    assert!(admin.topic_list().await.unwrap().contains(&topic));
    let configs = admin.topic_configs(&cluster.broker_addr).await.unwrap();
    assert!(configs.topic_config_table.contains_key(topic.as_str()));

    let group = unique("AdminGroup");
    let mut config = SubscriptionGroupConfig::named(&group);
    config.retry_max_times = 3;
    admin
        .create_subscription_group_in_cluster(CLUSTER, &config)
        .await
        .unwrap();
    let groups = admin
        .subscription_groups(&cluster.broker_addr)
        .await
        .unwrap();
    assert_eq!(groups.subscription_group_table[&group].retry_max_times, 3);
    admin
        .delete_subscription_group(CLUSTER, &group, true)
        .await
        .unwrap();
    let groups = admin
        .subscription_groups(&cluster.broker_addr)
        .await
        .unwrap();
    assert!(!groups.subscription_group_table.contains_key(&group));

    admin.delete_topic(CLUSTER, &topic, false).await.unwrap();
    let err = admin.topic_route(&topic).await.unwrap_err();
    assert!(matches!(err, ClientError::NoRoute { .. }), "{err}");
}

/// What the admin API reports about a live producer and consumer of `topic`: lag 0 once the
/// commit loop ran, one consumer connection with the subscription, the producer online, the
/// group consuming the topic, 11 messages stored.
async fn check_progress_and_connections(
    admin: &Admin,
    producer: &Producer,
    group: &str,
    topic: &str,
) {
    // Progress: lag drops to 0 once the 300 ms commit loop has run.
    wait_caught_up(admin, group, topic, 11).await;
    let connection = admin.consumer_connection(group).await.unwrap();
    assert_eq!(connection.connection_set.len(), 1);
    assert!(connection.subscription_table.contains_key(topic));
    wait_until("the producer group is online", || {
        let admin = admin.clone();
        let (group, topic) = (producer.group().to_owned(), topic.to_owned());
        async move {
            admin
                .producer_connection(&group, &topic)
                .await
                .is_ok_and(|p| p.connection_set.len() == 1)
        }
    })
    .await;
    assert!(
        admin
            .topic_consumed_by(topic)
            .await
            .unwrap()
            .contains(group)
    );
    let stats = admin.topic_stats(topic).await.unwrap();
    assert_eq!(
        stats
            .offset_table
            .values()
            .map(|o| o.max_offset)
            .sum::<i64>(),
        11
    );
}

#[tokio::test]
async fn given_live_consumer_should_report_progress_connections_and_follow_a_reset() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Progress");
    let producer = create_topic(ns, &topic).await;
    let group = unique("pg");
    let seen = Seen::default();
    let consumer = consumer(ns, from_first(&group), &topic, &seen).await;
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("p-{i}")))
            .await
            .unwrap();
    }
    seen.wait_for("11 consumed", 11).await;

    check_progress_and_connections(&admin, &producer, &group, &topic).await;

    // Deleting the topic is refused while the consumer is online.
    let err = admin
        .delete_topic(CLUSTER, &topic, false)
        .await
        .unwrap_err();
    assert!(err.response_code().is_some(), "{err}");

    // Reset to the beginning: the live consumer consumes everything again.
    let offsets = admin
        .reset_offset_by_time(&group, &topic, 0, true)
        .await
        .unwrap();
    assert_eq!(offsets.len(), 4);
    assert!(offsets.values().all(|o| *o == 0));
    wait_until("each of the 11 consumed again", || {
        let mut counts = BTreeMap::<String, usize>::new();
        for body in seen.bodies() {
            *counts.entry(body).or_default() += 1;
        }
        async move { counts.len() == 11 && counts.values().all(|n| *n >= 2) }
    })
    .await;
    // Nothing else comes: the consumer consumes every queue through a sentinel sent after
    // the re-reads.
    let queues = wait_holds(&consumer, &topic, 4).await;
    let sentinels = send_sentinels(&producer, &queues).await;
    wait_through_sentinels(&consumer, &seen, &sentinels).await;
    let mut bodies = seen.bodies_but_sentinels();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 11);

    consumer.shutdown().await;
    producer.shutdown().await;
    admin.delete_topic(CLUSTER, &topic, true).await.unwrap();
}

#[tokio::test]
async fn given_legacy_reset_mode_should_push_the_reset_to_online_consumers_and_refuse_without_them()
{
    let cluster = cluster_with(|raw| raw.use_server_side_reset_offset = false).await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Legacy");
    let producer = create_topic(ns, &topic).await;
    let group = unique("lg");
    let seen = Seen::default();
    let consumer = consumer(ns, from_first(&group), &topic, &seen).await;
    for i in 0..6 {
        producer
            .send(Message::new(&topic, format!("l-{i}")))
            .await
            .unwrap();
    }
    // create_topic sent one message too.
    seen.wait_for("7 consumed", 7).await;
    wait_caught_up(&admin, &group, &topic, 7).await;

    let offsets = admin
        .reset_offset_by_time(&group, &topic, 0, true)
        .await
        .unwrap();
    assert!(offsets.values().all(|o| *o == 0), "{offsets:?}");
    // The broker pushed RESET_CONSUMER_CLIENT_OFFSET; the consumer commits and re-reads.
    seen.wait_for("all 7 again", 14).await;
    wait_caught_up(&admin, &group, &topic, 7).await;

    consumer.shutdown().await;
    let err = admin
        .reset_offset_by_time(&group, &topic, 0, true)
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(apogee_protocol::ResponseCode::CONSUMER_NOT_ONLINE),
        "{err}"
    );
    assert!(err.to_string().contains("Consumer not online"), "{err}");
    producer.shutdown().await;
}
