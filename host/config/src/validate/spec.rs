//! The resolved view of a registry that validation produces: what the host builds from.

use crate::registry::{BrokerKind, MarketSourceKind, SandboxConfig, VenueMode};
use crate::schedule::Schedule;
use flotilla_domain::{BotId, Symbol, Timestamp};
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::time::Duration;

/// Sandbox and risk limits of one bot: fleet defaults merged with its `[bot.limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// Most positions the bot may hold open.
    pub max_open_positions: u32,
    /// Linear memory cap, MiB.
    pub memory_mb: u32,
    /// Per-call epoch deadline, ms.
    pub deadline_ms: u64,
    /// Per-call wall-clock timeout, ms.
    pub timeout_ms: u64,
}

impl EffectiveLimits {
    /// The memory cap in bytes.
    pub fn memory_bytes(&self) -> u64 {
        u64::from(self.memory_mb) * 1024 * 1024
    }
    /// The epoch deadline as a duration.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }
    /// The call timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// One bot, resolved and ready to load.
#[derive(Debug, Clone, PartialEq)]
pub struct BotSpec {
    /// The bot's id.
    pub id: BotId,
    /// 0-based position in the registry.
    pub index: usize,
    /// Absolute path of the component file.
    pub component: PathBuf,
    /// When the bot runs.
    pub schedule: Schedule,
    /// What it trades, in registry order.
    pub symbols: Vec<Symbol>,
    /// Whether it runs.
    pub enabled: bool,
    /// Whether it ticks while its symbols' market is closed.
    pub outside_hours: bool,
    /// `[bot.params]` as text, sorted by name (numbers and booleans rendered as written
    /// would read back: `10`, `2.0`, `true`).
    pub params: Vec<(String, String)>,
    /// Its sandbox and risk limits.
    pub limits: EffectiveLimits,
    /// Its `[bot.risk]` overrides of the fleet's risk limits.
    pub risk: flotilla_engine::BotRiskOverrides,
}

/// The fleet settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// The fleet's name.
    pub name: String,
    /// Absolute components directory.
    pub components_dir: PathBuf,
    /// Starting cash, account currency.
    pub starting_cash: Decimal,
    /// Fleet-wide cap on open positions.
    pub max_open_positions: u32,
    /// The risk chain's limits (per-bot overrides are on each [`BotSpec`]).
    pub risk: flotilla_engine::RiskConfig,
    /// The capital allocator.
    pub allocator: flotilla_engine::ThompsonConfig,
    /// How often capital is reallocated.
    pub rebalance_every: std::time::Duration,
    /// Default sandbox limits.
    pub sandbox: SandboxConfig,
    /// The broker.
    pub broker: BrokerSpec,
    /// The market simulator.
    pub market: MarketSpec,
    /// The HTTP API, dashboard and metrics.
    pub api: crate::ApiConfig,
    /// The alert channels.
    pub alerts: crate::AlertsConfig,
}

/// The broker settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSpec {
    /// Paper or live (live also needs the command line's opt-in).
    pub mode: VenueMode,
    /// A loopback base URL for a rehearsal against a fake venue.
    pub url: Option<String>,
    /// How long a venue request may take before its outcome is unknown.
    pub request_timeout: std::time::Duration,
    /// The account's request budget per minute, if not the venue's own.
    pub rate_limit_per_minute: Option<u32>,
    /// How long "not found" is doubted after an ambiguous submit (`None`: the venue's
    /// default, [`BrokerSpec::grace`]).
    pub resend_grace: Option<std::time::Duration>,
    /// Which broker.
    pub kind: BrokerKind,
    /// Slippage, basis points.
    pub slippage_bps: Decimal,
    /// Fee, basis points.
    pub fee_bps: Decimal,
    /// The paper venue's cap on a fill, as a fraction of the bar's volume.
    pub partial_fill_fraction: Option<Decimal>,
    /// The paper venue's answer time, milliseconds.
    pub latency_ms: u64,
}

impl BrokerSpec {
    /// How long "not found" is doubted after an ambiguous submit: the registry's, else
    /// 10 s, or 30 s for Binance (it dedupes client ids only among open orders, so a
    /// resend of a filled order would execute again).
    pub fn grace(&self) -> std::time::Duration {
        self.resend_grace.unwrap_or(match self.kind {
            BrokerKind::Binance => std::time::Duration::from_secs(30),
            _ => std::time::Duration::from_secs(10),
        })
    }
}

/// The market simulator settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSpec {
    /// Where bars come from.
    pub source: MarketSourceKind,
    /// The live feed's timeframe.
    pub feed_timeframe: flotilla_domain::Timeframe,
    /// Bar intervals of silence after which a live symbol is stale.
    pub stale_after_bars: f64,
    /// Bars backfilled per symbol at a live feed's first connect.
    pub warm_up_bars: u32,
    /// How long a due bot waits for its bars from a live feed.
    pub bar_wait: std::time::Duration,
    /// Random seed.
    pub seed: u64,
    /// Offered symbols.
    pub symbols: Vec<Symbol>,
    /// Simulated start time.
    pub start: Timestamp,
    /// Each listed symbol's end of day (others end theirs at 00:00 UTC).
    pub session_close: std::collections::BTreeMap<Symbol, flotilla_engine::SessionReset>,
}
