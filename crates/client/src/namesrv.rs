//! NameServer addresses: a fixed list or an HTTP address endpoint, and which one to ask.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{NameServerSource, split_addrs};
use crate::{ClientError, Result};

/// The current NameServer list and the index of the one in use. A call that fails moves on
/// to the next address (Java sticks to one NameServer until it fails, too).
#[derive(Debug)]
pub(crate) struct NameServers {
    source: NameServerSource,
    state: Mutex<(Vec<String>, usize)>,
}

impl NameServers {
    pub(crate) fn new(source: NameServerSource) -> Self {
        let list = match &source {
            NameServerSource::List(list) => list.clone(),
            NameServerSource::Http(_) => Vec::new(),
        };
        Self {
            source,
            state: Mutex::new((list, 0)),
        }
    }

    pub(crate) fn addrs(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Addresses to try, starting with the one that last worked.
    pub(crate) fn in_order(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (list, current) = (&state.0, state.1);
        (0..list.len())
            .map(|i| list[(current + i) % list.len()].clone())
            .collect()
    }

    pub(crate) fn mark_good(&self, addr: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = state.0.iter().position(|a| a == addr) {
            state.1 = i;
        }
    }

    /// Re-reads the HTTP endpoint, if that is the source. Keeps the old list on failure.
    pub(crate) async fn refresh(&self, timeout: Duration) -> Result<()> {
        let NameServerSource::Http(url) = &self.source else {
            return Ok(());
        };
        let body = http_get(url, timeout).await?;
        let list = split_addrs(body.trim());
        if list.is_empty() {
            return Err(ClientError::NoNameServer(format!(
                "the address endpoint {url} returned no address"
            )));
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 != list {
            tracing::info!(?list, "NameServer list changed");
            *state = (list, 0);
        }
        Ok(())
    }

    pub(crate) fn is_http(&self) -> bool {
        matches!(self.source, NameServerSource::Http(_))
    }
}

/// A plain-HTTP GET of `http://host:port/path` returning the body. The address endpoint
/// protocol is one small text body over plain HTTP, so a minimal HTTP/1.0 exchange serves it
/// (no TLS, redirects or chunking — the server closes the connection after the body).
pub(crate) async fn http_get(url: &str, timeout: Duration) -> Result<String> {
    let fail = |reason: String| ClientError::NoNameServer(format!("GET {url}: {reason}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail("only http:// URLs are supported".into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority_with_port = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(&authority_with_port)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: text/plain\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mut response = Vec::new();
        stream
            .take(1 << 20)
            .read_to_end(&mut response)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok::<_, ClientError>(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| fail(format!("no answer within {timeout:?}")))??;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail("malformed HTTP response".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(fail(format!("HTTP status {status}")));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_list_should_rotate_from_the_last_good_address() {
        let servers = NameServers::new(NameServerSource::List(vec!["a:1".into(), "b:2".into()]));
        assert_eq!(servers.in_order(), ["a:1", "b:2"]);
        servers.mark_good("b:2");
        assert_eq!(servers.in_order(), ["b:2", "a:1"]);
    }

    #[tokio::test]
    async fn given_address_endpoint_should_fetch_the_list() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(
                b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n10.0.0.1:9876;10.0.0.2:9876\n",
            )
            .await
            .unwrap();
        });
        let servers = NameServers::new(NameServerSource::Http(format!(
            "http://127.0.0.1:{port}/rocketmq/nsaddr"
        )));
        servers.refresh(Duration::from_secs(5)).await.unwrap();
        assert_eq!(servers.addrs(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
        assert!(
            http_get("https://x/", Duration::from_secs(1))
                .await
                .is_err()
        );
    }
}
