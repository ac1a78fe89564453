//! The remoting transport's TLS over real sockets with certificates made for the test: enforcing mode refuses
//! plaintext and serves TLS clients, permissive mode serves both on one port, a server a
//! client does not trust is refused, and required client certificates are enforced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{
    BoxFuture, ClientAuth, ClientTls, Connection, Dispatcher, RemotingClient, RemotingServer,
    RequestProcessor, ServerHandle, ServerTls, ServerTlsFiles, TlsMode, TransportConfig,
};
use apogee_runtime::Shutdown;
use apogee_testkit::TestPki;

const WAIT: Duration = Duration::from_secs(5);
const ECHO: RequestCode = RequestCode(9001);

struct Echo;

impl RequestProcessor for Echo {
    fn process(&self, _c: Connection, request: RemotingCommand) -> BoxFuture<RemotingCommand> {
        Box::pin(async move {
            RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
                .with_body(request.body.clone())
        })
    }
}

fn server_files(pki: &TestPki, client_auth: ClientAuth) -> ServerTlsFiles {
    ServerTlsFiles {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        client_auth,
        trust: Some(pki.path("ca.pem")),
    }
}

async fn serve(mode: TlsMode, files: &ServerTlsFiles) -> (ServerHandle, String) {
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(&[ECHO], Arc::new(Echo));
    let tls = ServerTls::new(mode, Some(files)).unwrap();
    let server = RemotingServer::bind_with_tls(
        "127.0.0.1:0",
        dispatcher,
        TransportConfig::default(),
        tls,
        &Shutdown::new(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().to_string();
    (server, addr)
}

fn client(tls: Option<ClientTls>) -> RemotingClient {
    RemotingClient::with_tls(Dispatcher::new(), TransportConfig::default(), tls)
}

fn trusting(pki: &TestPki, identity: Option<(&Path, &Path)>) -> Option<ClientTls> {
    Some(ClientTls::new(Some(&pki.path("ca.pem")), identity).unwrap())
}

async fn echo(client: &RemotingClient, addr: &str) -> Result<String, String> {
    let request = RemotingCommand::bare_request(ECHO).with_body(b"over tls".to_vec());
    let response = client
        .invoke(addr, request, WAIT)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
    Ok(String::from_utf8(response.body.to_vec()).unwrap())
}

#[tokio::test]
async fn given_enforcing_mode_should_refuse_plaintext_and_serve_tls_clients() {
    let pki = TestPki::new();
    let (_server, addr) = serve(TlsMode::Enforcing, &server_files(&pki, ClientAuth::None)).await;
    assert!(
        echo(&client(None), &addr).await.is_err(),
        "plaintext was served"
    );
    assert_eq!(
        echo(&client(trusting(&pki, None)), &addr).await.unwrap(),
        "over tls"
    );
    // RocketMQ's test mode: encryption without checking the server.
    let test_mode = Some(ClientTls::new(None, None).unwrap());
    assert_eq!(echo(&client(test_mode), &addr).await.unwrap(), "over tls");
}

#[tokio::test]
async fn given_permissive_mode_should_serve_plaintext_and_tls_on_one_port() {
    let pki = TestPki::new();
    let (_server, addr) = serve(TlsMode::Permissive, &server_files(&pki, ClientAuth::None)).await;
    assert_eq!(echo(&client(None), &addr).await.unwrap(), "over tls");
    assert_eq!(
        echo(&client(trusting(&pki, None)), &addr).await.unwrap(),
        "over tls"
    );
}

#[tokio::test]
async fn given_an_untrusted_server_or_a_missing_client_certificate_should_refuse_the_handshake() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let (_server, addr) = serve(TlsMode::Enforcing, &server_files(&pki, ClientAuth::Require)).await;
    let err = echo(&client(trusting(&other, None)), &addr)
        .await
        .unwrap_err();
    assert!(err.contains("TLS handshake failed"), "{err}");
    assert!(
        echo(&client(trusting(&pki, None)), &addr).await.is_err(),
        "no client cert"
    );
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let with_identity = trusting(&pki, Some((&cert, &key)));
    assert_eq!(
        echo(&client(with_identity), &addr).await.unwrap(),
        "over tls"
    );
}

#[test]
fn given_bad_settings_should_name_what_is_wrong() {
    assert!(TlsMode::parse("sometimes").is_err());
    assert_eq!(TlsMode::parse("ENFORCING"), Ok(TlsMode::Enforcing));
    let missing = ServerTlsFiles {
        cert: PathBuf::from("/nonexistent/cert.pem"),
        key: PathBuf::from("/nonexistent/key.pem"),
        client_auth: ClientAuth::None,
        trust: None,
    };
    let err = ServerTls::new(TlsMode::Enforcing, Some(&missing)).unwrap_err();
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    assert!(ServerTls::new(TlsMode::Permissive, None).is_err());
}
