//! What the driver hands over: equity curves, round-trip trades, risk refusals and the run's
//! parameters.

use crate::csv::LoadedSeries;
use crate::time::{ser_opt_time, ser_time};
use flotilla_domain::{BotId, Decimal, Side, Symbol, Timeframe, Timestamp};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Account value at one time, for the fleet or one bot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EquityPoint {
    /// When.
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// Cash plus open positions marked to market.
    pub equity: Decimal,
    /// Cash alone.
    pub cash: Decimal,
}

/// One round trip: a position opened from flat and closed back to flat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TradeRecord {
    /// The bot that traded.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// The side of the entry: buy for a long, sell for a short.
    pub side: Side,
    /// The first fill's time.
    #[serde(serialize_with = "ser_time")]
    pub entry_time: Timestamp,
    /// Volume-weighted price of the opening fills.
    pub entry_price: Decimal,
    /// The last fill's time.
    #[serde(serialize_with = "ser_time")]
    pub exit_time: Timestamp,
    /// Volume-weighted price of the closing fills.
    pub exit_price: Decimal,
    /// Units opened in all (equal to the units closed).
    pub quantity: Decimal,
    /// Realised profit and loss, net of `fees`.
    pub pnl: Decimal,
    /// Fees of every fill of the round trip.
    pub fees: Decimal,
    /// Why it closed: the closing fill's tag (a bot's tag, `stop_loss`, `end_of_data`...).
    pub exit_reason: String,
    /// Every fill that reduced the position, in order: one for a plain round trip, more
    /// when it was scaled out (a `scale_out` at 1R, then a `stop_loss`, say).
    pub exits: Vec<ExitLeg>,
}

/// One fill, or the closing part of one, that reduced a round trip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExitLeg {
    /// Execution time.
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// Execution price.
    pub price: Decimal,
    /// Units closed by this leg, positive.
    pub quantity: Decimal,
    /// This leg's part of the fill's fee.
    pub fee: Decimal,
    /// The fill's tag.
    pub reason: String,
}

/// An order intent the risk engine refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefusalRecord {
    /// When.
    #[serde(serialize_with = "ser_time")]
    pub time: Timestamp,
    /// The bot whose intent it was.
    pub bot: BotId,
    /// The instrument.
    pub symbol: Symbol,
    /// The refusal's stable code (e.g. `daily_loss_limit`).
    pub reason: String,
    /// The refusal's numbers, as the risk engine serialises them.
    pub detail: serde_json::Value,
}

/// When a market order placed at a bar's close fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum FillMode {
    /// At the next bar's open (no look-ahead; the default).
    #[default]
    #[serde(rename = "next-open")]
    NextOpen,
    /// At the close of the bar the decision was made on.
    #[serde(rename = "close")]
    Close,
}

impl FillMode {
    /// `next-open` or `close`, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NextOpen => "next-open",
            Self::Close => "close",
        }
    }
}

impl fmt::Display for FillMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `--fill` value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown fill mode `{0}` (expected next-open or close)")]
pub struct UnknownFillMode(pub String);

impl FromStr for FillMode {
    type Err = UnknownFillMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "next-open" => Ok(Self::NextOpen),
            "close" => Ok(Self::Close),
            _ => Err(UnknownFillMode(s.to_string())),
        }
    }
}

/// One data file of the run, as the report lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataFile {
    /// The file, as given.
    pub path: String,
    /// Its symbol.
    pub symbol: Symbol,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// Bars used (after the from/to window).
    pub bars: usize,
    /// Start of the first bar used.
    #[serde(serialize_with = "ser_opt_time")]
    pub first: Option<Timestamp>,
    /// Start of the last bar used.
    #[serde(serialize_with = "ser_opt_time")]
    pub last: Option<Timestamp>,
    /// Bad rows skipped.
    pub skipped_rows: usize,
}

impl From<&LoadedSeries> for DataFile {
    fn from(s: &LoadedSeries) -> Self {
        Self {
            path: s.path.clone(),
            symbol: s.symbol.clone(),
            timeframe: s.timeframe,
            bars: s.bars.len(),
            first: s.bars.first().map(|b| b.time),
            last: s.bars.last().map(|b| b.time),
            skipped_rows: s.skipped.len(),
        }
    }
}

/// The parameters of a run, echoed in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunParams {
    /// The registry used, if any.
    pub config: Option<String>,
    /// The data files, in the order given.
    pub data: Vec<DataFile>,
    /// The `--from` bound (first bar start kept).
    #[serde(serialize_with = "ser_opt_time")]
    pub from: Option<Timestamp>,
    /// The `--to` bound (first bar start no longer kept).
    #[serde(serialize_with = "ser_opt_time")]
    pub to: Option<Timestamp>,
    /// Fees in basis points of notional.
    pub fees_bps: Decimal,
    /// Slippage in basis points of price.
    pub slippage_bps: Decimal,
    /// When orders fill.
    pub fill: FillMode,
    /// The run's seed (bots' randomness and the Monte Carlo bootstrap).
    pub seed: u64,
    /// Return periods per year, for annualising (252 for daily returns of a stock market).
    pub periods_per_year: f64,
    /// The risk-free return per period, subtracted in the Sharpe ratio.
    pub risk_free_per_period: f64,
    /// The Sortino ratio's target return per period.
    pub target_per_period: f64,
    /// How the equity curve is sampled into return periods: a timeframe (`1d` by default)
    /// or `null` for every point.
    pub return_period: Option<Timeframe>,
    /// Walk-forward folds requested (`--walk-forward K`).
    pub walk_forward: Option<usize>,
    /// Monte Carlo runs requested (`--monte-carlo N`).
    pub monte_carlo: Option<usize>,
    /// The most points an equity curve keeps in the report (0 keeps all).
    pub max_curve_points: usize,
}

/// Points an equity curve keeps in the report unless told otherwise.
pub const DEFAULT_MAX_CURVE_POINTS: usize = 2_000;

impl Default for RunParams {
    fn default() -> Self {
        Self {
            config: None,
            data: Vec::new(),
            from: None,
            to: None,
            fees_bps: Decimal::ZERO,
            slippage_bps: Decimal::ZERO,
            fill: FillMode::NextOpen,
            seed: 0,
            periods_per_year: 252.0,
            risk_free_per_period: 0.0,
            target_per_period: 0.0,
            return_period: Some(Timeframe::D1),
            walk_forward: None,
            monte_carlo: None,
            max_curve_points: DEFAULT_MAX_CURVE_POINTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_modes_round_trip() {
        for m in [FillMode::NextOpen, FillMode::Close] {
            assert_eq!(m.as_str().parse::<FillMode>().unwrap(), m);
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        assert_eq!(
            "open".parse::<FillMode>().unwrap_err().to_string(),
            "unknown fill mode `open` (expected next-open or close)"
        );
    }
}
