//! The web console's lists and overview at scale: 10,000 topics and 1,000 groups on an
//! in-process broker, asked over real HTTP the way the pages ask (page 1 of 20 rows, a name
//! filter, and the overview's four requests at once). Goals (issue 17): lists ≤ 300 ms,
//! overview ≤ 500 ms. The overview's stored-message count (one request per topic) is cached
//! for 10 s; its cold cost is printed once before the measurements.
//!
//! `cargo bench -p apogee-console --bench lists`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use apogee_client::{Admin, ClientConfig, SubscriptionGroupConfig, TopicConfig};
use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_testkit::http::request;
use criterion::{Criterion, criterion_group, criterion_main};

const TOPICS: usize = 10_000;
const GROUPS: usize = 1_000;
const AUTH: &str = "accessKey=admin&secretKey=s3cret&clusterName=DefaultCluster";

struct Setup {
    addr: SocketAddr,
    _cluster: apogee_testkit::InProcess,
    _console: Console,
    _shutdown: Shutdown,
}

async fn setup() -> Setup {
    let cluster = apogee_testkit::start(|_| {}).await;
    cluster.broker.register_now().await;
    let admin = Admin::start(ClientConfig::new(&cluster.namesrv_addr))
        .await
        .unwrap();
    let broker = cluster.broker_addr.clone();
    for chunk in (0..TOPICS).collect::<Vec<_>>().chunks(1000) {
        let configs = chunk
            .iter()
            .map(|i| {
                let name = apogee_model::TopicName::new(format!("BenchTopic-{i:05}")).unwrap();
                let mut c = TopicConfig::new(name);
                c.read_queue_nums = 4;
                c.write_queue_nums = 4;
                c
            })
            .collect();
        admin.create_topic_list(&broker, configs).await.unwrap();
    }
    for i in 0..GROUPS {
        let config = SubscriptionGroupConfig {
            group_name: format!("GID_bench_{i:04}"),
            ..SubscriptionGroupConfig::default()
        };
        admin
            .create_subscription_group(&broker, &config)
            .await
            .unwrap();
    }
    let raw = RawConsoleConfig {
        listen_port: 0,
        namesrv_addr: cluster.namesrv_addr.clone(),
        data_dir: cluster.dir.path().join("console"),
        admin_secret_key: "s3cret".into(),
        rate_limit_per_second: 0,
        ..RawConsoleConfig::default()
    };
    let shutdown = Shutdown::new();
    let console = Console::start(ConsoleConfig::try_from(raw).unwrap(), &shutdown)
        .await
        .unwrap();
    console
        .sample_at(apogee_console::history::now_ms())
        .await
        .unwrap();
    Setup {
        addr: console.local_addr(),
        _cluster: cluster,
        _console: console,
        _shutdown: shutdown,
    }
}

async fn get(addr: SocketAddr, path: &str) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let reply = request(addr, "GET", &format!("{path}{sep}{AUTH}"), None).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
}

async fn overview(addr: SocketAddr) {
    tokio::join!(
        get(addr, "/api/manager/cluster/base"),
        get(addr, "/api/console/overview"),
        get(addr, "/api/alerts/rules"),
        get(addr, "/api/manager/DefaultCluster/tps"),
    );
}

fn lists(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(setup());
    let addr = s.addr;
    let cold = Instant::now();
    rt.block_on(overview(addr));
    println!(
        "overview, cold (stored-message count over {TOPICS} topics): {:?}",
        cold.elapsed()
    );
    let mut g = c.benchmark_group("console");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("topics list, page 1 of 20 (10,000 topics)", |b| {
        b.to_async(&rt).iter(|| {
            get(
                addr,
                "/api/manager/topics/DefaultCluster/basedatas?pageSize=20",
            )
        });
    });
    g.bench_function("topics list, name filter (10,000 topics)", |b| {
        b.to_async(&rt).iter(|| {
            get(
                addr,
                "/api/manager/topics/DefaultCluster/basedatas?pageSize=20&name=00999",
            )
        });
    });
    g.bench_function("groups list, page 1 of 20 (1,000 groups)", |b| {
        b.to_async(&rt).iter(|| {
            get(
                addr,
                "/api/manager/subscriptions/DefaultCluster/basedatas?pageSize=20",
            )
        });
    });
    g.bench_function("overview, warm (four requests at once)", |b| {
        b.to_async(&rt).iter(|| overview(addr));
    });
    g.finish();
    drop(s);
}

criterion_group!(benches, lists);
criterion_main!(benches);
