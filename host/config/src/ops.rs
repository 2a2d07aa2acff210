//! `[fleet.api]` and `[fleet.alerts]`: the operator's surface (HTTP API, dashboard,
//! metrics) and the alert channels. Plain settings; the web server and the channels live
//! in their own crates.

use serde::Deserialize;

/// `[fleet.api]`: the HTTP API, dashboard and `/metrics` that `flotilla run` serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Serve HTTP at all (default true).
    pub enabled: bool,
    /// Address and port to listen on (default `127.0.0.1:8787`; port 0 picks a free one).
    /// `flotilla run --api-listen` overrides it.
    pub listen: String,
    /// Allow a non-loopback `listen` address (default false): the API then faces a network,
    /// so it must be set on purpose.
    pub allow_non_loopback: bool,
    /// Origins allowed by CORS, e.g. `["https://ops.example.com"]` (default none: CORS off).
    /// `*` is refused.
    pub cors_origins: Vec<String>,
    /// File of named bearer tokens, one `name token` per line (default: `<ledger>.tokens`
    /// beside the ledger, created with one token named `admin`, mode 0600, at first start).
    pub token_file: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8787".into(),
            allow_non_loopback: false,
            cors_origins: Vec::new(),
            token_file: None,
        }
    }
}

/// On, silent (delivered without a notification sound) or off, per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    /// Delivered with a notification.
    #[default]
    On,
    /// Delivered quietly.
    Silent,
    /// Not delivered.
    Off,
}

/// `[fleet.alerts.events]`: which events alert, and how (each defaults to `on`, but the
/// fills, which default to `silent`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertEvents {
    /// Entry fills (default `silent`).
    pub entry_fill: AlertLevel,
    /// Exit fills (default `silent`).
    pub exit_fill: AlertLevel,
    /// Host-managed exits sent: stop, target, trail, scale-out.
    pub host_exit: AlertLevel,
    /// Trading-state changes: halt, reduce, resume, daily-loss halt.
    pub trading_state: AlertLevel,
    /// A bot quarantined or recovered.
    pub quarantine: AlertLevel,
    /// A reload that failed.
    pub reload_failed: AlertLevel,
    /// The live feed went stale (and fresh again).
    pub stale_feed: AlertLevel,
    /// Reconciliation found a difference with the venue.
    pub reconcile: AlertLevel,
    /// A summary of the day at the session reset.
    pub daily_summary: AlertLevel,
}

impl Default for AlertEvents {
    fn default() -> Self {
        Self {
            entry_fill: AlertLevel::Silent,
            exit_fill: AlertLevel::Silent,
            host_exit: AlertLevel::On,
            trading_state: AlertLevel::On,
            quarantine: AlertLevel::On,
            reload_failed: AlertLevel::On,
            stale_feed: AlertLevel::On,
            reconcile: AlertLevel::On,
            daily_summary: AlertLevel::On,
        }
    }
}

/// `[fleet.alerts.telegram]`: messages to one chat, and commands from it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The chat messages go to, and the only chat commands are accepted from (required).
    pub chat_id: String,
    /// Environment variable holding the bot token (default `FLOTILLA_TELEGRAM_TOKEN`).
    #[serde(default = "default_telegram_env")]
    pub token_env: String,
    /// Bot API base URL (default `https://api.telegram.org`; a loopback `http://` URL for
    /// a rehearsal against a fake).
    #[serde(default = "default_telegram_url")]
    pub api_url: String,
    /// Accept `/status`, `/positions`, `/halt`, `/reduce`, `/resume`, `/pause BOT` from the
    /// chat through `getUpdates` long polling (default true).
    #[serde(default = "yes")]
    pub commands: bool,
}

/// `[fleet.alerts.discord]`: a Discord webhook, with embeds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Environment variable holding the webhook URL, a secret (default
    /// `FLOTILLA_DISCORD_WEBHOOK`).
    #[serde(default = "default_discord_env")]
    pub webhook_env: String,
}

/// `[fleet.alerts.webhook]`: a generic JSON webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Environment variable holding the URL (default `FLOTILLA_WEBHOOK_URL`).
    #[serde(default = "default_webhook_env")]
    pub url_env: String,
}

/// `[fleet.alerts]`: where alerts go and which events send them. No channel is set by
/// default: nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Telegram (default none).
    pub telegram: Option<TelegramConfig>,
    /// Discord (default none).
    pub discord: Option<DiscordConfig>,
    /// Generic JSON webhook (default none).
    pub webhook: Option<WebhookConfig>,
    /// Per-event settings.
    pub events: AlertEvents,
    /// Alerts waiting for delivery before the oldest are dropped, with a count (default 1000).
    pub queue: usize,
    /// Attempts per alert before it is given up and recorded as failed (default 5).
    pub max_attempts: u32,
    /// Longest wait a channel's 429 `retry_after` is honoured for, seconds (default 60;
    /// Discord has been seen answering milliseconds where seconds were meant).
    pub max_retry_after_s: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            telegram: None,
            discord: None,
            webhook: None,
            events: AlertEvents::default(),
            queue: 1000,
            max_attempts: 5,
            max_retry_after_s: 60,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_telegram_env() -> String {
    "FLOTILLA_TELEGRAM_TOKEN".into()
}
fn default_telegram_url() -> String {
    "https://api.telegram.org".into()
}
fn default_discord_env() -> String {
    "FLOTILLA_DISCORD_WEBHOOK".into()
}
fn default_webhook_env() -> String {
    "FLOTILLA_WEBHOOK_URL".into()
}
