//! Request/response round trips over loopback TCP: `size` bytes out, a 16-byte answer back,
//! one request outstanding per connection. The ceiling for acknowledged *sync* sends with as
//! many callers as connections; what third-party client comparisons divide by.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes of each answer (about a send's acknowledgement frame without its header).
const ANSWER_BYTES: usize = 16;

/// `total` round trips of `size` bytes over `connections` loopback connections at once;
/// returns round trips per second.
pub async fn round_trips(total: usize, connections: usize, size: usize) -> std::io::Result<f64> {
    let connections = connections.max(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let answer = ANSWER_BYTES.min(size);
    let server = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; size];
                while s.read_exact(&mut buf).await.is_ok() {
                    if s.write_all(&buf[..answer]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                let (out, mut back) = (vec![7u8; size], vec![0u8; answer]);
                for _ in 0..total / connections {
                    s.write_all(&out).await?;
                    s.read_exact(&mut back).await?;
                }
                Ok::<(), std::io::Error>(())
            })
        })
        .collect();
    let mut outcome = Ok(());
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => outcome = Err(e),
            Err(e) => outcome = Err(std::io::Error::other(e)),
        }
    }
    server.abort();
    outcome.map(|()| (total / connections * connections) as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_round_trips_should_complete_them_all_and_report_a_rate() {
        let rate = round_trips(2_000, 4, 1024).await.unwrap();
        assert!(rate.is_finite() && rate > 0.0, "{rate}");
    }
}
