//! A small fleet for the alert tests: a real event hub and metrics, controls that change
//! its trading state (and publish it, as the host does), and every record kept.

#![allow(dead_code)]

use flotilla_alerts::{Alerts, AlertsError};
use flotilla_config::{AlertsConfig, DiscordConfig, TelegramConfig, WebhookConfig};
use flotilla_telemetry::metrics::ChannelLabels;
use flotilla_telemetry::{
    BotLive, Control, ControlError, EventData, EventHub, FleetMetrics, FleetPort, FleetSnapshot,
    PositionLive,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Telegram token the tests use (a secret: must never show).
pub const TG_TOKEN: &str = "777000:SECRET-telegram-token";
/// The Discord webhook token (part of the URL).
pub const DC_TOKEN: &str = "SECRET-discord-token";
/// The generic webhook token (part of the URL).
pub const WH_TOKEN: &str = "SECRET-webhook-token";
/// The configured chat.
pub const CHAT: i64 = 4242;

/// One `record` call.
#[derive(Clone, Debug)]
pub struct Record {
    pub kind: String,
    pub bot: Option<String>,
    pub message: String,
}

/// The test fleet.
pub struct TestPort {
    pub hub: EventHub,
    pub metrics: FleetMetrics,
    pub controls: Mutex<Vec<(Control, String)>>,
    pub records: Mutex<Vec<Record>>,
    state: Mutex<String>,
    path: PathBuf,
}

impl TestPort {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            hub: EventHub::default(),
            metrics: FleetMetrics::new(),
            controls: Mutex::new(Vec::new()),
            records: Mutex::new(Vec::new()),
            state: Mutex::new("active".into()),
            path: PathBuf::from("test.sqlite"),
        })
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    pub fn records_of(&self, kind: &str) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    pub fn controls(&self) -> Vec<(Control, String)> {
        self.controls.lock().unwrap().clone()
    }

    pub fn counter(&self, channel: &str, result: &str) -> u64 {
        let l = ChannelLabels {
            channel: channel.into(),
            result: result.into(),
        };
        self.metrics.alerts.get_or_create(&l).get()
    }

    /// Publishes a trading-state change as the fleet does.
    pub fn set_state(&self, to: &str, reason: &str) {
        let from = std::mem::replace(&mut *self.state.lock().unwrap(), to.to_string());
        let data = EventData::TradingState {
            from,
            to: to.into(),
            reason: reason.into(),
        };
        self.hub.publish(self.now_ms(), None, data);
    }
}

impl FleetPort for TestPort {
    fn control(&self, control: &Control, by: &str) -> Result<String, ControlError> {
        self.controls
            .lock()
            .unwrap()
            .push((control.clone(), by.to_string()));
        match control {
            Control::Halt { reason } => self.set_state("halted", &format!("{reason} (by {by})")),
            Control::Reduce { reason } => {
                self.set_state("reducing", &format!("{reason} (by {by})"))
            }
            Control::Resume { reason } => self.set_state("active", &format!("{reason} (by {by})")),
            Control::PauseBot { bot } | Control::ResumeBot { bot } if bot != "sma" => {
                return Err(ControlError::UnknownBot(bot.clone()));
            }
            _ => {}
        }
        Ok(format!("{} applied", control.name()))
    }

    fn bots(&self) -> Vec<BotLive> {
        vec![BotLive {
            id: "sma".into(),
            state: "running".into(),
            quarantine: None,
            schedule: "every 1m".into(),
            next_run_ms: None,
            version: "sma 1.0".into(),
            hash: "abc".into(),
            allocation: Some("1000".into()),
            symbols: vec!["BTCUSDT".into()],
        }]
    }

    fn snapshot(&self) -> FleetSnapshot {
        FleetSnapshot {
            name: "test".into(),
            trading_state: self.state.lock().unwrap().clone(),
            state_reason: "start".into(),
            equity: "10012.5".into(),
            cash: "9000".into(),
            positions: vec![PositionLive {
                bot: "sma".into(),
                symbol: "BTCUSDT".into(),
                quantity: "0.02".into(),
                avg_price: "50000".into(),
                unrealized: "12.5".into(),
            }],
            bots: (1, 0, 0),
        }
    }

    fn record(&self, kind: &str, bot: Option<&str>, message: &str) {
        self.records.lock().unwrap().push(Record {
            kind: kind.into(),
            bot: bot.map(str::to_string),
            message: message.into(),
        });
        // Like the host: an audit event is also published.
        let data = EventData::Notice {
            what: kind.into(),
            message: message.into(),
        };
        self.hub.publish(self.now_ms(), bot, data);
    }

    fn now_ms(&self) -> i64 {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        d.map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    fn events(&self) -> &EventHub {
        &self.hub
    }

    fn metrics(&self) -> &FleetMetrics {
        &self.metrics
    }

    fn ledger_path(&self) -> &Path {
        &self.path
    }
}

/// Alerts settings for the given channels (URLs come from `env`).
pub fn config(telegram_url: Option<&str>, discord: bool, webhook: bool) -> AlertsConfig {
    AlertsConfig {
        telegram: telegram_url.map(|u| TelegramConfig {
            chat_id: CHAT.to_string(),
            token_env: "TEST_TG_TOKEN".into(),
            api_url: u.into(),
            commands: false,
        }),
        discord: discord.then(|| DiscordConfig {
            webhook_env: "TEST_DISCORD_WEBHOOK".into(),
        }),
        webhook: webhook.then(|| WebhookConfig {
            url_env: "TEST_WEBHOOK_URL".into(),
        }),
        ..AlertsConfig::default()
    }
}

/// Starts the alerts with these environment variables.
pub fn start(
    cfg: &AlertsConfig,
    port: &Arc<TestPort>,
    env: &[(&str, String)],
) -> Result<Alerts, AlertsError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let port: Arc<dyn FleetPort> = port.clone();
    flotilla_alerts::start(cfg, port, &|k| env.get(k).cloned())
}

/// Waits for `cond` (polling), panicking with `what` after `within`.
pub async fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
