//! Real sockets on 127.0.0.1:0: dispatch, oneway, unknown codes, timeouts, reconnects and
//! malformed input that must close only the offending connection, large bodies among small.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apogee_protocol::frame::{decode_frame, encode_frame};
use apogee_protocol::{FrameLimits, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use apogee_remoting::{
    BoxFuture, Connection, Dispatcher, RemotingClient, RemotingServer, RequestProcessor,
    ServerHandle, TransportConfig,
};
use apogee_runtime::Shutdown;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);
const ECHO: RequestCode = RequestCode(9001);
const SLOW: RequestCode = RequestCode(9002);
const COUNT: RequestCode = RequestCode(9003);
const PANIC: RequestCode = RequestCode(9004);

struct TestProcessor {
    counted: Arc<AtomicUsize>,
}

impl RequestProcessor for TestProcessor {
    fn process(
        &self,
        _connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let counted = Arc::clone(&self.counted);
        Box::pin(async move {
            match request.request_code() {
                SLOW => tokio::time::sleep(Duration::from_secs(30)).await,
                COUNT => {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                PANIC => panic!("processor bug"),
                _ => {}
            }
            let body = request.body.clone();
            let mut response =
                RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None).with_body(body);
            response.ext_fields = request.ext_fields.clone();
            response
        })
    }
}

async fn start(closed: Arc<AtomicUsize>, counted: Arc<AtomicUsize>) -> (ServerHandle, String) {
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[ECHO, SLOW, COUNT, PANIC],
        Arc::new(TestProcessor { counted }),
    );
    dispatcher.on_close(move |_| {
        closed.fetch_add(1, Ordering::SeqCst);
    });
    let server = RemotingServer::bind(
        "127.0.0.1:0",
        dispatcher,
        TransportConfig::default(),
        &Shutdown::new(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().to_string();
    (server, addr)
}

fn client() -> RemotingClient {
    RemotingClient::new(Dispatcher::new(), TransportConfig::default())
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("condition not met in time");
}

#[tokio::test]
async fn given_echo_processor_when_invoked_in_both_encodings_should_mirror_the_request_encoding() {
    let (_server, addr) = start(Arc::default(), Arc::default()).await;
    let client = client();
    for ty in [SerializeType::Json, SerializeType::RocketMq] {
        let mut req = RemotingCommand::bare_request(ECHO).with_body(&b"ping"[..]);
        req.serialize_type = ty;
        req.ext_fields.insert("k", "v\u{1}");
        let resp = client.invoke(&addr, req, WAIT).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
        assert_eq!(resp.serialize_type, ty);
        assert_eq!(&resp.body[..], b"ping");
        assert_eq!(&resp.ext_fields["k"], "v\u{1}");
    }
}

#[tokio::test]
async fn given_unknown_code_when_invoked_should_answer_request_code_not_supported() {
    let (_server, addr) = start(Arc::default(), Arc::default()).await;
    let resp = client()
        .invoke(
            &addr,
            RemotingCommand::bare_request(RequestCode(7777)),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 7777 not supported")
    );
}

#[tokio::test]
async fn given_panicking_processor_when_invoked_should_answer_system_error_and_keep_serving() {
    let (_server, addr) = start(Arc::default(), Arc::default()).await;
    let client = client();
    let resp = client
        .invoke(&addr, RemotingCommand::bare_request(PANIC), WAIT)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    let resp = client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn given_oneway_requests_when_sent_should_be_processed_but_never_answered() {
    let counted = Arc::new(AtomicUsize::new(0));
    let (_server, addr) = start(Arc::default(), Arc::clone(&counted)).await;
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    for code in [COUNT, RequestCode(7777)] {
        let cmd = RemotingCommand::bare_request(code).into_oneway();
        raw.write_all(&encode_frame(&cmd, &FrameLimits::default()).unwrap())
            .await
            .unwrap();
    }
    // A normal request after the oneways: the first frame we read back must answer it.
    let mut probe = RemotingCommand::bare_request(ECHO);
    probe.opaque = 42;
    raw.write_all(&encode_frame(&probe, &FrameLimits::default()).unwrap())
        .await
        .unwrap();
    let resp = read_one(&mut raw).await.expect("echo response");
    assert_eq!(resp.opaque, 42);
    wait_until(|| counted.load(Ordering::SeqCst) == 1).await;
}

async fn read_one(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut buf = BytesMut::new();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(cmd) = decode_frame(&mut buf, &FrameLimits::default()).unwrap() {
                return Some(cmd);
            }
            if stream.read_buf(&mut buf).await.ok()? == 0 {
                return None;
            }
        }
    })
    .await
    .expect("read timed out")
}

#[tokio::test]
async fn given_slow_processor_when_timeout_expires_should_fail_with_timeout_and_connection_stays_usable()
 {
    let (_server, addr) = start(Arc::default(), Arc::default()).await;
    let client = client();
    let err = client
        .invoke(
            &addr,
            RemotingCommand::bare_request(SLOW),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no response"), "{err}");
    let ok = client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    assert_eq!(ok.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn given_server_restarted_when_invoked_again_should_reconnect() {
    let (server, addr) = start(Arc::default(), Arc::default()).await;
    let client = client();
    client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    let conn = client.connection(&addr).await.unwrap();
    server.stop().await;
    tokio::time::timeout(WAIT, conn.closed()).await.unwrap();
    let err = client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
    // Same port again.
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[ECHO],
        Arc::new(TestProcessor {
            counted: Arc::default(),
        }),
    );
    let _again = RemotingServer::bind(
        &addr,
        dispatcher,
        TransportConfig::default(),
        &Shutdown::new(),
    )
    .await
    .unwrap();
    let resp = client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
}

fn malformed_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut truncated = encode_frame(
        &RemotingCommand::bare_request(ECHO),
        &FrameLimits::default(),
    )
    .unwrap()
    .to_vec();
    truncated.truncate(truncated.len() - 3);
    vec![
        ("truncated frame then EOF", truncated),
        (
            "header length larger than frame",
            vec![0, 0, 0, 8, 0, 0, 1, 0, 1, 2, 3, 4],
        ),
        (
            "unknown serialize type",
            vec![0, 0, 0, 6, 9, 0, 0, 2, b'{', b'}'],
        ),
        (
            "100 MiB length prefix",
            (100u32 * 1024 * 1024).to_be_bytes().to_vec(),
        ),
        ("negative length", (-1i32).to_be_bytes().to_vec()),
        (
            "invalid JSON header",
            vec![0, 0, 0, 9, 0, 0, 0, 5, b'{', b'"', b'c', b'o', b'd'],
        ),
        (
            "HTTP request",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
    ]
}

#[tokio::test]
async fn given_malformed_input_when_sent_should_close_only_that_connection() {
    let closed = Arc::new(AtomicUsize::new(0));
    let (_server, addr) = start(Arc::clone(&closed), Arc::default()).await;
    let good = client();
    good.invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    for (i, (name, bytes)) in malformed_inputs().into_iter().enumerate() {
        let mut bad = TcpStream::connect(&addr).await.unwrap();
        bad.write_all(&bytes).await.unwrap();
        if name.starts_with("truncated") {
            bad.shutdown().await.unwrap();
        }
        let mut sink = Vec::new();
        let read = tokio::time::timeout(WAIT, bad.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "{name}: server did not close the connection");
        assert!(
            sink.is_empty(),
            "{name}: server answered garbage with {sink:?}"
        );
        wait_until(|| closed.load(Ordering::SeqCst) == i + 1).await;
        let resp = good
            .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
            .await
            .unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::SUCCESS,
            "{name}: other client disturbed"
        );
    }
}

#[tokio::test]
async fn given_short_idle_timeout_when_peer_is_silent_should_close_the_connection() {
    let config = TransportConfig {
        idle_timeout: Duration::from_millis(200),
        ..TransportConfig::default()
    };
    let server = RemotingServer::bind("127.0.0.1:0", Dispatcher::new(), config, &Shutdown::new())
        .await
        .unwrap();
    let mut idle = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(WAIT, idle.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "idle connection was not closed");
}

const PARK: RequestCode = RequestCode(9005);

/// Parks every PARK request until `release` fires, giving back its in-flight slot first.
struct ParkingProcessor {
    parked: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl RequestProcessor for ParkingProcessor {
    fn process(
        &self,
        _connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let (parked, release) = (Arc::clone(&self.parked), Arc::clone(&self.release));
        Box::pin(async move {
            if request.request_code() == PARK {
                apogee_remoting::release_in_flight_slot();
                let released = release.notified();
                parked.notify_one();
                released.await;
            }
            RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
        })
    }
}

#[tokio::test]
async fn given_a_parked_request_that_gave_back_its_slot_should_serve_the_next_on_a_one_slot_connection()
 {
    let parked = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[PARK, ECHO],
        Arc::new(ParkingProcessor {
            parked: Arc::clone(&parked),
            release: Arc::clone(&release),
        }),
    );
    let config = TransportConfig {
        in_flight_requests_max: 1,
        ..TransportConfig::default()
    };
    let server = RemotingServer::bind("127.0.0.1:0", dispatcher, config, &Shutdown::new())
        .await
        .unwrap();
    let addr = server.local_addr().to_string();
    let client = client();
    let park = {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(async move {
            client
                .invoke(&addr, RemotingCommand::bare_request(PARK), WAIT)
                .await
        })
    };
    tokio::time::timeout(WAIT, parked.notified()).await.unwrap();
    let echo = client
        .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
        .await
        .unwrap();
    assert_eq!(
        echo.response_code(),
        ResponseCode::SUCCESS,
        "answered while the first is parked"
    );
    release.notify_one();
    let parked_reply = park.await.unwrap().unwrap();
    assert_eq!(parked_reply.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn given_small_and_large_bodies_interleaved_on_one_connection_should_echo_each_intact() {
    // Bodies from 16 KiB up leave the writer's buffer aside (one vectored write each), the
    // others are gathered in it: the frames must still go out whole and in order.
    let (_server, addr) = start(Arc::default(), Arc::default()).await;
    let client = client();
    let sizes = [0, 10, 16 * 1024 - 1, 16 * 1024, 100 * 1024, 3, 1 << 20, 700];
    let calls = (0..64).map(|i| {
        let size = sizes[i % sizes.len()];
        let body: Vec<u8> = (0..size).map(|b| (b * 31 + i) as u8).collect();
        let (client, addr) = (&client, &addr);
        async move {
            let request = RemotingCommand::bare_request(ECHO).with_body(body.clone());
            let response = client.invoke(addr, request, WAIT).await.unwrap();
            assert_eq!(response.response_code(), ResponseCode::SUCCESS);
            assert!(response.body[..] == body[..], "request {i}, {size} bytes");
        }
    });
    futures::future::join_all(calls).await;
}

#[tokio::test]
async fn given_small_and_large_frames_queued_together_should_leave_in_the_order_sent() {
    // A plain socket reads what the client's writer put on the wire, frame by frame.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let sent: Vec<usize> = (0..96)
        .map(|i| if i % 3 == 1 { 16 * 1024 + i } else { i })
        .collect();
    let expected = sent.len();
    let reader = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut buf, mut arrived) = (BytesMut::new(), Vec::new());
        while arrived.len() < expected {
            while let Some(cmd) = decode_frame(&mut buf, &FrameLimits::default()).unwrap() {
                arrived.push(cmd.body.len());
            }
            if arrived.len() < expected {
                assert!(stream.read_buf(&mut buf).await.unwrap() > 0, "closed early");
            }
        }
        arrived
    });
    let client = client();
    for &size in &sent {
        let request = RemotingCommand::bare_request(ECHO).with_body(vec![7u8; size]);
        client.invoke_oneway(&addr, request, WAIT).await.unwrap();
    }
    let arrived = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();
    assert_eq!(arrived, sent);
}
