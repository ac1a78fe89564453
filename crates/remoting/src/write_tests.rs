use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::prelude::*;
use tokio::io::AsyncWrite;

use super::write_all_vectored;

/// A stream that takes at most the next of `limits` bytes per call (0 = a full stream that
/// wakes itself: the call is pending once), across as many slices as that covers.
struct Trickle {
    out: Vec<u8>,
    limits: Vec<usize>,
    calls: usize,
    vectored: bool,
}

impl Trickle {
    fn limit(&mut self) -> usize {
        let limit = self.limits[self.calls % self.limits.len()];
        self.calls += 1;
        limit
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let mut room = self.limit();
        if room == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let taken = if self.vectored {
            bufs
        } else {
            &bufs[..bufs.len().min(1)]
        };
        let mut wrote = 0;
        for buf in taken {
            let n = buf.len().min(room);
            self.out.extend_from_slice(&buf[..n]);
            wrote += n;
            room -= n;
            if room == 0 {
                break;
            }
        }
        Poll::Ready(Ok(wrote))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

proptest! {
    #[test]
    fn given_partial_writes_should_write_every_part_in_order(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..5),
        limits in proptest::collection::vec(0usize..97, 1..8),
        vectored in any::<bool>(),
    ) {
        // At least one call makes progress, or the stream would never take anything.
        let mut limits = limits;
        limits.push(1);
        let mut stream = Trickle { out: Vec::new(), limits, calls: 0, vectored };
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        run(write_all_vectored(&mut stream, &mut slices)).expect("written");
        prop_assert_eq!(stream.out, parts.concat());
    }
}

#[test]
fn given_a_stream_that_takes_nothing_should_fail_with_write_zero() {
    // A cursor over a full (empty) slice accepts 0 bytes per write.
    let mut full = std::io::Cursor::new(&mut [][..]);
    let err = run(write_all_vectored(&mut full, &mut [IoSlice::new(b"head")]))
        .expect_err("nothing was taken");
    assert_eq!(err.kind(), std::io::ErrorKind::WriteZero);
    run(write_all_vectored(&mut full, &mut [IoSlice::new(b"")])).expect("nothing to write");
}
