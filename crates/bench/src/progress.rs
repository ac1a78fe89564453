//! The live view: a progress bar (count runs) or spinner (duration runs) on stderr, redrawn
//! four times a second from the run's [`Counters`] with the rate of the last interval.
//! Hidden unless asked for; the CLI asks only when stderr is a terminal and `--quiet` is off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::stats::Counters;

const TICK: Duration = Duration::from_millis(250);

/// Which counter the bar follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    Sent,
    Received,
    /// e2e: the bar follows received messages, the text shows both.
    Both,
}

/// A running progress display; [`Progress::finish`] clears it.
pub(crate) struct Progress {
    bar: ProgressBar,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts redrawing; `total` messages make a bar, `None` a spinner.
    pub(crate) fn start(
        enabled: bool,
        total: Option<u64>,
        counters: Arc<Counters>,
        follow: Follow,
    ) -> Progress {
        if !enabled {
            return Progress {
                bar: ProgressBar::hidden(),
                task: None,
            };
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} msgs {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let view = bar.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(TICK);
            let mut last = (Instant::now(), 0u64, 0u64);
            loop {
                ticker.tick().await;
                let now = Instant::now();
                let (messages, bytes) = totals(&counters, follow);
                let secs = now.duration_since(last.0).as_secs_f64().max(1e-3);
                let rate = messages.saturating_sub(last.1) as f64 / secs;
                let mb = bytes.saturating_sub(last.2) as f64 / secs / 1e6;
                view.set_position(messages);
                view.set_message(status(&counters, follow, rate, mb));
                last = (now, messages, bytes);
            }
        });
        Progress {
            bar,
            task: Some(task),
        }
    }

    pub(crate) fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        self.bar.finish_and_clear();
    }
}

fn totals(c: &Counters, follow: Follow) -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    match follow {
        Follow::Sent => (c.sent.load(Relaxed), c.sent_bytes.load(Relaxed)),
        Follow::Received | Follow::Both => {
            (c.received.load(Relaxed), c.received_bytes.load(Relaxed))
        }
    }
}

fn status(c: &Counters, follow: Follow, rate: f64, mb: f64) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let errors = c.errors.load(Relaxed);
    let mut text = format!("{rate:.0} msg/s {mb:.2} MB/s");
    if follow == Follow::Both {
        text = format!("received, {} sent; {text}", c.sent.load(Relaxed));
    }
    if errors > 0 {
        text.push_str(&format!(", {errors} errors"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_counters_should_describe_rate_and_errors() {
        let c = Counters::default();
        c.add_sent(10, 100);
        c.add_received(4, 40);
        assert_eq!(
            status(&c, Follow::Sent, 1234.4, 1.5),
            "1234 msg/s 1.50 MB/s"
        );
        c.add_errors(2);
        assert_eq!(
            status(&c, Follow::Both, 10.0, 0.0),
            "received, 10 sent; 10 msg/s 0.00 MB/s, 2 errors"
        );
        assert_eq!(totals(&c, Follow::Received), (4, 40));
        assert_eq!(totals(&c, Follow::Sent), (10, 100));
    }

    #[tokio::test]
    async fn given_disabled_progress_should_start_and_finish_without_drawing() {
        let p = Progress::start(false, Some(10), Arc::new(Counters::default()), Follow::Sent);
        assert!(p.bar.is_hidden());
        p.finish();
    }
}
