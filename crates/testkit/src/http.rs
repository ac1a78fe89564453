//! A minimal HTTP/1.1 client for tests of the HTTP endpoints (management API, metrics): one
//! request per connection (`Connection: close`), the whole answer read, bounded by a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer: status code, headers as sent (lowercase names), body.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}, body is not JSON ({e}): {}",
                self.status, self.body
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `method path` (path with its query string) with an optional JSON body.
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> HttpReply {
    let fut = async {
        let mut socket = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let body = body.unwrap_or("");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.expect("writes");
        socket.write_all(body.as_bytes()).await.expect("writes");
        let mut raw = Vec::new();
        socket.read_to_end(&mut raw).await.expect("reads");
        parse(&String::from_utf8_lossy(&raw))
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("the server answers within 30 s")
}

fn parse(raw: &str) -> HttpReply {
    let (head, rest) = raw.split_once("\r\n\r\n").expect("a complete HTTP answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        unchunk(rest)
    } else {
        rest.to_owned()
    };
    HttpReply {
        status,
        headers,
        body,
    }
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}
