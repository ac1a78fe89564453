//! The NameServer over real sockets: brokers register (JSON and zlib bodies), clients read
//! routes in both JSON styles, brokers expire or vanish with their connection, KV and config
//! requests work, and bad input gets clear errors without disturbing anyone else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use apogee_model::{BrokerName, ClusterName, DataVersion, TopicConfig, TopicName};
use apogee_namesrv::{Namesrv, NamesrvConfig, RawNamesrvConfig};
use apogee_protocol::body::register::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use apogee_protocol::body::route::{ClusterInfo, TopicRouteData};
use apogee_protocol::body::{KvTable, TopicList, from_json};
use apogee_protocol::header::namesrv::*;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::{Shutdown, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(5);

async fn start(tweak: impl FnOnce(&mut RawNamesrvConfig)) -> (Namesrv, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = RawNamesrvConfig {
        listen_address: "127.0.0.1".into(),
        listen_port: 0,
        data_dir: dir.path().to_owned(),
        scan_not_active_broker_interval_ms: 50,
        ..RawNamesrvConfig::default()
    };
    tweak(&mut raw);
    let config = NamesrvConfig::try_from(raw).unwrap();
    let namesrv = Namesrv::start(config, Shutdown::new(), Arc::new(SystemClock))
        .await
        .unwrap();
    let addr = namesrv.local_addr().to_string();
    (namesrv, addr, dir)
}

fn client() -> RemotingClient {
    RemotingClient::new(Dispatcher::new(), TransportConfig::default())
}

fn body(counter: i64, topics: &[&str]) -> RegisterBrokerBody {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter,
            state_version: 0,
            timestamp: 1,
        },
        ..TopicConfigSerializeWrapper::default()
    };
    for t in topics {
        let mut config = TopicConfig::new(TopicName::new(*t).unwrap());
        config.read_queue_nums = 4;
        config.write_queue_nums = 4;
        wrapper.topic_config_table.insert((*t).to_owned(), config);
    }
    RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: wrapper,
    }
}

fn register_request(
    name: &str,
    addr: &str,
    compressed: bool,
    timeout_ms: Option<i64>,
    topics: &[&str],
) -> RemotingCommand {
    let body = body(1, topics);
    let bytes = if compressed {
        body.encode_compressed()
    } else {
        body.to_json()
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: BrokerName::new(name).unwrap(),
        broker_addr: addr.into(),
        cluster_name: ClusterName::new("DefaultCluster").unwrap(),
        ha_server_addr: format!("{addr}1"),
        broker_id: 0,
        heartbeat_timeout_millis: timeout_ms,
        enable_acting_master: Some(false),
        compressed: Some(compressed),
        body_crc32: Some(i32::try_from(crc32fast::hash(&bytes) & 0x7FFF_FFFF).unwrap()),
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header).with_body(bytes)
}

/// Sends `request` and waits for the answer.
async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, WAIT).await.unwrap()
}

fn topic_list(response: &RemotingCommand) -> Vec<String> {
    from_json::<TopicList>("list", &response.body)
        .unwrap()
        .topic_list
}

async fn route(client: &RemotingClient, addr: &str, topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: None,
    };
    client
        .invoke(
            addr,
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header),
            WAIT,
        )
        .await
        .unwrap()
}

async fn wait_for_route_brokers(client: &RemotingClient, addr: &str, topic: &str, expected: usize) {
    tokio::time::timeout(WAIT, async {
        loop {
            let resp = route(client, addr, topic).await;
            let count = if resp.code == 0 {
                from_json::<TopicRouteData>("route", &resp.body)
                    .unwrap()
                    .broker_datas
                    .len()
            } else {
                0
            };
            if count == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("route of {topic} never had {expected} brokers"));
}

#[tokio::test]
async fn given_two_brokers_when_registered_should_route_expire_and_drop_on_close() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let broker_a = client();
    let broker_b = client();
    let reader = client();
    let resp = call(
        &broker_a,
        &addr,
        register_request(
            "broker-a",
            "127.0.0.1:10911",
            false,
            None,
            &["Shared", "OnlyA"],
        ),
    )
    .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );
    let resp = call(
        &broker_b,
        &addr,
        register_request(
            "broker-b",
            "127.0.0.1:20911",
            true,
            Some(400),
            &["Shared", "OnlyB"],
        ),
    )
    .await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        resp.remark
    );

    let resp = route(&reader, &addr, "Shared").await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let data: TopicRouteData = from_json("route", &resp.body).unwrap();
    let names: Vec<&str> = data
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    assert_eq!(
        data.queue_datas
            .iter()
            .map(|q| q.write_queue_nums)
            .collect::<Vec<_>>(),
        [4, 4]
    );
    // Our version (479) gets standard JSON with quoted numeric keys.
    assert!(
        std::str::from_utf8(&resp.body)
            .unwrap()
            .contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#)
    );

    let resp = route(&reader, &addr, "NoSuchTopic").await;
    assert_eq!(resp.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(resp.remark.unwrap().contains("NoSuchTopic"));

    // broker-b said its heartbeat timeout is 400 ms and stays silent: the scan drops it.
    wait_for_route_brokers(&reader, &addr, "Shared", 1).await;
    assert_eq!(
        route(&reader, &addr, "OnlyB").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );

    // broker-a's connection closes: it disappears at once.
    broker_a.shutdown();
    wait_for_route_brokers(&reader, &addr, "Shared", 0).await;
    let cluster = call(
        &reader,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    let info: ClusterInfo = from_json("cluster", &cluster.body).unwrap();
    assert!(info.broker_addr_table.is_empty());
}

#[tokio::test]
async fn given_old_client_version_when_routing_should_get_legacy_fastjson() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let broker = client();
    call(
        &broker,
        &addr,
        register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]),
    )
    .await;
    let header = GetRouteInfoRequestHeader {
        topic: "T".into(),
        accept_standard_json_only: None,
    };
    let mut req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
    req.version = 317;
    let resp = call(&broker, &addr, req).await;
    let text = std::str::from_utf8(&resp.body).unwrap();
    assert_eq!(
        text,
        r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"b1","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b1","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    let cluster = call(
        &broker,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert!(
        std::str::from_utf8(&cluster.body)
            .unwrap()
            .contains(r#"{0:"127.0.0.1:10911"}"#)
    );
}

#[tokio::test]
async fn given_bad_crc_or_body_when_registering_should_fail_clearly_and_register_nothing() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let broker = client();
    let mut req = register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]);
    req.ext_fields.insert("bodyCrc32", "12345");
    let resp = call(&broker, &addr, req).await;
    assert_eq!(
        (resp.response_code(), resp.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("crc32 not match"))
    );
    let mut req = register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]);
    req.ext_fields.remove("bodyCrc32");
    req.body = b"{not json".to_vec().into();
    let resp = call(&broker, &addr, req).await;
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    let mut req = register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]);
    req.ext_fields.remove("brokerName");
    let resp = call(&broker, &addr, req).await;
    assert_eq!(
        resp.remark.as_deref(),
        Some("the custom field <brokerName> is null")
    );
    assert_eq!(
        route(&broker, &addr, "T").await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );
}

#[tokio::test]
async fn given_kv_and_order_topic_config_should_store_serve_and_persist() {
    let (ns, addr, dir) = start(|c| c.order_message_enable = true).await;
    let c = client();
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
        value: "b1:4".into(),
    };
    let resp = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::PUT_KV_CONFIG, &put),
    )
    .await;
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    let reg = call(
        &c,
        &addr,
        register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]),
    )
    .await;
    let kv: KvTable = from_json("kv", &reg.body).unwrap();
    assert_eq!(
        kv.table["T"], "b1:4",
        "registration returns ORDER_TOPIC_CONFIG"
    );
    let data: TopicRouteData = from_json("route", &route(&c, &addr, "T").await.body).unwrap();
    assert_eq!(data.order_topic_conf.as_deref(), Some("b1:4"));

    let key = KvConfigKeyHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
    };
    let got = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::GET_KV_CONFIG, &key),
    )
    .await;
    assert_eq!(
        got.header::<GetKvConfigResponseHeader>()
            .unwrap()
            .value
            .as_deref(),
        Some("b1:4")
    );
    let missing = KvConfigKeyHeader {
        namespace: "ns".into(),
        key: "k".into(),
    };
    let got = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::GET_KV_CONFIG, &missing),
    )
    .await;
    assert_eq!(got.response_code(), ResponseCode::QUERY_NOT_FOUND);
    assert_eq!(
        got.remark.as_deref(),
        Some("No config item, Namespace: ns Key: k")
    );

    ns.stop().await;
    let (_ns2, addr2, _dir2) = start(|c| c.data_dir = dir.path().to_owned()).await;
    let list = GetKvListByNamespaceRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
    };
    let got = call(
        &c,
        &addr2,
        RemotingCommand::request(RequestCode::GET_KVLIST_BY_NAMESPACE, &list),
    )
    .await;
    assert_eq!(
        from_json::<KvTable>("kv", &got.body).unwrap().table["T"],
        "b1:4",
        "survives restart"
    );
    let del = call(
        &c,
        &addr2,
        RemotingCommand::request(RequestCode::DELETE_KV_CONFIG, &key),
    )
    .await;
    assert_eq!(del.response_code(), ResponseCode::SUCCESS);
    let got = call(
        &c,
        &addr2,
        RemotingCommand::request(RequestCode::GET_KV_CONFIG, &key),
    )
    .await;
    assert_eq!(got.response_code(), ResponseCode::QUERY_NOT_FOUND);
}

#[tokio::test]
async fn given_admin_requests_should_list_topics_wipe_perm_and_update_config() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let c = client();
    call(
        &c,
        &addr,
        register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]),
    )
    .await;
    let all = call(
        &c,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(topic_list(&all), ["T", "U"]);
    let by_cluster = GetTopicsByClusterRequestHeader {
        cluster: "DefaultCluster".into(),
    };
    let resp = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::GET_TOPICS_BY_CLUSTER, &by_cluster),
    )
    .await;
    assert_eq!(topic_list(&resp), ["T", "U"]);
    let sys = call(
        &c,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS),
    )
    .await;
    assert_eq!(topic_list(&sys), ["DefaultCluster", "b1"]);

    let wipe = WritePermOfBrokerRequestHeader {
        broker_name: BrokerName::new("b1").unwrap(),
    };
    let resp = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &wipe),
    )
    .await;
    assert_eq!(
        resp.header::<WipeWritePermOfBrokerResponseHeader>()
            .unwrap()
            .wipe_topic_count,
        2
    );
    let data: TopicRouteData = from_json("route", &route(&c, &addr, "T").await.body).unwrap();
    assert_eq!(data.queue_datas[0].perm, 4);

    let update = RemotingCommand::bare_request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"enableAllTopicList=false\n"[..]);
    assert_eq!(
        call(&c, &addr, update).await.response_code(),
        ResponseCode::SUCCESS
    );
    let all = call(
        &c,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(
        (all.response_code(), all.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, Some("disable"))
    );
    let black = RemotingCommand::bare_request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"kvConfigPath=/etc/passwd"[..]);
    assert_eq!(
        call(&c, &addr, black).await.response_code(),
        ResponseCode::NO_PERMISSION
    );
    let got = call(
        &c,
        &addr,
        RemotingCommand::bare_request(RequestCode::GET_NAMESRV_CONFIG),
    )
    .await;
    let text = String::from_utf8(got.body.to_vec()).unwrap();
    assert!(
        text.contains("enableAllTopicList=false\n") && text.contains("listenPort=0\n"),
        "{text}"
    );

    let unknown = call(&c, &addr, RemotingCommand::bare_request(RequestCode(4321))).await;
    assert_eq!(
        unknown.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
}

#[tokio::test]
async fn given_query_data_version_and_heartbeat_should_report_change_and_keep_broker_alive() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let c = client();
    call(
        &c,
        &addr,
        register_request("b1", "127.0.0.1:10911", false, Some(1_500), &["T", "U"]),
    )
    .await;
    let header = QueryDataVersionRequestHeader {
        broker_name: BrokerName::new("b1").unwrap(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: ClusterName::new("DefaultCluster").unwrap(),
        broker_id: 0,
    };
    let same = serde_json::to_vec(&DataVersion {
        counter: 1,
        state_version: 0,
        timestamp: 1,
    })
    .unwrap();
    let resp = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::QUERY_DATA_VERSION, &header).with_body(same),
    )
    .await;
    assert!(
        !resp
            .header::<QueryDataVersionResponseHeader>()
            .unwrap()
            .changed
    );
    let newer = serde_json::to_vec(&DataVersion {
        counter: 2,
        state_version: 0,
        timestamp: 1,
    })
    .unwrap();
    let resp = call(
        &c,
        &addr,
        RemotingCommand::request(RequestCode::QUERY_DATA_VERSION, &header).with_body(newer),
    )
    .await;
    assert!(
        resp.header::<QueryDataVersionResponseHeader>()
            .unwrap()
            .changed
    );
    // Heartbeats every 100 ms keep a 1.5 s-timeout broker alive for longer than its timeout.
    let beat = BrokerHeartbeatRequestHeader {
        cluster_name: ClusterName::new("DefaultCluster").unwrap(),
        broker_addr: "127.0.0.1:10911".into(),
        broker_name: BrokerName::new("b1").unwrap(),
        broker_id: Some(0),
        epoch: None,
        max_offset: None,
        confirm_offset: None,
        heartbeat_timeout_mills: None,
        election_priority: None,
    };
    for _ in 0..20 {
        let resp = call(
            &c,
            &addr,
            RemotingCommand::request(RequestCode::BROKER_HEARTBEAT, &beat),
        )
        .await;
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        route(&c, &addr, "T").await.response_code(),
        ResponseCode::SUCCESS
    );
}

#[tokio::test]
async fn given_garbage_connections_should_close_each_and_keep_serving_brokers() {
    let (_ns, addr, _dir) = start(|_| {}).await;
    let c = client();
    call(
        &c,
        &addr,
        register_request("b1", "127.0.0.1:10911", false, None, &["T", "U"]),
    )
    .await;
    let inputs: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        &[0xff, 0xff, 0xff, 0xff],
        &[0, 0, 0, 8, 0, 0, 1, 0, 0, 0, 0, 0],
        &[0, 0, 0, 9, 0, 0, 0, 5, b'n', b'o', b'p', b'e', b'!'],
    ];
    for input in inputs {
        let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
        raw.write_all(input).await.unwrap();
        let mut sink = Vec::new();
        tokio::time::timeout(WAIT, raw.read_to_end(&mut sink))
            .await
            .expect("connection must be closed")
            .unwrap();
        assert!(sink.is_empty());
        assert_eq!(
            route(&c, &addr, "T").await.response_code(),
            ResponseCode::SUCCESS
        );
    }
}

/// A handler that panics on every request (a bug stand-in).
struct PanickingHandler;

impl apogee_namesrv::processor::Handler for PanickingHandler {
    const CODES: &'static [RequestCode] = &[RequestCode(31_998)];

    fn handle(
        &self,
        _connection: &apogee_remoting::Connection,
        _request: &RemotingCommand,
    ) -> Result<RemotingCommand, apogee_namesrv::NamesrvError> {
        panic!("handler bug");
    }
}

#[tokio::test]
async fn given_a_panicking_handler_should_answer_system_error_and_keep_serving() {
    let mut dispatcher = apogee_remoting::Dispatcher::new();
    apogee_namesrv::processor::register(&mut dispatcher, PanickingHandler);
    let server = apogee_remoting::RemotingServer::bind(
        "127.0.0.1:0",
        dispatcher,
        apogee_remoting::TransportConfig::default(),
        &apogee_runtime::Shutdown::new(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().to_string();
    let client = apogee_remoting::RemotingClient::new(
        apogee_remoting::Dispatcher::new(),
        apogee_remoting::TransportConfig::default(),
    );
    for _ in 0..2 {
        let r = client
            .invoke(
                &addr,
                RemotingCommand::bare_request(RequestCode(31_998)),
                std::time::Duration::from_secs(5),
            )
            .await
            .expect("answered, not dropped");
        assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
        assert!(r.remark.unwrap_or_default().contains("internal error"));
    }
}

const INNER: (&str, &str) = ("inner", "inner-secret-1");

fn signed(mut request: RemotingCommand, who: (&str, &str)) -> RemotingCommand {
    let credentials = apogee_auth::Credentials::new(who.0, who.1);
    apogee_auth::signature::sign_request(&mut request, &credentials);
    request
}

#[tokio::test]
async fn given_access_control_should_refuse_forged_registrations_and_unsigned_admin_but_serve_routes()
 {
    let (_ns, addr, _dir) = start(|raw| {
        raw.authentication_enabled = true;
        raw.authorization_enabled = true;
        raw.inner_client_authentication_credentials =
            format!(r#"{{"accessKey":"{}","secretKey":"{}"}}"#, INNER.0, INNER.1);
    })
    .await;
    let c = client();
    let reg = || register_request("broker-a", "10.0.0.1:10911", false, None, &["T", "U"]);
    let refusal = |r: &RemotingCommand| {
        assert_eq!(
            r.response_code(),
            ResponseCode::NO_PERMISSION,
            "{:?}",
            r.remark
        );
        r.remark.clone().unwrap()
    };
    assert_eq!(
        refusal(&call(&c, &addr, reg()).await),
        "username cannot be null."
    );
    assert_eq!(
        refusal(&call(&c, &addr, signed(reg(), (INNER.0, "guessed"))).await),
        "check signature failed."
    );
    let real = call(&c, &addr, signed(reg(), INNER)).await;
    assert_eq!(
        real.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        real.remark
    );
    // A forger holding the inner credentials still cannot take over the live broker's id.
    let forged = register_request("broker-a", "10.6.6.6:10911", false, None, &["T", "U"]);
    let r = call(&c, &addr, signed(forged, INNER)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("is held by 10.0.0.1:10911"));
    // Clients read routes without signing (whitelisted); the route is the real broker's.
    let route = route(&c, &addr, "T").await;
    assert_eq!(route.response_code(), ResponseCode::SUCCESS);
    let data: TopicRouteData = from_json("route", &route.body).unwrap();
    assert_eq!(data.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
    // Administration needs a signature.
    let header = WritePermOfBrokerRequestHeader {
        broker_name: BrokerName::new("broker-a").unwrap(),
    };
    let wipe = RemotingCommand::request(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &header);
    assert_eq!(
        refusal(&call(&c, &addr, wipe.clone()).await),
        "username cannot be null."
    );
    let r = call(&c, &addr, signed(wipe, INNER)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}
