//! Risk limits: fleet-wide defaults plus per-bot overrides.

use super::state::TradingState;
use crate::serde_decimal;
use crate::underlying::UnderlyingRules;
use flotilla_domain::{BotId, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fleet risk limits. Every field has a documented default; unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Max open (bot, symbol) positions in the fleet. Default 50.
    pub max_open_positions: usize,
    /// Max open positions per bot. Default 10.
    pub max_open_positions_per_bot: usize,
    /// Regexes mapping a symbol to its underlying (first capture group or whole match);
    /// empty = exact symbol. Default empty.
    pub underlying: UnderlyingRules,
    /// Decimal places sized quantities are rounded down to. Default 6.
    pub quantity_decimals: u32,
    /// Daily loss limit in money (start-of-session equity minus equity). Default none.
    #[serde(with = "serde_decimal::option")]
    pub daily_loss_limit: Option<Money>,
    /// Daily loss limit as a fraction of start-of-session equity. Default 0.05.
    pub daily_loss_pct: Option<f64>,
    /// State entered when the daily loss limit is hit (`halted` or `reducing`). Default halted.
    pub daily_loss_state: TradingState,
    /// When the trading session (and the daily loss) resets. Default 00:00 UTC.
    pub session_reset: SessionReset,
    /// Max drawdown from the equity peak, as a fraction; halts. Default 0.20.
    pub max_drawdown_pct: Option<f64>,
    /// Max notional of the risk-increasing part of one order. Default none.
    #[serde(with = "serde_decimal::option")]
    pub max_order_notional: Option<Money>,
    /// Max fleet gross notional in one symbol. Default none.
    #[serde(with = "serde_decimal::option")]
    pub max_symbol_notional: Option<Money>,
    /// Max fleet gross exposure as a fraction of equity. Default 1.0 (no leverage).
    pub max_gross_exposure_pct: Option<f64>,
    /// Correlation-cluster limit. Default: see [`CorrelationConfig`].
    pub correlation: CorrelationConfig,
    /// Re-entry cooldown per (bot, symbol) after an exit, ms. Default 60000.
    pub reentry_cooldown_ms: i64,
    /// Size cut after a losing streak. Default: see [`LossStreakConfig`].
    pub loss_streak: LossStreakConfig,
    /// Order rate limit per bot. Default 10 per 60 s.
    pub bot_rate_limit: Option<RateLimit>,
    /// Order rate limit for the fleet. Default 100 per 60 s.
    pub global_rate_limit: Option<RateLimit>,
    /// Data sanity checks. Default: see [`DataSanityConfig`].
    pub data: DataSanityConfig,
    /// Fractional Kelly sizing. Default: see [`KellyConfig`].
    pub kelly: KellyConfig,
    /// Per-bot overrides, by bot id. Default none.
    pub bots: BTreeMap<BotId, BotRiskOverrides>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_open_positions: 50,
            max_open_positions_per_bot: 10,
            underlying: UnderlyingRules::default(),
            quantity_decimals: 6,
            daily_loss_limit: None,
            daily_loss_pct: Some(0.05),
            daily_loss_state: TradingState::Halted,
            session_reset: SessionReset::default(),
            max_drawdown_pct: Some(0.20),
            max_order_notional: None,
            max_symbol_notional: None,
            max_gross_exposure_pct: Some(1.0),
            correlation: CorrelationConfig::default(),
            reentry_cooldown_ms: 60_000,
            loss_streak: LossStreakConfig::default(),
            bot_rate_limit: Some(RateLimit {
                max_orders: 10,
                window_ms: 60_000,
            }),
            global_rate_limit: Some(RateLimit {
                max_orders: 100,
                window_ms: 60_000,
            }),
            data: DataSanityConfig::default(),
            kelly: KellyConfig::default(),
            bots: BTreeMap::new(),
        }
    }
}

impl RiskConfig {
    /// A config with every optional limit off (open-position caps stay), for tests and tools.
    pub fn permissive() -> Self {
        Self {
            max_open_positions: usize::MAX,
            max_open_positions_per_bot: usize::MAX,
            daily_loss_pct: None,
            max_drawdown_pct: None,
            max_gross_exposure_pct: None,
            correlation: CorrelationConfig {
                max_cluster_pct: None,
                ..Default::default()
            },
            reentry_cooldown_ms: 0,
            loss_streak: LossStreakConfig {
                after: 0,
                factor: 1.0,
            },
            bot_rate_limit: None,
            global_rate_limit: None,
            data: DataSanityConfig {
                max_price_age_ms: None,
                price_band_pct: None,
            },
            kelly: KellyConfig {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// The daily session boundary: a local wall-clock time in a time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionReset {
    /// Local time of day, `HH:MM`. Default `00:00`.
    pub time: String,
    /// IANA zone (`America/New_York`) or fixed offset (`+02:00`, `UTC`). Default `UTC`.
    pub tz: String,
}

impl Default for SessionReset {
    fn default() -> Self {
        Self {
            time: "00:00".into(),
            tz: "UTC".into(),
        }
    }
}

/// Caps the exposure of a cluster of symbols whose returns are correlated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// |correlation| at or above which two symbols are in one cluster. Default 0.8.
    pub threshold: f64,
    /// Returns kept per symbol. Default 60.
    pub window: usize,
    /// Common observations needed before a correlation counts. Default 20.
    pub min_samples: usize,
    /// Max gross exposure of a cluster as a fraction of equity; `None` disables. Default 0.5.
    pub max_cluster_pct: Option<f64>,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            threshold: 0.8,
            window: 60,
            min_samples: 20,
            max_cluster_pct: Some(0.5),
        }
    }
}

/// Cuts a bot's size after consecutive losing trades, until it wins again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossStreakConfig {
    /// Losing trades in a row that trigger the cut; 0 disables. Default 3.
    pub after: u32,
    /// Size multiplier while cut. Default 0.5.
    pub factor: f64,
}

impl Default for LossStreakConfig {
    fn default() -> Self {
        Self {
            after: 3,
            factor: 0.5,
        }
    }
}

/// At most `max_orders` approved orders in any `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Orders allowed per window.
    pub max_orders: u32,
    /// Window length in ms.
    pub window_ms: i64,
}

/// Price sanity checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSanityConfig {
    /// Max age of the price in ms. Default 180000 (three 1-minute bars).
    pub max_price_age_ms: Option<i64>,
    /// Max move from the previous close, as a fraction. Default 0.25.
    pub price_band_pct: Option<f64>,
}

impl Default for DataSanityConfig {
    fn default() -> Self {
        Self {
            max_price_age_ms: Some(180_000),
            price_band_pct: Some(0.25),
        }
    }
}

/// Fractional Kelly: position notional ≤ fraction × kelly(confidence, payoff) × budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KellyConfig {
    /// Whether Kelly caps position size. Default true.
    pub enabled: bool,
    /// Multiplier on the full Kelly fraction. Default 0.25 (quarter Kelly).
    pub fraction: f64,
    /// Prior payoff ratio (avg win / avg loss) before the bot has history. Default 1.5.
    pub prior_payoff: f64,
    /// Weight of the prior, in trades. Default 10.
    pub prior_trades: f64,
    /// Largest fraction of the budget one position may take. Default 1.0.
    pub max_fraction: f64,
}

impl Default for KellyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            fraction: 0.25,
            prior_payoff: 1.5,
            prior_trades: 10.0,
            max_fraction: 1.0,
        }
    }
}

/// Per-bot overrides of fleet limits; `None` keeps the fleet value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotRiskOverrides {
    /// Overrides `max_open_positions_per_bot`.
    pub max_open_positions: Option<usize>,
    /// Overrides `max_order_notional`.
    #[serde(with = "serde_decimal::option")]
    pub max_order_notional: Option<Money>,
    /// Overrides `reentry_cooldown_ms`.
    pub reentry_cooldown_ms: Option<i64>,
    /// Overrides `loss_streak`.
    pub loss_streak: Option<LossStreakConfig>,
    /// Overrides `bot_rate_limit`.
    pub rate_limit: Option<RateLimit>,
    /// Overrides `kelly.fraction`.
    pub kelly_fraction: Option<f64>,
}

impl RiskConfig {
    /// The bot's overrides, if any.
    pub fn overrides(&self, bot: &BotId) -> Option<&BotRiskOverrides> {
        self.bots.get(bot)
    }
    /// Max open positions for `bot`.
    pub fn max_open_positions_for(&self, bot: &BotId) -> usize {
        self.overrides(bot)
            .and_then(|o| o.max_open_positions)
            .unwrap_or(self.max_open_positions_per_bot)
    }
    /// Max order notional for `bot`.
    pub fn max_order_notional_for(&self, bot: &BotId) -> Option<Money> {
        self.overrides(bot)
            .and_then(|o| o.max_order_notional)
            .or(self.max_order_notional)
    }
    /// Re-entry cooldown for `bot`, ms.
    pub fn cooldown_for(&self, bot: &BotId) -> i64 {
        self.overrides(bot)
            .and_then(|o| o.reentry_cooldown_ms)
            .unwrap_or(self.reentry_cooldown_ms)
    }
    /// Loss-streak response for `bot`.
    pub fn loss_streak_for(&self, bot: &BotId) -> &LossStreakConfig {
        self.overrides(bot)
            .and_then(|o| o.loss_streak.as_ref())
            .unwrap_or(&self.loss_streak)
    }
    /// Order rate limit for `bot`.
    pub fn rate_limit_for(&self, bot: &BotId) -> Option<RateLimit> {
        self.overrides(bot)
            .and_then(|o| o.rate_limit)
            .or(self.bot_rate_limit)
    }
    /// Kelly multiplier for `bot`.
    pub fn kelly_fraction_for(&self, bot: &BotId) -> f64 {
        self.overrides(bot)
            .and_then(|o| o.kelly_fraction)
            .unwrap_or(self.kelly.fraction)
    }
}
