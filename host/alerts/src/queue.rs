//! One delivery queue per channel: bounded, never blocks whoever pushes (the oldest alert
//! is dropped, counted and recorded when it is full), drained by one task that sends one
//! request at a time, so a channel's rate limit is honoured for everything sent to it.

use crate::alert::Alert;
use crate::channel::{Outcome, Target, backoff};
use crate::format::clip;
use flotilla_telemetry::metrics::ChannelLabels;
use flotilla_telemetry::{EventData, FleetPort};
use reqwest::Client;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What every channel's task shares.
pub(crate) struct Shared {
    pub(crate) port: Arc<dyn FleetPort>,
    pub(crate) client: Client,
    pub(crate) max_attempts: u32,
    pub(crate) max_retry_after: Duration,
}

/// A channel's waiting alerts.
pub(crate) struct Queue {
    pub(crate) target: Target,
    items: Mutex<VecDeque<Alert>>,
    cap: usize,
    ready: Notify,
    dropped: AtomicU64,
    unreported: AtomicU64,
    port: Arc<dyn FleetPort>,
}

impl Queue {
    /// An empty queue of at most `cap` alerts.
    pub(crate) fn new(target: Target, cap: usize, port: Arc<dyn FleetPort>) -> Self {
        Self {
            target,
            items: Mutex::new(VecDeque::with_capacity(cap.min(1024))),
            cap: cap.max(1),
            ready: Notify::new(),
            dropped: AtomicU64::new(0),
            unreported: AtomicU64::new(0),
            port,
        }
    }

    /// Queues an alert; never waits. A full queue drops its oldest alert (the newest news
    /// matters more), counted in the metrics at once and recorded by the channel's task.
    pub(crate) fn push(&self, alert: Alert) {
        let dropped = {
            let mut q = self.items.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = if q.len() >= self.cap {
                q.pop_front().is_some()
            } else {
                false
            };
            q.push_back(alert);
            dropped
        };
        if dropped {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.unreported.fetch_add(1, Ordering::Relaxed);
            count(&*self.port, self.target.name(), "dropped");
        }
        self.ready.notify_one();
    }

    /// Alerts dropped so far because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Alerts waiting now.
    pub(crate) fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn take(&self, n: usize) -> Vec<Alert> {
        let mut q = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let n = n.min(q.len());
        q.drain(..n).collect()
    }
}

fn count(port: &dyn FleetPort, channel: &str, result: &str) {
    let labels = ChannelLabels {
        channel: channel.into(),
        result: result.into(),
    };
    port.metrics().alerts.get_or_create(&labels).inc();
}

/// Records in the ledger (`kind`) and publishes an [`EventData::Alert`], off the async
/// threads (the ledger write may wait on its file).
pub(crate) async fn record(
    port: &Arc<dyn FleetPort>,
    channel: &'static str,
    kind: &'static str,
    bot: Option<String>,
    detail: String,
) {
    let port = port.clone();
    let job = move || {
        port.record(kind, bot.as_deref(), &format!("{channel}: {detail}"));
        let data = EventData::Alert {
            channel: channel.into(),
            delivered: kind == "alert_sent",
            detail,
        };
        port.events().publish(port.now_ms(), bot.as_deref(), data);
    };
    if let Err(e) = tokio::task::spawn_blocking(job).await {
        tracing::error!("recording an alert delivery failed: {e}");
    }
}

/// The channel's task: sends what is queued, oldest first, until aborted.
pub(crate) async fn run(q: Arc<Queue>, sh: Arc<Shared>) {
    loop {
        let batch = q.take(q.target.batch_max());
        if batch.is_empty() {
            q.ready.notified().await;
            continue;
        }
        let lost = q.unreported.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let detail = format!("{lost} alert(s) dropped: the delivery queue was full");
            tracing::warn!(channel = q.target.name(), "{detail}");
            record(&sh.port, q.target.name(), "alert_dropped", None, detail).await;
        }
        deliver(&q.target, &sh, batch).await;
    }
}

/// Delivers one batch: a 429 waits its `retry_after` (clamped), a 5xx or a timeout backs
/// off exponentially, both up to `max_attempts` in all; any other refusal is final.
async fn deliver(t: &Target, sh: &Shared, batch: Vec<Alert>) {
    let channel = t.name();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let (wait, why) = match t.send(&sh.client, &batch).await {
            Outcome::Delivered => {
                for a in batch {
                    count(&*sh.port, channel, "delivered");
                    let detail = clip(&a.title, 300);
                    record(&sh.port, channel, "alert_sent", a.bot, detail).await;
                }
                return;
            }
            Outcome::Permanent(why) => return fail(sh, channel, batch, why).await,
            Outcome::RetryAfter(d, why) => {
                let d = d.min(sh.max_retry_after);
                (d, format!("{why} (retry after {:.3} s)", d.as_secs_f64()))
            }
            Outcome::Transient(why) => (backoff(attempt), why),
        };
        if attempt >= sh.max_attempts {
            let why = format!("gave up after {attempt} attempt(s): {why}");
            return fail(sh, channel, batch, why).await;
        }
        count(&*sh.port, channel, "retried");
        tracing::warn!(
            channel,
            attempt,
            "alert not delivered: {why}; next try in {wait:?}"
        );
        tokio::time::sleep(wait).await;
    }
}

async fn fail(sh: &Shared, channel: &'static str, batch: Vec<Alert>, why: String) {
    tracing::warn!(channel, "alert not delivered: {why}");
    for a in batch {
        count(&*sh.port, channel, "failed");
        let detail = format!("{}: {why}", clip(&a.title, 300));
        record(&sh.port, channel, "alert_failed", a.bot, detail).await;
    }
}
