use super::*;

fn stats_at(boot_ms: i64) -> BrokerStats {
    BrokerStats::new(
        Arc::new(apogee_runtime::ManualClock::new(boot_ms)),
        "DefaultCluster",
    )
}

const T0: i64 = 1_700_000_000_000;

fn table(stats: &BrokerStats, now_ms: i64) -> std::collections::BTreeMap<&'static str, String> {
    stats.runtime_info(now_ms).into_iter().collect()
}

fn first_figure(tps: &str) -> Option<f64> {
    tps.split(' ').next().and_then(|f| f.parse().ok())
}

#[test]
fn given_steady_puts_when_sampled_each_second_should_report_java_tps_per_window() {
    let stats = stats_at(T0);
    for second in 0..=600 {
        stats.sample(T0 + second * 1000);
        // 5 messages a second for the first 590 s, then nothing.
        if second < 590 {
            stats.record_put("T", 5, 500, 1);
        }
    }
    let info = table(&stats, T0 + 600_000);
    // Last 10 s: silent. Last 60 s: 250 puts in 60 s. Last 600 s: 2950 in 600 s.
    assert_eq!(
        info["putTps"],
        format!(
            "0.0 {} {}",
            java_double(250.0 / 60.0),
            java_double(2950.0 / 600.0)
        )
    );
    assert_eq!(info["msgPutTotalTodayNow"], "2950");
    assert_eq!(info["putMessageTimesTotal"], "2950");
    assert_eq!(info["putMessageAverageSize"], "100.0");
}

#[test]
fn given_too_few_samples_should_leave_figures_empty_like_java() {
    let stats = stats_at(T0);
    let info = table(&stats, T0);
    assert_eq!(info["putTps"], "  ");
    assert_eq!(info["getTotalTps"], "0.0 0.0 0.0");
    assert_eq!(info["putMessageTimesTotal"], "1", "Java reports at least 1");
    for second in 0..=10 {
        stats.sample(T0 + second * 1000);
    }
    assert_eq!(table(&stats, T0 + 10_000)["putTps"], "0.0  ");
}

#[test]
fn given_a_burst_then_silence_should_fall_back_to_zero_after_ten_samples() {
    let stats = stats_at(T0);
    let mut now = T0;
    for _ in 0..11 {
        stats.sample(now);
        stats.record_put("T", 10, 10, 0);
        now += 1000;
    }
    stats.sample(now);
    let busy = first_figure(&table(&stats, now)["putTps"]).unwrap();
    assert!((busy - 10.0).abs() < 1e-9, "{busy}");
    for _ in 0..10 {
        now += 1000;
        stats.sample(now);
    }
    assert_eq!(first_figure(&table(&stats, now)["putTps"]), Some(0.0));
}

#[test]
fn given_gets_should_split_found_miss_and_transferred() {
    let stats = stats_at(T0);
    stats.sample(T0);
    for _ in 0..30 {
        stats.record_get(true);
        stats.record_transferred(("T", "G"), 2, 20);
    }
    for _ in 0..10 {
        stats.record_get(false);
    }
    stats.record_transferred(("SCHEDULE_TOPIC_XXXX", "G"), 5, 50);
    for second in 1..=10 {
        stats.sample(T0 + second * 1000);
    }
    let info = table(&stats, T0 + 10_000);
    assert_eq!(first_figure(&info["getFoundTps"]), Some(3.0));
    assert_eq!(first_figure(&info["getMissTps"]), Some(1.0));
    assert_eq!(first_figure(&info["getTotalTps"]), Some(4.0));
    assert_eq!(first_figure(&info["getTransferredTps"]), Some(6.5));
    assert_eq!(info["getTransferedTps"], info["getTransferredTps"]);
    assert_eq!(
        info["msgGetTotalTodayNow"], "60",
        "system topics are not counted"
    );
}

#[test]
fn given_utc_midnights_should_move_the_morning_marks() {
    let midnight = T0 - T0.rem_euclid(DAY_MS) + DAY_MS;
    let stats = stats_at(midnight - 5000);
    stats.record_put("T", 7, 0, 0);
    stats.record_transferred(("T", "G"), 3, 30);
    stats.sample(midnight - 1000);
    let info = table(&stats, midnight - 1000);
    assert_eq!(info["msgPutTotalTodayMorning"], "0");
    stats.sample(midnight);
    stats.record_put("T", 4, 0, 0);
    let info = table(&stats, midnight + 1);
    assert_eq!(
        (
            info["msgPutTotalYesterdayMorning"].as_str(),
            info["msgPutTotalTodayMorning"].as_str(),
            info["msgPutTotalTodayNow"].as_str()
        ),
        ("0", "7", "11")
    );
    assert_eq!(info["msgGetTotalTodayMorning"], "3");
    stats.sample(midnight + DAY_MS + 10);
    let info = table(&stats, midnight + DAY_MS + 10);
    assert_eq!(info["msgPutTotalYesterdayMorning"], "7");
    assert_eq!(info["msgPutTotalTodayMorning"], "11");
}

#[test]
fn given_put_times_should_fill_java_buckets_for_the_last_minute() {
    let stats = stats_at(T0);
    for ms in [0, 0, 3, 10, 49, 700, 12_000] {
        stats.record_put("T", 1, 1, ms);
    }
    let info = table(&stats, T0);
    assert!(
        info["putMessageDistributeTime"].starts_with("[<=0ms]:0 [0~10ms]:0 "),
        "no full minute yet: {}",
        info["putMessageDistributeTime"]
    );
    assert_eq!(info["putMessageEntireTimeMax"], "12000");
    stats.sample(T0 + 60_000);
    let info = table(&stats, T0 + 60_000);
    assert_eq!(
        info["putMessageDistributeTime"],
        "[<=0ms]:2 [0~10ms]:1 [10~50ms]:2 [50~100ms]:0 [100~200ms]:0 [200~500ms]:0 \
         [500ms~1s]:1 [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 [5~10s]:0 [10s~]:1 "
    );
    // The next minute starts from zero.
    stats.sample(T0 + 120_000);
    assert!(table(&stats, T0 + 120_000)["putMessageDistributeTime"].starts_with("[<=0ms]:0 "));
}

#[test]
fn given_latencies_should_interpolate_percentiles_like_java() {
    assert_eq!(LATENCY_BOUNDS[0], 1);
    assert_eq!(LATENCY_BOUNDS[19], 20);
    assert_eq!(LATENCY_BOUNDS[20], 22);
    assert_eq!(LATENCY_BOUNDS[74], 10_000);
    assert_eq!(LATENCY_BOUNDS[75], u64::MAX);
    let mut counts = [0u64; LATENCY_BUCKETS];
    counts[latency_bucket(0)] = 50;
    counts[latency_bucket(5)] = 50;
    // 99th of 100: index 99 falls in the 5 ms bucket (4..5], 49 of its 50 → 4 + 49/50.
    assert!((percentile(&counts, 0.99) - 4.98).abs() < 1e-9);
    assert!((percentile(&[0; LATENCY_BUCKETS], 0.99)).abs() < 1e-9);
    assert_eq!(latency_bucket(10_001), LATENCY_BUCKETS - 1);
    assert_eq!(latency_bucket(21), 20);
}

#[test]
fn given_java_number_formats_should_match() {
    assert_eq!(java_double(0.0), "0.0");
    assert_eq!(java_double(12.5), "12.5");
    assert_eq!(java_double(3.0), "3.0");
    assert_eq!(java_double(1.0 / 3.0), "0.3333333333333333");
    assert_eq!(java_double(1e7), "1.0E7");
    assert_eq!(java_double(12_345_678.9), "1.23456789E7");
    assert_eq!(java_double(0.0001), "1.0E-4");
    assert_eq!(java_double(f64::NAN), "NaN");
    assert_eq!(
        format_runtime(65_000),
        "[ 0 days, 0 hours, 1 minutes, 5 seconds ]"
    );
    assert_eq!(
        format_runtime(DAY_MS + 3_600_000 + 1),
        "[ 1 days, 1 hours, 0 minutes, 0 seconds ]"
    );
    assert_eq!(human_bytes(512), "512 B");
    assert_eq!(human_bytes(1536), "1.5 KiB");
    assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
}
