//! Request/response round trips over loopback TCP: `size` bytes out, a 16-byte answer back,
//! one request outstanding per connection. The ceiling for acknowledged *sync* sends with as
//! many callers as connections; what third-party client comparisons divide by. The echo
//! server runs on its own runtime, sized as the broker's, so its CPU per round trip (a frame
//! read, a frame written, nothing else) is the floor for a broker's CPU per sync send.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::thread_cpu::threads_cpu_micros;

/// Bytes of each answer (about a send's acknowledgement frame without its header).
const ANSWER_BYTES: usize = 16;
/// The echo server's worker threads' name (their CPU time is read by it).
const SERVER_THREADS: &str = "apogee-raw-echo";

/// What [`round_trips`] measured.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrips {
    /// Round trips per second.
    pub rate: f64,
    /// The echo server's CPU time per round trip, in µs (`None` where `/proc` cannot say).
    pub server_cpu_us: Option<f64>,
}

/// `total` round trips of `size` bytes over `connections` loopback connections at once.
pub async fn round_trips(
    total: usize,
    connections: usize,
    size: usize,
) -> std::io::Result<RoundTrips> {
    let connections = connections.max(1);
    let server = Background(Some(
        tokio::runtime::Builder::new_multi_thread()
            .thread_name(SERVER_THREADS)
            .enable_io()
            .build()?,
    ));
    let server = server.0.as_ref().expect("set above");
    let listener = {
        let _entered = server.enter();
        tokio::net::TcpListener::from_std(bind()?)?
    };
    let addr = listener.local_addr()?;
    let answer = ANSWER_BYTES.min(size);
    server.spawn(async move {
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
    let cpu_before = threads_cpu_micros(SERVER_THREADS);
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
    let elapsed = started.elapsed();
    let cpu_after = threads_cpu_micros(SERVER_THREADS);
    let done = total / connections * connections;
    outcome.map(|()| RoundTrips {
        rate: done as f64 / elapsed.as_secs_f64(),
        server_cpu_us: cpu_before
            .zip(cpu_after)
            .filter(|_| done > 0)
            .map(|(before, after)| after.saturating_sub(before) as f64 / done as f64),
    })
}

/// The echo server's runtime, shut down without waiting when dropped (dropping a runtime
/// inside another one's task would panic).
struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn bind() -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_round_trips_should_complete_them_all_and_report_a_rate_and_the_servers_cpu() {
        let measured = round_trips(2_000, 4, 1024).await.unwrap();
        assert!(
            measured.rate.is_finite() && measured.rate > 0.0,
            "{measured:?}"
        );
        if cfg!(target_os = "linux") {
            let cpu = measured.server_cpu_us.expect("linux has /proc");
            assert!(cpu.is_finite() && cpu >= 0.0, "{measured:?}");
        }
    }
}
