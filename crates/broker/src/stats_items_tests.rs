use super::*;

#[test]
fn given_puts_should_count_from_the_first_and_rate_over_the_window() {
    let items = StatsItems::new("DefaultCluster", 0);
    items.topic_put("T", 10, 1000, 0);
    items.topic_put("T", 30, 3000, 5_000);
    let data = items.item(names::TOPIC_PUT_NUMS, "T").unwrap().data(10_000);
    assert_eq!(data.stats_minute.sum, 40, "the first addition counts");
    assert!((data.stats_minute.tps - 4.0).abs() < 1e-9, "{data:?}");
    assert!((data.stats_minute.avgpt - 20.0).abs() < 1e-9);
    assert_eq!(data.stats_day.sum, 40);
    let size = items.item(names::TOPIC_PUT_SIZE, "T").unwrap().data(10_000);
    assert_eq!(size.stats_minute.sum, 4000);
    let broker = items
        .item(names::BROKER_PUT_NUMS, "DefaultCluster")
        .unwrap();
    assert_eq!(broker.data(10_000).stats_hour.sum, 40);
    assert!(items.item(names::TOPIC_PUT_NUMS, "Other").is_none());
    assert!(items.item("NO_SUCH_STATS", "T").is_none());
}

#[test]
fn given_samples_should_keep_seven_minute_points_so_old_traffic_leaves_the_minute() {
    let items = StatsItems::new("C", 0);
    items.group_get(("T", "G"), 100, 10, 0);
    // Ten minutes of sampling every 10 s with no traffic after the first pull.
    for second in (1..=600).map(|s| s * 1000) {
        items.sample_due(second);
    }
    let item = items.item(names::GROUP_GET_NUMS, "T@G").unwrap();
    let data = item.data(600_000);
    assert_eq!(data.stats_minute.sum, 0, "older than the minute window");
    assert_eq!(data.stats_day.sum, 100);
    assert_eq!(items.group_get_tps("T", "G", 600_000), 0.0);
    items.group_get(("T", "G"), 60, 1, 600_000);
    let tps = items.group_get_tps("T", "G", 610_000);
    assert!(tps > 0.0, "{tps}");
}

#[test]
fn given_deleted_topics_and_groups_should_forget_their_items() {
    let items = StatsItems::new("C", 0);
    items.topic_put("T", 1, 1, 0);
    items.group_get(("T", "G"), 1, 1, 0);
    items.group_get(("U", "G"), 1, 1, 0);
    items.send_back("U", "H", 0);
    items.forget_group("G");
    assert!(items.item(names::GROUP_GET_NUMS, "T@G").is_none());
    assert!(items.item(names::GROUP_GET_NUMS, "U@G").is_none());
    assert!(items.item(names::SNDBCK_PUT_NUMS, "U@H").is_some());
    items.forget_topic("T");
    assert!(items.item(names::TOPIC_PUT_NUMS, "T").is_none());
}

#[test]
fn given_a_query_in_the_same_millisecond_as_the_first_put_should_rate_over_one_second() {
    let items = StatsItems::new("C", 0);
    items.topic_put("T", 3, 300, 7);
    let data = items.item(names::TOPIC_PUT_NUMS, "T").unwrap().data(7);
    assert_eq!(data.stats_minute.sum, 3);
    assert!((data.stats_minute.tps - 3.0).abs() < 1e-9, "{data:?}");
}
