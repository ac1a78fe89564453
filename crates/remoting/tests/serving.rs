//! Requests served inside the connection's reader task, over real sockets: a request beyond the
//! in-flight limit waits for a slot, a panicking hook loses only its own request, and the
//! requests accepted before the peer went away still run to their end, and the requests of
//! one pass know whether more of it follow, with the pass-end hook run after them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::frame::{decode_frame, encode_frame};
use apogee_protocol::{FrameLimits, RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{
    BoxFuture, Connection, Dispatcher, RemotingClient, RemotingServer, RequestProcessor,
    ServerHandle, TransportConfig,
};
use apogee_runtime::Shutdown;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(5);
const ECHO: RequestCode = RequestCode(9101);
const GATE: RequestCode = RequestCode(9102);
const HOOK_PANIC: RequestCode = RequestCode(9103);

/// GATE requests wait for `open` (keeping their in-flight slot); everything is answered SUCCESS.
#[derive(Default)]
struct Gates {
    entered: Notify,
    open: Notify,
    finished: Notify,
}

struct GateProcessor(Arc<Gates>);

impl RequestProcessor for GateProcessor {
    fn process(
        &self,
        _connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let gates = Arc::clone(&self.0);
        Box::pin(async move {
            if request.request_code() == GATE {
                let open = gates.open.notified();
                gates.entered.notify_one();
                open.await;
                gates.finished.notify_one();
            }
            RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
        })
    }
}

async fn start(gates: &Arc<Gates>, config: TransportConfig, closed: Arc<Notify>) -> ServerHandle {
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[ECHO, GATE, HOOK_PANIC],
        Arc::new(GateProcessor(Arc::clone(gates))),
    );
    dispatcher.observe(Arc::new(|code, _, _, _| {
        assert_ne!(code, HOOK_PANIC, "observer bug");
    }));
    dispatcher.on_close(move |_| closed.notify_one());
    RemotingServer::bind("127.0.0.1:0", dispatcher, config, &Shutdown::new())
        .await
        .unwrap()
}

fn frame(code: RequestCode, opaque: i32) -> BytesMut {
    let mut request = RemotingCommand::bare_request(code);
    request.opaque = opaque;
    encode_frame(&request, &FrameLimits::default()).unwrap()
}

async fn read_response(stream: &mut TcpStream, buf: &mut BytesMut) -> RemotingCommand {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(cmd) = decode_frame(buf, &FrameLimits::default()).unwrap() {
                return cmd;
            }
            assert_ne!(stream.read_buf(buf).await.unwrap(), 0, "server closed");
        }
    })
    .await
    .expect("no response in time")
}

/// A server with `config`, and a connection that sent a GATE request (now waiting at its gate)
/// and an ECHO request in one write.
async fn gate_then_echo(gates: &Arc<Gates>, config: TransportConfig) -> (ServerHandle, TcpStream) {
    let server = start(gates, config, Arc::new(Notify::new())).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut both = frame(GATE, 1);
    both.extend_from_slice(&frame(ECHO, 2));
    stream.write_all(&both).await.unwrap();
    tokio::time::timeout(WAIT, gates.entered.notified())
        .await
        .unwrap();
    (server, stream)
}

#[tokio::test]
async fn given_one_slot_taken_when_a_second_request_arrives_should_serve_it_after_the_first() {
    let gates = Arc::new(Gates::default());
    let config = TransportConfig {
        in_flight_requests_max: 1,
        ..TransportConfig::default()
    };
    let (_server, mut stream) = gate_then_echo(&gates, config).await;
    gates.open.notify_one();
    let mut buf = BytesMut::new();
    let first = read_response(&mut stream, &mut buf).await;
    let second = read_response(&mut stream, &mut buf).await;
    assert_eq!(
        (first.opaque, second.opaque),
        (1, 2),
        "the second request waited for the only slot"
    );
    assert_eq!(second.response_code(), ResponseCode::SUCCESS);
}

#[tokio::test]
async fn given_a_hook_that_panics_should_lose_only_that_request_and_keep_serving() {
    let gates = Arc::new(Gates::default());
    let server = start(&gates, TransportConfig::default(), Arc::new(Notify::new())).await;
    let addr = server.local_addr().to_string();
    let client = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    client
        .invoke_oneway(&addr, RemotingCommand::bare_request(HOOK_PANIC), WAIT)
        .await
        .unwrap();
    for _ in 0..3 {
        let echo = client
            .invoke(&addr, RemotingCommand::bare_request(ECHO), WAIT)
            .await
            .unwrap();
        assert_eq!(echo.response_code(), ResponseCode::SUCCESS);
    }
}

#[tokio::test]
async fn given_requests_in_flight_when_the_peer_goes_away_should_still_run_them_to_their_end() {
    let gates = Arc::new(Gates::default());
    let closed = Arc::new(Notify::new());
    let server = start(&gates, TransportConfig::default(), Arc::clone(&closed)).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let closing = closed.notified();
    stream.write_all(&frame(GATE, 1)).await.unwrap();
    tokio::time::timeout(WAIT, gates.entered.notified())
        .await
        .unwrap();
    drop(stream);
    tokio::time::timeout(WAIT, closing).await.unwrap();
    gates.open.notify_one();
    tokio::time::timeout(WAIT, gates.finished.notified())
        .await
        .expect("the accepted request was dropped with its connection");
}

#[tokio::test]
async fn given_reading_waited_for_a_slot_longer_than_the_idle_timeout_should_not_close_the_connection()
 {
    let gates = Arc::new(Gates::default());
    let config = TransportConfig {
        in_flight_requests_max: 1,
        idle_timeout: Duration::from_millis(200),
        ..TransportConfig::default()
    };
    let (_server, mut stream) = gate_then_echo(&gates, config).await;
    // The second request waits for the only slot for more than the idle timeout; reading
    // waits with it, and that is not the peer being idle. Time has to pass here: nothing
    // is asserted about it, only that both requests are answered afterwards.
    tokio::time::sleep(Duration::from_millis(500)).await;
    gates.open.notify_one();
    let mut buf = BytesMut::new();
    let first = read_response(&mut stream, &mut buf).await;
    let second = read_response(&mut stream, &mut buf).await;
    assert_eq!((first.opaque, second.opaque), (1, 2));
}

const NOTE: RequestCode = RequestCode(9104);

/// Records, for each NOTE request, whether more requests of its pass were still to be served.
struct Noting(Arc<std::sync::Mutex<Vec<String>>>);

impl RequestProcessor for Noting {
    fn process(
        &self,
        _connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let follow = apogee_remoting::more_requests_follow();
        self.0
            .lock()
            .unwrap()
            .push(format!("{}:{follow}", request.opaque));
        Box::pin(async move { RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None) })
    }
}

/// Sends NOTE requests 1..=`count` in one TCP write to a server with the NOTE processor (and a
/// pass-end hook noting "end", if `pass_end`); returns what was noted once all are answered.
async fn note_one_write(count: i32, pass_end: bool) -> Vec<String> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(&[NOTE], Arc::new(Noting(Arc::clone(&seen))));
    if pass_end {
        let ended = Arc::clone(&seen);
        dispatcher.on_pass_end(Arc::new(move || ended.lock().unwrap().push("end".into())));
    }
    let config = TransportConfig::default();
    let server = RemotingServer::bind("127.0.0.1:0", dispatcher, config, &Shutdown::new())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut frames = BytesMut::new();
    for opaque in 1..=count {
        frames.extend_from_slice(&frame(NOTE, opaque));
    }
    stream.write_all(&frames).await.unwrap();
    let mut buf = BytesMut::new();
    for _ in 0..count {
        read_response(&mut stream, &mut buf).await;
    }

    seen.lock().unwrap().clone()
}

#[tokio::test]
async fn given_requests_read_in_one_pass_should_say_which_are_followed_and_end_the_pass_after_them()
{
    let seen = note_one_write(3, true).await;
    // The three frames may arrive in more than one read; each pass ends with its last.
    let mut expected = Vec::new();
    let mut pass = Vec::new();
    for entry in &seen {
        if entry == "end" {
            let last = pass.len();
            for (i, opaque) in pass.drain(..).enumerate() {
                expected.push(format!("{opaque}:{}", i + 1 < last));
            }
            expected.push("end".to_owned());
        } else {
            pass.push(entry.split(':').next().unwrap().to_owned());
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn given_no_pass_end_hook_should_never_say_requests_follow() {
    assert_eq!(note_one_write(2, false).await, vec!["1:false", "2:false"]);
}
