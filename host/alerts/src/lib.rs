//! The fleet's alerts: Telegram, a Discord webhook and a generic JSON webhook, fed from the
//! fleet's event hub per the `[fleet.alerts.events]` settings, through one bounded
//! delivery queue per channel that never blocks the fleet and honours each API's 429
//! `retry_after`. Telegram also takes commands (`/status`, `/halt`, `/pause BOT`, ...) from
//! the configured chat. Every delivery and failure is recorded in the ledger
//! (`alert_sent`, `alert_failed`, `alert_dropped`), published as an alert event and counted
//! in `flotilla_alerts_total`.
//!
//! Secrets (the token, webhook URLs) come only from environment variables and never appear
//! in errors, records, logs or `Debug` output.

pub mod alert;
mod channel;
mod commands;
pub mod format;
mod queue;

#[cfg(feature = "fake")]
pub mod fake;

pub use alert::{Alert, Severity, alert_for};

use channel::{Secret, Target};
use flotilla_config::AlertsConfig;
use flotilla_telemetry::{EventData, FleetPort};
use queue::{Queue, Shared};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Why the alerts did not start. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// A configured channel's environment variable is not set (or empty).
    #[error("{channel} alerts: environment variable {var} is not set (it holds the {what})")]
    MissingEnv {
        /// `telegram`, `discord` or `webhook`.
        channel: &'static str,
        /// The variable's name.
        var: String,
        /// What it should hold.
        what: &'static str,
    },
    /// A variable holds something unusable (its value is not shown: it is a secret).
    #[error("{channel} alerts: environment variable {var} {why}")]
    BadEnv {
        /// `telegram`, `discord` or `webhook`.
        channel: &'static str,
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `start` was called outside a tokio runtime.
    #[error("alerts need a tokio runtime to run on: {0}")]
    NoRuntime(String),
    /// The HTTP client could not be built.
    #[error("alerts: HTTP client: {0}")]
    Client(String),
}

/// Timeout of one delivery request (connecting included).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The running alert channels. Dropping it stops them (alerts still queued are lost).
pub struct Alerts {
    queues: Vec<Arc<Queue>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channels: Vec<&str> = self.channels();
        f.debug_struct("Alerts")
            .field("channels", &channels)
            .finish()
    }
}

impl Alerts {
    /// The channels running (`telegram`, `discord`, `webhook`).
    pub fn channels(&self) -> Vec<&'static str> {
        self.queues.iter().map(|q| q.target.name()).collect()
    }

    /// Alerts a channel dropped because its queue was full (0 for a channel not running).
    pub fn dropped(&self, channel: &str) -> u64 {
        self.queue(channel).map_or(0, |q| q.dropped())
    }

    /// Alerts waiting in a channel's queue now.
    pub fn queued(&self, channel: &str) -> usize {
        self.queue(channel).map_or(0, |q| q.len())
    }

    /// Queues an alert on every channel (never waits), e.g. a notice of the binary's own.
    pub fn send(&self, alert: Alert) {
        for q in &self.queues {
            q.push(alert.clone());
        }
    }

    /// Stops every task now.
    pub fn stop(self) {}

    fn queue(&self, channel: &str) -> Option<&Arc<Queue>> {
        self.queues.iter().find(|q| q.target.name() == channel)
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn secret(
    env: &dyn Fn(&str) -> Option<String>,
    channel: &'static str,
    var: &str,
    what: &'static str,
) -> Result<Secret, AlertsError> {
    match env(var).map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => Ok(Secret(v)),
        _ => Err(AlertsError::MissingEnv {
            channel,
            var: var.into(),
            what,
        }),
    }
}

fn url_secret(
    env: &dyn Fn(&str) -> Option<String>,
    channel: &'static str,
    var: &str,
) -> Result<Secret, AlertsError> {
    let s = secret(env, channel, var, "webhook URL")?;
    // Plain http only to this machine (a fake, a local relay): the URL is a secret.
    let ok = reqwest::Url::parse(&s.0).is_ok_and(|u| match u.scheme() {
        "https" => u.host().is_some(),
        "http" => matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")),
        _ => false,
    });
    if !ok {
        let why = "does not hold an https:// URL (or http:// on a loopback host)";
        return Err(AlertsError::BadEnv {
            channel,
            var: var.into(),
            why,
        });
    }
    Ok(s)
}

/// Starts the configured channels on the current tokio runtime: a dispatcher that turns
/// the fleet's events into alerts, one delivery task per channel and, with Telegram
/// commands on, the `getUpdates` poller. Reads secrets through `env` (pass
/// `&|k| std::env::var(k).ok()`). With no channel configured it starts nothing.
pub fn start(
    cfg: &AlertsConfig,
    port: Arc<dyn FleetPort>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Alerts, AlertsError> {
    // Every secret first, so a bad setting fails before anything runs.
    let mut targets = Vec::new();
    let mut telegram = None;
    if let Some(t) = &cfg.telegram {
        let token = secret(env, "telegram", &t.token_env, "bot token")?;
        if token.0.contains(['/', '?', '#', ' ']) {
            let why = "does not hold a bot token (123456:ABC...)";
            return Err(AlertsError::BadEnv {
                channel: "telegram",
                var: t.token_env.clone(),
                why,
            });
        }
        let base = t.api_url.trim_end_matches('/').to_string();
        telegram = Some((
            base.clone(),
            token.clone(),
            t.chat_id.trim().to_string(),
            t.commands,
        ));
        targets.push(Target::Telegram {
            base,
            token,
            chat_id: t.chat_id.trim().to_string(),
        });
    }
    if let Some(d) = &cfg.discord {
        targets.push(Target::Discord {
            url: url_secret(env, "discord", &d.webhook_env)?,
        });
    }
    if let Some(w) = &cfg.webhook {
        targets.push(Target::Webhook {
            url: url_secret(env, "webhook", &w.url_env)?,
        });
    }
    let rt =
        tokio::runtime::Handle::try_current().map_err(|e| AlertsError::NoRuntime(e.to_string()))?;
    if targets.is_empty() {
        return Ok(Alerts {
            queues: Vec::new(),
            tasks: Vec::new(),
        });
    }
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("flotilla/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AlertsError::Client(e.without_url().to_string()))?;
    let shared = Arc::new(Shared {
        port: port.clone(),
        client,
        max_attempts: cfg.max_attempts.max(1),
        max_retry_after: Duration::from_secs(cfg.max_retry_after_s.max(1)),
    });
    let queues: Vec<Arc<Queue>> = targets
        .into_iter()
        .map(|t| Arc::new(Queue::new(t, cfg.queue, port.clone())))
        .collect();
    let mut tasks = Vec::new();
    for q in &queues {
        tasks.push(rt.spawn(queue::run(q.clone(), shared.clone())));
    }
    // Subscribed here, before returning, so no event published after `start` is missed.
    let rx = port.events().subscribe();
    tasks.push(rt.spawn(dispatch(
        rx,
        cfg.events.clone(),
        queues.clone(),
        port.clone(),
    )));
    if let Some((base, token, chat_id, true)) = telegram {
        let replies = queues
            .iter()
            .find(|q| q.target.name() == "telegram")
            .cloned();
        let poller = commands::Poller {
            base,
            token,
            chat_id,
            replies: replies.expect("the telegram queue exists"),
            shared: shared.clone(),
        };
        tasks.push(rt.spawn(poller.run()));
    }
    tracing::info!(channels = ?queues.iter().map(|q| q.target.name()).collect::<Vec<_>>(), "alerts started");
    Ok(Alerts { queues, tasks })
}

/// Turns hub events into alerts on every queue. A daily summary gets the fleet's snapshot.
async fn dispatch(
    mut rx: tokio::sync::broadcast::Receiver<Arc<flotilla_telemetry::FleetEvent>>,
    events: flotilla_config::AlertEvents,
    queues: Vec<Arc<Queue>>,
    port: Arc<dyn FleetPort>,
) {
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                // The hub outran us: those events are gone; say so rather than guess.
                let text =
                    format!("{n} fleet event(s) were missed by the alerts (too many at once)");
                tracing::warn!("{text}");
                let mut a = Alert::reply("Alerts fell behind", &text, port.now_ms());
                a.severity = Severity::Warning;
                a.event = "alerts_lagged".into();
                for q in &queues {
                    q.push(a.clone());
                }
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if matches!(ev.data, EventData::Alert { .. }) {
            continue;
        }
        let Some(mut alert) = alert_for(&ev, &events) else {
            continue;
        };
        if alert.event == "daily_summary" {
            let p = port.clone();
            if let Ok(snap) = tokio::task::spawn_blocking(move || p.snapshot()).await {
                let summary = alert::summary_text(&snap);
                alert.text = if alert.text.trim().is_empty() {
                    summary
                } else {
                    format!("{}\n\n{summary}", alert.text)
                };
            }
        }
        for q in &queues {
            q.push(alert.clone());
        }
    }
}
